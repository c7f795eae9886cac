//! The Markdown work-log dialect: what the Markdown export writes and the import reads.
//!
//! It is meant to be written by hand as much as by the exporter:
//!
//! ```markdown
//! # Work log
//!
//! ## 2024-03-18
//!
//! - Reviewed PR #42 for the importer
//! - The login test raced the token refresh; added a fake clock.
//!
//!   Steps that helped:
//!   - reproduce with `--test-threads=1`
//!   - fix the clock
//!   Title: Fixed the flaky login test
//!   Tags: #testing #ci
//!   Project: AfterResume
//!   Outcome: CI green for a week.
//!     (indented further, still part of the outcome)
//!
//! ## 2024-03-19
//!
//! - Wrote the export streamer
//!   \Tags: this content line is escaped, so it isn't read as tags
//! - Paired with Sam on the flaky test
//! ```
//!
//! Rules:
//! - **Days**: a level-2 heading `## YYYY-MM-DD` starts a day; anything after the date on
//!   that line (`## 2024-03-18 Monday`) is ignored. A level-1 heading that starts with a
//!   date (`# 2024-03-18`) starts a day too, as many hand-kept logs write it. Every entry
//!   belongs to the nearest day heading above it. Any other level-1 heading (`# Work log`)
//!   is a label and is ignored; deeper headings at the left margin are errors (put them
//!   inside an entry's content instead).
//!   Text before the first day heading is ignored, except bullets, which are reported as
//!   entries without a date.
//! - **Entries**: each entry is one bullet at the left margin (`- `; `* ` and `+ ` are read
//!   too). The bullet's text is the first line of the content; it is taken literally, so it
//!   can hold anything (`#42`, `**bold**`, `Tags: x`).
//! - **More lines** of the entry are indented by two spaces (a tab, or any leading
//!   whitespace, is accepted; at most two spaces or one tab are removed). Blank lines inside
//!   an entry are kept. The entry ends at the next line that starts at the left margin.
//!   Because content lines are always indented, content that contains headings, bullets or
//!   `## 2024-…` lines can't be mistaken for structure.
//! - **Fields**: an entry line of the form `Title:`, `Tags:`, `Project:` or `Outcome:`
//!   (case-insensitive; `Impact:` means `Outcome:`) sets that field. `Tags:` takes `#tag`
//!   tokens separated by spaces, `,` or `;` (the `#` is optional) and may repeat. An entry
//!   without a `Tags:` line takes its tags from the `#hashtags` in its text: a `#` at the
//!   start of a word, followed by a letter (`#rust`, `#on-call`; not `#42`, `C#` or
//!   `page#anchor`). A `Tags:` line, even an empty one, says exactly which tags. Lines
//!   after an `Outcome:` line belong to the outcome (multi-line outcomes) until the next
//!   field line; other lines belong to the content. Without a `Title:` line the title is
//!   derived from the content.
//! - **Escaping**: a content or outcome line that would read as a field line gets one extra
//!   leading backslash: `\Tags: x` means the text `Tags: x`, `\\Tags: x` means `\Tags: x`.
//!   Only lines that are, after their backslashes, a field line are touched, so a
//!   backslash anywhere else is literal.
//!
//! The exporter writes `- <first content line>`, the remaining content lines, then
//! `Title:` (only when the title isn't the derived one), `Tags:`, `Project:` and finally
//! `Outcome:` (last, because it runs to the end of the entry; an empty `Tags:` line when
//! the entry has no tags but its text holds a hashtag), and emits a `## date`
//! heading whenever the date differs from the previous row's. Export → import gives back
//! equal [`ValidEntry`](super::entry::ValidEntry) values.

use chrono::NaiveDate;

use super::entry::{derive_title, validate, EntryDraft};
use super::error::{codes, FieldError};
use super::import::{merge_errors, ImportError, ImportRow, MAX_IMPORT_ROWS};

/// The single-valued and multi-valued fields an entry line can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Tags,
    Project,
    Outcome,
}

/// Field keywords, lower-case; matching is ASCII case-insensitive.
const FIELD_KEYS: [(&str, Field); 5] = [
    ("title", Field::Title),
    ("tags", Field::Tags),
    ("project", Field::Project),
    ("outcome", Field::Outcome),
    ("impact", Field::Outcome),
];

