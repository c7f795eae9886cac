//! `/api/jobs`, `/api/events`: your workspace's jobs, their live progress, the timeline.

use super::schema::{EventTypeParam, Id, IdOrEmpty, Limit};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::stream::BoxStream;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::pagination;
use super::security::{Authenticated, Writer};
use super::text::Text;
use super::Tag;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::jobs::queue::{Enqueued, Job, JobFilter, JobState};
use crate::services::jobs::{self as jobs, EventFilter, EventRow};
use crate::state::AppState;
use crate::workflows::Enqueue;

/// A finished workflow step.
#[derive(Object)]
pub struct JobStep {
    pub name: String,
    pub finished_at: DateTime<Utc>,
}

/// A job: what it is, where it stands, what it produced.
#[derive(Object)]
pub struct JobOut {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub status: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    /// 0 (lowest) to 9 (highest).
    pub priority: u8,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it runs next (queued jobs) or last became due.
    pub run_at: DateTime<Utc>,
    #[oai(nullable)]
    pub started_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The last attempt's error.
    #[oai(nullable)]
    pub error: Option<String>,
    /// Failed for good: out of attempts or not retryable. Staff can retry it.
    pub dead_letter: bool,
    pub cancel_requested: bool,
    #[oai(nullable)]
    pub idempotency_key: Option<String>,
    #[oai(nullable)]
    pub correlation_id: Option<String>,
    #[oai(nullable)]
    pub created_by: Option<String>,
    /// What the job produced (ids of the records it wrote, counts).
    #[oai(nullable)]
    pub result: Option<serde_json::Value>,
    /// Finished steps, in order.
    pub steps: Vec<JobStep>,
    /// This job's URL.
    pub url: String,
    /// Live progress as server-sent events.
    pub events_url: String,
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl From<Job> for JobOut {
    fn from(j: Job) -> Self {
        let id = j.id.to_string();
        Self {
            url: format!("/api/jobs/{id}"),
            events_url: format!("/api/jobs/{id}/events"),
            id,
            tenant_id: j.tenant,
            kind: j.kind,
            status: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            priority: j.priority,
            payload: j.payload,
            created_at: time(j.created_at),
            updated_at: time(j.updated_at),
            run_at: time(j.run_at),
            started_at: j.started_at.map(time),
            finished_at: j.finished_at.map(time),
            error: j.last_error,
            dead_letter: j.dead,
            cancel_requested: j.cancel_requested,
            idempotency_key: j.idempotency_key,
            correlation_id: j.correlation_id,
            created_by: j.created_by,
            result: j.result,
            steps: j
                .steps
                .into_iter()
                .map(|s| JobStep {
                    name: s.name,
                    finished_at: time(s.finished_at),
                })
                .collect(),
        }
    }
}

#[derive(Object)]
pub struct JobPage {
    pub items: Vec<JobOut>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// One entry of the Event timeline.
#[derive(Object, Clone)]
pub struct EventOut {
    pub id: String,
    /// `job.queued`, `job.started`, `job.step_started`, `job.step_finished`,
    /// `job.step_skipped`, `job.step_failed`, `job.progress`, `job.retried`,
    /// `job.succeeded`, `job.failed`, `job.cancel_requested`, `job.cancelled`,
    /// `job.lease_expired`, `job.released`, `llm.call`, `system.*`.
    pub kind: String,
    #[oai(nullable)]
    pub job_id: Option<String>,
    #[oai(nullable)]
    pub correlation_id: Option<String>,
    pub message: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<EventRow> for EventOut {
    fn from(e: EventRow) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            job_id: e.job_id,
            correlation_id: e.correlation_id,
            message: e.message,
            data: e.data,
            created_at: e.created_at,
        }
    }
}

#[derive(Object)]
pub struct EventPage {
    pub items: Vec<EventOut>,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl EventPage {
    /// A page of `limit` events from `rows` (read with one extra, which only tells
    /// whether there is a next page).
    pub fn of(rows: Vec<EventRow>, limit: u32) -> Self {
        let (rows, next_cursor) = pagination::split(rows, limit, |r| r.id.clone());
        Self {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }
    }
}

/// A job to run.
#[derive(Object)]
pub struct EnqueueJob {
    /// A kind open to members (see `GET /api/jobs/kinds`), e.g. `diagnostics.echo`.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub kind: Text,
    /// The kind's input.
    #[oai(nullable)]
    pub payload: Option<serde_json::Value>,
    /// Repeating a key (same kind) within 24 h returns the first job instead of a new one.
    #[oai(validator(min_length = 1, max_length = 200))]
    #[oai(nullable)]
    pub idempotency_key: Option<Text>,
    /// Run no earlier than this (at most 30 days ahead).
    #[oai(nullable)]
    pub run_at: Option<DateTime<Utc>>,
    /// 0 (lowest) to 5 (highest) for members, default 5; staff may use up to 8 (9 is the
    /// platform's own lane for jobs a user is waiting on).
    #[oai(validator(maximum(value = "8")))]
    #[oai(nullable)]
    pub priority: Option<u8>,
}

/// An accepted job.
#[derive(Object)]
pub struct JobAccepted {
    pub id: String,
    pub status: JobState,
    /// `true` when the idempotency key matched an earlier job, which is returned instead.
    pub existing: bool,
    pub url: String,
    pub events_url: String,
}

impl JobAccepted {
    /// The answer for an enqueue outcome.
    pub fn from_outcome(state: &AppState, outcome: Enqueued) -> ApiResult<Self> {
        let id = outcome.id();
        let status = state
            .jobs
            .queue()
            .get(id)
            .map_err(ApiError::internal)?
            .map(|j| j.state)
            .unwrap_or(JobState::Queued);
        Ok(Self {
            id: id.to_string(),
            status,
            existing: matches!(outcome, Enqueued::Existing(_)),
            url: format!("/api/jobs/{id}"),
            events_url: format!("/api/jobs/{id}/events"),
        })
    }
}

#[derive(ApiResponse)]
pub enum AcceptedResult {
    /// Accepted: the job is durable and will run; follow `url` or `events_url`.
    #[oai(status = 202)]
    Accepted(Json<JobAccepted>),
}

/// A job kind members may enqueue.
#[derive(Object)]
pub struct JobKind {
    pub kind: String,
    pub description: String,
    pub steps: Vec<String>,
}

#[derive(Object)]
pub struct JobKindList {
    pub items: Vec<JobKind>,
}

/// Parses a job id from a path; malformed ids are a 400.
pub fn job_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::new(ErrorCode::InvalidParameter, "job id is not a valid id"))
}

