//! `/api/worklogs`, `/api/artifacts`: the daily work log, its evidence attachments,
//! search, import and export.

use super::ai::{accepted, Accepted};
use super::download::{ExportTypes, File};
use super::schema::{
    date_range, DateParam, Day, Documented, Id, IsoDate, Limit, NonBlank, RequiredNonBlank,
    WorklogCursorParam,
};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem::Body;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::NoContent;
use super::security::{Authenticated, Writer};
use super::text::Text;
use super::Tag;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::imports::{self, Imported};
use crate::services::worklogs::{self as service, Cursor, EntryRow, Facet, ListFilter};
use crate::state::AppState;
use crate::worklog::entry;
use crate::worklog::{self, EntryDraft, EntryPatch, ExportFormat, ImportFormat};

/// A work-log entry.
#[derive(Object)]
pub struct Entry {
    pub id: String,
    pub author_id: String,
    /// The day it is about, in the author's time zone.
    pub date: Day,
    pub title: String,
    /// Markdown.
    pub content: String,
    pub tags: Vec<String>,
    /// The outcome or impact.
    #[oai(nullable)]
    pub outcome: Option<String>,
    #[oai(nullable)]
    pub project: Option<String>,
    /// Increases with every edit and attachment; send it back with `PATCH`.
    pub version: u32,
    pub attachment_count: u32,
    /// What `POST /api/worklogs/{id}/analyze` found, for the current version.
    #[oai(nullable)]
    pub analysis: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Relevance, when listed with `q`.
    #[oai(nullable)]
    pub score: Option<f64>,
}

impl From<EntryRow> for Entry {
    fn from(r: EntryRow) -> Self {
        Self {
            date: r.date.into(),
            id: r.id,
            author_id: r.author_id,
            title: r.title,
            content: r.content,
            tags: r.tags,
            outcome: r.outcome,
            project: r.project,
            version: r.version,
            attachment_count: r.attachment_count,
            analysis: r.analysis,
            created_at: r.created_at,
            updated_at: r.updated_at,
            score: r.score,
        }
    }
}

/// A new entry. Only `content` is required.
#[derive(Object)]
pub struct CreateEntry {
    /// `YYYY-MM-DD`; default today in your time zone. At most a day ahead.
    #[oai(nullable)]
    pub date: Option<Documented<Text, IsoDate>>,
    /// At most 200 characters (after trimming); default: the first line of `content`.
    #[oai(nullable)]
    pub title: Option<Text>,
    /// Markdown, 1–20,000 characters (counted after trimming), not only white space.
    pub content: Documented<Option<Text>, RequiredNonBlank>,
    /// Up to 20 distinct tags of up to 40 characters each, counted after they are
    /// trimmed, stripped of `#`, lower-cased and de-duplicated (empty ones are dropped).
    #[oai(nullable)]
    pub tags: Option<Vec<Text>>,
    /// What came of it, at most 5,000 characters (after trimming).
    #[oai(nullable)]
    pub outcome: Option<Text>,
    /// The project it belongs to, at most 100 characters (after trimming).
    #[oai(nullable)]
    pub project: Option<Text>,
}

/// Changes to an entry; absent fields stay, `null` clears `title`, `outcome`, `project`.
#[derive(Object)]
pub struct UpdateEntry {
    /// The version you edited (from `GET`); a newer one on the server is a 409.
    pub version: u32,
    /// `YYYY-MM-DD`, at most a day ahead.
    #[oai(nullable)]
    pub date: Option<Documented<Text, IsoDate>>,
    #[oai(nullable)]
    pub title: MaybeUndefined<Text>,
    /// Markdown, 1–20,000 characters (counted after trimming), not only white space.
    #[oai(nullable)]
    pub content: Option<Documented<Text, NonBlank>>,
    /// Replaces the tags (same rules as on create).
    #[oai(nullable)]
    pub tags: Option<Vec<Text>>,
    #[oai(nullable)]
    pub outcome: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub project: MaybeUndefined<Text>,
}

#[derive(Object)]
pub struct EntryPage {
    pub items: Vec<Entry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    /// Entries matching the filters (all pages).
    pub total: u64,
}

#[derive(Object)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Object)]
pub struct FacetList {
    pub items: Vec<FacetCount>,
}

