//! Importing a work log from a file: parse, plan (new rows, duplicates, invalid rows),
//! check the per-file and per-day limits, store in batches.

use std::collections::HashSet;

use chrono::Utc;

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldIssue};
use crate::identity::Principal;
use crate::store::worklogs::{self as repo, EntryFields};
use crate::store::{StoreError, TenantDb};
use crate::worklog::{self, ImportFormat, ImportPlan, ImportRow};

use super::worklogs::{fields, today_for};

/// Rows stored per transaction by an import.
const IMPORT_BATCH: usize = 250;

/// Keys looked up per query when finding the rows stored already.
const LOOKUP_CHUNK: usize = 500;

/// What an import did (or, on a dry run, would do).
pub struct Imported {
    /// Every parsed row, its problems included.
    pub rows: Vec<ImportRow>,
    /// New rows, duplicates and invalid rows as planned before storing.
    pub plan: ImportPlan,
    /// Entries created.
    pub created: u64,
    /// Planned rows found stored while storing (a concurrent import of the same file).
    pub raced: u64,
}

/// Imports `bytes` (a file in `format`) into the caller's log; with `dry_run` nothing is
/// stored. Rows already in the log (an earlier import by the same author) and rows
/// repeated in the file are skipped. Imported entries earn no rewards: they are past
/// work, not today's habit.
pub async fn import(
    state: &Deps,
    p: &Principal,
    format: ImportFormat,
    bytes: Vec<u8>,
    dry_run: bool,
) -> ApiResult<Imported> {
    let text = String::from_utf8(bytes)
        .map_err(|_| ApiError::validation("the import file must be UTF-8 text"))?;
    let rows = worklog::parse_import(format, &text, today_for(p)).map_err(|e| {
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
    let db = p.tenant_db(state).await?;
    let stored = stored_keys(&db, &p.user_id, &rows).await?;
    let plan = worklog::plan_import(&rows, &p.user_id, &stored);
    if dry_run {
        return Ok(Imported {
            rows,
            plan,
            created: 0,
            raced: 0,
        });
    }
    check_daily_quota(state, p, &db, plan.new.len() as u64).await?;
    let (mut created, mut raced) = (0, 0);
    for chunk in plan.new.chunks(IMPORT_BATCH) {
        let batch = chunk
            .iter()
            .map(|e| {
                (
                    crate::store::platform::new_id(),
                    fields(&e.entry),
                    e.key.clone(),
                )
            })
            .collect();
        let (c, d) = store_batch(&db, &p.user_id, batch).await?;
        created += c;
        raced += d;
    }
    Ok(Imported {
        rows,
        plan,
        created,
        raced,
    })
}

/// The keys of `rows` that `author` has stored already, under either of its keys.
async fn stored_keys(
    db: &TenantDb,
    author: &str,
    rows: &[ImportRow],
) -> ApiResult<HashSet<String>> {
    let keys: Vec<(String, String)> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|entry| worklog::stored_keys_of(author, entry))
        .collect();
    let mut stored = HashSet::new();
    for chunk in keys.chunks(LOOKUP_CHUNK) {
        let (scoped, bare): (Vec<String>, Vec<String>) = chunk.iter().cloned().unzip();
        stored.extend(repo::existing_import_keys(db, author, &scoped, &bare).await?);
    }
    Ok(stored)
}

/// Refuses an import that would take the caller past `IMPORT_ROWS_PER_DAY`.
async fn check_daily_quota(state: &Deps, p: &Principal, db: &TenantDb, new: u64) -> ApiResult<()> {
    let quota = state.settings.quotas.import_rows_per_day;
    if quota == 0 {
        return Ok(());
    }
    let since = Utc::now() - chrono::Duration::days(1);
    let done = repo::imported_since(db, &p.user_id, since).await?;
    if done + new <= quota {
        return Ok(());
    }
    let mut e = ApiError::new(
        ErrorCode::QuotaExceeded,
        format!(
            "you can import at most {quota} entries a day; {done} were imported in the last 24 hours and this file has {new} new ones"
        ),
    );
    e.retry_after = Some(3600);
    Err(e)
}

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
        Err(StoreError::Unique(_)) => {
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
