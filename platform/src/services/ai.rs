//! What the AI use cases share (skills, reports, resume, share links, the entry
//! analysis): the LLM quota, starting an AI job, the id check of their lookups and the
//! rendered documents they hand out. Everything AI runs as a job: a use case that starts
//! work returns the queue's [`Enqueued`] outcome, which the API answers with.

use crate::deps::Deps;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::Principal;
use crate::jobs::queue::{EnqueueOptions, Enqueued, QueueError};
use crate::store::{Scope, TenantDb};
use crate::workflows::JobPayload;

/// Refuses AI work when the tenant's monthly LLM tokens are used up. Otherwise returns
/// how many AI jobs the tenant may have in flight: each holds
/// `LLM_TOKENS_RESERVED_PER_JOB` of what is left, so parallel jobs can't all start on
/// the same remainder (`None`: no quota).
pub async fn ensure_llm_quota(state: &Deps, db: &TenantDb) -> ApiResult<Option<usize>> {
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

/// The refusal of AI work for want of LLM tokens (clients retry in an hour).
pub fn llm_quota_error(message: String) -> ApiError {
    let mut e = ApiError::new(ErrorCode::QuotaExceeded, message);
    e.retry_after = Some(3600);
    e
}

/// Enqueues the AI job `payload` (the workflow's typed input, which names its kind) for
/// `p`, at most `in_flight` of them at once (what [`ensure_llm_quota`] allowed).
pub async fn enqueue<P: JobPayload>(
    state: &Deps,
    p: &Principal,
    payload: &P,
    key: Option<String>,
    in_flight: Option<usize>,
) -> ApiResult<Enqueued> {
    let mut opts: EnqueueOptions = state.jobs.member_options();
    opts.max_active_of = in_flight.map(|cap| (crate::workflows::ai::KINDS, cap));
    opts.idempotency_key = key;
    opts.created_by = Some(p.user_id.clone());
    // AI work is slower than bookkeeping: a generous per-attempt timeout.
    opts.timeout = std::time::Duration::from_secs(state.settings.llm_timeout_secs * 6);
    crate::workflows::kinds::enqueue(state, Scope::Tenant(p.tenant), payload, opts)
        .await
        .map_err(|e| match e {
            QueueError::TooManyActive(n) => llm_quota_error(format!(
                "your workspace's {n} AI jobs in flight hold the rest of this month's LLM tokens; wait for them to finish"
            )),
            e => ApiError::from(e),
        })
}

/// Checks the quota, then enqueues: how a use case that is one AI job starts it.
pub async fn start<P: JobPayload>(
    state: &Deps,
    p: &Principal,
    db: &TenantDb,
    payload: &P,
    key: Option<String>,
) -> ApiResult<Enqueued> {
    let in_flight = ensure_llm_quota(state, db).await?;
    enqueue(state, p, payload, key, in_flight).await
}

/// Refuses an id that no record can have as not found (without asking the store).
pub fn valid_id(id: &str, what: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::not_found(what));
    }
    Ok(())
}

/// A document rendered for download.
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub file_name: String,
}

impl Rendered {
    pub(crate) fn new(bytes: Vec<u8>, content_type: &'static str, file_name: String) -> Self {
        Self {
            bytes,
            content_type,
            file_name,
        }
    }
}