impl From<Vec<Facet>> for FacetList {
    fn from(facets: Vec<Facet>) -> Self {
        Self {
            items: facets
                .into_iter()
                .map(|f| FacetCount {
                    value: f.value,
                    count: f.count,
                })
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
pub enum CreatedEntry {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Entry>),
}

/// Import and export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum FileFormat {
    Json,
    Csv,
    Markdown,
}

impl From<FileFormat> for ImportFormat {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Json => ImportFormat::Json,
            FileFormat::Csv => ImportFormat::Csv,
            FileFormat::Markdown => ImportFormat::Markdown,
        }
    }
}

impl From<FileFormat> for ExportFormat {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Json => ExportFormat::Json,
            FileFormat::Csv => ExportFormat::Csv,
            FileFormat::Markdown => ExportFormat::Markdown,
        }
    }
}

/// One problem with one imported row.
#[derive(Object)]
pub struct ImportIssue {
    /// 1-based record number in the file.
    pub row: u64,
    /// Source line, where known.
    #[oai(nullable)]
    pub line: Option<u64>,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// A parsed row, as it would be (or was) stored.
#[derive(Object)]
pub struct ImportPreview {
    pub row: u64,
    pub date: Day,
    pub title: String,
    pub content: String,
    pub tags: Vec<String>,
    #[oai(nullable)]
    pub outcome: Option<String>,
    #[oai(nullable)]
    pub project: Option<String>,
    /// Already in your log (an earlier import of the same row): it is skipped.
    pub duplicate: bool,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Object)]
pub struct ImportReport {
    pub dry_run: bool,
    pub format: FileFormat,
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Rows already present (same date, title, content, tags, outcome, project).
    pub duplicates: u64,
    /// Entries created (0 on a dry run).
    pub created: u64,
    pub errors: Vec<ImportIssue>,
    /// The parsed valid rows (at most 200).
    pub preview: Vec<ImportPreview>,
}

impl ImportReport {
    /// The report of an import: every row's problems, and a preview of the first 200
    /// valid rows in file order.
    fn new(done: Imported, format: FileFormat, dry_run: bool) -> Self {
        let valid = done.plan.valid_rows();
        let errors = done
            .rows
            .iter()
            .flat_map(|row| {
                let errs = row.result.as_ref().err().map(Vec::as_slice).unwrap_or(&[]);
                errs.iter().map(|e| ImportIssue {
                    row: row.row as u64,
                    line: row.line.map(|l| l as u64),
                    field: e.field.to_string(),
                    code: e.code.to_string(),
                    message: e.message.clone(),
                })
            })
            .collect();
        let preview = valid
            .iter()
            .take(200)
            .map(|(row, v, duplicate)| ImportPreview {
                row: *row as u64,
                date: v.date().into(),
                title: v.title().to_string(),
                content: v.content().to_string(),
                tags: v.tags().to_vec(),
                outcome: v.outcome().map(str::to_string),
                project: v.project().map(str::to_string),
                duplicate: *duplicate,
            })
            .collect();
        Self {
            dry_run,
            format,
            rows: done.rows.len() as u64,
            valid: valid.len() as u64,
            invalid: (done.rows.len() - valid.len()) as u64,
            duplicates: done.plan.duplicates.len() as u64 + done.raced,
            created: done.created,
            errors,
            preview,
        }
    }
}

fn text(t: Option<Text>) -> Option<String> {
    t.map(Text::into_string)
}

fn doc<R>(t: Option<Documented<Text, R>>) -> Option<String> {
    t.map(|t| t.0.into_string())
}

fn maybe(t: MaybeUndefined<Text>) -> Option<Option<String>> {
    match t {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v.into_string())),
    }
}

/// A body's `date`: absent means the default, but a blank string is not a date (the
/// document declares `format: date`).
fn date_of(d: Option<Documented<Text, IsoDate>>) -> ApiResult<Option<String>> {
    match doc(d) {
        Some(raw) if raw.trim().is_empty() => match entry::parse_date(&raw) {
            Err(e) => Err(vec![e].into()),
            Ok(_) => Ok(Some(raw)),
        },
        other => Ok(other),
    }
}

