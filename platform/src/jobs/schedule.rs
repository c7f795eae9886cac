//! Cron schedules persisted in the queue's sled database (tree `schedules`).
//!
//! Each schedule stores its cron expression and its next due time. [`Scheduler::tick`]
//! enqueues every schedule whose time has come **once**, with the idempotency key
//! `schedule:<name>:<due ms>`, and then moves `next_run_at` to the first fire time after
//! *now*. So after downtime a missed schedule runs once, not once per missed tick, and a
//! crash between the enqueue and the update can't enqueue the same tick twice.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::queue::{EnqueueOptions, Enqueued, Queue, QueueError, QueueResult};
use crate::store::Scope;

/// A schedule as declared in code.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub name: &'static str,
    /// Cron with seconds: `sec min hour day-of-month month day-of-week [year]`, in UTC.
    pub cron: &'static str,
    pub kind: &'static str,
    pub payload: serde_json::Value,
}

/// A schedule as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    pub name: String,
    pub cron: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Next due time (ms since the epoch).
    pub next_run_at: i64,
    pub last_run_at: Option<i64>,
    pub last_job_id: Option<Uuid>,
}

fn parse(expr: &str) -> QueueResult<cron::Schedule> {
    cron::Schedule::from_str(expr)
        .map_err(|e| QueueError::Storage(format!("invalid cron expression {expr:?}: {e}")))
}

fn next_after(schedule: &cron::Schedule, after_ms: i64) -> QueueResult<i64> {
    let after = Utc
        .timestamp_millis_opt(after_ms)
        .single()
        .ok_or_else(|| QueueError::Storage(format!("time {after_ms} out of range")))?;
    schedule
        .after(&after)
        .next()
        .map(|t: DateTime<Utc>| t.timestamp_millis())
        .ok_or_else(|| QueueError::Storage("cron expression never fires again".into()))
}

/// Enqueues schedule runs.
#[derive(Clone)]
pub struct Scheduler {
    queue: Queue,
    tree: sled::Tree,
}

impl Scheduler {
    pub fn new(queue: Queue) -> QueueResult<Self> {
        let tree = queue.tree("schedules")?;
        Ok(Self { queue, tree })
    }

    fn read(&self, name: &str) -> QueueResult<Option<ScheduleRecord>> {
        self.tree
            .get(name.as_bytes())?
            .map(|v| {
                serde_json::from_slice(&v)
                    .map_err(|e| QueueError::Storage(format!("corrupt schedule {name}: {e}")))
            })
            .transpose()
    }

    fn write(&self, rec: &ScheduleRecord) -> QueueResult<()> {
        let bytes = serde_json::to_vec(rec).map_err(|e| QueueError::Storage(e.to_string()))?;
        self.tree.insert(rec.name.as_bytes(), bytes)?;
        Ok(())
    }

    /// Creates or updates a schedule. An unchanged schedule keeps its next due time, so
    /// a restart doesn't push a due run into the future.
    pub fn ensure(&self, spec: &ScheduleSpec, now_ms: i64) -> QueueResult<ScheduleRecord> {
        let schedule = parse(spec.cron)?;
        let existing = self.read(spec.name)?;
        let rec = match existing {
            Some(r) if r.cron == spec.cron && r.kind == spec.kind => r,
            other => ScheduleRecord {
                name: spec.name.to_string(),
                cron: spec.cron.to_string(),
                kind: spec.kind.to_string(),
                payload: spec.payload.clone(),
                next_run_at: next_after(&schedule, now_ms)?,
                last_run_at: other.as_ref().and_then(|r| r.last_run_at),
                last_job_id: other.and_then(|r| r.last_job_id),
            },
        };
        self.write(&rec)?;
        Ok(rec)
    }

    /// Enqueues every due schedule once; returns the jobs created.
    pub async fn tick(&self, now_ms: i64) -> QueueResult<Vec<Uuid>> {
        let mut created = Vec::new();
        for rec in self.list()? {
            if rec.next_run_at > now_ms {
                continue;
            }
            let schedule = parse(&rec.cron)?;
            let opts = EnqueueOptions {
                idempotency_key: Some(format!("schedule:{}:{}", rec.name, rec.next_run_at)),
                correlation_id: Some(Uuid::new_v4().to_string()),
                ..Default::default()
            };
            let payload = serde_json::json!({
                "schedule": rec.name,
                "scheduled_for": rec.next_run_at,
                "params": rec.payload,
            });
            let outcome = self
                .queue
                .enqueue(Scope::SYSTEM, &rec.kind, payload, opts)
                .await?;
            if let Enqueued::Created(id) = outcome {
                created.push(id);
            }
            self.write(&ScheduleRecord {
                next_run_at: next_after(&schedule, now_ms)?,
                last_run_at: Some(now_ms),
                last_job_id: Some(outcome.id()),
                ..rec
            })?;
        }
        Ok(created)
    }

