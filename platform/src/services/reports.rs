//! Reports written by the LLM from the work log (a job), their exports and share links.
//! Every member of a workspace reads its reports; only a report's author, admins and
//! owners delete or share one ([`Principal::may_manage`]).

use chrono::NaiveDate;

use super::ai::{enqueue, ensure_llm_quota, valid_id, Rendered};
use super::shares::{Expiry, NewLink};
use crate::agents::report::ReportKind;
use crate::deps::Deps;
use crate::documents::{self as docs, CssMode, ReportMeta};
use crate::error::{ApiError, ApiResult};
use crate::identity::Principal;
use crate::jobs::queue::Enqueued;
use crate::store::{documents as store, platform, worklogs, TenantDb};
use crate::workflows::ai::ReportPayload;
use crate::worklog::{self, DateRange};

pub use crate::store::documents::ReportRow;

/// What a new report asks for.
pub struct NewReport {
    pub kind: ReportKind,
    /// First and last day, inclusive.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Who reads it (blank: nobody in particular).
    pub audience: Option<String>,
    /// Extra instructions for the writer (blank: none).
    pub instructions: Option<String>,
}

/// A report cites at most this many days.
const MAX_PERIOD_DAYS: i64 = 366;

/// Records a pending report and enqueues the job that writes it, as one unit: the
/// report's row is written first (the job fills it in, so it must exist before any
/// worker can pick the job up) and deleted again when the job can't be enqueued, so a
/// refused report leaves no pending row that nothing will ever finish.
pub async fn create(
    state: &Deps,
    p: &Principal,
    new: NewReport,
) -> ApiResult<(ReportRow, Enqueued)> {
    let range = DateRange::new(Some(new.from), Some(new.to))?;
    if range.days().unwrap_or(0) > MAX_PERIOD_DAYS + 1 {
        return Err(ApiError::validation("a report covers at most 366 days"));
    }
    let db = p.tenant_db(state).await?;
    let in_flight = ensure_llm_quota(state, &db).await?;
    let payload = ReportPayload {
        report_id: platform::new_id(),
        author_id: p.user_id.clone(),
        kind: new.kind,
        from: new.from,
        to: new.to,
        audience: new.audience.filter(|s| !s.trim().is_empty()),
        instructions: new.instructions.filter(|s| !s.trim().is_empty()),
    };
    let id = payload.report_id.as_str();
    let (from, to) = (payload.from.to_string(), payload.to.to_string());
    let mut row = store::create_report(
        &db,
        &store::NewReport {
            id,
            author_id: &p.user_id,
            kind: payload.kind.as_str(),
            from: &from,
            to: &to,
            audience: payload.audience.as_deref(),
            instructions: payload.instructions.as_deref(),
        },
    )
    .await?;
    let key = Some(format!("report:{id}"));
    let job = match enqueue(state, p, &payload, key, in_flight).await {
        Ok(job) => job,
        Err(e) => {
            withdraw_report(&db, id).await;
            return Err(e);
        }
    };
    if let Err(e) = store::set_report_job(&db, id, &job.id().to_string()).await {
        // The row can't name its job: take the job back too, unless a worker has it
        // already (then it finishes the row, which stays).
        if state.jobs.queue().withdraw(job.id()).unwrap_or(false) {
            withdraw_report(&db, id).await;
        }
        return Err(e.into());
    }
    row.job_id = Some(job.id().to_string());
    Ok((row, job))
}

/// Deletes a report whose job never started; a failure is logged, and the error that
/// made it necessary is what the caller sees.
async fn withdraw_report(db: &TenantDb, id: &str) {
    if let Err(e) = store::delete_report(db, id).await {
        tracing::warn!(error = %e, report_id = %id, "pending report without a job not deleted");
    }
}

