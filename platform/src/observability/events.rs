//! Writing the Event timeline, and delivering new events live (server-sent events).
//!
//! Every job transition, workflow step and LLM call goes through [`Events::emit`]. The
//! event is stored first (tenant events in the tenant's database, system events in the
//! platform database) and then broadcast in-process, so a live subscriber that also reads
//! the stored history sees every event exactly once, in order, by de-duplicating on id.
//! Emitting never fails the caller: a timeline write that fails is logged, because
//! losing an observability record must not fail the user's job.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::jobs::queue::SYSTEM_TENANT;
use crate::store::events::{self as repo, EventFilter, EventRow, NewEvent};
use crate::store::{Store, StoreError, StoreResult, TenantId};

/// Stable event kinds. The UI and scripts match on these.
pub mod kind {
    pub const JOB_QUEUED: &str = "job.queued";
    pub const JOB_STARTED: &str = "job.started";
    pub const STEP_STARTED: &str = "job.step_started";
    pub const STEP_FINISHED: &str = "job.step_finished";
    pub const STEP_SKIPPED: &str = "job.step_skipped";
    pub const STEP_FAILED: &str = "job.step_failed";
    pub const JOB_PROGRESS: &str = "job.progress";
    pub const JOB_RETRIED: &str = "job.retried";
    pub const JOB_SUCCEEDED: &str = "job.succeeded";
    pub const JOB_FAILED: &str = "job.failed";
    pub const JOB_CANCELLED: &str = "job.cancelled";
    pub const JOB_CANCEL_REQUESTED: &str = "job.cancel_requested";
    pub const JOB_LEASE_EXPIRED: &str = "job.lease_expired";
    pub const JOB_RELEASED: &str = "job.released";
    pub const LLM_CALL: &str = "llm.call";
    pub const SYSTEM: &str = "system.";

    /// Kinds after which a job emits nothing more (until a staff retry).
    pub fn is_terminal(kind: &str) -> bool {
        matches!(kind, JOB_SUCCEEDED | JOB_FAILED | JOB_CANCELLED)
    }
}

/// A stored event together with the tenant it belongs to.
#[derive(Debug, Clone)]
pub struct Published {
    pub tenant: String,
    pub event: EventRow,
}

/// The event writer shared by the API, the job runner and the workflows.
#[derive(Clone)]
pub struct Events {
    store: Arc<Store>,
    live: broadcast::Sender<Arc<Published>>,
}

/// What to record.
#[derive(Debug, Clone)]
pub struct Event {
    /// A pre-allocated id (UUIDv7), to order an event before things that happen after
    /// it was decided but before it could be written; `None` = a new one.
    pub id: Option<String>,
    pub kind: &'static str,
    pub job_id: Option<String>,
    pub correlation_id: Option<String>,
    pub message: String,
    pub data: serde_json::Value,
}

impl Event {
    /// An event about a job.
    pub fn job(
        kind: &'static str,
        job: &crate::jobs::queue::Job,
        message: impl Into<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id: None,
            kind,
            job_id: Some(job.id.to_string()),
            correlation_id: job.correlation_id.clone(),
            message: message.into(),
            data,
        }
    }
}

impl Events {
    /// A writer over `store` with a live channel of `capacity` events.
    pub fn new(store: Arc<Store>) -> Self {
        let (live, _) = broadcast::channel(4096);
        Self { store, live }
    }

    /// Stores `event` for `tenant` (a tenant id or `system`) and publishes it live.
    /// Returns the stored row, or `None` if it could not be stored (logged).
    pub async fn emit(&self, tenant: &str, event: Event) -> Option<EventRow> {
        match self.store_event(tenant, &event).await {
            Ok(row) => {
                tracing::debug!(kind = event.kind, job_id = ?event.job_id, "event");
                // No subscribers is the normal case; that is not an error.
                let _ = self.live.send(Arc::new(Published {
                    tenant: tenant.to_string(),
                    event: row.clone(),
                }));
                Some(row)
            }
            Err(e) => {
                tracing::error!(error = %e, kind = event.kind, job_id = ?event.job_id, "event not recorded");
                None
            }
        }
    }

    async fn store_event(&self, tenant: &str, e: &Event) -> StoreResult<EventRow> {
        let new = NewEvent {
            id: e.id.as_deref(),
            kind: e.kind,
            job_id: e.job_id.as_deref(),
            correlation_id: e.correlation_id.as_deref(),
            message: &e.message,
            data: e.data.clone(),
        };
        if tenant == SYSTEM_TENANT {
            return repo::append(self.store.platform(), repo::SYSTEM_TABLE, tenant, &new).await;
        }
        let id = uuid::Uuid::parse_str(tenant)
            .map_err(|_| StoreError::Db(format!("job tenant {tenant:?} is not a tenant id")))?;
        let db = self.store.tenant(TenantId(id)).await?;
        crate::store::tenant::append(&db, &new).await
    }

    /// Reads stored events of `tenant` (a tenant id or `system`).
    pub async fn list(&self, tenant: &str, filter: &EventFilter) -> StoreResult<Vec<EventRow>> {
        if tenant == SYSTEM_TENANT {
            return repo::list(self.store.platform(), repo::SYSTEM_TABLE, filter).await;
        }
        let id = uuid::Uuid::parse_str(tenant)
            .map_err(|_| StoreError::Db(format!("{tenant:?} is not a tenant id")))?;
        let db = self.store.tenant(TenantId(id)).await?;
        crate::store::tenant::list_events(&db, filter).await
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.live.subscribe()
    }
}