/// Reads `Key: value` from an (unindented) entry line.
fn field_line(text: &str) -> Option<(Field, &str)> {
    FIELD_KEYS.iter().find_map(|&(key, field)| {
        let head = text.get(..key.len())?;
        let rest = text.get(key.len()..)?;
        if head.eq_ignore_ascii_case(key) {
            rest.strip_prefix(':')
                .map(|value| (field, value.trim_start()))
        } else {
            None
        }
    })
}

/// Whether a content line needs a backslash so it isn't read as a field line.
fn needs_escape(line: &str) -> bool {
    field_line(line.trim_start_matches('\\')).is_some()
}

/// Removes the escaping backslash added by [`needs_escape`]'s counterpart on export.
fn unescape(line: String) -> String {
    if line.starts_with('\\') && needs_escape(&line) {
        line[1..].to_owned()
    } else {
        line
    }
}

/// Appends one indented entry line (content or outcome continuation), escaped if needed.
fn push_entry_line(out: &mut String, line: &str) {
    if !line.is_empty() {
        out.push_str("  ");
        if needs_escape(line) {
            out.push('\\');
        }
        out.push_str(line);
    }
    out.push('\n');
}

/// Replaces characters that would break a one-line field (only reachable with data that
/// bypassed validation).
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Renders one entry as a bullet block (no day heading, no trailing blank line).
pub(super) fn render_entry(
    title: &str,
    content: &str,
    tags: &[String],
    outcome: Option<&str>,
    project: Option<&str>,
) -> String {
    let mut out = String::with_capacity(content.len() + 64);
    let mut lines = content.lines();
    out.push('-');
    match lines.next() {
        Some(first) if !first.is_empty() => {
            out.push(' ');
            out.push_str(first);
        }
        _ => {}
    }
    out.push('\n');
    for line in lines {
        push_entry_line(&mut out, line);
    }
    if title != derive_title(content) {
        out.push_str("  Title: ");
        out.push_str(&single_line(title));
        out.push('\n');
    }
    // Without a `Tags:` line the import would take the text's hashtags as tags.
    if !tags.is_empty()
        || hashtags(content).next().is_some()
        || hashtags(outcome.unwrap_or_default()).next().is_some()
    {
        out.push_str("  Tags:");
        for tag in tags {
            out.push_str(" #");
            out.push_str(&single_line(tag));
        }
        out.push('\n');
    }
    if let Some(project) = project {
        out.push_str("  Project: ");
        out.push_str(&single_line(project));
        out.push('\n');
    }
    if let Some(outcome) = outcome {
        let mut lines = outcome.lines();
        out.push_str("  Outcome: ");
        out.push_str(lines.next().unwrap_or_default());
        out.push('\n');
        for line in lines {
            push_entry_line(&mut out, line);
        }
    }
    out
}

