//! What the AI endpoints share (skills, reports, resume, share links, the entry
//! analysis): the LLM quota check, starting the job, and the answers they give. Everything
//! AI runs as a job: the endpoints that start work answer 202 with the job.

use super::download::File;

use chrono::NaiveDate;
use poem_openapi::payload::Json;
use poem_openapi::ApiResponse;

use super::jobs::JobAccepted;
use super::security::Principal;
use crate::documents::{self as docs};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::jobs::queue::{EnqueueOptions, QueueError};
use crate::state::AppState;
use crate::store::TenantDb;

/// Where the SPA and share pages load the document stylesheet from.
pub const DOCUMENT_CSS_PATH: &str = "/assets/documents.css";

// ------------------------------------------------------------------ helpers

/// Refuses AI work when the tenant's monthly LLM tokens are used up. Otherwise returns
/// how many AI jobs the tenant may have in flight: each holds
/// `LLM_TOKENS_RESERVED_PER_JOB` of what is left, so parallel jobs can't all start on
/// the same remainder (`None`: no quota).
pub(super) async fn ensure_llm_quota(state: &AppState, db: &TenantDb) -> ApiResult<Option<usize>> {
    let q = &state.settings.quotas;
    let quota = q.llm_tokens_per_month;
    if quota == 0 {
        return Ok(None);
    }
    let (used, _) = crate::llm::usage_this_month(db).await?;
    if used >= quota {
        return Err(llm_quota_error(format!(
            "your workspace has used its {quota} LLM tokens for this month"
        )));
    }
    let left = quota - used;
    Ok(match q.llm_tokens_reserved_per_job {
        0 => None,
        per_job => Some(usize::try_from(left.div_ceil(per_job)).unwrap_or(usize::MAX)),
    })
}

pub(super) fn llm_quota_error(message: String) -> ApiError {
    let mut e = ApiError::new(ErrorCode::QuotaExceeded, message);
    e.retry_after = Some(3600);
    e
}

/// Enqueues an AI job for `p` and answers with it.
pub(super) async fn start_job(
    state: &AppState,
    p: &Principal,
    kind: &str,
    payload: serde_json::Value,
    key: Option<String>,
    in_flight: Option<usize>,
) -> ApiResult<JobAccepted> {
    let mut opts: EnqueueOptions = state.jobs.member_options();
    opts.max_active_of = in_flight.map(|cap| (crate::workflows::ai::KINDS, cap));
    opts.idempotency_key = key;
    opts.created_by = Some(p.user_id.clone());
    // AI work is slower than bookkeeping: a generous per-attempt timeout.
    opts.timeout = std::time::Duration::from_secs(state.settings.llm_timeout_secs * 6);
    let outcome = state
        .jobs
        .enqueue(&p.tenant_id(), kind, payload, opts)
        .await
        .map_err(|e| match e {
            QueueError::TooManyActive(n) => llm_quota_error(format!(
                "your workspace's {n} AI jobs in flight hold the rest of this month's LLM tokens; wait for them to finish"
            )),
            e => ApiError::from(e),
        })?;
    JobAccepted::from_outcome(state, outcome)
}

pub(super) fn day(name: &str, v: Option<String>) -> ApiResult<Option<NaiveDate>> {
    match v {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::validation(format!("{name} must be a date like 2026-11-22"))),
    }
}

pub(super) fn valid_id(id: &str, what: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::not_found(what));
    }
    Ok(())
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted: the job runs in the background; follow `url` or `events_url`.
    #[oai(status = 202)]
    Accepted(Json<JobAccepted>),
}

pub(super) fn file<M>(bytes: Vec<u8>, content_type: &str, name: &str) -> File<M> {
    File::new(
        bytes,
        content_type,
        crate::worklog::content_disposition(name),
    )
}

pub(super) fn doc_error(e: docs::DocError) -> ApiError {
    match e {
        docs::DocError::TooLong { .. } => ApiError::new(ErrorCode::PayloadTooLarge, e.to_string()),
        other => ApiError::internal(other),
    }
}
