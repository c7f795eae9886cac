//! `diagnostics.echo`: a job that exercises the whole pipeline (queue, runner, steps,
//! retries, cancellation, events) without any AI. Operators use it to check a
//! deployment; the crash and end-to-end tests use it to count effects.
//!
//! `diagnostics.noop`: one step that does nothing, with the usual lifecycle and step
//! Events: the cost of the job pipeline itself (what the queue benchmark measures).
//!
//! Its effect is one `diagnostic` row keyed by the job id plus an increment of the
//! tenant's `diagnostic_counter:total`, both applied in one transaction only if the row
//! is absent. However often the job runs (retries, a crash after the write but before
//! the job was marked done), the effect is applied once — which the crash test checks by
//! comparing the counter with the number of jobs.

use serde::Deserialize;
use serde_json::json;

use super::{Caller, Enqueue, JobKind, Step, StepCtx, Timeline, Workflow};
use crate::jobs::runner::JobError;
use crate::observability::events::kind;

/// Longest wait a diagnostic job may ask for (staff).
pub const MAX_SLEEP_MS: u64 = 60_000;

/// Longest wait a member's diagnostic job may ask for: long enough to watch and cancel
/// a running job, short enough that a flood of them frees workers soon.
pub const MEMBER_MAX_SLEEP_MS: u64 = 30_000;

/// The payload of `diagnostics.echo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoPayload {
    /// Stored in the effect row and returned as the result.
    #[serde(default)]
    pub message: String,
    /// Wait this long (cooperatively cancellable) before applying the effect.
    #[serde(default)]
    pub sleep_ms: u64,
    /// Fail (retryably) the first N attempts.
    #[serde(default)]
    pub fail_attempts: u32,
    /// Fail with a non-retryable error.
    #[serde(default)]
    pub fail_permanently: bool,
}

impl EchoPayload {
    /// Checks the payload before `caller` enqueues it.
    pub fn validate_for(&self, caller: Caller) -> Result<(), String> {
        if !caller.staff && self.sleep_ms > MEMBER_MAX_SLEEP_MS {
            return Err(format!(
                "sleep_ms must be at most {MEMBER_MAX_SLEEP_MS} (staff may ask for up to {MAX_SLEEP_MS})"
            ));
        }
        self.validate()
    }

    /// Checks the payload (whoever enqueued it).
    pub fn validate(&self) -> Result<(), String> {
        if self.message.chars().count() > 1000 {
            return Err("message must be at most 1,000 characters".into());
        }
        if self.sleep_ms > MAX_SLEEP_MS {
            return Err(format!("sleep_ms must be at most {MAX_SLEEP_MS}"));
        }
        if self.fail_attempts > 10 {
            return Err("fail_attempts must be at most 10".into());
        }
        Ok(())
    }
}

/// `diagnostics.noop`: a workflow of one step that does nothing.
pub fn noop() -> Workflow {
    Workflow {
        kind: JobKind::DiagnosticsNoop.as_str(),
        description:
            "Does nothing, through the whole job pipeline (queue, runner, one step, Events)",
        enqueue: Enqueue::Members,
        validate: Some(|v, _| match v.as_object() {
            Some(o) if o.is_empty() => Ok(()),
            _ => Err("diagnostics.noop takes an empty payload: {}".into()),
        }),
        timeline: Timeline::Steps,
        steps: vec![Step::new("noop", |_ctx| async { Ok(json!({})) })],
    }
}

/// The workflow.
pub fn echo() -> Workflow {
    Workflow {
        kind: JobKind::DiagnosticsEcho.as_str(),
        description: "Checks the job pipeline: waits, optionally fails, records one effect row",
        enqueue: Enqueue::Members,
        validate: Some(|v, caller| {
            let p: EchoPayload =
                serde_json::from_value(v.clone()).map_err(|e| format!("invalid payload: {e}"))?;
            p.validate_for(caller)
        }),
        timeline: Timeline::Steps,
        steps: vec![
            Step::new("validate", validate),
            Step::new("wait", wait),
            Step::new("apply", apply),
        ],
    }
}

async fn validate(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: EchoPayload = ctx.payload()?;
    p.validate().map_err(JobError::fatal)?;
    if p.fail_permanently {
        return Err(JobError::fatal("asked to fail permanently"));
    }
    Ok(json!({"message": p.message}))
}

async fn wait(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: EchoPayload = ctx.payload()?;
    if p.sleep_ms > 0 {
        let quarter = std::time::Duration::from_millis(p.sleep_ms / 4);
        for i in 1..=4u32 {
            tokio::select! {
                _ = tokio::time::sleep(quarter) => {}
                _ = ctx.cancel.cancelled() => return Err(JobError::fatal("cancelled")),
            }
            ctx.event(
                kind::JOB_PROGRESS,
                format!("waited {}%", i * 25),
                json!({"percent": i * 25}),
            )
            .await;
        }
    }
    if ctx.job.attempts <= p.fail_attempts {
        return Err(JobError::retryable(format!(
            "asked to fail attempt {} of the first {}",
            ctx.job.attempts, p.fail_attempts
        )));
    }
    Ok(json!({"slept_ms": p.sleep_ms}))
}

async fn apply(ctx: StepCtx) -> Result<serde_json::Value, JobError> {
    let p: EchoPayload = ctx.payload()?;
    let db = ctx.tenant_db().await?;
    let job_id = ctx.job.id.to_string();
    // Create-if-absent in one transaction: the effect of this job exists at most once.
    let mut rows = db
        .query_retrying(
            "BEGIN TRANSACTION;
             LET $existing = (SELECT VALUE record::id(id) FROM type::record('diagnostic', $id));
             IF array::len($existing) == 0 {
                 CREATE type::record('diagnostic', $id) CONTENT { job_id: $id, message: $msg, attempt: $attempt };
                 UPSERT diagnostic_counter:total SET applied += 1;
             };
             RETURN array::len($existing) == 0;
             COMMIT TRANSACTION;",
            json!({"id": job_id, "msg": p.message, "attempt": ctx.job.attempts}),
        )
        .await
        .map_err(|e| JobError::retryable(format!("database: {e}")))?;
    let applied: Vec<bool> = rows
        .last()
        .map_err(|e| JobError::retryable(format!("database: {e}")))?;
    Ok(json!({"message": p.message, "applied": applied.first().copied().unwrap_or(false)}))
}
