//! Export renderers for JSON, CSV and Markdown, in pieces that can be streamed.
//!
//! An export is `header()`, then `row(entry, i)` for each entry in order, then `footer()`,
//! concatenated. The caller loads and filters the rows (a page at a time if it likes) and
//! writes each piece to the response as it is produced, so memory stays flat however many
//! entries there are.
//!
//! - **JSON**: a JSON array of [`ExportEntry`] objects, one per line.
//! - **CSV**: RFC 4180 (quoted where needed, CRLF row ends) with the columns
//!   [`CSV_COLUMNS`]; tags joined with `;`. A cell that a spreadsheet would run as a
//!   formula (starting with `=`, `+`, `-`, `@`, tab or CR, after any `'`s) gets a leading
//!   `'`, and the CSV import removes exactly that `'`, so the guard is invisible to a round
//!   trip.
//! - **Markdown**: the dialect in [`super::markdown`]; a `## YYYY-MM-DD` heading is written
//!   whenever a row's date differs from the previous row's, so pass rows sorted by date
//!   (ascending) to get one heading per day. Markdown carries the entry fields only, not
//!   ids, authors or timestamps.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::entry::ValidEntry;
use super::import::UnknownFormat;
use super::markdown::render_entry;

/// A file format an export can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// A JSON array.
    Json,
    /// CSV with a header row.
    Csv,
    /// The Markdown work-log dialect.
    Markdown,
}

impl ExportFormat {
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

