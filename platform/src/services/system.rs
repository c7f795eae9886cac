//! The operator's view of the job system across workspaces (platform staff only): the
//! queue's counts, jobs of any workspace, their timelines, platform events, and putting
//! a failed job back in the queue.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult};
use crate::jobs::queue::{Job, JobState, QueueError};
use crate::jobs::schedule::{ScheduleRecord, Scheduler};
use crate::observability::events::kind;
use crate::store::events::{EventFilter, EventRow};
use crate::store::Scope;

/// The state of the job system.
pub struct Overview {
    /// Queued jobs, due or scheduled.
    pub depth: usize,
    pub running: usize,
    /// Queued jobs whose time has come.
    pub due: u64,
    pub oldest_due_age_ms: Option<i64>,
    pub dead_letters: u64,
    /// Jobs in each state, every state listed.
    pub by_status: Vec<(JobState, u64)>,
    /// Jobs in each state by kind, kinds in name order.
    pub by_kind: Vec<(String, Vec<(JobState, u64)>)>,
    /// The ten most recent failures.
    pub recent_failures: Vec<Job>,
    pub schedules: Vec<ScheduleRecord>,
    pub workers: usize,
}

/// Counts, recent failures and schedules of the whole queue.
pub async fn overview(state: &Deps) -> ApiResult<Overview> {
    let q = state.jobs.queue();
    let stats = q.stats().map_err(ApiError::internal)?;
    let by_status = JobState::ALL
        .iter()
        .map(|s| {
            let n = stats
                .by_kind_state
                .iter()
                .filter(|((_, st), _)| st == s)
                .map(|(_, n)| *n)
                .sum();
            (*s, n)
        })
        .collect();
    let mut grouped: BTreeMap<String, Vec<(JobState, u64)>> = BTreeMap::new();
    for ((k, s), n) in &stats.by_kind_state {
        grouped.entry(k.clone()).or_default().push((*s, *n));
    }
    let recent_failures = q
        .off_thread(|q| q.scan(None))
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|j| j.state == JobState::Failed)
        .take(10)
        .collect();
    let schedules = Scheduler::new(q.clone())
        .and_then(|s| s.list())
        .map_err(ApiError::internal)?;
    Ok(Overview {
        depth: q.depth(),
        running: q.running(),
        due: stats.due,
        oldest_due_age_ms: stats.oldest_due_age_ms,
        dead_letters: stats.dead_letters,
        by_status,
        by_kind: grouped.into_iter().collect(),
        recent_failures,
        schedules,
        workers: state.settings.jobs.workers,
    })
}

/// Which jobs a staff listing shows.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub status: Option<JobState>,
    pub kind: Option<String>,
    /// A tenant id, or `system` for platform jobs.
    pub tenant: Option<String>,
}

/// A page of every workspace's jobs matching `query` (failed first, then newest
/// first), and how many match in all.
pub async fn jobs(
    state: &Deps,
    query: JobQuery,
    offset: usize,
    limit: usize,
) -> ApiResult<(Vec<Job>, u64)> {
    let scanned = query.tenant.clone();
    let mut jobs: Vec<Job> = state
        .jobs
        .queue()
        .off_thread(move |q| q.scan(scanned.as_deref()))
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|j| query.status.is_none_or(|s| s == j.state))
        .filter(|j| query.kind.as_ref().is_none_or(|k| *k == j.kind))
        .collect();
    // The scan is newest first; a stable sort keeps that order within each group.
    jobs.sort_by_key(|j| j.state != JobState::Failed);
    let total = jobs.len() as u64;
    Ok((jobs.into_iter().skip(offset).take(limit).collect(), total))
}

/// Any workspace's job.
pub fn job(state: &Deps, id: Uuid) -> ApiResult<Job> {
    state
        .jobs
        .queue()
        .get(id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("job"))
}

/// The stored events of a job (from [`job`]), oldest first (`filter` is completed with
/// the job).
pub async fn job_events(state: &Deps, job: &Job, filter: EventFilter) -> ApiResult<Vec<EventRow>> {
    let f = EventFilter {
        job_id: Some(job.id.to_string()),
        ascending: true,
        ..filter
    };
    // A job with no scope has no timeline (see `Events::emit_job`).
    let Some(scope) = job.scope() else {
        return Ok(Vec::new());
    };
    Ok(state.events.list(scope, &f).await?)
}

/// Platform events (system jobs such as the nightly metrics), newest first.
pub async fn events(state: &Deps, filter: &EventFilter) -> ApiResult<Vec<EventRow>> {
    Ok(state.events.list(Scope::System, filter).await?)
}

/// Puts a failed or cancelled job back in the queue with fresh attempts (finished steps
/// are kept, so it resumes where it stopped), on the job's timeline as requeued by
/// `staff_user_id`.
pub async fn retry(state: &Deps, staff_user_id: &str, id: Uuid) -> ApiResult<Job> {
    let job = state.jobs.queue().retry(id).await.map_err(|e| match e {
        QueueError::NotFound => ApiError::not_found("job"),
        QueueError::InvalidState(s) => ApiError::conflict(format!(
            "only failed or cancelled jobs can be retried; this one is {}",
            s.as_str()
        )),
        e => ApiError::internal(e),
    })?;
    state.events.emit_job(
        &job,
        kind::JOB_QUEUED,
        "requeued by staff",
        serde_json::json!({"by": staff_user_id, "retry": true}),
    );
    Ok(job)
}
