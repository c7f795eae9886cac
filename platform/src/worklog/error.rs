//! Per-field validation errors with stable, machine-readable codes.
//!
//! The API layer turns a `Vec<FieldError>` into its JSON error body; the `code`s are a
//! product surface (the SPA translates them, generated clients match on them), so they
//! never change once shipped. [`codes::ALL`] lists every code for the OpenAPI document.

use std::fmt;

use serde::Serialize;

/// Stable snake_case error codes used in [`FieldError::code`].
pub mod codes {
    /// `content` is missing, empty or whitespace-only.
    pub const CONTENT_REQUIRED: &str = "content_required";
    /// `content` is longer than [`CONTENT_MAX_CHARS`](super::super::entry::CONTENT_MAX_CHARS).
    pub const CONTENT_TOO_LONG: &str = "content_too_long";
    /// `content` contains a control character other than newline or tab.
    pub const CONTENT_INVALID: &str = "content_invalid";
    /// `title` is longer than [`TITLE_MAX_CHARS`](super::super::entry::TITLE_MAX_CHARS).
    pub const TITLE_TOO_LONG: &str = "title_too_long";
    /// `title` is not a single line (contains a newline or another control character).
    pub const TITLE_INVALID: &str = "title_invalid";
    /// More than [`MAX_TAGS`](super::super::tags::MAX_TAGS) distinct tags.
    pub const TOO_MANY_TAGS: &str = "too_many_tags";
    /// One tag is longer than [`TAG_MAX_CHARS`](super::super::tags::TAG_MAX_CHARS).
    pub const TAG_TOO_LONG: &str = "tag_too_long";
    /// One tag contains a character outside the allowed set.
    pub const TAG_INVALID: &str = "tag_invalid";
    /// `date` is not a real calendar day written as `YYYY-MM-DD`.
    pub const DATE_INVALID: &str = "date_invalid";
    /// `date` is missing where it can't default to today (PATCH, Markdown without a heading).
    pub const DATE_REQUIRED: &str = "date_required";
    /// `date` is later than today + [`MAX_DAYS_AHEAD`](super::super::entry::MAX_DAYS_AHEAD).
    pub const DATE_IN_FUTURE: &str = "date_in_future";
    /// `date` is before [`EARLIEST_DATE`](super::super::entry::EARLIEST_DATE).
    pub const DATE_TOO_OLD: &str = "date_too_old";
    /// `project` is longer than [`PROJECT_MAX_CHARS`](super::super::entry::PROJECT_MAX_CHARS).
    pub const PROJECT_TOO_LONG: &str = "project_too_long";
    /// `project` is not a single line.
    pub const PROJECT_INVALID: &str = "project_invalid";
    /// `outcome` is longer than [`OUTCOME_MAX_CHARS`](super::super::entry::OUTCOME_MAX_CHARS).
    pub const OUTCOME_TOO_LONG: &str = "outcome_too_long";
    /// `outcome` contains a control character other than newline or tab.
    pub const OUTCOME_INVALID: &str = "outcome_invalid";
    /// An imported field has the wrong JSON type (e.g. a number where text belongs).
    pub const WRONG_TYPE: &str = "wrong_type";
    /// An imported JSON record is not an object.
    pub const ENTRY_INVALID: &str = "entry_invalid";
    /// A Markdown import line doesn't fit the dialect (stray text, unsupported heading).
    pub const MARKDOWN_SYNTAX: &str = "markdown_syntax";
    /// A Markdown entry sets the same single-valued field twice.
    pub const DUPLICATE_FIELD: &str = "duplicate_field";

    /// Every code above, for documentation and OpenAPI enums.
    pub const ALL: &[&str] = &[
        CONTENT_REQUIRED,
        CONTENT_TOO_LONG,
        CONTENT_INVALID,
        TITLE_TOO_LONG,
        TITLE_INVALID,
        TOO_MANY_TAGS,
        TAG_TOO_LONG,
        TAG_INVALID,
        DATE_INVALID,
        DATE_REQUIRED,
        DATE_IN_FUTURE,
        DATE_TOO_OLD,
        PROJECT_TOO_LONG,
        PROJECT_INVALID,
        OUTCOME_TOO_LONG,
        OUTCOME_INVALID,
        WRONG_TYPE,
        ENTRY_INVALID,
        MARKDOWN_SYNTAX,
        DUPLICATE_FIELD,
    ];
}

/// One problem with one field, phrased so the user can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FieldError {
    /// The field's API name (`date`, `title`, `content`, `tags`, `outcome`, `project`, `entry`).
    pub field: &'static str,
    /// A stable code from [`codes`].
    pub code: &'static str,
    /// A sentence the user can act on.
    pub message: String,
}

impl FieldError {
    /// Builds an error for `field` with a code from [`codes`].
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

impl std::error::Error for FieldError {}

/// Formats a count with thousands separators ("20,001") for user-facing messages.
pub(super) fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(20_001), "20,001");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in codes::ALL {
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
