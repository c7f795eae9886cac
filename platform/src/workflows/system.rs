//! Platform workflows: nightly executive metrics and the weekly challenge sweep.

use serde_json::json;

use super::{Enqueue, JobKind, Step, StepCtx, Timeline, Workflow};
use crate::jobs::queue::JobState;
use crate::jobs::runner::JobError;

fn db_error(e: impl std::fmt::Display) -> JobError {
    JobError::retryable(format!("database: {e}"))
}

/// `system.compute_metrics`: platform-wide numbers for the staff dashboard.
pub fn compute_metrics() -> Workflow {
    Workflow {
        kind: JobKind::SystemComputeMetrics.as_str(),
        description: "Computes platform metrics (tenants, users, jobs) into a snapshot",
        enqueue: Enqueue::Internal,
        validate: None,
        timeline: Timeline::Lifecycle,
        steps: vec![Step::new("collect", collect), Step::new("persist", persist)],
    }
}

async fn collect(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let db = ctx.state.store.platform();
    let mut rows = db
        .query(
            "RETURN {
                tenants: (SELECT count() AS n FROM tenant GROUP ALL)[0].n ?? 0,
                users: (SELECT count() AS n FROM user GROUP ALL)[0].n ?? 0,
                disabled_users: (SELECT count() AS n FROM user WHERE disabled GROUP ALL)[0].n ?? 0,
                logins_24h: (SELECT count() AS n FROM auth_event WHERE kind = 'login_succeeded' AND created_at > time::now() - 1d GROUP ALL)[0].n ?? 0,
                active_users_7d: array::len(array::distinct((SELECT VALUE user_id FROM auth_event WHERE kind = 'login_succeeded' AND created_at > time::now() - 7d)))
             };",
            json!({}),
        )
        .await
        .map_err(db_error)?;
    let mut data: serde_json::Value = rows.first(0).map_err(db_error)?.unwrap_or(json!({}));
    let stats = ctx.state.jobs.queue().stats().map_err(db_error)?;
    let mut by_state = serde_json::Map::new();
    for state in JobState::ALL {
        let n: u64 = stats
            .by_kind_state
            .iter()
            .filter(|((_, s), _)| *s == state)
            .map(|(_, n)| *n)
            .sum();
        by_state.insert(state.as_str().into(), json!(n));
    }
    data["jobs_by_state"] = serde_json::Value::Object(by_state);
    data["dead_letters"] = json!(stats.dead_letters);
    Ok(data)
}

async fn persist(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let data = ctx.output("collect").cloned().unwrap_or(json!({}));
    // Keyed by the job id: a re-run of this step overwrites rather than duplicates.
    ctx.state
        .store
        .platform()
        .query(
            "UPSERT type::record('metrics_snapshot', $id) CONTENT { job_id: $id, data: $data, computed_at: time::now() };",
            json!({"id": ctx.job.id.to_string(), "data": data}),
        )
        .await
        .map_err(db_error)?;
    Ok(json!({"snapshot_id": ctx.job.id.to_string()}))
}
