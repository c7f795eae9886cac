//! `/api/worklogs`, `/api/artifacts`: the daily work log, its evidence attachments,
//! search, import and export.

use super::ai::{ensure_llm_quota, start_job, valid_id, Accepted};
use super::download::{AttachmentTypes, ExportTypes, File};
use super::schema::{
    DateParam, Day, Documented, Id, IsoDate, Limit, NonBlank, RequiredNonBlank, WorklogCursorParam,
};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use poem::web::Data;
use poem::Body;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::NoContent;
use super::multipart::MultipartUpload;
use super::security::{Authenticated, Principal, Writer};
use super::text::Text;
use super::Tag;
use crate::artifacts::{ArtifactError, Artifacts};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldIssue};
use crate::state::AppState;
use crate::store::worklogs::{self as repo, Cursor, EntryFields, EntryRow, ListFilter};
use crate::store::TenantDb;
use crate::workflows::rewards::HeldReward;
use crate::worklog::entry;
use crate::worklog::{self, EntryDraft, EntryPatch, ExportFormat, ImportFormat, ValidEntry};

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

/// An evidence file attached to an entry.
#[derive(Object)]
pub struct AttachmentOut {
    pub id: String,
    pub entry_id: String,
    pub author_id: String,
    pub filename: String,
    /// Decided from the file's bytes, not from what the client said.
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub download_url: String,
}

impl From<repo::AttachmentRow> for AttachmentOut {
    fn from(a: repo::AttachmentRow) -> Self {
        Self {
            download_url: format!("/api/artifacts/{}/download", a.id),
            id: a.id,
            entry_id: a.entry_id,
            author_id: a.author_id,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            created_at: a.created_at,
        }
    }
}

#[derive(Object)]
pub struct AttachmentList {
    pub items: Vec<AttachmentOut>,
}

#[derive(ApiResponse)]
pub enum CreatedEntry {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Entry>),
}

#[derive(ApiResponse)]
pub enum CreatedAttachment {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<AttachmentOut>),
}

/// Import and export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum FileFormat {
    Json,
    Csv,
    Markdown,
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
            Err(e) => Err(issues(vec![e])),
            Ok(_) => Ok(Some(raw)),
        },
        other => Ok(other),
    }
}

fn issues(errors: Vec<worklog::FieldError>) -> ApiError {
    ApiError::fields(
        errors
            .into_iter()
            .map(|e| FieldIssue {
                field: e.field.to_string(),
                code: e.code.to_string(),
                message: e.message,
            })
            .collect(),
    )
}

fn fields(v: &ValidEntry) -> EntryFields {
    EntryFields {
        date: v.date(),
        title: v.title().to_string(),
        content: v.content().to_string(),
        tags: v.tags().to_vec(),
        outcome: v.outcome().map(str::to_string),
        project: v.project().map(str::to_string),
    }
}

/// A stored entry as a domain value (to apply a patch to).
fn valid_of(r: &EntryRow) -> ApiResult<ValidEntry> {
    ValidEntry::restore(
        r.date,
        r.title.clone(),
        r.content.clone(),
        r.tags.clone(),
        r.outcome.clone(),
        r.project.clone(),
    )
    .map_err(|errs| ApiError::internal(format!("stored entry {} is invalid: {errs:?}", r.id)))
}

/// Today in the caller's time zone (entries default to it; the future limit uses it).
fn today_for(p: &Principal) -> NaiveDate {
    Utc::now().with_timezone(&p.timezone).date_naive()
}

/// The entry `id` of the caller's tenant (404 otherwise).
async fn entry_of(db: &TenantDb, id: &str) -> ApiResult<EntryRow> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::not_found("entry"));
    }
    repo::get(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("entry"))
}

/// Members change only their own entries; admins and owners any in the tenant.
fn may_edit(p: &Principal, e: &EntryRow) -> ApiResult<()> {
    p.may_edit_content_of(&e.author_id)
}

