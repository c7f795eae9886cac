//! The durable job queue on sled.
//!
//! # Storage
//!
//! | tree        | key                         | value                                         |
//! |-------------|-----------------------------|-----------------------------------------------|
//! | `jobs`      | job id (16 bytes, UUIDv7)   | the job without its steps: a format byte, then the [`record`] encoding |
//! | `steps`     | job id (16) · step name     | one finished step: output (JSON text) and time |
//! | `schedules` | schedule name               | see [`super::schedule`]                       |
//!
//! `jobs` is the only source of truth. Everything the queue must decide quickly is kept
//! in memory and rebuilt from `jobs` when the queue opens: the ready set of each tenant
//! (by priority, due time and id), leases by expiry, running and queued counts per
//! tenant, idempotency keys, each tenant's job ids (for listing) and counts by kind and
//! state. No operation needs a multi-tree sled transaction: a transition is one write
//! of one job record, and a crash between a job record and its step rows leaves at
//! most orphaned step rows, which opening the queue removes.
//!
//! Queued and running jobs are also held in memory whole, so leasing, heartbeats and
//! completions never read sled; a finished job stays in memory until its last write
//! has reached sled, so a read always sees the newest version.
//!
//! # Writes and durability
//!
//! One writer thread (not a tokio worker) applies every write in the order the queue
//! decided it, and flushes while anyone waits for durability: writes that arrive during
//! a flush are applied and made durable together by the next one (group commit). A
//! flush is sled's own (`sync_file_range` on Linux) followed by `fdatasync` of sled's
//! log file, so an acknowledged write is on stable storage, metadata included.
//!
//! * `enqueue`, `enqueue_many`, `cancel` and `retry` return only after their write is
//!   durable.
//! * Leases, heartbeats, steps, completions and failures are not waited for: they
//!   reach disk with the next flush (at most [`IDLE_FLUSH`] later when nobody waits).
//!   A crash can lose the last of them; the job is then still queued or running on
//!   disk and runs again. Delivery is therefore at-least-once, and handlers are
//!   idempotent.
//!
//! With [`FlushPolicy::PerOperation`] every durable write is flushed on its own.
//!
//! So no sled write or flush runs on an async worker: leasing, heartbeats and
//! completions touch only memory and the writer's channel. Reads that may go to sled
//! (finished jobs, listings, scans) are run on a blocking thread by the API through
//! [`Queue::off_thread`].
//!
//! # Order and quotas
//!
//! The next job comes from the highest priority band that has a due job among tenants
//! under their concurrency quota; among the tenants with such a job, turns go
//! round-robin (the tenant after the one served last), and within a tenant the earliest
//! due time, then the lowest id (UUIDv7, so FIFO) goes first. So a tenant with 5,000
//! queued jobs gets one turn like a tenant with one. Each tenant's ready set is ordered
//! by (priority, due, id), so leasing looks at the head of each tenant's set (a few
//! entries per priority band), not at every job.
//!
//! Members may use priorities up to [`MEMBER_MAX_PRIORITY`]; [`INTERACTIVE_PRIORITY`] is
//! kept for the platform's own short jobs a user is waiting to see (reward
//! evaluation), which dedicated workers lease (`Queue::lease_from`), so they start even
//! while long jobs hold every other worker. A tenant may hold at most
//! `EnqueueOptions::max_queued` queued jobs through the enqueues that set it.
//!
//! Fencing: each lease gets a fresh random token. Completing, failing or heartbeating
//! with a token that is no longer the job's (the lease expired and the job was leased
//! again, or it was released) is rejected with [`QueueError::StaleLease`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::Scope;

/// Most queued jobs of a tenant [`Queue::claim_more`] looks through.
pub const CLAIM_SCAN: usize = 2000;

/// How long written-but-unflushed data (completions, leases) may wait for a flush when
/// nobody is waiting for one.
pub const IDLE_FLUSH: Duration = Duration::from_millis(100);

/// The highest priority members may give a job.
pub const MEMBER_MAX_PRIORITY: u8 = 5;

/// The priority of the platform's short jobs a user waits to see (reward evaluation);
/// above what staff may set, leased first and by the interactive workers.
pub const INTERACTIVE_PRIORITY: u8 = 9;

/// Where a job is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    /// Whether the job will never run again on its own.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }

    /// Stable name, as used in metrics and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    /// Whose job it is: a [`Scope`] as text (a tenant id, or `system`). The queue core
    /// treats it as an opaque fairness key; [`Job::scope`] reads it back.
    pub tenant: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub priority: u8,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Attempts granted per run (set at the first staff retry; 0 = `max_attempts`).
    #[serde(default)]
    pub attempts_per_run: u32,
    /// When the job may next run (ms since the epoch).
    pub run_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub timeout_ms: u64,
    pub idempotency_key: Option<String>,
    pub correlation_id: Option<String>,
    /// Who asked for it (a user id), if anyone.
    #[serde(default)]
    pub created_by: Option<String>,
    pub lease_token: Option<u64>,
    pub lease_expires_at: Option<i64>,
    pub cancel_requested: bool,
    pub last_error: Option<String>,
    /// Failed after exhausting its attempts (or with a non-retryable error).
    pub dead: bool,
    pub result: Option<serde_json::Value>,
    /// Names of finished workflow steps with their outputs, so a retry resumes.
    pub steps: Vec<StepRecord>,
}

impl Job {
    /// Whose job it is (`None` only for a record written with a key that is neither a
    /// tenant id nor the system scope, which the API never enqueues).
    pub fn scope(&self) -> Option<Scope> {
        Scope::parse(&self.tenant)
    }
}

/// One finished step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub output: serde_json::Value,
    pub finished_at: i64,
}

/// Options of [`Queue::enqueue`].
#[derive(Debug, Clone)]
pub struct EnqueueOptions {
    pub idempotency_key: Option<String>,
    /// Run no earlier than this (ms since the epoch); `None` = now.
    pub run_at: Option<i64>,
    /// 0 (lowest) – 9 (highest); default 5.
    pub priority: u8,
    pub max_attempts: u32,
    pub timeout: Duration,
    pub correlation_id: Option<String>,
    pub created_by: Option<String>,
    /// Refuse ([`QueueError::TenantFull`]) when the tenant has this many queued jobs
    /// (scheduled ones included); `None` for the platform's own jobs.
    pub max_queued: Option<usize>,
    /// Refuse ([`QueueError::TooManyActive`]) when the tenant has this many queued or
    /// running jobs of these kinds (e.g. AI jobs holding LLM tokens).
    pub max_active_of: Option<(&'static [&'static str], usize)>,
}

impl Default for EnqueueOptions {
    fn default() -> Self {
        Self {
            idempotency_key: None,
            run_at: None,
            priority: 5,
            max_attempts: 3,
            timeout: Duration::from_secs(300),
            correlation_id: None,
            created_by: None,
            max_queued: None,
            max_active_of: None,
        }
    }
}

/// How `fsync` is shared between writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Every durable operation flushes on its own.
    PerOperation,
    /// Concurrent operations share one flush.
    Group,
}

/// Tunables of the queue.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub flush: FlushPolicy,
    /// How long a lease lasts without a heartbeat.
    pub visibility_timeout: Duration,
    /// Retry delay = base × factor^(attempt-1), ± 20 % jitter, capped at `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_factor: f64,
    pub backoff_max: Duration,
    /// How long an idempotency key maps to its job.
    pub idempotency_window: Duration,
    /// Jobs of one tenant running at once; others wait (and other tenants go first).
    pub tenant_concurrency: usize,
    /// Finished jobs older than this are purged.
    pub retention: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            flush: FlushPolicy::Group,
            visibility_timeout: Duration::from_secs(60),
            backoff_base: Duration::from_secs(2),
            backoff_factor: 4.0,
            backoff_max: Duration::from_secs(600),
            idempotency_window: Duration::from_secs(24 * 3600),
            tenant_concurrency: 4,
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Queue failures.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no such job")]
    NotFound,
    /// The caller's lease is no longer the job's (fencing).
    #[error("lease is stale: the job was leased again or finished")]
    StaleLease,
    #[error("job is {}; that transition is not allowed", .0.as_str())]
    InvalidState(JobState),
    #[error("storage: {0}")]
    Storage(String),
    /// The tenant already has `EnqueueOptions::max_queued` queued jobs.
    #[error(
        "this workspace already has {0} queued jobs, the most it may have; wait for some to finish"
    )]
    TenantFull(usize),
    /// The tenant already has `EnqueueOptions::max_active_of` such jobs in flight.
    #[error("this workspace already has {0} such jobs queued or running")]
    TooManyActive(usize),
}

impl From<sled::Error> for QueueError {
    fn from(e: sled::Error) -> Self {
        QueueError::Storage(e.to_string())
    }
}

pub type QueueResult<T> = Result<T, QueueError>;

/// Whether `enqueue` created a job or found one by idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Created(Uuid),
    Existing(Uuid),
}

impl Enqueued {
    pub fn id(self) -> Uuid {
        match self {
            Enqueued::Created(id) | Enqueued::Existing(id) => id,
        }
    }
}

/// A job handed to a worker, with the token that fences its completion.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job: Job,
    pub token: u64,
}

/// What happened to a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Will run again at this time (ms).
    Retrying { run_at: i64 },
    /// No attempts left, or not retryable: a dead letter.
    Dead,
    /// Cancellation had been requested: the job ends cancelled.
    Cancelled,
}

/// Filters of [`Queue::list`].
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<String>,
}

/// Job counts for dashboards.
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    /// (kind, state) → count.
    pub by_kind_state: BTreeMap<(String, JobState), u64>,
    /// Queued jobs whose run time has come.
    pub due: u64,
    /// Age of the oldest due job, in ms.
    pub oldest_due_age_ms: Option<i64>,
    pub dead_letters: u64,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn idem_key(tenant: &str, kind: &str, key: &str) -> String {
    format!("{tenant}\0{kind}\0{key}")
}

fn step_key(id: Uuid, name: &str) -> Vec<u8> {
    [id.as_bytes().as_slice(), name.as_bytes()].concat()
}

/// The on-disk encoding of a job record (tree `jobs`).
///
/// A format byte, then the fields in a fixed order (postcard). The payload and the
/// result are kept as JSON text, so opening the queue decodes a finished job without
/// parsing them. Records written by earlier versions are JSON objects (first byte `{`)
/// and are still read.
mod record {
    use std::borrow::Cow;

    use serde::{Deserialize, Serialize};

    use super::{Job, JobState, QueueError, QueueResult};

    /// The first byte of a record in this encoding.
    pub const V1: u8 = 1;

