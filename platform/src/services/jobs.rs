//! Jobs and the Event timeline of the caller's workspace: running a job of a kind open
//! to members, reading and cancelling jobs, listing events, and following one job's
//! events live.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::Principal;
use crate::jobs::queue::{
    now_ms, Enqueued, Job, JobFilter, JobState, QueueError, MEMBER_MAX_PRIORITY,
};
use crate::observability::events::kind;
use crate::store::Scope;
use crate::workflows::{Caller, Enqueue, Registry};

pub use crate::store::events::{EventFilter, EventRow};

/// A job a member asks for.
pub struct NewJob {
    pub kind: String,
    /// The kind's input; `{}` when `None`.
    pub payload: Option<serde_json::Value>,
    pub idempotency_key: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
    /// [`MEMBER_MAX_PRIORITY`] when `None`; above it only for staff.
    pub priority: Option<u8>,
}

/// Queues a job of a kind members may run (one of `workflows`, this server's), once its
/// payload passes the kind's check.
pub async fn enqueue(
    state: &Deps,
    workflows: &Registry,
    p: &Principal,
    job: NewJob,
) -> ApiResult<Enqueued> {
    let workflow = workflows
        .get(&job.kind)
        .filter(|w| w.enqueue == Enqueue::Members)
        .ok_or_else(|| {
            let open: Vec<&str> = workflows
                .kinds()
                .filter(|w| w.enqueue == Enqueue::Members)
                .map(|w| w.kind)
                .collect();
            ApiError::validation(format!(
                "unknown job kind {:?}; members can run: {}",
                job.kind,
                open.join(", ")
            ))
        })?;
    let payload = job.payload.unwrap_or_else(|| serde_json::json!({}));
    let caller = Caller { staff: p.is_staff };
    if let Some(validate) = workflow.validate {
        validate(&payload, caller).map_err(ApiError::validation)?;
    }
    let priority = job.priority.unwrap_or(MEMBER_MAX_PRIORITY);
    if priority > MEMBER_MAX_PRIORITY && !caller.staff {
        return Err(ApiError::forbidden(format!(
            "priorities above {MEMBER_MAX_PRIORITY} are for staff"
        )));
    }
    let now = now_ms();
    let run_at = job.run_at.map(|t| t.timestamp_millis());
    if run_at.is_some_and(|t| t > now + 30 * 86_400_000) {
        return Err(ApiError::validation("run_at must be at most 30 days ahead"));
    }
    let mut opts = state.jobs.member_options();
    opts.idempotency_key = job.idempotency_key;
    opts.run_at = run_at.map(|t| t.max(now));
    opts.priority = priority;
    opts.created_by = Some(p.user_id.clone());
    state
        .jobs
        .enqueue(Scope::Tenant(p.tenant), workflow.kind, payload, opts)
        .await
        .map_err(ApiError::from)
}

/// The job `id` if it belongs to `p`'s tenant; another tenant's job is not found.
pub fn own_job(state: &Deps, p: &Principal, id: Uuid) -> ApiResult<Job> {
    state
        .jobs
        .queue()
        .get(id)
        .map_err(ApiError::internal)?
        .filter(|j| j.scope() == Some(Scope::Tenant(p.tenant)))
        .ok_or_else(|| ApiError::not_found("job"))
}

/// The caller's workspace's jobs matching `filter`, newest first: at most `limit`
/// after `cursor`.
pub async fn list(
    state: &Deps,
    p: &Principal,
    filter: JobFilter,
    cursor: Option<Uuid>,
    limit: usize,
) -> ApiResult<Vec<Job>> {
    let tenant = p.tenant_id();
    state
        .jobs
        .queue()
        .off_thread(move |q| q.list(&tenant, &filter, cursor, limit))
        .await
        .map_err(ApiError::internal)
}

/// Cancels a job: a queued one at once, a running one at its next check. Members
/// cancel their own jobs; admins and owners any.
pub async fn cancel(state: &Deps, p: &Principal, id: Uuid) -> ApiResult<Job> {
    let job = own_job(state, p, id)?;
    if !p.role.can_manage_members() && job.created_by.as_deref() != Some(&p.user_id) {
        return Err(ApiError::forbidden(
            "members can cancel only their own jobs",
        ));
    }
    let job = match state.jobs.queue().cancel(job.id).await {
        Ok(j) => j,
        Err(QueueError::InvalidState(s)) => {
            return Err(ApiError::conflict(format!(
                "the job is already {}",
                s.as_str()
            )))
        }
        Err(QueueError::NotFound) => return Err(ApiError::not_found("job")),
        Err(e) => return Err(ApiError::internal(e)),
    };
    let (k, msg) = if job.state == JobState::Cancelled {
        (kind::JOB_CANCELLED, "cancelled before it started")
    } else {
        (kind::JOB_CANCEL_REQUESTED, "cancellation requested")
    };
    state
        .events
        .emit_job(&job, k, msg, serde_json::json!({"by": p.user_id}));
    Ok(job)
}