    /// The `Content-Type` to serve the export with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Markdown => "text/markdown; charset=utf-8",
        }
    }

    /// The file extension (without the dot) for the download's name.
    pub fn file_extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Markdown => "md",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored entry as exported (JSON field names are these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportEntry {
    /// Entry id.
    pub id: String,
    /// Calendar day.
    pub date: NaiveDate,
    /// Title.
    pub title: String,
    /// Markdown content.
    pub content: String,
    /// Normalised tags.
    pub tags: Vec<String>,
    /// Outcome / impact.
    pub outcome: Option<String>,
    /// Project name.
    pub project: Option<String>,
    /// Id of the user who wrote it.
    pub author_id: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl ExportEntry {
    /// Combines a validated entry with its storage metadata.
    pub fn from_valid(
        entry: &ValidEntry,
        id: impl Into<String>,
        author_id: impl Into<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        version: u64,
    ) -> Self {
        Self {
            id: id.into(),
            date: entry.date(),
            title: entry.title().to_owned(),
            content: entry.content().to_owned(),
            tags: entry.tags().to_vec(),
            outcome: entry.outcome().map(str::to_owned),
            project: entry.project().map(str::to_owned),
            author_id: author_id.into(),
            created_at,
            updated_at,
            version,
        }
    }
}

/// CSV header: the importable columns first, then the metadata the import ignores.
pub const CSV_COLUMNS: [&str; 11] = [
    "date",
    "title",
    "content",
    "tags",
    "outcome",
    "project",
    "id",
    "author_id",
    "created_at",
    "updated_at",
    "version",
];

/// Separator between tags inside the CSV `tags` cell (the import also accepts `,`).
pub const CSV_TAG_SEPARATOR: &str = ";";

/// A row couldn't be encoded (not expected with well-formed entries, but surfaced rather
/// than hidden so a stream can abort cleanly).
#[derive(Debug, thiserror::Error)]
#[error("Entry {id} couldn't be written as {format}: {detail}")]
pub struct ExportError {
    /// The entry's id.
    pub id: String,
    /// The format being written.
    pub format: ExportFormat,
    /// What went wrong.
    pub detail: String,
}

/// Writes one export, piece by piece; create one per download.
#[derive(Debug, Clone)]
pub struct Exporter {
    format: ExportFormat,
    /// Markdown only: the date of the previous row, to know when to start a new day.
    previous_date: Option<NaiveDate>,
}

impl Exporter {
    /// An exporter for `format`.
    pub fn new(format: ExportFormat) -> Self {
        Self {
            format,
            previous_date: None,
        }
    }

    /// The format being written.
    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// The `Content-Type` to serve the export with.
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    /// The file extension (without the dot) for the download's name.
    pub fn file_extension(&self) -> &'static str {
        self.format.file_extension()
    }

    /// The text before the first row.
    pub fn header(&self) -> String {
        match self.format {
            ExportFormat::Json => "[\n".to_owned(),
            ExportFormat::Csv => {
                let mut line = CSV_COLUMNS.join(",");
                line.push_str("\r\n");
                line
            }
            ExportFormat::Markdown => "# Work log\n".to_owned(),
        }
    }

    /// The text for one row; `index` is 0 for the first row (JSON needs it for commas).
    pub fn row(&mut self, entry: &ExportEntry, index: usize) -> Result<String, ExportError> {
        match self.format {
            ExportFormat::Json => {
                let object = serde_json::to_string(entry).map_err(|e| self.error(entry, e))?;
                Ok(if index == 0 {
                    object
                } else {
                    format!(",\n{object}")
                })
            }
            ExportFormat::Csv => self.csv_row(entry),
            ExportFormat::Markdown => Ok(self.markdown_row(entry)),
        }
    }

    /// The text after the last row.
    pub fn footer(&self) -> String {
        match self.format {
            ExportFormat::Json => "\n]\n".to_owned(),
            ExportFormat::Csv | ExportFormat::Markdown => String::new(),
        }
    }

    fn error(&self, entry: &ExportEntry, detail: impl fmt::Display) -> ExportError {
        ExportError {
            id: entry.id.clone(),
            format: self.format,
            detail: detail.to_string(),
        }
    }

    fn csv_row(&self, entry: &ExportEntry) -> Result<String, ExportError> {
        let date = entry.date.to_string();
        let tags = entry.tags.join(CSV_TAG_SEPARATOR);
        let created = entry
            .created_at
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let updated = entry
            .updated_at
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let version = entry.version.to_string();
        let cells = [
            date.as_str(),
            entry.title.as_str(),
            entry.content.as_str(),
            tags.as_str(),
            entry.outcome.as_deref().unwrap_or_default(),
            entry.project.as_deref().unwrap_or_default(),
            entry.id.as_str(),
            entry.author_id.as_str(),
            created.as_str(),
            updated.as_str(),
            version.as_str(),
        ];
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(entry.content.len() + 256));
        let escaped: Vec<_> = cells.iter().map(|cell| escape_formula(cell)).collect();
        writer
            .write_record(escaped.iter().map(|cell| cell.as_bytes()))
            .map_err(|e| self.error(entry, e))?;
        let bytes = writer.into_inner().map_err(|e| self.error(entry, e))?;
        String::from_utf8(bytes).map_err(|e| self.error(entry, e))
    }

    fn markdown_row(&mut self, entry: &ExportEntry) -> String {
        let mut out = String::new();
        if self.previous_date == Some(entry.date) {
            out.push('\n');
        } else {
            out.push_str(&format!("\n## {}\n\n", entry.date));
            self.previous_date = Some(entry.date);
        }
        out.push_str(&render_entry(
            &entry.title,
            &entry.content,
            &entry.tags,
            entry.outcome.as_deref(),
            entry.project.as_deref(),
        ));
        out
    }
}

/// Renders a whole export into one string (small exports, tests).
pub fn export_all(format: ExportFormat, entries: &[ExportEntry]) -> Result<String, ExportError> {
    let mut exporter = Exporter::new(format);
    let mut out = exporter.header();
    for (index, entry) in entries.iter().enumerate() {
        out.push_str(&exporter.row(entry, index)?);
    }
    out.push_str(&exporter.footer());
    Ok(out)
}

