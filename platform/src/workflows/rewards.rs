//! `gamification.reward_evaluate` (every entry create, edit and attachment upload) and
//! `gamification.weekly_sweep` (hourly): the reward rules of `gamification::rules`
//! applied to stored state.
//!
//! One user's evaluations are made together: the job that a worker leased takes the
//! user's other queued evaluations too ([`BATCH`] at most, `Queue::claim_more`), reads
//! everything they need in one query, applies the rules to each entry version in turn
//! (each sees the state the previous one left), and writes all of it in one
//! transaction that checks the revision of the state it started from. If something
//! else changed the user's state first, the batch is recomputed from the new state.
//! Evaluations of one user can't run side by side and fight over that revision, and a
//! burst of entries costs a few queries, not a few per entry. Each job still gets its
//! own outcome. Idempotent per (entry id, version): the rules remember evaluated
//! versions and the ledger is unique per idempotency key.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Enqueue, JobKind, JobPayload, Step, StepCtx, Timeline, Workflow};
use crate::gamification::rules::{
    self, EntryFacts, EntryId, EntryRecord, Evaluation, EvaluationStatus, PriorEntry, RewardConfig,
};
use crate::jobs::queue::Job;
use crate::jobs::runner::{self, JobError};
use crate::observability::events::kind;
use crate::store::gamification::{self as repo, Attempt, Change, Part, PriorRow};
use crate::store::{platform, Scope, TenantDb, TenantId};

/// The payload of `gamification.reward_evaluate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RewardPayload {
    pub entry_id: String,
    pub version: u32,
    pub user_id: String,
}

impl JobPayload for RewardPayload {
    const KIND: JobKind = JobKind::RewardEvaluate;
}

/// How long a reward evaluation queued ahead of its entry's write waits before it runs
/// anyway: only a crash between the two leaves it waiting that long.
pub const HOLD: std::time::Duration = std::time::Duration::from_secs(30);

/// A reward evaluation queued, durably, *before* the entry version it evaluates is
/// written, so no crash can leave an entry version without its evaluation. It is held
/// (due only after [`HOLD`]) until [`HeldReward::release`] after the write; if the
/// write fails, [`HeldReward::cancel`] drops it. Should the process die in between, the
/// evaluation runs after the hold and finds the version written or not (then it skips).
pub struct HeldReward {
    /// The job this request created (an idempotent repeat names someone else's job,
    /// which is theirs to release or withdraw).
    job: Option<uuid::Uuid>,
}

/// Queues the evaluation of version `version` of `entry_id` by `author_id`, due at
/// `run_at` (now when `None`); idempotent per entry version. The one place that knows
/// the job's kind, key, payload and lane.
pub async fn queue_evaluation(
    state: &crate::deps::Deps,
    tenant: TenantId,
    created_by: &str,
    entry_id: &str,
    version: u32,
    author_id: &str,
    run_at: Option<i64>,
) -> crate::jobs::queue::QueueResult<crate::jobs::queue::Enqueued> {
    let mut opts = state.jobs.options();
    // A user is waiting to see the reward: the interactive lane.
    opts.priority = crate::jobs::queue::INTERACTIVE_PRIORITY;
    opts.idempotency_key = Some(format!("entry:{entry_id}:v{version}"));
    opts.created_by = Some(created_by.to_string());
    opts.run_at = run_at;
    let payload = RewardPayload {
        entry_id: entry_id.to_string(),
        version,
        user_id: author_id.to_string(),
    };
    super::kinds::enqueue(state, Scope::Tenant(tenant), &payload, opts).await
}

impl HeldReward {
    /// Queues the evaluation of version `version` of `entry_id` by `author_id`, held.
    /// A queue failure is logged, never a failed request (the entry matters more).
    pub async fn hold(
        state: &crate::deps::Deps,
        tenant: TenantId,
        created_by: &str,
        entry_id: &str,
        version: u32,
        author_id: &str,
    ) -> Self {
        let held_until = crate::jobs::queue::now_ms() + HOLD.as_millis() as i64;
        match queue_evaluation(
            state,
            tenant,
            created_by,
            entry_id,
            version,
            author_id,
            Some(held_until),
        )
        .await
        {
            Ok(crate::jobs::queue::Enqueued::Created(id)) => Self { job: Some(id) },
            Ok(crate::jobs::queue::Enqueued::Existing(_)) => Self { job: None },
            Err(err) => {
                tracing::error!(error = %err, entry_id, "reward evaluation not queued");
                Self { job: None }
            }
        }
    }

