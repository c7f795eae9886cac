//! `/api/system/*`: the operator dashboard (platform staff only; `ADMIN_IP_ALLOWLIST`).
//! Read-only aggregates across tenants, plus retrying failed jobs.

use super::schema::{EventTypeParam, Id, IdOrEmpty, Limit, Offset, MAX_OFFSET};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{Object, OpenApi};

use super::jobs::{event_filter, job_id, EventOut, EventPage, JobOut};
use super::pagination;
use super::security::Staff;
use super::Tag;
use crate::error::{ApiError, ApiResult};
use crate::jobs::queue::{JobState, Queue, QueueError, SYSTEM_TENANT};
use crate::jobs::schedule::Scheduler;
use crate::observability::events::{kind, Event};
use crate::observability::metrics::metrics;
use crate::services::jobs::EventFilter;
use crate::state::AppState;

#[derive(Object)]
pub struct SystemJobPage {
    pub items: Vec<JobOut>,
    /// Jobs matching the filters.
    pub total: u64,
    /// Pass as `offset` for the next page.
    #[oai(nullable)]
    pub next_offset: Option<u64>,
}

#[derive(Object)]
pub struct StateCount {
    pub status: JobState,
    pub count: u64,
}

#[derive(Object)]
pub struct KindCounts {
    pub kind: String,
    pub counts: Vec<StateCount>,
}

#[derive(Object)]
pub struct ScheduleOut {
    pub name: String,
    pub cron: String,
    pub kind: String,
    pub next_run_at: DateTime<Utc>,
    #[oai(nullable)]
    pub last_run_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_job_id: Option<String>,
}

/// The state of the job system.
#[derive(Object)]
pub struct SystemOverview {
    /// Queued jobs, due or scheduled.
    pub queue_depth: u64,
    /// Queued jobs whose time has come.
    pub due: u64,
    pub running: u64,
    /// Seconds the oldest due job has waited.
    #[oai(nullable)]
    pub oldest_due_age_seconds: Option<f64>,
    pub dead_letters: u64,
    pub by_status: Vec<StateCount>,
    pub by_kind: Vec<KindCounts>,
    /// The ten most recent failures.
    pub recent_failures: Vec<JobOut>,
    pub schedules: Vec<ScheduleOut>,
    pub workers: u32,
}

fn queue_error(e: QueueError) -> ApiError {
    match e {
        QueueError::NotFound => ApiError::not_found("job"),
        QueueError::InvalidState(s) => ApiError::conflict(format!(
            "only failed or cancelled jobs can be retried; this one is {}",
            s.as_str()
        )),
        e => ApiError::internal(e),
    }
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A poem endpoint serving `/metrics` without authentication (for `METRICS_BIND`).
pub fn metrics_endpoint(queue: Queue) -> impl poem::Endpoint {
    poem::Route::new().at(
        "/metrics",
        poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("text/plain; version=0.0.4")
                .body(metrics().render(Some(queue.gauges())))
        }),
    )
}

pub struct SystemApi;

#[OpenApi(prefix_path = "/system", tag = "Tag::System")]
impl SystemApi {
    /// Jobs of every tenant: failed first, then newest first.
    #[allow(clippy::too_many_arguments)] // one parameter per query filter
    #[oai(path = "/jobs", method = "get", operation_id = "system_jobs")]
    async fn jobs(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// Only jobs in this state.
        status: Query<Option<JobState>>,
        /// Only jobs of this kind, e.g. `report.generate`.
        kind: Query<Option<String>>,
        /// A tenant id, or `system` for platform jobs.
        tenant_id: Query<Option<String>>,
        /// Rows to skip (default 0).
        offset: Query<Option<Offset>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<SystemJobPage>> {
        let (limit, _) = pagination::page(limit.0.map(Limit::into_inner), None)?;
        let offset = offset.0.map_or(0, |o| o.0);
        if offset > MAX_OFFSET {
            return Err(ApiError::validation(format!(
                "offset must be at most {MAX_OFFSET}"
            )));
        }
        let tenant = tenant_id.0.filter(|t| !t.is_empty());
        let kind = kind.0.filter(|k| !k.is_empty());
        let scanned = tenant.clone();
        let mut jobs: Vec<_> = state
            .jobs
            .queue()
            .off_thread(move |q| q.scan(scanned.as_deref()))
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .filter(|j| status.0.is_none_or(|s| s == j.state))
            .filter(|j| kind.as_ref().is_none_or(|k| *k == j.kind))
            .collect();
        // The scan is newest first; a stable sort keeps that order within each group.
        jobs.sort_by_key(|j| j.state != JobState::Failed);
        let total = jobs.len() as u64;
        let items: Vec<JobOut> = jobs
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(Into::into)
            .collect();
        let next = offset + items.len() as u64;
        Ok(Json(SystemJobPage {
            items,
            total,
            next_offset: (next < total).then_some(next),
        }))
    }

    /// Any tenant's job.
    #[oai(path = "/jobs/:id", method = "get", operation_id = "system_job_get")]
    async fn job(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// The job's id.
        id: Path<Id>,
    ) -> ApiResult<Json<JobOut>> {
        let job = state
            .jobs
            .queue()
            .get(job_id(&id)?)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("job"))?;
        Ok(Json(job.into()))
    }