    #[derive(Serialize, Deserialize)]
    pub struct Record<'a> {
        #[serde(borrow)]
        pub tenant: Cow<'a, str>,
        #[serde(borrow)]
        pub kind: Cow<'a, str>,
        #[serde(borrow)]
        pub payload: Cow<'a, str>,
        pub state: JobState,
        pub priority: u8,
        pub attempts: u32,
        pub max_attempts: u32,
        pub attempts_per_run: u32,
        pub run_at: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub started_at: Option<i64>,
        pub finished_at: Option<i64>,
        pub timeout_ms: u64,
        #[serde(borrow)]
        pub idempotency_key: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub correlation_id: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub created_by: Option<Cow<'a, str>>,
        pub lease_token: Option<u64>,
        pub lease_expires_at: Option<i64>,
        pub cancel_requested: bool,
        #[serde(borrow)]
        pub last_error: Option<Cow<'a, str>>,
        pub dead: bool,
        #[serde(borrow)]
        pub result: Option<Cow<'a, str>>,
    }

    fn corrupt(e: impl std::fmt::Display) -> QueueError {
        QueueError::Storage(format!("corrupt job record: {e}"))
    }

    /// Encodes `job` (without its steps, which live in their own tree).
    pub fn encode(job: &Job) -> Vec<u8> {
        fn b(s: &Option<String>) -> Option<Cow<'_, str>> {
            s.as_deref().map(Cow::Borrowed)
        }
        let r = Record {
            tenant: Cow::Borrowed(&job.tenant),
            kind: Cow::Borrowed(&job.kind),
            payload: Cow::Owned(job.payload.to_string()),
            state: job.state,
            priority: job.priority,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            attempts_per_run: job.attempts_per_run,
            run_at: job.run_at,
            created_at: job.created_at,
            updated_at: job.updated_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            timeout_ms: job.timeout_ms,
            idempotency_key: b(&job.idempotency_key),
            correlation_id: b(&job.correlation_id),
            created_by: b(&job.created_by),
            lease_token: job.lease_token,
            lease_expires_at: job.lease_expires_at,
            cancel_requested: job.cancel_requested,
            last_error: b(&job.last_error),
            dead: job.dead,
            result: job.result.as_ref().map(|v| Cow::Owned(v.to_string())),
        };
        let mut out = vec![V1];
        // Writing to a Vec can't fail, and every field has a serde form.
        out.extend(postcard::to_stdvec(&r).unwrap_or_default());
        out
    }

    /// The fields of a stored record, borrowed from `bytes` (`None` for a legacy JSON
    /// record, which [`decode_legacy`] reads).
    pub fn view(bytes: &[u8]) -> QueueResult<Option<Record<'_>>> {
        match bytes.first() {
            Some(&V1) => postcard::from_bytes(&bytes[1..]).map(Some).map_err(corrupt),
            Some(b'{') => Ok(None),
            _ => Err(corrupt("unknown format")),
        }
    }

    fn json(text: &str) -> QueueResult<serde_json::Value> {
        serde_json::from_str(text).map_err(corrupt)
    }

    /// The whole job of a record (steps empty: they are read separately).
    pub fn to_job(id: uuid::Uuid, r: &Record<'_>) -> QueueResult<Job> {
        let s = |c: &Option<Cow<'_, str>>| c.as_deref().map(str::to_string);
        Ok(Job {
            id,
            tenant: r.tenant.to_string(),
            kind: r.kind.to_string(),
            payload: json(&r.payload)?,
            state: r.state,
            priority: r.priority,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            attempts_per_run: r.attempts_per_run,
            run_at: r.run_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            timeout_ms: r.timeout_ms,
            idempotency_key: s(&r.idempotency_key),
            correlation_id: s(&r.correlation_id),
            created_by: s(&r.created_by),
            lease_token: r.lease_token,
            lease_expires_at: r.lease_expires_at,
            cancel_requested: r.cancel_requested,
            last_error: s(&r.last_error),
            dead: r.dead,
            result: r.result.as_deref().map(json).transpose()?,
            steps: Vec::new(),
        })
    }

    /// A record written by an earlier version (JSON, steps inside).
    pub fn decode_legacy(bytes: &[u8]) -> QueueResult<Job> {
        serde_json::from_slice(bytes).map_err(corrupt)
    }

    #[derive(Serialize, Deserialize)]
    struct Step<'a> {
        #[serde(borrow)]
        output: Cow<'a, str>,
        finished_at: i64,
    }

    pub fn encode_step(output: &serde_json::Value, finished_at: i64) -> Vec<u8> {
        let s = Step {
            output: Cow::Owned(output.to_string()),
            finished_at,
        };
        postcard::to_stdvec(&s).unwrap_or_default()
    }

    pub fn decode_step(bytes: &[u8]) -> QueueResult<(serde_json::Value, i64)> {
        let s: Step<'_> = postcard::from_bytes(bytes).map_err(corrupt)?;
        Ok((json(&s.output)?, s.finished_at))
    }
}

/// A job's place in its tenant's ready set: highest priority first, then the earliest
/// due time, then the lowest id.
type ReadyKey = (Reverse<u8>, i64, Uuid);

fn ready_key(job: &Job) -> ReadyKey {
    (Reverse(job.priority.min(9)), job.run_at, job.id)
}

/// What the queue remembers of every job, finished ones included (counts, purging).
#[derive(Debug, Clone)]
struct Summary {
    tenant: Arc<str>,
    kind: Arc<str>,
    state: JobState,
    dead: bool,
    finished_at: Option<i64>,
}

#[derive(Default)]
struct TenantState {
    ready: BTreeSet<ReadyKey>,
    running: usize,
    /// Every job of the tenant (listing newest first).
    jobs: BTreeSet<Uuid>,
}

impl TenantState {
    /// The first due job in ready order: the head of each priority band, highest first.
    fn best_due(&self, now: i64) -> Option<ReadyKey> {
        let mut from = (Reverse(u8::MAX), i64::MIN, Uuid::nil());
        loop {
            let k = *self.ready.range(from..).next()?;
            if k.1 <= now {
                return Some(k);
            }
            // Not due: nothing later in this band is either.
            let band = k.0 .0;
            if band == 0 {
                return None;
            }
            from = (Reverse(band - 1), i64::MIN, Uuid::nil());
        }
    }
}

/// A queued or running job (or a finished one whose last write has not reached sled).
struct Live {
    job: Job,
    /// The write that stored this version.
    seq: u64,
}

/// The in-memory side of the queue (see the module docs); one lock guards it all.
#[derive(Default)]
struct Mem {
    tenants: HashMap<Arc<str>, TenantState>,
    /// Tenants with at least one ready job.
    ready_tenants: BTreeSet<Arc<str>>,
    ready_total: usize,
    live: HashMap<Uuid, Live>,
    summaries: HashMap<Uuid, Summary>,
    /// Leases by expiry.
    leases: BTreeSet<(i64, Uuid)>,
    /// `tenant \0 kind \0 key` → (job, created ms).
    idem: HashMap<String, (Uuid, i64)>,
    counts: BTreeMap<(Arc<str>, JobState), u64>,
    dead: u64,
    /// Interned kind names.
    kinds: HashMap<String, Arc<str>>,
    seq: u64,
    /// The tenant the last lease served (round-robin turns start after it).
    last_served: Option<Arc<str>>,
}

impl Mem {
    fn intern_tenant(&mut self, tenant: &str) -> Arc<str> {
        match self.tenants.get_key_value(tenant) {
            Some((k, _)) => k.clone(),
            None => {
                let k: Arc<str> = Arc::from(tenant);
                self.tenants.insert(k.clone(), TenantState::default());
                k
            }
        }
    }

    fn intern_kind(&mut self, kind: &str) -> Arc<str> {
        if let Some(k) = self.kinds.get(kind) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(kind);
        self.kinds.insert(kind.to_string(), k.clone());
        k
    }

    fn tenant(&mut self, tenant: &str) -> &mut TenantState {
        let key = self.intern_tenant(tenant);
        self.tenants.entry(key).or_default()
    }

    fn count(&mut self, kind: &Arc<str>, state: JobState, dead: bool, delta: i64) {
        let n = self.counts.entry((kind.clone(), state)).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            self.counts.remove(&(kind.clone(), state));
        }
        if dead {
            self.dead = self.dead.saturating_add_signed(delta);
        }
    }

    /// Moves `job`'s summary and counts to its current state.
    fn summarize(&mut self, job: &Job) {
        if let Some(old) = self.summaries.get(&job.id).cloned() {
            self.count(&old.kind, old.state, old.dead, -1);
        }
        let tenant = self.intern_tenant(&job.tenant);
        let kind = self.intern_kind(&job.kind);
        self.count(&kind, job.state, job.dead, 1);
        self.summaries.insert(
            job.id,
            Summary {
                tenant,
                kind,
                state: job.state,
                dead: job.dead,
                finished_at: job.finished_at,
            },
        );
    }

    fn add_ready(&mut self, job: &Job) {
        let key = self.intern_tenant(&job.tenant);
        let t = self.tenants.entry(key.clone()).or_default();
        if t.ready.insert(ready_key(job)) {
            self.ready_total += 1;
        }
        self.ready_tenants.insert(key);
    }

    fn remove_ready(&mut self, tenant: &str, key: &ReadyKey) -> bool {
        let Some(t) = self.tenants.get_mut(tenant) else {
            return false;
        };
        let removed = t.ready.remove(key);
        let empty = t.ready.is_empty();
        if removed {
            self.ready_total -= 1;
        }
        if empty {
            self.ready_tenants.remove(tenant);
        }
        removed
    }

    fn add_lease(&mut self, job: &Job) {
        if let Some(exp) = job.lease_expires_at {
            self.leases.insert((exp, job.id));
        }
        self.tenant(&job.tenant).running += 1;
    }

    fn remove_lease(&mut self, job: &Job) {
        if let Some(exp) = job.lease_expires_at {
            self.leases.remove(&(exp, job.id));
        }
        if let Some(t) = self.tenants.get_mut(job.tenant.as_str()) {
            t.running = t.running.saturating_sub(1);
        }
    }

    /// Registers a job read from disk or just created.
    fn register(&mut self, job: &Job, idem_window: i64, now: i64) {
        self.tenant(&job.tenant).jobs.insert(job.id);
        self.summarize(job);
        if let Some(k) = &job.idempotency_key {
            if now - job.created_at < idem_window {
                let key = idem_key(&job.tenant, &job.kind, k);
                // The newest job with a key owns it.
                let newer = self
                    .idem
                    .get(&key)
                    .is_none_or(|(_, created)| *created <= job.created_at);
                if newer {
                    self.idem.insert(key, (job.id, job.created_at));
                }
            }
        }
        match job.state {
            JobState::Queued => self.add_ready(job),
            JobState::Running => self.add_lease(job),
            _ => {}
        }
    }

    /// Forgets a purged job.
    fn unregister(&mut self, id: Uuid) {
        if let Some(s) = self.summaries.remove(&id) {
            self.count(&s.kind, s.state, s.dead, -1);
            if let Some(t) = self.tenants.get_mut(&s.tenant) {
                t.jobs.remove(&id);
            }
        }
        self.live.remove(&id);
    }
}