    /// The entry version is written: evaluate it now.
    pub fn release(self, state: &crate::deps::Deps) {
        if let Some(id) = self.job {
            if let Err(e) = state.jobs.queue().run_now(id) {
                tracing::warn!(error = %e, job_id = %id, "held reward evaluation not released; it runs after the hold");
            }
        }
    }

    /// The entry version was not written: nothing to evaluate.
    pub fn cancel(self, state: &crate::deps::Deps) {
        if let Some(id) = self.job {
            if let Err(e) = state.jobs.queue().withdraw(id) {
                tracing::warn!(error = %e, job_id = %id, "held reward evaluation not withdrawn; it will skip");
            }
        }
    }
}

fn db_err(e: impl std::fmt::Display) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

/// Most evaluations of one user made together. Each batch reads the author's recent
/// entries once (up to [`PRIOR_ENTRIES_COMPARED`] of them, for near-duplicates), so a
/// larger batch spreads that read over more evaluations.
pub const BATCH: usize = 256;

/// How many of the author's most recent entries (within the duplicate window) a new
/// version is compared with for near-duplicates.
pub const PRIOR_ENTRIES_COMPARED: usize = 500;

/// The workflow.
pub fn reward_evaluate() -> Workflow {
    Workflow {
        kind: JobKind::RewardEvaluate.as_str(),
        description: "Evaluates entry versions (with the user's other queued ones): meaningfulness, XP with caps, streak, badges, challenges, ledger",
        enqueue: Enqueue::Internal,
        validate: None,
        timeline: Timeline::Lifecycle,
        steps: vec![Step::new("evaluate", evaluate)],
    }
}

/// The user's time zone (UTC if unknown), from the request-principal cache.
async fn timezone(ctx: &StepCtx, user_id: &str) -> Result<chrono_tz::Tz, JobError> {
    let user = ctx
        .state
        .principals
        .get(ctx.state.store.platform(), user_id)
        .await
        .map_err(db_err)?;
    Ok(user.map_or(chrono_tz::UTC, |u| u.timezone))
}

fn payload_of(job: &Job) -> Result<RewardPayload, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::fatal(format!("invalid job payload: {e}")))
}

async fn evaluate(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let lead = payload_of(&ctx.job)?;
    let db = ctx.tenant_db().await?;
    let user = lead.user_id.clone();
    let members = ctx
        .queue
        .claim_more(&ctx.job, BATCH - 1, |j| {
            j.payload.get("user_id").and_then(|u| u.as_str()) == Some(user.as_str())
        })
        .map_err(|e| JobError::retryable(format!("queue: {e}")))?;
    let started = Instant::now();
    let mut items = vec![(ctx.job.id.to_string(), Ok(lead))];
    for m in &members {
        ctx.state.events.emit_job(
            &m.job,
            kind::JOB_STARTED,
            format!("attempt {} of {}, with job {}", m.job.attempts, m.job.max_attempts, ctx.job.id),
            json!({"attempt": m.job.attempts, "max_attempts": m.job.max_attempts, "batch_of": ctx.job.id.to_string()}),
        );
        items.push((m.job.id.to_string(), payload_of(&m.job)));
    }
    let mut outcomes = match evaluate_all(&ctx, &db, &user, &items).await {
        Ok(outcomes) => outcomes,
        Err(e) => items.iter().map(|_| Err(e.clone())).collect(),
    };
    let took = started.elapsed();
    let leader = outcomes.remove(0);
    for (m, outcome) in members.iter().zip(outcomes) {
        runner::settle(
            &ctx.queue,
            &ctx.state.events,
            &m.job,
            m.token,
            outcome,
            took,
        )
        .await;
    }
    leader
}

/// What one evaluation writes, kept until the batch is written.
struct Planned {
    entry_id: String,
    job_id: String,
    evaluation: Evaluation,
    row: serde_json::Value,
}

