//! Work-log entry validation: an [`EntryDraft`] (what a client or an import sends) is
//! checked and normalised into a [`ValidEntry`] (what the store keeps).
//!
//! Rules (every length counts Unicode scalar values — `chars()` — not bytes):
//!
//! | field | rule |
//! |---|---|
//! | `date` | `YYYY-MM-DD`, a real calendar day, from [`EARLIEST_DATE`] to `today` + [`MAX_DAYS_AHEAD`]. Absent or empty → `today`. `today` is the user's calendar day in their time zone, which can lead UTC by up to 14 hours — hence one day of slack. |
//! | `content` | required; markdown; `\r\n` and lone `\r` become `\n`; trimmed; 1–[`CONTENT_MAX_CHARS`]; no control characters other than newline and tab. |
//! | `title` | optional; trimmed; a single line (no control characters); ≤ [`TITLE_MAX_CHARS`]. Absent or empty → derived from the content by [`derive_title`] (≤ [`DERIVED_TITLE_MAX_CHARS`]). The derived title is stored, so every [`ValidEntry`] has one. |
//! | `tags` | see [`super::tags`]: normalised, de-duplicated, ≤ 20, each ≤ 40 characters. |
//! | `outcome` | optional; multi-line like `content`; ≤ [`OUTCOME_MAX_CHARS`]; empty → `None`. |
//! | `project` | optional; a single line; trimmed; ≤ [`PROJECT_MAX_CHARS`]; empty → `None`. |
//!
//! Validation collects every error rather than stopping at the first, so a form (or an
//! import preview row) can show them all at once.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::{codes, group_thousands, FieldError};
use super::tags::{describe_char, normalise_tags};

/// Longest content, in characters.
pub const CONTENT_MAX_CHARS: usize = 20_000;
/// Longest explicit title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest derived title, in characters (including the trailing `…`).
pub const DERIVED_TITLE_MAX_CHARS: usize = 80;
/// Longest outcome/impact text, in characters.
pub const OUTCOME_MAX_CHARS: usize = 5_000;
/// Longest project name, in characters.
pub const PROJECT_MAX_CHARS: usize = 100;
/// How many days after the user's `today` an entry may be dated.
pub const MAX_DAYS_AHEAD: u64 = 1;
/// Title used when the content has no line with any text left after stripping markup.
pub const FALLBACK_TITLE: &str = "Untitled";
/// The earliest date an entry may have; older dates are almost surely typos.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    // Evaluated at compile time, so this can't fire at run time.
    None => panic!("1970-01-01 is a valid date"),
};

/// An entry as submitted: every field optional and untrusted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntryDraft {
    /// Calendar day as `YYYY-MM-DD`; absent means "today".
    pub date: Option<String>,
    /// Short title; absent means "derive from the content".
    pub title: Option<String>,
    /// Markdown body (required).
    pub content: Option<String>,
    /// Raw tags, normalised during validation.
    pub tags: Option<Vec<String>>,
    /// Outcome / impact of the work.
    pub outcome: Option<String>,
    /// Project name.
    pub project: Option<String>,
}

/// A checked, normalised entry; only [`validate`], [`apply_patch`] and
/// [`ValidEntry::restore`] make one, so holding one means the field rules hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ValidEntry {
    date: NaiveDate,
    title: String,
    content: String,
    tags: Vec<String>,
    outcome: Option<String>,
    project: Option<String>,
}

impl ValidEntry {
    /// The entry's calendar day.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The title (explicit or derived; never empty).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The normalised markdown content (never empty).
    pub fn content(&self) -> &str {
        &self.content
    }

    /// Normalised, de-duplicated tags in first-seen order.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Outcome / impact, if any.
    pub fn outcome(&self) -> Option<&str> {
        self.outcome.as_deref()
    }

    /// Project name, if any.
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// Whether the title is what [`derive_title`] makes of the content (explicitly typed
    /// titles that happen to match are indistinguishable, and treated alike).
    pub fn title_is_derived(&self) -> bool {
        self.title == derive_title(&self.content)
    }

