//! The work log end to end through the real binary: entries, validation, optimistic
//! concurrency, search and filters, pagination under concurrent inserts, attachments on
//! the file system and on a real S3 server, quotas, import/export, tenant isolation and
//! roles, and the reward hook.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{spawn_app, App, S3Server, Session};
use reqwest::Method;
use serde_json::{json, Value};

async fn create(app: &App, s: &Session, body: Value) -> Value {
    let r = app.post("/api/worklogs", Some(&s.token), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn patch(app: &App, s: &Session, id: &str, body: Value) -> common::Resp {
    app.call(
        Method::PATCH,
        &format!("/api/worklogs/{id}"),
        Some(&s.token),
        Some(body),
    )
    .await
}

async fn upload(app: &App, s: &Session, entry: &str, name: &str, bytes: Vec<u8>) -> common::Resp {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    post_form(
        app,
        s,
        entry,
        reqwest::multipart::Form::new().part("file", part),
    )
    .await
}

/// POSTs a multipart body to `entry`'s attachments.
async fn post_form(
    app: &App,
    s: &Session,
    entry: &str,
    form: reqwest::multipart::Form,
) -> common::Resp {
    let r = app
        .http
        .post(format!("{}/api/worklogs/{entry}/attachments", app.base))
        .bearer_auth(&s.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    App::read(r).await
}

async fn download(app: &App, s: &Session, id: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = app
        .http
        .get(format!("{}/api/artifacts/{id}/download", app.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn png(size: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let mut x: u32 = 0x1234_5678;
    while v.len() < size {
        // xorshift: incompressible, deterministic bytes
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as u8);
    }
    v
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn entries_crud_validation_and_optimistic_concurrency() {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("wl-crud@example.test").await;
    let e = create(
        &app,
        &s,
        json!({"date": "2026-11-20", "content": "Shipped the **importer** for CSV files",
               "tags": [" Rust ", "rust", "#Backend"], "outcome": "Cut import time by 40%",
               "project": "Platform"}),
    )
    .await;
    assert_eq!(e["tags"], json!(["rust", "backend"]));
    assert_eq!(e["title"], "Shipped the importer for CSV files");
    assert_eq!(
        (e["version"].as_u64(), e["date"].as_str()),
        (Some(1), Some("2026-11-20"))
    );
    let id = e["id"].as_str().unwrap();
    // Today (in the user's time zone) is the default date.
    let d = create(
        &app,
        &s,
        json!({"content": "A day without a date given explicitly"}),
    )
    .await;
    assert!(d["date"].is_string());

    // Every problem at once, each with a stable code.
    let r = app
        .post(
            "/api/worklogs",
            Some(&s.token),
            json!({"content": "", "date": "2999-01-01", "tags": ["x".repeat(41)]}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "validation_failed"));
    let codes: HashSet<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains("content_required"), "{codes:?}");
    assert!(codes.contains("date_in_future"), "{codes:?}");
    assert!(codes.contains("tag_too_long"), "{codes:?}");
    for body in [
        json!({"content": "x".repeat(20_001)}),
        json!({"content": "ok content", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
        json!({"content": "ok content", "date": "yesterday"}),
        json!({"content": 5}),
        json!({"content": "ok", "tags": "rust"}),
    ] {
        let r = app
            .post("/api/worklogs", Some(&s.token), body.clone())
            .await;
        r.assert_refused(&body.to_string());
    }

    // PATCH with the current version; a stale version is a 409 and changes nothing.
    let r = patch(
        &app,
        &s,
        id,
        json!({"version": 1, "outcome": null, "tags": ["Go"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["version"].as_u64(), r.body["outcome"].is_null()),
        (Some(2), true)
    );
    assert_eq!(r.body["tags"], json!(["go"]));
    assert_eq!(r.body["project"], "Platform", "absent fields stay");
    let r = patch(
        &app,
        &s,
        id,
        json!({"version": 1, "content": "lost update"}),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"));
    let r = app.get(&format!("/api/worklogs/{id}"), &s.token).await;
    assert_eq!(r.body["version"], 2);
    assert_ne!(r.body["content"], "lost update");
    let r = patch(&app, &s, id, json!({"version": 2, "content": ""})).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "validation_failed"));

    // Each create and edit queued a reward evaluation for that version.
    let r = app
        .get(
            "/api/jobs?kind=gamification.reward_evaluate&limit=50",
            &s.token,
        )
        .await;
    let keys: HashSet<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    assert!(keys.contains(&format!("entry:{id}:v1")), "{keys:?}");
    assert!(keys.contains(&format!("entry:{id}:v2")), "{keys:?}");

    // Delete, then it's gone.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/worklogs/{id}"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = app.get(&format!("/api/worklogs/{id}"), &s.token).await;
    assert_eq!(r.status, 404);
    let r = app.get("/api/worklogs/not-an-id", &s.token).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn search_filters_facets_and_stable_pagination() {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("wl-search@example.test").await;
    let other = app
        .add_member(&s, "wl-search-m@example.test", "member")
        .await;
    let rows = [
        (
            "2026-11-01",
            "Deployed the billing service to production",
            vec!["deploy", "billing"],
            Some("Billing"),
        ),
        (
            "2026-11-02",
            "Reviewed pull requests about caching",
            vec!["review"],
            None,
        ),
        (
            "2026-11-03",
            "Wrote the deployment runbook for on-call",
            vec!["docs", "deploy"],
            Some("Ops"),
        ),
        (
            "2026-11-04",
            "Pair programming on the search index",
            vec!["search"],
            Some("Billing"),
        ),
    ];
    for (date, content, tags, project) in rows {
        create(
            &app,
            &s,
            json!({"date": date, "content": content, "tags": tags, "project": project}),
        )
        .await;
    }
    create(&app, &other, json!({"date": "2026-11-05", "content": "Deploy checklist polish by the member", "tags": ["deploy"]})).await;

    // Stemming: "deploying" finds "Deployed", "deployment" and "Deploy".
    let r = app.get("/api/worklogs?q=deploying", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 3, "{}", r.body);
    let scores: Vec<f64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked by relevance: {scores:?}"
    );
    // A title match outranks a body-only match.
    let r = app.get("/api/worklogs?q=runbook", &s.token).await;
    assert_eq!(r.body["items"][0]["date"], "2026-11-03");
    // Prefixes: "postgres" finds "PostgreSQL" once the in-memory index is built (the
    // first search starts it; until then the database's index answers, whole words).
    create(
        &app,
        &s,
        json!({"date": "2026-11-06", "content": "Tuned the PostgreSQL autovacuum settings"}),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = app.get("/api/worklogs?q=postgres", &s.token).await;
        if r.body["total"] == 1 {
            assert!(r.body["items"][0]["content"]
                .as_str()
                .unwrap()
                .contains("PostgreSQL"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no prefix match: {}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Short terms stay whole words, and every term must match.
    assert_eq!(
        app.get("/api/worklogs?q=po", &s.token).await.body["total"],
        0
    );
    assert_eq!(
        app.get("/api/worklogs?q=postgres%20autovac", &s.token)
            .await
            .body["total"],
        1
    );
    assert_eq!(
        app.get("/api/worklogs?q=postgres%20deploy", &s.token)
            .await
            .body["total"],
        0
    );
    let r = app.get("/api/worklogs?tag=deploy", &s.token).await;
    assert_eq!(r.body["total"], 3);
    let r = app
        .get("/api/worklogs?project=Billing&from=2026-11-02", &s.token)
        .await;
    assert_eq!(r.body["total"], 1);
    let r = app
        .get(&format!("/api/worklogs?author={}", other.user_id), &s.token)
        .await;
    assert_eq!(r.body["total"], 1);
    let r = app
        .get("/api/worklogs?from=2026-11-03&to=2026-11-01", &s.token)
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "validation_failed"));
    let r = app.get("/api/worklogs?cursor=garbage", &s.token).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_parameter"));

    let r = app.get("/api/worklogs/tags", &s.token).await;
    assert_eq!(
        r.body["items"][0],
        json!({"value": "deploy", "count": 3}),
        "{}",
        r.body
    );
    let r = app.get("/api/worklogs/projects", &s.token).await;
    assert_eq!(
        r.body["items"][0],
        json!({"value": "Billing", "count": 2}),
        "{}",
        r.body
    );

    // Page through 60 entries while 30 more are added concurrently: no duplicates, and
    // every entry that existed before paging began is seen.
    let mut before = HashSet::new();
    for i in 0..55 {
        let e = create(&app, &s, json!({"date": format!("2026-10-{:02}", 1 + i % 28), "content": format!("Older work item number {i}")})).await;
        before.insert(e["id"].as_str().unwrap().to_string());
    }
    let writer = {
        let http = app.http.clone();
        let base = app.base.clone();
        let token = s.token.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                let body = json!({"date": format!("2026-10-{:02}", 1 + i % 28), "content": format!("Concurrent insert {i}")});
                http.post(format!("{base}/api/worklogs"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app
            .get(&format!("/api/worklogs?limit=7{cursor}"), &s.token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen.extend(ids(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    writer.await.unwrap();
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates across pages");
    assert!(
        before.is_subset(&unique),
        "no gaps among the entries that existed"
    );
}

#[tokio::test]
async fn tag_facets_of_entries_without_tags() {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("wl-notags@example.test").await;
    // A workspace whose only entry has no tags: no tags, and no error.
    create(
        &app,
        &s,
        json!({"date": "2026-11-01", "content": "Untagged work"}),
    )
    .await;
    let r = app.get("/api/worklogs/tags", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"], json!([]), "{}", r.body);
    // Tagged and untagged entries side by side, some from a Markdown import.
    create(
        &app,
        &s,
        json!({"date": "2026-11-02", "content": "Tagged", "tags": ["ops"]}),
    )
    .await;
    let md = "# Work log\n\n## 2026-11-03\n\n- Imported without tags\n\n## 2026-11-04\n\n- Also untagged\n".to_string();
    let out = import(&app, &s, "markdown", md, false).await;
    assert_eq!(out["created"], 2, "{out}");
    let r = app.get("/api/worklogs/tags", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["items"],
        json!([{"value": "ops", "count": 1}]),
        "{}",
        r.body
    );
}

async fn attachments_roundtrip(app: &App, s: &Session) -> Vec<String> {
    let e = create(
        app,
        s,
        json!({"content": "Evidence for the storage round trip"}),
    )
    .await;
    let entry = e["id"].as_str().unwrap();
    // 10 MB, byte-identical back.
    let big = png(10 * 1024 * 1024);
    let r = upload(app, s, entry, "chart.png", big.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["content_type"], "image/png");
    assert_eq!(r.body["size"], big.len());
    let id = r.body["id"].as_str().unwrap().to_string();
    let (status, headers, bytes) = download(app, s, &id).await;
    assert_eq!(status, 200);
    assert_eq!(bytes.len(), big.len());
    assert!(bytes == big, "downloaded bytes differ");
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // The entry's version moved on (the upload is a reward event).
    let r = app.get(&format!("/api/worklogs/{entry}"), &s.token).await;
    assert_eq!(
        (
            r.body["version"].as_u64(),
            r.body["attachment_count"].as_u64()
        ),
        (Some(2), Some(1))
    );
    // Rejected uploads leave no row.
    let r = upload(
        app,
        s,
        entry,
        "evil.exe",
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec(),
    )
    .await;
    r.assert_error(415, "unsupported_media_type");
    let r = upload(
        app,
        s,
        entry,
        "page.html",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.body);
    let r = upload(app, s, entry, "huge.png", png(26 * 1024 * 1024)).await;
    r.assert_error(413, "payload_too_large");
    let r = upload(app, s, entry, "empty.txt", Vec::new()).await;
    r.assert_refused("an empty file");
    // The body has one part, `file`: a stray part before or after it is a malformed
    // request, and the file is not kept (the listing below counts only two).
    for before in [true, false] {
        let file = reqwest::multipart::Part::bytes(b"stray part".to_vec()).file_name("a.txt");
        let form = reqwest::multipart::Form::new();
        let form = if before {
            form.text("note", "hi").part("file", file)
        } else {
            form.part("file", file).text("note", "hi")
        };
        let r = post_form(app, s, entry, form).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "bad_request"),
            "stray part before the file: {before}: {}",
            r.body
        );
    }
    let r = upload(
        app,
        s,
        entry,
        "notes.md",
        "# Notes\n\n- one".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["content_type"].as_str()),
        (201, Some("text/markdown"))
    );
    let md = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .get(&format!("/api/worklogs/{entry}/attachments"), &s.token)
        .await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        2,
        "only accepted files are listed"
    );
    // Delete one file, then the entry (which deletes the rest).
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/artifacts/{md}"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let (status, _, _) = download(app, s, &md).await;
    assert_eq!(status, 404);
    vec![entry.to_string(), id]
}

#[tokio::test]
async fn attachments_on_the_file_system() {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("wl-fs@example.test").await;
    let files = |root: &std::path::Path| -> usize {
        fn walk(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .map(|d| {
                    d.flatten()
                        .map(|e| {
                            if e.path().is_dir() {
                                walk(&e.path())
                            } else {
                                1
                            }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&root.join("t"))
    };
    let root = app.dir.path().join("artifacts");
    let ids = attachments_roundtrip(&app, &s).await;
    assert_eq!(
        files(&root),
        1,
        "only the accepted 10 MB file remains on disk"
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/worklogs/{}", ids[0]),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(files(&root), 0, "deleting the entry deleted its files");
    let staff = app.staff().await;
    let r = app
        .call(Method::GET, "/api/readyz", Some(&staff.token), None)
        .await;
    assert!(
        r.body["checks"].to_string().contains("storage (fs)"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn attachments_on_s3() {
    let s3 = S3Server::start("afterresume-test").await;
    let env: Vec<(String, String)> = s3.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app(&extra).await;
    let s = app.new_owner("wl-s3@example.test").await;
    let ids = attachments_roundtrip(&app, &s).await;
    let keys = s3.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("t/") && keys[0].ends_with(&ids[1]),
        "tenant-prefixed key: {keys:?}"
    );
    app.call(
        Method::DELETE,
        &format!("/api/worklogs/{}", ids[0]),
        Some(&s.token),
        None,
    )
    .await;
    assert!(s3.keys().await.is_empty());
    let staff = app.staff().await;
    let r = app
        .call(Method::GET, "/api/readyz", Some(&staff.token), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["checks"].to_string().contains("storage (s3)"));
}

#[tokio::test]
async fn quotas_answer_429_and_413() {
    let app = spawn_app(&[
        ("WORKLOG_ENTRIES_PER_HOUR", "3"),
        ("TENANT_STORAGE_QUOTA_BYTES", "100000"),
    ])
    .await;
    let s = app.new_owner("wl-quota@example.test").await;
    let mut last = Value::Null;
    for i in 0..3 {
        last = create(
            &app,
            &s,
            json!({"content": format!("Entry number {i} within quota")}),
        )
        .await;
    }
    let r = app
        .post(
            "/api/worklogs",
            Some(&s.token),
            json!({"content": "one too many"}),
        )
        .await;
    r.assert_error(429, "quota_exceeded");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("3 entries per hour"));
    // The quota frees up an hour after the oldest of the three, created moments ago.
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((3500..=3601).contains(&wait), "retry-after {wait}");
    let entry = last["id"].as_str().unwrap();
    let r = upload(&app, &s, entry, "a.png", png(60_000)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = upload(&app, &s, entry, "b.png", png(60_000)).await;
    r.assert_error(413, "payload_too_large");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("storage"));
    let r = app
        .get(&format!("/api/worklogs/{entry}/attachments"), &s.token)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn other_tenants_and_read_only_members() {
    let app = spawn_app(&[]).await;
    let a = app.new_owner("wl-a@example.test").await;
    let b = app.new_owner("wl-b@example.test").await;
    let reader = app
        .add_member(&a, "wl-reader@example.test", "read_only")
        .await;
    let member = app.add_member(&a, "wl-member@example.test", "member").await;
    let e = create(
        &app,
        &a,
        json!({"content": "Owner's private entry with evidence"}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    let att = upload(&app, &a, id, "n.txt", b"evidence text".to_vec()).await;
    let att = att.body["id"].as_str().unwrap().to_string();
    // Another tenant: 404 for the entry, its attachments and a guessed download.
    for (m, path) in [
        (Method::GET, format!("/api/worklogs/{id}")),
        (Method::PATCH, format!("/api/worklogs/{id}")),
        (Method::DELETE, format!("/api/worklogs/{id}")),
        (Method::GET, format!("/api/worklogs/{id}/attachments")),
        (Method::GET, format!("/api/artifacts/{att}/download")),
        (Method::DELETE, format!("/api/artifacts/{att}")),
    ] {
        let r = app
            .call(
                m.clone(),
                &path,
                Some(&b.token),
                Some(json!({"version": 2})),
            )
            .await;
        assert_eq!(r.status, 404, "{m} {path}: {}", r.body);
    }
    let r = upload(&app, &b, id, "x.txt", b"hello there".to_vec()).await;
    assert_eq!(r.status, 404);
    assert_eq!(app.get("/api/worklogs", &b.token).await.body["total"], 0);
    // read_only: reads, but every write is 403.
    assert_eq!(
        app.get(&format!("/api/worklogs/{id}"), &reader.token)
            .await
            .status,
        200
    );
    let (status, _, bytes) = download(&app, &reader, &att).await;
    assert_eq!(
        (status, bytes.as_slice()),
        (200, b"evidence text".as_slice())
    );
    for (m, path, body) in [
        (
            Method::POST,
            "/api/worklogs".to_string(),
            json!({"content": "reader write"}),
        ),
        (
            Method::PATCH,
            format!("/api/worklogs/{id}"),
            json!({"version": 2}),
        ),
        (Method::DELETE, format!("/api/worklogs/{id}"), json!({})),
        (Method::DELETE, format!("/api/artifacts/{att}"), json!({})),
        (
            Method::POST,
            "/api/worklogs/import?format=json".to_string(),
            json!([]),
        ),
    ] {
        let r = app
            .call(m.clone(), &path, Some(&reader.token), Some(body))
            .await;
        assert_eq!(r.status, 403, "{m} {path}: {}", r.body);
    }
    let r = upload(&app, &reader, id, "x.txt", b"hello there".to_vec()).await;
    assert_eq!(r.status, 403);
    // A member edits only their own entries.
    let r = patch(
        &app,
        &member,
        id,
        json!({"version": 2, "content": "member edit attempt"}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let own = create(&app, &member, json!({"content": "Member's own entry here"})).await;
    let r = patch(
        &app,
        &member,
        own["id"].as_str().unwrap(),
        json!({"version": 1, "project": "Mine"}),
    )
    .await;
    assert_eq!(r.status, 200);
    // The owner edits anyone's.
    let r = patch(
        &app,
        &a,
        own["id"].as_str().unwrap(),
        json!({"version": 2, "project": "Owner's"}),
    )
    .await;
    assert_eq!(r.status, 200);
}

async fn export(app: &App, s: &Session, format: &str) -> String {
    let r = app
        .http
        .get(format!("{}/api/worklogs/export?format={format}", app.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Named for what it is and the day: worklog-YYYY-MM-DD.<ext>.
    let cd = r.headers()["content-disposition"].to_str().unwrap();
    let name = cd
        .split("filename=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let day = name.strip_prefix("worklog-").unwrap_or_default();
    assert!(
        day.len() > 11 && chrono::NaiveDate::parse_from_str(&day[..10], "%Y-%m-%d").is_ok(),
        "{name}"
    );
    r.text().await.unwrap()
}

async fn import(app: &App, s: &Session, format: &str, body: String, dry_run: bool) -> Value {
    let r = app
        .http
        .post(format!(
            "{}/api/worklogs/import?format={format}&dry_run={dry_run}",
            app.base
        ))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let r = App::read(r).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The comparable content of an export: every entry's fields, order-independent.
fn canonical(json_export: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json_export).unwrap();
    let mut rows: Vec<Value> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!([
                e["date"],
                e["title"],
                e["content"],
                e["tags"],
                e["outcome"],
                e["project"]
            ])
        })
        .collect();
    rows.sort_by_key(|r| r.to_string());
    rows
}

#[tokio::test]
async fn import_export_round_trips_1000_entries_in_every_format() {
    let app = spawn_app(&[]).await;
    let src = app.new_owner("wl-export@example.test").await;
    // 1,000 entries with awkward content, via a JSON import.
    let entries: Vec<Value> = (0..1000)
        .map(|i| {
            json!({
                "date": format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                "title": format!("Item {i}: \"quotes\", commas; and #hash"),
                "content": format!("Line one of {i}\n- a bullet\n## not a heading\n  indented, with ünïcödé ✓\nOutcome: not metadata"),
                "tags": if i % 3 == 0 { json!(["alpha", format!("t{}", i % 7)]) } else { json!([]) },
                "outcome": if i % 2 == 0 { json!(format!("Saved {i} hours")) } else { Value::Null },
                "project": if i % 5 == 0 { json!("Proj, \"X\"") } else { Value::Null },
            })
        })
        .collect();
    let r = import(
        &app,
        &src,
        "json",
        serde_json::to_string(&entries).unwrap(),
        false,
    )
    .await;
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["created"].as_u64(),
            r["invalid"].as_u64()
        ),
        (Some(1000), Some(1000), Some(0)),
        "{r}"
    );
    // Re-importing the same file creates nothing.
    let r = import(
        &app,
        &src,
        "json",
        serde_json::to_string(&entries).unwrap(),
        false,
    )
    .await;
    assert_eq!(
        (r["created"].as_u64(), r["duplicates"].as_u64()),
        (Some(0), Some(1000))
    );
    let reference = canonical(&export(&app, &src, "json").await);
    assert_eq!(reference.len(), 1000);
    for format in ["json", "csv", "markdown"] {
        let file = export(&app, &src, format).await;
        let dst = app
            .new_owner(&format!("wl-import-{format}@example.test"))
            .await;
        let dry = import(&app, &dst, format, file.clone(), true).await;
        assert_eq!(
            (dry["valid"].as_u64(), dry["created"].as_u64()),
            (Some(1000), Some(0)),
            "{format}: {}",
            dry["errors"]
        );
        assert_eq!(
            app.get("/api/worklogs", &dst.token).await.body["total"],
            0,
            "dry run stores nothing"
        );
        let done = import(&app, &dst, format, file, false).await;
        assert_eq!(done["created"], 1000, "{format}: {}", done["errors"]);
        assert_eq!(
            canonical(&export(&app, &dst, "json").await),
            reference,
            "{format} round trip"
        );
    }
}

#[tokio::test]
async fn import_reports_per_row_errors() {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("wl-import-errors@example.test").await;
    let csv = "date,title,content,tags\n2026-11-01,One,First fine row,a;b\n2026-11-02,Two,,c\nnot-a-date,Three,Third row,\n2026-11-04,Four,Fourth fine row,\n";
    let r = import(&app, &s, "csv", csv.to_string(), true).await;
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["valid"].as_u64(),
            r["invalid"].as_u64()
        ),
        (Some(4), Some(2), Some(2)),
        "{r}"
    );
    let rows: Vec<u64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [2, 3], "{r}");
    assert_eq!(r["preview"][0]["tags"], json!(["a", "b"]));
    let r = app
        .http
        .post(format!("{}/api/worklogs/import?format=json", app.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    // The file is the content being imported, not the request's JSON: a rule it breaks.
    assert_eq!(r.status(), 422);
    let r = app
        .http
        .post(format!("{}/api/worklogs/import?format=xml", app.base))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// The dashboard's first-run checklist follows what the user has actually done, and
/// only what they have done (a teammate's entries don't tick it).
#[tokio::test]
async fn onboarding_ticks_each_first_step_as_it_is_done() {
    let app = spawn_app(&[]).await;
    let owner = app.new_owner("first@example.test").await;
    let steps = |s: Session| {
        let app = &app;
        async move {
            let r = app.get("/api/me/onboarding", &s.token).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }
    };
    assert_eq!(
        steps(owner.clone()).await,
        json!({"first_entry": false, "outcome": false, "evidence": false, "invited": false, "first_report": false})
    );

    let plain = app
        .new_entry(&owner, "Set up the build server for the team")
        .await;
    let b = steps(owner.clone()).await;
    assert_eq!(
        (b["first_entry"].as_bool(), b["outcome"].as_bool()),
        (Some(true), Some(false))
    );
    create(
        &app,
        &owner,
        json!({"content": "Migrated the billing jobs to the new queue", "outcome": "Invoices go out on time"}),
    )
    .await;
    let r = upload(
        &app,
        &owner,
        &plain,
        "notes.txt",
        b"benchmark notes\n".to_vec(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let member = app
        .add_member(&owner, "second@example.test", "member")
        .await;
    assert_eq!(
        steps(owner.clone()).await,
        json!({"first_entry": true, "outcome": true, "evidence": true, "invited": true, "first_report": false})
    );

    // A member starts from nothing, whatever the workspace holds, and can't invite.
    assert_eq!(
        steps(member).await,
        json!({"first_entry": false, "outcome": false, "evidence": false, "invited": null, "first_report": false})
    );
}
