//! The work log's use cases: logging, editing and deleting an entry (with the hourly
//! quota and the reward evaluation of every new version), reading, searching and
//! exporting the log.

use chrono::{NaiveDate, Utc};
use futures::StreamExt;

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::Principal;
use crate::jobs::queue::Enqueued;
use crate::store::worklogs::{self as repo, EntryFields};
use crate::store::TenantDb;
use crate::workflows::ai::AnalyzePayload;
use crate::workflows::rewards::HeldReward;
use crate::worklog::{self, EntryDraft, EntryPatch, ValidEntry};

pub use crate::store::worklogs::{Cursor, EntryRow, Facet, ListFilter, Page};

/// Today in the caller's time zone (entries default to it; the future limit uses it).
pub fn today_for(p: &Principal) -> NaiveDate {
    Utc::now().with_timezone(&p.timezone).date_naive()
}

/// A valid entry as the store writes it.
pub(crate) fn fields(v: &ValidEntry) -> EntryFields {
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

/// The entry `id` in `db` (404 for anything else, a malformed id included).
pub(crate) async fn entry_in(db: &TenantDb, id: &str) -> ApiResult<EntryRow> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::not_found("entry"));
    }
    repo::get(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("entry"))
}

/// One entry of the caller's workspace.
pub async fn entry(state: &Deps, p: &Principal, id: &str) -> ApiResult<EntryRow> {
    entry_in(&p.tenant_db(state).await?, id).await
}

/// One entry the caller may change (their own; any as admin or owner).
pub async fn editable_entry(state: &Deps, p: &Principal, id: &str) -> ApiResult<EntryRow> {
    let entry = entry(state, p, id).await?;
    p.may_edit_content_of(&entry.author_id)?;
    Ok(entry)
}

/// Has the AI analyse an entry the caller may change (the analysis lands on the entry's
/// current version; asking twice for one version queues one job).
pub async fn analyze(state: &Deps, p: &Principal, id: &str) -> ApiResult<Enqueued> {
    let db = p.tenant_db(state).await?;
    let entry = entry_in(&db, id).await?;
    // The analysis is written onto the entry: the same right as editing it.
    p.may_edit_content_of(&entry.author_id)?;
    let key = Some(format!("analyze:{}:v{}", entry.id, entry.version));
    let payload = AnalyzePayload {
        entry_id: entry.id,
        version: entry.version,
    };
    super::ai::start(state, p, &db, &payload, key).await
}

/// Queues the reward evaluation of an entry version (idempotent per version). The
/// change is saved already: a reward that could not be queued is logged, never a failed
/// request.
pub(crate) async fn queue_reward(state: &Deps, p: &Principal, e: &EntryRow) {
    if let Err(err) = crate::workflows::rewards::queue_evaluation(
        state,
        p.tenant,
        &p.user_id,
        &e.id,
        e.version,
        &e.author_id,
        None,
    )
    .await
    {
        tracing::error!(error = %err, entry_id = %e.id, "reward evaluation not queued");
    }
}

/// Refuses a new entry when the caller logged `ENTRIES_PER_HOUR` in the last hour.
async fn check_hourly_quota(state: &Deps, p: &Principal, db: &TenantDb) -> ApiResult<()> {
    let quota = state.settings.quotas.entries_per_hour;
    // 0 = no limit; otherwise the check reads at most `quota` index entries.
    if quota == 0 {
        return Ok(());
    }
    let Some(nth) = repo::nth_newest_created(db, &p.user_id, quota).await? else {
        return Ok(());
    };
    // The quota frees up an hour after the `quota`-th newest entry.
    let wait = (nth + chrono::Duration::hours(1) - Utc::now()).num_seconds();
    if wait < 0 {
        return Ok(());
    }
    let mut e = ApiError::new(
        ErrorCode::QuotaExceeded,
        format!(
            "you can log at most {quota} entries per hour; try again in {} min",
            wait / 60 + 1
        ),
    );
    e.retry_after = Some(wait as u64 + 1);
    Err(e)
}