/// Whether a spreadsheet would treat the cell as a formula once leading `'`s are removed.
fn formula_like(cell: &str) -> bool {
    cell.trim_start_matches('\'')
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Prefixes `'` to cells a spreadsheet would run as formulas (CSV injection guard).
pub(super) fn escape_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes [`escape_formula`]: removes one `'` only where the exporter would have added it,
/// so hand-written cells like `'tis` are left alone.
pub(super) fn unescape_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::super::entry::{validate, EntryDraft};
    use super::*;
    use chrono::TimeZone;

    fn sample(date: &str, content: &str) -> ExportEntry {
        let entry = validate(
            EntryDraft {
                date: Some(date.into()),
                content: Some(content.into()),
                tags: Some(vec!["rust".into(), "c#".into()]),
                outcome: Some("Shipped".into()),
                ..EntryDraft::default()
            },
            NaiveDate::from_ymd_opt(2024, 3, 20).unwrap(),
        )
        .unwrap();
        let at = Utc.with_ymd_and_hms(2024, 3, 1, 9, 30, 0).unwrap();
        ExportEntry::from_valid(&entry, "e-1", "u-1", at, at, 2)
    }

    #[test]
    fn format_names_types_and_extensions() {
        assert_eq!(ExportFormat::parse("MD"), Ok(ExportFormat::Markdown));
        assert!(ExportFormat::parse("pdf").is_err());
        let e = Exporter::new(ExportFormat::Csv);
        assert_eq!(
            (e.content_type(), e.file_extension()),
            ("text/csv; charset=utf-8", "csv")
        );
        assert_eq!(ExportFormat::Json.content_type(), "application/json");
        assert_eq!(ExportFormat::Markdown.file_extension(), "md");
    }

    #[test]
    fn json_pieces_concatenate_to_an_array() {
        let entries = [sample("2024-03-01", "a"), sample("2024-03-02", "b")];
        let text = export_all(ExportFormat::Json, &entries).unwrap();
        let parsed: Vec<ExportEntry> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, entries);
        let empty = export_all(ExportFormat::Json, &[]).unwrap();
        assert_eq!(
            serde_json::from_str::<Vec<ExportEntry>>(&empty).unwrap(),
            []
        );
    }

    #[test]
    fn csv_row_layout_and_quoting() {
        let mut e = sample("2024-03-01", "say \"hi\", then\nleave");
        e.project = None;
        let text = export_all(ExportFormat::Csv, &[e]).unwrap();
        assert_eq!(
            text,
            "date,title,content,tags,outcome,project,id,author_id,created_at,updated_at,version\r\n\
             2024-03-01,\"say \"\"hi\"\", then\",\"say \"\"hi\"\", then\nleave\",rust;c#,Shipped,,e-1,u-1,2024-03-01T09:30:00Z,2024-03-01T09:30:00Z,2\r\n"
        );
    }

    #[test]
    fn csv_formula_cells_are_defused_reversibly() {
        for cell in ["=1+1", "+1", "-x", "@SUM", "\tx", "'=x", "''-x"] {
            let escaped = escape_formula(cell);
            assert!(escaped.starts_with('\''), "{cell:?}");
            assert_eq!(unescape_formula(&escaped), cell);
        }
        for cell in ["plain", "'tis", "x=1", "", "'"] {
            assert_eq!(escape_formula(cell), cell);
            assert_eq!(unescape_formula(cell), cell);
        }
    }

    #[test]
    fn markdown_starts_a_day_heading_when_the_date_changes() {
        let entries = [
            sample("2024-03-01", "one"),
            sample("2024-03-01", "two"),
            sample("2024-03-02", "three"),
            sample("2024-03-01", "late"),
        ];
        let text = export_all(ExportFormat::Markdown, &entries).unwrap();
        assert_eq!(
            text,
            "# Work log\n\n## 2024-03-01\n\n- one\n  Tags: #rust #c#\n  Outcome: Shipped\n\n- two\n  Tags: #rust #c#\n  Outcome: Shipped\n\n## 2024-03-02\n\n- three\n  Tags: #rust #c#\n  Outcome: Shipped\n\n## 2024-03-01\n\n- late\n  Tags: #rust #c#\n  Outcome: Shipped\n"
        );
    }
}
