//! The worker pool that runs queued jobs inside `afterresume serve`.
//!
//! Each worker leases a job, runs its [`Handler`] under the job's timeout with a
//! heartbeat that keeps the lease alive (and learns of cancellation requests), and
//! records the outcome: success, a retry with backoff, a dead letter, a cancellation,
//! or — during shutdown — a release back to the queue. Alongside the workers run the
//! reaper (expired leases), the scheduler (cron) and the purger (retention).
//!
//! Every transition leaves an Event on the job's timeline and a metric.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::queue::{now_ms, FailOutcome, Job, JobState, Lease, Queue, QueueError};
use super::schedule::Scheduler;
use crate::observability::events::{kind, Events};
use crate::observability::metrics::metrics;

/// Why a job attempt failed, and whether trying again could help.
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    pub retryable: bool,
}

impl JobError {
    /// A failure that may go away on a later attempt (network, timeouts, conflicts).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that no retry can fix (bad payload, missing record).
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a handler gets for one attempt.
#[derive(Clone)]
pub struct JobContext {
    pub job: Arc<Job>,
    pub token: u64,
    pub queue: Queue,
    /// Cancelled when staff or the owner cancel the job; check it between units of work.
    pub cancel: CancellationToken,
}

/// Runs jobs of the kinds it knows.
pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt of `ctx.job`; the value is stored as the job's result.
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobError>>;
}

/// Tunables of the runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    pub workers: usize,
    /// Extra workers that lease only jobs of `queue::INTERACTIVE_PRIORITY`.
    pub interactive_workers: usize,
    /// How long shutdown waits for running jobs before releasing them.
    pub shutdown_grace: Duration,
    /// Fallback poll when no wake-up arrives (scheduled jobs becoming due).
    pub poll: Duration,
    pub scheduler_tick: Duration,
    pub purge_every: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            interactive_workers: 1,
            shutdown_grace: Duration::from_secs(30),
            poll: Duration::from_millis(250),
            scheduler_tick: Duration::from_secs(5),
            purge_every: Duration::from_secs(3600),
        }
    }
}

/// How an attempt ended, before it is written back.
enum Outcome {
    Done(Result<serde_json::Value, JobError>),
    TimedOut,
    Panicked(String),
    Cancelled,
    /// Shutdown deadline: hand the job back.
    Released,
    /// The heartbeat found the lease gone: someone else owns the job now.
    LeaseLost,
}

#[derive(Clone)]
struct Shared {
    queue: Queue,
    handler: Arc<dyn Handler>,
    events: Events,
    config: RunnerConfig,
    /// Stop leasing new jobs.
    stop: CancellationToken,
    /// Shutdown grace is over: release what still runs.
    abort: CancellationToken,
}

/// The running pool; [`RunnerHandle::shutdown`] stops it gracefully.
pub struct RunnerHandle {
    shared: Shared,
    workers: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
}

/// Starts `config.workers` workers plus the reaper, scheduler and purger.
pub fn start(
    queue: Queue,
    handler: Arc<dyn Handler>,
    events: Events,
    scheduler: Option<Scheduler>,
    config: RunnerConfig,
) -> RunnerHandle {
    let shared = Shared {
        queue,
        handler,
        events,
        config,
        stop: CancellationToken::new(),
        abort: CancellationToken::new(),
    };
    let general = (0..shared.config.workers.max(1)).map(|n| (n, 0));
    let interactive = (0..shared.config.interactive_workers).map(|n| {
        (
            shared.config.workers.max(1) + n,
            super::queue::INTERACTIVE_PRIORITY,
        )
    });
    let workers = general
        .chain(interactive)
        .map(|(n, min_priority)| {
            let s = shared.clone();
            tokio::spawn(async move { s.worker(n, min_priority).await })
        })
        .collect();
    let mut background = vec![
        {
            let s = shared.clone();
            tokio::spawn(async move { s.reaper().await })
        },
        {
            let s = shared.clone();
            tokio::spawn(async move { s.purger().await })
        },
    ];
    if let Some(sched) = scheduler {
        let s = shared.clone();
        background.push(tokio::spawn(async move { s.scheduler(sched).await }));
    }
    RunnerHandle {
        shared,
        workers,
        background,
    }
}

