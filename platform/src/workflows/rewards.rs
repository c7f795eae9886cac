//! `gamification.reward_evaluate` (every entry create, edit and attachment upload) and
//! `gamification.weekly_sweep` (hourly): the reward rules of `gamification::rules`
//! applied to stored state.
//!
//! The evaluation is computed once, purely, from one snapshot (the user's state at a
//! revision, the entry record, the config, the prior entries), so the six rule steps
//! can't see different states; steps 2–5 record each rule's decision as its own step and
//! Event, and `persist` writes everything in one transaction that checks the snapshot's
//! revision. If another evaluation of the same user won the race, `persist` recomputes
//! from the new state and writes again. Idempotent per (entry id, version): the rules
//! remember evaluated versions and the ledger is unique per idempotency key.

use std::collections::BTreeSet;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Enqueue, Step, StepCtx, Timeline, Workflow};
use crate::gamification::rules::{
    self, EntryFacts, EntryId, EntryRecord, Evaluation, EvaluationStatus, PriorEntry, RewardConfig,
};
use crate::jobs::runner::JobError;
use crate::store::gamification::{self as repo, Change, WriteError};
use crate::store::{platform, TenantDb};

/// The payload of `gamification.reward_evaluate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RewardPayload {
    pub entry_id: String,
    pub version: u32,
    pub user_id: String,
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

impl HeldReward {
    /// Queues the evaluation of version `version` of `entry_id` by `author_id`, held.
    /// A queue failure is logged, never a failed request (the entry matters more).
    pub async fn hold(
        state: &crate::state::AppState,
        tenant: &str,
        created_by: &str,
        entry_id: &str,
        version: u32,
        author_id: &str,
    ) -> Self {
        let mut opts = state.jobs.options();
        opts.idempotency_key = Some(format!("entry:{entry_id}:v{version}"));
        opts.created_by = Some(created_by.to_string());
        opts.run_at = Some(crate::jobs::queue::now_ms() + HOLD.as_millis() as i64);
        let payload = json!({"entry_id": entry_id, "version": version, "user_id": author_id});
        match state
            .jobs
            .enqueue(tenant, "gamification.reward_evaluate", payload, opts)
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
    pub fn release(self, state: &crate::state::AppState) {
        if let Some(id) = self.job {
            if let Err(e) = state.jobs.queue().run_now(id) {
                tracing::warn!(error = %e, job_id = %id, "held reward evaluation not released; it runs after the hold");
            }
        }
    }

    /// The entry version was not written: nothing to evaluate.
    pub fn cancel(self, state: &crate::state::AppState) {
        if let Some(id) = self.job {
            if let Err(e) = state.jobs.queue().withdraw(id) {
                tracing::warn!(error = %e, job_id = %id, "held reward evaluation not withdrawn; it will skip");
            }
        }
    }
}

/// What the first step decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Snapshot {
    /// Why nothing is evaluated (entry deleted, superseded), if so.
    skipped: Option<String>,
    /// The entry's author, whose rewards these are.
    user_id: String,
    rev: u64,
    evaluation: Option<Evaluation>,
}

fn db_err(e: impl std::fmt::Display) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

