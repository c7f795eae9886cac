//! Every job kind this build runs, and the payloads that name their kind: a use case
//! enqueues a typed payload ([`JobPayload`]), the workflow of its kind reads the same
//! type back, and neither spells the kind as a string.

use serde::Serialize;

use crate::deps::Deps;
use crate::jobs::queue::{EnqueueOptions, Enqueued, QueueError, QueueResult};
use crate::jobs::schedule::ScheduleSpec;
use crate::store::Scope;

/// A job kind. The queue stores it as [`JobKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    DiagnosticsEcho,
    DiagnosticsNoop,
    SystemComputeMetrics,
    RewardEvaluate,
    RewardWeeklySweep,
    WorklogAnalyze,
    SkillsExtract,
    ReportGenerate,
    ResumeRefresh,
}

impl JobKind {
    /// Every kind, in the order the registry lists them.
    pub const ALL: [JobKind; 9] = [
        JobKind::DiagnosticsEcho,
        JobKind::DiagnosticsNoop,
        JobKind::SystemComputeMetrics,
        JobKind::RewardEvaluate,
        JobKind::RewardWeeklySweep,
        JobKind::WorklogAnalyze,
        JobKind::SkillsExtract,
        JobKind::ReportGenerate,
        JobKind::ResumeRefresh,
    ];

    /// The stored and documented name (`report.generate`).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::DiagnosticsEcho => "diagnostics.echo",
            JobKind::DiagnosticsNoop => "diagnostics.noop",
            JobKind::SystemComputeMetrics => "system.compute_metrics",
            JobKind::RewardEvaluate => "gamification.reward_evaluate",
            JobKind::RewardWeeklySweep => "gamification.weekly_sweep",
            JobKind::WorklogAnalyze => "worklog.analyze",
            JobKind::SkillsExtract => "skills.extract",
            JobKind::ReportGenerate => "report.generate",
            JobKind::ResumeRefresh => "resume.refresh",
        }
    }

    /// The kind of a stored name (`None` for a name this build does not run).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A job's input that knows its kind: what use cases enqueue.
pub trait JobPayload: Serialize {
    const KIND: JobKind;
}

/// Enqueues `payload` as a job of its kind for `scope` (the one place a typed payload
/// becomes the queue's JSON).
pub async fn enqueue<P: JobPayload>(
    deps: &Deps,
    scope: Scope,
    payload: &P,
    opts: EnqueueOptions,
) -> QueueResult<Enqueued> {
    let payload = serde_json::to_value(payload).map_err(|e| QueueError::Storage(e.to_string()))?;
    deps.jobs
        .enqueue(scope, P::KIND.as_str(), payload, opts)
        .await
}

/// The schedules every `afterresume serve` keeps (the scheduler enqueues them in the
/// system scope).
pub fn schedules() -> Vec<ScheduleSpec> {
    vec![
        ScheduleSpec {
            name: "system.compute_metrics",
            // Nightly at 02:15 UTC.
            cron: "0 15 2 * * *",
            kind: JobKind::SystemComputeMetrics.as_str(),
            payload: serde_json::json!({}),
        },
        ScheduleSpec {
            name: "gamification.weekly_sweep",
            // Hourly: the sweep closes a user's week when *their* Monday 00:00 has come,
            // and time zones turn over on the hour (or half/quarter hour: the next hourly
            // run catches those).
            cron: "0 0 * * * *",
            kind: JobKind::RewardWeeklySweep.as_str(),
            payload: serde_json::json!({}),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_workflow_and_round_trips_its_name() {
        let registry = super::super::Registry::builtin();
        let mut registered: Vec<&str> = registry.kinds().map(|w| w.kind).collect();
        let mut kinds: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        registered.sort_unstable();
        kinds.sort_unstable();
        assert_eq!(registered, kinds);
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(JobKind::parse("report.write"), None);
    }
}
