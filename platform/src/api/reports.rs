//! Reports written by the LLM from the work log (a job), their exports and share links.

use super::download::{File, ReportTypes};
use super::schema::{DateText, Day, Id, IdOrEmpty, Limit};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::jobs::JobAccepted;
use super::me::NoContent;
use super::security::{Authenticated, Writer};
use super::text::Text;
use super::Tag;
use crate::agents;
use crate::error::{ApiError, ApiResult};
use crate::services::reports::{self as service, ExportFormat, NewReport, ReportRow};
use crate::state::AppState;

use super::ai::{day, file};
use super::shares::{created, CreateShare, ShareCreated};

// ------------------------------------------------------------------ reports

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ReportKindParam {
    Status,
    Standup,
    Weekly,
    Custom,
}

impl ReportKindParam {
    fn kind(self) -> agents::report::ReportKind {
        match self {
            ReportKindParam::Status => agents::report::ReportKind::Status,
            ReportKindParam::Standup => agents::report::ReportKind::Standup,
            ReportKindParam::Weekly => agents::report::ReportKind::Weekly,
            ReportKindParam::Custom => agents::report::ReportKind::Custom,
        }
    }
}

#[derive(Object)]
pub struct CreateReport {
    pub kind: ReportKindParam,
    /// First day, `YYYY-MM-DD`.
    pub from: DateText,
    /// Last day, `YYYY-MM-DD` (at most 366 days after `from`).
    pub to: DateText,
    /// Who reads it ("my manager", "the team").
    #[oai(validator(max_length = 200))]
    #[oai(nullable)]
    pub audience: Option<Text>,
    /// Extra instructions for the writer.
    #[oai(validator(max_length = 2000))]
    #[oai(nullable)]
    pub instructions: Option<Text>,
}

/// A cited entry.
#[derive(Object)]
pub struct Citation {
    /// The `[n]` that cites it in the report's markdown.
    pub number: u32,
    pub entry_id: String,
    #[oai(nullable)]
    pub title: Option<String>,
    #[oai(nullable)]
    pub date: Option<Day>,
    /// The entry still exists.
    pub exists: bool,
}

#[derive(Object)]
pub struct ReportOut {
    pub id: String,
    pub author_id: String,
    pub kind: String,
    pub from: Day,
    pub to: Day,
    #[oai(nullable)]
    pub audience: Option<String>,
    #[oai(nullable)]
    pub instructions: Option<String>,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    #[oai(nullable)]
    pub title: Option<String>,
    /// Markdown; every bullet cites entries (`[1]` with a Sources list).
    #[oai(nullable)]
    pub markdown: Option<String>,
    /// Only on `GET /api/reports/{id}`: the cited entries.
    #[oai(nullable)]
    pub citations: Option<Vec<Citation>>,
    /// Only on `GET /api/reports/{id}` and the edit endpoints: the text as sections of
    /// bullets, who wrote each and what each cites (none for reports written before
    /// drafts were kept).
    #[oai(nullable)]
    pub draft: Option<super::report_drafts::DraftOut>,
    /// The current version (0 until written); every edit or regeneration adds one.
    pub version: u32,
    /// When a person last edited it, and who.
    #[oai(nullable)]
    pub edited_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub edited_by: Option<String>,
    /// What citation checking removed or flagged.
    #[oai(nullable)]
    pub citation_report: Option<serde_json::Value>,
    #[oai(nullable)]
    pub error: Option<String>,
    #[oai(nullable)]
    pub job_id: Option<String>,
    #[oai(nullable)]
    pub job_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ReportRow> for ReportOut {
    fn from(r: ReportRow) -> Self {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        Self {
            from: d(&r.period_from).into(),
            to: d(&r.period_to).into(),
            job_url: r.job_id.as_ref().map(|j| format!("/api/jobs/{j}")),
            id: r.id,
            author_id: r.author_id,
            kind: r.kind,
            audience: r.audience,
            instructions: r.instructions,
            status: r.status,
            title: r.title,
            markdown: r.markdown,
            citations: None,
            draft: None,
            version: r.version,
            edited_at: r.edited_at,
            edited_by: r.edited_by,
            citation_report: r.citation_report,
            error: r.error,
            job_id: r.job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl ReportOut {
    /// The report with its draft (as the detail and the edit endpoints answer).
    pub fn with_draft(r: ReportRow) -> Self {
        let draft = service::draft_of(&r);
        let mut out: ReportOut = r.into();
        out.draft = draft.map(Into::into);
        out
    }
}

#[derive(Object)]
pub struct ReportAccepted {
    pub report: ReportOut,
    pub job: JobAccepted,
}

#[derive(ApiResponse)]
pub enum ReportStarted {
    /// Accepted: the report is written by the job; poll the report or follow the job.
    #[oai(status = 202)]
    Accepted(Json<ReportAccepted>),
}

#[derive(Object)]
pub struct ReportPage {
    pub items: Vec<ReportOut>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ReportFormat {
    Md,
    Html,
    Pdf,
}

impl From<ReportFormat> for ExportFormat {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Md => ExportFormat::Md,
            ReportFormat::Html => ExportFormat::Html,
            ReportFormat::Pdf => ExportFormat::Pdf,
        }
    }
}

/// The cited entries, numbered as the `[n]` that cite them.
fn citations(cited: Vec<service::Citation>) -> Vec<Citation> {
    (1..)
        .zip(cited)
        .map(|(number, c)| Citation {
            number,
            exists: c.entry.is_some(),
            date: c.entry.as_ref().map(|e| Day::from(e.1)),
            title: c.entry.map(|e| e.0),
            entry_id: c.entry_id,
        })
        .collect()
}

/// The 202 of a job that writes a report: the report, and the job to follow.
pub fn started(
    state: &AppState,
    row: ReportRow,
    outcome: crate::jobs::queue::Enqueued,
) -> ApiResult<ReportStarted> {
    let job = JobAccepted::from_outcome(state, outcome)?;
    let mut report: ReportOut = row.into();
    report.job_url = Some(job.url.clone());
    report.job_id = Some(job.id.clone());
    Ok(ReportStarted::Accepted(Json(ReportAccepted {
        report,
        job,
    })))
}

pub struct ReportsApi;

#[OpenApi]
impl ReportsApi {
    /// Write a report from your entries in a period; every bullet cites its entries and
    /// citations are checked (ids outside the period or workspace are removed, bullets
    /// left without a citation dropped).
    #[oai(
        path = "/reports",
        method = "post",
        operation_id = "report_create",
        tag = "Tag::Reports"
    )]
    async fn create_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<CreateReport>,
    ) -> ApiResult<ReportStarted> {
        let b = body.0;
        let from = day("from", Some(b.from.0.into_string()))?
            .ok_or_else(|| ApiError::validation("from is required"))?;
        let to = day("to", Some(b.to.0.into_string()))?
            .ok_or_else(|| ApiError::validation("to is required"))?;
        let new = NewReport {
            kind: b.kind.kind(),
            from,
            to,
            audience: b.audience.map(Text::into_string),
            instructions: b.instructions.map(Text::into_string),
        };
        let (row, outcome) = service::create(&state, &auth.0, new).await?;
        started(&state, row, outcome)
    }