/// The caller's workspace's events matching `filter`.
pub async fn events(state: &Deps, p: &Principal, f: &EventFilter) -> ApiResult<Vec<EventRow>> {
    Ok(state.events.list(Scope::Tenant(p.tenant), f).await?)
}

/// Follows the caller's job `id`: its stored events, then the live ones, until the job
/// ends (see [`live_job_events`]). Each user and workspace holds only so many streams at
/// once; one more is refused (rate limited).
pub fn follow(
    state: &Arc<Deps>,
    p: &Principal,
    id: Uuid,
) -> ApiResult<BoxStream<'static, EventRow>> {
    let job = own_job(state, p, id)?;
    let s = &state.settings;
    let slot = state
        .streams
        .acquire(
            &[
                (format!("user {}", p.user_id), s.event_streams_per_user),
                (
                    format!("workspace {}", p.tenant),
                    s.event_streams_per_tenant,
                ),
            ],
            "open event streams",
        )
        .map_err(|why| {
            let mut e = ApiError::new(
                ErrorCode::RateLimited,
                format!("{why}; close one or poll GET /api/jobs/{{id}} instead"),
            );
            e.retry_after = Some(5);
            e
        })?;
    Ok(live_job_events(
        state.clone(),
        Scope::Tenant(p.tenant),
        job.id,
        Some(slot),
    ))
}

/// The stored and then live events of one job, ending with its terminal event.
///
/// Subscribes *before* reading history so nothing falls in between; de-duplicates by
/// id; catches up from storage when the live channel lagged; and, because the queue
/// marks a job finished a moment before its final event is stored, ends only after
/// seeing the terminal event (or after two idle checks of a finished job).
pub fn live_job_events(
    state: Arc<Deps>,
    scope: Scope,
    job: Uuid,
    slot: Option<crate::slots::Slot>,
) -> BoxStream<'static, EventRow> {
    let (tx, rx) = tokio::sync::mpsc::channel::<EventRow>(256);
    let mut live = state.events.subscribe();
    // However long the job runs, one stream ends after this; the client reconnects.
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(state.settings.event_stream_max_secs);
    tokio::spawn(async move {
        // Held for as long as this task streams; dropped when it ends.
        let _slot = slot;
        let job_str = job.to_string();
        let mut seen: HashSet<String> = HashSet::new();
        let mut last: Option<String> = None;
        // Sends stored events after `last`; returns whether a terminal event was sent.
        async fn catch_up(
            state: &Deps,
            scope: Scope,
            job: &str,
            seen: &mut HashSet<String>,
            last: &mut Option<String>,
            tx: &tokio::sync::mpsc::Sender<EventRow>,
        ) -> Option<bool> {
            let mut terminal = false;
            loop {
                let f = EventFilter {
                    job_id: Some(job.to_string()),
                    cursor: last.clone(),
                    limit: 200,
                    ascending: true,
                    ..Default::default()
                };
                let rows = state.events.list(scope, &f).await.ok()?;
                let n = rows.len();
                for r in rows {
                    *last = Some(r.id.clone());
                    if seen.insert(r.id.clone()) {
                        terminal |= kind::is_terminal(&r.kind);
                        tx.send(r).await.ok()?;
                    }
                }
                if n < 200 {
                    return Some(terminal);
                }
            }
        }
        let mut done = match catch_up(&state, scope, &job_str, &mut seen, &mut last, &tx).await {
            Some(t) => t,
            None => return,
        };
        let mut idle_finished = 0;
        while !done {
            tokio::select! {
                msg = live.recv() => match msg {
                    Ok(p) => {
                        if p.scope != scope || p.event.job_id.as_deref() != Some(job_str.as_str()) {
                            continue;
                        }
                        let e = &p.event;
                        if seen.insert(e.id.clone()) {
                            if last.as_ref().is_none_or(|l| *l < e.id) {
                                last = Some(e.id.clone());
                            }
                            done = kind::is_terminal(&e.kind);
                            if tx.send(e.clone()).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        match catch_up(&state, scope, &job_str, &mut seen, &mut last, &tx).await {
                            Some(t) => done = t,
                            None => return,
                        }
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = tokio::time::sleep(Duration::from_secs(2)) => {
                    match catch_up(&state, scope, &job_str, &mut seen, &mut last, &tx).await {
                        Some(true) => done = true,
                        Some(false) => {}
                        None => return,
                    }
                    let finished = state.jobs.queue().get(job).ok().flatten()
                        .is_none_or(|j| j.state.is_terminal());
                    if finished {
                        idle_finished += 1;
                        done |= idle_finished >= 2;
                    }
                }
                _ = tx.closed() => return,
                _ = tokio::time::sleep_until(deadline) => return,
            }
        }
    });
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }))
}