/// A write for the writer thread, in decision order.
enum Op {
    /// Store a job record; `evict` when the job is finished (it leaves memory once this
    /// write is in sled).
    Put {
        id: Uuid,
        bytes: Vec<u8>,
        seq: u64,
        evict: bool,
    },
    /// Remove a job and its steps (purge).
    Remove { id: Uuid },
    /// Store one finished step.
    Step { key: Vec<u8>, bytes: Vec<u8> },
    /// Answer once everything sent before is durable.
    Sync(tokio::sync::oneshot::Sender<Result<(), String>>),
    /// Flush and stop (the queue is being dropped).
    Shutdown,
}

/// The writer thread: applies [`Op`]s in order, flushes while anyone waits.
struct Writer {
    db: sled::Db,
    jobs: sled::Tree,
    steps: sled::Tree,
    /// sled's log file, to `fdatasync` after sled's own `sync_file_range` flush.
    file: Option<std::fs::File>,
    policy: FlushPolicy,
    mem: Arc<Mutex<Mem>>,
}

/// Writes of one batch, not yet applied.
#[derive(Default)]
struct Pending {
    jobs: sled::Batch,
    steps: sled::Batch,
    removed: Vec<Uuid>,
    /// Finished jobs (and the write that finished them) to drop from memory.
    evict: Vec<(Uuid, u64)>,
}

/// Most ops applied between two checks for waiters.
const WRITE_BATCH: usize = 4096;

