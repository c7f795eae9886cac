//! Work-log HTTP benchmark against the real release binary on loopback.
//!
//! 1. Authenticated creates: 2 tenants × 10,000 entries from 16 concurrent clients. Each
//!    tenant is a team of 200 members logging 50 entries each, so the creates run under
//!    the shipped hourly quota (60 per user) instead of a lifted one.
//! 2. Authenticated list pages (50 rows, with and without filters), 2,000 requests.
//! 3. Full-text search latency over 50,000 entries (imported in 5,000-row files), under
//!    the same concurrency and for one client alone.
//!
//! Reads start after the creates' reward evaluations (background jobs) have drained, so
//! they measure the listing, not the queue; the drain time is printed too.
//!
//! `GET /api/healthz` is measured the same way first, as the reference each figure is
//! compared with (the cost of the HTTP stack alone on this machine).
//!
//! Run: `cargo build --release --bins && cargo bench -p afterresume-e2e --bench worklogs`
//! (`-- quick` for a tenth of the sizes).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

const CLIENTS: usize = 16;
/// Members per tenant (a tenth with `quick`); 10,000 entries make 50 each.
const MEMBERS: usize = 200;
const PASSWORD: &str = "correct horse battery";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn release_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    let bin = dir.join("afterresume");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release --bins` first",
        bin.display()
    );
    bin
}

#[derive(Default)]
struct Stats {
    lat: Vec<Duration>,
    elapsed: Duration,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.lat.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.lat.clone();
        v.sort();
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
    fn line(&self, name: &str) {
        println!(
            "{name:<34} {:>7} req {:>9.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            self.lat.len(),
            self.rps(),
            self.pct(0.5),
            self.pct(0.99)
        );
    }
}

/// Runs `total` requests from `CLIENTS` concurrent tasks; `make(i)` builds request `i`.
async fn load<F>(total: usize, make: F) -> Stats
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    load_with(CLIENTS, total, make).await
}

/// Like [`load`] with `clients` concurrent tasks (1: the latency one user sees).
async fn load_with<F>(clients: usize, total: usize, make: F) -> Stats
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return lat;
                }
                let t = Instant::now();
                let r = make(i).send().await.expect("request");
                let status = r.status();
                let _ = r.bytes().await;
                assert!(status.is_success(), "request {i} answered {status}");
                lat.push(t.elapsed());
            }
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        stats.lat.extend(t.await.expect("client task"));
    }
    stats.elapsed = started.elapsed();
    stats
}

const WORDS: &[&str] = &[
    "deployed",
    "billing",
    "service",
    "reviewed",
    "caching",
    "latency",
    "database",
    "migration",
    "onboarding",
    "incident",
    "postmortem",
    "dashboard",
    "pipeline",
    "search",
    "index",
    "refactor",
    "customer",
    "interview",
    "roadmap",
    "kubernetes",
    "terraform",
    "metrics",
    "alerting",
    "frontend",
    "accessibility",
    "payments",
    "invoice",
    "report",
    "security",
    "audit",
    "release",
    "rollback",
    "queue",
    "worker",
    "throughput",
    "mentoring",
];

fn sentence(seed: usize, n: usize) -> String {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            WORDS[x % WORDS.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Logs in; tokens last 15 minutes, so each phase gets fresh ones.
async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let r: Value = http
        .post(format!("{base}/api/auth/token"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .json_body()
        .await;
    r["access_token"].as_str().unwrap().to_string()
}

/// Sends a request that must succeed and reads its JSON body.
trait JsonBody {
    async fn json_body(self) -> Value;
}

impl JsonBody for reqwest::RequestBuilder {
    async fn json_body(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

/// Signs `email` up through an invitation `inviter` creates at `invite_path` with
/// `invite` as the body; returns the new user's access token.
async fn join(
    http: &reqwest::Client,
    base: &str,
    inviter: &str,
    invite_path: &str,
    invite: Value,
    email: &str,
) -> String {
    let inv: Value = http
        .post(format!("{base}{invite_path}"))
        .bearer_auth(inviter)
        .json(&invite)
        .json_body()
        .await;
    let r: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"passkey": inv["passkey"], "email": email, "password": PASSWORD, "display_name": "Bench"}))
        .json_body()
        .await;
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{email} was not signed up: {r}"))
        .to_string()
}

/// Waits until the workspace has no queued or running jobs.
async fn drain(http: &reqwest::Client, base: &str, token: &str) {
    loop {
        let bar: Value = http
            .get(format!("{base}/api/status/bar"))
            .bearer_auth(token)
            .json_body()
            .await;
        if bar["jobs_queued"] == 0 && bar["jobs_running"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

const OWNERS: [&str; 3] = [
    "bench-a@example.test",
    "bench-b@example.test",
    "bench-search@example.test",
];

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let bench_started = Instant::now();
    let quick = std::env::args().any(|a| a == "quick");
    let scale = if quick { 10 } else { 1 };
    let per_tenant = 10_000 / scale;
    let search_corpus = 50_000 / scale;
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [
        ("SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789"),
        ("ENVIRONMENT", "development"),
        ("RUST_LOG", "error"),
        ("AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        ("API_RATE_LIMIT_PER_MINUTE", "10000000"),
        // The search corpus is imported by one user, past the daily import quota.
        ("IMPORT_ROWS_PER_DAY", "0"),
        // The phases outlast the default 15-minute access token.
        ("ACCESS_TOKEN_TTL_SECS", "7200"),
    ];
    let bin = release_bin();
    let run = |args: &[&str]| {
        Command::new(&bin)
            .args(args)
            .envs(env)
            .env("DATA_DIR", dir.path())
            .output()
            .expect("run afterresume")
    };
    let out = run(&[
        "admin",
        "create-staff",
        "--email",
        "bench@example.test",
        "--password",
        PASSWORD,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(&bin)
            .args(["serve", "--port", &port.to_string()])
            .envs(env)
            .env("DATA_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    while http
        .get(format!("{base}/api/healthz"))
        .send()
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let staff = login(&http, &base, "bench@example.test").await;
    let mut owners = Vec::new();
    for email in OWNERS {
        owners.push(
            join(
                &http,
                &base,
                &staff,
                "/api/admin/invitations",
                json!({}),
                email,
            )
            .await,
        );
    }
    // The two teams: every member joins through an invitation from the tenant's owner.
    let members_per_tenant = MEMBERS / scale;
    let started = Instant::now();
    let members: Vec<String> = futures::stream::iter(0..2 * members_per_tenant)
        .map(|m| {
            let (http, base, owner) = (http.clone(), base.clone(), owners[m % 2].clone());
            async move {
                let email = format!("member-{m}@example.test");
                let body = json!({"role": "member"});
                join(&http, &base, &owner, "/api/invitations", body, &email).await
            }
        })
        .buffered(CLIENTS)
        .collect()
        .await;
    println!(
        "work-log HTTP benchmark, release build, {CLIENTS} concurrent clients, loopback \
         ({} members signed up in {:.1} s)",
        members.len(),
        started.elapsed().as_secs_f64()
    );

    let (h, b) = (http.clone(), base.clone());
    let health = load(4000 / scale, move |_| h.get(format!("{b}/api/healthz"))).await;
    health.line("reference: GET /api/healthz");

    // Request i is member i mod 2M's: tenants alternate, and each member's 50 entries
    // are spread over the whole phase.
    let (h, b, t) = (http.clone(), base.clone(), members.clone());
    let creates = load(2 * per_tenant, move |i| {
        h.post(format!("{b}/api/worklogs"))
            .bearer_auth(&t[i % t.len()])
            .json(&json!({
                "date": format!("2026-{:02}-{:02}", 1 + i % 10, 1 + i % 28),
                "content": sentence(i, 30),
                "tags": [WORDS[i % 7], WORDS[i % 11]],
                "project": WORDS[i % 5],
            }))
    })
    .await;
    creates.line(&format!("POST /api/worklogs (2 × {per_tenant})"));

    let started = Instant::now();
    for email in &OWNERS[..2] {
        let t = login(&http, &base, email).await;
        drain(&http, &base, &t).await;
    }
    println!(
        "reward evaluations of the creates drained {:.1} s after the last create",
        started.elapsed().as_secs_f64()
    );
    let mut owners = Vec::new();
    for email in OWNERS {
        owners.push(login(&http, &base, email).await);
    }

    let (h, b, t) = (http.clone(), base.clone(), owners.clone());
    let lists = load(2000 / scale, move |i| {
        h.get(format!("{b}/api/worklogs?limit=50"))
            .bearer_auth(&t[i % 2])
    })
    .await;
    lists.line("GET /api/worklogs (50 rows)");
    let (h, b, t) = (http.clone(), base.clone(), owners.clone());
    let filtered = load(2000 / scale, move |i| {
        h.get(format!(
            "{b}/api/worklogs?limit=50&tag={}&from=2026-03-01",
            WORDS[i % 7]
        ))
        .bearer_auth(&t[i % 2])
    })
    .await;
    filtered.line("GET /api/worklogs?tag&from (50 rows)");
    // A page deep in the log: the cursor after the first 2,000 rows (quick: 200).
    let mut deep = Vec::new();
    for t in &owners[..2] {
        let mut cursor = String::new();
        for _ in 0..(40 / scale).max(1) {
            let page: Value = http
                .get(format!("{base}/api/worklogs?limit=50&cursor={cursor}"))
                .bearer_auth(t)
                .json_body()
                .await;
            cursor = page["next_cursor"].as_str().unwrap_or_default().to_string();
        }
        deep.push(cursor);
    }
    let (h, b, t) = (http.clone(), base.clone(), owners.clone());
    let deep_pages = load(2000 / scale, move |i| {
        h.get(format!("{b}/api/worklogs?limit=50&cursor={}", deep[i % 2]))
            .bearer_auth(&t[i % 2])
    })
    .await;
    deep_pages.line("GET /api/worklogs?cursor= (deep page)");

    // The search corpus, imported in files of 5,000 rows.
    let started = Instant::now();
    let rows_per_file = 5000.min(search_corpus);
    for file in 0..search_corpus / rows_per_file {
        let rows: Vec<Value> = (0..rows_per_file)
            .map(|j| {
                let i = file * rows_per_file + j;
                json!({"date": format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                       "title": sentence(i + 7, 5), "content": sentence(i, 40),
                       "outcome": sentence(i + 3, 8)})
            })
            .collect();
        let r = http
            .post(format!("{base}/api/worklogs/import?format=json"))
            .bearer_auth(&owners[2])
            .header("content-type", "application/json")
            .body(serde_json::to_string(&rows).unwrap())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "import answered {}", r.status());
    }
    let import_secs = started.elapsed().as_secs_f64();
    println!(
        "import of {search_corpus} entries: {import_secs:.1} s ({:.0} entries/s)",
        search_corpus as f64 / import_secs
    );
    let search_owner = login(&http, &base, OWNERS[2]).await;
    drain(&http, &base, &search_owner).await;
    let (h, b, t) = (http.clone(), base.clone(), search_owner.clone());
    // Every search ranks tens of thousands of matches at full size: fewer requests there
    // keep the run within minutes (still enough for a p99).
    let (alone_n, search_n) = if quick { (20, 100) } else { (50, 320) };
    let alone = load_with(1, alone_n, move |i| {
        h.get(format!(
            "{b}/api/worklogs?limit=20&q={}",
            WORDS[i % WORDS.len()]
        ))
        .bearer_auth(&t)
    })
    .await;
    alone.line("GET /api/worklogs?q= (1 client)");
    let (h, b, t) = (http.clone(), base.clone(), search_owner.clone());
    let search = load(search_n, move |i| {
        h.get(format!(
            "{b}/api/worklogs?limit=20&q={}",
            WORDS[i % WORDS.len()]
        ))
        .bearer_auth(&t)
    })
    .await;
    search.line(&format!("GET /api/worklogs?q= ({search_corpus} entries)"));
    let (h, b, t) = (http.clone(), base.clone(), search_owner.clone());
    let search2 = load(search_n, move |i| {
        h.get(format!(
            "{b}/api/worklogs?limit=20&q={}+{}",
            WORDS[i % WORDS.len()],
            WORDS[(i * 7 + 3) % WORDS.len()]
        ))
        .bearer_auth(&t)
    })
    .await;
    search2.line("GET /api/worklogs?q=two+words");
    println!("ratios to the healthz reference (p50 latency):");
    for (name, s) in [
        ("create", &creates),
        ("list", &lists),
        ("filtered list", &filtered),
        ("deep page", &deep_pages),
        ("search, 1 client", &alone),
        ("search", &search),
        ("two-word search", &search2),
    ] {
        println!(
            "  {name:<16} {:>6.1}× p50, {:>6.2}× throughput",
            s.pct(0.5) / health.pct(0.5).max(1e-6),
            s.rps() / health.rps()
        );
    }
    println!(
        "whole benchmark: {:.0} s",
        bench_started.elapsed().as_secs_f64()
    );
}
