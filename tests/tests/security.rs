//! Attacks on the shared process, each test named for what it stops, against the real
//! binary.

mod common;

use std::time::Instant;

use common::spawn_app;
use futures::StreamExt;
use reqwest::Method;

/// The Prometheus series in a metrics text (every sample line).
fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// Request `i` of the flood: random API paths, UI paths, sub-paths of a route and
/// made-up methods on a real route.
fn flood_request(i: usize) -> (Method, String) {
    match i % 4 {
        0 => (Method::GET, format!("/api/no-such-{i}/x{}", i * 7)),
        1 => (Method::GET, format!("/page-{i}")),
        2 => (Method::DELETE, format!("/api/healthz/{i}")),
        _ => (
            Method::from_bytes(format!("M{}", i % 1000).as_bytes()).unwrap(),
            format!("/api/worklogs/{i}"),
        ),
    }
}

#[tokio::test]
async fn random_paths_and_methods_do_not_add_metric_series() {
    let app = spawn_app(&[("API_RATE_LIMIT_PER_MINUTE", "1000000")]).await;
    let staff = app.staff().await;
    // One request of each kind first: the labels the flood may legitimately produce
    // (404 on an API path and on a UI path, 405 on a route, an unknown method) exist
    // after these, so only unbounded labels could add series later.
    for i in 0..4 {
        let (method, path) = flood_request(i);
        app.http
            .request(method, format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
    }
    let metrics = |app: &common::App| {
        let req = app
            .http
            .get(format!("{}/api/system/metrics", app.base))
            .bearer_auth(&staff.token);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    // Once to create the metrics route's own series, then the count that must hold.
    metrics(&app).await;
    let before = series(&metrics(&app).await);

    let total: usize = std::env::var("SECURITY_FLOOD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let started = Instant::now();
    let statuses = futures::stream::iter(0..total)
        .map(|i| {
            let (method, path) = flood_request(i);
            let req = app.http.request(method, format!("{}{path}", app.base));
            async move { req.send().await.map(|r| r.status().as_u16()) }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed();
    let errors = statuses.iter().filter(|s| s.is_err()).count();
    let server_errors = statuses
        .iter()
        .filter(|s| s.as_ref().is_ok_and(|s| *s >= 500))
        .count();
    let after = series(&metrics(&app).await);
    println!(
        "{total} requests to random paths in {:.1} s: series {before} -> {after}",
        elapsed.as_secs_f64()
    );
    assert_eq!((errors, server_errors), (0, 0), "transport errors, 5xx");
    assert_eq!(after, before, "random paths added series");
}

#[tokio::test]
async fn readiness_probes_are_cached_and_details_are_for_staff_only() {
    let app = spawn_app(&[]).await;
    let anonymous = app.call(Method::GET, "/api/readyz", None, None).await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    let names: Vec<&str> = anonymous.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // No backend, model or URL for the public.
    assert_eq!(names, ["database", "queue", "storage", "llm"]);

    // Within the cache window every caller gets the same probe (the storage probe writes
    // an object: an anonymous flood must not make it write one per request).
    let latencies = |body: &serde_json::Value| -> Vec<f64> {
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["latency_ms"].as_f64().unwrap())
            .collect()
    };
    for _ in 0..20 {
        let again = app.call(Method::GET, "/api/readyz", None, None).await;
        assert_eq!(latencies(&again.body), latencies(&anonymous.body));
    }

    let staff = app.staff().await;
    let detailed = app
        .call(Method::GET, "/api/readyz", Some(&staff.token), None)
        .await;
    assert_eq!(latencies(&detailed.body), latencies(&anonymous.body));
    let text = detailed.body["checks"].to_string();
    assert!(text.contains("storage (fs)"), "{text}");
    assert!(text.contains("llm ("), "{text}");
}
