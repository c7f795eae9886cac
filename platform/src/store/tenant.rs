//! The tenant-scoped database handle and its repositories.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Db, Rows, StoreResult, TenantId};

/// A session bound to one tenant's database for its whole life.
///
/// Created only by [`super::Store::tenant`]; it exposes queries, never `use_ns`/`use_db`,
/// so nothing can point it at another tenant.
#[derive(Clone)]
pub struct TenantDb {
    tenant: TenantId,
    db: Db,
}

impl TenantDb {
    pub(super) fn new(tenant: TenantId, db: Db) -> Self {
        Self { tenant, db }
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

/// One entry of the tenant's Event timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub tenant_id: String,
    pub job_id: Option<String>,
    pub correlation_id: Option<String>,
    pub message: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
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
) -> StoreResult<String> {
    let id = super::platform::new_id();
    let data = if data.is_object() { data } else { json!({}) };
    db.query(
        "CREATE type::record('event', $id) CONTENT { kind: $kind, tenant_id: $tid, job_id: $job, correlation_id: $cid, message: $msg, data: $data };",
        json!({"id": id, "kind": kind, "tid": db.tenant().to_string(), "job": job_id, "cid": correlation_id, "msg": message, "data": data}),
    )
    .await?;
    Ok(id)
}

/// Events of this tenant, newest first.
pub async fn list_events(
    db: &TenantDb,
    job_id: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<EventRow>> {
    db.query(
        "SELECT record::id(id) AS id, kind, tenant_id, job_id, correlation_id, message, data, created_at FROM event
         WHERE ($job = NONE OR job_id = $job) AND ($cursor = NONE OR id < type::record('event', $cursor))
         ORDER BY id DESC LIMIT $limit;",
        json!({"job": job_id, "cursor": cursor, "limit": limit}),
    )
    .await?
    .take(0)
}

/// Reads one event by id; `None` if it is not in this tenant's database.
pub async fn get_event(db: &TenantDb, id: &str) -> StoreResult<Option<EventRow>> {
    db.query(
        "SELECT record::id(id) AS id, kind, tenant_id, job_id, correlation_id, message, data, created_at FROM type::record('event', $id);",
        json!({"id": id}),
    )
    .await?
    .first(0)
}
