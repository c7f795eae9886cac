//! Request types whose OpenAPI schema states the bounds the server enforces while the
//! check itself stays where it is (the domain validators answer with one message and
//! code per field, which poem-openapi's own `validator(...)` would replace by a generic
//! "verification failed").
//!
//! [`Documented<T, R>`] parses exactly like `T`; its rule `R` only adds `minimum`,
//! `maxLength`, `format`, `default`, ... to `T`'s schema, and may mark the field required
//! although an absent value still parses (so that the validator, not the JSON parser,
//! explains what is missing). CI's schemathesis run checks the two stay in step: a
//! request the document calls invalid must be refused (`negative_data_rejection`).

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

use crate::ids::ID_PATTERN;

/// What a [`Documented`] value adds to its schema.
pub trait Rule: Send + Sync + 'static {
    /// `Some(true)`: listed as required although absence parses (the validator refuses it).
    const REQUIRED: Option<bool> = None;
    fn apply(schema: &mut MetaSchema);
}

/// `T` with the bounds of `R` in its schema.
pub struct Documented<T, R>(pub T, PhantomData<fn() -> R>);

impl<T, R> Documented<T, R> {
    pub fn new(value: T) -> Self {
        Self(value, PhantomData)
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

// By hand: a derive would ask the rule `R` for `Clone`/`Copy` too.
impl<T: Clone, R> Clone for Documented<T, R> {
    fn clone(&self) -> Self {
        Self::new(self.0.clone())
    }
}

impl<T: Copy, R> Copy for Documented<T, R> {}

impl<T, R> std::ops::Deref for Documented<T, R> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Default, R> Default for Documented<T, R> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: std::fmt::Debug, R> std::fmt::Debug for Documented<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Type, R: Rule> Type for Documented<T, R> {
    const IS_REQUIRED: bool = match R::REQUIRED {
        Some(r) => r,
        None => T::IS_REQUIRED,
    };
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        match T::schema_ref() {
            MetaSchemaRef::Inline(mut s) => {
                R::apply(&mut s);
                MetaSchemaRef::Inline(s)
            }
            named => named,
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_raw_value()
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        self.0.raw_element_iter()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: ParseFromJSON, R: Rule> ParseFromJSON for Documented<T, R> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        T::parse_from_json(value)
            .map(Self::new)
            .map_err(ParseError::propagate)
    }
}

impl<T: ParseFromParameter, R: Rule> ParseFromParameter for Documented<T, R> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        T::parse_from_parameter(value)
            .map(Self::new)
            .map_err(ParseError::propagate)
    }
}

impl<T: ToJSON, R: Rule> ToJSON for Documented<T, R> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

/// Page size: 1–200, default 50 (see [`super::pagination`]).
pub struct PageSize;
impl Rule for PageSize {
    fn apply(s: &mut MetaSchema) {
        s.minimum = Some(1.0);
        s.maximum = Some(f64::from(super::pagination::MAX_LIMIT));
        s.default = Some(super::pagination::DEFAULT_LIMIT.into());
    }
}

/// A `limit` query parameter.
pub type Limit = Documented<u32, PageSize>;

/// A calendar day, `YYYY-MM-DD`.
pub struct IsoDate;
impl Rule for IsoDate {
    fn apply(s: &mut MetaSchema) {
        s.format = Some("date");
    }
}

/// A calendar day in a response (poem-openapi names `NaiveDate`'s format `naive-date`,
/// which no client generator knows; OpenAPI's is `date`).
pub type Day = Documented<chrono::NaiveDate, IsoDate>;

impl<T, R> From<T> for Documented<T, R> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

/// A date in a JSON body.
pub type DateText = Documented<super::text::Text, IsoDate>;
/// A date in a query string.
pub type DateParam = Documented<String, IsoDate>;

/// The `from` and `to` query parameters as one range: a malformed date is
/// `invalid_parameter` (the document says `format: date`), `from` after `to` is
/// `validation_failed` (a rule the document cannot state), wherever a range is taken.
pub fn date_range(
    from: Option<DateParam>,
    to: Option<DateParam>,
) -> crate::error::ApiResult<crate::worklog::DateRange> {
    let day = |name: &str, v: Option<DateParam>| match v {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(&s.0, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                crate::error::ApiError::new(
                    crate::error::ErrorCode::InvalidParameter,
                    format!("{name} must be a date like 2026-11-22"),
                )
            }),
    };
    Ok(crate::worklog::DateRange::new(
        day("from", from)?,
        day("to", to)?,
    )?)
}

