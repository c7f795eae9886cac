//! The durable job queue on sled.
//!
//! # Key layout (one sled tree each)
//!
//! | tree        | key                                                  | value                         |
//! |-------------|------------------------------------------------------|-------------------------------|
//! | `jobs`      | job id (16 bytes, UUIDv7)                            | [`Job`] as JSON               |
//! | `ready`     | `255 - priority` (1) · `run_at` ms BE (8) · id (16)  | tenant (UTF-8)                |
//! | `leases`    | `lease_expires_at` ms BE (8) · id (16)               | empty                         |
//! | `idem`      | `tenant \0 kind \0 key`                              | id (16) · created ms BE (8)   |
//! | `by_tenant` | `tenant \0` · id (16)                                | empty                         |
//! | `schedules` | schedule name                                        | see [`super::schedule`]       |
//!
//! # Invariants
//! * A job is `queued` ⇔ exactly one `ready` key names it.
//! * A job is `running` ⇔ exactly one `leases` key names it, and the job's
//!   `lease_token`/`lease_expires_at` match that key.
//! * `succeeded`, `failed` and `cancelled` jobs have neither key.
//! * Every job has exactly one `by_tenant` key (written with the job, removed with it).
//! * Every transition that touches more than one tree is one sled transaction, so a
//!   crash never leaves a job in two states or none.
//!
//! Ordering: the `ready` tree sorts by priority (highest first), then due time, then id
//! (UUIDv7, so FIFO within a millisecond). Leasing walks one priority band at a time and
//! jumps to the next band at the first not-yet-due key. The tenant is kept in the
//! `ready` value so the per-tenant quota is checked without decoding the job.
//!
//! Durability: `enqueue` returns only after the job is on disk. With
//! [`FlushPolicy::Group`] concurrent enqueuers share one `fsync` (group commit); with
//! [`FlushPolicy::PerOperation`] each one flushes alone. Completions, failures and
//! cancellations are flushed the same way. A lease is not flushed: losing one to a crash
//! only means the job is still `queued` on disk and runs again. Delivery is therefore
//! at-least-once, and handlers are written to be idempotent.
//!
//! Flushes never overlap a transaction: sled 0.34 can deadlock when a flush holds its
//! internal lock waiting for I/O while a transaction waits to take it exclusively (seen
//! here with 8 producers and 4 consumers). Every transaction holds the shared side of
//! [`Queue`]'s `gate` and every flush the exclusive side, and sled's own periodic flusher
//! is off (durability comes from our flushes).
//!
//! Fencing: each lease gets a fresh random token. Completing, failing or heartbeating
//! with a token that is no longer the job's (the lease expired and the job was leased
//! again, or it was released) is rejected with [`QueueError::StaleLease`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;
use uuid::Uuid;

/// The tenant name of platform-wide jobs (metrics, sweeps).
pub const SYSTEM_TENANT: &str = "system";

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
    /// A tenant id, or [`SYSTEM_TENANT`].
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
}

impl From<sled::Error> for QueueError {
    fn from(e: sled::Error) -> Self {
        QueueError::Storage(e.to_string())
    }
}

impl From<TransactionError<QueueError>> for QueueError {
    fn from(e: TransactionError<QueueError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => QueueError::Storage(e.to_string()),
        }
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

fn ready_key(priority: u8, run_at: i64, id: Uuid) -> [u8; 25] {
    let mut k = [0u8; 25];
    k[0] = 255 - priority.min(9);
    k[1..9].copy_from_slice(&(run_at.max(0) as u64).to_be_bytes());
    k[9..].copy_from_slice(id.as_bytes());
    k
}

fn lease_key(expires: i64, id: Uuid) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&(expires.max(0) as u64).to_be_bytes());
    k[8..].copy_from_slice(id.as_bytes());
    k
}

fn idem_key(tenant: &str, kind: &str, key: &str) -> Vec<u8> {
    [
        tenant.as_bytes(),
        b"\0",
        kind.as_bytes(),
        b"\0",
        key.as_bytes(),
    ]
    .concat()
}

fn tenant_prefix(tenant: &str) -> Vec<u8> {
    [tenant.as_bytes(), b"\0"].concat()
}

fn tenant_key(tenant: &str, id: Uuid) -> Vec<u8> {
    [tenant.as_bytes(), b"\0", id.as_bytes()].concat()
}