    /// Rebuilds an entry read back from storage, re-checking every field rule except the
    /// date range: a stored date stays valid however old it has become.
    pub fn restore(
        date: NaiveDate,
        title: String,
        content: String,
        tags: Vec<String>,
        outcome: Option<String>,
        project: Option<String>,
    ) -> Result<Self, Vec<FieldError>> {
        build(
            Some(date),
            Some(title),
            Some(content),
            &tags,
            outcome,
            project,
            Vec::new(),
        )
    }

    /// The entry as a draft (the title included), e.g. to pre-fill an edit form.
    pub fn to_draft(&self) -> EntryDraft {
        EntryDraft {
            date: Some(self.date.to_string()),
            title: Some(self.title.clone()),
            content: Some(self.content.clone()),
            tags: Some(self.tags.clone()),
            outcome: self.outcome.clone(),
            project: self.project.clone(),
        }
    }
}

/// Checks and normalises a draft, returning every problem found.
pub fn validate(draft: EntryDraft, today: NaiveDate) -> Result<ValidEntry, Vec<FieldError>> {
    let mut errors = Vec::new();
    let date = match non_blank(draft.date) {
        None => Some(today),
        Some(raw) => keep(checked_date(&raw, today), &mut errors),
    };
    build(
        date,
        draft.title,
        draft.content,
        draft.tags.as_deref().unwrap_or_default(),
        draft.outcome,
        draft.project,
        errors,
    )
}

/// A partial update. `None` leaves a field as it is; for the clearable fields `Some(None)`
/// clears it (for `title`: back to a derived title).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntryPatch {
    /// New calendar day; can't be cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// New title, or `Some(None)` to derive it from the content again.
    #[serde(
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Option<String>>,
    /// New content; can't be cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Replacement tag list (`Some(vec![])` removes all tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New outcome, or `Some(None)` to clear it.
    #[serde(
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub outcome: Option<Option<String>>,
    /// New project, or `Some(None)` to clear it.
    #[serde(
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub project: Option<Option<String>>,
}

/// Tells JSON `null` (→ `Some(None)`, clear) from an absent key (→ `None` via
/// `#[serde(default)]`, keep), which plain `Option<Option<_>>` can't.
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Merges a patch into a stored entry and re-validates the result.
///
/// The stored date is kept without a range check (an entry from years ago stays
/// editable); a new date is checked against `today`. When the stored title is the one
/// derived from the stored content and the patch doesn't set a title, the title is
/// derived again from the (possibly new) content, so auto-titles follow edits.
pub fn apply_patch(
    current: &ValidEntry,
    patch: EntryPatch,
    today: NaiveDate,
) -> Result<ValidEntry, Vec<FieldError>> {
    let mut errors = Vec::new();
    let date = match patch.date {
        None => Some(current.date),
        Some(raw) => match non_blank(Some(raw)) {
            None => {
                errors.push(FieldError::new(
                    "date",
                    codes::DATE_REQUIRED,
                    "The date can't be removed; give a date as YYYY-MM-DD.",
                ));
                None
            }
            Some(raw) => keep(checked_date(&raw, today), &mut errors),
        },
    };
    let title = match patch.title {
        Some(title) => title,
        None if current.title_is_derived() => None,
        None => Some(current.title.clone()),
    };
    let tags = patch.tags.unwrap_or_else(|| current.tags.clone());
    build(
        date,
        title,
        Some(patch.content.unwrap_or_else(|| current.content.clone())),
        &tags,
        patch.outcome.unwrap_or_else(|| current.outcome.clone()),
        patch.project.unwrap_or_else(|| current.project.clone()),
        errors,
    )
}

