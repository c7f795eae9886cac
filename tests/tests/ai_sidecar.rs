//! The AI workflows with a real model: the platform (`LLM_PROVIDER=sidecar`) talks to
//! the real `llm-sidecar` binary serving SmolLM2-135M-Instruct and all-MiniLM-L6-v2.
//! A 135M model's judgement is weak, so the assertions are about shape and grounding:
//! every result is schema-valid, every evidence entry and citation is a real entry of
//! the tenant (and of the report's period), every call is an `llm.call` Event with the
//! sidecar's model and token counts. Skills precision/recall against the hand-labelled
//! fixture is printed next to the `local` provider's (tests/ai.rs).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{spawn_app, App, Session, SidecarServer};
use serde_json::{json, Value};

fn data(rel: &str) -> Value {
    let path = common::package_dir().join(rel);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Waits for a job (generation on 2 cores takes a while) and returns it.
async fn finished(app: &App, s: &Session, job_url: &str) -> Value {
    common::job_finished(app, &s.token, job_url, Duration::from_secs(900)).await
}

async fn start(app: &App, s: &Session, path: &str, body: Value) -> Value {
    common::start_job(app, &s.token, path, body).await
}

/// The job's `llm.call` Events all came from the sidecar's model, with token counts;
/// returns (calls, the longest call's latency in ms).
async fn assert_llm_calls(app: &App, s: &Session, job: &Value) -> (usize, u64) {
    let r = app
        .get(
            &format!(
                "/api/events?job_id={}&type=llm.call&limit=100",
                job["id"].as_str().unwrap()
            ),
            &s.token,
        )
        .await;
    let calls = r.body["items"].as_array().unwrap();
    assert!(!calls.is_empty(), "no llm.call events: {}", r.body);
    for c in calls {
        let d = &c["data"];
        assert_eq!(d["provider"], "sidecar", "{c}");
        assert_eq!(d["model"], "smollm2-135m-instruct", "{c}");
        assert!(d["prompt_tokens"].as_u64().unwrap() > 0, "{c}");
    }
    let longest = calls
        .iter()
        .filter_map(|c| c["data"]["latency_ms"].as_u64())
        .max()
        .unwrap_or(0);
    (calls.len(), longest)
}

fn llm_progress_every_ms() -> u64 {
    afterresume::llm::PROGRESS_EVERY.as_millis() as u64
}

#[tokio::test]
async fn every_workflow_with_smollm2_through_the_sidecar() {
    let started = Instant::now();
    let sidecar = SidecarServer::start().await;
    let app = spawn_app(&[
        ("LLM_PROVIDER", "sidecar"),
        ("LLM_SIDECAR_URL", &sidecar.url),
        ("LLM_TIMEOUT_SECS", "600"),
    ])
    .await;
    let s = app.new_owner("model-owner@example.test").await;
    // The platform sees the sidecar as ready.
    let r = app.get("/api/readyz", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let fixture = data("../platform/data/fixtures/worklog_30.json");
    let r = app
        .http
        .post(format!("{}/api/worklogs/import?format=json", app.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(fixture.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(App::read(r).await.body["created"], 30);
    let entries = app.get("/api/worklogs?limit=100", &s.token).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let by_id: HashMap<String, Value> = entries
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e.clone()))
        .collect();

    // worklog.analyze: a schema-valid analysis stored on the entry.
    let id = entries[0]["id"].as_str().unwrap();
    let job = start(&app, &s, &format!("/api/worklogs/{id}/analyze"), json!({})).await;
    let done = finished(&app, &s, job["url"].as_str().unwrap()).await;
    assert_llm_calls(&app, &s, &done).await;
    let analysis = &app.get(&format!("/api/worklogs/{id}"), &s.token).await.body["analysis"];
    assert!(
        !analysis["summary"].as_str().unwrap().trim().is_empty(),
        "{analysis}"
    );
    assert!(analysis["suggested_tags"].is_array() && analysis["quality_hints"].is_array());
    println!("analysis (sidecar): {analysis}");

    // skills.extract: every skill has evidence, and every evidence entry is ours.
    let job = start(&app, &s, "/api/skills/extract", json!({})).await;
    let done = finished(&app, &s, job["url"].as_str().unwrap()).await;
    let (calls, _) = assert_llm_calls(&app, &s, &done).await;
    let skills = app.get("/api/skills", &s.token).await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!skills.is_empty(), "{}", done["result"]);
    for sk in &skills {
        assert!(!sk["name"].as_str().unwrap().trim().is_empty(), "{sk}");
        let r = app
            .get(
                &format!("/api/skills/{}", sk["id"].as_str().unwrap()),
                &s.token,
            )
            .await;
        let evidence = r.body["evidence"].as_array().unwrap();
        assert!(!evidence.is_empty(), "{}", r.body);
        for e in evidence {
            assert!(
                by_id.contains_key(e["entry_id"].as_str().unwrap()),
                "evidence cites an entry of this tenant: {e}"
            );
        }
    }
    let labelled: HashSet<String> = data("../platform/data/fixtures/worklog_30_skills.json")
        ["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_lowercase())
        .collect();
    let found: HashSet<String> = skills
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_lowercase())
        .collect();
    let hits = found.intersection(&labelled).count() as f64;
    println!(
        "skills (sidecar, smollm2-135m-instruct): {} found, {} labelled, precision {:.3}, recall {:.3}, {calls} LLM calls",
        found.len(),
        labelled.len(),
        hits / found.len() as f64,
        hits / labelled.len() as f64
    );

    // report.generate: markdown whose citations all point into the period.
    let in_period: HashSet<&str> = entries
        .iter()
        .filter(|e| {
            let d = e["date"].as_str().unwrap();
            ("2025-01-13"..="2025-01-24").contains(&d)
        })
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let r = start(
        &app,
        &s,
        "/api/reports",
        json!({"kind": "weekly", "from": "2025-01-13", "to": "2025-01-24"}),
    )
    .await;
    let done = finished(&app, &s, r["job"]["url"].as_str().unwrap()).await;
    let (_, longest_ms) = assert_llm_calls(&app, &s, &done).await;
    // The answer was streamed: progress with the tokens written so far came live.
    let progress = app
        .get(
            &format!(
                "/api/events?job_id={}&type=job.progress&limit=100",
                done["id"].as_str().unwrap()
            ),
            &s.token,
        )
        .await;
    // Newest first, as the timeline lists them.
    let writing: Vec<u64> = progress.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["data"]["generated_tokens"].as_u64())
        .collect();
    println!("report progress events (tokens so far, newest first): {writing:?}, longest call {longest_ms} ms");
    if longest_ms > 3 * llm_progress_every_ms() {
        assert!(
            !writing.is_empty(),
            "a {longest_ms} ms generation reported no progress"
        );
    }

    let rep = app
        .get(
            &format!("/api/reports/{}", r["report"]["id"].as_str().unwrap()),
            &s.token,
        )
        .await
        .body;
    assert_eq!(rep["status"], "ready", "{rep}");
    assert!(!rep["markdown"].as_str().unwrap().trim().is_empty());
    for c in rep["citations"].as_array().unwrap() {
        assert!(
            in_period.contains(c["entry_id"].as_str().unwrap()) && c["exists"] == true,
            "every citation is a real entry of the period: {c}"
        );
    }
    println!(
        "report (sidecar): {} citations\n{}",
        rep["citations"].as_array().unwrap().len(),
        rep["markdown"].as_str().unwrap()
    );

    // resume.refresh: valid JSON Resume.
    let job = start(&app, &s, "/api/resume/refresh", json!({})).await;
    let done = finished(&app, &s, job["url"].as_str().unwrap()).await;
    assert_llm_calls(&app, &s, &done).await;
    let resume = app.get("/api/resume", &s.token).await.body["resume"].clone();
    let schema = data("data/jsonresume-schema.json");
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&resume)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "JSON Resume schema: {errors:?}\n{resume}"
    );
    assert_eq!(resume["basics"]["name"], "model-owner");

    // The month's token usage counts what the model did.
    let r = app.get("/api/status/bar", &s.token).await;
    assert!(
        r.body["tokens_used"].as_u64().unwrap_or(0) > 0,
        "{}",
        r.body
    );
    println!(
        "all four workflows with the sidecar took {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
