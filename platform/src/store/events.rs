//! The Event timeline: job lifecycle, workflow steps, LLM calls and system events.
//!
//! A tenant's events live in its own database (table `event`); platform-wide events
//! (system jobs) live in the platform database (table `system_event`). Both tables have
//! the same shape, so one set of queries serves both. Ids are UUIDv7, so ordering by id
//! is ordering by time (and, within this process, by creation).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Db, StoreResult};

/// The events table of a tenant database.
pub const TENANT_TABLE: &str = "event";
/// The events table of the platform database.
pub const SYSTEM_TABLE: &str = "system_event";

/// One stored event.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
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

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// A pre-allocated UUIDv7; `None` = a new one.
    pub id: Option<&'a str>,
    pub kind: &'a str,
    pub job_id: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
    pub message: &'a str,
    pub data: serde_json::Value,
}

/// Which events to list.
#[derive(Debug, Clone)]
pub struct EventFilter {
    pub job_id: Option<String>,
    pub correlation_id: Option<String>,
    /// Exact kind (`job.failed`) or a prefix ending in a dot (`job.`).
    pub kind: Option<String>,
    /// Continue after this event id.
    pub cursor: Option<String>,
    pub limit: u32,
    /// Oldest first (a job's timeline) instead of newest first (a feed).
    pub ascending: bool,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self {
            job_id: None,
            correlation_id: None,
            kind: None,
            cursor: None,
            limit: 50,
            ascending: false,
        }
    }
}

const FIELDS: &str =
    "record::id(id) AS id, kind, tenant_id, job_id, correlation_id, message, data, created_at";

/// Appends an event with a new time-ordered id and returns it as stored.
pub async fn append(
    db: &Db,
    table: &str,
    tenant_id: &str,
    e: &NewEvent<'_>,
) -> StoreResult<EventRow> {
    let id =
        e.id.map(str::to_string)
            .unwrap_or_else(super::platform::new_id);
    let data = if e.data.is_object() {
        e.data.clone()
    } else {
        json!({ "value": e.data })
    };
    let sql = format!(
        "CREATE type::record('{table}', $id) CONTENT {{ kind: $kind, tenant_id: $tid, job_id: $job, \
         correlation_id: $cid, message: $msg, data: $data }} RETURN {FIELDS};"
    );
    let row = db
        .query(
            &sql,
            json!({"id": id, "kind": e.kind, "tid": tenant_id, "job": e.job_id,
                   "cid": e.correlation_id, "msg": e.message, "data": data}),
        )
        .await?
        .first(0)?;
    row.ok_or_else(|| super::StoreError::Decode("CREATE returned no row".into()))
}

/// Appends prepared events (ids and times already set) with one statement: the
/// batched timeline writer's path (`observability::events`).
pub async fn append_many(db: &Db, table: &str, rows: &[EventRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "kind": r.kind, "tenant_id": r.tenant_id, "job_id": r.job_id,
                   "correlation_id": r.correlation_id, "message": r.message, "data": r.data,
                   "created_at": r.created_at.to_rfc3339()})
        })
        .collect();
    // `created_at` travels as text and is cast: JSON has no datetime.
    let sql = format!(
        "INSERT INTO {table} $rows.map(|$r| {{
            id: type::record('{table}', $r.id), kind: $r.kind, tenant_id: $r.tenant_id,
            job_id: $r.job_id, correlation_id: $r.correlation_id, message: $r.message,
            data: $r.data, created_at: <datetime> $r.created_at
         }}) RETURN NONE;"
    );
    db.query(&sql, json!({ "rows": rows })).await?;
    Ok(())
}

/// Events matching `f`.
pub async fn list(db: &Db, table: &str, f: &EventFilter) -> StoreResult<Vec<EventRow>> {
    let (cmp, order) = if f.ascending {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    let (kind_exact, kind_prefix) = match &f.kind {
        Some(k) if k.ends_with('.') => (None, Some(k.as_str())),
        Some(k) => (Some(k.as_str()), None),
        None => (None, None),
    };
    // Only the filters given become conditions: `$x = NONE OR field = $x` hides the
    // field from the planner, which then scans the table instead of its index.
    let mut conditions = Vec::new();
    if f.job_id.is_some() {
        conditions.push("job_id = $job".to_string());
    }
    if f.correlation_id.is_some() {
        conditions.push("correlation_id = $cid".to_string());
    }
    if kind_exact.is_some() {
        conditions.push("kind = $kind".to_string());
    }
    if kind_prefix.is_some() {
        conditions.push("string::starts_with(kind, $prefix)".to_string());
    }
    if f.cursor.is_some() {
        conditions.push(format!("id {cmp} type::record('{table}', $cursor)"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!("SELECT {FIELDS} FROM {table} {filter} ORDER BY id {order} LIMIT $limit;");
    db.query(
        &sql,
        json!({"job": f.job_id, "cid": f.correlation_id, "kind": kind_exact,
               "prefix": kind_prefix, "cursor": f.cursor, "limit": f.limit}),
    )
    .await?
    .take(0)
}

/// One event by id.
pub async fn get(db: &Db, table: &str, id: &str) -> StoreResult<Option<EventRow>> {
    let sql = format!("SELECT {FIELDS} FROM type::record('{table}', $id);");
    db.query(&sql, json!({"id": id})).await?.first(0)
}