/// Runs the field rules shared by create, patch and restore; `errors` carries date
/// problems found by the caller, and `date` is `None` only when those exist.
fn build(
    date: Option<NaiveDate>,
    title: Option<String>,
    content: Option<String>,
    tags: &[String],
    outcome: Option<String>,
    project: Option<String>,
    mut errors: Vec<FieldError>,
) -> Result<ValidEntry, Vec<FieldError>> {
    let content = keep(checked_content(content), &mut errors);
    let title = keep(checked_title(title), &mut errors);
    let tags = match normalise_tags(tags) {
        Ok(tags) => Some(tags),
        Err(mut tag_errors) => {
            errors.append(&mut tag_errors);
            None
        }
    };
    let outcome = keep(checked_outcome(outcome), &mut errors);
    let project = keep(checked_project(project), &mut errors);

    match (date, content, title, tags, outcome, project) {
        (Some(date), Some(content), Some(title), Some(tags), Some(outcome), Some(project))
            if errors.is_empty() =>
        {
            let title = title.unwrap_or_else(|| derive_title(&content));
            Ok(ValidEntry {
                date,
                title,
                content,
                tags,
                outcome,
                project,
            })
        }
        _ => Err(errors),
    }
}

/// Moves an error into `errors`, returning the value on success.
fn keep<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// `None` for absent, empty or whitespace-only text.
fn non_blank(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Parses a strict `YYYY-MM-DD` date and checks it against the allowed range.
pub fn checked_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = parse_date(raw)?;
    if date < EARLIEST_DATE {
        return Err(FieldError::new(
            "date",
            codes::DATE_TOO_OLD,
            format!("The date {date} is too far in the past; the earliest allowed date is {EARLIEST_DATE}."),
        ));
    }
    // `today` near NaiveDate::MAX can't occur in practice; if it did, nothing is "too
    // far ahead".
    if let Some(latest) = today.checked_add_days(Days::new(MAX_DAYS_AHEAD)) {
        if date > latest {
            return Err(FieldError::new(
                "date",
                codes::DATE_IN_FUTURE,
                format!("The date {date} is in the future; the latest allowed date is {latest}."),
            ));
        }
    }
    Ok(date)
}

/// Parses exactly `YYYY-MM-DD` with no range check (for filters); chrono alone would also
/// take `2024-3-5` or `+2024-…`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, FieldError> {
    let trimmed = raw.trim();
    let b = trimmed.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let invalid = || {
        let shown: String = trimmed.chars().take(40).collect();
        FieldError::new(
            "date",
            codes::DATE_INVALID,
            format!("\"{shown}\" is not a date; write it as YYYY-MM-DD, e.g. 2024-03-18."),
        )
    };
    if !shaped {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| trimmed.get(range).and_then(|s| s.parse().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(invalid());
    };
    NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| {
        FieldError::new(
            "date",
            codes::DATE_INVALID,
            format!("{trimmed} is not a real calendar day; check the month and day."),
        )
    })
}

/// Line endings to `\n`, then trimmed: the canonical shape of multi-line text.
fn normalise_block(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

/// The first control character other than the allowed ones, with its 1-based position.
fn first_control(text: &str, allow_newlines: bool) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
        .map(|(i, c)| (i + 1, c))
}

fn too_long(
    field: &'static str,
    code: &'static str,
    label: &str,
    len: usize,
    max: usize,
) -> FieldError {
    FieldError::new(
        field,
        code,
        format!(
            "{label} is {} characters long; the limit is {}. Shorten it by {}.",
            group_thousands(len),
            group_thousands(max),
            group_thousands(len - max)
        ),
    )
}

fn control_error(
    field: &'static str,
    code: &'static str,
    label: &str,
    at: usize,
    c: char,
    single_line: bool,
) -> FieldError {
    let rule = if single_line {
        "must be a single line without control characters"
    } else {
        "may not contain control characters other than newlines and tabs"
    };
    FieldError::new(
        field,
        code,
        format!(
            "{label} {rule}; found {} at character {at}.",
            describe_char(c)
        ),
    )
}

fn checked_content(raw: Option<String>) -> Result<String, FieldError> {
    let content = normalise_block(raw.as_deref().unwrap_or_default());
    if content.is_empty() {
        return Err(FieldError::new(
            "content",
            codes::CONTENT_REQUIRED,
            "Write what you worked on: the content can't be empty.",
        ));
    }
    let len = content.chars().count();
    if len > CONTENT_MAX_CHARS {
        return Err(too_long(
            "content",
            codes::CONTENT_TOO_LONG,
            "The content",
            len,
            CONTENT_MAX_CHARS,
        ));
    }
    if let Some((at, c)) = first_control(&content, true) {
        return Err(control_error(
            "content",
            codes::CONTENT_INVALID,
            "The content",
            at,
            c,
            false,
        ));
    }
    Ok(content)
}

