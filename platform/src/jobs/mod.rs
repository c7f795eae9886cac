//! Durable jobs: every piece of AI work runs as a job.
//!
//! * [`queue`]: the sled-backed queue (its module docs give the key layout and
//!   invariants): leases, fencing, retries, idempotency, priorities, quotas.
//! * [`schedule`]: cron schedules persisted in the same database.
//! * [`runner`]: the worker pool, heartbeats, timeouts, cancellation, graceful shutdown.
//!
//! This module doesn't know what any job does: the `workflows` module registers a
//! [`runner::Handler`] per kind.

pub mod queue;
pub mod runner;
pub mod schedule;

use serde_json::json;

use crate::observability::events::{kind, Event, Events};
use crate::observability::metrics::metrics;
use crate::store::Scope;
use queue::{EnqueueOptions, Enqueued, Queue, QueueResult};

/// Enqueues jobs and records them on the timeline: what API handlers and workflows use.
#[derive(Clone)]
pub struct Jobs {
    queue: Queue,
    events: Events,
    max_attempts: u32,
    /// `EnqueueOptions::max_queued` of [`Jobs::member_options`].
    member_max_queued: usize,
}

impl Jobs {
    /// `max_attempts` is the default of [`Jobs::options`] (`JOB_MAX_ATTEMPTS`).
    pub fn new(queue: Queue, events: Events, max_attempts: u32) -> Self {
        Self {
            queue,
            events,
            max_attempts,
            member_max_queued: usize::MAX,
        }
    }

    /// Caps the queued jobs a tenant may hold through [`Jobs::member_options`].
    pub fn with_member_max_queued(mut self, cap: usize) -> Self {
        self.member_max_queued = cap;
        self
    }

    /// [`Jobs::options`] for a job a member asked for: counted against the tenant's
    /// queued-job cap (`JOB_TENANT_MAX_QUEUED`).
    pub fn member_options(&self) -> EnqueueOptions {
        EnqueueOptions {
            max_queued: Some(self.member_max_queued),
            ..self.options()
        }
    }

    /// Enqueue options with the configured defaults and the current correlation id.
    pub fn options(&self) -> EnqueueOptions {
        let cid = crate::observability::current_correlation_id();
        EnqueueOptions {
            max_attempts: self.max_attempts,
            correlation_id: (!cid.is_empty()).then_some(cid),
            ..EnqueueOptions::default()
        }
    }

    /// The underlying queue.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Enqueues a job (durable when this returns) and writes its `job.queued` event.
    /// An idempotent repeat returns the existing job and writes nothing.
    pub async fn enqueue(
        &self,
        scope: Scope,
        job_kind: &str,
        payload: serde_json::Value,
        opts: EnqueueOptions,
    ) -> QueueResult<Enqueued> {
        // Allocated before the job is visible to workers, so `job.queued` sorts before
        // the `job.started` of a worker that picks the job up at once.
        let event_id = uuid::Uuid::now_v7().to_string();
        let tenant = scope.to_string();
        let outcome = self.queue.enqueue(&tenant, job_kind, payload, opts).await?;
        if let Enqueued::Created(id) = outcome {
            metrics().jobs_enqueued.with_label_values(&[job_kind]).inc();
            if let Some(job) = self.queue.get(id)? {
                let data = json!({"priority": job.priority, "run_at": job.run_at, "max_attempts": job.max_attempts});
                let mut event = Event::job(kind::JOB_QUEUED, &job, "queued", data);
                event.id = Some(event_id);
                self.events.emit(scope, event);
            }
        }
        Ok(outcome)
    }
}

impl queue::QueueConfig {
    /// The queue tunables from the `JOB_*` settings.
    pub fn from_settings(s: &crate::config::JobSettings) -> Self {
        use std::time::Duration;
        Self {
            flush: if s.group_commit {
                queue::FlushPolicy::Group
            } else {
                queue::FlushPolicy::PerOperation
            },
            visibility_timeout: Duration::from_secs(s.visibility_timeout_secs),
            backoff_base: Duration::from_millis(s.backoff_base_ms),
            backoff_factor: s.backoff_factor,
            tenant_concurrency: s.tenant_concurrency,
            retention: Duration::from_secs(s.retention_days * 86_400),
            ..Self::default()
        }
    }
}

impl runner::RunnerConfig {
    /// The runner tunables from the `JOB_*` settings.
    pub fn from_settings(s: &crate::config::JobSettings) -> Self {
        Self {
            workers: s.workers,
            interactive_workers: s.interactive_workers,
            shutdown_grace: std::time::Duration::from_secs(s.shutdown_grace_secs),
            ..Self::default()
        }
    }
}
