//! Job queue benchmark: no-op jobs end to end (durable enqueue → lease → completion) on
//! a real on-disk sled queue in a temporary directory, with group commit (the default)
//! and with one flush per operation, for several numbers of concurrent producers, and
//! with `enqueue_many` batches. Prints one `RESULT` line per run (scripts/bench.sh
//! reads them) and the ratio of group commit to flush-per-operation.
//!
//! Every enqueue returns only once its job is on disk (`fdatasync`), as in the server.
//!
//! Run: `cargo bench -p afterresume --bench queue` (add a number for more jobs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use afterresume::jobs::queue::{EnqueueOptions, FlushPolicy, NewJob, Queue, QueueConfig};

const CONSUMERS: usize = 4;
const TENANTS: usize = 4;

struct Run {
    jobs_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// `producers` tasks enqueue `jobs` in all (`batch` per call, 1 = `enqueue`) while
/// [`CONSUMERS`] workers lease and complete them; the clock stops at the last completion.
async fn run(flush: FlushPolicy, producers: usize, batch: usize, jobs: usize) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let queue = Queue::open(
        dir.path(),
        QueueConfig {
            flush,
            tenant_concurrency: CONSUMERS,
            ..QueueConfig::default()
        },
    )
    .expect("open queue");
    let per_producer = jobs / producers / batch * batch;
    let total = per_producer * producers;
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let q = queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_producer / batch);
            for i in 0..per_producer / batch {
                let tenant = format!("tenant-{}", (p + i) % TENANTS);
                let t = Instant::now();
                if batch == 1 {
                    q.enqueue(
                        &tenant,
                        "noop",
                        serde_json::json!({}),
                        EnqueueOptions::default(),
                    )
                    .await
                    .expect("enqueue");
                } else {
                    let many = (0..batch)
                        .map(|_| NewJob {
                            tenant: tenant.clone(),
                            kind: "noop".into(),
                            payload: serde_json::json!({}),
                            options: EnqueueOptions::default(),
                        })
                        .collect();
                    q.enqueue_many(many).await.expect("enqueue_many");
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let q = queue.clone();
        let done = done.clone();
        consumers.push(tokio::spawn(async move {
            while done.load(Ordering::Acquire) < total {
                let notified = q.notify.notified();
                match q.lease().await.expect("lease") {
                    Some(l) => {
                        q.complete(l.job.id, l.token, serde_json::Value::Null)
                            .await
                            .expect("complete");
                        done.fetch_add(1, Ordering::AcqRel);
                    }
                    None => {
                        let _ = tokio::time::timeout(Duration::from_millis(5), notified).await;
                    }
                }
            }
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("producer"));
    }
    for c in consumers {
        c.await.expect("consumer");
    }
    let elapsed = started.elapsed();
    // Completions ride the next flush; include it, so the figure is durable work.
    queue.flush().await.expect("flush");
    let elapsed = elapsed.max(started.elapsed());
    lat.sort();
    Run {
        jobs_per_sec: total as f64 / elapsed.as_secs_f64(),
        p50_us: percentile(&lat, 0.50),
        p99_us: percentile(&lat, 0.99),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let jobs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    println!(
        "no-op jobs end to end (durable enqueue → lease → complete) on an on-disk sled queue, \
         {jobs} jobs, {CONSUMERS} consumers, {TENANTS} tenants"
    );
    println!(
        "{:<16} {:>9} {:>6} {:>10} {:>14} {:>14}",
        "flush", "producers", "batch", "jobs/s", "enqueue p50", "enqueue p99"
    );
    for (producers, batch) in [(1, 1), (16, 1), (64, 1), (16, 100)] {
        let mut results = Vec::new();
        for (name, flush) in [
            ("per-operation", FlushPolicy::PerOperation),
            ("group commit", FlushPolicy::Group),
        ] {
            // Flushing alone is slow by design: a tenth of the jobs is enough to measure.
            let n = if flush == FlushPolicy::PerOperation {
                jobs / 10
            } else {
                jobs
            };
            let r = run(flush, producers, batch, n).await;
            println!(
                "{:<16} {:>9} {:>6} {:>10.0} {:>11.0} µs {:>11.0} µs",
                name, producers, batch, r.jobs_per_sec, r.p50_us, r.p99_us
            );
            if flush == FlushPolicy::Group {
                println!(
                    "RESULT producers={producers} batch={batch} jobs={n} jobs_per_s={:.0} \
                     enqueue_p50_us={:.0} enqueue_p99_us={:.0}",
                    r.jobs_per_sec, r.p50_us, r.p99_us
                );
            }
            results.push(r.jobs_per_sec);
        }
        println!(
            "  group commit / per-operation with {producers} producers, batch {batch}: {:.1}×",
            results[1] / results[0].max(1e-9)
        );
    }
}