    /// Your workspace's reports, newest first (`mine=true` for your own).
    #[oai(
        path = "/reports",
        method = "get",
        operation_id = "report_list",
        tag = "Tag::Reports"
    )]
    async fn reports(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// Only your own reports (default: every report you may see).
        mine: Query<Option<bool>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<ReportPage>> {
        let (limit, cursor) =
            super::pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let mine = mine.0.unwrap_or(false);
        let rows = service::list(&state, &auth.0, mine, cursor.as_deref(), limit + 1).await?;
        let (rows, next_cursor) = super::pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(ReportPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One report: its Markdown, the cited entries (titles and days), and its job.
    #[oai(
        path = "/reports/:id",
        method = "get",
        operation_id = "report_get",
        tag = "Tag::Reports"
    )]
    async fn report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The report's id.
        id: Path<Id>,
    ) -> ApiResult<Json<ReportOut>> {
        let (r, cited) = service::get(&state, &auth.0, &id).await?;
        let mut out = ReportOut::with_draft(r);
        out.citations = Some(citations(cited));
        Ok(Json(out))
    }

    /// Delete a report (its share links stop working).
    #[oai(
        path = "/reports/:id",
        method = "delete",
        operation_id = "report_delete",
        tag = "Tag::Reports"
    )]
    async fn delete_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
    ) -> ApiResult<NoContent> {
        service::delete(&state, &auth.0, &id).await?;
        Ok(NoContent::Done)
    }

    /// Download a report as Markdown, HTML (standalone, print-ready) or PDF.
    #[oai(
        path = "/reports/:id/export",
        method = "get",
        operation_id = "report_export",
        tag = "Tag::Reports"
    )]
    async fn export_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The report's id.
        id: Path<Id>,
        /// `md` (default), `html` or `pdf`.
        format: Query<Option<ReportFormat>>,
    ) -> ApiResult<File<ReportTypes>> {
        let format = format.0.unwrap_or(ReportFormat::Md).into();
        Ok(file(service::export(&state, &auth.0, &id, format).await?))
    }

    /// Share a report: an unguessable public link, valid until it expires or is revoked.
    #[oai(
        path = "/reports/:id/share",
        method = "post",
        operation_id = "report_share",
        tag = "Tag::Reports"
    )]
    async fn share_report(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The report's id.
        id: Path<Id>,
        body: Json<CreateShare>,
    ) -> ApiResult<ShareCreated> {
        let expiry = body.expiry();
        Ok(created(service::share(&state, &auth.0, &id, expiry).await?))
    }
}