/// One source line, classified.
enum Line<'a> {
    Blank,
    /// Indented (or whitespace-only) text with the indentation (≤ 2 spaces or 1 tab)
    /// removed.
    Indented(&'a str),
    DayHeading(&'a str),
    LabelHeading,
    OtherHeading,
    Bullet(&'a str),
    Break,
    Stray,
}

fn classify(line: &str) -> Line<'_> {
    if line.is_empty() {
        return Line::Blank;
    }
    // Whitespace-only lines count as indented, not blank: inside an entry they are content
    // lines made of spaces, which must survive a round trip.
    if let Some(rest) = line.strip_prefix('\t') {
        return Line::Indented(rest);
    }
    if line.starts_with(char::is_whitespace) {
        let rest = line.strip_prefix(' ').unwrap_or(line);
        return Line::Indented(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if hashes > 0 {
        let rest = &line[hashes..];
        if rest.is_empty() || rest.starts_with([' ', '\t']) {
            let token = rest.split_whitespace().next().unwrap_or_default();
            return match hashes {
                1 if looks_like_date(token) => Line::DayHeading(token),
                1 => Line::LabelHeading,
                2 => Line::DayHeading(token),
                _ => Line::OtherHeading,
            };
        }
        return Line::Stray;
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(text) = line.strip_prefix(bullet) {
            return Line::Bullet(text);
        }
    }
    if matches!(line.trim_end(), "-" | "*" | "+") {
        return Line::Bullet("");
    }
    let marks: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    if marks.len() >= 3
        && ['-', '*', '_']
            .iter()
            .any(|&m| marks.iter().all(|&c| c == m))
    {
        return Line::Break;
    }
    Line::Stray
}

/// Whether a heading's first word is meant as a date: `dddd-dd-dd` (validation then says
/// whether it is a real one).
fn looks_like_date(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// The `#hashtags` of `text`, without the `#`: a `#` at the start of the text or after
/// whitespace or an opening bracket, then a letter, then letters, digits, `-` or `_`.
fn hashtags(text: &str) -> impl Iterator<Item = &str> {
    text.char_indices().filter_map(move |(i, c)| {
        if c != '#' {
            return None;
        }
        let before = text[..i].chars().next_back();
        if before.is_some_and(|b| !(b.is_whitespace() || matches!(b, '(' | '[' | '{'))) {
            return None;
        }
        let rest = &text[i + 1..];
        if !rest.chars().next().is_some_and(char::is_alphabetic) {
            return None;
        }
        let end = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '-' || c == '_'))
            .map_or(rest.len(), |(j, _)| j);
        Some(rest[..end].trim_end_matches(['-', '_']))
    })
}

/// The day heading entries are currently filed under.
#[derive(Clone)]
enum Day {
    /// Before any `## ` heading.
    None,
    /// Under `## <token>`; the token may still be an invalid date.
    Heading { token: String, line: usize },
}

/// An entry being collected, line by line.
struct Pending {
    row: usize,
    line: usize,
    day: Day,
    first: String,
    lines: Vec<String>,
    /// Problems found while reading (stray lines, missing day); validation adds more.
    errors: Vec<FieldError>,
    /// A record made only of stray text: reported, never an entry.
    orphan: bool,
}

/// Parses the Markdown dialect into one row per entry (and per stray block of text).
pub(super) fn parse(text: &str, today: NaiveDate) -> Result<Vec<ImportRow>, ImportError> {
    let mut rows = Vec::new();
    let mut day = Day::None;
    let mut pending: Option<Pending> = None;
    let mut next_row = 1;

    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        match classify(raw) {
            Line::Blank => {
                if let Some(p) = pending.as_mut() {
                    p.lines.push(String::new());
                }
            }
            Line::Indented(text) => match pending.as_mut() {
                Some(p) => p.lines.push(text.to_owned()),
                None if text.trim().is_empty() => {}
                // Indented text right under a heading belongs to no entry.
                None if matches!(day, Day::Heading { .. }) => {
                    let mut p = open_record(&mut next_row, line_no, &day, "", true)?;
                    p.errors.push(stray(line_no));
                    pending = Some(p);
                }
                None => {}
            },
            Line::DayHeading(token) => {
                finish(pending.take(), today, &mut rows);
                day = Day::Heading {
                    token: token.to_owned(),
                    line: line_no,
                };
            }
            Line::LabelHeading | Line::Break => finish(pending.take(), today, &mut rows),
            kind @ (Line::OtherHeading | Line::Stray) => {
                if matches!(day, Day::None) && pending.is_none() {
                    // Preamble prose before the first day heading.
                    continue;
                }
                let error = if matches!(kind, Line::OtherHeading) {
                    FieldError::new(
                        "content",
                        codes::MARKDOWN_SYNTAX,
                        format!(
                            "Line {line_no} is a heading; only '## YYYY-MM-DD' day headings are \
                             supported. Indent it by two spaces to make it part of an entry."
                        ),
                    )
                } else {
                    stray(line_no)
                };
                match pending.as_mut() {
                    Some(p) => p.errors.push(error),
                    None => {
                        let mut p = open_record(&mut next_row, line_no, &day, "", true)?;
                        p.errors.push(error);
                        pending = Some(p);
                    }
                }
            }
            Line::Bullet(first) => {
                finish(pending.take(), today, &mut rows);
                pending = Some(open_record(&mut next_row, line_no, &day, first, false)?);
            }
        }
    }
    finish(pending, today, &mut rows);
    Ok(rows)
}

/// Starts the next record, numbering it; refuses the file past [`MAX_IMPORT_ROWS`].
fn open_record(
    next_row: &mut usize,
    line: usize,
    day: &Day,
    first: &str,
    orphan: bool,
) -> Result<Pending, ImportError> {
    if *next_row > MAX_IMPORT_ROWS {
        return Err(ImportError::TooManyRows {
            max: MAX_IMPORT_ROWS,
        });
    }
    let mut errors = Vec::new();
    if !orphan {
        match day {
            Day::None => errors.push(FieldError::new(
                "date",
                codes::DATE_REQUIRED,
                format!(
                    "The entry on line {line} has no day: put it under a '## YYYY-MM-DD' heading."
                ),
            )),
            Day::Heading { token, line: at } if token.is_empty() => errors.push(FieldError::new(
                "date",
                codes::DATE_INVALID,
                format!("The day heading on line {at} has no date; write it as '## YYYY-MM-DD'."),
            )),
            Day::Heading { .. } => {}
        }
    }
    let record = Pending {
        row: *next_row,
        line,
        day: day.clone(),
        first: first.to_owned(),
        lines: Vec::new(),
        errors,
        orphan,
    };
    *next_row += 1;
    Ok(record)
}

fn stray(line_no: usize) -> FieldError {
    FieldError::new(
        "content",
        codes::MARKDOWN_SYNTAX,
        format!(
            "Line {line_no} isn't part of an entry: start each entry with '- ' and indent its \
             further lines by two spaces."
        ),
    )
}

/// Turns a collected entry into a validated row.
fn finish(pending: Option<Pending>, today: NaiveDate, rows: &mut Vec<ImportRow>) {
    let Some(p) = pending else {
        return;
    };
    if p.orphan {
        rows.push(ImportRow {
            row: p.row,
            line: Some(p.line),
            result: Err(p.errors),
        });
        return;
    }

    let mut errors = p.errors;
    let mut content = vec![p.first];
    let mut title: Option<String> = None;
    let mut project: Option<String> = None;
    let mut outcome: Option<Vec<String>> = None;
    let mut tags: Vec<String> = Vec::new();
    let mut tags_line = false;
    let mut in_outcome = false;

    for line in p.lines {
        match field_line(&line) {
            Some((field, value)) => {
                in_outcome = field == Field::Outcome;
                let duplicate = match field {
                    Field::Tags => {
                        tags_line = true;
                        tags.extend(
                            value
                                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                                .filter(|t| !t.is_empty())
                                .map(str::to_owned),
                        );
                        None
                    }
                    Field::Title => set_once(&mut title, value, "title"),
                    Field::Project => set_once(&mut project, value, "project"),
                    Field::Outcome if outcome.is_some() => Some("outcome"),
                    Field::Outcome => {
                        outcome = Some(vec![value.to_owned()]);
                        None
                    }
                };
                if let Some(name) = duplicate {
                    errors.push(FieldError::new(
                        name,
                        codes::DUPLICATE_FIELD,
                        format!(
                            "The entry on line {} sets its {name} twice; keep one line.",
                            p.line
                        ),
                    ));
                }
            }
            None => {
                let line = unescape(line);
                match outcome.as_mut() {
                    Some(lines) if in_outcome => lines.push(line),
                    _ => content.push(line),
                }
            }
        }
    }

    let content = content.join("\n");
    let outcome = outcome.map(|lines| lines.join("\n"));
    if !tags_line {
        for tag in hashtags(&content).chain(hashtags(outcome.as_deref().unwrap_or_default())) {
            if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                tags.push(tag.to_owned());
            }
        }
    }
    let draft = EntryDraft {
        date: match p.day {
            Day::None => None,
            Day::Heading { token, .. } => Some(token),
        },
        title,
        content: Some(content),
        tags: Some(tags),
        outcome,
        project,
    };
    rows.push(ImportRow {
        row: p.row,
        line: Some(p.line),
        result: merge_errors(errors, validate(draft, today)),
    });
}

