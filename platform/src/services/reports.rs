//! Reports written by the LLM from the work log (a job), their exports and share links.
//! Every member of a workspace reads its reports; only a report's author, admins and
//! owners delete or share one ([`Principal::may_manage`]).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::ai::{enqueue, ensure_llm_quota, valid_id, Rendered};
use super::shares::{Expiry, NewLink};
use crate::agents::report::{ReportDraft, ReportKind};
use crate::agents::report_edit;
use crate::deps::Deps;
use crate::documents::{self as docs, CssMode, ReportMeta};
use crate::error::{ApiError, ApiResult, FieldIssue};
use crate::identity::Principal;
use crate::jobs::queue::Enqueued;
use crate::store::{documents as store, platform, worklogs, TenantDb};
use crate::workflows::ai::ReportPayload;
use crate::worklog::{self, DateRange};

pub use crate::store::documents::{ReportRow, VersionDoc, VersionRow};

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
        section: None,
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

// ------------------------------------------------------------------ corrections

/// The current draft of a report, if it has one (reports written before drafts were
/// kept have only their Markdown).
pub fn draft_of(r: &ReportRow) -> Option<ReportDraft> {
    r.draft
        .as_ref()
        .and_then(|d| serde_json::from_value(d.clone()).ok())
}

/// Most entries a report's period is read for, to check and resolve citations.
const PERIOD_ENTRIES_MAX: usize = 10_000;

/// The author's entries in the report's period: what it may cite.
async fn period_entries(db: &TenantDb, r: &ReportRow) -> ApiResult<Vec<worklogs::EntryRow>> {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    Ok(worklogs::entries_of(
        db,
        &r.author_id,
        d(&r.period_from),
        d(&r.period_to),
        PERIOD_ENTRIES_MAX,
    )
    .await?)
}

/// Writes `draft` as the report's next version by `p` (rendered against the period's
/// entries as they are now) and returns the report as it then is.
async fn save_user_version(
    db: &TenantDb,
    p: &Principal,
    r: &ReportRow,
    draft: &ReportDraft,
    entries: &[worklogs::EntryRow],
    note: &str,
    expected: u32,
) -> ApiResult<ReportRow> {
    let lookup: HashMap<&str, (String, NaiveDate)> = entries
        .iter()
        .map(|e| (e.id.as_str(), (e.title.clone(), e.date)))
        .collect();
    let markdown =
        crate::agents::report::render_markdown(draft, &|id: &str| lookup.get(id).cloned());
    let stored = serde_json::to_value(draft).map_err(ApiError::internal)?;
    let written = store::save_version(
        db,
        &r.id,
        &store::NewVersion {
            draft: &stored,
            title: &draft.title,
            markdown: &markdown,
            citations: &report_edit::cited(draft),
            by: "user",
            user_id: Some(&p.user_id),
            note,
            expected: Some(expected),
            citation_report: None,
        },
    )
    .await;
    match written {
        Ok(_) => {}
        Err(store::VersionError::Missing) => return Err(ApiError::not_found("report")),
        Err(store::VersionError::Stale { current }) => {
            return Err(ApiError::conflict(format!(
                "the report is at version {current} now, not {expected}: someone saved it in between; reload and edit again"
            )))
        }
        Err(store::VersionError::Store(e)) => return Err(e.into()),
    }
    report_of(db, &r.id).await
}

/// A finished report with a draft that `p` may change.
async fn editable(db: &TenantDb, p: &Principal, id: &str) -> ApiResult<(ReportRow, ReportDraft)> {
    let r = report_of(db, id).await?;
    p.may_manage(&r.author_id)?;
    if r.status == "pending" {
        return Err(ApiError::conflict("the report is still being written"));
    }
    let draft = draft_of(&r).ok_or_else(|| {
        ApiError::conflict(
            "this report was written before drafts were kept; regenerate it to edit it",
        )
    })?;
    Ok((r, draft))
}

