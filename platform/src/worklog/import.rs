//! Import parsing (JSON, CSV, Markdown) into per-row results, plus de-duplication keys.
//!
//! [`parse_import`] never stores anything: its rows are the `dry_run` preview as they are,
//! and a real import inserts the `Ok` rows whose [`import_key`] isn't stored yet
//! ([`plan_import`] does that bookkeeping). Whole-file problems are an [`ImportError`];
//! everything about one record is that row's `Err(Vec<FieldError>)`.
//!
//! - **JSON**: an array of entry objects, or `{"entries": [...]}`. Field names are the
//!   export's (`date`, `title`, `content`, `tags`, `outcome`, `project`); other fields
//!   (`id`, `author_id`, `created_at`, …) are ignored so an export re-imports as is. `null`
//!   means absent; `tags` is an array of strings or one `;`/`,`-separated string.
//! - **CSV**: RFC 4180; a header row is required and must have a `content` column. Columns
//!   `date,title,content,tags,outcome,project` (`impact` = `outcome`) are matched
//!   case-insensitively in any order; others are ignored. Missing trailing cells are empty.
//!   `tags` is `;`- or `,`-separated. The delimiter is `,`, or `;`/tab when the header row
//!   has no comma but one of those (spreadsheets in some locales save CSV that way). A leading `'` that the exporter added to defuse a
//!   spreadsheet formula is removed (see [`super::export`]). A UTF-8 BOM is skipped.
//! - **Markdown**: see [`super::markdown`].
//!
//! Files with more than [`MAX_IMPORT_ROWS`] records are refused as a whole. The caller
//! should also cap the request body size.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::entry::{validate, EntryDraft, ValidEntry};
use super::error::{codes, group_thousands, FieldError};
use super::export::unescape_formula;
use super::markdown;
use super::tags::split_tag_list;

/// Most records one import file may hold.
pub const MAX_IMPORT_ROWS: usize = 5_000;

/// A file format an import can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// JSON array (or `{"entries": [...]}`).
    Json,
    /// CSV with a header row.
    Csv,
    /// The Markdown dialect of [`super::markdown`].
    Markdown,
}

impl ImportFormat {
    /// Parses `json`, `csv`, `markdown` or `md` (case-insensitive, surrounding spaces ignored).
    pub fn parse(name: &str) -> Result<Self, UnknownFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            "markdown" | "md" => Ok(Self::Markdown),
            _ => Err(UnknownFormat(name.chars().take(40).collect())),
        }
    }

    /// The canonical lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Markdown => "markdown",
        }
    }
}

impl FromStr for ImportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is none of the supported ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown format \"{0}\"; use json, csv or markdown.")]
pub struct UnknownFormat(pub String);

impl UnknownFormat {
    /// Stable error code for the API body.
    pub fn code(&self) -> &'static str {
        "format_unknown"
    }
}

/// One parsed record: its position and either the entry or everything wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    /// 1-based record number (CSV data rows after the header, JSON array items, Markdown
    /// bullets and stray-text blocks).
    pub row: usize,
    /// 1-based source line where the record starts, where known (CSV, Markdown).
    pub line: Option<usize>,
    /// The validated entry, or every problem with this record.
    pub result: Result<ValidEntry, Vec<FieldError>>,
}

impl ImportRow {
    /// The de-duplication key of a valid row.
    pub fn key(&self) -> Option<String> {
        self.result.as_ref().ok().map(import_key)
    }
}