/// Stores a single-valued field, returning its name if it was already set.
fn set_once(slot: &mut Option<String>, value: &str, name: &'static str) -> Option<&'static str> {
    if slot.is_some() {
        Some(name)
    } else {
        *slot = Some(value.to_owned());
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::ValidEntry;
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 20).unwrap()
    }

    fn entries(text: &str) -> Vec<ValidEntry> {
        parse(text, today())
            .unwrap()
            .into_iter()
            .map(|r| match r.result {
                Ok(e) => e,
                Err(errors) => panic!("row {} failed: {errors:?}", r.row),
            })
            .collect()
    }

    /// The example in the module docs, read from this file so the docs can't drift.
    fn documented_example() -> String {
        let mut lines = include_str!("markdown.rs")
            .lines()
            .skip_while(|l| l.trim() != "//! ```markdown")
            .skip(1)
            .take_while(|l| l.trim() != "//! ```")
            .map(|l| {
                let text = l.trim_start().strip_prefix("//!").unwrap_or(l);
                text.strip_prefix(' ').unwrap_or(text).to_owned()
            })
            .collect::<Vec<_>>();
        lines.push(String::new());
        lines.join("\n")
    }

    #[test]
    fn documented_example_parses_as_described() {
        let e = entries(&documented_example());
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].content(), "Reviewed PR #42 for the importer");
        assert!(e[0].tags().is_empty());
        assert_eq!(e[1].title(), "Fixed the flaky login test");
        assert_eq!(
            e[1].content(),
            "The login test raced the token refresh; added a fake clock.\n\nSteps that helped:\n- reproduce with `--test-threads=1`\n- fix the clock"
        );
        assert_eq!(e[1].tags(), ["testing", "ci"]);
        assert_eq!(e[1].project(), Some("AfterResume"));
        assert_eq!(
            e[1].outcome(),
            Some("CI green for a week.\n  (indented further, still part of the outcome)")
        );
        assert_eq!(e[1].date().to_string(), "2024-03-18");
        assert_eq!(e[2].date().to_string(), "2024-03-19");
        assert_eq!(
            e[2].content(),
            "Wrote the export streamer\nTags: this content line is escaped, so it isn't read as tags"
        );
        assert!(e[2].tags().is_empty());
        assert_eq!(e[3].content(), "Paired with Sam on the flaky test");
    }

    #[test]
    fn bullets_under_two_day_headings() {
        let text = "# Work log\n\nSome preamble.\n\n## 2024-03-18\n\n- Reviewed PR #42\n- Paired on tests\n\n## 2024-03-19 Tuesday\n* Shipped export\n";
        let rows = parse(text, today()).unwrap();
        assert_eq!(
            rows.iter().map(|r| (r.row, r.line)).collect::<Vec<_>>(),
            [(1, Some(7)), (2, Some(8)), (3, Some(11))]
        );
        let e = entries(text);
        assert_eq!(e[0].date().to_string(), "2024-03-18");
        assert_eq!(e[0].content(), "Reviewed PR #42");
        assert!(e[0].tags().is_empty(), "inline #42 is content, not a tag");
        assert_eq!(e[1].date().to_string(), "2024-03-18");
        assert_eq!(e[2].date().to_string(), "2024-03-19");
        assert_eq!(e[2].title(), "Shipped export");
    }

    #[test]
    fn fields_and_multiline_content_and_outcome() {
        let text = "## 2024-03-18\n- First line\n\n  second paragraph\n  - nested bullet\n  ## not a heading\n  Title: Fixed it\n  tags: #Rust, ci;#testing\n  Tags: #more\n  PROJECT: AfterResume\n  Outcome: CI green\n    indented outcome line\n\n  after blank\n- Next\n";
        let e = entries(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].title(), "Fixed it");
        assert_eq!(
            e[0].content(),
            "First line\n\nsecond paragraph\n- nested bullet\n## not a heading"
        );
        assert_eq!(e[0].tags(), ["rust", "ci", "testing", "more"]);
        assert_eq!(e[0].project(), Some("AfterResume"));
        assert_eq!(
            e[0].outcome(),
            Some("CI green\n  indented outcome line\n\nafter blank")
        );
        assert_eq!(e[1].content(), "Next");
    }

    #[test]
    fn escaped_field_lines_are_content() {
        let text = "## 2024-03-18\n- Tags: on the bullet line are content\n  \\Tags: #not-a-tag\n  \\\\Outcome: two slashes\n  \\plain backslash\n";
        let e = entries(text);
        assert_eq!(e[0].content(), "Tags: on the bullet line are content\nTags: #not-a-tag\n\\Outcome: two slashes\n\\plain backslash");
        // An escaped `Tags:` line is text, so (with no real `Tags:` line) its hashtag is
        // one of the entry's tags, like any hashtag in the text.
        assert_eq!(e[0].tags(), ["not-a-tag"]);
        assert_eq!(e[0].outcome(), None);
    }

    #[test]
    fn a_level_one_date_heading_starts_a_day() {
        let e =
            entries("# Work log\n\n# 2024-03-18 Monday\n- one\n# Notes\n## 2024-03-19\n- two\n");
        let days: Vec<String> = e.iter().map(|e| e.date().to_string()).collect();
        assert_eq!(days, ["2024-03-18", "2024-03-19"]);
        // A date-shaped heading is a day heading, so an impossible date is reported.
        let rows = parse("# 2024-02-30\n- x\n", today()).unwrap();
        let codes: Vec<&str> = rows[0]
            .result
            .as_ref()
            .unwrap_err()
            .iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes, [codes::DATE_INVALID]);
    }

    #[test]
    fn hashtags_in_the_text_are_tags_unless_a_tags_line_says_otherwise() {
        let e = entries(
            "## 2024-03-18\n- Shipped #billing webhooks in #Rust (#on-call), not #42 or C# or page#x\n  Outcome: fewer #billing pages, #ops-\n\
             - Explicit #ignored\n  Tags: #chosen\n\
             - None wanted #ignored\n  Tags:\n",
        );
        assert_eq!(e[0].tags(), ["billing", "rust", "on-call", "ops"]);
        assert_eq!(e[1].tags(), ["chosen"]);
        assert!(e[2].tags().is_empty());
    }

    #[test]
    fn render_keeps_an_untagged_entry_untagged_when_its_text_has_hashtags() {
        assert_eq!(
            render_entry("x #a", "x #a", &[], None, None),
            "- x #a\n  Tags:\n"
        );
        assert_eq!(
            render_entry("x", "x", &[], Some("#b"), None),
            "- x\n  Tags:\n  Outcome: #b\n"
        );
        assert_eq!(render_entry("x #42", "x #42", &[], None, None), "- x #42\n");
    }

    #[test]
    fn tabs_and_single_space_indents_are_accepted() {
        let e = entries("## 2024-03-18\n- a\n\tb\n c\n    d\n");
        assert_eq!(e[0].content(), "a\nb\nc\n  d");
    }

    #[test]
    fn per_row_errors() {
        let text = "- before any heading\n## 2024-03-18\nstray text\n- ok\nlazy line\n### Sub\n## 2024-13-01\n- bad date\n##\n- no date\n## 2024-03-18\n- Title: x\n  Title: a\n  Title: b\n";
        let rows = parse(text, today()).unwrap();
        let summary: Vec<(usize, Option<usize>, Vec<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.row,
                    r.line,
                    r.result
                        .as_ref()
                        .err()
                        .map(|e| e.iter().map(|x| x.code).collect())
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, Some(1), vec![codes::DATE_REQUIRED]),
                (2, Some(3), vec![codes::MARKDOWN_SYNTAX]),
                (
                    3,
                    Some(4),
                    vec![codes::MARKDOWN_SYNTAX, codes::MARKDOWN_SYNTAX]
                ),
                (4, Some(8), vec![codes::DATE_INVALID]),
                (5, Some(10), vec![codes::DATE_INVALID]),
                (6, Some(12), vec![codes::DUPLICATE_FIELD]),
            ]
        );
    }

    #[test]
    fn render_escapes_and_omits_derived_title() {
        let rendered = render_entry(
            "Line one",
            "Line one\n\nTags: x\n\\Project: y\n  indented",
            &["a".into(), "c#".into()],
            Some("Done\nOutcome: again"),
            Some("P"),
        );
        assert_eq!(
            rendered,
            "- Line one\n\n  \\Tags: x\n  \\\\Project: y\n    indented\n  Tags: #a #c#\n  Project: P\n  Outcome: Done\n  \\Outcome: again\n"
        );
        let titled = render_entry("Other", "Line one", &[], None, None);
        assert_eq!(titled, "- Line one\n  Title: Other\n");
    }

    #[test]
    fn field_lines_need_the_colon_right_after_the_key() {
        assert!(field_line("Tags: x").is_some());
        assert!(field_line("TITLE:x").is_some());
        assert!(field_line("Impact: big").is_some());
        assert!(field_line("Tags : x").is_none());
        assert!(field_line("Tagsx: y").is_none());
        assert!(field_line(" Tags: x").is_none());
        assert!(field_line("Tä").is_none());
    }
}
