//! Prometheus metrics: HTTP traffic, jobs, queue and LLM calls.
//!
//! One process-wide registry. Counters and histograms are updated where things happen;
//! gauges that describe the queue (depth, running, jobs by kind and state) are refreshed
//! from the queue when the metrics are scraped, so they can never drift from it.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_latency: HistogramVec,
    pub jobs_finished: IntCounterVec,
    pub job_duration: HistogramVec,
    pub job_retries: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub lease_expiries: IntCounter,
    pub jobs_enqueued: IntCounterVec,
    pub llm_calls: IntCounterVec,
    pub llm_tokens: IntCounterVec,
    pub llm_latency: HistogramVec,
    queue_depth: IntGauge,
    queue_due: IntGauge,
    jobs_running: IntGauge,
    oldest_due_age: IntGauge,
    jobs_by_state: IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    r.register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric definition");
    r.register(Box::new(h.clone()))
        .expect("metric registered once");
    h
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric definition");
    r.register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

impl Metrics {
    fn new() -> Self {
        // The definitions are constants: `expect` can only fire on a programming error,
        // which the unit test below catches.
        let r =
            Registry::new_custom(Some("afterresume".into()), None).expect("valid registry prefix");
        let secs = vec![
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let job_secs = vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0];
        let lease_expiries = IntCounter::new(
            "job_lease_expiries_total",
            "Leases that expired because a worker stopped heartbeating",
        )
        .expect("valid metric definition");
        r.register(Box::new(lease_expiries.clone()))
            .expect("metric registered once");
        let jobs_by_state = IntGaugeVec::new(
            Opts::new("jobs", "Jobs in the queue by kind and state"),
            &["kind", "state"],
        )
        .expect("valid metric definition");
        r.register(Box::new(jobs_by_state.clone()))
            .expect("metric registered once");
        Self {
            http_requests: counter(
                &r,
                "http_requests_total",
                "HTTP requests by route and status",
                &["method", "route", "status"],
            ),
            http_latency: histogram(
                &r,
                "http_request_duration_seconds",
                "HTTP request latency",
                &["method", "route"],
                secs.clone(),
            ),
            jobs_finished: counter(
                &r,
                "jobs_finished_total",
                "Job attempts finished, by kind and outcome",
                &["kind", "outcome"],
            ),
            job_duration: histogram(
                &r,
                "job_duration_seconds",
                "Job attempt run time",
                &["kind"],
                job_secs,
            ),
            job_retries: counter(
                &r,
                "job_retries_total",
                "Failed attempts scheduled for a retry",
                &["kind"],
            ),
            dead_letters: counter(
                &r,
                "job_dead_letters_total",
                "Jobs that failed for good",
                &["kind"],
            ),
            jobs_enqueued: counter(
                &r,
                "jobs_enqueued_total",
                "Jobs accepted into the queue",
                &["kind"],
            ),
            llm_calls: counter(
                &r,
                "llm_calls_total",
                "LLM calls by provider, model and outcome",
                &["provider", "model", "outcome"],
            ),
            llm_tokens: counter(
                &r,
                "llm_tokens_total",
                "LLM tokens by direction",
                &["provider", "model", "direction"],
            ),
            llm_latency: histogram(
                &r,
                "llm_call_duration_seconds",
                "LLM call latency",
                &["provider", "model"],
                secs,
            ),
            lease_expiries,
            queue_depth: gauge(&r, "queue_depth", "Queued jobs (due or scheduled)"),
            queue_due: gauge(&r, "queue_due", "Queued jobs whose run time has come"),
            jobs_running: gauge(&r, "jobs_running", "Jobs currently leased by a worker"),
            oldest_due_age: gauge(
                &r,
                "queue_oldest_due_age_seconds",
                "Age of the oldest due job",
            ),
            jobs_by_state,
            registry: r,
        }
    }

    /// Refreshes the queue gauges from `queue` (a snapshot the queue takes of itself)
    /// and renders everything in the Prometheus text format.
    pub fn render(&self, queue: Option<QueueGauges>) -> String {
        if let Some(q) = queue {
            self.queue_depth.set(q.depth as i64);
            self.jobs_running.set(q.running as i64);
            if let Some(c) = q.counts {
                self.jobs_by_state.reset();
                for (kind, state, n) in &c.by_kind_state {
                    self.jobs_by_state
                        .with_label_values(&[kind.as_str(), state])
                        .set(*n as i64);
                }
                self.queue_due.set(c.due as i64);
                self.oldest_due_age
                    .set(c.oldest_due_age_ms.unwrap_or(0) / 1000);
            }
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// Counts a finished job attempt (`state`: how it ended, e.g. `succeeded`).
    pub fn job_finished(&self, kind: &str, state: &str, seconds: f64) {
        self.jobs_finished.with_label_values(&[kind, state]).inc();
        self.job_duration
            .with_label_values(&[kind])
            .observe(seconds);
    }
}

/// What the job queue reports about itself for the gauges (the queue builds it, so the
/// metrics need not know the queue).
#[derive(Debug, Clone, Default)]
pub struct QueueGauges {
    /// Queued jobs (due or scheduled).
    pub depth: usize,
    /// Leased jobs.
    pub running: usize,
    /// The per-kind counts, when the queue could read them.
    pub counts: Option<QueueCounts>,
}

/// Jobs by kind and state, and how late the due ones are.
#[derive(Debug, Clone, Default)]
pub struct QueueCounts {
    /// (kind, state, count).
    pub by_kind_state: Vec<(String, &'static str, u64)>,
    /// Queued jobs whose run time has come.
    pub due: u64,
    /// Age of the oldest due job, in ms.
    pub oldest_due_age_ms: Option<i64>,
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_builds_and_renders() {
        let m = metrics();
        m.http_requests
            .with_label_values(&["GET", "/api/jobs", "200"])
            .inc();
        m.job_finished("diagnostics.echo", "succeeded", 0.2);
        let text = m.render(None);
        assert!(text.contains("afterresume_http_requests_total{method=\"GET\",route=\"/api/jobs\",status=\"200\"} 1"), "{text}");
        assert!(text.contains(
            "afterresume_jobs_finished_total{kind=\"diagnostics.echo\",outcome=\"succeeded\"} 1"
        ));
    }
}