    /// The stored events of any tenant's job, oldest first.
    #[oai(
        path = "/jobs/:id/events",
        method = "get",
        operation_id = "system_job_events"
    )]
    async fn job_events(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// The job's id.
        id: Path<Id>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<EventPage>> {
        let job = state
            .jobs
            .queue()
            .get(job_id(&id)?)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("job"))?;
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let f = EventFilter {
            job_id: Some(job.id.to_string()),
            cursor,
            limit: limit + 1,
            ascending: true,
            ..Default::default()
        };
        let rows = state.events.list(&job.tenant, &f).await?;
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(EventPage {
            items: rows.into_iter().map(EventOut::from).collect(),
            next_cursor,
        }))
    }

    /// Put a failed (dead-lettered) or cancelled job back in the queue with fresh
    /// attempts; finished steps are kept, so it resumes where it stopped.
    #[oai(
        path = "/jobs/:id/retry",
        method = "post",
        operation_id = "system_job_retry"
    )]
    async fn retry(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Staff,
        /// The job's id.
        id: Path<Id>,
    ) -> ApiResult<Json<JobOut>> {
        let job = state
            .jobs
            .queue()
            .retry(job_id(&id)?)
            .await
            .map_err(queue_error)?;
        state.events.emit(
            &job.tenant,
            Event::job(
                kind::JOB_QUEUED,
                &job,
                "requeued by staff",
                serde_json::json!({"by": auth.0.user_id, "retry": true}),
            ),
        );
        Ok(Json(job.into()))
    }

    /// Job counts by status and kind, queue depth, the oldest waiting job, recent
    /// failures and the schedules.
    #[oai(path = "/overview", method = "get", operation_id = "system_overview")]
    async fn overview(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
    ) -> ApiResult<Json<SystemOverview>> {
        let q = state.jobs.queue();
        let stats = q.stats().map_err(ApiError::internal)?;
        let by_status = JobState::ALL
            .iter()
            .map(|s| StateCount {
                status: *s,
                count: stats
                    .by_kind_state
                    .iter()
                    .filter(|((_, st), _)| st == s)
                    .map(|(_, n)| *n)
                    .sum(),
            })
            .collect();
        let mut grouped: std::collections::BTreeMap<&str, Vec<StateCount>> = Default::default();
        for ((k, s), n) in &stats.by_kind_state {
            grouped.entry(k).or_default().push(StateCount {
                status: *s,
                count: *n,
            });
        }
        let by_kind = grouped
            .into_iter()
            .map(|(k, counts)| KindCounts {
                kind: k.to_string(),
                counts,
            })
            .collect();
        let recent_failures = q
            .off_thread(|q| q.scan(None))
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .filter(|j| j.state == JobState::Failed)
            .take(10)
            .map(Into::into)
            .collect();
        let schedules = Scheduler::new(q.clone())
            .and_then(|s| s.list())
            .map_err(ApiError::internal)?
            .into_iter()
            .map(|s| ScheduleOut {
                name: s.name,
                cron: s.cron,
                kind: s.kind,
                next_run_at: time(s.next_run_at),
                last_run_at: s.last_run_at.map(time),
                last_job_id: s.last_job_id.map(|i| i.to_string()),
            })
            .collect();
        Ok(Json(SystemOverview {
            queue_depth: q.depth() as u64,
            due: stats.due,
            running: q.running() as u64,
            oldest_due_age_seconds: stats.oldest_due_age_ms.map(|ms| ms as f64 / 1000.0),
            dead_letters: stats.dead_letters,
            by_status,
            by_kind,
            recent_failures,
            schedules,
            workers: state.settings.jobs.workers as u32,
        }))
    }

    /// Platform events (system jobs such as the nightly metrics), newest first.
    #[allow(clippy::too_many_arguments)] // one parameter per query filter
    #[oai(path = "/events", method = "get", operation_id = "system_events")]
    async fn events(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
        /// Events of this job.
        job_id: Query<Option<IdOrEmpty>>,
        /// Events of this request's correlation id.
        correlation_id: Query<Option<IdOrEmpty>>,
        /// An exact kind (`job.failed`) or a prefix ending in a dot (`job.`, `llm.`).
        #[oai(name = "type")]
        kind: Query<Option<EventTypeParam>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<EventPage>> {
        let f = event_filter(
            job_id.0.map(|c| c.0),
            correlation_id.0.map(|c| c.0),
            kind.0.map(|c| c.0),
            cursor.0.map(|c| c.0),
            limit.0.map(Limit::into_inner),
        )?;
        let limit = f.limit - 1;
        let rows = state.events.list(SYSTEM_TENANT, &f).await?;
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Ok(Json(EventPage {
            items: rows.into_iter().map(EventOut::from).collect(),
            next_cursor,
        }))
    }

    /// Prometheus metrics (text format): HTTP requests by route and status with a
    /// latency histogram, jobs by kind and state, queue depth, lease expiries, retries,
    /// dead letters, LLM calls. Set `METRICS_BIND` to also serve them unauthenticated on
    /// a separate address for a scraper.
    #[oai(path = "/metrics", method = "get", operation_id = "system_metrics")]
    async fn metrics(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Staff,
    ) -> ApiResult<PlainText<String>> {
        Ok(PlainText(
            metrics().render(Some(state.jobs.queue().gauges())),
        ))
    }
}
