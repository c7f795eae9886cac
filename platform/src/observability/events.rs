//! Writing the Event timeline, and delivering new events live (server-sent events).
//!
//! Every job transition, workflow step and LLM call goes through [`Events::emit`]. An
//! event gets its id (UUIDv7) and time when it is emitted and goes to one writer task
//! per process, which stores whatever has accumulated as one multi-row `INSERT` per
//! tenant (tenant events in the tenant's database, system events in the platform
//! database): under load the timeline costs one transaction per batch, not one per
//! event. Only after its batch is stored is an event broadcast in-process, so a live
//! subscriber that also reads the stored history sees every event exactly once, in
//! order, by de-duplicating on id.
//!
//! Emitting never blocks and never fails the caller: losing an observability record
//! must not fail the user's job, so a batch that can't be stored is logged. A caller
//! that must see its event stored (before answering, say) uses
//! [`Events::emit_durable`]; [`Events::flush`] waits for everything emitted so far.
//! Events still waiting for their batch when the process is killed are lost.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::store::events::{self as repo, EventFilter, EventRow};
use crate::store::{Scope, Store, StoreResult};

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

/// A stored event together with whose timeline it is on.
#[derive(Debug, Clone)]
pub struct Published {
    pub scope: Scope,
    pub event: EventRow,
}

/// Most events stored by one `INSERT`.
const MAX_BATCH: usize = 500;

// Nearly every message is an `Event`; boxing it would add one allocation per event to
// save channel slot space on the rare `Flush`.
#[allow(clippy::large_enum_variant)]
enum Pending {
    Event {
        scope: Scope,
        row: EventRow,
        stored: Option<oneshot::Sender<bool>>,
    },
    /// Answers once everything queued before it was handled.
    Flush(oneshot::Sender<()>),
}

/// The event writer shared by the API, the job runner and the workflows.
#[derive(Clone)]
pub struct Events {
    store: Arc<Store>,
    live: broadcast::Sender<Arc<Published>>,
    tx: mpsc::UnboundedSender<Pending>,
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
    fn into_row(self, scope: Scope) -> EventRow {
        let data = if self.data.is_object() {
            self.data
        } else {
            serde_json::json!({ "value": self.data })
        };
        EventRow {
            id: self.id.unwrap_or_else(crate::store::platform::new_id),
            kind: self.kind.to_string(),
            tenant_id: scope.to_string(),
            job_id: self.job_id,
            correlation_id: self.correlation_id,
            message: self.message,
            data,
            created_at: chrono::Utc::now(),
        }
    }
}

impl Events {
    /// A writer over `store`; starts its writer task (so it needs a tokio runtime).
    pub fn new(store: Arc<Store>) -> Self {
        let (live, _) = broadcast::channel(4096);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(store.clone(), live.clone(), rx));
        Self { store, live, tx }
    }

    /// Queues `event` for the timeline of `scope`; it is stored with the next batch and
    /// then published live. Returns at once.
    pub fn emit(&self, scope: Scope, event: Event) {
        let row = event.into_row(scope);
        tracing::debug!(kind = %row.kind, job_id = ?row.job_id, "event");
        let pending = Pending::Event {
            scope,
            row,
            stored: None,
        };
        if self.tx.send(pending).is_err() {
            tracing::error!("event writer stopped; event not recorded");
        }
    }

    /// Like [`Self::emit`], but waits until the event is stored; returns whether it was.
    pub async fn emit_durable(&self, scope: Scope, event: Event) -> bool {
        let (tx, rx) = oneshot::channel();
        let pending = Pending::Event {
            scope,
            row: event.into_row(scope),
            stored: Some(tx),
        };
        if self.tx.send(pending).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Waits until every event emitted before this call was handled (stored or logged).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Pending::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Reads stored events of `scope`, including every event emitted before this call:
    /// a client that saw a job finish and then reads its timeline must find the
    /// finishing event, though events are written in batches.
    pub async fn list(&self, scope: Scope, filter: &EventFilter) -> StoreResult<Vec<EventRow>> {
        self.flush().await;
        match scope {
            Scope::System => repo::list(self.store.platform(), repo::SYSTEM_TABLE, filter).await,
            Scope::Tenant(id) => {
                let db = self.store.tenant(id).await?;
                crate::store::tenant::list_events(&db, filter).await
            }
        }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.live.subscribe()
    }
}

/// Stores `rows` of one tenant (or of the platform) with one statement.
async fn store_batch(store: &Store, scope: Scope, rows: &[EventRow]) -> StoreResult<()> {
    match scope {
        Scope::System => repo::append_many(store.platform(), repo::SYSTEM_TABLE, rows).await,
        Scope::Tenant(id) => {
            let db = store.tenant(id).await?;
            crate::store::tenant::append_many(&db, rows).await
        }
    }
}

/// The writer task: takes what has accumulated (at most [`MAX_BATCH`]), stores it
/// tenant by tenant in emission order, then publishes it and answers the waiters.
async fn writer(
    store: Arc<Store>,
    live: broadcast::Sender<Arc<Published>>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Tenants in the order they first appear; each tenant's events in order.
        let mut groups: Vec<(Scope, Vec<EventRow>, Vec<oneshot::Sender<bool>>)> = Vec::new();
        let mut flushes = Vec::new();
        for p in batch.drain(..) {
            match p {
                Pending::Event { scope, row, stored } => {
                    let i = match groups.iter().position(|(s, _, _)| *s == scope) {
                        Some(i) => i,
                        None => {
                            groups.push((scope, Vec::new(), Vec::new()));
                            groups.len() - 1
                        }
                    };
                    groups[i].1.push(row);
                    groups[i].2.extend(stored);
                }
                Pending::Flush(done) => flushes.push(done),
            }
        }
        for (scope, rows, waiters) in groups {
            let ok = match store_batch(&store, scope, &rows).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, tenant = %scope, events = rows.len(), "events not recorded");
                    false
                }
            };
            if ok {
                for event in rows {
                    // No subscribers is the normal case; that is not an error.
                    let _ = live.send(Arc::new(Published { scope, event }));
                }
            }
            for w in waiters {
                let _ = w.send(ok);
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}
