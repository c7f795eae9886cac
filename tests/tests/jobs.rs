//! The job system end to end through the real binary: enqueue over HTTP, the runner,
//! steps and retries, cancellation, live progress over SSE, the timeline, the staff
//! dashboard, metrics, tenant isolation and bad input.

mod common;

use std::time::{Duration, Instant};

use common::{spawn_app, App, Session};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

/// Fast retries and short leases so failure paths finish in seconds.
const ENV: &[(&str, &str)] = &[
    ("JOB_BACKOFF_BASE_MS", "50"),
    ("JOB_BACKOFF_FACTOR", "2"),
    ("JOB_VISIBILITY_TIMEOUT_SECS", "2"),
    ("JOB_WORKERS", "4"),
];

async fn enqueue(app: &App, s: &Session, payload: Value) -> String {
    let r = app
        .post(
            "/api/jobs",
            Some(&s.token),
            json!({"kind": "diagnostics.echo", "payload": payload}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["existing"], false);
    r.body["id"].as_str().unwrap().to_string()
}

/// Polls the job until `pred` holds (or 30 s pass).
async fn wait_for(app: &App, s: &Session, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.get(&format!("/api/jobs/{id}"), &s.token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if pred(&r.body) {
            return r.body;
        }
        assert!(Instant::now() < deadline, "job never got there: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn status_is(s: &'static str) -> impl Fn(&Value) -> bool {
    move |j| j["status"] == s
}

async fn event_kinds(app: &App, s: &Session, id: &str) -> Vec<String> {
    let r = app
        .get(&format!("/api/events?job_id={id}&limit=200"), &s.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut kinds: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.reverse(); // the feed is newest first
    kinds
}

#[tokio::test]
async fn a_job_runs_its_steps_and_leaves_a_timeline() {
    let app = spawn_app(ENV).await;
    let owner = app.new_owner("jobs-owner@example.test").await;
    let cid = "6f1c1d2e-7a4b-4c5d-8e9f-a0b1c2d3e4f5";
    let r = app
        .http
        .post(format!("{}/api/jobs", app.base))
        .bearer_auth(&owner.token)
        .header("x-correlation-id", cid)
        .json(&json!({"kind": "diagnostics.echo", "payload": {"message": "hello"}}))
        .send()
        .await
        .unwrap();
    let r = App::read(r).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["url"], format!("/api/jobs/{id}"));
    let job = wait_for(&app, &owner, &id, status_is("succeeded")).await;
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["result"], json!({"message": "hello", "applied": true}));
    assert_eq!(
        job["correlation_id"], cid,
        "the request's id travels into the job"
    );
    assert_eq!(job["created_by"], owner.user_id.as_str());
    let steps: Vec<&str> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["validate", "wait", "apply"]);
    // The job's events are on the timeline, in order, and findable by correlation id.
    let kinds = event_kinds(&app, &owner, &id).await;
    assert_eq!(
        kinds,
        [
            "job.queued",
            "job.started",
            "job.step_started",
            "job.step_finished",
            "job.step_started",
            "job.step_finished",
            "job.step_started",
            "job.step_finished",
            "job.succeeded"
        ]
    );
    let r = app
        .get(
            &format!("/api/events?correlation_id={cid}&type=job."),
            &owner.token,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 9, "{}", r.body);
    let r = app
        .get(
            &format!("/api/events?job_id={id}&type=job.succeeded"),
            &owner.token,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // Listing: newest first, filterable, paginated.
    let second = enqueue(&app, &owner, json!({})).await;
    wait_for(&app, &owner, &second, status_is("succeeded")).await;
    let r = app.get("/api/jobs?limit=1", &owner.token).await;
    assert_eq!(r.body["items"][0]["id"], second.as_str());
    let next = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .get(&format!("/api/jobs?limit=1&cursor={next}"), &owner.token)
        .await;
    assert_eq!(r.body["items"][0]["id"], id.as_str());
    let r = app.get("/api/jobs?status=failed", &owner.token).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get("/api/jobs/kinds", &owner.token).await;
    assert_eq!(r.body["items"][0]["kind"], "diagnostics.echo");
}

#[tokio::test]
async fn retries_dead_letters_and_staff_retry() {
    let app = spawn_app(&[ENV, &[("JOB_MAX_ATTEMPTS", "2")]].concat()).await;
    let owner = app.new_owner("retry-owner@example.test").await;
    // Fails its first 3 attempts: with 2 attempts per run it becomes a dead letter.
    let id = enqueue(&app, &owner, json!({"fail_attempts": 3})).await;
    let job = wait_for(&app, &owner, &id, status_is("failed")).await;
    assert_eq!(
        (job["attempts"].as_u64(), job["dead_letter"].as_bool()),
        (Some(2), Some(true))
    );
    assert!(job["error"]
        .as_str()
        .unwrap()
        .contains("asked to fail attempt 2"));
    let kinds = event_kinds(&app, &owner, &id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "job.retried").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(kinds.last().unwrap(), "job.failed");
    // A non-retryable failure is a dead letter after one attempt.
    let fatal = enqueue(&app, &owner, json!({"fail_permanently": true})).await;
    let job = wait_for(&app, &owner, &fatal, status_is("failed")).await;
    assert_eq!(job["attempts"], 1);
    // Staff see failures first, across tenants.
    let staff = app.staff().await;
    let r = app.get("/api/system/jobs?limit=10", &staff.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"][0]["status"], "failed");
    assert_eq!(r.body["items"][1]["status"], "failed");
    let r = app.get("/api/system/overview", &staff.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["dead_letters"].as_u64().unwrap() >= 2, "{}", r.body);
    assert_eq!(r.body["recent_failures"].as_array().unwrap().len(), 2);
    let names: Vec<&str> = r.body["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"system.compute_metrics"), "{names:?}");
    // A staff retry grants fresh attempts: attempt 3 fails, attempt 4 succeeds. The
    // finished `validate` step is not run again.
    let r = app
        .post(
            &format!("/api/system/jobs/{id}/retry"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "queued");
    let job = wait_for(&app, &owner, &id, status_is("succeeded")).await;
    assert_eq!(job["attempts"], 4);
    let kinds = event_kinds(&app, &owner, &id).await;
    assert!(kinds.iter().any(|k| k == "job.step_skipped"), "{kinds:?}");
    // Retrying a job that isn't failed is a conflict; an unknown one is a 404.
    let r = app
        .post(
            &format!("/api/system/jobs/{id}/retry"),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"));
    let r = app
        .post(
            "/api/system/jobs/0190a5f2-5b7e-7c3d-8e9f-0a1b2c3d4e5f/retry",
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    // Members can't reach the dashboard.
    let r = app.get("/api/system/overview", &owner.token).await;
    assert_eq!(r.status, 403);
    let r = app
        .post(
            &format!("/api/system/jobs/{fatal}/retry"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn cancelling_queued_and_running_jobs() {
    let app = spawn_app(ENV).await;
    let owner = app.new_owner("cancel-owner@example.test").await;
    // Queued for later: cancelled at once.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = app
        .post(
            "/api/jobs",
            Some(&owner.token),
            json!({"kind": "diagnostics.echo", "run_at": later}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let queued = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(
            &format!("/api/jobs/{queued}/cancel"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["status"].as_str()),
        (200, Some("cancelled"))
    );
    // Running: the runner stops it at the next heartbeat.
    let running = enqueue(&app, &owner, json!({"sleep_ms": 20000})).await;
    wait_for(&app, &owner, &running, status_is("running")).await;
    let r = app
        .post(
            &format!("/api/jobs/{running}/cancel"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancel_requested"], true);
    let job = wait_for(&app, &owner, &running, status_is("cancelled")).await;
    assert!(job["finished_at"].is_string());
    let kinds = event_kinds(&app, &owner, &running).await;
    assert!(kinds.iter().any(|k| k == "job.cancel_requested"));
    assert_eq!(kinds.last().unwrap(), "job.cancelled");
    // A finished job can't be cancelled.
    let r = app
        .post(
            &format!("/api/jobs/{running}/cancel"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"));
}

#[tokio::test]
async fn live_progress_over_server_sent_events() {
    let app = spawn_app(ENV).await;
    let owner = app.new_owner("sse-owner@example.test").await;
    let id = enqueue(&app, &owner, json!({"sleep_ms": 800})).await;
    let resp = app
        .http
        .get(format!("{}/api/jobs/{id}/events", app.base))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // Read the whole stream: it must end by itself after the terminal event.
    let mut body = String::new();
    let mut stream = resp.bytes_stream();
    let read = async {
        while let Some(chunk) = stream.next().await {
            body.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the stream ends when the job ends");
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let progress = kinds.iter().filter(|k| **k == "job.progress").count();
    assert_eq!(progress, 4, "{kinds:?}");
    assert_eq!(kinds.first(), Some(&"job.queued"));
    assert_eq!(kinds.last(), Some(&"job.succeeded"));
    // Delivered in timeline order, each once.
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted);
    assert!(body.contains("event: job.succeeded"));
    // A finished job's stream replays its history and ends at once.
    let r = app
        .http
        .get(format!("{}/api/jobs/{id}/events", app.base))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    let text = tokio::time::timeout(Duration::from_secs(10), r.text())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text.matches("data: ").count(), events.len());
}

#[tokio::test]
async fn jobs_are_tenant_scoped_and_role_checked() {
    let app = spawn_app(ENV).await;
    let a = app.new_owner("jobs-a@example.test").await;
    let b = app.new_owner("jobs-b@example.test").await;
    let member = app
        .add_member(&a, "jobs-member@example.test", "member")
        .await;
    let reader = app
        .add_member(&a, "jobs-reader@example.test", "read_only")
        .await;
    let id = enqueue(&app, &a, json!({"sleep_ms": 1500})).await;
    // Another tenant: 404 everywhere, and nothing in its lists.
    for (m, path) in [
        (Method::GET, format!("/api/jobs/{id}")),
        (Method::GET, format!("/api/jobs/{id}/events")),
        (Method::POST, format!("/api/jobs/{id}/cancel")),
    ] {
        let r = app
            .call(m.clone(), &path, Some(&b.token), Some(json!({})))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "not_found"),
            "{m} {path}"
        );
    }
    let r = app.get("/api/jobs", &b.token).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get(&format!("/api/events?job_id={id}"), &b.token).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    // read_only reads but can't run or cancel.
    assert_eq!(
        app.get(&format!("/api/jobs/{id}"), &reader.token)
            .await
            .status,
        200
    );
    let r = app
        .post(
            "/api/jobs",
            Some(&reader.token),
            json!({"kind": "diagnostics.echo"}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post(
            &format!("/api/jobs/{id}/cancel"),
            Some(&reader.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    // A member can't cancel someone else's job (but can run their own).
    let r = app
        .post(
            &format!("/api/jobs/{id}/cancel"),
            Some(&member.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    let own = enqueue(&app, &member, json!({})).await;
    wait_for(&app, &member, &own, status_is("succeeded")).await;
}

#[tokio::test]
async fn bad_input_is_rejected_with_clear_errors() {
    let app = spawn_app(ENV).await;
    let owner = app.new_owner("jobs-bad@example.test").await;
    let t = Some(owner.token.as_str());
    let cases = [
        (
            json!({"kind": "system.compute_metrics"}),
            "validation_failed",
        ),
        (json!({"kind": "nope"}), "validation_failed"),
        (json!({"kind": ""}), "validation_failed"),
        (json!({"kind": 5}), "invalid_json"),
        (
            json!({"kind": "diagnostics.echo", "payload": {"sleep_ms": "x"}}),
            "validation_failed",
        ),
        (
            json!({"kind": "diagnostics.echo", "payload": {"sleep_ms": 999999}}),
            "validation_failed",
        ),
        (
            json!({"kind": "diagnostics.echo", "payload": {"unknown": 1}}),
            "validation_failed",
        ),
        (
            json!({"kind": "diagnostics.echo", "priority": 12}),
            "validation_failed",
        ),
        (
            json!({"kind": "diagnostics.echo", "run_at": "tomorrow"}),
            "invalid_json",
        ),
        (
            json!({"kind": "diagnostics.echo", "run_at": "2099-01-01T00:00:00Z"}),
            "validation_failed",
        ),
    ];
    for (body, code) in cases {
        let r = app.post("/api/jobs", t, body.clone()).await;
        let status = if code == "validation_failed" {
            422
        } else {
            400
        };
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (status, code),
            "{body}: {}",
            r.body
        );
        assert!(r.body["error"]["correlation_id"].is_string());
    }
    for path in [
        "/api/jobs/not-a-uuid",
        "/api/jobs?cursor=zzz",
        "/api/jobs?limit=0",
        "/api/jobs?status=exploded",
        "/api/events?job_id=nope",
        "/api/events?type=DROP%20TABLE",
    ] {
        let r = app.get(path, &owner.token).await;
        r.assert_refused(path);
    }
    let r = app
        .get(
            "/api/jobs/0190a5f2-5b7e-7c3d-8e9f-0a1b2c3d4e5f",
            &owner.token,
        )
        .await;
    assert_eq!(r.status, 404);
    // The same idempotency key returns the first job.
    let body = json!({"kind": "diagnostics.echo", "idempotency_key": "nightly-check"});
    let first = app.post("/api/jobs", t, body.clone()).await;
    let again = app.post("/api/jobs", t, body).await;
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(
        (
            first.body["existing"].as_bool(),
            again.body["existing"].as_bool()
        ),
        (Some(false), Some(true))
    );
}

#[tokio::test]
async fn readiness_and_metrics_report_the_queue() {
    let app = spawn_app(ENV).await;
    let owner = app.new_owner("jobs-metrics@example.test").await;
    let id = enqueue(&app, &owner, json!({})).await;
    wait_for(&app, &owner, &id, status_is("succeeded")).await;
    let r = app.call(Method::GET, "/api/readyz", None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"queue"), "{names:?}");
    let staff = app.staff().await;
    let r = app
        .http
        .get(format!("{}/api/system/metrics", app.base))
        .bearer_auth(&staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for needle in [
        "afterresume_jobs_finished_total{kind=\"diagnostics.echo\",outcome=\"succeeded\"} 1",
        "afterresume_jobs{kind=\"diagnostics.echo\",state=\"succeeded\"} 1",
        "afterresume_queue_depth",
        "afterresume_job_lease_expiries_total",
        "afterresume_http_requests_total{method=\"POST\",route=\"/api/jobs\",status=\"202\"} 1",
        "afterresume_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let r = app.get("/api/system/metrics", &owner.token).await;
    assert_eq!(r.status, 403);
}