/// A problem with the file as a whole; nothing from it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Nothing but whitespace.
    #[error("The file is empty; there is nothing to import.")]
    Empty,
    /// Well-formed, but without a single record; the message shows what the format
    /// expects.
    #[error("The file contains no entries. {}", example_of(*.0))]
    NoEntries(ImportFormat),
    /// The JSON doesn't parse.
    #[error(
        "The file is not valid JSON: {detail}. Check the file around line {line}, column {column}."
    )]
    InvalidJson {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// The parser's description.
        detail: String,
    },
    /// JSON, but neither an array nor an object with an `entries` array.
    #[error("Expected a JSON array of entries, or an object with an \"entries\" array.")]
    UnexpectedJsonShape,
    /// The CSV header lacks the `content` column.
    #[error("The CSV header row has no \"content\" column (found: {found}). The first row must name the columns, e.g. date,title,content,tags,outcome,project.")]
    MissingContentColumn {
        /// The header cells that were found, comma-separated.
        found: String,
    },
    /// The CSV header names a column twice.
    #[error("The CSV header row names the column \"{0}\" more than once; keep one.")]
    DuplicateColumn(String),
    /// The CSV header row can't be read.
    #[error("The CSV header row can't be read: {0}.")]
    MalformedCsv(String),
    /// More than [`MAX_IMPORT_ROWS`] records.
    #[error("The file has more than {} entries; split it into files of at most {} entries each.", group_thousands(*max), group_thousands(*max))]
    TooManyRows {
        /// The limit that was exceeded.
        max: usize,
    },
}

impl ImportError {
    /// Stable error code for the API body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "import_empty",
            Self::NoEntries(_) => "import_no_entries",
            Self::InvalidJson { .. } => "import_invalid_json",
            Self::UnexpectedJsonShape => "import_unexpected_json_shape",
            Self::MissingContentColumn { .. } => "import_missing_content_column",
            Self::DuplicateColumn(_) => "import_duplicate_column",
            Self::MalformedCsv(_) => "import_malformed_csv",
            Self::TooManyRows { .. } => "import_too_many_rows",
        }
    }
}

/// What a file of `format` looks like, for the error that found no entries in one.
fn example_of(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::Json => {
            r#"A JSON import is an array of entries, e.g. [{"date": "2026-11-18", "content": "Shipped the billing webhooks", "tags": ["billing"]}]."#
        }
        ImportFormat::Csv => {
            "A CSV import has a header row and one entry per row, e.g.\ndate,title,content,tags,outcome,project\n2026-11-18,,Shipped the billing webhooks,billing;api,,"
        }
        ImportFormat::Markdown => {
            "A Markdown import has a day heading and one '- ' bullet per entry, e.g.\n## 2026-11-18\n- Shipped the billing webhooks #billing\n  Outcome: Invoices go out on time."
        }
    }
}

/// Parses a whole import file into rows; `today` is the user's calendar day.
pub fn parse_import(
    format: ImportFormat,
    text: &str,
    today: NaiveDate,
) -> Result<Vec<ImportRow>, ImportError> {
    // Spreadsheet and Windows tools like to start UTF-8 files with a BOM.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let rows = match format {
        ImportFormat::Json => parse_json(text, today)?,
        ImportFormat::Csv => parse_csv(text, today)?,
        ImportFormat::Markdown => markdown::parse(text, today)?,
    };
    if rows.is_empty() {
        return Err(ImportError::NoEntries(format));
    }
    Ok(rows)
}

/// Combines problems found while reading a record with its validation result.
pub(super) fn merge_errors(
    mut read_errors: Vec<FieldError>,
    validated: Result<ValidEntry, Vec<FieldError>>,
) -> Result<ValidEntry, Vec<FieldError>> {
    if read_errors.is_empty() {
        return validated;
    }
    if let Err(errors) = validated {
        // A field that couldn't be read at all also fails validation ("content_required"
        // after "wrong_type"); the first error already says what to fix.
        let unreadable: HashSet<&str> = read_errors
            .iter()
            .filter(|e| e.code == codes::WRONG_TYPE)
            .map(|e| e.field)
            .collect();
        read_errors.extend(errors.into_iter().filter(|e| !unreadable.contains(e.field)));
    }
    Err(read_errors)
}

fn parse_json(text: &str, today: NaiveDate) -> Result<Vec<ImportRow>, ImportError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ImportError::InvalidJson {
        line: e.line(),
        column: e.column(),
        // serde_json appends " at line L column C", which the message already says.
        detail: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    })?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("entries") {
            Some(Value::Array(items)) => items,
            _ => return Err(ImportError::UnexpectedJsonShape),
        },
        _ => return Err(ImportError::UnexpectedJsonShape),
    };
    if items.len() > MAX_IMPORT_ROWS {
        return Err(ImportError::TooManyRows {
            max: MAX_IMPORT_ROWS,
        });
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| ImportRow {
            row: index + 1,
            line: None,
            result: json_entry(index + 1, item, today),
        })
        .collect())
}