/// Logs an entry for the caller and queues the reward evaluation of it. The reward job
/// is held durably before the write and released after it (withdrawn if the write
/// fails), so a crash in between loses no reward and grants none twice.
pub async fn create(state: &Deps, p: &Principal, draft: EntryDraft) -> ApiResult<EntryRow> {
    let valid = worklog::validate(draft, today_for(p))?;
    let db = p.tenant_db(state).await?;
    check_hourly_quota(state, p, &db).await?;
    let id = crate::store::platform::new_id();
    let held = HeldReward::hold(state, p.tenant, &p.user_id, &id, 1, &p.user_id).await;
    match repo::create(&db, &id, &p.user_id, &fields(&valid), None).await {
        Ok(Some(row)) => {
            held.release(state);
            Ok(row)
        }
        other => {
            held.cancel(state);
            Err(match other {
                Err(e) => e.into(),
                _ => ApiError::internal("entry not created"),
            })
        }
    }
}

/// Applies `patch` to the entry at `version` (409 when someone saved a newer one) and
/// queues the reward evaluation of the new version, held like [`create`]'s.
pub async fn update(
    state: &Deps,
    p: &Principal,
    id: &str,
    version: u32,
    patch: EntryPatch,
) -> ApiResult<EntryRow> {
    let db = p.tenant_db(state).await?;
    let current = entry_in(&db, id).await?;
    p.may_edit_content_of(&current.author_id)?;
    let valid = worklog::apply_patch(&valid_of(&current)?, patch, today_for(p))?;
    // An update succeeds only at `version`, so the version it writes is known.
    let held = HeldReward::hold(
        state,
        p.tenant,
        &p.user_id,
        &current.id,
        version.saturating_add(1),
        &current.author_id,
    )
    .await;
    match repo::update(&db, &current.id, version, &fields(&valid)).await {
        Ok(row) => {
            held.release(state);
            Ok(row)
        }
        Err(e) => {
            held.cancel(state);
            Err(match e {
                repo::UpdateError::NotFound => ApiError::not_found("entry"),
                repo::UpdateError::Stale { current } => ApiError::conflict(format!(
                    "the entry was changed since you read it (now version {current}); reload and retry"
                )),
                repo::UpdateError::Store(e) => e.into(),
            })
        }
    }
}

/// Deletes an entry and its attachments (rows first, then the stored objects).
pub async fn delete(state: &Deps, p: &Principal, id: &str) -> ApiResult<()> {
    let db = p.tenant_db(state).await?;
    let current = entry_in(&db, id).await?;
    p.may_edit_content_of(&current.author_id)?;
    let keys = repo::delete(&db, &current.id)
        .await?
        .ok_or_else(|| ApiError::not_found("entry"))?;
    for key in keys {
        // The rows are gone; a leftover object is unreachable and only costs space.
        if let Err(e) = state.artifacts.delete(&key).await {
            tracing::warn!(error = %e, key, "attachment object not removed");
        }
    }
    Ok(())
}

/// A page of the caller's workspace log (with its total).
pub async fn page(
    state: &Deps,
    p: &Principal,
    filter: &ListFilter,
    cursor: Option<&Cursor>,
    limit: u32,
) -> ApiResult<Page> {
    let db = p.tenant_db(state).await?;
    Ok(repo::page(&db, filter, cursor, limit, true).await?)
}

/// Tags in use, with how many entries carry each.
pub async fn tags(state: &Deps, p: &Principal) -> ApiResult<Vec<Facet>> {
    Ok(repo::tag_facets(&p.tenant_db(state).await?).await?)
}

/// Projects in use, with how many entries each.
pub async fn projects(state: &Deps, p: &Principal) -> ApiResult<Vec<Facet>> {
    Ok(repo::project_facets(&p.tenant_db(state).await?).await?)
}

/// The filtered log rendered by `exporter`, streamed: it pages through the entries and
/// renders them piece by piece, so an export of any size streams in constant memory.
pub async fn export(
    state: &Deps,
    p: &Principal,
    filter: ListFilter,
    exporter: worklog::Exporter,
) -> ApiResult<futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>> {
    let db = p.tenant_db(state).await?;
    Ok(export_stream(db, filter, exporter))
}

fn export_stream(
    db: TenantDb,
    filter: ListFilter,
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
        loop {
            let Page { rows, next, .. } =
                match repo::page(&db, &filter, cursor.as_ref(), 500, false).await {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        return;
                    }
                };
            for r in &rows {
                let piece = match exporter.row(&r.into(), index) {
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
