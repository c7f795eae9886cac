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
use crate::documents::{self as docs, CssMode, ReportMeta};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{documents as store, platform, worklogs, TenantDb};

use super::ai::{day, doc_error, ensure_llm_quota, file, start_job, valid_id};
use super::shares::{create_share, CreateShare, ShareCreated};

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
    fn as_str(self) -> &'static str {
        self.kind().as_str()
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

impl From<store::ReportRow> for ReportOut {
    fn from(r: store::ReportRow) -> Self {
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
            citation_report: r.citation_report,
            error: r.error,
            job_id: r.job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
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

pub(super) async fn report_of(db: &TenantDb, id: &str) -> ApiResult<store::ReportRow> {
    valid_id(id, "report")?;
    store::report(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))
}

pub(super) async fn author_name(state: &AppState, user_id: &str) -> String {
    platform::user_by_id(state.store.platform(), user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.display_name)
        .unwrap_or_default()
}

pub(super) fn report_meta(r: &store::ReportRow, author: String) -> ReportMeta {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
    ReportMeta {
        author,
        period: (d(&r.period_from), d(&r.period_to)),
        generated_at: r.updated_at,
        kind: docs::ReportKind::parse(&r.kind).unwrap_or(docs::ReportKind::Status),
    }
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
        let p = &auth.0;
        let b = body.0;
        let from = day("from", Some(b.from.0.into_string()))?
            .ok_or_else(|| ApiError::validation("from is required"))?;
        let to = day("to", Some(b.to.0.into_string()))?
            .ok_or_else(|| ApiError::validation("to is required"))?;
        if from > to {
            return Err(ApiError::validation("from must not be after to"));
        }
        if (to - from).num_days() > 366 {
            return Err(ApiError::validation("a report covers at most 366 days"));
        }
        let db = p.tenant_db(&state).await?;
        let in_flight = ensure_llm_quota(&state, &db).await?;
        let id = platform::new_id();
        let (from_s, to_s) = (from.to_string(), to.to_string());
        let audience = b
            .audience
            .map(Text::into_string)
            .filter(|s| !s.trim().is_empty());
        let instructions = b
            .instructions
            .map(Text::into_string)
            .filter(|s| !s.trim().is_empty());
        let row = store::create_report(
            &db,
            &store::NewReport {
                id: &id,
                author_id: &p.user_id,
                kind: b.kind.as_str(),
                from: &from_s,
                to: &to_s,
                audience: audience.as_deref(),
                instructions: instructions.as_deref(),
            },
        )
        .await?;
        let payload = serde_json::json!({
            "report_id": id, "author_id": p.user_id, "kind": b.kind.kind(),
            "from": from, "to": to, "audience": audience, "instructions": instructions,
        });
        let job = start_job(
            &state,
            p,
            "report.generate",
            payload,
            Some(format!("report:{id}")),
            in_flight,
        )
        .await?;
        store::set_report_job(&db, &id, &job.id).await?;
        let mut report: ReportOut = row.into();
        report.job_url = Some(job.url.clone());
        report.job_id = Some(job.id.clone());
        Ok(ReportStarted::Accepted(Json(ReportAccepted {
            report,
            job,
        })))
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
        let p = &auth.0;
        let (limit, cursor) =
            super::pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let db = p.tenant_db(&state).await?;
        let author = mine.0.unwrap_or(false).then_some(p.user_id.as_str());
        let rows = store::reports(&db, author, cursor.as_deref(), limit + 1).await?;
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
        let db = auth.0.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        let mut citations = Vec::new();
        for (i, e) in r.citations.iter().enumerate() {
            let entry = worklogs::get(&db, e).await?;
            citations.push(Citation {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                entry_id: e.clone(),
                exists: entry.is_some(),
                title: entry.as_ref().map(|x| x.title.clone()),
                date: entry.as_ref().map(|x| Day::from(x.date)),
            });
        }
        let mut out: ReportOut = r.into();
        out.citations = Some(citations);
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        p.may_manage(&r.author_id)?;
        store::delete_report(&db, &r.id).await?;
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
        let db = auth.0.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        let (Some(title), Some(md)) = (r.title.clone(), r.markdown.clone()) else {
            return Err(ApiError::conflict(format!(
                "the report is {}; nothing to export yet",
                r.status
            )));
        };
        let meta = report_meta(&r, author_name(&state, &r.author_id).await);
        let base = format!("report-{}", r.period_to);
        Ok(match format.0.unwrap_or(ReportFormat::Md) {
            ReportFormat::Md => file(
                docs::report_markdown(&title, &md, &meta).into_bytes(),
                "text/markdown; charset=utf-8",
                &format!("{base}.md"),
            ),
            ReportFormat::Html => file(
                docs::report_html(&title, &md, &meta, CssMode::Embedded).into_bytes(),
                "text/html; charset=utf-8",
                &format!("{base}.html"),
            ),
            ReportFormat::Pdf => file(
                docs::report_pdf(&title, &md, &meta).map_err(doc_error)?,
                "application/pdf",
                &format!("{base}.pdf"),
            ),
        })
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
        let p = &auth.0;
        let db = p.tenant_db(&state).await?;
        let r = report_of(&db, &id).await?;
        p.may_manage(&r.author_id)?;
        if r.status != "ready" {
            return Err(ApiError::conflict("only a finished report can be shared"));
        }
        create_share(&state, p, "report", &r.id, body.expiry()?).await
    }
}