/// A string with something other than white space (lengths are counted after trimming,
/// which JSON Schema's `maxLength` cannot say, so field descriptions state them).
pub struct NonBlank;
impl Rule for NonBlank {
    fn apply(s: &mut MetaSchema) {
        s.min_length = Some(1);
        s.pattern = Some(r"\S".to_string());
    }
}

/// [`NonBlank`], and listed as required although absence parses (the validator then
/// answers with its own message).
pub struct RequiredNonBlank;
impl Rule for RequiredNonBlank {
    const REQUIRED: Option<bool> = Some(true);
    fn apply(s: &mut MetaSchema) {
        NonBlank::apply(s);
    }
}

/// A record id: a UUID in its hyphenated form (see `ids::new_id`). Handlers
/// answer a malformed one as they answer an unknown one.
pub struct UuidFormat;
impl Rule for UuidFormat {
    fn apply(s: &mut MetaSchema) {
        s.format = Some("uuid");
        s.pattern = Some(ID_PATTERN.to_string());
    }
}

/// An id in a path or a query.
pub type Id = Documented<String, UuidFormat>;

/// An id or nothing: an id filter (empty is no filter) or a list cursor (empty is the
/// first page; otherwise the `next_cursor` of the previous page, an id, see
/// [`super::pagination::page`]).
pub struct IdOrEmptyRule;
impl Rule for IdOrEmptyRule {
    fn apply(s: &mut MetaSchema) {
        s.pattern = Some(format!("^$|{ID_PATTERN}"));
    }
}
pub type IdOrEmpty = Documented<String, IdOrEmptyRule>;

/// The work-log cursor (see `store::worklogs::Cursor`): a keyset position
/// `k.<date>.<id>` or a ranked offset `o.<n>`, either followed by `.<total>`.
pub struct WorklogCursorRule;
impl Rule for WorklogCursorRule {
    fn apply(s: &mut MetaSchema) {
        s.pattern = Some(crate::services::worklogs::Cursor::PATTERN.to_string());
    }
}
pub type WorklogCursorParam = Documented<String, WorklogCursorRule>;

/// An event type, or a prefix of one ending in `.`: lower-case letters, `.` and `_`.
pub struct EventType;
impl Rule for EventType {
    fn apply(s: &mut MetaSchema) {
        s.pattern = Some("^[a-z._]{0,64}$".to_string());
        s.max_length = Some(64);
    }
}
pub type EventTypeParam = Documented<String, EventType>;

/// A row offset, `0..=MAX_OFFSET`.
pub struct OffsetRule;
/// The largest offset a list takes.
pub const MAX_OFFSET: u64 = 1_000_000_000;
impl Rule for OffsetRule {
    fn apply(s: &mut MetaSchema) {
        s.minimum = Some(0.0);
        s.maximum = Some(MAX_OFFSET as f64);
    }
}
pub type Offset = Documented<u64, OffsetRule>;

/// Any JSON object (the handler checks its members and answers with their rules).
pub struct JsonObject;
impl Rule for JsonObject {
    fn apply(s: &mut MetaSchema) {
        s.ty = "object";
        s.additional_properties = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))));
    }
}
pub type AnyObject = Documented<Value, JsonObject>;

/// An integer in `MIN..=MAX`.
pub struct Between<const MIN: u32, const MAX: u32>;
impl<const MIN: u32, const MAX: u32> Rule for Between<MIN, MAX> {
    fn apply(s: &mut MetaSchema) {
        s.minimum = Some(f64::from(MIN));
        s.maximum = Some(f64::from(MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema<T: Type>() -> serde_json::Value {
        match T::schema_ref() {
            MetaSchemaRef::Inline(s) => serde_json::to_value(&*s).unwrap(),
            MetaSchemaRef::Reference(r) => serde_json::json!({ "$ref": r }),
        }
    }

    #[test]
    fn rules_add_bounds_and_keep_parsing() {
        assert_eq!(
            schema::<Limit>(),
            serde_json::json!({"type":"integer","format":"uint32","minimum":1.0,"maximum":200.0,"default":50})
        );
        // Out-of-range values still parse: the handler answers with its own message.
        assert_eq!(Limit::parse_from_parameter("0").unwrap().into_inner(), 0);
        type Content = Documented<Option<String>, RequiredNonBlank>;
        const { assert!(Content::IS_REQUIRED) };
        assert!(Content::parse_from_json(None).unwrap().0.is_none());
        assert_eq!(schema::<Content>()["minLength"], 1);
        assert!(
            Documented::<super::super::text::Text, IsoDate>::parse_from_json(Some(5.into()))
                .is_err()
        );
    }
}
