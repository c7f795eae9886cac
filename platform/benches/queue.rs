//! Job queue benchmark: no-op jobs end to end (durable enqueue → lease → durable
//! completion) on a real on-disk sled queue, for flush-per-operation and group commit,
//! with 1 and 8 producers. Prints jobs/s, enqueue latency percentiles and the ratio of
//! group commit to flush-per-operation measured in the same run.
//!
//! Run: `cargo bench -p afterresume --bench queue` (add `-- 5000` for more jobs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use afterresume::jobs::queue::{EnqueueOptions, FlushPolicy, Queue, QueueConfig};
use tokio::sync::Mutex;

const CONSUMERS: usize = 4;

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

async fn run(flush: FlushPolicy, producers: usize, jobs: usize) -> Run {
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
    let flusher = queue.spawn_flusher();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(jobs)));
    let started = Instant::now();
    let per_producer = jobs / producers;
    let total = per_producer * producers;
    let mut tasks = Vec::new();
    for p in 0..producers {
        let q = queue.clone();
        let lat = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::with_capacity(per_producer);
            for _ in 0..per_producer {
                let t = Instant::now();
                q.enqueue(
                    &format!("tenant-{}", p % 4),
                    "noop",
                    serde_json::json!({}),
                    EnqueueOptions::default(),
                )
                .await
                .expect("enqueue");
                mine.push(t.elapsed());
            }
            lat.lock().await.extend(mine);
        }));
    }
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..CONSUMERS {
        let q = queue.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            while done.load(std::sync::atomic::Ordering::SeqCst) < total {
                match q.lease().await.expect("lease") {
                    Some(l) => {
                        q.complete(l.job.id, l.token, serde_json::Value::Null)
                            .await
                            .expect("complete");
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    None => tokio::time::sleep(Duration::from_micros(200)).await,
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = started.elapsed();
    flusher.abort();
    let mut lat = latencies.lock().await.clone();
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
        .unwrap_or(2000);
    println!("no-op jobs end to end on an on-disk sled queue, {jobs} jobs, {CONSUMERS} consumers");
    println!(
        "{:<16} {:>9} {:>10} {:>14} {:>14}",
        "flush", "producers", "jobs/s", "enqueue p50", "enqueue p99"
    );
    for producers in [1, 8] {
        let mut results = Vec::new();
        for (name, flush) in [
            ("per-operation", FlushPolicy::PerOperation),
            ("group commit", FlushPolicy::Group),
        ] {
            let r = run(flush, producers, jobs).await;
            println!(
                "{:<16} {:>9} {:>10.0} {:>11.0} µs {:>11.0} µs",
                name, producers, r.jobs_per_sec, r.p50_us, r.p99_us
            );
            results.push(r);
        }
        println!(
            "  group commit / per-operation at {producers} producer(s): {:.2}× jobs/s, {:.2}× p99 enqueue latency",
            results[1].jobs_per_sec / results[0].jobs_per_sec,
            results[1].p99_us / results[0].p99_us.max(1.0)
        );
    }
}
