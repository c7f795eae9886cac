//! Orchestration: job kind → workflow → named steps → (agents, persistence) → events.
//!
//! A [`Workflow`] is a list of named [`Step`]s. The [`Engine`] runs them in order for a
//! leased job; every finished step is recorded on the job in the queue with its output,
//! so a retried job **resumes** after the last finished step instead of redoing it
//! (a step's output is the input of the ones after it, see [`StepCtx::output`]). Each
//! step leaves `job.step_started` and `job.step_finished` (or `job.step_failed`) events.
//!
//! Steps must be idempotent: a crash after a step's effect but before it was recorded
//! runs the step again.

pub mod ai;
pub mod diagnostics;
pub mod kinds;
pub mod rewards;
pub mod system;

pub use kinds::{schedules, JobKind, JobPayload};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::deps::Deps;
use crate::jobs::queue::Job;
use crate::jobs::runner::{Handler, JobContext, JobError};
use crate::observability::events::kind;
use crate::store::{Scope, TenantDb, TenantId};

/// A step's body.
pub type StepFn =
    Arc<dyn Fn(StepCtx) -> BoxFuture<'static, Result<serde_json::Value, JobError>> + Send + Sync>;

/// Who asks for a job, as far as payload checks care.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// Platform staff may ask for more (e.g. longer diagnostic waits).
    pub staff: bool,
}

/// Checks a job payload before it is enqueued; the error is shown to the caller.
pub type PayloadCheck = fn(&serde_json::Value, Caller) -> Result<(), String>;

/// One named unit of a workflow.
#[derive(Clone)]
pub struct Step {
    pub name: &'static str,
    pub run: StepFn,
}

impl Step {
    /// A step from an async function taking the step context.
    pub fn new<F, Fut>(name: &'static str, f: F) -> Self
    where
        F: Fn(StepCtx) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<serde_json::Value, JobError>> + Send + 'static,
    {
        Self {
            name,
            run: Arc::new(move |ctx| Box::pin(f(ctx))),
        }
    }
}

/// Who may enqueue a kind directly through `POST /api/jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueue {
    /// Tenant members with write access (diagnostics).
    Members,
    /// Only the platform itself (schedules) and dedicated endpoints.
    Internal,
}

/// How much of a workflow's run goes on its job's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeline {
    /// Step started/finished events, and every finished step is recorded on the job so
    /// a retry resumes after it: for long, user-visible work (the AI workflows).
    Steps,
    /// Only the job's lifecycle events; the steps' names and durations go into the
    /// terminal event. For internal, frequent kinds whose steps are cheap to redo
    /// (reward evaluations, sweeps, metrics): two events and a sled write per step would
    /// cost more than the work.
    Lifecycle,
}

/// A job kind and its steps.
#[derive(Clone)]
pub struct Workflow {
    pub kind: &'static str,
    pub description: &'static str,
    pub steps: Vec<Step>,
    pub enqueue: Enqueue,
    /// Checks a payload before it is enqueued (a 400 with the message otherwise).
    pub validate: Option<PayloadCheck>,
    pub timeline: Timeline,
}

/// Every workflow the server runs, by kind.
#[derive(Clone, Default)]
pub struct Registry {
    workflows: BTreeMap<&'static str, Workflow>,
}

impl Registry {
    /// The workflows of this build.
    pub fn builtin() -> Self {
        let mut r = Self::default();
        r.register(diagnostics::echo());
        r.register(diagnostics::noop());
        r.register(system::compute_metrics());
        r.register(rewards::weekly_sweep());
        r.register(rewards::reward_evaluate());
        for w in ai::workflows() {
            r.register(w);
        }
        r
    }

    pub fn register(&mut self, w: Workflow) {
        self.workflows.insert(w.kind, w);
    }

    pub fn get(&self, kind: &str) -> Option<&Workflow> {
        self.workflows.get(kind)
    }

    /// All kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows.values()
    }
}

/// What a step gets: the job, the outputs of the steps before it, and the services.
#[derive(Clone)]
pub struct StepCtx {
    pub state: Arc<Deps>,
    pub job: Arc<Job>,
    pub outputs: Arc<BTreeMap<String, serde_json::Value>>,
    pub cancel: CancellationToken,
    /// The queue and the job's lease (a step that takes more jobs with
    /// `Queue::claim_more` settles them itself).
    pub queue: crate::jobs::queue::Queue,
    pub token: u64,
}