/// Queues the reward evaluation of an entry version (idempotent per version).
async fn reward(state: &AppState, p: &Principal, e: &EntryRow) {
    if let Err(err) = crate::workflows::rewards::queue_evaluation(
        state,
        &p.tenant_id(),
        &p.user_id,
        &e.id,
        e.version,
        &e.author_id,
        None,
    )
    .await
    {
        // The entry is saved; a missed reward is logged, never a failed request.
        tracing::error!(error = %err, entry_id = %e.id, "reward evaluation not queued");
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
    let day = |name: &str, v: Option<String>| -> ApiResult<Option<NaiveDate>> {
        match v {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    ApiError::new(
                        ErrorCode::InvalidParameter,
                        format!("{name} must be a date like 2026-11-22"),
                    )
                }),
        }
    };
    let f = ListFilter {
        from: day("from", from.map(DateParam::into_inner))?,
        to: day("to", to.map(DateParam::into_inner))?,
        tag: tag
            .map(|t| t.trim().trim_start_matches('#').to_lowercase())
            .filter(|t| !t.is_empty()),
        project: project
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty()),
        author_id: author.filter(|a| !a.is_empty()),
        q: q.map(|q| q.trim().to_string()).filter(|q| !q.is_empty()),
    };
    if let (Some(a), Some(b)) = (f.from, f.to) {
        if a > b {
            return Err(ApiError::validation("from must not be after to"));
        }
    }
    if f.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "q must be at most 200 characters",
        ));
    }
    Ok(f)
}

fn disposition(filename: &str) -> String {
    worklog::content_disposition(filename)
}