/// The workflow.
pub fn reward_evaluate() -> Workflow {
    Workflow {
        kind: "gamification.reward_evaluate",
        description: "Evaluates an entry version: meaningfulness, XP with caps, streak, badges, challenges, ledger",
        enqueue: Enqueue::Internal,
        validate: None,
        timeline: Timeline::Lifecycle,
        steps: vec![
            Step::new("validate", validate),
            Step::new("compute_xp", compute_xp),
            Step::new("update_streak", update_streak),
            Step::new("award_badges", award_badges),
            Step::new("update_challenges", update_challenges),
            Step::new("persist", persist),
        ],
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

/// Loads the snapshot and evaluates the entry version against it.
///
/// The prior entries are read in two stages: the newest `max_entries_per_hour + 1`
/// come with the snapshot, which settles the hourly limit; only an entry that passes
/// it needs the (up to [`PRIOR_ENTRIES_COMPARED`]) entries of the duplicate window.
/// The rules see the same facts either way: a rate-limited entry is judged before any
/// duplicate is looked for.
async fn evaluate_now(
    ctx: &StepCtx,
    db: &TenantDb,
    p: &RewardPayload,
) -> Result<Snapshot, JobError> {
    let skip = |why: String| Snapshot {
        skipped: Some(why),
        user_id: p.user_id.clone(),
        rev: 0,
        evaluation: None,
    };
    let config = ctx
        .state
        .reward_config
        .get(ctx.state.store.platform())
        .await
        .map_err(db_err)?;
    let per_hour = config.max_entries_per_hour as usize + 1;
    let mut inputs = repo::evaluation_inputs(db, &p.entry_id, &p.user_id, per_hour)
        .await
        .map_err(db_err)?;
    let Some(entry) = inputs.entry.take() else {
        return Ok(skip("the entry was deleted".into()));
    };
    if entry.version > p.version {
        // The newer version's own job evaluates the current content.
        return Ok(skip(format!("superseded by version {}", entry.version)));
    }
    if entry.version < p.version {
        return Err(JobError::retryable(format!(
            "entry is at version {}, the job is for version {}",
            entry.version, p.version
        )));
    }
    if entry.author_id != p.user_id {
        // The snapshot was read for another author: read it again for the real one.
        inputs = repo::evaluation_inputs(db, &p.entry_id, &entry.author_id, per_hour)
            .await
            .map_err(db_err)?;
    }
    let record = inputs
        .record
        .take()
        .unwrap_or_else(|| EntryRecord::new(EntryId(entry.id.clone())));
    let tz = timezone(ctx, &entry.author_id).await?;
    let (from, _) = rules::prior_entries_window(&config, entry.created_at);
    let hour_ago = entry.created_at - chrono::Duration::hours(1);
    let in_last_hour = inputs
        .prior
        .iter()
        .filter(|r| {
            (r.created_at, &r.id) < (entry.created_at, &entry.id) && r.created_at > hour_ago
        })
        .count();
    let rows = if in_last_hour >= config.max_entries_per_hour as usize {
        inputs.prior
    } else {
        // The newest entries only: comparing each evaluation with every entry of a week
        // made the cost grow with the square of a prolific log.
        let limit = PRIOR_ENTRIES_COMPARED.max(per_hour);
        repo::evaluation_inputs(db, &entry.id, &entry.author_id, limit)
            .await
            .map_err(db_err)?
            .prior
    };
    let prior: Vec<PriorEntry> = rows
        .into_iter()
        .filter(|r| r.created_at >= from)
        .map(|r| PriorEntry {
            entry_id: EntryId(r.id),
            created_at: r.created_at,
            content: r.content,
        })
        .collect();
    let facts = EntryFacts {
        entry_id: EntryId(entry.id.clone()),
        version: entry.version,
        content: entry.content.clone(),
        tag_count: entry.tags.len() as u32,
        attachment_count: entry.attachment_count,
        has_outcome: entry
            .outcome
            .as_deref()
            .is_some_and(|o| !o.trim().is_empty()),
        created_at: entry.created_at,
        version_at: if entry.version == 1 {
            entry.created_at
        } else {
            entry.updated_at
        },
    };
    let user = inputs.user;
    let evaluation = rules::evaluate(&config, &user.state, &record, &facts, &prior, tz)
        .map_err(|e| JobError::fatal(format!("reward rules: {e}")))?;
    Ok(Snapshot {
        skipped: None,
        user_id: entry.author_id.clone(),
        rev: user.rev,
        evaluation: Some(evaluation),
    })
}

/// How many of the author's most recent entries (within the duplicate window) a new
/// version is compared with for near-duplicates.
pub const PRIOR_ENTRIES_COMPARED: usize = 500;

fn snapshot(ctx: &StepCtx) -> Result<Snapshot, JobError> {
    ctx.output_as("validate")
}

async fn validate(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: RewardPayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let snap = evaluate_now(&ctx, &db, &p).await?;
    serde_json::to_value(&snap).map_err(|e| JobError::fatal(e.to_string()))
}

/// Each rule step reports its part of the evaluation (or that there is nothing to do).
fn part(
    ctx: &StepCtx,
    f: impl Fn(&Evaluation) -> serde_json::Value,
) -> Result<serde_json::Value, JobError> {
    let snap = snapshot(ctx)?;
    Ok(match (&snap.skipped, &snap.evaluation) {
        (Some(why), _) => json!({"skipped": why}),
        (None, Some(e)) if e.status == EvaluationStatus::AlreadyApplied => {
            json!({"skipped": "this entry version was already evaluated"})
        }
        (None, Some(e)) => f(e),
        (None, None) => json!({"skipped": "nothing to evaluate"}),
    })
}

async fn compute_xp(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    part(&ctx, |e| {
        json!({
            "meaningful": e.meaningful.is_ok(),
            "not_meaningful": e.meaningful.as_ref().err(),
            "breakdown": e.xp,
            "entry_value": e.entry_value,
            "previously_earned": e.previously_earned,
            "granted": e.xp_granted,
            "held_back_by_daily_cap": e.xp_capped,
        })
    })
}

async fn update_streak(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    part(&ctx, |e| {
        json!({
            "day": e.streak_day,
            "current": e.user.streak.current,
            "longest": e.user.streak.longest,
            "freezes": e.user.streak.freezes,
            "freezes_used": e.freezes_used,
            "freezes_earned": e.freezes_earned,
        })
    })
}

async fn award_badges(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    part(
        &ctx,
        |e| json!({"awarded": e.badges_awarded.iter().map(|b| b.code.to_string()).collect::<Vec<_>>()}),
    )
}

async fn update_challenges(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    part(&ctx, |e| {
        json!({
            "completed": e.challenges_completed.iter().map(|c| c.code.clone()).collect::<Vec<_>>(),
            "closed": e.challenges_closed.len(),
            "week": e.user.week,
        })
    })
}

async fn persist(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: RewardPayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let mut snap = snapshot(&ctx)?;
    let job_id = ctx.job.id.to_string();
    for attempt in 0..5 {
        if let Some(why) = &snap.skipped {
            return Ok(json!({"skipped": why}));
        }
        let Some(e) = &snap.evaluation else {
            return Ok(json!({"skipped": "nothing to evaluate"}));
        };
        if e.status == EvaluationStatus::AlreadyApplied {
            return Ok(
                json!({"skipped": "this entry version was already evaluated", "xp_granted": 0}),
            );
        }
        let user_id = snap.user_id.clone();
        let outcome = json!({
            "meaningful": e.meaningful.is_ok(),
            "xp_granted": e.xp_granted,
            "xp_capped": e.xp_capped,
            "badges": e.badges_awarded.iter().map(|b| b.code.to_string()).collect::<BTreeSet<_>>(),
            "streak": e.user.streak.current,
        });
        let change = Change {
            user_id: &user_id,
            rev: snap.rev,
            state: Some(&e.user),
            entry: Some((&p.entry_id, &e.record)),
            ledger: &e.ledger,
            badges: &e.badges_awarded,
            revoked: &[],
            closed: &e.challenges_closed,
            evaluation: Some(json!({
                "id": format!("{}_v{}", p.entry_id, p.version),
                "row": {
                    "user_id": user_id,
                    "entry_id": p.entry_id,
                    "entry_version": p.version,
                    "config_version": e.config_version,
                    "job_id": job_id,
                    "outcome": outcome,
                }
            })),
            job_id: Some(&job_id),
        };
        match repo::write(&db, &change).await {
            Ok(rev) => {
                return Ok(json!({
                    "rev": rev,
                    "xp_granted": e.xp_granted,
                    "total_xp": e.user.total_xp,
                    "ledger_events": e.ledger.len(),
                    "config_version": e.config_version,
                    "recomputed": attempt > 0,
                }))
            }
            Err(WriteError::Conflict) => {
                // Another evaluation of this user landed first: start from its result.
                snap = evaluate_now(&ctx, &db, &p).await?;
            }
            Err(WriteError::Store(err)) => return Err(db_err(err)),
        }
    }
    Err(JobError::retryable(
        "the user's reward state kept changing; will try again",
    ))
}

/// `gamification.weekly_sweep`: for every tenant and user with reward state, closes a
/// finished week of challenges and opens the current one (per the user's time zone).
pub fn weekly_sweep() -> Workflow {
    Workflow {
        kind: "gamification.weekly_sweep",
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
        let Ok(uuid) = uuid::Uuid::parse_str(&tenant) else {
            continue;
        };
        let db = ctx
            .state
            .store
            .tenant(crate::store::TenantId(uuid))
            .await
            .map_err(db_err)?;
        for user_id in repo::user_ids(&db).await.map_err(db_err)? {
            users += 1;
            let tz = timezone(&ctx, &user_id).await?;
            for _ in 0..5 {
                let row = repo::user(&db, &user_id).await.map_err(db_err)?;
                let out = rules::weekly_sweep(&config, &row.state, tz, now)
                    .map_err(|e| JobError::fatal(format!("reward rules: {e}")))?;
                if out.closed.is_empty() && out.opened.is_none() {
                    break;
                }
                let change = Change {
                    user_id: &user_id,
                    rev: row.rev,
                    state: Some(&out.user),
                    closed: &out.closed,
                    ..Change::default()
                };
                match repo::write(&db, &change).await {
                    Ok(_) => {
                        swept += 1;
                        closed_total += out.closed.len() as u64;
                        break;
                    }
                    Err(WriteError::Conflict) => continue,
                    Err(WriteError::Store(e)) => return Err(db_err(e)),
                }
            }
        }
    }
    Ok(json!({"users": users, "users_swept": swept, "challenges_closed": closed_total}))
}