impl StepCtx {
    /// The job's payload decoded as `T`; a payload that doesn't fit is not retryable.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.job.payload.clone())
            .map_err(|e| JobError::fatal(format!("invalid job payload: {e}")))
    }

    /// The output of an earlier step.
    pub fn output(&self, step: &str) -> Option<&serde_json::Value> {
        self.outputs.get(step)
    }

    /// An earlier step's output decoded as `T`.
    pub fn output_as<T: DeserializeOwned>(&self, step: &str) -> Result<T, JobError> {
        let v = self
            .outputs
            .get(step)
            .ok_or_else(|| JobError::fatal(format!("step {step} has no output")))?;
        serde_json::from_value(v.clone())
            .map_err(|e| JobError::fatal(format!("output of step {step} is invalid: {e}")))
    }

    /// The job's tenant (jobs of the platform itself have none).
    pub fn tenant(&self) -> Result<TenantId, JobError> {
        match self.job.scope() {
            Some(Scope::Tenant(t)) => Ok(t),
            _ => Err(JobError::fatal(format!(
                "job scope {:?} is not a tenant",
                self.job.tenant
            ))),
        }
    }

    /// The job's tenant database.
    pub async fn tenant_db(&self) -> Result<TenantDb, JobError> {
        let t = self.tenant()?;
        self.state
            .store
            .tenant(t)
            .await
            .map_err(|e| JobError::retryable(format!("database: {e}")))
    }

    /// Adds an event to the job's timeline (progress, LLM calls, decisions).
    pub async fn event(
        &self,
        kind: &'static str,
        message: impl Into<String>,
        data: serde_json::Value,
    ) {
        self.state.events.emit_job(&self.job, kind, message, data);
    }
}

/// Runs workflows for the job runner.
pub struct Engine {
    registry: Registry,
    state: Arc<Deps>,
}

impl Engine {
    pub fn new(registry: Registry, state: Arc<Deps>) -> Self {
        Self { registry, state }
    }
}

impl Handler for Engine {
    fn run(&self, ctx: JobContext) -> BoxFuture<'static, Result<serde_json::Value, JobError>> {
        let workflow = self.registry.get(&ctx.job.kind).cloned();
        let state = self.state.clone();
        Box::pin(async move {
            let Some(workflow) = workflow else {
                return Err(JobError::fatal(format!(
                    "no workflow is registered for job kind {:?}",
                    ctx.job.kind
                )));
            };
            run_workflow(&workflow, state, ctx).await
        })
    }
}

/// Runs the steps not yet finished; returns the last step's output (with
/// [`Timeline::Lifecycle`], wrapped with the steps' names and durations).
async fn run_workflow(
    workflow: &Workflow,
    state: Arc<Deps>,
    ctx: JobContext,
) -> Result<serde_json::Value, JobError> {
    let job = ctx.job.clone();
    let detailed = workflow.timeline == Timeline::Steps;
    let emit = |kind: &'static str, message: String, data: serde_json::Value| {
        if detailed {
            state.events.emit_job(&job, kind, message, data);
        }
    };
    let mut outputs: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut ran = Vec::new();
    let total = workflow.steps.len();
    let mut last = json!(null);
    for (i, step) in workflow.steps.iter().enumerate() {
        let position = json!({"step": step.name, "index": i + 1, "of": total});
        if let Some(done) = job.steps.iter().find(|s| s.name == step.name) {
            outputs.insert(step.name.to_string(), done.output.clone());
            last = done.output.clone();
            emit(
                kind::STEP_SKIPPED,
                format!("{}: already done in an earlier attempt", step.name),
                position,
            );
            continue;
        }
        if ctx.cancel.is_cancelled() {
            return Err(JobError::fatal("cancelled"));
        }
        emit(
            kind::STEP_STARTED,
            format!("{} started", step.name),
            position.clone(),
        );
        let started = Instant::now();
        let step_ctx = StepCtx {
            state: state.clone(),
            job: job.clone(),
            outputs: Arc::new(outputs.clone()),
            cancel: ctx.cancel.clone(),
            queue: ctx.queue.clone(),
            token: ctx.token,
        };
        match (step.run)(step_ctx).await {
            Ok(output) => {
                let took = started.elapsed().as_millis() as u64;
                if detailed {
                    ctx.queue
                        .record_step(job.id, ctx.token, step.name, output.clone())
                        .map_err(|e| {
                            JobError::retryable(format!("could not record step {}: {e}", step.name))
                        })?;
                }
                let mut data = position;
                data["duration_ms"] = json!(took);
                emit(kind::STEP_FINISHED, format!("{} finished", step.name), data);
                ran.push(json!({"step": step.name, "duration_ms": took}));
                outputs.insert(step.name.to_string(), output.clone());
                last = output;
            }
            Err(e) => {
                let mut data = position;
                data["error"] = json!(e.message);
                data["retryable"] = json!(e.retryable);
                emit(
                    kind::STEP_FAILED,
                    format!("{} failed: {}", step.name, e.message),
                    data,
                );
                return Err(JobError {
                    message: format!("step {}: {}", step.name, e.message),
                    retryable: e.retryable,
                });
            }
        }
    }
    if !detailed {
        // The decisions stay visible without a step event each: the runner puts the
        // result (this) into the job and its `job.succeeded` event.
        if let serde_json::Value::Object(map) = &mut last {
            map.insert("steps".into(), json!(ran));
        }
    }
    Ok(last)
}
