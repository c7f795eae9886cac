//! Prometheus metrics, served as text at `GET /metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::OnceLock;

pub struct Metrics {
    registry: Registry,
    /// Requests by endpoint, model, backend that served them and HTTP status.
    pub requests: IntCounterVec,
    pub prompt_tokens: IntCounterVec,
    pub completion_tokens: IntCounterVec,
    /// Seconds from request arrival to the first generated text.
    pub ttft: HistogramVec,
    /// Completion tokens per second of decoding, per request.
    pub decode_tps: HistogramVec,
    pub request_seconds: HistogramVec,
    /// Requests waiting for a batch slot.
    pub queue_depth: IntGaugeVec,
    /// Sequences in the running batch.
    pub active: IntGaugeVec,
    /// Rows per forward step (decode tokens + prefill chunk).
    pub batch_rows: HistogramVec,
    /// Requests forwarded to vLLM, by reason.
    pub fallbacks: IntCounterVec,
    /// Generations stopped because the client went away.
    pub cancelled: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c =
        IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    r.register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g =
        IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    r.register(Box::new(g.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    g
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    r.register(Box::new(h.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    h
}

impl Metrics {
    // The names and labels are constants: registration can only fail on a programming
    // error, caught by the first test that touches metrics.
    fn new() -> Self {
        let r = Registry::new();
        let secs = vec![
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
        ];
        Self {
            requests: counter(
                &r,
                "llm_requests_total",
                "Requests by endpoint, model, backend and status.",
                &["endpoint", "model", "backend", "status"],
            ),
            prompt_tokens: counter(
                &r,
                "llm_prompt_tokens_total",
                "Prompt (input) tokens.",
                &["model", "backend"],
            ),
            completion_tokens: counter(
                &r,
                "llm_completion_tokens_total",
                "Completion (output) tokens.",
                &["model", "backend"],
            ),
            ttft: histogram(
                &r,
                "llm_time_to_first_token_seconds",
                "Time from request to first generated text.",
                &["model", "backend"],
                secs.clone(),
            ),
            decode_tps: histogram(
                &r,
                "llm_decode_tokens_per_second",
                "Decode speed of each request.",
                &["model", "backend"],
                vec![
                    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 400.0,
                ],
            ),
            request_seconds: histogram(
                &r,
                "llm_request_duration_seconds",
                "Request duration.",
                &["endpoint"],
                secs,
            ),
            queue_depth: gauge(
                &r,
                "llm_queue_depth",
                "Requests waiting for a batch slot.",
                &["model"],
            ),
            active: gauge(
                &r,
                "llm_active_sequences",
                "Sequences in the running batch.",
                &["model"],
            ),
            batch_rows: histogram(
                &r,
                "llm_batch_rows",
                "Token rows per forward step.",
                &["model"],
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
            ),
            fallbacks: counter(
                &r,
                "llm_fallbacks_total",
                "Requests forwarded to vLLM, by reason.",
                &["reason"],
            ),
            cancelled: counter(
                &r,
                "llm_cancelled_total",
                "Generations stopped because the client disconnected.",
                &["model"],
            ),
            registry: r,
        }
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::new)
}