fn artifact_error(e: ArtifactError) -> ApiError {
    match e {
        ArtifactError::TooLarge { limit } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the file is larger than the {limit}-byte limit"),
        ),
        ArtifactError::Empty => ApiError::validation("the file is empty"),
        ArtifactError::Rejected(why) => ApiError::new(ErrorCode::UnsupportedMediaType, why),
        ArtifactError::Client(why) => ApiError::new(ErrorCode::BadRequest, why),
        ArtifactError::NotFound => ApiError::not_found("file"),
        ArtifactError::Storage(e) => ApiError::internal(e),
    }
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
        let p = &auth.0;
        let b = body.0;
        let today = today_for(p);
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
        let valid = worklog::validate(draft, today).map_err(issues)?;
        let db = p.tenant_db(&state).await?;
        let quota = state.settings.quotas.entries_per_hour;
        let hour = chrono::Duration::hours(1);
        // 0 = no limit; otherwise the check reads at most `quota` index entries.
        let nth = match quota {
            0 => None,
            q => repo::nth_newest_created(&db, &p.user_id, q).await?,
        };
        if let Some(nth) = nth {
            // The quota frees up an hour after the `quota`-th newest entry.
            let wait = (nth + hour - Utc::now()).num_seconds();
            if wait >= 0 {
                let mut e = ApiError::new(
                    ErrorCode::QuotaExceeded,
                    format!(
                        "you can log at most {quota} entries per hour; try again in {} min",
                        wait / 60 + 1
                    ),
                );
                e.retry_after = Some(wait as u64 + 1);
                return Err(e);
            }
        }
        let id = crate::store::platform::new_id();
        let tenant = p.tenant_id();
        let held = HeldReward::hold(&state, &tenant, &p.user_id, &id, 1, &p.user_id).await;
        let row = match repo::create(&db, &id, &p.user_id, &fields(&valid), None).await {
            Ok(Some(row)) => row,
            other => {
                held.cancel(&state);
                return Err(match other {
                    Err(e) => e.into(),
                    _ => ApiError::internal("entry not created"),
                });
            }
        };
        held.release(&state);
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
        let db = auth.0.tenant_db(&state).await?;
        let page = repo::page(&db, &f, cursor.as_ref(), limit, true).await?;
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
        let db = auth.0.tenant_db(&state).await?;
        let items = repo::tag_facets(&db)
            .await?
            .into_iter()
            .map(|f| FacetCount {
                value: f.value,
                count: f.count,
            })
            .collect();
        Ok(Json(FacetList { items }))
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
        let db = auth.0.tenant_db(&state).await?;
        let items = repo::project_facets(&db)
            .await?
            .into_iter()
            .map(|f| FacetCount {
                value: f.value,
                count: f.count,
            })
            .collect();
        Ok(Json(FacetList { items }))
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
        let fmt = match format.0.unwrap_or(FileFormat::Json) {
            FileFormat::Json => ExportFormat::Json,
            FileFormat::Csv => ExportFormat::Csv,
            FileFormat::Markdown => ExportFormat::Markdown,
        };
        let exporter = worklog::Exporter::new(fmt);
        let db = auth.0.tenant_db(&state).await?;
        let content_type = exporter.content_type().to_string();
        let name = format!("worklog.{}", exporter.file_extension());
        let stream = export_stream(db, f, exporter);
        Ok(File::new(
            Body::from_bytes_stream(stream),
            &content_type,
            disposition(&name),
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
        let p = &auth.0;
        let limit = state.settings.quotas.import_max_bytes;
        let bytes = body.0.into_bytes_limit(limit).await.map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the import file is larger than {limit} bytes"),
            )
        })?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::validation("the import file must be UTF-8 text"))?;
        let fmt = match format.0 {
            FileFormat::Json => ImportFormat::Json,
            FileFormat::Csv => ImportFormat::Csv,
            FileFormat::Markdown => ImportFormat::Markdown,
        };
        let today = today_for(p);
        let rows = worklog::parse_import(fmt, &text, today).map_err(|e| {
            let mut err = ApiError::validation(e.to_string());
            err.details = Some(vec![FieldIssue {
                field: "file".into(),
                code: e.code().into(),
                message: e.to_string(),
            }]);
            err
        })?;
        let quotas = &state.settings.quotas;
        if rows.len() > quotas.import_max_rows {
            return Err(ApiError::validation(format!(
                "an import takes at most {} rows and this file has {}; split it",
                quotas.import_max_rows,
                rows.len()
            )));
        }
        // One import per user at a time, so the daily quota below can't be raced.
        let _slot = state
            .uploads
            .acquire(
                &[(format!("user {} (import)", p.user_id), 1)],
                "import running",
            )
            .map_err(|m| ApiError::new(ErrorCode::RateLimited, m))?;
        let dry_run = dry_run.0.unwrap_or(false);
        let db = p.tenant_db(&state).await?;
        let mut errors = Vec::new();
        let mut valid = Vec::new();
        for row in &rows {
            match &row.result {
                Ok(v) => {
                    let content = worklog::import_key(v);
                    let key = worklog::author_import_key(&p.user_id, &content);
                    valid.push((row.row, v, key, content));
                }
                Err(errs) => errors.extend(errs.iter().map(|e| ImportIssue {
                    row: row.row as u64,
                    line: row.line.map(|l| l as u64),
                    field: e.field.to_string(),
                    code: e.code.to_string(),
                    message: e.message.clone(),
                })),
            }
        }
        let mut existing = std::collections::HashSet::new();
        for chunk in valid.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|(_, _, k, _)| k.clone()).collect();
            let legacy: Vec<String> = chunk.iter().map(|(_, _, _, c)| c.clone()).collect();
            existing.extend(repo::existing_import_keys(&db, &p.user_id, &keys, &legacy).await?);
        }
        // Stored already (under either key), or repeated earlier in the same file.
        let mut seen = std::collections::HashSet::new();
        let duplicate_rows: Vec<bool> = valid
            .iter()
            .map(|(_, _, key, content)| {
                existing.contains(key) || existing.contains(content) || !seen.insert(key.clone())
            })
            .collect();
        if !dry_run && quotas.import_rows_per_day > 0 {
            let new = duplicate_rows.iter().filter(|d| !**d).count() as u64;
            let since = Utc::now() - chrono::Duration::days(1);
            let done = repo::imported_since(&db, &p.user_id, since).await?;
            let quota = quotas.import_rows_per_day;
            if done + new > quota {
                let mut e = ApiError::new(
                    ErrorCode::QuotaExceeded,
                    format!(
                        "you can import at most {quota} entries a day; {done} were imported in the last 24 hours and this file has {new} new ones"
                    ),
                );
                e.retry_after = Some(3600);
                return Err(e);
            }
        }
        let mut created = 0;
        let mut duplicates = 0;
        let mut preview = Vec::new();
        let mut batch: Vec<(String, EntryFields, String)> = Vec::new();
        for ((row, v, key, _), &duplicate) in valid.iter().zip(&duplicate_rows) {
            if duplicate {
                duplicates += 1;
            } else if !dry_run {
                batch.push((crate::store::platform::new_id(), fields(v), key.clone()));
                if batch.len() == IMPORT_BATCH {
                    let (c, d) = store_batch(&db, &p.user_id, std::mem::take(&mut batch)).await?;
                    created += c;
                    duplicates += d;
                }
            }
            if preview.len() < 200 {
                preview.push(ImportPreview {
                    row: *row as u64,
                    date: v.date().into(),
                    title: v.title().to_string(),
                    content: v.content().to_string(),
                    tags: v.tags().to_vec(),
                    outcome: v.outcome().map(str::to_string),
                    project: v.project().map(str::to_string),
                    duplicate,
                });
            }
        }
        if !batch.is_empty() {
            let (c, d) = store_batch(&db, &p.user_id, batch).await?;
            created += c;
            duplicates += d;
        }
        Ok(Json(ImportReport {
            dry_run,
            format: format.0,
            rows: rows.len() as u64,
            valid: valid.len() as u64,
            invalid: (rows.len() - valid.len()) as u64,
            duplicates,
            created,
            errors,
            preview,
        }))
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
        let db = auth.0.tenant_db(&state).await?;
        Ok(Json(entry_of(&db, &id).await?.into()))
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let current = entry_of(&db, &id).await?;
        may_edit(p, &current)?;
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
        let today = today_for(p);
        let valid = worklog::apply_patch(&valid_of(&current)?, patch, today).map_err(issues)?;
        // An update succeeds only at `b.version`, so the version it writes is known.
        let held = HeldReward::hold(
            &state,
            &p.tenant_id(),
            &p.user_id,
            &current.id,
            b.version.saturating_add(1),
            &current.author_id,
        )
        .await;
        let row = match repo::update(&db, &current.id, b.version, &fields(&valid)).await {
            Ok(row) => row,
            Err(e) => {
                held.cancel(&state);
                return Err(match e {
                    repo::UpdateError::NotFound => ApiError::not_found("entry"),
                    repo::UpdateError::Stale { current } => ApiError::conflict(format!(
                        "the entry was changed since you read it (now version {current}); reload and retry"
                    )),
                    repo::UpdateError::Store(e) => e.into(),
                });
            }
        };
        held.release(&state);
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let current = entry_of(&db, &id).await?;
        may_edit(p, &current)?;
        let keys = repo::delete(&db, &current.id)
            .await?
            .ok_or_else(|| ApiError::not_found("entry"))?;
        for key in keys {
            // The rows are gone; a leftover object is unreachable and only costs space.
            if let Err(e) = state.artifacts.delete(&key).await {
                tracing::warn!(error = %e, key, "attachment object not removed");
            }
        }
        Ok(NoContent::Done)
    }

    /// Attach an evidence file (multipart field `file`). The type is decided from the
    /// bytes: images, PDF, plain text and Markdown, office documents. Queues the reward
    /// evaluation of the entry's new version.
    #[oai(
        path = "/worklogs/:id/attachments",
        method = "post",
        operation_id = "attachment_upload"
    )]
    async fn upload(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The entry's id.
        id: Path<Id>,
        body: MultipartUpload,
    ) -> ApiResult<CreatedAttachment> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let entry = entry_of(&db, &id).await?;
        may_edit(p, &entry)?;
        let q = &state.settings.quotas;
        let _slot = state
            .uploads
            .acquire(
                &[(format!("user {}", p.user_id), q.uploads_per_user)],
                "uploads in progress",
            )
            .map_err(|m| ApiError::new(ErrorCode::RateLimited, m))?;
        // Reserved before a byte is written, and held until the attachment row counts
        // in `used`: concurrent uploads share the room instead of each seeing all of it.
        let tenant = p.tenant_id();
        let turn = state.storage.turn(&tenant);
        let reserved = {
            let _turn = turn.lock().await;
            let used = repo::storage_used(&db).await?;
            let room = q.tenant_storage_bytes.saturating_sub(used);
            state.storage.reserve(&tenant, room, q.attachment_max_bytes)
        };
        let Some(reserved) = reserved else {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "your workspace has used its {} bytes of storage (uploads in progress included); delete attachments to make room",
                    q.tenant_storage_bytes
                ),
            ));
        };
        let limit = reserved.amount();
        let mut multipart = body.0;
        // The document allows one part, `file`: a stray one is a malformed request, not
        // something to skip silently (and read) before the file.
        let field = match multipart.next_field().await {
            Ok(Some(f)) if f.name() == Some("file") => f,
            Ok(Some(f)) => {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "unexpected part {:?}: the body has one part, `file`",
                        f.name().unwrap_or("")
                    ),
                ))
            }
            Ok(None) => {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    "the multipart body needs a part named `file`",
                ))
            }
            Err(e) => return Err(ApiError::new(ErrorCode::BadRequest, e.to_string())),
        };
        let filename = worklog::safe_filename(field.file_name().unwrap_or("attachment"));
        let attachment_id = crate::store::platform::new_id();
        let key = Artifacts::key(p.tenant, "attachments", &attachment_id);
        let sniff_name = filename.clone();
        let sniffed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let sniffed_out = sniffed.clone();
        let stored = state
            .artifacts
            .put_stream(
                &key,
                Box::pin(field.into_async_read()),
                limit,
                move |head| {
                    let s = worklog::sniff(head, &sniff_name).map_err(|r| r.reason)?;
                    let mime = s.mime.to_string();
                    if let Ok(mut slot) = sniffed_out.lock() {
                        *slot = Some(s);
                    }
                    Ok(mime)
                },
            )
            .await;
        if stored.is_err() {
            // The rest of the upload is still on the wire: read past it (bounded) so the
            // client gets this answer rather than a reset connection.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                while let Ok(Some(_)) = multipart.next_field().await {}
            })
            .await;
        }
        let stored = stored.map_err(|e| match e {
            ArtifactError::TooLarge { .. } if limit < q.attachment_max_bytes => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the file would exceed your workspace's {} bytes of storage",
                    q.tenant_storage_bytes
                ),
            ),
            e => artifact_error(e),
        })?;
        // A part after `file` makes the request malformed just like one before it.
        if !matches!(multipart.next_field().await, Ok(None)) {
            let _ = state.artifacts.delete(&key).await;
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "unexpected part after `file`: the body has one part, `file`",
            ));
        }
        let filename = match sniffed.lock().ok().and_then(|s| *s) {
            Some(s) => worklog::download_filename(&filename, &s),
            None => filename,
        };
        let new = repo::NewAttachment {
            id: &attachment_id,
            entry_id: &entry.id,
            author_id: &p.user_id,
            filename: &filename,
            content_type: &stored.content_type,
            size: stored.size,
            sha256: &stored.sha256,
            storage_key: &key,
        };
        let added = {
            let _turn = turn.lock().await;
            let added = repo::add_attachment(&db, &new).await;
            added
        };
        let added = match added {
            Ok(Some(added)) => added,
            other => {
                // Nothing may point at the object, so it must not outlive this request.
                let _ = state.artifacts.delete(&key).await;
                return match other {
                    Ok(None) => Err(ApiError::not_found("entry")),
                    Err(e) => Err(e.into()),
                    Ok(Some(_)) => Err(ApiError::internal("unreachable")),
                };
            }
        };
        let (attachment, entry) = added;
        drop(reserved);
        reward(&state, p, &entry).await;
        Ok(CreatedAttachment::Created(Json(attachment.into())))
    }

    /// An entry's attachments.
    #[oai(
        path = "/worklogs/:id/attachments",
        method = "get",
        operation_id = "attachment_list"
    )]
    async fn attachments(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The entry's id.
        id: Path<Id>,
    ) -> ApiResult<Json<AttachmentList>> {
        let db = auth.0.tenant_db(&state).await?;
        let entry = entry_of(&db, &id).await?;
        let items = repo::attachments_of(&db, &entry.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(AttachmentList { items }))
    }

    /// Download a file (as an attachment, with its stored type).
    #[oai(
        path = "/artifacts/:id/download",
        method = "get",
        operation_id = "artifact_download"
    )]
    async fn download(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The attachment's id (from its `download_url`).
        id: Path<Id>,
    ) -> ApiResult<File<AttachmentTypes>> {
        let db = auth.0.tenant_db(&state).await?;
        let a = attachment_of(&db, &id).await?;
        let stream = state
            .artifacts
            .get_stream(&a.storage_key)
            .await
            .map_err(artifact_error)?;
        // Text is served with its charset so browsers don't guess one.
        let content_type = if a.content_type.starts_with("text/") {
            format!("{}; charset=utf-8", a.content_type)
        } else {
            a.content_type
        };
        Ok(File::new(
            Body::from_bytes_stream(stream),
            &content_type,
            disposition(&a.filename),
        ))
    }

    /// Delete a file.
    #[oai(
        path = "/artifacts/:id",
        method = "delete",
        operation_id = "artifact_delete"
    )]
    async fn delete_artifact(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The attachment's id (from its `download_url`).
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let a = attachment_of(&db, &id).await?;
        p.may_change(&a.author_id, "members can delete only their own files")?;
        if let Some(gone) = repo::remove_attachment(&db, &a.id).await? {
            if let Err(e) = state.artifacts.delete(&gone.storage_key).await {
                tracing::warn!(error = %e, key = gone.storage_key, "attachment object not removed");
            }
        }
        Ok(NoContent::Done)
    }

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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        valid_id(&id, "entry")?;
        let entry = repo::get(&db, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("entry"))?;
        // The analysis is written onto the entry: the same right as editing it.
        p.may_edit_content_of(&entry.author_id)?;
        let in_flight = ensure_llm_quota(&state, &db).await?;
        let payload = serde_json::json!({"entry_id": entry.id, "version": entry.version});
        let key = Some(format!("analyze:{}:v{}", entry.id, entry.version));
        Ok(Accepted::Accepted(Json(
            start_job(&state, p, "worklog.analyze", payload, key, in_flight).await?,
        )))
    }
}