impl RunnerHandle {
    /// Stops leasing, waits up to the grace period for running jobs, releases the
    /// rest back to the queue, and flushes.
    pub async fn shutdown(self) {
        let s = &self.shared;
        s.stop.cancel();
        let mut workers = self.workers;
        let all = futures::future::join_all(workers.iter_mut());
        if tokio::time::timeout(s.config.shutdown_grace, all)
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace over: releasing running jobs back to the queue");
            s.abort.cancel();
            // Handles that finished inside the timed-out join were consumed there.
            for w in workers.into_iter().filter(|w| !w.is_finished()) {
                let _ = w.await;
            }
        }
        for b in self.background {
            b.abort();
        }
        if let Err(e) = s.queue.flush().await {
            tracing::error!(error = %e, "final queue flush failed");
        }
        tracing::info!("job runner stopped");
    }
}

impl Shared {
    /// Leases and runs jobs of priority `min_priority` and above until stopped.
    async fn worker(&self, n: usize, min_priority: u8) {
        tracing::debug!(worker = n, min_priority, "job worker started");
        while !self.stop.is_cancelled() {
            // Register for the wake-up before looking, so an enqueue in between isn't missed.
            let notified = self.queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.queue.lease_from(min_priority).await {
                Ok(Some(lease)) => self.run(lease).await,
                Ok(None) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep(self.config.poll) => {}
                        _ = self.stop.cancelled() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "leasing failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn emit(&self, job: &Job, kind: &'static str, message: String, data: serde_json::Value) {
        self.events.emit_job(job, kind, message, data);
    }

    async fn run(&self, lease: Lease) {
        let Lease { job, token } = lease;
        let job = Arc::new(job);
        let correlation = job.correlation_id.clone().unwrap_or_default();
        let span = tracing::info_span!("job", job_id = %job.id, kind = %job.kind, correlation_id = %correlation);
        async {
            tracing::info!(attempt = job.attempts, "job started");
            self.emit(
                &job,
                kind::JOB_STARTED,
                format!("attempt {} of {}", job.attempts, job.max_attempts),
                json!({"attempt": job.attempts, "max_attempts": job.max_attempts}),
            );
            let started = Instant::now();
            let outcome = self.attempt(job.clone(), token, correlation.clone()).await;
            self.record(&job, token, outcome, started.elapsed()).await;
        }
        .instrument(span)
        .await
    }

    async fn attempt(&self, job: Arc<Job>, token: u64, correlation: String) -> Outcome {
        let cancel = CancellationToken::new();
        if job.cancel_requested {
            cancel.cancel();
        }
        let lost = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            self.queue.clone(),
            job.id,
            token,
            cancel.clone(),
            lost.clone(),
        ));
        let ctx = JobContext {
            job: job.clone(),
            token,
            queue: self.queue.clone(),
            cancel: cancel.clone(),
        };
        // A separate task, so a panicking handler fails its job instead of the worker.
        let fut = self.handler.run(ctx);
        let mut task = tokio::spawn(
            crate::observability::with_correlation_id(correlation, fut)
                .instrument(tracing::Span::current()),
        );
        let timeout = Duration::from_millis(job.timeout_ms.max(1));
        let outcome = tokio::select! {
            r = tokio::time::timeout(timeout, &mut task) => match r {
                Err(_) => Outcome::TimedOut,
                Ok(Err(join)) => Outcome::Panicked(join.to_string()),
                Ok(Ok(result)) => Outcome::Done(result),
            },
            _ = cancel.cancelled() => Outcome::Cancelled,
            _ = lost.cancelled() => Outcome::LeaseLost,
            _ = self.abort.cancelled() => Outcome::Released,
        };
        if !task.is_finished() {
            task.abort();
            // Wait for the handler to stop at its next await, so nothing it emits on the
            // way out (a step's `job.step_failed` when it saw the cancellation) lands
            // after the outcome's event. Bounded: a handler blocking its thread can't
            // be stopped and must not hold the worker.
            let _ = tokio::time::timeout(Duration::from_secs(5), &mut task).await;
        }
        heartbeat.abort();
        outcome
    }

    async fn record(&self, job: &Job, token: u64, outcome: Outcome, took: Duration) {
        let m = metrics();
        let secs = took.as_secs_f64();
        let failure = |msg: String, retryable: bool| {
            Err(JobError {
                message: msg,
                retryable,
            })
        };
        let result = match outcome {
            Outcome::Done(r) => r,
            Outcome::TimedOut => {
                failure(format!("timed out after {} s", job.timeout_ms / 1000), true)
            }
            Outcome::Panicked(detail) => failure(format!("handler crashed: {detail}"), true),
            Outcome::Cancelled => {
                match self.queue.finish_cancelled(job.id, token).await {
                    Ok(done) => {
                        m.job_finished(&job.kind, JobState::Cancelled.as_str(), secs);
                        tracing::info!("job cancelled");
                        self.emit(
                            &done,
                            kind::JOB_CANCELLED,
                            "cancelled while running".into(),
                            json!({}),
                        );
                    }
                    Err(e) => write_back_failed(job, e),
                }
                return;
            }
            Outcome::Released => {
                match self.queue.release(job.id, token).await {
                    Ok(done) => {
                        self.emit(
                            &done,
                            kind::JOB_RELEASED,
                            "released at shutdown; it will run again".into(),
                            json!({}),
                        );
                    }
                    Err(e) => write_back_failed(job, e),
                }
                return;
            }
            Outcome::LeaseLost => {
                tracing::warn!("lease lost while running; another worker owns the job now");
                return;
            }
        };
        settle(&self.queue, &self.events, job, token, result, took).await;
    }