/// Evaluates every item (job id, payload) of `user`, in order, and writes the result;
/// returns each item's outcome.
async fn evaluate_all(
    ctx: &StepCtx,
    db: &TenantDb,
    user: &str,
    items: &[(String, Result<RewardPayload, JobError>)],
) -> Result<Vec<Result<serde_json::Value, JobError>>, JobError> {
    let config = ctx
        .state
        .reward_config
        .get(ctx.state.store.platform())
        .await
        .map_err(db_err)?;
    let tz = timezone(ctx, user).await?;
    let mut ids: Vec<String> = Vec::new();
    for (_, p) in items {
        if let Ok(p) = p {
            if !ids.contains(&p.entry_id) {
                ids.push(p.entry_id.clone());
            }
        }
    }
    let per_hour = config.max_entries_per_hour as usize + 1;
    let (config, ids) = (&config, &ids);
    repo::apply_with_retry(move |attempt| async move {
        // The newest `per_hour` entries before each evaluated one settle the hourly
        // limit; only an entry that passes it needs the whole duplicate window, read
        // once for the batch when first needed. The rules see the same facts either
        // way: a rate-limited entry is judged before any duplicate is looked for.
        let inputs = repo::evaluation_inputs(db, ids, user, per_hour + ids.len())
            .await
            .map_err(db_err)?;
        let entries: HashMap<&str, &crate::store::worklogs::EntryRow> =
            inputs.entries.iter().map(|e| (e.id.as_str(), e)).collect();
        let mut window: Option<Vec<PriorRow>> = None;
        let mut state = inputs.user.state.clone();
        let mut records = inputs.records.clone();
        let mut planned: Vec<Planned> = Vec::new();
        let mut outcomes: Vec<Result<serde_json::Value, JobError>> = Vec::new();
        for (job_id, payload) in items {
            let p = match payload {
                Ok(p) => p,
                Err(e) => {
                    outcomes.push(Err(e.clone()));
                    continue;
                }
            };
            let skip = |why: String| Ok(json!({"skipped": why}));
            let Some(entry) = entries.get(p.entry_id.as_str()).copied() else {
                outcomes.push(skip("the entry was deleted".into()));
                continue;
            };
            if entry.author_id != user {
                outcomes.push(Err(JobError::fatal("the entry belongs to another user")));
                continue;
            }
            if entry.version > p.version {
                // The newer version's own job evaluates the current content.
                outcomes.push(skip(format!("superseded by version {}", entry.version)));
                continue;
            }
            if entry.version < p.version {
                outcomes.push(Err(JobError::retryable(format!(
                    "entry is at version {}, the job is for version {}",
                    entry.version, p.version
                ))));
                continue;
            }
            let before = |r: &&PriorRow| (r.created_at, &r.id) < (entry.created_at, &entry.id);
            let hour_ago = entry.created_at - chrono::Duration::hours(1);
            let near = inputs.prior.iter().filter(before);
            let in_last_hour = near.clone().filter(|r| r.created_at > hour_ago).count();
            let rows: Vec<&PriorRow> = if in_last_hour >= config.max_entries_per_hour as usize {
                near.collect()
            } else {
                if window.is_none() {
                    let limit = PRIOR_ENTRIES_COMPARED.max(per_hour) + ids.len();
                    window = Some(
                        repo::evaluation_inputs(db, ids, user, limit)
                            .await
                            .map_err(db_err)?
                            .prior,
                    );
                }
                window.iter().flatten().filter(before).collect()
            };
            let (from, _) = rules::prior_entries_window(config, entry.created_at);
            let prior: Vec<PriorEntry> = rows
                .into_iter()
                .filter(|r| r.created_at >= from)
                .map(|r| PriorEntry {
                    entry_id: EntryId(r.id.clone()),
                    created_at: r.created_at,
                    content: r.content.clone(),
                })
                .collect();
            let record = records
                .get(&entry.id)
                .cloned()
                .unwrap_or_else(|| EntryRecord::new(EntryId(entry.id.clone())));
            let facts = EntryFacts::from(entry);
            let e = rules::evaluate(config, &state, &record, &facts, &prior, tz)
                .map_err(|e| JobError::fatal(format!("reward rules: {e}")))?;
            if e.status == EvaluationStatus::AlreadyApplied {
                outcomes.push(Ok(
                    json!({"skipped": "this entry version was already evaluated", "xp_granted": 0}),
                ));
                continue;
            }
            state = e.user.clone();
            records.insert(entry.id.clone(), e.record.clone());
            let outcome = json!({
                "meaningful": e.meaningful.is_ok(),
                "xp_granted": e.xp_granted,
                "xp_capped": e.xp_capped,
                "badges": e.badges_awarded.iter().map(|b| b.code.to_string()).collect::<BTreeSet<_>>(),
                "streak": e.user.streak.current,
            });
            let row = json!({
                "id": format!("{}_v{}", p.entry_id, p.version),
                "row": {
                    "user_id": user,
                    "entry_id": p.entry_id,
                    "entry_version": p.version,
                    "config_version": e.config_version,
                    "job_id": job_id,
                    "outcome": outcome,
                }
            });
            outcomes.push(Ok(summary(&e, planned.len())));
            planned.push(Planned {
                entry_id: entry.id.clone(),
                job_id: job_id.clone(),
                evaluation: e,
                row,
            });
        }
        if planned.is_empty() {
            return Ok(Attempt::Done(outcomes));
        }
        let change = Change {
            user_id: user,
            rev: inputs.user.rev,
            state: Some(&state),
            more: planned
                .iter()
                .map(|p| Part {
                    entry: (&p.entry_id, &p.evaluation.record),
                    ledger: &p.evaluation.ledger,
                    badges: &p.evaluation.badges_awarded,
                    closed: &p.evaluation.challenges_closed,
                    evaluation: p.row.clone(),
                    job_id: &p.job_id,
                })
                .collect(),
            ..Change::default()
        };
        // Another change of this user landed first: start from its result.
        let Attempt::Done(rev) = repo::try_write(db, &change).await.map_err(db_err)? else {
            return Ok(Attempt::Stale);
        };
        let n = items.len();
        for o in outcomes.iter_mut().flatten() {
            if o.get("skipped").is_none() {
                o["rev"] = json!(rev);
                o["recomputed"] = json!(attempt > 0);
            }
            o["batch"] = json!(n);
        }
        Ok(Attempt::Done(outcomes))
    })
    .await?
    .ok_or_else(|| JobError::retryable("the user's reward state kept changing; will try again"))
}