/// `Ok(None)` means "no title given: derive one".
fn checked_title(raw: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(title) = non_blank(raw) else {
        return Ok(None);
    };
    let title = title.trim();
    let len = title.chars().count();
    if len > TITLE_MAX_CHARS {
        return Err(too_long(
            "title",
            codes::TITLE_TOO_LONG,
            "The title",
            len,
            TITLE_MAX_CHARS,
        ));
    }
    if let Some((at, c)) = first_control(title, false) {
        return Err(control_error(
            "title",
            codes::TITLE_INVALID,
            "The title",
            at,
            c,
            true,
        ));
    }
    Ok(Some(title.to_owned()))
}

fn checked_outcome(raw: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(outcome) = non_blank(raw) else {
        return Ok(None);
    };
    let outcome = normalise_block(&outcome);
    let len = outcome.chars().count();
    if len > OUTCOME_MAX_CHARS {
        return Err(too_long(
            "outcome",
            codes::OUTCOME_TOO_LONG,
            "The outcome",
            len,
            OUTCOME_MAX_CHARS,
        ));
    }
    if let Some((at, c)) = first_control(&outcome, true) {
        return Err(control_error(
            "outcome",
            codes::OUTCOME_INVALID,
            "The outcome",
            at,
            c,
            false,
        ));
    }
    Ok(Some(outcome))
}

fn checked_project(raw: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(project) = non_blank(raw) else {
        return Ok(None);
    };
    let project = project.trim();
    let len = project.chars().count();
    if len > PROJECT_MAX_CHARS {
        return Err(too_long(
            "project",
            codes::PROJECT_TOO_LONG,
            "The project name",
            len,
            PROJECT_MAX_CHARS,
        ));
    }
    if let Some((at, c)) = first_control(project, false) {
        return Err(control_error(
            "project",
            codes::PROJECT_INVALID,
            "The project name",
            at,
            c,
            true,
        ));
    }
    Ok(Some(project.to_owned()))
}

/// A title made from the content: the first line with text left after stripping markdown
/// markers (headings, quotes, list and task markers, emphasis, code ticks, link syntax),
/// whitespace collapsed, cut at a word boundary to at most [`DERIVED_TITLE_MAX_CHARS`]
/// characters with a trailing `…` when cut; [`FALLBACK_TITLE`] if no line has text.
pub fn derive_title(content: &str) -> String {
    let mut in_fence = false;
    for line in content.lines() {
        let trimmed = line.trim();
        // Code fences hold code, not prose; a title from inside one reads badly.
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let text = plain_text(trimmed);
        if !text.is_empty() {
            return truncate_at_word(&text, DERIVED_TITLE_MAX_CHARS);
        }
    }
    FALLBACK_TITLE.to_owned()
}