fn be_i64(bytes: &[u8]) -> i64 {
    bytes
        .try_into()
        .map(|b: [u8; 8]| u64::from_be_bytes(b) as i64)
        .unwrap_or(0)
}

fn uuid_at(bytes: &[u8]) -> QueueResult<Uuid> {
    Uuid::from_slice(bytes).map_err(|e| QueueError::Storage(format!("corrupt key: {e}")))
}

fn encode(job: &Job) -> Result<Vec<u8>, ConflictableTransactionError<QueueError>> {
    serde_json::to_vec(job)
        .map_err(|e| ConflictableTransactionError::Abort(QueueError::Storage(e.to_string())))
}

fn decode(bytes: &[u8]) -> QueueResult<Job> {
    serde_json::from_slice(bytes)
        .map_err(|e| QueueError::Storage(format!("corrupt job record: {e}")))
}

fn abort<T>(e: QueueError) -> Result<T, ConflictableTransactionError<QueueError>> {
    Err(ConflictableTransactionError::Abort(e))
}

fn load(
    jobs: &TransactionalTree,
    id: Uuid,
) -> Result<Job, ConflictableTransactionError<QueueError>> {
    match jobs.get(id.as_bytes())? {
        Some(bytes) => decode(&bytes).map_err(ConflictableTransactionError::Abort),
        None => abort(QueueError::NotFound),
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Shares one flush among concurrent writers.
struct GroupCommit {
    /// Whether a flusher task runs; without one, writers flush for themselves.
    running: std::sync::atomic::AtomicBool,
    written: AtomicU64,
    flushed: tokio::sync::watch::Sender<u64>,
    wake: tokio::sync::Notify,
}

/// The queue. Cheap to clone; one per process (sled locks its directory).
#[derive(Clone)]
pub struct Queue {
    db: sled::Db,
    jobs: sled::Tree,
    ready: sled::Tree,
    leases: sled::Tree,
    idem: sled::Tree,
    by_tenant: sled::Tree,
    config: Arc<QueueConfig>,
    running: Arc<Mutex<HashMap<String, usize>>>,
    group: Arc<GroupCommit>,
    /// Transactions share it, flushes take it alone (see the module docs).
    gate: Arc<std::sync::RwLock<()>>,
    /// Wakes workers when work arrives or a slot frees up.
    pub notify: Arc<tokio::sync::Notify>,
}

impl Queue {
    /// Opens (or creates) the queue at `path`.
    pub fn open(path: &Path, config: QueueConfig) -> QueueResult<Self> {
        std::fs::create_dir_all(path)
            .map_err(|e| QueueError::Storage(format!("{}: {e}", path.display())))?;
        // No periodic flush: it could overlap a transaction (see the module docs).
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
        Self::from_db(db, config)
    }

    /// A throw-away queue (tests).
    pub fn temporary(config: QueueConfig) -> QueueResult<Self> {
        Self::from_db(sled::Config::new().temporary(true).open()?, config)
    }

    fn from_db(db: sled::Db, config: QueueConfig) -> QueueResult<Self> {
        let (flushed, _) = tokio::sync::watch::channel(0u64);
        let q = Self {
            jobs: db.open_tree("jobs")?,
            ready: db.open_tree("ready")?,
            leases: db.open_tree("leases")?,
            idem: db.open_tree("idem")?,
            by_tenant: db.open_tree("by_tenant")?,
            db,
            config: Arc::new(config),
            running: Arc::new(Mutex::new(HashMap::new())),
            group: Arc::new(GroupCommit {
                running: std::sync::atomic::AtomicBool::new(false),
                written: AtomicU64::new(0),
                flushed,
                wake: tokio::sync::Notify::new(),
            }),
            gate: Arc::new(std::sync::RwLock::new(())),
            notify: Arc::new(tokio::sync::Notify::new()),
        };
        // Rebuild the per-tenant running counts from the leases on disk.
        let mut counts = HashMap::new();
        for item in q.leases.iter() {
            let (k, _) = item?;
            if let Some(job) = q.get(uuid_at(&k[8..])?)? {
                *counts.entry(job.tenant).or_insert(0usize) += 1;
            }
        }
        *q.running_counts() = counts;
        Ok(q)
    }

    /// Runs a sled transaction while no flush is in progress.
    fn txn<R>(&self, f: impl FnOnce() -> R) -> R {
        // A poisoned gate guards no data; keep going.
        let _shared = self.gate.read().unwrap_or_else(|p| p.into_inner());
        f()
    }

    /// Flushes to disk while no transaction is in progress.
    async fn flush_gated(&self) -> QueueResult<()> {
        let db = self.db.clone();
        let gate = self.gate.clone();
        tokio::task::spawn_blocking(move || {
            let _exclusive = gate.write().unwrap_or_else(|p| p.into_inner());
            db.flush().map(|_| ())
        })
        .await
        .map_err(|e| QueueError::Storage(format!("flush task failed: {e}")))?
        .map_err(QueueError::from)
    }

    fn running_counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // The map holds plain counters; a panic elsewhere can't leave it inconsistent.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The queue's tunables.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// A named tree of the same database (schedules).
    pub(crate) fn tree(&self, name: &str) -> QueueResult<sled::Tree> {
        Ok(self.db.open_tree(name)?)
    }

    /// Starts the group-commit flusher (needed with [`FlushPolicy::Group`]).
    pub fn spawn_flusher(&self) -> tokio::task::JoinHandle<()> {
        self.group.running.store(true, Ordering::Release);
        let q = self.clone();
        tokio::spawn(async move {
            loop {
                let target = q.group.written.load(Ordering::Acquire);
                if target > *q.group.flushed.borrow() {
                    if let Err(e) = q.flush_gated().await {
                        tracing::error!(error = %e, "queue flush failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    q.group.flushed.send_replace(target);
                } else {
                    q.group.wake.notified().await;
                }
            }
        })
    }

    /// Waits until everything written so far is on disk.
    pub(crate) async fn durable(&self) -> QueueResult<()> {
        let grouped =
            self.config.flush == FlushPolicy::Group && self.group.running.load(Ordering::Acquire);
        match if grouped {
            FlushPolicy::Group
        } else {
            FlushPolicy::PerOperation
        } {
            FlushPolicy::PerOperation => {
                self.flush_gated().await?;
            }
            FlushPolicy::Group => {
                let mine = self.group.written.fetch_add(1, Ordering::AcqRel) + 1;
                let mut rx = self.group.flushed.subscribe();
                self.group.wake.notify_one();
                while *rx.borrow_and_update() < mine {
                    if rx.changed().await.is_err() {
                        // No flusher running: flush ourselves.
                        self.flush_gated().await?;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads a job.
    pub fn get(&self, id: Uuid) -> QueueResult<Option<Job>> {
        self.jobs
            .get(id.as_bytes())?
            .map(|b| decode(&b))
            .transpose()
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
        let id = Uuid::now_v7();
        let run_at = opts.run_at.unwrap_or(now);
        let job = Job {
            id,
            tenant: tenant.to_string(),
            kind: kind.to_string(),
            payload,
            state: JobState::Queued,
            priority: opts.priority.min(9),
            attempts: 0,
            max_attempts: opts.max_attempts.max(1),
            attempts_per_run: 0,
            run_at,
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
        };
        let window = ms(self.config.idempotency_window);
        let ikey = opts
            .idempotency_key
            .as_deref()
            .map(|k| idem_key(tenant, kind, k));
        let encoded = serde_json::to_vec(&job).map_err(|e| QueueError::Storage(e.to_string()))?;
        let outcome = self.txn(|| {
            (&self.jobs, &self.ready, &self.idem, &self.by_tenant).transaction(
                |(jobs, ready, idem, by_tenant)| {
                    if let Some(ik) = &ikey {
                        if let Some(v) = idem.get(ik)? {
                            let created = be_i64(&v[16..24]);
                            let existing =
                                uuid_at(&v[..16]).map_err(ConflictableTransactionError::Abort)?;
                            // A purged job frees its key even inside the window.
                            if now - created < window && jobs.get(existing.as_bytes())?.is_some() {
                                return Ok(Enqueued::Existing(existing));
                            }
                        }
                        let mut v = id.as_bytes().to_vec();
                        v.extend_from_slice(&now.to_be_bytes());
                        idem.insert(ik.as_slice(), v)?;
                    }
                    jobs.insert(id.as_bytes(), encoded.as_slice())?;
                    ready.insert(&ready_key(job.priority, run_at, id)[..], tenant.as_bytes())?;
                    by_tenant.insert(tenant_key(tenant, id), &[][..])?;
                    Ok(Enqueued::Created(id))
                },
            )
        })?;
        // Also for an existing job: its creator may not have seen its flush finish yet.
        self.durable().await?;
        if matches!(outcome, Enqueued::Created(_)) {
            self.notify.notify_waiters();
        }
        Ok(outcome)
    }

    /// Takes a running slot for `tenant` if it is under its quota.
    fn reserve_slot(&self, tenant: &str) -> bool {
        let mut m = self.running_counts();
        let n = m.entry(tenant.to_string()).or_insert(0);
        if *n < self.config.tenant_concurrency {
            *n += 1;
            true
        } else {
            false
        }
    }

    fn release_slot(&self, tenant: &str) {
        let mut m = self.running_counts();
        if let Some(n) = m.get_mut(tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(tenant);
            }
        }
    }

    /// Leases the next due job whose tenant is under its concurrency quota.
    pub async fn lease(&self) -> QueueResult<Option<Lease>> {
        let now = now_ms();
        let mut band: u8 = 0;
        loop {
            let start = [band];
            let mut next_band = None;
            for item in self.ready.range(&start[..]..) {
                let (key, tenant) = item?;
                if key[0] != band {
                    next_band = Some(key[0]);
                    break;
                }
                if be_i64(&key[1..9]) > now {
                    // Not due: nothing later in this band is either.
                    next_band = band.checked_add(1);
                    break;
                }
                let tenant = String::from_utf8_lossy(&tenant).into_owned();
                if !self.reserve_slot(&tenant) {
                    continue;
                }
                let id = uuid_at(&key[9..])?;
                match self.try_claim(&key, id, now) {
                    Ok(Some(lease)) => return Ok(Some(lease)),
                    Ok(None) => self.release_slot(&tenant),
                    Err(e) => {
                        self.release_slot(&tenant);
                        return Err(e);
                    }
                }
            }
            match next_band {
                Some(b) if b > band => band = b,
                _ => return Ok(None),
            }
        }
    }

    fn try_claim(&self, rkey: &[u8], id: Uuid, now: i64) -> QueueResult<Option<Lease>> {
        let token: u64 = rand::random();
        let expires = now + ms(self.config.visibility_timeout);
        let res = self.txn(|| {
            (&self.jobs, &self.ready, &self.leases).transaction(|(jobs, ready, leases)| {
                // Another worker may have taken it between the scan and now.
                if ready.remove(rkey)?.is_none() {
                    return Ok(None);
                }
                let Some(bytes) = jobs.get(id.as_bytes())? else {
                    return Ok(None);
                };
                let mut job = decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                job.state = JobState::Running;
                job.attempts += 1;
                job.lease_token = Some(token);
                job.lease_expires_at = Some(expires);
                job.started_at = Some(now);
                job.updated_at = now;
                jobs.insert(id.as_bytes(), encode(&job)?)?;
                leases.insert(&lease_key(expires, id)[..], &[][..])?;
                Ok(Some(job))
            })
        })?;
        Ok(res.map(|job| Lease { job, token }))
    }

    /// Applies `f` to a running job whose lease is `token`, atomically.
    fn with_lease<T>(
        &self,
        id: Uuid,
        token: u64,
        f: impl Fn(
            &mut Job,
            &TransactionalTree,
            &TransactionalTree,
        ) -> Result<T, ConflictableTransactionError<QueueError>>,
    ) -> QueueResult<(Job, T)> {
        Ok(self.txn(|| {
            (&self.jobs, &self.ready, &self.leases).transaction(|(jobs, ready, leases)| {
                let mut job = load(jobs, id)?;
                if job.state != JobState::Running || job.lease_token != Some(token) {
                    return abort(QueueError::StaleLease);
                }
                let out = f(&mut job, ready, leases)?;
                job.updated_at = now_ms();
                jobs.insert(id.as_bytes(), encode(&job)?)?;
                Ok((job, out))
            })
        })?)
    }

    /// Extends a lease; returns whether cancellation was requested.
    pub fn heartbeat(&self, id: Uuid, token: u64) -> QueueResult<bool> {
        let expires = now_ms() + ms(self.config.visibility_timeout);
        let (job, _) = self.with_lease(id, token, |job, _ready, leases| {
            if let Some(old) = job.lease_expires_at {
                leases.remove(&lease_key(old, id)[..])?;
            }
            leases.insert(&lease_key(expires, id)[..], &[][..])?;
            job.lease_expires_at = Some(expires);
            Ok(())
        })?;
        Ok(job.cancel_requested)
    }

    /// Records a finished step (so a retry resumes after it).
    pub fn record_step(
        &self,
        id: Uuid,
        token: u64,
        name: &str,
        output: serde_json::Value,
    ) -> QueueResult<()> {
        self.with_lease(id, token, |job, _, _| {
            job.steps.retain(|s| s.name != name);
            job.steps.push(StepRecord {
                name: name.to_string(),
                output: output.clone(),
                finished_at: now_ms(),
            });
            Ok(())
        })
        .map(|_| ())
    }

    fn finish(
        job: &mut Job,
        leases: &TransactionalTree,
        state: JobState,
    ) -> Result<(), ConflictableTransactionError<QueueError>> {
        if let Some(old) = job.lease_expires_at {
            leases.remove(&lease_key(old, job.id)[..])?;
        }
        job.state = state;
        job.lease_token = None;
        job.lease_expires_at = None;
        job.finished_at = Some(now_ms());
        Ok(())
    }

    /// Marks a job succeeded (or cancelled, if cancellation was requested meanwhile).
    pub async fn complete(
        &self,
        id: Uuid,
        token: u64,
        result: serde_json::Value,
    ) -> QueueResult<Job> {
        let (job, _) = self.with_lease(id, token, |job, _, leases| {
            let state = if job.cancel_requested {
                JobState::Cancelled
            } else {
                JobState::Succeeded
            };
            Self::finish(job, leases, state)?;
            job.result = Some(result.clone());
            Ok(())
        })?;
        self.after_finish(&job.tenant).await?;
        Ok(job)
    }

    /// Ends a running job as cancelled (the worker honoured a cancellation request).
    pub async fn finish_cancelled(&self, id: Uuid, token: u64) -> QueueResult<Job> {
        let (job, _) = self.with_lease(id, token, |job, _, leases| {
            Self::finish(job, leases, JobState::Cancelled)
        })?;
        self.after_finish(&job.tenant).await?;
        Ok(job)
    }

    async fn after_finish(&self, tenant: &str) -> QueueResult<()> {
        self.release_slot(tenant);
        self.durable().await?;
        self.notify.notify_waiters();
        Ok(())
    }

    fn backoff_ms(&self, attempt: u32) -> i64 {
        let base = self.config.backoff_base.as_millis() as f64;
        let raw = base
            * self
                .config
                .backoff_factor
                .powi(attempt.saturating_sub(1) as i32);
        let capped = raw.min(self.config.backoff_max.as_millis() as f64);
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
        let (job, outcome) = self.with_lease(id, token, |job, ready, leases| {
            self.fail_in_txn(job, ready, leases, error, retryable, now)
        })?;
        self.after_finish(&job.tenant).await?;
        Ok((job, outcome))
    }

    fn fail_in_txn(
        &self,
        job: &mut Job,
        ready: &TransactionalTree,
        leases: &TransactionalTree,
        error: &str,
        retryable: bool,
        now: i64,
    ) -> Result<FailOutcome, ConflictableTransactionError<QueueError>> {
        job.last_error = Some(error.chars().take(2000).collect());
        if job.cancel_requested {
            Self::finish(job, leases, JobState::Cancelled)?;
            return Ok(FailOutcome::Cancelled);
        }
        if retryable && job.attempts < job.max_attempts {
            if let Some(old) = job.lease_expires_at {
                leases.remove(&lease_key(old, job.id)[..])?;
            }
            let run_at = now + self.backoff_ms(job.attempts);
            job.state = JobState::Queued;
            job.lease_token = None;
            job.lease_expires_at = None;
            job.run_at = run_at;
            ready.insert(
                &ready_key(job.priority, run_at, job.id)[..],
                job.tenant.as_bytes(),
            )?;
            Ok(FailOutcome::Retrying { run_at })
        } else {
            Self::finish(job, leases, JobState::Failed)?;
            job.dead = true;
            Ok(FailOutcome::Dead)
        }
    }

    /// Hands a running job back unfinished (graceful shutdown): it is queued again at
    /// once and the interrupted attempt is not counted.
    pub async fn release(&self, id: Uuid, token: u64) -> QueueResult<Job> {
        let now = now_ms();
        let (job, _) = self.with_lease(id, token, |job, ready, leases| {
            if let Some(old) = job.lease_expires_at {
                leases.remove(&lease_key(old, job.id)[..])?;
            }
            job.state = JobState::Queued;
            job.attempts = job.attempts.saturating_sub(1);
            job.lease_token = None;
            job.lease_expires_at = None;
            job.run_at = now;
            ready.insert(
                &ready_key(job.priority, now, job.id)[..],
                job.tenant.as_bytes(),
            )?;
            Ok(())
        })?;
        self.after_finish(&job.tenant).await?;
        Ok(job)
    }

    /// Requeues (or dead-letters) jobs whose lease expired: their worker died.
    /// Returns the jobs handled, as they now stand.
    pub async fn reap_expired(&self) -> QueueResult<Vec<(Job, FailOutcome)>> {
        let now = now_ms();
        let end = (now.max(0) as u64 + 1).to_be_bytes();
        let expired: Vec<sled::IVec> = self
            .leases
            .range(..&end[..])
            .keys()
            .collect::<Result<_, _>>()?;
        let mut reaped = Vec::new();
        for key in expired {
            let id = uuid_at(&key[8..])?;
            let Some(job) = self.get(id)? else { continue };
            let Some(token) = job.lease_token else {
                continue;
            };
            match self.with_lease(id, token, |job, ready, leases| {
                // A lease may have been extended between the scan and now.
                if job.lease_expires_at.is_some_and(|t| t > now) {
                    return abort(QueueError::StaleLease);
                }
                self.fail_in_txn(
                    job,
                    ready,
                    leases,
                    "lease expired: the worker stopped responding",
                    true,
                    now,
                )
            }) {
                Ok((job, outcome)) => {
                    self.release_slot(&job.tenant);
                    reaped.push((job, outcome));
                }
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

    /// Cancels a queued job at once, or asks a running one to stop (cooperatively).
    pub async fn cancel(&self, id: Uuid) -> QueueResult<Job> {
        let job = self.txn(|| {
            (&self.jobs, &self.ready).transaction(|(jobs, ready)| {
                let mut job = load(jobs, id)?;
                match job.state {
                    JobState::Queued => {
                        ready.remove(&ready_key(job.priority, job.run_at, id)[..])?;
                        job.state = JobState::Cancelled;
                        job.finished_at = Some(now_ms());
                    }
                    JobState::Running => job.cancel_requested = true,
                    s => return abort(QueueError::InvalidState(s)),
                }
                job.updated_at = now_ms();
                jobs.insert(id.as_bytes(), encode(&job)?)?;
                Ok(job)
            })
        })?;
        self.durable().await?;
        Ok(job)
    }

    /// Puts a failed or cancelled job back in the queue with a fresh budget of attempts
    /// (staff retry).
    /// Finished steps are kept, so the workflow resumes where it stopped.
    pub async fn retry(&self, id: Uuid) -> QueueResult<Job> {
        let now = now_ms();
        let job = self.txn(|| {
            (&self.jobs, &self.ready).transaction(|(jobs, ready)| {
                let mut job = load(jobs, id)?;
                if !matches!(job.state, JobState::Failed | JobState::Cancelled) {
                    return abort(QueueError::InvalidState(job.state));
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
                ready.insert(&ready_key(job.priority, now, id)[..], job.tenant.as_bytes())?;
                jobs.insert(id.as_bytes(), encode(&job)?)?;
                Ok(job)
            })
        })?;
        self.durable().await?;
        self.notify.notify_waiters();
        Ok(job)
    }

    /// One page of a tenant's jobs, newest first, starting after `cursor` (a job id).
    pub fn list(
        &self,
        tenant: &str,
        filter: &JobFilter,
        cursor: Option<Uuid>,
        limit: usize,
    ) -> QueueResult<Vec<Job>> {
        let prefix = tenant_prefix(tenant);
        let end = match cursor {
            Some(c) => tenant_key(tenant, c),
            None => [tenant.as_bytes(), b"\x01"].concat(),
        };
        let mut out = Vec::new();
        for item in self.by_tenant.range(prefix.clone()..end).rev() {
            let (key, _) = item?;
            let Some(job) = self.get(uuid_at(&key[prefix.len()..])?)? else {
                continue;
            };
            if filter.state.is_some_and(|s| s != job.state)
                || filter.kind.as_ref().is_some_and(|k| *k != job.kind)
            {
                continue;
            }
            out.push(job);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// How many of a tenant's jobs are queued and running (its newest `window` jobs are
    /// looked at: older ones have long finished).
    pub fn active_counts(&self, tenant: &str, window: usize) -> QueueResult<(u64, u64)> {
        let prefix = tenant_prefix(tenant);
        let (mut queued, mut running) = (0, 0);
        for item in self.by_tenant.scan_prefix(&prefix).rev().take(window) {
            let (key, _) = item?;
            match self.get(uuid_at(&key[prefix.len()..])?)?.map(|j| j.state) {
                Some(JobState::Queued) => queued += 1,
                Some(JobState::Running) => running += 1,
                _ => {}
            }
        }
        Ok((queued, running))
    }

    /// All jobs (newest first), optionally of one tenant. A linear scan: for the staff
    /// views, not the hot path.
    pub fn scan(&self, tenant: Option<&str>) -> QueueResult<Vec<Job>> {
        let mut out = Vec::new();
        for item in self.jobs.iter().rev() {
            let (_, v) = item?;
            let job = decode(&v)?;
            if tenant.is_none_or(|t| t == job.tenant) {
                out.push(job);
            }
        }
        Ok(out)
    }

    /// Counts by kind and state, due jobs and the oldest due age.
    pub fn stats(&self) -> QueueResult<QueueStats> {
        let now = now_ms();
        let mut stats = QueueStats::default();
        for item in self.jobs.iter() {
            let (_, v) = item?;
            let job = decode(&v)?;
            *stats
                .by_kind_state
                .entry((job.kind.clone(), job.state))
                .or_insert(0) += 1;
            if job.dead {
                stats.dead_letters += 1;
            }
            if job.state == JobState::Queued && job.run_at <= now {
                stats.due += 1;
                let age = now - job.run_at;
                stats.oldest_due_age_ms = Some(stats.oldest_due_age_ms.map_or(age, |a| a.max(age)));
            }
        }
        Ok(stats)
    }

    /// Removes finished jobs older than the retention and idempotency keys older than
    /// their window. Returns how many jobs were removed.
    pub fn purge(&self) -> QueueResult<usize> {
        let now = now_ms();
        let horizon = now - ms(self.config.retention);
        let mut removed = 0;
        for item in self.jobs.iter() {
            let (k, v) = item?;
            let job = decode(&v)?;
            if !job.state.is_terminal() || job.finished_at.is_none_or(|f| f > horizon) {
                continue;
            }
            self.txn(|| {
                (&self.jobs, &self.by_tenant).transaction(|(jobs, by_tenant)| {
                    jobs.remove(&k)?;
                    by_tenant.remove(tenant_key(&job.tenant, job.id))?;
                    Ok::<_, ConflictableTransactionError<QueueError>>(())
                })
            })?;
            removed += 1;
        }
        let window = ms(self.config.idempotency_window);
        for item in self.idem.iter() {
            let (k, v) = item?;
            if now - be_i64(&v[16..24]) >= window {
                self.idem.remove(k)?;
            }
        }
        Ok(removed)
    }

    /// Jobs waiting in the ready set (due or not).
    pub fn depth(&self) -> usize {
        self.ready.len()
    }

    /// Jobs currently leased.
    pub fn running(&self) -> usize {
        self.leases.len()
    }

    /// Whether the queue answers (readiness).
    pub fn ping(&self) -> QueueResult<()> {
        self.jobs.first()?;
        Ok(())
    }

    /// Flushes everything (shutdown).
    pub async fn flush(&self) -> QueueResult<()> {
        self.flush_gated().await?;
        Ok(())
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
        q.spawn_flusher();
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
            vec!["busy", "busy", "quiet"],
            "busy stops at its quota; quiet still runs"
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
}