fn json_entry(row: usize, item: &Value, today: NaiveDate) -> Result<ValidEntry, Vec<FieldError>> {
    let Value::Object(map) = item else {
        return Err(vec![FieldError::new(
            "entry",
            codes::ENTRY_INVALID,
            format!(
                "Entry {row} is not a JSON object; each entry must be {{\"content\": \"…\", …}}."
            ),
        )]);
    };
    let mut errors = Vec::new();
    let draft = EntryDraft {
        date: json_text(map, "date", &mut errors),
        title: json_text(map, "title", &mut errors),
        content: json_text(map, "content", &mut errors),
        tags: json_tags(map, &mut errors),
        outcome: json_text(map, "outcome", &mut errors),
        project: json_text(map, "project", &mut errors),
    };
    merge_errors(errors, validate(draft, today))
}

fn json_text(
    map: &Map<String, Value>,
    field: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match map.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            errors.push(wrong_type(field, "text", other));
            None
        }
    }
}

fn json_tags(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    match map.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(split_tag_list(s)),
        Some(Value::Array(items)) => {
            let mut tags = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => tags.push(s.clone()),
                    other => {
                        errors.push(wrong_type("tags", "a list of text tags", other));
                        return None;
                    }
                }
            }
            Some(tags)
        }
        Some(other) => {
            errors.push(wrong_type("tags", "a list of text tags", other));
            None
        }
    }
}

fn wrong_type(field: &'static str, expected: &str, found: &Value) -> FieldError {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    FieldError::new(
        field,
        codes::WRONG_TYPE,
        format!("\"{field}\" must be {expected}, not {found}."),
    )
}

/// Column positions found in a CSV header.
#[derive(Default)]
struct Columns {
    date: Option<usize>,
    title: Option<usize>,
    content: usize,
    tags: Option<usize>,
    outcome: Option<usize>,
    project: Option<usize>,
}

fn csv_columns(header: &csv::StringRecord) -> Result<Columns, ImportError> {
    let mut found: [Option<usize>; 6] = [None; 6];
    for (index, cell) in header.iter().enumerate() {
        let name = cell.trim().to_ascii_lowercase();
        let slot = match name.as_str() {
            "date" => 0,
            "title" => 1,
            "content" => 2,
            "tags" => 3,
            "outcome" | "impact" => 4,
            "project" => 5,
            _ => continue,
        };
        if found[slot].replace(index).is_some() {
            return Err(ImportError::DuplicateColumn(name));
        }
    }
    let Some(content) = found[2] else {
        let mut names: Vec<String> = header
            .iter()
            .take(12)
            .map(|c| c.trim().chars().take(30).collect())
            .collect();
        if header.len() > names.len() {
            names.push("…".into());
        }
        return Err(ImportError::MissingContentColumn {
            found: names.join(", "),
        });
    };
    Ok(Columns {
        date: found[0],
        title: found[1],
        content,
        tags: found[3],
        outcome: found[4],
        project: found[5],
    })
}

/// `,` unless the header row has none but has `;` or a tab: spreadsheets in locales
/// that write decimal commas save "CSV" with `;`.
fn csv_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    if header.contains(',') {
        b','
    } else if header.contains(';') {
        b';'
    } else if header.contains('\t') {
        b'\t'
    } else {
        b','
    }
}