fn optional_uuid(name: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        // An id's hyphenated form, lower-cased as ids are stored.
        Some(s) if crate::ids::is_id(&s) => Ok(Some(s.to_ascii_lowercase())),
        Some(_) => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("{name} is not a valid id"),
        )),
    }
}

/// Validates the list filters of `/api/events` (shared with the staff endpoint).
pub fn event_filter(
    job_id: Option<String>,
    correlation_id: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> ApiResult<EventFilter> {
    let (limit, cursor) = pagination::page(limit, cursor)?;
    // Exactly as the document's pattern says: no trimming, empty is no filter.
    let kind = kind.filter(|k| !k.is_empty());
    if kind.as_ref().is_some_and(|k| {
        k.len() > 64
            || !k
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
    }) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            "type must look like job.failed or job. (a prefix)",
        ));
    }
    Ok(EventFilter {
        job_id: optional_uuid("job_id", job_id)?,
        correlation_id: optional_uuid("correlation_id", correlation_id)?,
        kind,
        cursor,
        limit: limit + 1,
        ascending: false,
    })
}

pub struct JobsApi;

#[OpenApi(tag = "Tag::Jobs")]
impl JobsApi {
    /// Run a job of a kind open to members (e.g. `diagnostics.echo` to check the pipeline).
    #[oai(path = "/jobs", method = "post", operation_id = "job_create")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        body: Json<EnqueueJob>,
    ) -> ApiResult<AcceptedResult> {
        let body = body.0;
        let job = jobs::NewJob {
            kind: body.kind.into_string(),
            payload: body.payload,
            idempotency_key: body.idempotency_key.map(Text::into_string),
            run_at: body.run_at,
            priority: body.priority,
        };
        let outcome = jobs::enqueue(&state, &state.workflows, &auth.0, job).await?;
        let accepted = JobAccepted::from_outcome(&state, outcome)?;
        Ok(AcceptedResult::Accepted(Json(accepted)))
    }

    /// The job kinds members may run through `POST /api/jobs`.
    #[oai(path = "/jobs/kinds", method = "get", operation_id = "job_kinds")]
    async fn kinds(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: Authenticated,
    ) -> ApiResult<Json<JobKindList>> {
        Ok(Json(JobKindList {
            items: state
                .workflows
                .kinds()
                .filter(|w| w.enqueue == Enqueue::Members)
                .map(|w| JobKind {
                    kind: w.kind.into(),
                    description: w.description.into(),
                    steps: w.steps.iter().map(|s| s.name.to_string()).collect(),
                })
                .collect(),
        }))
    }

    /// Your workspace's jobs, newest first.
    #[oai(path = "/jobs", method = "get", operation_id = "job_list")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// Only jobs in this state.
        status: Query<Option<JobState>>,
        /// Only jobs of this kind.
        kind: Query<Option<String>>,
        /// The `next_cursor` of the previous page; omit for the first page.
        cursor: Query<Option<IdOrEmpty>>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<Limit>>,
    ) -> ApiResult<Json<JobPage>> {
        let (limit, cursor) =
            pagination::page(limit.0.map(Limit::into_inner), cursor.0.map(|c| c.0))?;
        let cursor = cursor.map(|c| job_id(&c)).transpose()?;
        let filter = JobFilter {
            state: status.0,
            kind: kind.0.filter(|k| !k.is_empty()),
        };
        let jobs = jobs::list(&state, &auth.0, filter, cursor, limit as usize + 1).await?;
        let (jobs, next_cursor) = pagination::split(jobs, limit, |j| j.id.to_string());
        Ok(Json(JobPage {
            items: jobs.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One job: status, attempts, timestamps, error, result, finished steps.
    #[oai(path = "/jobs/:id", method = "get", operation_id = "job_get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The job's id.
        id: Path<Id>,
    ) -> ApiResult<Json<JobOut>> {
        let job = jobs::own_job(&state, &auth.0, job_id(&id)?)?;
        Ok(Json(job.into()))
    }

    /// Cancel a job: a queued one at once, a running one at its next check. Members
    /// cancel their own jobs; admins and owners any.
    #[oai(
        path = "/jobs/:id/cancel",
        method = "post",
        operation_id = "job_cancel"
    )]
    async fn cancel(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Writer,
        /// The job's id.
        id: Path<Id>,
    ) -> ApiResult<Json<JobOut>> {
        let job = jobs::cancel(&state, &auth.0, job_id(&id)?).await?;
        Ok(Json(job.into()))
    }

    /// Live progress of a job as server-sent events: its stored events first, then new
    /// ones as they happen. The stream ends after the job succeeds, fails or is cancelled.
    ///
    /// A stream also ends after `EVENT_STREAM_MAX_SECS` (reconnect to go on), and each
    /// user and workspace may hold only so many at once (`EVENT_STREAMS_PER_USER`,
    /// `EVENT_STREAMS_PER_TENANT`): one more is a 429 `rate_limited`.
    #[oai(path = "/jobs/:id/events", method = "get", operation_id = "job_events")]
    async fn events(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
        /// The job's id.
        id: Path<Id>,
    ) -> ApiResult<JobEventStream> {
        let events = jobs::follow(&state.deps, &auth.0, job_id(&id)?)?;
        let events = futures::StreamExt::map(events, EventOut::from);
        Ok(JobEventStream(Box::pin(events)))
    }

    /// Your workspace's Event timeline, newest first.
    #[allow(clippy::too_many_arguments)] // one parameter per query filter
    #[oai(path = "/events", method = "get", operation_id = "event_list")]
    async fn list_events(
        &self,
        state: Data<&Arc<AppState>>,
        auth: Authenticated,
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
        let rows = jobs::events(&state, &auth.0, &f).await?;
        Ok(Json(EventPage::of(rows, limit)))
    }
}