impl Writer {
    fn run(self, rx: mpsc::Receiver<Op>) {
        let mut dirty = false;
        loop {
            let first = if dirty {
                match rx.recv_timeout(IDLE_FLUSH) {
                    Ok(op) => op,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(e) = self.flush() {
                            tracing::error!(error = %e, "queue flush failed");
                        }
                        dirty = false;
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(op) => op,
                    Err(_) => break,
                }
            };
            let mut batch = vec![first];
            while batch.len() < WRITE_BATCH {
                match rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            let stop = batch.iter().any(|op| matches!(op, Op::Shutdown));
            dirty |= self.apply(batch);
            if stop {
                break;
            }
        }
        if dirty {
            let _ = self.flush();
        }
    }

    /// Applies a batch; returns whether something written is not flushed yet.
    fn apply(&self, batch: Vec<Op>) -> bool {
        let mut pending = Pending::default();
        let mut dirty = false;
        let mut waiters = Vec::new();
        for op in batch {
            match op {
                Op::Put {
                    id,
                    bytes,
                    seq,
                    evict,
                } => {
                    pending.jobs.insert(id.as_bytes(), bytes);
                    if evict {
                        pending.evict.push((id, seq));
                    }
                    dirty = true;
                }
                Op::Remove { id } => {
                    pending.jobs.remove(id.as_bytes());
                    pending.removed.push(id);
                    dirty = true;
                }
                Op::Step { key, bytes } => {
                    pending.steps.insert(key, bytes);
                    dirty = true;
                }
                Op::Shutdown => {}
                Op::Sync(w) => {
                    if self.policy == FlushPolicy::PerOperation {
                        // One flush for each durable operation, none shared.
                        let r = self
                            .write(std::mem::take(&mut pending))
                            .and_then(|_| self.flush());
                        dirty = false;
                        let _ = w.send(r);
                    } else {
                        waiters.push(w);
                    }
                }
            }
        }
        let written = self.write(pending);
        if waiters.is_empty() {
            if let Err(e) = written {
                tracing::error!(error = %e, "queue write failed");
            }
            return dirty;
        }
        let r = written.and_then(|_| self.flush());
        for w in waiters {
            let _ = w.send(r.clone());
        }
        false
    }

    /// Applies what a batch wrote to sled, then lets go of finished jobs whose newest
    /// version is now there.
    fn write(&self, p: Pending) -> Result<(), String> {
        self.jobs.apply_batch(p.jobs).map_err(|e| e.to_string())?;
        self.steps.apply_batch(p.steps).map_err(|e| e.to_string())?;
        for id in &p.removed {
            for key in self.steps.scan_prefix(id.as_bytes()).keys() {
                let key = key.map_err(|e| e.to_string())?;
                self.steps.remove(key).map_err(|e| e.to_string())?;
            }
        }
        if !p.evict.is_empty() {
            let mut m = lock(&self.mem);
            for (id, seq) in p.evict {
                if m.live.get(&id).is_some_and(|l| l.seq == seq) {
                    m.live.remove(&id);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), String> {
        self.db.flush().map_err(|e| e.to_string())?;
        if let Some(f) = &self.file {
            f.sync_data().map_err(|e| format!("fdatasync: {e}"))?;
        }
        Ok(())
    }
}

fn lock(m: &Mutex<Mem>) -> MutexGuard<'_, Mem> {
    // The guarded maps are updated in one place per transition; a panic elsewhere can't
    // leave a half-made change behind that later code would trip over.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Inner {
    /// Joined on drop, so the directory is unlocked when the last handle goes.
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    db: sled::Db,
    jobs: sled::Tree,
    steps: sled::Tree,
    config: QueueConfig,
    mem: Arc<Mutex<Mem>>,
    tx: mpsc::Sender<Op>,
    writer_alive: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.tx.send(Op::Shutdown);
        let handle = self
            .writer
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// The queue. Cheap to clone; one per process (sled locks its directory).
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
    /// Wakes workers when work arrives or a slot frees up.
    pub notify: Arc<tokio::sync::Notify>,
}

impl Queue {
    /// Opens (or creates) the queue at `path`.
    pub fn open(path: &Path, config: QueueConfig) -> QueueResult<Self> {
        std::fs::create_dir_all(path)
            .map_err(|e| QueueError::Storage(format!("{}: {e}", path.display())))?;
        // No periodic flush of sled's own: the writer thread flushes (module docs).
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(None)
            .open()
            .map_err(|e| {
                QueueError::Storage(format!(
                    "cannot open the job queue at {} ({e}); is another afterresume process using it?",
                    path.display()
                ))
            })?;
        Self::from_db(db, Some(path.join("db")), config)
    }

    /// A throw-away queue (tests).
    pub fn temporary(config: QueueConfig) -> QueueResult<Self> {
        Self::from_db(sled::Config::new().temporary(true).open()?, None, config)
    }

    fn from_db(db: sled::Db, file: Option<PathBuf>, config: QueueConfig) -> QueueResult<Self> {
        let jobs = db.open_tree("jobs")?;
        let steps = db.open_tree("steps")?;
        let mem = Arc::new(Mutex::new(Mem::default()));
        Self::rebuild(&db, &jobs, &steps, &mem, &config)?;
        let file = match file {
            Some(p) => Some(
                std::fs::File::open(&p)
                    .map_err(|e| QueueError::Storage(format!("{}: {e}", p.display())))?,
            ),
            None => None,
        };
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            db: db.clone(),
            jobs: jobs.clone(),
            steps: steps.clone(),
            file,
            policy: config.flush,
            mem: mem.clone(),
        };
        let alive = Arc::new(AtomicBool::new(true));
        let alive_w = alive.clone();
        let handle = std::thread::Builder::new()
            .name("queue-writer".into())
            .spawn(move || {
                writer.run(rx);
                alive_w.store(false, Ordering::Release);
            })
            .map_err(|e| QueueError::Storage(format!("cannot start the queue writer: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(Some(handle)),
                db,
                jobs,
                steps,
                config,
                mem,
                tx,
                writer_alive: alive,
            }),
            notify: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Reads every job into memory; converts records of earlier versions (JSON, with
    /// the steps inside and four index trees beside) and drops their index trees;
    /// removes steps whose job is gone.
    fn rebuild(
        db: &sled::Db,
        jobs: &sled::Tree,
        steps: &sled::Tree,
        mem: &Mutex<Mem>,
        config: &QueueConfig,
    ) -> QueueResult<()> {
        let now = now_ms();
        let window = ms(config.idempotency_window);
        let mut m = lock(mem);
        let mut legacy = Vec::new();
        for item in jobs.iter() {
            let (k, v) = item?;
            let id = Uuid::from_slice(&k)
                .map_err(|e| QueueError::Storage(format!("corrupt job key: {e}")))?;
            let job = match record::view(&v)? {
                Some(r) if r.state.is_terminal() => {
                    // A finished job is only summarized: no JSON is parsed.
                    let tenant = m.intern_tenant(&r.tenant);
                    let kind = m.intern_kind(&r.kind);
                    m.tenants.entry(tenant.clone()).or_default().jobs.insert(id);
                    m.count(&kind, r.state, r.dead, 1);
                    m.summaries.insert(
                        id,
                        Summary {
                            tenant,
                            kind,
                            state: r.state,
                            dead: r.dead,
                            finished_at: r.finished_at,
                        },
                    );
                    if let Some(key) = &r.idempotency_key {
                        if now - r.created_at < window {
                            let key = idem_key(&r.tenant, &r.kind, key);
                            if m.idem.get(&key).is_none_or(|(_, c)| *c <= r.created_at) {
                                m.idem.insert(key, (id, r.created_at));
                            }
                        }
                    }
                    continue;
                }
                Some(r) => {
                    let mut job = record::to_job(id, &r)?;
                    job.steps = read_steps(steps, id)?;
                    job
                }
                None => {
                    let job = record::decode_legacy(&v)?;
                    legacy.push(job.clone());
                    job
                }
            };
            m.register(&job, window, now);
            if !job.state.is_terminal() {
                m.live.insert(id, Live { job, seq: 0 });
            }
        }
        drop(m);
        for job in legacy {
            for s in &job.steps {
                steps.insert(
                    step_key(job.id, &s.name),
                    record::encode_step(&s.output, s.finished_at),
                )?;
            }
            jobs.insert(job.id.as_bytes(), record::encode(&job))?;
        }
        for old in ["ready", "leases", "idem", "by_tenant"] {
            if db.tree_names().iter().any(|n| n.as_ref() == old.as_bytes()) {
                db.drop_tree(old)?;
            }
        }
        let m = lock(mem);
        let mut orphans = Vec::new();
        for key in steps.iter().keys() {
            let key = key?;
            let owned = Uuid::from_slice(&key[..16.min(key.len())])
                .is_ok_and(|id| m.summaries.contains_key(&id));
            if !owned {
                orphans.push(key);
            }
        }
        drop(m);
        for key in orphans {
            steps.remove(key)?;
        }
        db.flush()?;
        Ok(())
    }

    /// The queue's tunables.
    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// A named tree of the same database (schedules).
    pub(crate) fn tree(&self, name: &str) -> QueueResult<sled::Tree> {
        Ok(self.inner.db.open_tree(name)?)
    }

    fn mem(&self) -> MutexGuard<'_, Mem> {
        lock(&self.inner.mem)
    }

    fn send(&self, op: Op) -> QueueResult<()> {
        self.inner
            .tx
            .send(op)
            .map_err(|_| QueueError::Storage("the queue writer has stopped".into()))
    }

    /// Stores `job`'s new version (called with the memory lock held, so writes reach
    /// the writer in the order they were decided).
    fn store(&self, m: &mut Mem, job: Job) -> QueueResult<()> {
        m.seq += 1;
        let seq = m.seq;
        let evict = job.state.is_terminal();
        let bytes = record::encode(&job);
        let id = job.id;
        m.summarize(&job);
        m.live.insert(id, Live { job, seq });
        self.send(Op::Put {
            id,
            bytes,
            seq,
            evict,
        })
    }

    /// Waits until everything written so far is on disk.
    pub(crate) async fn durable(&self) -> QueueResult<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Op::Sync(tx))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(QueueError::Storage(e)),
            Err(_) => Err(QueueError::Storage("the queue writer has stopped".into())),
        }
    }

    /// Runs `read` (listing, scanning: work that reads sled for finished jobs) on a
    /// blocking thread, so a slow read never holds up an async worker.
    pub async fn off_thread<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Queue) -> QueueResult<T> + Send + 'static,
    ) -> QueueResult<T> {
        let q = self.clone();
        tokio::task::spawn_blocking(move || read(&q))
            .await
            .map_err(|e| QueueError::Storage(format!("queue read task failed: {e}")))?
    }

    /// Reads a job.
    pub fn get(&self, id: Uuid) -> QueueResult<Option<Job>> {
        {
            let m = self.mem();
            if let Some(l) = m.live.get(&id) {
                return Ok(Some(l.job.clone()));
            }
            // Memory knows every job; a withdrawn or purged one may still be in sled
            // until the writer gets to its removal.
            if !m.summaries.contains_key(&id) {
                return Ok(None);
            }
        }
        self.read(id)
    }

    /// A job as sled has it (with its steps).
    fn read(&self, id: Uuid) -> QueueResult<Option<Job>> {
        let Some(bytes) = self.inner.jobs.get(id.as_bytes())? else {
            return Ok(None);
        };
        let mut job = match record::view(&bytes)? {
            Some(r) => record::to_job(id, &r)?,
            None => record::decode_legacy(&bytes)?,
        };
        job.steps = read_steps(&self.inner.steps, id)?;
        Ok(Some(job))
    }

    fn new_job(
        tenant: &str,
        kind: &str,
        payload: serde_json::Value,
        opts: &EnqueueOptions,
        now: i64,
    ) -> Job {
        Job {
            id: Uuid::now_v7(),
            tenant: tenant.to_string(),
            kind: kind.to_string(),
            payload,
            state: JobState::Queued,
            priority: opts.priority.min(9),
            attempts: 0,
            max_attempts: opts.max_attempts.max(1),
            attempts_per_run: 0,
            run_at: opts.run_at.unwrap_or(now),
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            timeout_ms: u64::try_from(opts.timeout.as_millis()).unwrap_or(u64::MAX),
            idempotency_key: opts.idempotency_key.clone(),
            correlation_id: opts.correlation_id.clone(),
            created_by: opts.created_by.clone(),
            lease_token: None,
            lease_expires_at: None,
            cancel_requested: false,
            last_error: None,
            dead: false,
            result: None,
            steps: Vec::new(),
        }
    }

    /// Adds a job unless its idempotency key names a live one (memory lock held), and
    /// unless its tenant already holds `max_queued` queued jobs.
    fn add(&self, m: &mut Mem, job: Job, now: i64, opts: &EnqueueOptions) -> QueueResult<Enqueued> {
        let window = ms(self.inner.config.idempotency_window);
        if let Some(k) = &job.idempotency_key {
            let key = idem_key(&job.tenant, &job.kind, k);
            if let Some((existing, created)) = m.idem.get(&key) {
                // A purged job frees its key even inside the window.
                if now - created < window && m.summaries.contains_key(existing) {
                    return Ok(Enqueued::Existing(*existing));
                }
            }
        }
        if let Some(cap) = opts.max_queued {
            if m.tenants
                .get(job.tenant.as_str())
                .map_or(0, |t| t.ready.len())
                >= cap
            {
                return Err(QueueError::TenantFull(cap));
            }
        }
        if let Some((kinds, cap)) = opts.max_active_of {
            // Every live job is held in memory; AI enqueues are rare next to leases.
            let active = m
                .live
                .values()
                .filter(|l| {
                    !l.job.state.is_terminal()
                        && l.job.tenant == job.tenant
                        && kinds.contains(&l.job.kind.as_str())
                })
                .count();
            if active >= cap {
                return Err(QueueError::TooManyActive(cap));
            }
        }
        let id = job.id;
        m.register(&job, window, now);
        self.store(m, job)?;
        Ok(Enqueued::Created(id))
    }

    /// Adds a job; returns once it is durable. An idempotency key seen for the same
    /// tenant and kind within the window returns the existing job instead.
    pub async fn enqueue(
        &self,
        tenant: &str,
        kind: &str,
        payload: serde_json::Value,
        opts: EnqueueOptions,
    ) -> QueueResult<Enqueued> {
        let now = now_ms();
        let job = Self::new_job(tenant, kind, payload, &opts, now);
        let outcome = {
            let mut m = self.mem();
            self.add(&mut m, job, now, &opts)?
        };
        // Also for an existing job: its creator may not have seen its flush finish yet.
        self.durable().await?;
        if matches!(outcome, Enqueued::Created(_)) {
            self.notify.notify_waiters();
        }
        Ok(outcome)
    }

    /// Adds several jobs with one durable write; returns their outcomes in order. A job
    /// refused for its tenant's `max_queued` stops the batch with that error; the jobs
    /// before it stay queued.
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> QueueResult<Vec<Enqueued>> {
        let now = now_ms();
        let (outcomes, refused) = {
            let mut m = self.mem();
            let mut out = Vec::with_capacity(jobs.len());
            let mut refused = None;
            for j in jobs {
                let job = Self::new_job(&j.tenant, &j.kind, j.payload, &j.options, now);
                match self.add(&mut m, job, now, &j.options) {
                    Ok(o) => out.push(o),
                    Err(e) => {
                        refused = Some(e);
                        break;
                    }
                }
            }
            (out, refused)
        };
        self.durable().await?;
        if outcomes.iter().any(|o| matches!(o, Enqueued::Created(_))) {
            self.notify.notify_waiters();
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }

    /// Leases the next due job whose tenant is under its concurrency quota (see the
    /// module docs for the order).
    pub async fn lease(&self) -> QueueResult<Option<Lease>> {
        self.lease_from(0).await
    }

    /// [`Queue::lease`] among jobs of priority `min_priority` and above.
    pub async fn lease_from(&self, min_priority: u8) -> QueueResult<Option<Lease>> {
        let now = now_ms();
        let quota = self.inner.config.tenant_concurrency;
        let mut m = self.mem();
        // In the best band: the first tenant after the one served last, else (wrapping
        // around) the first one.
        let mut band: Option<u8> = None;
        let mut next: Option<(ReadyKey, Arc<str>)> = None;
        let mut first: Option<(ReadyKey, Arc<str>)> = None;
        for name in &m.ready_tenants {
            let Some(t) = m.tenants.get(name) else {
                continue;
            };
            if t.running >= quota {
                continue;
            }
            let Some(k) = t.best_due(now) else {
                continue;
            };
            let p = k.0 .0;
            if p < min_priority || band.is_some_and(|b| p < b) {
                continue;
            }
            if band.is_none_or(|b| p > b) {
                band = Some(p);
                next = None;
                first = None;
            }
            if first.is_none() {
                first = Some((k, name.clone()));
            }
            if next.is_none() && m.last_served.as_ref().is_none_or(|last| name > last) {
                next = Some((k, name.clone()));
            }
        }
        let Some((key, tenant)) = next.or(first) else {
            return Ok(None);
        };
        m.remove_ready(&tenant, &key);
        m.last_served = Some(tenant);
        let id = key.2;
        let Some(mut job) = m.live.get(&id).map(|l| l.job.clone()) else {
            return Err(QueueError::Storage(format!(
                "queued job {id} is not in memory"
            )));
        };
        let token: u64 = rand::random();
        job.state = JobState::Running;
        job.attempts += 1;
        job.lease_token = Some(token);
        job.lease_expires_at = Some(now + ms(self.inner.config.visibility_timeout));
        job.started_at = Some(now);
        job.updated_at = now;
        m.add_lease(&job);
        self.store(&mut m, job.clone())?;
        Ok(Some(Lease { job, token }))
    }

    /// Makes a queued job due now (it was enqueued to run later); returns whether it
    /// was waiting. Not waited for: if a crash loses this, the job runs at its
    /// original time.
    pub fn run_now(&self, id: Uuid) -> QueueResult<bool> {
        let now = now_ms();
        let mut m = self.mem();
        let Some(live) = m.live.get(&id) else {
            return Ok(false);
        };
        if live.job.state != JobState::Queued || live.job.run_at <= now {
            return Ok(false);
        }
        let mut job = live.job.clone();
        m.remove_ready(&job.tenant, &ready_key(&job));
        job.run_at = now;
        job.updated_at = now;
        m.add_ready(&job);
        self.store(&mut m, job)?;
        drop(m);
        self.notify.notify_waiters();
        Ok(true)
    }

    /// Takes back a queued job that has not run, as if it had never been enqueued (its
    /// idempotency key is free again); returns whether it was withdrawn. Not waited
    /// for: if a crash loses this, the job still runs.
    pub fn withdraw(&self, id: Uuid) -> QueueResult<bool> {
        let mut m = self.mem();
        let Some(live) = m.live.get(&id) else {
            return Ok(false);
        };
        if live.job.state != JobState::Queued || live.job.attempts > 0 {
            return Ok(false);
        }
        let job = live.job.clone();
        m.remove_ready(&job.tenant, &ready_key(&job));
        if let Some(k) = &job.idempotency_key {
            let key = idem_key(&job.tenant, &job.kind, k);
            if m.idem.get(&key).is_some_and(|(owner, _)| *owner == id) {
                m.idem.remove(&key);
            }
        }
        m.unregister(id);
        self.send(Op::Remove { id })?;
        Ok(true)
    }

    /// Leases up to `max` more due jobs of the same tenant and kind as `leader` for which
    /// `matches` holds, in queue order: a worker that handles jobs together (one user's
    /// reward evaluations, say) takes them in one go. The extra leases are the caller's
    /// to complete or fail; they count as running jobs of the tenant meanwhile. At most
    /// [`CLAIM_SCAN`] queued jobs of the tenant are looked at.
    pub fn claim_more(
        &self,
        leader: &Job,
        max: usize,
        matches: impl Fn(&Job) -> bool,
    ) -> QueueResult<Vec<Lease>> {
        let now = now_ms();
        let expires = now + ms(self.inner.config.visibility_timeout);
        let mut m = self.mem();
        let Some(t) = m.tenants.get(leader.tenant.as_str()) else {
            return Ok(Vec::new());
        };
        let keys: Vec<ReadyKey> = t
            .ready
            .iter()
            .take(CLAIM_SCAN)
            .filter(|k| k.1 <= now)
            .copied()
            .collect();
        let mut out = Vec::new();
        for key in keys {
            if out.len() >= max {
                break;
            }
            let Some(job) = m.live.get(&key.2).map(|l| &l.job) else {
                continue;
            };
            if job.kind != leader.kind || job.cancel_requested || !matches(job) {
                continue;
            }
            let mut job = job.clone();
            m.remove_ready(&job.tenant, &key);
            let token: u64 = rand::random();
            job.state = JobState::Running;
            job.attempts += 1;
            job.lease_token = Some(token);
            job.lease_expires_at = Some(expires);
            job.started_at = Some(now);
            job.updated_at = now;
            m.add_lease(&job);
            self.store(&mut m, job.clone())?;
            out.push(Lease { job, token });
        }
        Ok(out)
    }

    /// Applies `f` to a running job whose lease is `token`; stores and returns it.
    fn with_lease<T>(
        &self,
        id: Uuid,
        token: u64,
        f: impl FnOnce(&Self, &mut Mem, &mut Job) -> T,
    ) -> QueueResult<(Job, T)> {
        let mut m = self.mem();
        let Some(live) = m.live.get(&id) else {
            drop(m);
            return match self.read(id)? {
                Some(_) => Err(QueueError::StaleLease),
                None => Err(QueueError::NotFound),
            };
        };
        if live.job.state != JobState::Running || live.job.lease_token != Some(token) {
            return Err(QueueError::StaleLease);
        }
        let mut job = live.job.clone();
        let out = f(self, &mut m, &mut job);
        job.updated_at = now_ms();
        self.store(&mut m, job.clone())?;
        Ok((job, out))
    }

    /// Extends a lease; returns whether cancellation was requested.
    pub fn heartbeat(&self, id: Uuid, token: u64) -> QueueResult<bool> {
        let expires = now_ms() + ms(self.inner.config.visibility_timeout);
        let (job, _) = self.with_lease(id, token, |_, m, job| {
            if let Some(old) = job.lease_expires_at {
                m.leases.remove(&(old, id));
            }
            m.leases.insert((expires, id));
            job.lease_expires_at = Some(expires);
        })?;
        Ok(job.cancel_requested)
    }

    /// Records a finished step (so a retry resumes after it). Only the step is written.
    pub fn record_step(
        &self,
        id: Uuid,
        token: u64,
        name: &str,
        output: serde_json::Value,
    ) -> QueueResult<()> {
        let mut m = self.mem();
        let Some(live) = m.live.get_mut(&id) else {
            return Err(QueueError::StaleLease);
        };
        if live.job.state != JobState::Running || live.job.lease_token != Some(token) {
            return Err(QueueError::StaleLease);
        }
        let finished_at = now_ms();
        let bytes = record::encode_step(&output, finished_at);
        live.job.steps.retain(|s| s.name != name);
        live.job.steps.push(StepRecord {
            name: name.to_string(),
            output,
            finished_at,
        });
        self.send(Op::Step {
            key: step_key(id, name),
            bytes,
        })
    }

    fn finish(m: &mut Mem, job: &mut Job, state: JobState) {
        m.remove_lease(job);
        job.state = state;
        job.lease_token = None;
        job.lease_expires_at = None;
        job.finished_at = Some(now_ms());
    }

    /// Marks a job succeeded (or cancelled, if cancellation was requested meanwhile).
    /// Not waited for: the outcome reaches disk with the next flush (module docs).
    pub async fn complete(
        &self,
        id: Uuid,
        token: u64,
        result: serde_json::Value,
    ) -> QueueResult<Job> {
        let (job, _) = self.with_lease(id, token, |_, m, job| {
            let state = if job.cancel_requested {
                JobState::Cancelled
            } else {
                JobState::Succeeded
            };
            Self::finish(m, job, state);
            job.result = Some(result);
        })?;
        self.notify.notify_waiters();
        Ok(job)
    }

    /// Ends a running job as cancelled (the worker honoured a cancellation request).
    pub async fn finish_cancelled(&self, id: Uuid, token: u64) -> QueueResult<Job> {
        let (job, _) = self.with_lease(id, token, |_, m, job| {
            Self::finish(m, job, JobState::Cancelled)
        })?;
        self.notify.notify_waiters();
        Ok(job)
    }

    fn backoff_ms(&self, attempt: u32) -> i64 {
        let c = &self.inner.config;
        let base = c.backoff_base.as_millis() as f64;
        let raw = base * c.backoff_factor.powi(attempt.saturating_sub(1) as i32);
        let capped = raw.min(c.backoff_max.as_millis() as f64);
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        (capped * jitter) as i64
    }

    /// Records a failed attempt: retried with backoff while attempts remain and the
    /// error is retryable, else a dead letter. Returns the job as it now stands.
    pub async fn fail(
        &self,
        id: Uuid,
        token: u64,
        error: &str,
        retryable: bool,
    ) -> QueueResult<(Job, FailOutcome)> {
        let now = now_ms();
        let out = self.with_lease(id, token, |q, m, job| {
            q.fail_locked(m, job, error, retryable, now)
        })?;
        self.notify.notify_waiters();
        Ok(out)
    }

    fn fail_locked(
        &self,
        m: &mut Mem,
        job: &mut Job,
        error: &str,
        retryable: bool,
        now: i64,
    ) -> FailOutcome {
        job.last_error = Some(error.chars().take(2000).collect());
        if job.cancel_requested {
            Self::finish(m, job, JobState::Cancelled);
            return FailOutcome::Cancelled;
        }
        if retryable && job.attempts < job.max_attempts {
            m.remove_lease(job);
            let run_at = now + self.backoff_ms(job.attempts);
            job.state = JobState::Queued;
            job.lease_token = None;
            job.lease_expires_at = None;
            job.run_at = run_at;
            m.add_ready(job);
            FailOutcome::Retrying { run_at }
        } else {
            Self::finish(m, job, JobState::Failed);
            job.dead = true;
            FailOutcome::Dead
        }
    }

    /// Hands a running job back unfinished (graceful shutdown): it is queued again at
    /// once and the interrupted attempt is not counted.
    pub async fn release(&self, id: Uuid, token: u64) -> QueueResult<Job> {
        let now = now_ms();
        let (job, _) = self.with_lease(id, token, |_, m, job| {
            m.remove_lease(job);
            job.state = JobState::Queued;
            job.attempts = job.attempts.saturating_sub(1);
            job.lease_token = None;
            job.lease_expires_at = None;
            job.run_at = now;
            m.add_ready(job);
        })?;
        // A release happens at shutdown, just before the final flush; wait for it anyway
        // so a released job is never lost between the two.
        self.durable().await?;
        self.notify.notify_waiters();
        Ok(job)
    }

    /// Requeues (or dead-letters) jobs whose lease expired: their worker died.
    /// Returns the jobs handled, as they now stand.
    pub async fn reap_expired(&self) -> QueueResult<Vec<(Job, FailOutcome)>> {
        let now = now_ms();
        let expired: Vec<Uuid> = self
            .mem()
            .leases
            .range(..(now + 1, Uuid::nil()))
            .map(|(_, id)| *id)
            .collect();
        let mut reaped = Vec::new();
        for id in expired {
            let token = {
                let m = self.mem();
                match m.live.get(&id) {
                    Some(l) if l.job.lease_expires_at.is_some_and(|t| t <= now) => {
                        l.job.lease_token
                    }
                    _ => None,
                }
            };
            let Some(token) = token else { continue };
            match self.with_lease(id, token, |q, m, job| {
                q.fail_locked(
                    m,
                    job,
                    "lease expired: the worker stopped responding",
                    true,
                    now,
                )
            }) {
                Ok(r) => reaped.push(r),
                Err(QueueError::StaleLease) | Err(QueueError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        if !reaped.is_empty() {
            self.durable().await?;
            self.notify.notify_waiters();
        }
        Ok(reaped)
    }

    /// A job for a staff or owner action: from memory, else from sled (then kept in
    /// memory again while it changes).
    fn load_for_change(&self, id: Uuid) -> QueueResult<Job> {
        if let Some(l) = self.mem().live.get(&id) {
            return Ok(l.job.clone());
        }
        self.read(id)?.ok_or(QueueError::NotFound)
    }

    /// Cancels a queued job at once, or asks a running one to stop (cooperatively).
    pub async fn cancel(&self, id: Uuid) -> QueueResult<Job> {
        let loaded = self.load_for_change(id)?;
        let job = {
            let mut m = self.mem();
            // The newest version: it may have moved on since it was loaded.
            let mut job = m.live.get(&id).map(|l| l.job.clone()).unwrap_or(loaded);
            let now = now_ms();
            match job.state {
                JobState::Queued => {
                    m.remove_ready(&job.tenant, &ready_key(&job));
                    job.state = JobState::Cancelled;
                    job.finished_at = Some(now);
                }
                JobState::Running => job.cancel_requested = true,
                s => return Err(QueueError::InvalidState(s)),
            }
            job.updated_at = now;
            self.store(&mut m, job.clone())?;
            job
        };
        self.durable().await?;
        Ok(job)
    }

    /// Puts a failed or cancelled job back in the queue with a fresh budget of attempts
    /// (staff retry).
    /// Finished steps are kept, so the workflow resumes where it stopped.
    pub async fn retry(&self, id: Uuid) -> QueueResult<Job> {
        let loaded = self.load_for_change(id)?;
        let now = now_ms();
        let job = {
            let mut m = self.mem();
            let mut job = m.live.get(&id).map(|l| l.job.clone()).unwrap_or(loaded);
            if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
                return Err(QueueError::InvalidState(job.state));
            }
            // A fresh budget of attempts on top of those spent, so the history of
            // attempts stays visible.
            let budget = if job.attempts_per_run == 0 {
                job.max_attempts
            } else {
                job.attempts_per_run
            };
            job.attempts_per_run = budget;
            job.max_attempts = job.attempts + budget;
            job.state = JobState::Queued;
            job.dead = false;
            job.cancel_requested = false;
            job.finished_at = None;
            job.run_at = now;
            job.updated_at = now;
            m.add_ready(&job);
            self.store(&mut m, job.clone())?;
            job
        };
        self.durable().await?;
        self.notify.notify_waiters();
        Ok(job)
    }

    /// The ids of `tenant`'s jobs older than `before` (all when `None`), newest first,
    /// `n` at most.
    fn ids_before(&self, tenant: &str, before: Option<Uuid>, n: usize) -> Vec<Uuid> {
        let m = self.mem();
        let Some(t) = m.tenants.get(tenant) else {
            return Vec::new();
        };
        match before {
            Some(c) => t.jobs.range(..c).rev().take(n).copied().collect(),
            None => t.jobs.iter().rev().take(n).copied().collect(),
        }
    }

    /// One page of a tenant's jobs, newest first, starting after `cursor` (a job id).
    pub fn list(
        &self,
        tenant: &str,
        filter: &JobFilter,
        cursor: Option<Uuid>,
        limit: usize,
    ) -> QueueResult<Vec<Job>> {
        let mut out = Vec::new();
        let mut before = cursor;
        loop {
            // In chunks, so sled is read without holding the memory lock.
            let ids = self.ids_before(tenant, before, 256);
            let Some(last) = ids.last().copied() else {
                return Ok(out);
            };
            for id in ids {
                let Some(job) = self.get(id)? else { continue };
                if filter.state.is_some_and(|s| s != job.state)
                    || filter.kind.as_ref().is_some_and(|k| *k != job.kind)
                {
                    continue;
                }
                out.push(job);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            before = Some(last);
        }
    }

    /// How many of a tenant's jobs are queued and running.
    pub fn active_counts(&self, tenant: &str) -> (u64, u64) {
        let m = self.mem();
        m.tenants
            .get(tenant)
            .map_or((0, 0), |t| (t.ready.len() as u64, t.running as u64))
    }

    /// All jobs (newest first), optionally of one tenant. For the staff views, not the
    /// hot path: every finished job is read from sled.
    pub fn scan(&self, tenant: Option<&str>) -> QueueResult<Vec<Job>> {
        let mut ids: Vec<Uuid> = {
            let m = self.mem();
            match tenant {
                Some(t) => m
                    .tenants
                    .get(t)
                    .map(|t| t.jobs.iter().copied().collect())
                    .unwrap_or_default(),
                None => m.summaries.keys().copied().collect(),
            }
        };
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(job) = self.get(id)? {
                out.push(job);
            }
        }
        Ok(out)
    }

    /// A snapshot for the metrics' queue gauges.
    pub fn gauges(&self) -> crate::observability::metrics::QueueGauges {
        use crate::observability::metrics::{QueueCounts, QueueGauges};
        QueueGauges {
            depth: self.depth(),
            running: self.running(),
            counts: self.stats().ok().map(|stats| QueueCounts {
                by_kind_state: stats
                    .by_kind_state
                    .into_iter()
                    .map(|((kind, state), n)| (kind, state.as_str(), n))
                    .collect(),
                due: stats.due,
                oldest_due_age_ms: stats.oldest_due_age_ms,
            }),
        }
    }

    /// Counts by kind and state, due jobs and the oldest due age.
    pub fn stats(&self) -> QueueResult<QueueStats> {
        let now = now_ms();
        let m = self.mem();
        let mut stats = QueueStats {
            by_kind_state: m
                .counts
                .iter()
                .map(|((k, s), n)| ((k.to_string(), *s), *n))
                .collect(),
            dead_letters: m.dead,
            ..QueueStats::default()
        };
        for name in &m.ready_tenants {
            for (_, run_at, _) in m.tenants.get(name).into_iter().flat_map(|t| &t.ready) {
                if *run_at <= now {
                    stats.due += 1;
                    let age = now - run_at;
                    stats.oldest_due_age_ms =
                        Some(stats.oldest_due_age_ms.map_or(age, |a| a.max(age)));
                }
            }
        }
        Ok(stats)
    }

    /// Removes finished jobs older than the retention and idempotency keys older than
    /// their window. Returns how many jobs were removed.
    pub fn purge(&self) -> QueueResult<usize> {
        let now = now_ms();
        let horizon = now - ms(self.inner.config.retention);
        let window = ms(self.inner.config.idempotency_window);
        let mut m = self.mem();
        let old: Vec<Uuid> = m
            .summaries
            .iter()
            .filter(|(id, s)| {
                s.state.is_terminal()
                    && s.finished_at.is_some_and(|f| f <= horizon)
                    && !m.live.contains_key(id)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            m.unregister(*id);
            self.send(Op::Remove { id: *id })?;
        }
        m.idem.retain(|_, (_, created)| now - *created < window);
        Ok(old.len())
    }

    /// Jobs waiting in the ready set (due or not).
    pub fn depth(&self) -> usize {
        self.mem().ready_total
    }

    /// Jobs currently leased.
    pub fn running(&self) -> usize {
        self.mem().leases.len()
    }

    /// Whether the queue answers (readiness).
    pub fn ping(&self) -> QueueResult<()> {
        if !self.inner.writer_alive.load(Ordering::Acquire) {
            return Err(QueueError::Storage("the queue writer has stopped".into()));
        }
        self.inner.jobs.first()?;
        Ok(())
    }

    /// Flushes everything written so far (shutdown).
    pub async fn flush(&self) -> QueueResult<()> {
        self.durable().await
    }
}

fn read_steps(steps: &sled::Tree, id: Uuid) -> QueueResult<Vec<StepRecord>> {
    let mut out = Vec::new();
    for item in steps.scan_prefix(id.as_bytes()) {
        let (k, v) = item?;
        let (output, finished_at) = record::decode_step(&v)?;
        out.push(StepRecord {
            name: String::from_utf8_lossy(&k[16..]).into_owned(),
            output,
            finished_at,
        });
    }
    out.sort_by_key(|s| s.finished_at);
    Ok(out)
}

/// One job of [`Queue::enqueue_many`].
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub options: EnqueueOptions,
}

impl crate::observability::events::Event {
    /// An event about a job. It lives with the queue so the timeline's types need not
    /// know what a job is.
    pub fn job(
        kind: &'static str,
        job: &Job,
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

impl crate::observability::events::Events {
    /// Adds an event about `job` to its scope's timeline. A job whose key is no scope
    /// (see [`Job::scope`]) has no timeline: that is logged instead.
    pub fn emit_job(
        &self,
        job: &Job,
        kind: &'static str,
        message: impl Into<String>,
        data: serde_json::Value,
    ) {
        let event = crate::observability::events::Event::job(kind, job, message, data);
        match job.scope() {
            Some(scope) => self.emit(scope, event),
            None => {
                tracing::error!(job_id = %job.id, tenant = %job.tenant, kind, "a job without a scope; event not recorded")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fast() -> QueueConfig {
        QueueConfig {
            flush: FlushPolicy::PerOperation,
            visibility_timeout: Duration::from_millis(200),
            backoff_base: Duration::from_millis(20),
            backoff_factor: 2.0,
            backoff_max: Duration::from_millis(500),
            idempotency_window: Duration::from_secs(60),
            tenant_concurrency: 2,
            retention: Duration::from_secs(3600),
        }
    }

    async fn lease_now(q: &Queue) -> Lease {
        q.lease().await.unwrap().expect("a job is due")
    }

    async fn put(q: &Queue, tenant: &str, opts: EnqueueOptions) -> Uuid {
        q.enqueue(tenant, "x", json!({}), opts).await.unwrap().id()
    }

    #[tokio::test]
    async fn enqueue_lease_complete() {
        let q = Queue::temporary(fast()).unwrap();
        let id = q
            .enqueue("t1", "noop", json!({"a": 1}), EnqueueOptions::default())
            .await
            .unwrap()
            .id();
        assert_eq!(q.get(id).unwrap().unwrap().state, JobState::Queued);
        let l = lease_now(&q).await;
        assert_eq!(
            (l.job.id, l.job.state, l.job.attempts),
            (id, JobState::Running, 1)
        );
        assert!(
            q.lease().await.unwrap().is_none(),
            "a leased job is not handed out twice"
        );
        let done = q.complete(id, l.token, json!("ok")).await.unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!((q.depth(), q.running()), (0, 0));
    }

    #[tokio::test]
    async fn retries_with_backoff_then_dead_letter() {
        let q = Queue::temporary(fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let mut delays = Vec::new();
        for attempt in 1..=3 {
            let l = loop {
                if let Some(l) = q.lease().await.unwrap() {
                    break l;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            assert_eq!(l.job.attempts, attempt);
            let before = now_ms();
            match q.fail(id, l.token, "boom", true).await.unwrap().1 {
                FailOutcome::Retrying { run_at } => delays.push(run_at - before),
                FailOutcome::Dead => assert_eq!(attempt, 3),
                FailOutcome::Cancelled => panic!("not cancelled"),
            }
        }
        let job = q.get(id).unwrap().unwrap();
        assert_eq!(
            (job.state, job.dead, job.attempts),
            (JobState::Failed, true, 3)
        );
        assert_eq!(job.last_error.as_deref(), Some("boom"));
        // 20 ms then 40 ms, each ±20 %.
        assert!((16..=24).contains(&delays[0]), "{delays:?}");
        assert!((32..=48).contains(&delays[1]), "{delays:?}");
        // Staff retry brings a dead letter back with fresh attempts.
        let back = q.retry(id).await.unwrap();
        assert_eq!(
            (back.state, back.attempts, back.max_attempts, back.dead),
            (JobState::Queued, 3, 6, false)
        );
        assert_eq!(lease_now(&q).await.job.attempts, 4);
    }

    #[tokio::test]
    async fn non_retryable_errors_dead_letter_at_once() {
        let q = Queue::temporary(fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        let (job, outcome) = q.fail(id, l.token, "invalid input", false).await.unwrap();
        assert_eq!(outcome, FailOutcome::Dead);
        assert_eq!(
            (job.state, job.attempts, job.dead),
            (JobState::Failed, 1, true)
        );
    }

    #[tokio::test]
    async fn stale_lease_is_fenced_after_expiry() {
        let q = Queue::temporary(fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let first = lease_now(&q).await;
        // The worker "dies": no heartbeat past the visibility timeout.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let reaped = q.reap_expired().await.unwrap();
        assert_eq!(reaped.len(), 1);
        assert_eq!(reaped[0].0.id, id);
        assert!(matches!(reaped[0].1, FailOutcome::Retrying { .. }));
        assert_eq!(q.get(id).unwrap().unwrap().state, JobState::Queued);
        tokio::time::sleep(Duration::from_millis(40)).await;
        let second = lease_now(&q).await;
        assert_eq!(second.job.attempts, 2);
        // The first worker's late completion is rejected; the second's is accepted.
        assert!(matches!(
            q.complete(id, first.token, json!(1)).await,
            Err(QueueError::StaleLease)
        ));
        assert!(matches!(
            q.heartbeat(id, first.token),
            Err(QueueError::StaleLease)
        ));
        assert!(!q.heartbeat(id, second.token).unwrap());
        assert_eq!(
            q.complete(id, second.token, json!(2)).await.unwrap().result,
            Some(json!(2))
        );
    }

    #[tokio::test]
    async fn heartbeats_keep_a_lease_alive() {
        let q = Queue::temporary(fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            q.heartbeat(id, l.token).unwrap();
            assert!(q.reap_expired().await.unwrap().is_empty());
        }
        assert_eq!(q.running(), 1);
    }

    #[tokio::test]
    async fn idempotency_under_concurrency() {
        let q = Queue::temporary(QueueConfig {
            flush: FlushPolicy::Group,
            ..fast()
        })
        .unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move {
                    let opts = EnqueueOptions {
                        idempotency_key: Some("entry-1-v1".into()),
                        ..Default::default()
                    };
                    q.enqueue("t", "reward", json!({}), opts).await.unwrap()
                })
            })
            .collect();
        let results: Vec<Enqueued> = futures::future::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let created: Vec<_> = results
            .iter()
            .filter(|r| matches!(r, Enqueued::Created(_)))
            .collect();
        assert_eq!(created.len(), 1);
        assert!(results.iter().all(|r| r.id() == created[0].id()));
        assert_eq!(q.scan(None).unwrap().len(), 1);
        // Another tenant or kind with the same key is a different job.
        let key = || EnqueueOptions {
            idempotency_key: Some("entry-1-v1".into()),
            ..Default::default()
        };
        let other = q.enqueue("t2", "reward", json!({}), key()).await.unwrap();
        assert!(matches!(other, Enqueued::Created(_)));
        let other_kind = q.enqueue("t", "analyze", json!({}), key()).await.unwrap();
        assert!(matches!(other_kind, Enqueued::Created(_)));
    }

    #[tokio::test]
    async fn idempotency_window_expires() {
        let q = Queue::temporary(QueueConfig {
            idempotency_window: Duration::from_millis(50),
            ..fast()
        })
        .unwrap();
        let key = || EnqueueOptions {
            idempotency_key: Some("k".into()),
            ..Default::default()
        };
        let a = q.enqueue("t", "x", json!({}), key()).await.unwrap();
        let b = q.enqueue("t", "x", json!({}), key()).await.unwrap();
        assert_eq!(b, Enqueued::Existing(a.id()));
        tokio::time::sleep(Duration::from_millis(60)).await;
        let c = q.enqueue("t", "x", json!({}), key()).await.unwrap();
        assert!(matches!(c, Enqueued::Created(id) if id != a.id()));
    }

    #[tokio::test]
    async fn cancellation_of_queued_and_running() {
        let q = Queue::temporary(fast()).unwrap();
        let a = put(&q, "t", EnqueueOptions::default()).await;
        let b = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        assert_eq!(l.job.id, a);
        assert_eq!(q.cancel(b).await.unwrap().state, JobState::Cancelled);
        assert!(
            q.lease().await.unwrap().is_none(),
            "a cancelled job is never leased"
        );
        let running = q.cancel(a).await.unwrap();
        assert!(running.cancel_requested && running.state == JobState::Running);
        assert!(
            q.heartbeat(a, l.token).unwrap(),
            "the worker learns of the request"
        );
        assert_eq!(
            q.finish_cancelled(a, l.token).await.unwrap().state,
            JobState::Cancelled
        );
        assert!(matches!(
            q.cancel(a).await,
            Err(QueueError::InvalidState(JobState::Cancelled))
        ));
        assert_eq!((q.depth(), q.running()), (0, 0));
    }

    #[tokio::test]
    async fn priorities_and_schedules() {
        let q = Queue::temporary(QueueConfig {
            tenant_concurrency: 10,
            ..fast()
        })
        .unwrap();
        let opts = |priority, run_at| EnqueueOptions {
            priority,
            run_at,
            ..Default::default()
        };
        let low = put(&q, "t", opts(1, None)).await;
        let later = put(&q, "t", opts(9, Some(now_ms() + 150))).await;
        let high = put(&q, "t", opts(8, None)).await;
        assert_eq!(lease_now(&q).await.job.id, high);
        assert_eq!(
            lease_now(&q).await.job.id,
            low,
            "the scheduled job isn't due yet"
        );
        assert!(q.lease().await.unwrap().is_none());
        tokio::time::sleep(Duration::from_millis(160)).await;
        assert_eq!(lease_now(&q).await.job.id, later);
    }

    #[tokio::test]
    async fn tenants_take_turns_within_a_priority_and_the_top_band_goes_first() {
        let config = QueueConfig {
            tenant_concurrency: 100,
            ..fast()
        };
        let q = Queue::temporary(config).unwrap();
        for _ in 0..50 {
            put(&q, "a-flood", EnqueueOptions::default()).await;
        }
        for t in ["b", "c"] {
            put(&q, t, EnqueueOptions::default()).await;
        }
        let urgent = EnqueueOptions {
            priority: INTERACTIVE_PRIORITY,
            ..Default::default()
        };
        let reward = put(&q, "d", urgent).await;
        assert_eq!(lease_now(&q).await.job.id, reward, "the top band first");
        // Only the interactive lane is left to lease from: nothing there now.
        assert!(q.lease_from(INTERACTIVE_PRIORITY).await.unwrap().is_none());
        let mut order = Vec::new();
        for _ in 0..5 {
            order.push(lease_now(&q).await.job.tenant);
        }
        assert_eq!(order, ["a-flood", "b", "c", "a-flood", "a-flood"]);
    }

    #[tokio::test]
    async fn a_tenant_holds_at_most_max_queued_jobs() {
        let q = Queue::temporary(fast()).unwrap();
        let capped = EnqueueOptions {
            max_queued: Some(3),
            ..Default::default()
        };
        for _ in 0..3 {
            q.enqueue("t", "x", json!({}), capped.clone())
                .await
                .unwrap();
        }
        let refused = q.enqueue("t", "x", json!({}), capped.clone()).await;
        assert!(
            matches!(refused, Err(QueueError::TenantFull(3))),
            "{refused:?}"
        );
        // A running job is no longer queued: it frees a place.
        let _running = lease_now(&q).await;
        q.enqueue("t", "x", json!({}), capped.clone())
            .await
            .unwrap();
        assert!(q
            .enqueue("t", "x", json!({}), capped.clone())
            .await
            .is_err());
        // Another tenant, and the platform's own uncapped jobs, are not affected.
        q.enqueue("u", "x", json!({}), capped).await.unwrap();
        q.enqueue("t", "x", json!({}), EnqueueOptions::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn tenant_quota_does_not_starve_others() {
        let q = Queue::temporary(fast()).unwrap(); // 2 per tenant
        for _ in 0..5 {
            put(&q, "busy", EnqueueOptions::default()).await;
        }
        put(&q, "quiet", EnqueueOptions::default()).await;
        let mut leases = Vec::new();
        while let Some(l) = q.lease().await.unwrap() {
            leases.push(l);
        }
        let tenants: Vec<_> = leases.iter().map(|l| l.job.tenant.as_str()).collect();
        assert_eq!(
            tenants,
            vec!["busy", "quiet", "busy"],
            "turns go round-robin; busy stops at its quota; quiet still runs"
        );
        // Finishing one of busy's jobs frees a slot for the next.
        let first = &leases[0];
        q.complete(first.job.id, first.token, json!(null))
            .await
            .unwrap();
        assert_eq!(lease_now(&q).await.job.tenant, "busy");
        assert!(q.lease().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn concurrent_workers_respect_the_quota() {
        let q = Queue::temporary(fast()).unwrap(); // 2 per tenant
        for _ in 0..20 {
            put(&q, "t", EnqueueOptions::default()).await;
        }
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move { q.lease().await.unwrap() })
            })
            .collect();
        let got = futures::future::join_all(tasks)
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(Some(_))))
            .count();
        assert_eq!(got, 2);
        assert_eq!(q.running(), 2);
    }

    #[tokio::test]
    async fn release_requeues_without_counting_the_attempt() {
        let q = Queue::temporary(fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        let job = q.release(id, l.token).await.unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
        assert!(matches!(
            q.complete(id, l.token, json!(null)).await,
            Err(QueueError::StaleLease)
        ));
        assert_eq!(lease_now(&q).await.job.attempts, 1);
    }

    #[tokio::test]
    async fn steps_survive_a_retry() {
        let q = Queue::temporary(fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        q.record_step(id, l.token, "fetch", json!({"n": 3}))
            .unwrap();
        q.fail(id, l.token, "later step failed", true)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let again = lease_now(&q).await;
        assert_eq!(again.job.steps.len(), 1);
        assert_eq!(again.job.steps[0].name, "fetch");
        assert_eq!(again.job.steps[0].output, json!({"n": 3}));
    }

    #[tokio::test]
    async fn list_pages_newest_first_per_tenant() {
        let q = Queue::temporary(fast()).unwrap();
        let mut mine = Vec::new();
        for i in 0..5 {
            mine.push(put(&q, "a", EnqueueOptions::default()).await);
            put(&q, "b", EnqueueOptions::default()).await;
            if i == 2 {
                q.enqueue("a", "other", json!({}), EnqueueOptions::default())
                    .await
                    .unwrap();
            }
        }
        mine.reverse();
        let f = JobFilter {
            kind: Some("x".into()),
            ..Default::default()
        };
        let p1 = q.list("a", &f, None, 3).unwrap();
        let p2 = q.list("a", &f, Some(p1[2].id), 3).unwrap();
        let ids: Vec<_> = p1.iter().chain(p2.iter()).map(|j| j.id).collect();
        assert_eq!(ids, mine);
        assert_eq!(
            q.list("a", &JobFilter::default(), None, 100).unwrap().len(),
            6
        );
        let queued = JobFilter {
            state: Some(JobState::Succeeded),
            ..Default::default()
        };
        assert!(q.list("a", &queued, None, 100).unwrap().is_empty());
        // A tenant whose name is a prefix of another's sees only its own jobs.
        put(&q, "ab", EnqueueOptions::default()).await;
        assert_eq!(
            q.list("a", &JobFilter::default(), None, 100).unwrap().len(),
            6
        );
    }

    #[tokio::test]
    async fn purge_removes_old_finished_jobs_only() {
        let q = Queue::temporary(QueueConfig {
            retention: Duration::from_millis(20),
            ..fast()
        })
        .unwrap();
        let done = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        q.complete(done, l.token, json!(null)).await.unwrap();
        let waiting = put(&q, "t", EnqueueOptions::default()).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(q.purge().unwrap(), 1);
        assert!(q.get(done).unwrap().is_none());
        assert!(q.get(waiting).unwrap().is_some());
        let listed: Vec<_> = q
            .list("t", &JobFilter::default(), None, 10)
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(listed, vec![waiting]);
    }

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let q = Queue::open(dir.path(), fast()).unwrap();
            let id = q
                .enqueue("t", "x", json!({"k": "v"}), EnqueueOptions::default())
                .await
                .unwrap()
                .id();
            let _lease = lease_now(&q).await;
            q.flush().await.unwrap();
            id
        };
        let q = Queue::open(dir.path(), fast()).unwrap();
        let job = q.get(id).unwrap().unwrap();
        assert_eq!(
            (job.state, job.payload.clone()),
            (JobState::Running, json!({"k": "v"}))
        );
        // The running count is rebuilt: the dead lease is reaped and the job runs again.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let reaped = q.reap_expired().await.unwrap();
        assert_eq!(reaped.len(), 1);
        tokio::time::sleep(Duration::from_millis(40)).await; // the retry backoff
        assert_eq!(lease_now(&q).await.job.id, id);
    }

    #[tokio::test]
    async fn enqueue_many_is_one_durable_write_in_order() {
        let q = Queue::temporary(fast()).unwrap();
        let jobs = (0..5)
            .map(|i| NewJob {
                tenant: "t".into(),
                kind: "x".into(),
                payload: json!({"i": i}),
                options: EnqueueOptions {
                    idempotency_key: Some(format!("k{}", i % 3)),
                    ..Default::default()
                },
            })
            .collect();
        let out = q.enqueue_many(jobs).await.unwrap();
        let created: Vec<_> = out
            .iter()
            .filter(|o| matches!(o, Enqueued::Created(_)))
            .collect();
        assert_eq!(created.len(), 3, "keys k0, k1, k2 once each: {out:?}");
        assert_eq!(out[3], Enqueued::Existing(out[0].id()));
        assert_eq!(out[4], Enqueued::Existing(out[1].id()));
        for want in [0, 1, 2] {
            let l = lease_now(&q).await;
            assert_eq!(l.job.payload, json!({"i": want}), "FIFO within a priority");
            q.complete(l.job.id, l.token, json!(null)).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_held_job_runs_when_released_or_after_its_time() {
        let q = Queue::temporary(fast()).unwrap();
        let later = now_ms() + 60_000;
        let opts = || EnqueueOptions {
            run_at: Some(later),
            ..Default::default()
        };
        let a = put(&q, "t", opts()).await;
        let b = put(&q, "t", opts()).await;
        assert!(q.lease().await.unwrap().is_none(), "both are held");
        assert!(q.run_now(a).unwrap());
        assert!(!q.run_now(a).unwrap(), "already due");
        assert_eq!(lease_now(&q).await.job.id, a);
        assert!(q.lease().await.unwrap().is_none(), "b is still held");
        assert_eq!(q.get(b).unwrap().unwrap().run_at, later);
    }

    #[tokio::test]
    async fn a_withdrawn_job_is_gone_and_frees_its_key() {
        let q = Queue::temporary(fast()).unwrap();
        let key = || EnqueueOptions {
            idempotency_key: Some("entry:e:v2".into()),
            run_at: Some(now_ms() + 60_000),
            ..Default::default()
        };
        let first = q.enqueue("t", "r", json!({}), key()).await.unwrap().id();
        assert!(q.withdraw(first).unwrap());
        assert!(!q.withdraw(first).unwrap());
        assert!(q.get(first).unwrap().is_none());
        assert_eq!(q.depth(), 0);
        assert!(q
            .list("t", &JobFilter::default(), None, 10)
            .unwrap()
            .is_empty());
        let second = q.enqueue("t", "r", json!({}), key()).await.unwrap();
        assert!(matches!(second, Enqueued::Created(id) if id != first));
        // A job that ran once can't be withdrawn.
        q.run_now(second.id()).unwrap();
        let l = lease_now(&q).await;
        q.fail(l.job.id, l.token, "retry", true).await.unwrap();
        assert!(!q.withdraw(second.id()).unwrap());
    }

    #[tokio::test]
    async fn finished_jobs_read_back_after_they_leave_memory() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path(), fast()).unwrap();
        let id = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        q.record_step(id, l.token, "one", json!({"n": 1})).unwrap();
        q.complete(id, l.token, json!({"ok": true})).await.unwrap();
        q.flush().await.unwrap();
        // Evicted from memory once written: read from sled, steps included.
        assert!(!q.mem().live.contains_key(&id));
        let job = q.get(id).unwrap().unwrap();
        assert_eq!(
            (job.state, job.result.clone(), job.steps.len()),
            (JobState::Succeeded, Some(json!({"ok": true})), 1)
        );
        assert_eq!(
            q.stats()
                .unwrap()
                .by_kind_state
                .get(&("x".to_string(), JobState::Succeeded)),
            Some(&1)
        );
        // A dead letter read back from sled: a staff retry brings it back, steps kept.
        let dead = put(&q, "t", EnqueueOptions::default()).await;
        let l = lease_now(&q).await;
        q.record_step(dead, l.token, "one", json!({"n": 2}))
            .unwrap();
        q.fail(dead, l.token, "fatal", false).await.unwrap();
        q.flush().await.unwrap();
        assert!(!q.mem().live.contains_key(&dead));
        let again = q.retry(dead).await.unwrap();
        assert_eq!((again.state, again.steps.len()), (JobState::Queued, 1));
        assert_eq!(q.active_counts("t"), (1, 0));
        assert_eq!(lease_now(&q).await.job.steps[0].output, json!({"n": 2}));
    }

    #[tokio::test]
    async fn reopening_converts_records_of_the_earlier_layout() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::now_v7();
        {
            // The earlier layout: a JSON record with its steps, and four index trees.
            let db = sled::open(dir.path()).unwrap();
            let mut job = Queue::new_job(
                "t",
                "x",
                json!({"a": 1}),
                &EnqueueOptions::default(),
                now_ms(),
            );
            job.id = id;
            job.steps.push(StepRecord {
                name: "fetch".into(),
                output: json!([1, 2]),
                finished_at: 1,
            });
            db.open_tree("jobs")
                .unwrap()
                .insert(id.as_bytes(), serde_json::to_vec(&job).unwrap())
                .unwrap();
            for t in ["ready", "leases", "idem", "by_tenant"] {
                db.open_tree(t).unwrap().insert(b"k", b"v").unwrap();
            }
            db.flush().unwrap();
        }
        let q = Queue::open(dir.path(), fast()).unwrap();
        let l = lease_now(&q).await;
        assert_eq!((l.job.id, l.job.payload.clone()), (id, json!({"a": 1})));
        assert_eq!(l.job.steps[0].output, json!([1, 2]));
        let names = q.inner.db.tree_names();
        assert!(
            !names.iter().any(|n| n.as_ref() == b"ready"),
            "old index trees dropped"
        );
        let raw = q.inner.jobs.get(id.as_bytes()).unwrap().unwrap();
        assert_eq!(raw[0], record::V1, "rewritten in the current encoding");
    }

    #[tokio::test]
    async fn counts_follow_every_transition() {
        let q = Queue::temporary(fast()).unwrap();
        let a = put(&q, "t", EnqueueOptions::default()).await;
        put(&q, "t", EnqueueOptions::default()).await;
        assert_eq!(
            (q.depth(), q.running(), q.active_counts("t")),
            (2, 0, (2, 0))
        );
        let l = lease_now(&q).await;
        assert_eq!(
            (q.depth(), q.running(), q.active_counts("t")),
            (1, 1, (1, 1))
        );
        q.fail(a, l.token, "fatal", false).await.unwrap();
        let s = q.stats().unwrap();
        assert_eq!(s.dead_letters, 1);
        assert_eq!(
            s.by_kind_state.get(&("x".to_string(), JobState::Failed)),
            Some(&1)
        );
        assert_eq!(
            s.by_kind_state.get(&("x".to_string(), JobState::Queued)),
            Some(&1)
        );
        assert_eq!(s.due, 1);
        assert_eq!(q.active_counts("t"), (1, 0));
    }

    #[tokio::test]
    async fn claim_more_takes_matching_due_jobs_in_order() {
        let q = Queue::temporary(QueueConfig {
            tenant_concurrency: 1,
            ..fast()
        })
        .unwrap();
        let mut ids = Vec::new();
        for i in 0..6 {
            let user = if i % 2 == 0 { "u1" } else { "u2" };
            ids.push(
                q.enqueue("t", "x", json!({"user": user}), EnqueueOptions::default())
                    .await
                    .unwrap()
                    .id(),
            );
        }
        q.enqueue(
            "t",
            "other",
            json!({"user": "u1"}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
        q.enqueue("t2", "x", json!({"user": "u1"}), EnqueueOptions::default())
            .await
            .unwrap();
        let later = EnqueueOptions {
            run_at: Some(now_ms() + 60_000),
            ..Default::default()
        };
        q.enqueue("t", "x", json!({"user": "u1"}), later)
            .await
            .unwrap();
        let leader = lease_now(&q).await;
        assert_eq!(leader.job.id, ids[0]);
        let more = q
            .claim_more(&leader.job, 10, |j| j.payload["user"] == "u1")
            .unwrap();
        let got: Vec<_> = more.iter().map(|l| l.job.id).collect();
        assert_eq!(
            got,
            vec![ids[2], ids[4]],
            "same tenant, kind and user; due; in order"
        );
        assert_eq!(q.active_counts("t"), (5, 3));
        for l in &more {
            q.complete(l.job.id, l.token, json!(null)).await.unwrap();
        }
        q.complete(leader.job.id, leader.token, json!(null))
            .await
            .unwrap();
        assert_eq!(q.active_counts("t"), (5, 0));
        // `max` bounds the claim. (Round-robin serves t2's job before t's next one.)
        assert_eq!(lease_now(&q).await.job.tenant, "t2");
        let next = lease_now(&q).await;
        assert_eq!(next.job.tenant, "t");
        assert_eq!(q.claim_more(&next.job, 1, |_| true).unwrap().len(), 1);
    }
}