fn parse_csv(text: &str, today: NaiveDate) -> Result<Vec<ImportRow>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(csv_delimiter(text))
        .has_headers(false)
        // Spreadsheets drop trailing empty cells; treat them as empty, not as an error.
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(ImportError::Empty),
        Some(Err(e)) => return Err(ImportError::MalformedCsv(e.to_string())),
        Some(Ok(header)) => header,
    };
    let columns = csv_columns(&header)?;

    let mut rows = Vec::new();
    for (index, record) in records.enumerate() {
        if index >= MAX_IMPORT_ROWS {
            return Err(ImportError::TooManyRows {
                max: MAX_IMPORT_ROWS,
            });
        }
        let row = index + 1;
        let (line, result) = match record {
            Ok(record) => {
                let line = record.position().map(|p| p.line() as usize);
                let cell = |at: Option<usize>| {
                    at.and_then(|i| record.get(i))
                        .map(|c| unescape_formula(c).to_owned())
                };
                let draft = EntryDraft {
                    date: cell(columns.date),
                    title: cell(columns.title),
                    content: cell(Some(columns.content)),
                    tags: cell(columns.tags).map(|t| split_tag_list(&t)),
                    outcome: cell(columns.outcome),
                    project: cell(columns.project),
                };
                (line, validate(draft, today))
            }
            Err(e) => (
                e.position().map(|p| p.line() as usize),
                Err(vec![FieldError::new(
                    "entry",
                    codes::ENTRY_INVALID,
                    format!("Row {row} can't be read as CSV: {e}."),
                )]),
            ),
        };
        rows.push(ImportRow { row, line, result });
    }
    Ok(rows)
}

/// Version tag of the canonical form; bump it if the form changes (old keys then stop
/// matching, so a re-import after the change would duplicate once).
const IMPORT_KEY_VERSION: &[u8] = b"afterresume-worklog-import-key/v1\n";

/// The import key stored on an entry: [`import_key`] of its content, scoped to its
/// author, so two members importing the same file each get their entries (entries
/// stored before keys were scoped carry the bare content key).
pub fn author_import_key(author_id: &str, content_key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"afterresume-worklog-import-key/author/v1\n");
    put(&mut hasher, Some(author_id));
    put(&mut hasher, Some(content_key));
    hex::encode(hasher.finalize())
}

/// A stable de-duplication key: lower-case hex SHA-256 over a canonical form of the entry.
///
/// Canonical form, each value length-prefixed so no separator can be forged:
/// version tag; date (`YYYY-MM-DD`); title; content with line endings as `\n`, trailing
/// whitespace removed from every line, and trimmed; tags sorted (order doesn't make a
/// different entry); outcome normalised like content; project. Absent optionals are
/// encoded distinctly from any text.
pub fn import_key(entry: &ValidEntry) -> String {
    let mut hasher = Sha256::new();
    hasher.update(IMPORT_KEY_VERSION);
    put(&mut hasher, Some(&entry.date().to_string()));
    put(&mut hasher, Some(entry.title()));
    put(&mut hasher, Some(&canonical_text(entry.content())));
    let mut tags: Vec<&str> = entry.tags().iter().map(String::as_str).collect();
    tags.sort_unstable();
    hasher.update(format!("{}\n", tags.len()));
    for tag in tags {
        put(&mut hasher, Some(tag));
    }
    put(&mut hasher, entry.outcome().map(canonical_text).as_deref());
    put(&mut hasher, entry.project());
    hex::encode(hasher.finalize())
}

fn put(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        None => hasher.update(b"~\n"),
        Some(text) => {
            hasher.update(format!("{}:", text.len()));
            hasher.update(text);
            hasher.update(b"\n");
        }
    }
}

/// Text as compared for duplicates: `\n` line endings, no trailing spaces, trimmed.
fn canonical_text(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

/// What an import would do: rows to insert, rows that are duplicates, rows with errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    /// Valid rows whose key is neither stored nor seen earlier in the file.
    pub new: Vec<PlannedEntry>,
    /// Valid rows skipped as duplicates.
    pub duplicates: Vec<DuplicateRow>,
    /// Row numbers with errors (details are in the rows themselves).
    pub invalid: Vec<usize>,
}

impl ImportPlan {
    /// Every valid row in file order, with whether it is a duplicate.
    pub fn valid_rows(&self) -> Vec<(usize, &ValidEntry, bool)> {
        let mut rows: Vec<(usize, &ValidEntry, bool)> = self
            .new
            .iter()
            .map(|p| (p.row, &p.entry, false))
            .chain(self.duplicates.iter().map(|d| (d.row, &d.entry, true)))
            .collect();
        rows.sort_by_key(|(row, _, _)| *row);
        rows
    }
}

/// A row the import will insert, with the key to store alongside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedEntry {
    /// The row's record number.
    pub row: usize,
    /// Its [`author_import_key`]; store it so the next import can skip this entry.
    pub key: String,
    /// The entry to insert.
    pub entry: ValidEntry,
}