/// One server-sent event of `GET /api/jobs/{id}/events` (OpenAPI 3.0 has no keyword for
/// the JSON inside `data`, so its type is named here). A comment line (`:`) every 15 s
/// keeps idle connections open.
#[derive(Object)]
pub struct JobStreamEvent {
    /// The SSE `event:` field: the Event's `kind`, e.g. `job.progress`.
    pub event: String,
    /// The SSE `id:` field: the Event's `id`.
    pub id: String,
    /// The SSE `data:` field: the Event (an `EventOut`) as one line of JSON.
    pub data: String,
}

/// A `text/event-stream` of [`JobStreamEvent`]s (poem-openapi's own `EventStream`
/// declares a JSON array, which validators then try to parse).
pub struct JobEventStream(BoxStream<'static, EventOut>);

impl poem::IntoResponse for JobEventStream {
    fn into_response(self) -> poem::Response {
        let events = futures::StreamExt::map(self.0, |e: EventOut| {
            let json = poem_openapi::types::ToJSON::to_json_string(&e);
            poem::web::sse::Event::message(json)
                .event_type(e.kind.clone())
                .id(e.id.clone())
        });
        poem::web::sse::SSE::new(events)
            .keep_alive(Duration::from_secs(15))
            .into_response()
    }
}

impl poem_openapi::ApiResponse for JobEventStream {
    fn meta() -> poem_openapi::registry::MetaResponses {
        use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses};
        use poem_openapi::types::Type;
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Server-sent events, one `JobStreamEvent` per Event of the job, \
                              stored ones first; the stream ends after the job's last Event.",
                status: Some(200),
                status_range: None,
                // Before OpenAPI 3.2 (`itemSchema`), a streaming media type's `schema`
                // describes one event.
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: JobStreamEvent::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        <JobStreamEvent as poem_openapi::types::Type>::register(registry);
        <EventOut as poem_openapi::types::Type>::register(registry);
    }
}