fn filter_of(
    from: Option<DateParam>,
    to: Option<DateParam>,
    tag: Option<String>,
    project: Option<String>,
    author: Option<String>,
    q: Option<String>,
) -> ApiResult<ListFilter> {
    let range = date_range(from, to)?;
    let f = ListFilter {
        from: range.from(),
        to: range.to(),
        tag: tag
            .map(|t| t.trim().trim_start_matches('#').to_lowercase())
            .filter(|t| !t.is_empty()),
        project: project
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty()),
        author_id: author.filter(|a| !a.is_empty()),
        q: q.map(|q| q.trim().to_string()).filter(|q| !q.is_empty()),
    };
    if f.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "q must be at most 200 characters",
        ));
    }
    Ok(f)
}

pub struct WorklogsApi;

#[OpenApi(tag = "Tag::Worklogs")]
impl WorklogsApi {
    /// Log work. Queues the reward evaluation of the new entry.
    #[oai(path = "/worklogs", method = "post", operation_id = "worklog_create")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<CreateEntry>,
    ) -> ApiResult<CreatedEntry> {
        let b = body.0;
        let draft = EntryDraft {
            date: date_of(b.date)?,
            title: text(b.title),
            content: text(b.content.0),
            tags: b
                .tags
                .map(|t| t.into_iter().map(Text::into_string).collect()),
            outcome: text(b.outcome),
            project: text(b.project),
        };
        let row = service::create(&state, &auth.0, draft).await?;
        Ok(CreatedEntry::Created(Json(row.into())))
    }

    /// Your workspace's log: newest day first, filterable; with `q`, ranked by relevance.
    #[allow(clippy::too_many_arguments)] // one parameter per filter
    #[oai(path = "/worklogs", method = "get", operation_id = "worklog_list")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// First day (inclusive), `YYYY-MM-DD`.
        from: Query<Option<DateParam>>,
        /// Last day (inclusive), `YYYY-MM-DD`.
        to: Query<Option<DateParam>>,
        /// Only entries with this tag (`#` and case are ignored).
        tag: Query<Option<String>>,
        /// Only entries of this project.
        project: Query<Option<String>>,
        /// Only this author's entries (a user id).
        author: Query<Option<String>>,
        /// Full-text search over title, content and outcome (stemmed: "deploying" finds
        /// "deployed").
        q: Query<Option<String>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<WorklogCursorParam>>,
        /// 1–200, default 50.
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<EntryPage>> {
        let f = filter_of(from.0, to.0, tag.0, project.0, author.0, q.0)?;
        let limit = limit.0.map(Limit::into_inner).unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::validation("limit must be between 1 and 200"));
        }
        let cursor = match cursor.0.map(|c| c.0).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(Cursor::decode(&c).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidParameter, "cursor is not valid")
            })?),
        };
        let page = service::page(&state, &auth.0, &f, cursor.as_ref(), limit).await?;
        Ok(Json(EntryPage {
            items: page.rows.into_iter().map(Into::into).collect(),
            next_cursor: page.next.map(|c| c.encode()),
            total: page.total.unwrap_or_default(),
        }))
    }

    /// Tags in use, with how many entries carry each.
    #[oai(path = "/worklogs/tags", method = "get", operation_id = "worklog_tags")]
    async fn tags(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<FacetList>> {
        let facets = service::tags(&state, &auth.0).await?;
        Ok(Json(facets.into()))
    }

    /// Projects in use, with how many entries each.
    #[oai(
        path = "/worklogs/projects",
        method = "get",
        operation_id = "worklog_projects"
    )]
    async fn projects(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
    ) -> ApiResult<Json<FacetList>> {
        let facets = service::projects(&state, &auth.0).await?;
        Ok(Json(facets.into()))
    }

    /// Download the log (filters as for the list) as JSON, CSV or Markdown, streamed.
    #[allow(clippy::too_many_arguments)] // one parameter per filter
    #[oai(
        path = "/worklogs/export",
        method = "get",
        operation_id = "worklog_export"
    )]
    async fn export(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// `json` (default), `csv` or `markdown`.
        format: Query<Option<FileFormat>>,
        /// First day (inclusive), `YYYY-MM-DD`.
        from: Query<Option<DateParam>>,
        /// Last day (inclusive), `YYYY-MM-DD`.
        to: Query<Option<DateParam>>,
        /// Only entries with this tag (`#` and case are ignored).
        tag: Query<Option<String>>,
        /// Only entries of this project.
        project: Query<Option<String>>,
        /// Only this author's entries (a user id).
        author: Query<Option<String>>,
        /// Full-text search, as for the list.
        q: Query<Option<String>>,
    ) -> ApiResult<File<ExportTypes>> {
        let f = filter_of(from.0, to.0, tag.0, project.0, author.0, q.0)?;
        let exporter = worklog::Exporter::new(format.0.unwrap_or(FileFormat::Json).into());
        let content_type = exporter.content_type().to_string();
        let today = service::today_for(&auth.0).to_string();
        let name = worklog::document_filename(&["worklog", &today], exporter.file_extension());
        let stream = service::export(&state, &auth.0, f, exporter).await?;
        Ok(File::new(
            Body::from_bytes_stream(stream),
            &content_type,
            worklog::content_disposition(&name),
        ))
    }

    /// Import entries from JSON, CSV or Markdown. With `dry_run=true` nothing is stored
    /// and the parsed rows and per-row errors come back. Rows already in the log (an
    /// earlier import of the same file) are skipped, so re-importing creates no
    /// duplicates. Imported entries earn no rewards: they are past work, not today's habit.
    #[oai(
        path = "/worklogs/import",
        method = "post",
        operation_id = "worklog_import"
    )]
    async fn import(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The file's format: `json`, `csv` or `markdown`.
        format: Query<FileFormat>,
        /// Parse and report without storing.
        dry_run: Query<Option<bool>>,
        body: Binary<Body>,
    ) -> ApiResult<Json<ImportReport>> {
        let limit = state.settings.quotas.import_max_bytes;
        let bytes = body.0.into_bytes_limit(limit).await.map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the import file is larger than {limit} bytes"),
            )
        })?;
        let dry_run = dry_run.0.unwrap_or(false);
        let done =
            imports::import(&state, &auth.0, format.0.into(), bytes.to_vec(), dry_run).await?;
        Ok(Json(ImportReport::new(done, format.0, dry_run)))
    }

    /// One entry.
    #[oai(path = "/worklogs/:id", method = "get", operation_id = "worklog_get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<Json<Entry>> {
        Ok(Json(service::entry(&state, &auth.0, &id).await?.into()))
    }

    /// Edit an entry. Send the `version` you read; if someone saved a newer one since,
    /// the answer is 409 and nothing changes. Queues the reward evaluation of the new
    /// version.
    #[oai(
        path = "/worklogs/:id",
        method = "patch",
        operation_id = "worklog_update"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The entry's id.
        id: Path<Id>,
        body: Json<UpdateEntry>,
    ) -> ApiResult<Json<Entry>> {
        let b = body.0;
        let patch = EntryPatch {
            date: date_of(b.date)?,
            title: maybe(b.title),
            content: doc(b.content),
            tags: b
                .tags
                .map(|t| t.into_iter().map(Text::into_string).collect()),
            outcome: maybe(b.outcome),
            project: maybe(b.project),
        };
        let row = service::update(&state, &auth.0, &id, b.version, patch).await?;
        Ok(Json(row.into()))
    }

    /// Delete an entry and its attachments.
    #[oai(
        path = "/worklogs/:id",
        method = "delete",
        operation_id = "worklog_delete"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        service::delete(&state, &auth.0, &id).await?;
        Ok(NoContent::Done)
    }
}

/// The entry analysis route, registered after the attachments' routes so the
/// document keeps its order (`/worklogs/{id}/analyze` after the files).
pub struct WorklogAnalysisApi;

#[OpenApi(tag = "Tag::Worklogs")]
impl WorklogAnalysisApi {
    /// Analyse an entry: a short summary, suggested tags, the detected outcome, and hints
    /// to make it better. The result lands on the entry's `analysis`.
    #[oai(
        path = "/worklogs/:id/analyze",
        method = "post",
        operation_id = "worklog_analyze"
    )]
    async fn analyze(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<Accepted> {
        accepted(&state, service::analyze(&state, &auth.0, &id).await?)
    }
}