/// The workspace's reports (only `p`'s own when `mine`), newest first: at most `take`
/// of them after `cursor` (the id of the last report of the previous page).
pub async fn list(
    state: &Deps,
    p: &Principal,
    mine: bool,
    cursor: Option<&str>,
    take: u32,
) -> ApiResult<Vec<ReportRow>> {
    let db = p.tenant_db(state).await?;
    let author = mine.then_some(p.user_id.as_str());
    Ok(store::reports(&db, author, cursor, take).await?)
}

/// An entry a report cites, as it is now.
pub struct Citation {
    pub entry_id: String,
    /// The entry's title and day; `None` when it was deleted since.
    pub entry: Option<(String, NaiveDate)>,
}

/// Report `id` with its citations, in the order of their `[n]` in the text.
pub async fn get(state: &Deps, p: &Principal, id: &str) -> ApiResult<(ReportRow, Vec<Citation>)> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    let mut citations = Vec::with_capacity(r.citations.len());
    for entry_id in &r.citations {
        let entry = worklogs::get(&db, entry_id).await?;
        citations.push(Citation {
            entry_id: entry_id.clone(),
            entry: entry.map(|x| (x.title, x.date)),
        });
    }
    Ok((r, citations))
}

/// Deletes report `id` (its share links stop working).
pub async fn delete(state: &Deps, p: &Principal, id: &str) -> ApiResult<()> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    p.may_manage(&r.author_id)?;
    store::delete_report(&db, &r.id).await?;
    Ok(())
}

/// The formats a report is exported in.
#[derive(Debug, Clone, Copy)]
pub enum ExportFormat {
    Md,
    Html,
    Pdf,
}

/// Report `id` rendered for download (a finished report only).
pub async fn export(
    state: &Deps,
    p: &Principal,
    id: &str,
    format: ExportFormat,
) -> ApiResult<Rendered> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    let (Some(title), Some(md)) = (r.title.clone(), r.markdown.clone()) else {
        return Err(ApiError::conflict(format!(
            "the report is {}; nothing to export yet",
            r.status
        )));
    };
    let meta = report_meta(&r, author_name(state, &r.author_id).await);
    // `report-<title>-<last day>.pdf`: what it is about, and up to when.
    let period_to = r.period_to.to_string();
    let name = |extension| worklog::document_filename(&["report", &title, &period_to], extension);
    Ok(match format {
        ExportFormat::Md => Rendered::new(
            docs::report_markdown(&title, &md, &meta).into_bytes(),
            "text/markdown; charset=utf-8",
            name("md"),
        ),
        ExportFormat::Html => Rendered::new(
            docs::report_html(&title, &md, &meta, CssMode::Embedded).into_bytes(),
            "text/html; charset=utf-8",
            name("html"),
        ),
        ExportFormat::Pdf => Rendered::new(
            docs::report_pdf(&title, &md, &meta)?,
            "application/pdf",
            name("pdf"),
        ),
    })
}

/// Shares report `id` until `expiry` (a finished report, by whoever may manage it).
pub async fn share(state: &Deps, p: &Principal, id: &str, expiry: Expiry) -> ApiResult<NewLink> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    p.may_manage(&r.author_id)?;
    if r.status != "ready" {
        return Err(ApiError::conflict("only a finished report can be shared"));
    }
    super::shares::create(state, p, "report", &r.id, expiry).await
}

async fn report_of(db: &TenantDb, id: &str) -> ApiResult<ReportRow> {
    valid_id(id, "report")?;
    store::report(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("report"))
}

/// The display name of a report's author for its rendering (empty if unknown: a
/// missing name must not keep a report from being read).
pub(super) async fn author_name(state: &Deps, user_id: &str) -> String {
    platform::user_by_id(state.store.platform(), user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.display_name)
        .unwrap_or_default()
}

/// What a report's rendering shows besides its text.
pub(super) fn report_meta(r: &ReportRow, author: String) -> ReportMeta {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
    ReportMeta {
        author,
        period: (d(&r.period_from), d(&r.period_to)),
        generated_at: r.updated_at,
        kind: docs::ReportKind::parse(&r.kind).unwrap_or(docs::ReportKind::Status),
    }
}