/// One markdown line reduced to its readable words.
fn plain_text(line: &str) -> String {
    if is_thematic_break(line) {
        return String::new();
    }
    let mut rest = line;
    // Block markers nest ("> - [ ] ## x"), so peel them until none is left.
    loop {
        let before = rest;
        rest = strip_block_marker(rest).trim_start();
        if rest.len() == before.len() {
            break;
        }
    }
    let unlinked = strip_links(rest);
    let mut out = String::with_capacity(unlinked.len());
    let mut chars = unlinked.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {}
            '*' | '_' | '~' if chars.peek() == Some(&c) => {
                // A doubled marker (`**`, `__`, `~~`) is emphasis; single `*`/`_` are kept
                // because they occur in ordinary text (`snake_case`, `2*3`).
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Strips one leading block marker: heading, quote, bullet, ordered-list number or task box.
fn strip_block_marker(s: &str) -> &str {
    let hashes = s.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&hashes) {
        let after = &s[hashes..];
        if after.is_empty() || after.starts_with([' ', '\t']) {
            return after;
        }
    }
    if let Some(after) = s.strip_prefix('>') {
        return after;
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(after) = s.strip_prefix(bullet) {
            return after;
        }
    }
    if matches!(s, "-" | "*" | "+") {
        return "";
    }
    for task in ["[ ] ", "[x] ", "[X] "] {
        if let Some(after) = s.strip_prefix(task) {
            return after;
        }
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let after = &s[digits..];
        for marker in [". ", ") "] {
            if let Some(after) = after.strip_prefix(marker) {
                return after;
            }
        }
    }
    s
}

/// `---`, `***`, `___` (three or more, spaces allowed): a horizontal rule, not text.
fn is_thematic_break(line: &str) -> bool {
    let marks: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3
        && ['-', '*', '_']
            .iter()
            .any(|&m| marks.iter().all(|&c| c == m))
}

/// `[text](url)` → `text` and `![alt](url)` → `alt`; anything unbalanced is left alone.
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let (before, from_bracket) = rest.split_at(open);
        let link = from_bracket.find("](").and_then(|close| {
            let after_paren = &from_bracket[close + 2..];
            after_paren
                .find(')')
                .map(|end| (&from_bracket[1..close], &after_paren[end + 1..]))
        });
        match link {
            Some((text, after)) if !text.contains('[') => {
                out.push_str(before.strip_suffix('!').unwrap_or(before));
                out.push_str(text);
                rest = after;
            }
            _ => {
                out.push_str(before);
                out.push('[');
                rest = &from_bracket[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Cuts `text` to at most `max` characters at a word boundary, ending with `…` when cut.
fn truncate_at_word(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    // Keep room for the ellipsis.
    let budget = max.saturating_sub(1);
    let head: String = text.chars().take(budget).collect();
    let next_is_space = text.chars().nth(budget).is_some_and(char::is_whitespace);
    let cut = if next_is_space {
        head.as_str()
    } else {
        match head.rfind(char::is_whitespace) {
            // Don't cut a long first word down to a stub of a title.
            Some(at) if head[..at].chars().count() >= budget / 2 => &head[..at],
            _ => head.as_str(),
        }
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 18).unwrap()
    }

    fn draft(content: &str) -> EntryDraft {
        EntryDraft {
            content: Some(content.to_owned()),
            ..EntryDraft::default()
        }
    }

    fn ok(d: EntryDraft) -> ValidEntry {
        match validate(d, today()) {
            Ok(e) => e,
            Err(errors) => panic!("unexpected errors: {errors:?}"),
        }
    }

    fn codes_of(d: EntryDraft) -> Vec<&'static str> {
        match validate(d, today()) {
            Ok(e) => panic!("unexpectedly valid: {e:?}"),
            Err(errors) => errors.iter().map(|e| e.code).collect(),
        }
    }

    #[test]
    fn minimal_draft_defaults_date_and_derives_title() {
        let e = ok(draft("  Fixed the login bug\nmore  "));
        assert_eq!(e.date(), today());
        assert_eq!(e.title(), "Fixed the login bug");
        assert_eq!(e.content(), "Fixed the login bug\nmore");
        assert!(e.tags().is_empty());
        assert_eq!(e.outcome(), None);
        assert_eq!(e.project(), None);
        assert!(e.title_is_derived());
    }

    #[test]
    fn content_boundaries() {
        assert_eq!(codes_of(EntryDraft::default()), [codes::CONTENT_REQUIRED]);
        assert_eq!(codes_of(draft("")), [codes::CONTENT_REQUIRED]);
        assert_eq!(codes_of(draft(" \n\t \r\n ")), [codes::CONTENT_REQUIRED]);
        assert_eq!(ok(draft("x")).content(), "x");
        assert_eq!(ok(draft(&"a".repeat(20_000))).content().len(), 20_000);
        assert_eq!(
            codes_of(draft(&"a".repeat(20_001))),
            [codes::CONTENT_TOO_LONG]
        );
        // Surrounding whitespace is trimmed before counting.
        assert!(validate(draft(&format!("  {}  ", "a".repeat(20_000))), today()).is_ok());
    }

    #[test]
    fn content_counts_chars_not_bytes() {
        let emoji = "😀".repeat(20_000); // 80,000 bytes
        assert_eq!(ok(draft(&emoji)).content().chars().count(), 20_000);
        let errors = validate(draft(&"😀".repeat(20_001)), today()).unwrap_err();
        assert_eq!(errors[0].code, codes::CONTENT_TOO_LONG);
        assert!(
            errors[0].message.contains("20,001"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains("20,000"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn content_line_endings_normalised_and_controls_rejected() {
        assert_eq!(ok(draft("a\r\nb\rc\n\td")).content(), "a\nb\nc\n\td");
        assert_eq!(codes_of(draft("a\u{0}b")), [codes::CONTENT_INVALID]);
        let errors = validate(draft("ab\u{1b}[31m"), today()).unwrap_err();
        assert_eq!(errors[0].code, codes::CONTENT_INVALID);
        assert!(
            errors[0].message.contains("U+001B"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains("character 3"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn date_boundaries() {
        let with_date = |d: &str| EntryDraft {
            date: Some(d.into()),
            ..draft("x")
        };
        assert_eq!(ok(with_date("2024-03-19")).date().to_string(), "2024-03-19");
        assert_eq!(codes_of(with_date("2024-03-20")), [codes::DATE_IN_FUTURE]);
        assert_eq!(ok(with_date("1970-01-01")).date(), EARLIEST_DATE);
        assert_eq!(codes_of(with_date("1969-12-31")), [codes::DATE_TOO_OLD]);
        assert_eq!(
            ok(with_date(" 2024-02-29 ")).date().to_string(),
            "2024-02-29"
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-3-5",
            "18/03/2024",
            "+2024-03-1",
            "2024-03-18T10:00:00Z",
            "yesterday",
        ] {
            assert_eq!(codes_of(with_date(bad)), [codes::DATE_INVALID], "{bad}");
        }
        assert_eq!(ok(with_date("")).date(), today());
        assert_eq!(ok(with_date("   ")).date(), today());
    }

    #[test]
    fn future_message_names_the_latest_allowed_day() {
        let errors = validate(
            EntryDraft {
                date: Some("2024-03-20".into()),
                ..draft("x")
            },
            today(),
        )
        .unwrap_err();
        assert!(
            errors[0].message.contains("2024-03-19"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn title_rules() {
        let titled = |t: &str| EntryDraft {
            title: Some(t.into()),
            ..draft("body")
        };
        assert_eq!(ok(titled("  Release  ")).title(), "Release");
        assert_eq!(ok(titled("   ")).title(), "body");
        assert_eq!(ok(titled(&"t".repeat(200))).title().len(), 200);
        assert_eq!(codes_of(titled(&"t".repeat(201))), [codes::TITLE_TOO_LONG]);
        assert_eq!(codes_of(titled("two\nlines")), [codes::TITLE_INVALID]);
        assert_eq!(codes_of(titled("tab\there")), [codes::TITLE_INVALID]);
    }

    #[test]
    fn optional_fields_trimmed_and_empty_becomes_none() {
        let e = ok(EntryDraft {
            outcome: Some("  \r\n ".into()),
            project: Some("".into()),
            ..draft("x")
        });
        assert_eq!((e.outcome(), e.project()), (None, None));
        let e = ok(EntryDraft {
            outcome: Some(" Cut p95 by 40%\r\nand costs ".into()),
            project: Some("  AfterResume ".into()),
            ..draft("x")
        });
        assert_eq!(e.outcome(), Some("Cut p95 by 40%\nand costs"));
        assert_eq!(e.project(), Some("AfterResume"));
    }

    #[test]
    fn outcome_and_project_limits() {
        let outcome = |o: String| EntryDraft {
            outcome: Some(o),
            ..draft("x")
        };
        let project = |p: String| EntryDraft {
            project: Some(p),
            ..draft("x")
        };
        assert!(validate(outcome("o".repeat(5_000)), today()).is_ok());
        assert_eq!(
            codes_of(outcome("o".repeat(5_001))),
            [codes::OUTCOME_TOO_LONG]
        );
        assert_eq!(codes_of(outcome("a\u{7}".into())), [codes::OUTCOME_INVALID]);
        assert!(validate(project("p".repeat(100)), today()).is_ok());
        assert_eq!(
            codes_of(project("p".repeat(101))),
            [codes::PROJECT_TOO_LONG]
        );
        assert_eq!(codes_of(project("a\nb".into())), [codes::PROJECT_INVALID]);
    }

    #[test]
    fn collects_all_errors_at_once() {
        let got = codes_of(EntryDraft {
            date: Some("2099-01-01".into()),
            title: Some("x".repeat(201)),
            content: Some(" ".into()),
            tags: Some(vec!["bad!".into()]),
            outcome: Some("o".repeat(5_001)),
            project: Some("p".repeat(101)),
        });
        assert_eq!(
            got,
            [
                codes::DATE_IN_FUTURE,
                codes::CONTENT_REQUIRED,
                codes::TITLE_TOO_LONG,
                codes::TAG_INVALID,
                codes::OUTCOME_TOO_LONG,
                codes::PROJECT_TOO_LONG
            ]
        );
    }

    #[test]
    fn tag_count_boundary_through_validate() {
        let tagged = |n: usize| EntryDraft {
            tags: Some((0..n).map(|i| format!("#Tag{i}")).collect()),
            ..draft("x")
        };
        assert_eq!(ok(tagged(20)).tags().len(), 20);
        assert_eq!(ok(tagged(20)).tags()[0], "tag0");
        assert_eq!(codes_of(tagged(21)), [codes::TOO_MANY_TAGS]);
    }

    #[test]
    fn derived_titles() {
        assert_eq!(
            derive_title("## Shipped **billing** webhooks\nbody"),
            "Shipped billing webhooks"
        );
        assert_eq!(
            derive_title("\n\n  - [x] Reviewed `importer` PR"),
            "Reviewed importer PR"
        );
        assert_eq!(
            derive_title("> 1. See [the docs](https://x.y/z) and ![img](a.png)"),
            "See the docs and img"
        );
        assert_eq!(
            derive_title("---\n#\n```\ncode line\n```\nReal text"),
            "Real text"
        );
        assert_eq!(
            derive_title("fixed user_id in 2*3 places"),
            "fixed user_id in 2*3 places"
        );
        assert_eq!(
            derive_title("#hashtag is not a heading"),
            "#hashtag is not a heading"
        );
        assert_eq!(derive_title("```\nonly code\n```"), FALLBACK_TITLE);
        assert_eq!(derive_title("-"), FALLBACK_TITLE);
    }

    #[test]
    fn derived_title_truncates_at_a_word() {
        let long = "word ".repeat(40);
        let title = derive_title(&long);
        assert!(title.chars().count() <= 80, "{title}");
        assert!(title.ends_with("word…"), "{title}");
        let unbroken = "x".repeat(100);
        let title = derive_title(&unbroken);
        assert_eq!(title.chars().count(), 80);
        assert!(title.ends_with('…'));
        // Exactly 80 characters is kept whole.
        let eighty = format!("{} end", "a".repeat(76));
        assert_eq!(derive_title(&eighty), eighty);
        // Unicode counts as characters.
        let emoji = "😀 ".repeat(60);
        assert!(derive_title(&emoji).chars().count() <= 80);
    }

    #[test]
    fn restore_skips_the_date_range_but_checks_fields() {
        let old = NaiveDate::from_ymd_opt(1901, 1, 1).unwrap();
        let e =
            ValidEntry::restore(old, "T".into(), "c".into(), vec!["A".into()], None, None).unwrap();
        assert_eq!(e.date(), old);
        assert_eq!(e.tags(), ["a"]);
        let errors =
            ValidEntry::restore(old, "T".into(), "".into(), vec![], None, None).unwrap_err();
        assert_eq!(errors[0].code, codes::CONTENT_REQUIRED);
    }

    fn stored() -> ValidEntry {
        ok(EntryDraft {
            date: Some("2024-03-01".into()),
            title: Some("Explicit".into()),
            content: Some("Body".into()),
            tags: Some(vec!["rust".into()]),
            outcome: Some("Done".into()),
            project: Some("AR".into()),
        })
    }

    #[test]
    fn patch_keeps_unmentioned_fields_and_clears_optionals() {
        let patched = apply_patch(
            &stored(),
            EntryPatch {
                outcome: Some(None),
                project: Some(Some("  ".into())),
                tags: Some(vec![]),
                ..EntryPatch::default()
            },
            today(),
        )
        .unwrap();
        assert_eq!(patched.title(), "Explicit");
        assert_eq!(patched.content(), "Body");
        assert_eq!(patched.date().to_string(), "2024-03-01");
        assert_eq!((patched.outcome(), patched.project()), (None, None));
        assert!(patched.tags().is_empty());
    }

    #[test]
    fn patch_title_clear_rederives_and_derived_titles_follow_content() {
        let cleared = apply_patch(
            &stored(),
            EntryPatch {
                title: Some(None),
                ..EntryPatch::default()
            },
            today(),
        )
        .unwrap();
        assert_eq!(cleared.title(), "Body");
        let edited = apply_patch(
            &cleared,
            EntryPatch {
                content: Some("New first line\nrest".into()),
                ..EntryPatch::default()
            },
            today(),
        )
        .unwrap();
        assert_eq!(edited.title(), "New first line");
        // An explicit title survives a content edit.
        let explicit = apply_patch(
            &stored(),
            EntryPatch {
                content: Some("Other".into()),
                ..EntryPatch::default()
            },
            today(),
        )
        .unwrap();
        assert_eq!(explicit.title(), "Explicit");
    }

    #[test]
    fn patch_keeps_old_stored_dates_but_checks_new_ones() {
        let ancient = ValidEntry::restore(
            NaiveDate::from_ymd_opt(1960, 5, 5).unwrap(),
            "T".into(),
            "c".into(),
            vec![],
            None,
            None,
        )
        .unwrap();
        let patched = apply_patch(
            &ancient,
            EntryPatch {
                content: Some("edited".into()),
                ..EntryPatch::default()
            },
            today(),
        )
        .unwrap();
        assert_eq!(patched.date(), ancient.date());

        let errors = |date: &str| {
            apply_patch(
                &ancient,
                EntryPatch {
                    date: Some(date.into()),
                    content: Some("".into()),
                    ..EntryPatch::default()
                },
                today(),
            )
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect::<Vec<_>>()
        };
        assert_eq!(
            errors("2024-03-25"),
            [codes::DATE_IN_FUTURE, codes::CONTENT_REQUIRED]
        );
        assert_eq!(errors(""), [codes::DATE_REQUIRED, codes::CONTENT_REQUIRED]);
    }

    #[test]
    fn patch_json_distinguishes_null_from_absent() {
        let patch: EntryPatch =
            serde_json::from_str(r#"{"title": null, "outcome": "x", "content": "c"}"#).unwrap();
        assert_eq!(patch.title, Some(None));
        assert_eq!(patch.outcome, Some(Some("x".into())));
        assert_eq!(patch.project, None);
        assert_eq!(patch.content.as_deref(), Some("c"));
        let empty: EntryPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, EntryPatch::default());
    }

    #[test]
    fn valid_entry_serialises_with_plain_field_names() {
        let json = serde_json::to_value(stored()).unwrap();
        assert_eq!(json["date"], "2024-03-01");
        assert_eq!(json["tags"][0], "rust");
        assert_eq!(json["outcome"], "Done");
    }

    #[test]
    fn validation_is_idempotent_on_samples() {
        let e = ok(EntryDraft {
            title: None,
            content: Some("\r\n  # Heading\r\n\r\n- item  \r\n".into()),
            tags: Some(vec!["#A b".into()]),
            outcome: Some(" x\r\n".into()),
            ..EntryDraft::default()
        });
        assert_eq!(ok(e.to_draft()), e);
    }
}