/// A valid row that won't be inserted because an equal entry exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateRow {
    /// The row's record number.
    pub row: usize,
    /// Its [`author_import_key`].
    pub key: String,
    /// `Some(n)`: same as row `n` of this file; `None`: already stored.
    pub same_as_row: Option<usize>,
    /// The entry as parsed (for a preview).
    pub entry: ValidEntry,
}

/// The keys under which a valid row may already be stored for `author`: its
/// [`author_import_key`], and the bare [`import_key`] that imports stored before keys
/// were scoped to their author (such a key still counts, but only for its author, which
/// the store's query ensures).
pub fn stored_keys_of(author: &str, entry: &ValidEntry) -> (String, String) {
    let content = import_key(entry);
    (author_import_key(author, &content), content)
}

/// Splits parsed rows imported by `author` into new entries, duplicates (of a key in
/// `stored_keys`, under either of [`stored_keys_of`], or of an earlier row of the same
/// file) and invalid rows.
pub fn plan_import(rows: &[ImportRow], author: &str, stored_keys: &HashSet<String>) -> ImportPlan {
    let mut plan = ImportPlan::default();
    let mut first_row_of: std::collections::HashMap<String, usize> = Default::default();
    for row in rows {
        match &row.result {
            Err(_) => plan.invalid.push(row.row),
            Ok(entry) => {
                let (key, content) = stored_keys_of(author, entry);
                let entry = entry.clone();
                if stored_keys.contains(&key) || stored_keys.contains(&content) {
                    plan.duplicates.push(DuplicateRow {
                        row: row.row,
                        key,
                        same_as_row: None,
                        entry,
                    });
                } else if let Some(&first) = first_row_of.get(&key) {
                    plan.duplicates.push(DuplicateRow {
                        row: row.row,
                        key,
                        same_as_row: Some(first),
                        entry,
                    });
                } else {
                    first_row_of.insert(key.clone(), row.row);
                    plan.new.push(PlannedEntry {
                        row: row.row,
                        key,
                        entry,
                    });
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 20).unwrap()
    }

    fn codes_by_row(rows: &[ImportRow]) -> Vec<(usize, Vec<&'static str>)> {
        rows.iter()
            .map(|r| {
                (
                    r.row,
                    r.result
                        .as_ref()
                        .err()
                        .map(|e| e.iter().map(|x| x.code).collect())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn formats_parse_by_name() {
        assert_eq!(ImportFormat::parse(" JSON "), Ok(ImportFormat::Json));
        assert_eq!("csv".parse::<ImportFormat>(), Ok(ImportFormat::Csv));
        assert_eq!(ImportFormat::parse("md"), Ok(ImportFormat::Markdown));
        assert_eq!(ImportFormat::parse("Markdown"), Ok(ImportFormat::Markdown));
        let err = ImportFormat::parse("xml").unwrap_err();
        assert!(err.to_string().contains("\"xml\""));
    }

    #[test]
    fn csv_with_errors_in_rows_3_and_5() {
        let csv = "Date,Title,Content,Tags,Outcome,Project,Extra\n\
                   2024-03-14,One,first,rust;go,,AR,x\n\
                   2024-03-15,,second,,,,\n\
                   2024-03-16,Three,,,,,\n\
                   2024-03-17,Four,\"fourth, with comma\",\"a,b\",done,,\n\
                   2024-13-45,Five,fifth,,,,\n\
                   2024-03-18,Six,\"multi\nline \"\"quoted\"\"\",,,,\n";
        let rows = parse_import(ImportFormat::Csv, csv, today()).unwrap();
        assert_eq!(
            codes_by_row(&rows),
            [
                (1, vec![]),
                (2, vec![]),
                (3, vec![codes::CONTENT_REQUIRED]),
                (4, vec![]),
                (5, vec![codes::DATE_INVALID]),
                (6, vec![]),
            ]
        );
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6, 7].map(Some)
        );
        let first = rows[0].result.as_ref().unwrap();
        assert_eq!(first.tags(), ["rust", "go"]);
        assert_eq!(first.project(), Some("AR"));
        assert_eq!(first.outcome(), None);
        assert_eq!(rows[1].result.as_ref().unwrap().title(), "second");
        assert_eq!(rows[3].result.as_ref().unwrap().tags(), ["a", "b"]);
        assert_eq!(
            rows[5].result.as_ref().unwrap().content(),
            "multi\nline \"quoted\""
        );
    }

    #[test]
    fn csv_header_rules() {
        let err =
            parse_import(ImportFormat::Csv, "date,text\n2024-01-01,x\n", today()).unwrap_err();
        assert_eq!(err.code(), "import_missing_content_column");
        assert!(err.to_string().contains("date, text"), "{err}");
        let err = parse_import(ImportFormat::Csv, "content,CONTENT\nx,y\n", today()).unwrap_err();
        assert_eq!(err, ImportError::DuplicateColumn("content".into()));
        assert_eq!(
            parse_import(ImportFormat::Csv, "content,date\n", today()).unwrap_err(),
            ImportError::NoEntries(ImportFormat::Csv)
        );
        // Any column order, a BOM, CRLF line ends, short rows, and an `impact` alias.
        let rows = parse_import(
            ImportFormat::Csv,
            "\u{feff} Impact ;x,content,DATE\r\nbig;,body,2024-03-01\r\n,only content\r\n",
            today(),
        );
        // "Impact ;x" isn't a known column, so it's ignored.
        let rows = rows.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].result.as_ref().unwrap().outcome(), None);
        assert_eq!(rows[1].result.as_ref().unwrap().date(), today());
        let rows = parse_import(ImportFormat::Csv, "impact,content\nbig,body\n", today()).unwrap();
        assert_eq!(rows[0].result.as_ref().unwrap().outcome(), Some("big"));
    }

    #[test]
    fn csv_with_semicolon_or_tab_delimiters() {
        let rows = parse_import(
            ImportFormat::Csv,
            "date;content;tags\n2024-03-01;\"a, b\";\"x;y\"\n",
            today(),
        )
        .unwrap();
        let e = rows[0].result.as_ref().unwrap();
        assert_eq!(
            (e.content(), e.tags()),
            ("a, b", &["x".to_string(), "y".to_string()][..])
        );
        let rows = parse_import(ImportFormat::Csv, "content\ttags\nbody\trust\n", today()).unwrap();
        assert_eq!(rows[0].result.as_ref().unwrap().tags(), ["rust"]);
    }

    #[test]
    fn csv_formula_guard_is_removed_on_import() {
        let rows = parse_import(
            ImportFormat::Csv,
            "content,title\n'=SUM(A1),'- dash\n'tis fine,'@x\n",
            today(),
        )
        .unwrap();
        let first = rows[0].result.as_ref().unwrap();
        assert_eq!((first.content(), first.title()), ("=SUM(A1)", "- dash"));
        let second = rows[1].result.as_ref().unwrap();
        assert_eq!((second.content(), second.title()), ("'tis fine", "@x"));
    }

    #[test]
    fn json_array_or_entries_object_with_export_fields_ignored() {
        let json = r##"[
            {"id": "e1", "author_id": "u1", "created_at": "2024-01-01T00:00:00Z", "version": 3,
             "date": "2024-03-01", "title": null, "content": "a", "tags": ["X", "#y"], "outcome": null, "project": ""},
            {"content": "b", "tags": "p; q"}
        ]"##;
        let rows = parse_import(ImportFormat::Json, json, today()).unwrap();
        assert_eq!(rows.len(), 2);
        let a = rows[0].result.as_ref().unwrap();
        assert_eq!(
            (a.title(), a.tags(), a.project()),
            ("a", &["x".to_string(), "y".to_string()][..], None)
        );
        assert_eq!(rows[1].result.as_ref().unwrap().tags(), ["p", "q"]);
        assert_eq!(rows[1].line, None);

        let wrapped = r#"{"entries": [{"content": "c"}], "exported_at": "x"}"#;
        assert_eq!(
            parse_import(ImportFormat::Json, wrapped, today())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn json_per_row_errors() {
        let json = r#"[{"content": 5}, "text", {"content": "ok", "tags": ["a", 1]}, {"content": "", "date": "2099-01-01"}, {"content": "fine"}]"#;
        let rows = parse_import(ImportFormat::Json, json, today()).unwrap();
        assert_eq!(
            codes_by_row(&rows),
            [
                (1, vec![codes::WRONG_TYPE]),
                (2, vec![codes::ENTRY_INVALID]),
                (3, vec![codes::WRONG_TYPE]),
                (4, vec![codes::DATE_IN_FUTURE, codes::CONTENT_REQUIRED]),
                (5, vec![]),
            ]
        );
    }

    #[test]
    fn whole_file_json_errors() {
        let err = parse_import(ImportFormat::Json, "[{\"content\": \"a\",]", today()).unwrap_err();
        assert!(
            matches!(err, ImportError::InvalidJson { line: 1, .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "import_invalid_json");
        assert!(
            !err.to_string().contains(" at line 1"),
            "position isn't repeated: {err}"
        );
        assert_eq!(
            parse_import(ImportFormat::Json, "date,content\n", today())
                .unwrap_err()
                .code(),
            "import_invalid_json"
        );
        assert_eq!(
            parse_import(ImportFormat::Json, "{\"items\": []}", today()).unwrap_err(),
            ImportError::UnexpectedJsonShape
        );
        assert_eq!(
            parse_import(ImportFormat::Json, "42", today()).unwrap_err(),
            ImportError::UnexpectedJsonShape
        );
        assert_eq!(
            parse_import(ImportFormat::Json, "[]", today()).unwrap_err(),
            ImportError::NoEntries(ImportFormat::Json)
        );
        for format in [
            ImportFormat::Json,
            ImportFormat::Csv,
            ImportFormat::Markdown,
        ] {
            assert_eq!(
                parse_import(format, "\u{feff} \n\t", today()).unwrap_err(),
                ImportError::Empty
            );
            assert_eq!(
                parse_import(format, "", today()).unwrap_err(),
                ImportError::Empty
            );
        }
        assert_eq!(
            parse_import(
                ImportFormat::Markdown,
                "# Work log\n\nNothing yet.\n",
                today()
            )
            .unwrap_err(),
            ImportError::NoEntries(ImportFormat::Markdown)
        );
        // The message shows what each format expects, and the example is itself a file
        // of that format with one entry.
        for format in [
            ImportFormat::Json,
            ImportFormat::Csv,
            ImportFormat::Markdown,
        ] {
            let message = ImportError::NoEntries(format).to_string();
            let example = example_of(format);
            assert!(message.ends_with(example), "{message}");
            let sample = example
                .split_once(", e.g.")
                .map(|(_, s)| s.trim_start_matches(['\n', ' ']).trim_end_matches('.'))
                .unwrap();
            let later = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
            let rows = parse_import(format, sample, later).unwrap();
            assert_eq!(rows.len(), 1, "{format}: {sample}");
            assert!(rows[0].result.is_ok(), "{format}: {:?}", rows[0].result);
        }
    }

    #[test]
    fn row_limit_is_enforced_for_every_format() {
        let n = MAX_IMPORT_ROWS + 1;
        let json = format!("[{}]", vec![r#"{"content":"x"}"#; n].join(","));
        let csv = format!("content\n{}", "x\n".repeat(n));
        let md = format!("## 2024-03-01\n{}", "- x\n".repeat(n));
        for (format, text) in [
            (ImportFormat::Json, json),
            (ImportFormat::Csv, csv),
            (ImportFormat::Markdown, md),
        ] {
            let err = parse_import(format, &text, today()).unwrap_err();
            assert_eq!(
                err,
                ImportError::TooManyRows {
                    max: MAX_IMPORT_ROWS
                },
                "{format}"
            );
            assert!(err.to_string().contains("5,000"), "{err}");
        }
        let ok = format!("content\n{}", "x\n".repeat(MAX_IMPORT_ROWS));
        assert_eq!(
            parse_import(ImportFormat::Csv, &ok, today()).unwrap().len(),
            MAX_IMPORT_ROWS
        );
    }

    fn entry(content: &str) -> ValidEntry {
        validate(
            EntryDraft {
                date: Some("2024-03-01".into()),
                content: Some(content.into()),
                tags: Some(vec!["b".into(), "a".into()]),
                ..EntryDraft::default()
            },
            today(),
        )
        .unwrap()
    }

    #[test]
    fn import_key_is_stable_and_discriminating() {
        let key = import_key(&entry("line one\nline two"));
        assert_eq!(key.len(), 64);
        assert!(key
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(
            import_key(&entry("line one\r\nline two")),
            key,
            "CRLF vs LF"
        );
        assert_eq!(
            import_key(&entry("line one   \nline two\t")),
            key,
            "trailing whitespace"
        );
        assert_ne!(
            import_key(&entry("line one\nline three")),
            key,
            "different content"
        );
        assert_ne!(
            import_key(&entry("line one\n\nline two")),
            key,
            "blank line added"
        );

        let reordered = validate(
            EntryDraft {
                tags: Some(vec!["a".into(), "b".into()]),
                ..entry("line one\nline two").to_draft()
            },
            today(),
        )
        .unwrap();
        assert_eq!(import_key(&reordered), key, "tag order doesn't matter");

        let with_project = validate(
            EntryDraft {
                project: Some("p".into()),
                ..entry("line one\nline two").to_draft()
            },
            today(),
        )
        .unwrap();
        assert_ne!(import_key(&with_project), key);
    }

    #[test]
    fn keys_separate_field_boundaries() {
        let a = validate(
            EntryDraft {
                title: Some("ab".into()),
                content: Some("c".into()),
                ..Default::default()
            },
            today(),
        )
        .unwrap();
        let b = validate(
            EntryDraft {
                title: Some("a".into()),
                content: Some("bc".into()),
                ..Default::default()
            },
            today(),
        )
        .unwrap();
        assert_ne!(import_key(&a), import_key(&b));
    }

    #[test]
    fn same_file_twice_gives_same_keys_and_no_new_rows() {
        let csv = "date,content,tags\n2024-03-01,a,x\n2024-03-02,b,\n2024-03-02,b,\n2024-03-03,,\n";
        let first = parse_import(ImportFormat::Csv, csv, today()).unwrap();
        let again = parse_import(ImportFormat::Csv, &csv.replace('\n', "\r\n"), today()).unwrap();
        let keys: Vec<_> = first.iter().map(ImportRow::key).collect();
        assert_eq!(keys, again.iter().map(ImportRow::key).collect::<Vec<_>>());

        let plan = plan_import(&first, "author-1", &HashSet::new());
        assert_eq!(plan.new.iter().map(|p| p.row).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(plan.duplicates.len(), 1);
        assert_eq!(
            (plan.duplicates[0].row, plan.duplicates[0].same_as_row),
            (3, Some(2))
        );
        assert_eq!(plan.invalid, [4]);

        let stored: HashSet<String> = plan.new.iter().map(|p| p.key.clone()).collect();
        let second = plan_import(&again, "author-1", &stored);
        assert!(second.new.is_empty());
        assert_eq!(
            second
                .duplicates
                .iter()
                .map(|d| (d.row, d.same_as_row))
                .collect::<Vec<_>>(),
            [(1, None), (2, None), (3, None)]
        );
    }

    #[test]
    fn keys_are_scoped_to_their_author_and_bare_keys_still_match() {
        let csv = "date,content\n2024-03-01,a\n2024-03-02,b\n";
        let rows = parse_import(ImportFormat::Csv, csv, today()).unwrap();
        let first = plan_import(&rows, "author-1", &HashSet::new());
        let stored: HashSet<String> = first.new.iter().map(|p| p.key.clone()).collect();
        // A colleague importing the same file creates their own entries.
        let colleague = plan_import(&rows, "author-2", &stored);
        assert_eq!(colleague.new.len(), 2);
        assert!(colleague.duplicates.is_empty());
        // A bare content key (an import from before keys had an author) still matches.
        let bare: HashSet<String> = rows.iter().filter_map(ImportRow::key).take(1).collect();
        let legacy = plan_import(&rows, "author-1", &bare);
        let flags: Vec<_> = legacy.valid_rows().iter().map(|v| (v.0, v.2)).collect();
        assert_eq!(flags, [(1, true), (2, false)]);
    }
}