/// Saves `p`'s correction of report `id`, made on `version`: every section and bullet
/// as they should now read, with the entries each bullet cites (the author's, in the
/// period). Bullets whose text the model wrote keep its name; changed text is `p`'s.
/// Exports and share links show it from now on.
pub async fn edit(
    state: &Deps,
    p: &Principal,
    id: &str,
    version: u32,
    draft: ReportDraft,
) -> ApiResult<ReportRow> {
    let db = p.tenant_db(state).await?;
    let (r, previous) = editable(&db, p, id).await?;
    let entries = period_entries(&db, &r).await?;
    let allowed: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let issues = report_edit::check_edit(&draft, &allowed);
    if !issues.is_empty() {
        return Err(ApiError::fields(
            issues
                .into_iter()
                .map(|i| FieldIssue {
                    field: i.field,
                    code: i.code.to_string(),
                    message: i.message,
                })
                .collect(),
        ));
    }
    let draft = report_edit::attribute(draft, &previous);
    save_user_version(&db, p, &r, &draft, &entries, "Edited", version).await
}

/// Report `id`'s versions, newest first.
pub async fn versions(state: &Deps, p: &Principal, id: &str) -> ApiResult<Vec<VersionRow>> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    Ok(store::versions(&db, &r.id).await?)
}

/// Version `n` of report `id`, with its draft and Markdown.
pub async fn version(state: &Deps, p: &Principal, id: &str, n: u32) -> ApiResult<VersionDoc> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    store::version(&db, &r.id, n)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))
}

/// Makes version `n` of report `id` the current one again, as a new version (the
/// versions in between stay listed).
pub async fn restore(state: &Deps, p: &Principal, id: &str, n: u32) -> ApiResult<ReportRow> {
    let db = p.tenant_db(state).await?;
    let (r, _) = editable(&db, p, id).await?;
    let old = store::version(&db, &r.id, n)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    if n == r.version {
        return Err(ApiError::conflict(format!(
            "version {n} is the current version"
        )));
    }
    let draft: ReportDraft = serde_json::from_value(old.draft).map_err(ApiError::internal)?;
    let entries = period_entries(&db, &r).await?;
    let note = format!("Restored version {n}");
    save_user_version(&db, p, &r, &draft, &entries, &note, r.version).await
}

/// Has the model write report `id` again: the whole report (a new version), or only
/// section `section` (0-based) of the current draft, every other section and its edits
/// kept. Runs as a `report.generate` job.
pub async fn regenerate(
    state: &Deps,
    p: &Principal,
    id: &str,
    section: Option<usize>,
) -> ApiResult<(ReportRow, Enqueued)> {
    let db = p.tenant_db(state).await?;
    let r = report_of(&db, id).await?;
    p.may_manage(&r.author_id)?;
    if r.status == "pending" {
        return Err(ApiError::conflict("the report is still being written"));
    }
    if let Some(index) = section {
        let sections = draft_of(&r).map_or(0, |d| d.sections.len());
        if sections == 0 {
            return Err(ApiError::conflict(
                "this report has no sections to regenerate one of; regenerate the whole report",
            ));
        }
        if index >= sections {
            return Err(ApiError::validation(format!(
                "section must be between 0 and {}",
                sections - 1
            )));
        }
    }
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(ApiError::internal);
    let payload = ReportPayload {
        report_id: r.id.clone(),
        author_id: r.author_id.clone(),
        kind: ReportKind::parse(&r.kind).unwrap_or(ReportKind::Status),
        from: d(&r.period_from)?,
        to: d(&r.period_to)?,
        audience: r.audience.clone(),
        instructions: r.instructions.clone(),
        section,
    };
    let in_flight = ensure_llm_quota(state, &db).await?;
    // One regeneration per version and section: a double click queues one job.
    let part = section.map_or_else(|| "all".to_string(), |i| i.to_string());
    let key = Some(format!("report:{}:v{}:{part}", r.id, r.version));
    let job = enqueue(state, p, &payload, key, in_flight).await?;
    store::set_report_job(&db, &r.id, &job.id().to_string()).await?;
    let mut row = r;
    row.job_id = Some(job.id().to_string());
    Ok((row, job))
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
        edited_at: r.edited_at,
    }
}
