//! Crash safety of the job queue through the real binary: jobs accepted over HTTP
//! survive `kill -9` in the middle of a run, every accepted job completes after the
//! restart, and each job's effect is applied exactly once.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use afterresume::store::{Store, TenantId};
use common::{spawn_app, App, Session};
use serde_json::{json, Value};

const PRODUCERS: usize = 16;
/// Jobs acknowledged before the kill, and at least this many in total.
const BEFORE_KILL: usize = 700;
const TOTAL: usize = 1000;

/// Enqueues until `stop` or `target` acknowledged; returns the acknowledged ids.
async fn produce(
    http: reqwest::Client,
    base: String,
    token: String,
    target: usize,
    stop: Arc<AtomicBool>,
) -> HashSet<String> {
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let http = http.clone();
        let url = format!("{base}/api/jobs");
        let token = token.clone();
        let acked = acked.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && acked.lock().unwrap().len() < target {
                n += 1;
                let body = json!({"kind": "diagnostics.echo",
                                  "payload": {"message": format!("p{p}-{n}"), "sleep_ms": 8}});
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status() == 202 => {
                        let v: Value = r.json().await.unwrap();
                        acked
                            .lock()
                            .unwrap()
                            .insert(v["id"].as_str().unwrap().to_string());
                    }
                    // The server died under us: this request was never acknowledged.
                    _ => return,
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let set = acked.lock().unwrap().clone();
    set
}

async fn counts(app: &App, s: &Session) -> (usize, usize) {
    // (succeeded, all) over every page of the tenant's jobs.
    let (mut ok, mut all, mut cursor) = (0, 0, String::new());
    loop {
        let r = app
            .get(&format!("/api/jobs?limit=200{cursor}"), &s.token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        for j in r.body["items"].as_array().unwrap() {
            all += 1;
            ok += usize::from(j["status"] == "succeeded");
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return (ok, all),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accepted_jobs_survive_kill_9_and_apply_once() {
    let mut app = spawn_app(&[
        ("JOB_VISIBILITY_TIMEOUT_SECS", "2"),
        ("JOB_BACKOFF_BASE_MS", "50"),
        ("JOB_WORKERS", "4"),
        ("JOB_TENANT_CONCURRENCY", "4"),
    ])
    .await;
    let owner = app.new_owner("crash-owner@example.test").await;

    // Phase 1: producers enqueue while the runner works; kill -9 with requests in flight.
    let stop = Arc::new(AtomicBool::new(false));
    let producing = tokio::spawn(produce(
        app.http.clone(),
        app.base.clone(),
        owner.token.clone(),
        usize::MAX,
        stop.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (ok, all) = counts(&app, &owner).await;
        if all >= BEFORE_KILL && ok >= 50 {
            break;
        }
        assert!(Instant::now() < deadline, "producers too slow: {all} jobs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.kill9();
    stop.store(true, Ordering::SeqCst);
    let mut acked = producing.await.unwrap();
    let before = acked.len();

    // Phase 2: restart on the same data and top up to at least TOTAL accepted jobs.
    app.restart().await;
    let (done_at_restart, _) = counts(&app, &owner).await;
    if acked.len() < TOTAL {
        let more = produce(
            app.http.clone(),
            app.base.clone(),
            owner.token.clone(),
            TOTAL - acked.len(),
            Arc::new(AtomicBool::new(false)),
        )
        .await;
        acked.extend(more);
    }
    assert!(acked.len() >= TOTAL);

    // Every accepted job completes.
    let deadline = Instant::now() + Duration::from_secs(300);
    let (ok, all) = loop {
        let (ok, all) = counts(&app, &owner).await;
        if ok == all && all >= acked.len() {
            break (ok, all);
        }
        assert!(
            Instant::now() < deadline,
            "only {ok} of {all} jobs succeeded"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut reran = 0;
    for id in &acked {
        let r = app.get(&format!("/api/jobs/{id}"), &owner.token).await;
        assert_eq!(r.status, 200, "accepted job {id} lost: {}", r.body);
        assert_eq!(r.body["status"], "succeeded", "{}", r.body);
        // `applied: false` means the effect was already there: a re-run after the crash.
        reran += usize::from(r.body["result"]["applied"] == false);
    }
    assert_eq!(app.terminate(), Some(0), "graceful shutdown exits 0");

    // Count the effects in the store itself.
    let url = format!("surrealkv://{}/db", app.dir.path().display());
    let store = Store::open(&url, "afterresume").await.unwrap();
    let tenant = TenantId(uuid::Uuid::parse_str(&owner.tenant_id).unwrap());
    let db = store.tenant(tenant).await.unwrap();
    let mut rows = db
        .query(
            "RETURN { rows: (SELECT count() AS n FROM diagnostic GROUP ALL)[0].n,
                      counter: diagnostic_counter:total.applied };",
            json!({}),
        )
        .await
        .unwrap();
    let v: Value = rows.first(0).unwrap().unwrap();
    println!(
        "crash test: {before} jobs acknowledged before kill -9 ({done_at_restart} done at restart), \
         {} accepted in all, {all} jobs run, {ok} succeeded, {reran} re-ran after the crash with \
         their effect already applied; effect rows {}, effect counter {}",
        acked.len(),
        v["rows"],
        v["counter"]
    );
    assert_eq!(
        v["rows"].as_u64(),
        Some(all as u64),
        "one effect row per job"
    );
    assert_eq!(
        v["counter"].as_u64(),
        Some(all as u64),
        "each effect applied exactly once"
    );
}
