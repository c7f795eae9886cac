//! `/api/system/*`: the operator dashboard (platform staff only; `ADMIN_IP_ALLOWLIST`).
//! Read-only aggregates across tenants, plus retrying failed jobs.

use super::schema::{EventTypeParam, Id, IdOrEmpty, Limit, Offset, MAX_OFFSET};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{Object, OpenApi};

use super::jobs::{event_filter, job_id, EventPage, JobOut};
use super::pagination;
use super::security::Staff;
use super::Tag;
use crate::error::{ApiError, ApiResult};
use crate::jobs::queue::{JobState, Queue};
use crate::jobs::schedule::ScheduleRecord;
use crate::observability::metrics::metrics;
use crate::services::jobs::EventFilter;
use crate::services::system;
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

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl From<ScheduleRecord> for ScheduleOut {
    fn from(s: ScheduleRecord) -> Self {
        Self {
            name: s.name,
            cron: s.cron,
            kind: s.kind,
            next_run_at: time(s.next_run_at),
            last_run_at: s.last_run_at.map(time),
            last_job_id: s.last_job_id.map(|i| i.to_string()),
        }
    }
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
        let query = system::JobQuery {
            status: status.0,
            kind: kind.0.filter(|k| !k.is_empty()),
            tenant: tenant_id.0.filter(|t| !t.is_empty()),
        };
        let (jobs, total) = system::jobs(&state, query, offset as usize, limit as usize).await?;
        let next = offset + jobs.len() as u64;
        Ok(Json(SystemJobPage {
            items: jobs.into_iter().map(Into::into).collect(),
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
        Ok(Json(system::job(&state, job_id(&id)?)?.into()))
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
        let job = system::job(&state, job_id(&id)?)?;
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let f = EventFilter {
            cursor,
            limit: limit + 1,
            ..Default::default()
        };
        let rows = system::job_events(&state, &job, f).await?;
        Ok(Json(EventPage::of(rows, limit)))
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
        let job = system::retry(&state, &auth.0.user_id, job_id(&id)?).await?;
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
        let o = system::overview(&state).await?;
        let counts = |c: Vec<(JobState, u64)>| {
            c.into_iter()
                .map(|(status, count)| StateCount { status, count })
                .collect()
        };
        Ok(Json(SystemOverview {
            queue_depth: o.depth as u64,
            due: o.due,
            running: o.running as u64,
            oldest_due_age_seconds: o.oldest_due_age_ms.map(|ms| ms as f64 / 1000.0),
            dead_letters: o.dead_letters,
            by_status: counts(o.by_status),
            by_kind: (o.by_kind.into_iter())
                .map(|(kind, c)| KindCounts {
                    kind,
                    counts: counts(c),
                })
                .collect(),
            recent_failures: o.recent_failures.into_iter().map(Into::into).collect(),
            schedules: o.schedules.into_iter().map(Into::into).collect(),
            workers: o.workers as u32,
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
        let rows = system::events(&state, &f).await?;
        Ok(Json(EventPage::of(rows, limit)))
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
