//! The AI workflows end to end with the deterministic `local` provider: entry analysis,
//! skills with evidence (precision/recall against a hand-labelled fixture), cited
//! reports with exports, the resume (validated against the official JSON Resume schema)
//! with exports and kept edits, and share links.

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::time::Duration;

use common::{spawn_app, App, Session};
use reqwest::Method;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = common::package_dir()
        .join("../platform/data/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Imports the 30-entry fixture; returns (fixture id → stored id) by matching titles.
async fn import_fixture(app: &App, s: &Session) -> Vec<Value> {
    let entries = fixture("worklog_30.json");
    let r = app
        .http
        .post(format!("{}/api/worklogs/import?format=json", app.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(entries.to_string())
        .send()
        .await
        .unwrap();
    let r = App::read(r).await;
    assert_eq!(
        (r.status.as_u16(), r.body["created"].as_u64()),
        (200, Some(30)),
        "{}",
        r.body
    );
    let r = app.get("/api/worklogs?limit=100", &s.token).await;
    r.body["items"].as_array().unwrap().clone()
}

async fn finished(app: &App, s: &Session, job_url: &str) -> Value {
    common::job_finished(app, &s.token, job_url, Duration::from_secs(120)).await
}

async fn start(app: &App, s: &Session, path: &str, body: Value) -> Value {
    common::start_job(app, &s.token, path, body).await
}

async fn get_bytes(app: &App, token: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

/// The file name a download is offered under (`Content-Disposition`'s ASCII `filename`).
async fn download_name(app: &App, token: &str, path: &str) -> String {
    let r = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    cd.split("filename=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no filename in {cd:?}"))
        .to_string()
}

fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a valid PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).unwrap_or_default()
}

/// A workspace with the 30-entry fixture imported and its skills extracted (the owner's
/// e-mail is `ai-owner@…`, so its resume is named `ai-owner`).
struct Extracted {
    app: App,
    s: Session,
    entries: Vec<Value>,
    /// The extracted skills, most evidence first.
    skills: Vec<Value>,
}

async fn extracted() -> Extracted {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("ai-owner@example.test").await;
    let entries = import_fixture(&app, &s).await;
    let job = start(&app, &s, "/api/skills/extract", json!({})).await;
    let done = finished(&app, &s, job["url"].as_str().unwrap()).await;
    assert!(
        done["result"]["created"].as_u64().unwrap() > 10,
        "{}",
        done["result"]
    );
    let r = app.get("/api/skills?sort=evidence", &s.token).await;
    let skills = r.body["items"].as_array().unwrap().clone();
    Extracted {
        app,
        s,
        entries,
        skills,
    }
}

/// A workspace with the fixture imported and its resume refreshed once.
async fn with_resume() -> (App, Session) {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("ai-owner@example.test").await;
    import_fixture(&app, &s).await;
    let job = start(&app, &s, "/api/resume/refresh", json!({})).await;
    finished(&app, &s, job["url"].as_str().unwrap()).await;
    (app, s)
}

#[tokio::test]
async fn analysis_lands_on_the_entry_version_with_its_llm_call_on_the_timeline() {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("ai-owner@example.test").await;
    let entries = import_fixture(&app, &s).await;

    // worklog.analyze stores its result on the entry version.
    let entry = &entries[0];
    let id = entry["id"].as_str().unwrap();
    let job = start(&app, &s, &format!("/api/worklogs/{id}/analyze"), json!({})).await;
    let done = finished(&app, &s, job["url"].as_str().unwrap()).await;
    let analysis = &app.get(&format!("/api/worklogs/{id}"), &s.token).await.body["analysis"];
    assert!(
        !analysis["summary"].as_str().unwrap().is_empty(),
        "{analysis}"
    );
    assert_eq!(analysis["version"], entry["version"]);
    assert!(analysis["quality_hints"].is_array());
    // Its LLM call is on the timeline.
    let r = app
        .get(
            &format!(
                "/api/events?job_id={}&type=llm.call",
                done["id"].as_str().unwrap()
            ),
            &s.token,
        )
        .await;
    assert_eq!(
        r.body["items"][0]["data"]["provider"], "local",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn extracted_skills_are_ranked_by_evidence_and_match_the_labels() {
    let Extracted { skills, .. } = extracted().await;
    let counts: Vec<u64> = skills
        .iter()
        .map(|s| s["evidence_count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "sorted by evidence"
    );
    // Precision and recall against the hand-labelled skills of the fixture.
    let labelled: HashSet<String> = fixture("worklog_30_skills.json")["skills"]
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
    let (precision, recall) = (hits / found.len() as f64, hits / labelled.len() as f64);
    println!("skills (local provider): {} found, {} labelled, precision {precision:.3}, recall {recall:.3}", found.len(), labelled.len());
    assert!(
        precision >= 0.7 && recall >= 0.6,
        "precision {precision:.3}, recall {recall:.3}"
    );
}

#[tokio::test]
async fn every_evidence_quote_is_text_of_the_entry_it_cites() {
    let Extracted {
        app,
        s,
        entries,
        skills,
    } = extracted().await;
    // Every evidence quote is text of the entry it cites.
    let by_id: std::collections::HashMap<&str, &Value> = entries
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e))
        .collect();
    for sk in skills.iter().take(8) {
        let r = app
            .get(
                &format!("/api/skills/{}", sk["id"].as_str().unwrap()),
                &s.token,
            )
            .await;
        let evidence = r.body["evidence"].as_array().unwrap();
        assert!(!evidence.is_empty());
        for e in evidence {
            let entry = by_id[e["entry_id"].as_str().unwrap()];
            let text = format!(
                "{} {} {}",
                entry["title"], entry["content"], entry["outcome"]
            )
            .to_lowercase();
            let quote = e["quote"].as_str().unwrap().to_lowercase();
            assert!(
                text.contains(quote.split_whitespace().next().unwrap()),
                "{quote}"
            );
            assert!(e["entry_title"].is_string());
        }
    }
}

#[tokio::test]
async fn reviewed_skills_survive_a_second_extraction() {
    let Extracted { app, s, skills, .. } = extracted().await;
    // Confirm, reject and rename survive a second extraction.
    let (a, b, c) = (&skills[0], &skills[1], &skills[2]);
    let patch = |id: &Value, body: Value| {
        let path = format!("/api/skills/{}", id.as_str().unwrap());
        let app = &app;
        let t = s.token.clone();
        async move { app.call(Method::PATCH, &path, Some(&t), Some(body)).await }
    };
    assert_eq!(
        patch(&a["id"], json!({"status": "confirmed"})).await.status,
        200
    );
    assert_eq!(
        patch(&b["id"], json!({"status": "rejected"})).await.status,
        200
    );
    let r = patch(
        &c["id"],
        json!({"name": "My Renamed Skill", "status": "confirmed"}),
    )
    .await;
    assert_eq!(r.body["name"], "My Renamed Skill");
    let job = start(&app, &s, "/api/skills/extract", json!({})).await;
    finished(&app, &s, job["url"].as_str().unwrap()).await;
    let r = app.get("/api/skills", &s.token).await;
    let again = r.body["items"].as_array().unwrap();
    let find = |id: &Value| again.iter().find(|x| x["id"] == *id);
    assert_eq!(find(&a["id"]).unwrap()["status"], "confirmed");
    assert!(find(&b["id"]).is_none(), "rejected skills stay hidden");
    assert_eq!(find(&c["id"]).unwrap()["name"], "My Renamed Skill");
    assert_eq!(
        again.len(),
        skills.len() - 1,
        "no duplicates from the second run"
    );
    let r = app.get("/api/skills?status=rejected", &s.token).await;
    assert_eq!(r.body["items"][0]["id"], b["id"]);
}

#[tokio::test]
async fn merging_skills_moves_their_evidence() {
    let Extracted { app, s, skills, .. } = extracted().await;
    let again = &skills;
    // Merge two skills: evidence moves, the other disappears.
    let (x, y) = (&again[3], &again[4]);
    let total = x["evidence_count"].as_u64().unwrap() + y["evidence_count"].as_u64().unwrap();
    let r = app
        .post(
            "/api/skills/merge",
            Some(&s.token),
            json!({"into": x["id"], "ids": [y["id"]]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["evidence_count"].as_u64().unwrap() <= total);
    assert!(r.body["evidence_count"].as_u64().unwrap() >= x["evidence_count"].as_u64().unwrap());
    assert_eq!(
        app.get(
            &format!("/api/skills/{}", y["id"].as_str().unwrap()),
            &s.token
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn the_resume_is_json_resume_with_confirmed_skills_as_keywords() {
    let Extracted { app, s, skills, .. } = extracted().await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/skills/{}", skills[2]["id"].as_str().unwrap()),
            Some(&s.token),
            Some(json!({"name": "My Renamed Skill", "status": "confirmed"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The resume: built from the profile, entries and confirmed skills.
    let job = start(&app, &s, "/api/resume/refresh", json!({})).await;
    finished(&app, &s, job["url"].as_str().unwrap()).await;
    let r = app.get("/api/resume", &s.token).await;
    let resume = r.body["resume"].clone();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::package_dir().join("data/jsonresume-schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&resume)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "JSON Resume schema: {errors:?}\n{resume}"
    );
    assert_eq!(resume["basics"]["name"], "ai-owner");
    assert!(!resume["work"][0]["highlights"]
        .as_array()
        .unwrap()
        .is_empty());
    let keywords: Vec<String> = resume["skills"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["keywords"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
        })
        .collect();
    assert!(
        keywords.contains(&"My Renamed Skill".to_string()),
        "confirmed skills are keywords: {keywords:?}"
    );
}

#[tokio::test]
async fn manual_resume_edits_survive_a_refresh() {
    let (app, s) = with_resume().await;
    // A manual edit survives a refresh.
    let r = app
        .call(
            Method::PATCH,
            "/api/resume",
            Some(&s.token),
            Some(json!({"basics": {"label": "Staff Engineer"}})),
        )
        .await;
    assert_eq!(
        r.body["resume"]["basics"]["label"], "Staff Engineer",
        "{}",
        r.body
    );
    let job = start(&app, &s, "/api/resume/refresh", json!({})).await;
    finished(&app, &s, job["url"].as_str().unwrap()).await;
    let r = app.get("/api/resume", &s.token).await;
    assert_eq!(r.body["resume"]["basics"]["label"], "Staff Engineer");
    let r = app
        .call(
            Method::PATCH,
            "/api/resume",
            Some(&s.token),
            Some(json!({"hobbies": []})),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "validation_failed"));
}

#[tokio::test]
async fn the_resume_exports_as_pdf_docx_markdown_html_and_json() {
    let (app, s) = with_resume().await;
    // Exports: the PDF's text has the name; the DOCX is an archive with it.
    let (status, ct, pdf) = get_bytes(&app, Some(&s.token), "/api/resume/export?format=pdf").await;
    assert_eq!((status, ct.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf_text(&pdf).contains("ai-owner"), "name in the PDF text");
    // Named for whose resume it is and the day: resume-ai-owner-YYYY-MM-DD.pdf.
    let name = download_name(&app, &s.token, "/api/resume/export?format=pdf").await;
    let day = name
        .strip_prefix("resume-ai-owner-")
        .and_then(|n| n.strip_suffix(".pdf"))
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok(),
        "{name}"
    );
    let (status, _, docx) = get_bytes(&app, Some(&s.token), "/api/resume/export?format=docx").await;
    assert_eq!(status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a zip archive");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("ai-owner"));
    for (fmt, needle) in [
        ("md", "ai-owner"),
        ("html", "<html"),
        ("json", "\"basics\""),
    ] {
        let (status, _, body) = get_bytes(
            &app,
            Some(&s.token),
            &format!("/api/resume/export?format={fmt}"),
        )
        .await;
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains(needle), "{fmt}");
    }
}

/// A workspace with the fixture imported, an owner, a member, another workspace's owner,
/// and the entries of the period the reports cover.
struct Reporting {
    app: App,
    s: Session,
    member: Session,
    other: Session,
    in_period: HashSet<String>,
}

async fn reporting() -> Reporting {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("reports-owner@example.test").await;
    let member = app
        .add_member(&s, "reports-member@example.test", "member")
        .await;
    let other = app.new_owner("reports-other@example.test").await;
    let entries = import_fixture(&app, &s).await;
    let in_period: HashSet<String> = entries
        .iter()
        .filter(|e| {
            e["date"].as_str().unwrap() >= "2025-01-13"
                && e["date"].as_str().unwrap() <= "2025-01-24"
        })
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(in_period.len() >= 5);
    Reporting {
        app,
        s,
        member,
        other,
        in_period,
    }
}

/// Writes a ready report of `kind` over the fixture's period; returns its id.
async fn ready_report(app: &App, s: &Session, kind: &str) -> String {
    let r = start(
        app,
        s,
        "/api/reports",
        json!({"kind": kind, "from": "2025-01-13", "to": "2025-01-24", "audience": "my manager"}),
    )
    .await;
    finished(app, s, r["job"]["url"].as_str().unwrap()).await;
    r["report"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn reports_of_every_kind_cite_entries_of_their_period() {
    let Reporting {
        app, s, in_period, ..
    } = reporting().await;
    for kind in ["status", "standup", "weekly", "custom"] {
        let r = start(&app, &s, "/api/reports", json!({"kind": kind, "from": "2025-01-13", "to": "2025-01-24", "audience": "my manager"})).await;
        assert_eq!(r["report"]["status"], "pending");
        finished(&app, &s, r["job"]["url"].as_str().unwrap()).await;
        let id = r["report"]["id"].as_str().unwrap();
        let rep = app.get(&format!("/api/reports/{id}"), &s.token).await.body;
        assert_eq!(rep["status"], "ready", "{rep}");
        let md = rep["markdown"].as_str().unwrap();
        assert!(md.contains("[1]"), "{kind}: bullets cite entries:\n{md}");
        let cited = rep["citations"].as_array().unwrap();
        assert!(!cited.is_empty());
        for (i, c) in cited.iter().enumerate() {
            assert!(
                in_period.contains(c["entry_id"].as_str().unwrap()),
                "{kind}: every citation is in the period"
            );
            assert!(c["title"].is_string() && c["exists"] == true);
            // Citations come in the text's numbering: the n-th is `[n]`, and the Sources
            // list names its entry on line n.
            let n = i + 1;
            assert_eq!(c["number"], n, "{kind}: {c}");
            let line = format!(
                "{n}. {} ({})",
                c["title"].as_str().unwrap(),
                c["date"].as_str().unwrap()
            );
            assert!(
                md.contains(&format!("[{n}]")) && md.contains(&line),
                "{kind}: {line} in\n{md}"
            );
        }
    }
}

#[tokio::test]
async fn reports_are_paged_and_export_as_pdf_html_and_markdown() {
    let Reporting { app, s, .. } = reporting().await;
    // Three reports, so a page of two has a next one.
    for kind in ["status", "standup", "weekly"] {
        ready_report(&app, &s, kind).await;
    }
    let r = app.get("/api/reports?limit=2", &s.token).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert!(r.body["next_cursor"].is_string());
    let report_id = r.body["items"][0]["id"].as_str().unwrap().to_string();
    // Exports, named for the report's title and its last day.
    let period_to = r.body["items"][0]["to"].as_str().unwrap().to_string();
    let title = r.body["items"][0]["title"].as_str().unwrap().to_lowercase();
    let first_word: String = title.chars().take_while(|c| c.is_alphanumeric()).collect();
    let name = download_name(
        &app,
        &s.token,
        &format!("/api/reports/{report_id}/export?format=pdf"),
    )
    .await;
    assert!(
        name.starts_with(&format!("report-{first_word}"))
            && name.ends_with(&format!("-{period_to}.pdf")),
        "{name} for {title:?} to {period_to}"
    );
    let (status, ct, pdf) = get_bytes(
        &app,
        Some(&s.token),
        &format!("/api/reports/{report_id}/export?format=pdf"),
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/pdf"));
    assert!(
        pdf_text(&pdf).contains("Sources"),
        "the PDF lists its sources"
    );
    let (_, ct, html) = get_bytes(
        &app,
        Some(&s.token),
        &format!("/api/reports/{report_id}/export?format=html"),
    )
    .await;
    assert!(ct.starts_with("text/html") && String::from_utf8_lossy(&html).contains("<h2"));
    let (_, _, md) = get_bytes(
        &app,
        Some(&s.token),
        &format!("/api/reports/{report_id}/export?format=md"),
    )
    .await;
    assert!(String::from_utf8_lossy(&md).contains("Sources"));
}

#[tokio::test]
async fn bad_report_requests_are_refused_and_other_workspaces_get_404() {
    let Reporting { app, s, other, .. } = reporting().await;
    let report_id = ready_report(&app, &s, "status").await;
    // Bad input.
    for body in [
        json!({"kind": "status", "from": "2025-02-01", "to": "2025-01-01"}),
        json!({"kind": "status", "from": "2024-01-01", "to": "2025-06-01"}),
        json!({"kind": "poem", "from": "2025-01-01", "to": "2025-01-02"}),
        json!({"kind": "status", "from": "yesterday", "to": "2025-01-02"}),
    ] {
        let r = app.post("/api/reports", Some(&s.token), body.clone()).await;
        r.assert_refused(&body.to_string());
    }
    // Other tenants: 404.
    assert_eq!(
        app.get(&format!("/api/reports/{report_id}"), &other.token)
            .await
            .status,
        404
    );
    assert_eq!(
        app.post(
            &format!("/api/reports/{report_id}/share"),
            Some(&other.token),
            json!({})
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn share_links_are_made_by_authors_and_admins_and_count_their_views() {
    let Reporting {
        app,
        s,
        member,
        other,
        ..
    } = reporting().await;
    let report_id = ready_report(&app, &s, "status").await;
    // Share links: only the author, admins and owners share.
    let r = app
        .post(
            &format!("/api/reports/{report_id}/share"),
            Some(&member.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post(
            &format!("/api/reports/{report_id}/share"),
            Some(&s.token),
            json!({"expires_in_hours": 24}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    let link_id = r.body["id"].as_str().unwrap().to_string();
    let url = r.body["url"].as_str().unwrap().to_string();
    let (status, ct, page) = get_bytes(&app, None, &url).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    let page = String::from_utf8_lossy(&page).to_string();
    assert!(page.contains("/assets/documents.css") && !page.contains("<script"));
    let (status, _, css) = get_bytes(&app, None, "/assets/documents.css").await;
    assert!(status == 200 && !css.is_empty());
    let r = app
        .call(Method::GET, &format!("{url}?format=json"), None, None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["kind"].as_str()),
        (200, Some("report"))
    );
    let r = app.get("/api/share-links", &s.token).await;
    let link = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == link_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (link["views"].as_u64(), link["status"].as_str()),
        (Some(2), Some("active"))
    );
    assert_eq!(
        app.get("/api/share-links", &other.token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/share-links/{link_id}"),
            Some(&other.token),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    // Guessed and revoked tokens: 404.
    assert_eq!(
        app.call(
            Method::GET,
            "/api/share/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            None,
            None
        )
        .await
        .status,
        404
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/share-links/{link_id}"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(app.call(Method::GET, &url, None, None).await.status, 404);
    assert_ne!(token, "");
}

#[tokio::test]
async fn a_link_with_an_exact_expiry_opens_until_then() {
    // What happens at and after the expiry is checked against an injected clock in
    // `platform/tests/shares_store.rs`, so no test waits for the real one.
    let Reporting { app, s, .. } = reporting().await;
    let report_id = ready_report(&app, &s, "status").await;
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
    let r = app
        .post(
            &format!("/api/reports/{report_id}/share"),
            Some(&s.token),
            json!({"expires_at": soon}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["expires_at"].as_str().map(|t| &t[..16]),
        Some(&soon[..16])
    );
    let expiring = r.body["url"].as_str().unwrap().to_string();
    assert_eq!(
        app.call(Method::GET, &expiring, None, None).await.status,
        200
    );
}

#[tokio::test]
async fn disable_sharing_refuses_new_links_and_hides_existing_ones() {
    let Reporting { mut app, s, .. } = reporting().await;
    let report_id = ready_report(&app, &s, "status").await;
    // A resume link, then DISABLE_SHARING: creation 403, existing links 404.
    let job = start(&app, &s, "/api/resume/refresh", json!({})).await;
    finished(&app, &s, job["url"].as_str().unwrap()).await;
    let r = app
        .post("/api/resume/share", Some(&s.token), json!({}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let resume_url = r.body["url"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::GET,
            &format!("{resume_url}?format=json"),
            None,
            None,
        )
        .await;
    assert_eq!(r.body["resume"]["basics"]["name"], "reports-owner");
    app.kill9();
    app.env.push(("DISABLE_SHARING".into(), "true".into()));
    app.restart().await;
    let s = app
        .session_from(&app.login(&s.email, common::PASSWORD).await, &s.email)
        .await;
    assert_eq!(
        app.call(Method::GET, &resume_url, None, None).await.status,
        404
    );
    let r = app
        .post(
            &format!("/api/reports/{report_id}/share"),
            Some(&s.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403);
}

/// The draft of report `id` as an edit body: every section and bullet as they read now.
fn edit_body(rep: &Value) -> Value {
    let draft = &rep["draft"];
    json!({
        "version": rep["version"],
        "title": draft["title"],
        "sections": draft["sections"].as_array().unwrap().iter().map(|s| json!({
            "heading": s["heading"],
            "bullets": s["bullets"].as_array().unwrap().iter().map(|b| json!({
                "text": b["text"], "citations": b["citations"],
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

async fn put_draft(app: &App, token: &str, id: &str, body: &Value) -> common::Resp {
    app.call(
        Method::PUT,
        &format!("/api/reports/{id}/draft"),
        Some(token),
        Some(body.clone()),
    )
    .await
}

#[tokio::test]
async fn a_report_is_corrected_in_place_and_every_rendering_shows_the_correction() {
    let Reporting {
        app,
        s,
        member,
        other,
        in_period,
    } = reporting().await;
    let id = ready_report(&app, &s, "status").await;
    let rep = app.get(&format!("/api/reports/{id}"), &s.token).await.body;
    assert_eq!(rep["version"], 1, "{rep}");
    let draft = &rep["draft"];
    let headings: Vec<&str> = draft["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["heading"].as_str().unwrap())
        .collect();
    assert_eq!(headings, ["Highlights", "Progress", "Risks", "Next"]);
    assert_eq!(draft["user_bullets"], 0);
    assert!(draft["sections"][0]["bullets"][0]["by"] == "model");

    // Rewrite the first bullet (with emphasis), drop its sources for another entry of the
    // period, and add a bullet of our own.
    let mut body = edit_body(&rep);
    let spare = in_period
        .iter()
        .find(|e| **e != body["sections"][0]["bullets"][0]["citations"][0])
        .unwrap()
        .clone();
    body["sections"][0]["bullets"][0] = json!({
        "text": "Cut the **export** time from 40 s to 4 s",
        "citations": [spare],
    });
    body["sections"][3]["bullets"]
        .as_array_mut()
        .unwrap()
        .push(json!({"text": "Write the migration runbook", "citations": []}));
    let r = put_draft(&app, &s.token, &id, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["draft"]["user_bullets"], 2);
    assert_eq!(r.body["draft"]["sections"][0]["bullets"][0]["by"], "user");
    assert_eq!(r.body["draft"]["sections"][1]["bullets"][0]["by"], "model");
    assert!(r.body["edited_at"].is_string());
    assert_eq!(r.body["edited_by"], s.user_id.as_str());
    let md = r.body["markdown"].as_str().unwrap();
    assert!(
        md.contains("- Cut the **export** time from 40 s to 4 s [1]"),
        "{md}"
    );
    assert!(md.contains("- Write the migration runbook"), "{md}");

    // Every rendering shows it: the download, the PDF and a share link.
    let (_, _, bytes) = get_bytes(
        &app,
        Some(&s.token),
        &format!("/api/reports/{id}/export?format=md"),
    )
    .await;
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("Cut the **export** time from 40 s to 4 s"),
        "{text}"
    );
    assert!(text.contains(" · edited "), "{text}");
    let (_, _, pdf) = get_bytes(
        &app,
        Some(&s.token),
        &format!("/api/reports/{id}/export?format=pdf"),
    )
    .await;
    assert!(pdf_text(&pdf).contains("Write the migration runbook"));
    let link = app
        .post(
            &format!("/api/reports/{id}/share"),
            Some(&s.token),
            json!({}),
        )
        .await;
    assert_eq!(link.status, 201, "{}", link.body);
    let url = link.body["url"].as_str().unwrap().to_string();
    let (status, _, page) = get_bytes(&app, None, &url).await;
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    // The shared page names the author, the period and the last edit.
    assert!(page.contains("Status report · 13–24 Jan 2025 · "), "{page}");
    assert!(page.contains(" · edited "), "{page}");
    assert!(page.contains("Write the migration runbook"), "{page}");

    // A stale version is a conflict, and nothing changes.
    let r = put_draft(&app, &s.token, &id, &body).await;
    r.assert_error(409, "conflict");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("version 2"));

    // Bad edits are refused field by field: blank text, a source outside the period.
    let mut bad = edit_body(&app.get(&format!("/api/reports/{id}"), &s.token).await.body);
    bad["sections"][0]["bullets"][0]["text"] = json!("  ");
    bad["sections"][1]["bullets"][0]["citations"] = json!(["00000000-0000-4000-8000-000000000000"]);
    let r = put_draft(&app, &s.token, &id, &bad).await;
    r.assert_error(422, "validation_failed");
    let fields: Vec<&str> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "sections[0].bullets[0].text",
            "sections[1].bullets[0].citations[0]"
        ]
    );

    // Versions are listed; the first can be compared and restored as a new version.
    let v = app
        .get(&format!("/api/reports/{id}/versions"), &s.token)
        .await;
    let notes: Vec<&str> = v.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["Edited", "Generated"]);
    let first = app
        .get(&format!("/api/reports/{id}/versions/1"), &s.token)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.body["markdown"]
        .as_str()
        .unwrap()
        .contains("migration runbook"));
    let r = app
        .post(
            &format!("/api/reports/{id}/versions/1/restore"),
            Some(&s.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 3);
    assert!(!r.body["markdown"]
        .as_str()
        .unwrap()
        .contains("migration runbook"));
    assert_eq!(r.body["draft"]["user_bullets"], 0);
    let r = app
        .post(
            &format!("/api/reports/{id}/versions/9/restore"),
            Some(&s.token),
            json!({}),
        )
        .await;
    r.assert_error(404, "not_found");

    // A member may read but not correct another's report; another workspace sees nothing.
    let r = put_draft(
        &app,
        &member.token,
        &id,
        &edit_body(&app.get(&format!("/api/reports/{id}"), &s.token).await.body),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        app.get(&format!("/api/reports/{id}/versions"), &member.token)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/reports/{id}/versions"), &other.token)
            .await
            .status,
        404
    );
    let r = put_draft(&app, &other.token, &id, &body).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn regenerating_one_section_keeps_the_edits_in_the_others() {
    let Reporting { app, s, .. } = reporting().await;
    let id = ready_report(&app, &s, "status").await;
    let rep = app.get(&format!("/api/reports/{id}"), &s.token).await.body;
    let mut body = edit_body(&rep);
    body["sections"][0]["bullets"] = json!([{"text": "My own highlight", "citations": []}]);
    body["sections"][2]["bullets"] = json!([{"text": "A risk I made up", "citations": []}]);
    let r = put_draft(&app, &s.token, &id, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Regenerate "Risks" only.
    let r = start(
        &app,
        &s,
        &format!("/api/reports/{id}/regenerate"),
        json!({"section": 2}),
    )
    .await;
    let job = finished(&app, &s, r["job"]["url"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let rep = app.get(&format!("/api/reports/{id}"), &s.token).await.body;
    assert_eq!(rep["version"], 3, "{rep}");
    let sections = rep["draft"]["sections"].as_array().unwrap();
    assert_eq!(sections[0]["bullets"][0]["text"], "My own highlight");
    assert_eq!(sections[0]["bullets"][0]["by"], "user");
    assert!(sections[2]["bullets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["by"] == "model" && b["text"] != "A risk I made up"));
    let v = app
        .get(&format!("/api/reports/{id}/versions"), &s.token)
        .await
        .body;
    assert_eq!(v["items"][0]["note"], "Regenerated “Risks”");
    assert_eq!(v["items"][0]["by"], "model");

    // The whole report again: a new version by the model.
    let r = start(
        &app,
        &s,
        &format!("/api/reports/{id}/regenerate"),
        json!({}),
    )
    .await;
    finished(&app, &s, r["job"]["url"].as_str().unwrap()).await;
    let rep = app.get(&format!("/api/reports/{id}"), &s.token).await.body;
    assert_eq!(
        (
            rep["version"].as_u64(),
            rep["draft"]["user_bullets"].as_u64()
        ),
        (Some(4), Some(0))
    );

    // A section that does not exist is refused.
    let r = app
        .post(
            &format!("/api/reports/{id}/regenerate"),
            Some(&s.token),
            json!({"section": 9}),
        )
        .await;
    r.assert_error(422, "validation_failed");
}

#[tokio::test]
async fn every_resume_section_is_edited_hidden_and_reordered_and_the_pdf_shows_it() {
    let (app, s) = with_resume().await;
    let resume = app.get("/api/resume", &s.token).await.body["resume"].clone();
    let work = resume["work"].as_array().unwrap().clone();
    assert!(!work.is_empty(), "{resume}");
    let first_job = work[0]["name"].as_str().unwrap().to_string();
    // Two skills of one's own, then one of them hidden and the other first.
    let r = app
        .call(
            Method::PATCH,
            "/api/resume",
            Some(&s.token),
            Some(json!({"skills": [{"name": "Rust"}, {"name": "Go", "keywords": ["grpc"]}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (hidden_skill, kept_skill) = ("Rust".to_string(), "Go".to_string());
    let highlights: Vec<String> = (1..=5)
        .map(|i| format!("Edited highlight number {i}"))
        .collect();
    let edit = json!({
        "work": [{"name": first_job, "highlights": highlights, "summary": "Led the platform team."}],
        "projects": [
            {"name": "Billing exporter", "description": "Streams invoices to CSV.", "highlights": ["Exports 100k invoices in 2 s"]},
        ],
        "education": [],
        "skills": [{"name": kept_skill}, {"name": hidden_skill, "hidden": true}],
    });
    let r = app
        .call(Method::PATCH, "/api/resume", Some(&s.token), Some(edit))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let check = |doc: &Value| {
        assert_eq!(
            doc["work"][0]["highlights"][4], "Edited highlight number 5",
            "{doc}"
        );
        assert_eq!(doc["projects"][0]["name"], "Billing exporter");
        assert_eq!(doc["education"], json!([]));
        let names: Vec<&str> = doc["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names[0], kept_skill,
            "the edited order comes first: {names:?}"
        );
        assert!(!names.contains(&hidden_skill.as_str()), "{names:?}");
    };
    check(&r.body["resume"]);
    // Kept on a refresh.
    let job = start(&app, &s, "/api/resume/refresh", json!({})).await;
    finished(&app, &s, job["url"].as_str().unwrap()).await;
    check(&app.get("/api/resume", &s.token).await.body["resume"]);

    // The PDF shows every edited section; the compact template keeps three highlights.
    let (status, _, pdf) = get_bytes(&app, Some(&s.token), "/api/resume/export?format=pdf").await;
    assert_eq!(status, 200);
    let text = pdf_text(&pdf);
    for want in [
        "Edited highlight number 5",
        "Billing exporter",
        "Exports 100k invoices in 2 s",
    ] {
        assert!(text.contains(want), "{want} missing from the PDF:\n{text}");
    }
    assert!(!text.contains("Education"), "{text}");
    let (_, _, compact) = get_bytes(
        &app,
        Some(&s.token),
        "/api/resume/export?format=pdf&template=compact",
    )
    .await;
    let compact = pdf_text(&compact);
    assert!(compact.contains("Edited highlight number 3"), "{compact}");
    assert!(!compact.contains("Edited highlight number 4"), "{compact}");
    let (_, _, html) = get_bytes(
        &app,
        Some(&s.token),
        "/api/resume/export?format=html&template=compact",
    )
    .await;
    assert!(String::from_utf8(html).unwrap().contains("doc-compact"));
    // JSON is the whole resume whatever the template.
    let (_, _, json_bytes) = get_bytes(
        &app,
        Some(&s.token),
        "/api/resume/export?format=json&template=compact",
    )
    .await;
    let whole: Value = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(whole["work"][0]["highlights"].as_array().unwrap().len(), 5);

    // Giving a section back to the generator: `null` drops the edit.
    let r = app
        .call(
            Method::PATCH,
            "/api/resume",
            Some(&s.token),
            Some(json!({"education": null})),
        )
        .await;
    assert_eq!(r.body["resume"]["education"], resume["education"]);
}