    async fn reaper(&self) {
        let every = (self.queue.config().visibility_timeout / 4).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            match self.queue.reap_expired().await {
                Ok(reaped) => {
                    for (job, outcome) in reaped {
                        metrics().lease_expiries.inc();
                        let (k, msg) = match outcome {
                            FailOutcome::Retrying { .. } => (
                                kind::JOB_LEASE_EXPIRED,
                                "the worker stopped responding; the job will run again",
                            ),
                            FailOutcome::Dead => (
                                kind::JOB_FAILED,
                                "the worker stopped responding and no attempts are left",
                            ),
                            FailOutcome::Cancelled => (kind::JOB_CANCELLED, "cancelled"),
                        };
                        tracing::warn!(job_id = %job.id, "lease expired");
                        self.emit(&job, k, msg.into(), json!({"attempt": job.attempts}));
                    }
                }
                Err(e) => tracing::error!(error = %e, "lease reaper failed"),
            }
        }
    }

    async fn purger(&self) {
        loop {
            tokio::time::sleep(self.config.purge_every).await;
            match self.queue.purge() {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "purged finished jobs past retention"),
                Err(e) => tracing::error!(error = %e, "job purge failed"),
            }
        }
    }

    async fn scheduler(&self, sched: Scheduler) {
        loop {
            match sched.tick(now_ms()).await {
                Ok(created) => {
                    for id in created {
                        if let Ok(Some(job)) = self.queue.get(id) {
                            metrics()
                                .jobs_enqueued
                                .with_label_values(&[job.kind.as_str()])
                                .inc();
                            self.emit(
                                &job,
                                kind::JOB_QUEUED,
                                "queued by schedule".into(),
                                json!({"schedule": job.payload["schedule"]}),
                            );
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "scheduler tick failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.scheduler_tick) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }
}

fn write_back_failed(job: &Job, e: QueueError) {
    match e {
        // Fencing at work: the lease expired and the job belongs to someone else.
        QueueError::StaleLease => {
            tracing::warn!(job_id = %job.id, "late completion rejected: the lease had expired")
        }
        e => tracing::error!(job_id = %job.id, error = %e, "could not record the job outcome"),
    }
}

/// Records how an attempt ended: completion, or a retry, dead letter or cancellation,
/// with its Event and metrics. The runner calls it for the jobs it leased; a handler
/// that took more jobs with `Queue::claim_more` calls it for each of those.
pub async fn settle(
    queue: &Queue,
    events: &Events,
    job: &Job,
    token: u64,
    result: Result<serde_json::Value, JobError>,
    took: Duration,
) {
    let m = metrics();
    let secs = took.as_secs_f64();
    let emit = |job: &Job, kind: &'static str, message: String, data: serde_json::Value| {
        events.emit_job(job, kind, message, data);
    };
    let (message, retryable) = match result {
        Ok(result) => {
            match queue.complete(job.id, token, result.clone()).await {
                Ok(done) if done.state == JobState::Cancelled => {
                    m.job_finished(&job.kind, JobState::Cancelled.as_str(), secs);
                    emit(&done, kind::JOB_CANCELLED, "cancelled".into(), json!({}));
                }
                Ok(done) => {
                    m.job_finished(&job.kind, JobState::Succeeded.as_str(), secs);
                    tracing::info!(took_ms = took.as_millis() as u64, "job succeeded");
                    emit(
                        &done,
                        kind::JOB_SUCCEEDED,
                        "succeeded".into(),
                        json!({"result": result, "duration_ms": took.as_millis() as u64}),
                    );
                }
                Err(e) => write_back_failed(job, e),
            }
            return;
        }
        Err(e) => (e.message, e.retryable),
    };
    tracing::warn!(error = %message, retryable, "job attempt failed");
    match queue.fail(job.id, token, &message, retryable).await {
        Ok((done, FailOutcome::Retrying { run_at })) => {
            m.job_finished(&job.kind, JobState::Failed.as_str(), secs);
            m.job_retries.with_label_values(&[job.kind.as_str()]).inc();
            emit(
                &done,
                kind::JOB_RETRIED,
                format!("attempt {} failed: {message}; retrying", job.attempts),
                json!({"error": message, "attempt": job.attempts, "retry_at": run_at,
                       "retry_in_ms": (run_at - now_ms()).max(0)}),
            );
        }
        Ok((done, FailOutcome::Dead)) => {
            m.job_finished(&job.kind, JobState::Failed.as_str(), secs);
            m.dead_letters.with_label_values(&[job.kind.as_str()]).inc();
            emit(
                &done,
                kind::JOB_FAILED,
                format!("failed: {message}"),
                json!({"error": message, "attempts": done.attempts, "retryable": retryable, "dead_letter": true}),
            );
        }
        Ok((done, FailOutcome::Cancelled)) => {
            m.job_finished(&job.kind, JobState::Cancelled.as_str(), secs);
            emit(&done, kind::JOB_CANCELLED, "cancelled".into(), json!({}));
        }
        Err(e) => write_back_failed(job, e),
    }
}

/// Keeps the lease alive; cancels `cancel` when cancellation was requested and `lost`
/// when the lease is no longer ours.
async fn heartbeat(
    queue: Queue,
    id: Uuid,
    token: u64,
    cancel: CancellationToken,
    lost: CancellationToken,
) {
    let every = (queue.config().visibility_timeout / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        match queue.heartbeat(id, token) {
            Ok(true) => cancel.cancel(),
            Ok(false) => {}
            Err(QueueError::StaleLease) | Err(QueueError::NotFound) => {
                lost.cancel();
                return;
            }
            Err(e) => tracing::error!(error = %e, "heartbeat failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::queue::{EnqueueOptions, FlushPolicy, QueueConfig};
    use crate::store::events::EventFilter;
    use crate::store::Store;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Behaves according to the payload: `{"sleep_ms", "fail", "panic", "fatal"}`.
    struct Scripted {
        runs: AtomicU32,
    }

    impl Handler for Scripted {
        fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobError>> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let p = &ctx.job.payload;
                if let Some(ms) = p["sleep_ms"].as_u64() {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                if p["panic"].as_bool() == Some(true) {
                    panic!("scripted panic");
                }
                if p["fatal"].as_bool() == Some(true) {
                    return Err(JobError::fatal("bad input"));
                }
                if p["fail"]
                    .as_u64()
                    .is_some_and(|n| u64::from(ctx.job.attempts) <= n)
                {
                    return Err(JobError::retryable("flaky"));
                }
                Ok(json!({"attempt": ctx.job.attempts}))
            })
        }
    }

    struct Rig {
        queue: Queue,
        events: Events,
        handler: Arc<Scripted>,
        tenant: crate::store::TenantId,
    }

    async fn rig() -> Rig {
        let store = Store::memory().await.unwrap();
        let tenant = crate::store::TenantId(Uuid::now_v7());
        store.tenant(tenant).await.unwrap();
        let queue = Queue::temporary(QueueConfig {
            flush: FlushPolicy::PerOperation,
            visibility_timeout: Duration::from_millis(300),
            backoff_base: Duration::from_millis(10),
            backoff_factor: 2.0,
            ..QueueConfig::default()
        })
        .unwrap();
        Rig {
            events: Events::new(store),
            queue,
            handler: Arc::new(Scripted {
                runs: AtomicU32::new(0),
            }),
            tenant,
        }
    }

    fn config(grace_ms: u64) -> RunnerConfig {
        RunnerConfig {
            workers: 2,
            shutdown_grace: Duration::from_millis(grace_ms),
            poll: Duration::from_millis(20),
            ..RunnerConfig::default()
        }
    }

    impl Rig {
        fn start(&self, grace_ms: u64) -> RunnerHandle {
            start(
                self.queue.clone(),
                self.handler.clone(),
                self.events.clone(),
                None,
                config(grace_ms),
            )
        }

        async fn put(&self, payload: serde_json::Value, timeout: Duration) -> Uuid {
            let opts = EnqueueOptions {
                timeout,
                ..EnqueueOptions::default()
            };
            self.queue
                .enqueue(&self.tenant.to_string(), "test", payload, opts)
                .await
                .unwrap()
                .id()
        }

        async fn until(&self, id: Uuid, state: JobState) -> Job {
            for _ in 0..500 {
                let job = self.queue.get(id).unwrap().unwrap();
                if job.state == state {
                    return job;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("job {id} never reached {state:?}: {:?}", self.queue.get(id));
        }

        async fn kinds(&self, id: Uuid) -> Vec<String> {
            let f = EventFilter {
                job_id: Some(id.to_string()),
                ascending: true,
                limit: 100,
                ..Default::default()
            };
            self.events
                .list(crate::store::Scope::Tenant(self.tenant), &f)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect()
        }
    }

    #[tokio::test]
    async fn retries_then_succeeds_with_events_in_order() {
        let r = rig().await;
        let runner = r.start(1000);
        let id = r.put(json!({"fail": 2}), Duration::from_secs(5)).await;
        let job = r.until(id, JobState::Succeeded).await;
        assert_eq!(job.attempts, 3);
        assert_eq!(job.result, Some(json!({"attempt": 3})));
        runner.shutdown().await;
        assert_eq!(
            r.kinds(id).await,
            vec![
                kind::JOB_STARTED,
                kind::JOB_RETRIED,
                kind::JOB_STARTED,
                kind::JOB_RETRIED,
                kind::JOB_STARTED,
                kind::JOB_SUCCEEDED
            ]
        );
    }

    #[tokio::test]
    async fn fatal_errors_timeouts_and_panics_fail_cleanly() {
        let r = rig().await;
        let runner = r.start(1000);
        let fatal = r.put(json!({"fatal": true}), Duration::from_secs(5)).await;
        let slow = r
            .put(json!({"sleep_ms": 5000}), Duration::from_millis(50))
            .await;
        let crash = r.put(json!({"panic": true}), Duration::from_secs(5)).await;
        let job = r.until(fatal, JobState::Failed).await;
        assert_eq!((job.attempts, job.dead), (1, true), "not retried");
        let job = r.until(slow, JobState::Failed).await;
        assert_eq!(job.attempts, 3, "timeouts are retried");
        assert!(job.last_error.unwrap().contains("timed out"));
        let job = r.until(crash, JobState::Failed).await;
        assert!(job.last_error.unwrap().contains("crashed"));
        runner.shutdown().await;
        assert_eq!(r.kinds(fatal).await.last().unwrap(), kind::JOB_FAILED);
    }

    #[tokio::test]
    async fn a_running_job_is_cancelled_cooperatively() {
        let r = rig().await;
        let runner = r.start(1000);
        let id = r
            .put(json!({"sleep_ms": 10_000}), Duration::from_secs(30))
            .await;
        r.until(id, JobState::Running).await;
        r.queue.cancel(id).await.unwrap();
        // The heartbeat (every 100 ms here) delivers the request.
        let job = r.until(id, JobState::Cancelled).await;
        assert!(job.finished_at.is_some());
        runner.shutdown().await;
        assert_eq!(r.kinds(id).await.last().unwrap(), kind::JOB_CANCELLED);
    }

    #[tokio::test]
    async fn shutdown_waits_for_short_jobs_and_releases_long_ones() {
        let r = rig().await;
        let runner = r.start(300);
        let short = r
            .put(json!({"sleep_ms": 100}), Duration::from_secs(30))
            .await;
        let long = r
            .put(json!({"sleep_ms": 20_000}), Duration::from_secs(30))
            .await;
        r.until(short, JobState::Running).await;
        r.until(long, JobState::Running).await;
        runner.shutdown().await;
        assert_eq!(
            r.queue.get(short).unwrap().unwrap().state,
            JobState::Succeeded
        );
        let long = r.queue.get(long).unwrap().unwrap();
        assert_eq!(
            (long.state, long.attempts),
            (JobState::Queued, 0),
            "released, attempt not counted"
        );
        assert_eq!(r.queue.running(), 0);
    }

    #[tokio::test]
    async fn a_dead_worker_lease_expires_and_the_job_runs_again() {
        let r = rig().await;
        let id = r.put(json!({}), Duration::from_secs(5)).await;
        // A "worker" leases the job and dies without heartbeating.
        let dead = r.queue.lease().await.unwrap().unwrap();
        let runner = r.start(1000);
        let job = r.until(id, JobState::Succeeded).await;
        assert_eq!(job.attempts, 2);
        // Its late completion is fenced off.
        assert!(matches!(
            r.queue.complete(id, dead.token, json!("late")).await,
            Err(QueueError::StaleLease)
        ));
        runner.shutdown().await;
        let kinds = r.kinds(id).await;
        // The reaper's event and the next attempt's start race; both are recorded.
        assert!(
            kinds.iter().any(|k| k == kind::JOB_LEASE_EXPIRED),
            "{kinds:?}"
        );
        assert_eq!(kinds.last().map(String::as_str), Some(kind::JOB_SUCCEEDED));
        assert!(
            crate::observability::metrics::metrics()
                .lease_expiries
                .get()
                >= 1
        );
    }
}