/// What an evaluation decided, as the job's result.
fn summary(e: &Evaluation, position: usize) -> serde_json::Value {
    json!({
        "meaningful": e.meaningful.is_ok(),
        "not_meaningful": e.meaningful.as_ref().err(),
        "breakdown": e.xp,
        "entry_value": e.entry_value,
        "previously_earned": e.previously_earned,
        "xp_granted": e.xp_granted,
        "held_back_by_daily_cap": e.xp_capped,
        "total_xp": e.user.total_xp,
        "streak": {
            "day": e.streak_day,
            "current": e.user.streak.current,
            "longest": e.user.streak.longest,
            "freezes": e.user.streak.freezes,
            "freezes_used": e.freezes_used,
            "freezes_earned": e.freezes_earned,
        },
        "badges_awarded": e.badges_awarded.iter().map(|b| b.code.to_string()).collect::<Vec<_>>(),
        "challenges_completed": e.challenges_completed.iter().map(|c| c.code.clone()).collect::<Vec<_>>(),
        "challenges_closed": e.challenges_closed.len(),
        "ledger_events": e.ledger.len(),
        "config_version": e.config_version,
        "position_in_batch": position,
    })
}

/// `gamification.weekly_sweep`: for every tenant and user with reward state, closes a
/// finished week of challenges and opens the current one (per the user's time zone).
pub fn weekly_sweep() -> Workflow {
    Workflow {
        kind: JobKind::RewardWeeklySweep.as_str(),
        description: "Closes finished weekly challenges and opens new ones, per user time zone",
        enqueue: Enqueue::Internal,
        validate: None,
        timeline: Timeline::Lifecycle,
        steps: vec![Step::new("sweep", sweep)],
    }
}

async fn sweep(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let platform_db = ctx.state.store.platform();
    let config: RewardConfig = ctx
        .state
        .reward_config
        .get(platform_db)
        .await
        .map_err(db_err)?;
    let tenants = platform::list_tenant_ids(platform_db)
        .await
        .map_err(db_err)?;
    let now = Utc::now();
    let (mut users, mut swept, mut closed_total) = (0u64, 0u64, 0u64);
    for tenant in tenants {
        let db = ctx.state.store.tenant(tenant).await.map_err(db_err)?;
        for user_id in repo::user_ids(&db).await.map_err(db_err)? {
            users += 1;
            let tz = timezone(&ctx, &user_id).await?;
            let (db, user_id, config) = (&db, &user_id, &config);
            let closed = repo::apply_with_retry(move |_| async move {
                let row = repo::user(db, user_id).await.map_err(db_err)?;
                let out = rules::weekly_sweep(config, &row.state, tz, now)
                    .map_err(|e| JobError::fatal(format!("reward rules: {e}")))?;
                if out.closed.is_empty() && out.opened.is_none() {
                    return Ok(Attempt::Done(None));
                }
                let change = Change {
                    user_id,
                    rev: row.rev,
                    state: Some(&out.user),
                    closed: &out.closed,
                    ..Change::default()
                };
                Ok(match repo::try_write(db, &change).await.map_err(db_err)? {
                    Attempt::Done(_) => Attempt::Done(Some(out.closed.len() as u64)),
                    Attempt::Stale => Attempt::Stale,
                })
            })
            .await?;
            // Still changing after every try: the next sweep closes the week.
            if let Some(Some(closed)) = closed {
                swept += 1;
                closed_total += closed;
            }
        }
    }
    Ok(json!({"users": users, "users_swept": swept, "challenges_closed": closed_total}))
}