/// Rows stored per transaction by an import.
const IMPORT_BATCH: usize = 250;

/// Stores a batch of imported rows in one transaction; if a row's key appeared meanwhile
/// (a concurrent import of the same file), stores them one by one and counts the
/// duplicates. Returns (created, duplicates).
async fn store_batch(
    db: &TenantDb,
    author: &str,
    batch: Vec<(String, EntryFields, String)>,
) -> ApiResult<(u64, u64)> {
    match repo::create_many(db, author, &batch).await {
        Ok(n) => Ok((n as u64, 0)),
        Err(crate::store::StoreError::Unique(_)) => {
            let (mut created, mut duplicates) = (0, 0);
            for (id, f, key) in &batch {
                match repo::create(db, id, author, f, Some(key)).await? {
                    Some(_) => created += 1,
                    None => duplicates += 1,
                }
            }
            Ok((created, duplicates))
        }
        Err(e) => Err(e.into()),
    }
}

async fn attachment_of(db: &TenantDb, id: &str) -> ApiResult<repo::AttachmentRow> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::not_found("file"));
    }
    repo::attachment(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("file"))
}

/// Pages through the filtered entries (date order, oldest first for exports) and
/// renders them piece by piece, so an export of any size streams in constant memory.
fn export_stream(
    db: TenantDb,
    f: ListFilter,
    mut exporter: worklog::Exporter,
) -> futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(8);
    tokio::spawn(async move {
        let send = |s: String| {
            let tx = tx.clone();
            async move { tx.send(Ok(bytes::Bytes::from(s))).await.is_ok() }
        };
        if !send(exporter.header()).await {
            return;
        }
        // Rows go out in the list order (newest day first; with `q`, by relevance); the
        // Markdown renderer starts a new day heading whenever the date changes.
        let mut cursor: Option<Cursor> = None;
        let mut index = 0usize;
        let filter = f;
        loop {
            let repo::Page {
                rows: page, next, ..
            } = match repo::page(&db, &filter, cursor.as_ref(), 500, false).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            for r in &page {
                let row = worklog::ExportEntry {
                    id: r.id.clone(),
                    date: r.date,
                    title: r.title.clone(),
                    content: r.content.clone(),
                    tags: r.tags.clone(),
                    outcome: r.outcome.clone(),
                    project: r.project.clone(),
                    author_id: r.author_id.clone(),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    version: u64::from(r.version),
                };
                let piece = match exporter.row(&row, index) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        return;
                    }
                };
                if !send(piece).await {
                    return;
                }
                index += 1;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let _ = send(exporter.footer()).await;
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed()
}