    /// Every stored schedule.
    pub fn list(&self) -> QueueResult<Vec<ScheduleRecord>> {
        let mut out = Vec::new();
        for item in self.tree.iter() {
            let (_, v) = item?;
            out.push(
                serde_json::from_slice(&v)
                    .map_err(|e| QueueError::Storage(format!("corrupt schedule: {e}")))?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::queue::{JobFilter, QueueConfig};

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn nightly() -> ScheduleSpec {
        ScheduleSpec {
            name: "nightly",
            cron: "0 15 2 * * *",
            kind: "system.compute_metrics",
            payload: serde_json::json!({"k": 1}),
        }
    }

    #[test]
    fn next_run_follows_the_expression() {
        let s = parse("0 15 2 * * *").unwrap();
        assert_eq!(
            next_after(&s, at("2026-11-22T01:00:00Z")).unwrap(),
            at("2026-11-22T02:15:00Z")
        );
        assert_eq!(
            next_after(&s, at("2026-11-22T02:15:00Z")).unwrap(),
            at("2026-11-23T02:15:00Z"),
            "strictly after"
        );
        let weekly = parse("0 0 0 * * Mon").unwrap();
        assert_eq!(
            next_after(&weekly, at("2026-11-22T12:00:00Z")).unwrap(), // a Sunday
            at("2026-11-23T00:00:00Z")
        );
        assert!(parse("every day").is_err());
    }

    #[tokio::test]
    async fn due_schedules_run_once_and_missed_ticks_collapse() {
        let q = Queue::temporary(QueueConfig::default()).unwrap();
        let s = Scheduler::new(q.clone()).unwrap();
        let rec = s.ensure(&nightly(), at("2026-11-20T00:00:00Z")).unwrap();
        assert_eq!(rec.next_run_at, at("2026-11-20T02:15:00Z"));
        // Not due yet.
        assert!(s.tick(at("2026-11-20T02:14:59Z")).await.unwrap().is_empty());
        // The process was down for three nights: one run, then the next due time is
        // the first after now.
        let now = at("2026-11-23T09:00:00Z");
        let created = s.tick(now).await.unwrap();
        assert_eq!(created.len(), 1);
        assert!(s.tick(now).await.unwrap().is_empty(), "nothing twice");
        let rec = &s.list().unwrap()[0];
        assert_eq!(rec.next_run_at, at("2026-11-24T02:15:00Z"));
        assert_eq!(rec.last_job_id, Some(created[0]));
        let job = q.get(created[0]).unwrap().unwrap();
        assert_eq!(job.scope(), Some(Scope::System));
        assert_eq!(job.kind, "system.compute_metrics");
        assert_eq!(job.payload["params"], serde_json::json!({"k": 1}));
        assert_eq!(
            q.list(Scope::SYSTEM, &JobFilter::default(), None, 10)
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn restart_keeps_due_time_and_a_repeated_tick_is_idempotent() {
        let q = Queue::temporary(QueueConfig::default()).unwrap();
        let s = Scheduler::new(q.clone()).unwrap();
        s.ensure(&nightly(), at("2026-11-20T00:00:00Z")).unwrap();
        // A restart after the due time must not push it to tomorrow.
        let rec = s.ensure(&nightly(), at("2026-11-20T05:00:00Z")).unwrap();
        assert_eq!(rec.next_run_at, at("2026-11-20T02:15:00Z"));
        // Simulate a crash after the enqueue but before the schedule was advanced: the
        // same due tick enqueued again finds the existing job.
        let first = s.tick(at("2026-11-20T05:00:00Z")).await.unwrap();
        s.write(&rec).unwrap();
        let again = s.tick(at("2026-11-20T05:00:01Z")).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(again.is_empty());
        assert_eq!(q.scan(None).unwrap().len(), 1);
        // A changed expression recomputes the due time.
        let changed = ScheduleSpec {
            cron: "0 0 4 * * *",
            ..nightly()
        };
        let rec = s.ensure(&changed, at("2026-11-20T05:00:00Z")).unwrap();
        assert_eq!(rec.next_run_at, at("2026-11-21T04:00:00Z"));
    }
}
