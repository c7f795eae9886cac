//! The tenant-scoped database handle and its repositories.

use super::events::{self, EventFilter, EventRow, NewEvent};
use super::{Db, Rows, StoreResult, TenantId};

/// A session bound to one tenant's database for its whole life.
///
/// Created only by [`super::Store::tenant`]; it exposes queries, never `use_ns`/`use_db`,
/// so nothing can point it at another tenant.
#[derive(Clone)]
pub struct TenantDb {
    tenant: TenantId,
    db: Db,
    /// What this process keeps of the tenant's work log (first pages, the search
    /// index); `None` when the store is shared with other processes.
    caches: Option<std::sync::Arc<TenantCaches>>,
}

/// A tenant's change count and the process-wide caches of its work log.
pub(crate) struct TenantCaches {
    generation: std::sync::atomic::AtomicU64,
    pub(crate) pages: std::sync::Arc<super::worklogs::PageCache>,
    /// `None` when `SEARCH_INDEX_BYTES` is 0.
    pub(crate) search: Option<std::sync::Arc<super::search::SearchIndex>>,
}

/// The caches a [`super::Store`] keeps for an embedded database.
#[derive(Clone)]
pub(crate) struct StoreCaches {
    pub(crate) pages: std::sync::Arc<super::worklogs::PageCache>,
    /// `None` when `SEARCH_INDEX_BYTES` is 0.
    pub(crate) search: Option<std::sync::Arc<super::search::SearchIndex>>,
}

impl TenantDb {
    pub(super) fn new(tenant: TenantId, db: Db, caches: Option<StoreCaches>) -> Self {
        Self {
            tenant,
            db,
            caches: caches.map(|c| {
                std::sync::Arc::new(TenantCaches {
                    generation: Default::default(),
                    pages: c.pages,
                    search: c.search,
                })
            }),
        }
    }

    /// The page cache and the work log's current change count, if this process is the
    /// only writer.
    pub(crate) fn pages(&self) -> Option<(&super::worklogs::PageCache, u64)> {
        self.caches.as_ref().map(|c| {
            (
                c.pages.as_ref(),
                c.generation.load(std::sync::atomic::Ordering::Acquire),
            )
        })
    }

    /// The in-memory search index, if this process is the only writer.
    pub(crate) fn search_index(&self) -> Option<&super::search::SearchIndex> {
        self.caches.as_ref().and_then(|c| c.search.as_deref())
    }

    /// Records a committed change to the work log: cached pages become stale and the
    /// search index reads `entries` again (all of them when `None`).
    pub(crate) fn worklog_changed(&self, entries: Option<&[&str]>) {
        if let Some(c) = &self.caches {
            c.generation
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            match (&c.search, entries) {
                (Some(s), Some(ids)) => s.changed(self.tenant, ids.iter().copied()),
                (Some(s), None) => s.forget(self.tenant),
                (None, _) => {}
            }
        }
    }

    /// The tenant this handle belongs to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Runs a query inside this tenant's database.
    pub async fn query(&self, sql: &str, vars: serde_json::Value) -> StoreResult<Rows> {
        self.db.query(sql, vars).await
    }

    /// Like [`Self::query`], retrying transaction conflicts.
    pub async fn query_retrying(&self, sql: &str, vars: serde_json::Value) -> StoreResult<Rows> {
        self.db.query_retrying(sql, vars).await
    }
}

/// Appends an event to the tenant's timeline. The `tenant_id` column is written from the
/// handle, never from the caller, so a row always names the database it lives in.
pub async fn append_event(
    db: &TenantDb,
    kind: &str,
    job_id: Option<&str>,
    correlation_id: Option<&str>,
    message: &str,
    data: serde_json::Value,
) -> StoreResult<EventRow> {
    let new = NewEvent {
        id: None,
        kind,
        job_id,
        correlation_id,
        message,
        data,
    };
    append(db, &new).await
}

/// Appends a prepared event to the tenant's timeline.
pub async fn append(db: &TenantDb, new: &NewEvent<'_>) -> StoreResult<EventRow> {
    let tenant = db.tenant().to_string();
    events::append(&db.db, events::TENANT_TABLE, &tenant, new).await
}

/// Appends prepared events to the tenant's timeline in one statement. The rows'
/// `tenant_id` must be this handle's tenant (the event writer groups them so).
pub async fn append_many(db: &TenantDb, rows: &[EventRow]) -> StoreResult<()> {
    let tenant = db.tenant().to_string();
    if let Some(r) = rows.iter().find(|r| r.tenant_id != tenant) {
        return Err(super::StoreError::Db(format!(
            "event {} names tenant {} but was written to {tenant}",
            r.id, r.tenant_id
        )));
    }
    events::append_many(&db.db, events::TENANT_TABLE, rows).await
}

/// Events of this tenant matching `filter`.
pub async fn list_events(db: &TenantDb, filter: &EventFilter) -> StoreResult<Vec<EventRow>> {
    events::list(&db.db, events::TENANT_TABLE, filter).await
}

/// Reads one event by id; `None` if it is not in this tenant's database.
pub async fn get_event(db: &TenantDb, id: &str) -> StoreResult<Option<EventRow>> {
    events::get(&db.db, events::TENANT_TABLE, id).await
}
