//! Rewards end to end: entries logged through the API are evaluated by the job system,
//! and the summary, badges, challenges and ledger reflect them; quiet mode; staff
//! grants, revokes (audited), metrics and versioned rules.

mod common;

use std::time::{Duration, Instant};

use common::{spawn_app, App, Session};
use reqwest::Method;
use serde_json::{json, Value};

/// Waits until every reward evaluation of the tenant has finished; returns the jobs.
async fn rewards_settled(app: &App, s: &Session, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app
            .get(
                "/api/jobs?kind=gamification.reward_evaluate&limit=200",
                &s.token,
            )
            .await;
        let jobs = r.body["items"].as_array().unwrap().clone();
        let done = jobs
            .iter()
            .filter(|j| j["status"] == "succeeded" || j["status"] == "failed")
            .count();
        if jobs.len() >= expected && done == jobs.len() {
            assert!(
                jobs.iter().all(|j| j["status"] == "succeeded"),
                "a reward job failed: {jobs:?}"
            );
            return jobs;
        }
        assert!(Instant::now() < deadline, "rewards never settled: {jobs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn upload(app: &App, s: &Session, entry: &str) {
    let part = reqwest::multipart::Part::bytes(b"measured latency before and after".to_vec())
        .file_name("evidence.txt");
    let r = app
        .http
        .post(format!("{}/api/worklogs/{entry}/attachments", app.base))
        .bearer_auth(&s.token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// A workspace whose owner logged three entries (one worth 41 XP, one too short, one a
/// near-duplicate) and attached evidence to the first, with every reward evaluation
/// finished.
struct Rewarded {
    app: App,
    s: Session,
    /// The first entry (now at version 2).
    entry: String,
    /// The four reward evaluations.
    jobs: Vec<Value>,
}

async fn rewarded() -> Rewarded {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("rewards@example.test").await;
    // 220 characters, 2 tags, an outcome: 10 base + 6 tags + 10 length + 15 outcome = 41.
    let content = format!(
        "Profiled the search endpoint and removed an N+1 query. {}",
        "Details in the linked notes. ".repeat(6)
    );
    assert!(content.chars().count() >= 200);
    let r = app
        .post(
            "/api/worklogs",
            Some(&s.token),
            json!({"content": content, "tags": ["perf", "search"], "outcome": "p95 latency down from 420 ms to 90 ms"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let entry = r.body["id"].as_str().unwrap().to_string();
    // Too short (< 20 characters): no XP.
    app.post(
        "/api/worklogs",
        Some(&s.token),
        json!({"content": "fixed typo"}),
    )
    .await;
    // A near-duplicate of the first: no XP.
    app.post(
        "/api/worklogs",
        Some(&s.token),
        json!({"content": content.to_uppercase()}),
    )
    .await;
    // Version 1's evaluation reads the entry as stored when it runs, so it must finish
    // before version 2 exists (otherwise it sees v2 and earns 46 at once).
    rewards_settled(&app, &s, 3).await;
    // Evidence: version 2 of the first entry is worth 5 more (one attachment).
    upload(&app, &s, &entry).await;
    let jobs = rewards_settled(&app, &s, 4).await;
    assert_eq!(jobs.len(), 4);
    Rewarded {
        app,
        s,
        entry,
        jobs,
    }
}

#[tokio::test]
async fn logging_earns_xp_a_streak_badges_and_challenge_progress() {
    let Rewarded { app, s, .. } = rewarded().await;
    let r = app.get("/api/gamification/summary", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sm = &r.body;
    assert_eq!(sm["total_xp"], 46, "{sm}");
    assert_eq!(
        (sm["level"].as_u64(), sm["xp_into_level"].as_u64()),
        (Some(1), Some(46))
    );
    assert_eq!(
        (sm["today_xp"].as_u64(), sm["daily_xp_cap"].as_u64()),
        (Some(46), Some(200))
    );
    assert_eq!(sm["streak"]["current"], 1);
    assert_eq!(sm["streak"]["status"], "logged_today");
    assert_eq!(sm["badges_earned"], 3, "{sm}");
    assert_eq!(sm["badges_total"], 11);
    assert_eq!(sm["quiet_mode"], false);
    let progress: Vec<(String, u64)> = sm["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                c["progress"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        progress,
        [
            ("log_days".to_string(), 1),
            ("attach_evidence".to_string(), 1),
            ("write_outcomes".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn a_reward_evaluation_leaves_lifecycle_events_and_its_decisions_in_its_result() {
    let Rewarded {
        app,
        s,
        entry,
        jobs,
        ..
    } = rewarded().await;
    // An internal kind leaves lifecycle events only; its decisions are in its result.
    let first = jobs
        .iter()
        .find(|j| j["payload"]["version"] == 1 && j["payload"]["entry_id"] == entry.as_str())
        .unwrap();
    let r = app
        .get(
            &format!(
                "/api/events?job_id={}&limit=50",
                first["id"].as_str().unwrap()
            ),
            &s.token,
        )
        .await;
    let mut kinds: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.reverse();
    assert_eq!(
        kinds,
        ["job.queued", "job.started", "job.succeeded"],
        "{}",
        r.body
    );
    let done = &r.body["items"][0]["data"]["result"];
    assert_eq!(done["meaningful"], true, "{done}");
    assert_eq!(done["xp_granted"], 41, "{done}");
    assert_eq!(done["streak"]["current"], 1, "{done}");
    assert!(
        done["badges_awarded"]
            .as_array()
            .is_some_and(|b| !b.is_empty()),
        "{done}"
    );
    assert_eq!(done["steps"][0]["step"], "evaluate", "{done}");
}

#[tokio::test]
async fn badges_show_earned_dates_and_what_locked_ones_need() {
    let Rewarded { app, s, .. } = rewarded().await;
    // Badges: earned with dates, locked with what they need, grouped.
    let r = app.get("/api/gamification/badges", &s.token).await;
    assert_eq!(
        (r.body["earned"].as_u64(), r.body["total"].as_u64()),
        (Some(3), Some(11))
    );
    let all: Vec<&Value> = r.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["badges"].as_array().unwrap())
        .collect();
    let badge = |code: &str| all.iter().find(|b| b["code"] == code).copied().unwrap();
    for code in ["first_entry", "first_attachment", "first_outcome"] {
        assert_eq!(badge(code)["earned"], true, "{code}");
        assert!(badge(code)["awarded_at"].is_string(), "{code}");
    }
    assert_eq!(badge("streak_30")["earned"], false);
    // What a locked badge still needs agrees with its progress.
    assert_eq!(
        badge("streak_30")["locked_reason"],
        "needs a 30-day streak (your longest is 1 day)"
    );
    let ten = badge("entries_10");
    assert_eq!(
        (ten["progress"].as_u64(), ten["target"].as_u64()),
        (Some(1), Some(10))
    );
    assert_eq!(ten["locked_reason"], "needs 9 more meaningful entries");
}

#[tokio::test]
async fn the_summary_the_days_and_the_ledger_add_up() {
    let Rewarded { app, s, .. } = rewarded().await;
    let summary = app.get("/api/gamification/summary", &s.token).await.body;
    let r = app.get("/api/gamification/days?days=7", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let days = r.body["items"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = days.last().unwrap();
    // Today's entry XP is the summary's; each day's parts add up to its total.
    assert_eq!(today["entry"], summary["today_xp"], "{today} {summary}");
    for d in days {
        let parts: u64 = ["entry", "challenge", "grant"]
            .iter()
            .map(|k| d[k].as_u64().unwrap())
            .sum();
        assert_eq!(parts, d["total"].as_u64().unwrap(), "{d}");
    }
    let days_total: u64 = days.iter().map(|d| d["total"].as_u64().unwrap()).sum();
    let ledger = app.get("/api/gamification/ledger", &s.token).await.body;
    let ledger_total: u64 = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(days_total, ledger_total);
    assert_eq!(Some(days_total), summary["total_xp"].as_u64());
    // The rules in words quote the rules in force.
    let r = app.get("/api/gamification/rules", &s.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = |topic: &str| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == topic)
            .map(|t| t["text"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(text("daily_cap").starts_with("Entry XP is capped at 200 a day"));
    assert!(text("streak").contains("backdating an entry doesn't fill a past day"));
    assert!(text("imports").starts_with("Imported entries earn no XP"));
    let r = app.get("/api/gamification/days?days=400", &s.token).await;
    r.assert_error(422, "validation_failed");
}

/// The id of the entry of `s` whose content starts with `prefix`.
async fn entry_starting(app: &App, s: &Session, prefix: &str) -> String {
    let r = app.get("/api/worklogs?limit=200", &s.token).await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["content"].as_str().unwrap().starts_with(prefix))
        .map(|e| e["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no entry starts with {prefix:?}: {}", r.body))
}

#[tokio::test]
async fn an_entry_says_what_it_earned_and_why() {
    let Rewarded { app, s, entry, .. } = rewarded().await;
    let reward = |id: String| {
        let (app, token) = (&app, s.token.clone());
        async move {
            let r = app.get(&format!("/api/worklogs/{id}/reward"), &token).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body
        }
    };
    let today = app.get("/api/gamification/summary", &s.token).await.body["streak"]["last_day"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reward(entry.clone()).await;
    assert_eq!(
        (r["status"].as_str(), r["xp_earned"].as_u64()),
        (Some("earned"), Some(46)),
        "{r}"
    );
    assert_eq!(r["message"], "Earned 46 XP.");
    assert_eq!(r["worth"]["total"], 46);
    assert_eq!(
        (
            r["worth"]["outcome"].as_u64(),
            r["worth"]["attachments"].as_u64()
        ),
        (Some(15), Some(5))
    );
    assert_eq!(r["streak_day"], today.as_str());
    assert_eq!(
        r["notes"],
        json!([format!("It counts for your streak on {today}.")])
    );

    let short = entry_starting(&app, &s, "fixed typo").await;
    let r = reward(short).await;
    assert_eq!(r["status"], "not_meaningful", "{r}");
    assert_eq!(
        r["message"],
        "Too short to earn XP: 10 characters of the 20 an entry needs."
    );
    let repeat = entry_starting(&app, &s, "PROFILED").await;
    let r = reward(repeat).await;
    assert_eq!(r["status"], "not_meaningful", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("Earned nothing: it repeats an earlier entry"),
        "{r}"
    );

    // A backdated entry counts for the day it was written.
    let yesterday = (chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap()
        - chrono::Days::new(1))
    .to_string();
    let r = app
        .post(
            "/api/worklogs",
            Some(&s.token),
            json!({"date": yesterday, "content": "Wrote the migration runbook for the billing tables and reviewed it with ops."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let backdated = r.body["id"].as_str().unwrap().to_string();
    rewards_settled(&app, &s, 5).await;
    let r = reward(backdated).await;
    assert_eq!(r["status"], "earned", "{r}");
    assert_eq!(r["streak_day"], today.as_str(), "{r}");
    let note = r["notes"][0].as_str().unwrap();
    assert!(
        note.contains(&format!(
            "on {today}, the day you wrote it, not on its date {yesterday}"
        )),
        "{r}"
    );

    // An imported entry says why it earned nothing.
    let file = json!([{"date": "2026-01-05", "content": "Led the incident review for the January outage."}]);
    let r = app
        .http
        .post(format!("{}/api/worklogs/import?format=json", app.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(file.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let imported = entry_starting(&app, &s, "Led the incident review").await;
    let r = reward(imported).await;
    assert_eq!(
        (r["status"].as_str(), r["xp_earned"].as_u64()),
        (Some("imported"), Some(0)),
        "{r}"
    );
    assert!(r["message"]
        .as_str()
        .unwrap()
        .starts_with("Imported entries earn no XP"));

    // Another workspace's entry is not found.
    let other = app.new_owner("other-rewards@example.test").await;
    let r = app
        .get(&format!("/api/worklogs/{entry}/reward"), &other.token)
        .await;
    r.assert_error(404, "not_found");
}

#[tokio::test]
async fn unlocks_are_listed_until_seen_and_never_in_quiet_mode() {
    let Rewarded { app, s, .. } = rewarded().await;
    let unlocks = |token: String| {
        let app = &app;
        async move {
            let r = app.get("/api/gamification/unlocks", &token).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["items"].as_array().unwrap().clone()
        }
    };
    let items = unlocks(s.token.clone()).await;
    let mut badges: Vec<&str> = items
        .iter()
        .filter(|u| u["kind"] == "badge")
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    badges.sort_unstable();
    assert_eq!(
        badges,
        ["first_attachment", "first_entry", "first_outcome"],
        "{items:?}"
    );
    assert!(items
        .iter()
        .all(|u| u["title"].as_str().is_some_and(|t| !t.is_empty())));
    // Seen up to the newest one shown: none is listed again.
    let r = app
        .post(
            "/api/gamification/unlocks/seen",
            Some(&s.token),
            json!({"until": items[0]["at"]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(unlocks(s.token.clone()).await.is_empty());

    // Quiet mode shows none, and turning it off does not replay what was earned meanwhile.
    let fresh = app.new_owner("quiet-unlocks@example.test").await;
    app.call(
        Method::PATCH,
        "/api/gamification/settings",
        Some(&fresh.token),
        Some(json!({"quiet_mode": true})),
    )
    .await;
    app.new_entry(
        &fresh,
        "Shipped the export to CSV with streaming and a progress bar.",
    )
    .await;
    rewards_settled(&app, &fresh, 1).await;
    assert!(unlocks(fresh.token.clone()).await.is_empty());
    app.call(
        Method::PATCH,
        "/api/gamification/settings",
        Some(&fresh.token),
        Some(json!({"quiet_mode": false})),
    )
    .await;
    assert!(unlocks(fresh.token.clone()).await.is_empty());
}

#[tokio::test]
async fn the_ledger_credits_each_version_what_it_added() {
    let Rewarded { app, s, .. } = rewarded().await;
    // The ledger: v1 earned 41, v2 the 5 more its attachment was worth.
    let r = app.get("/api/gamification/ledger", &s.token).await;
    let amounts: Vec<u64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_u64().unwrap())
        .collect();
    assert_eq!(amounts, [5, 41], "{}", r.body);
    assert_eq!(r.body["items"][0]["source"]["entry_version"], 2);
}

#[tokio::test]
async fn an_edit_that_makes_an_entry_worth_less_claws_nothing_back() {
    let Rewarded { app, s, entry, .. } = rewarded().await;
    // An edit that makes the entry less valuable claws nothing back.
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/worklogs/{entry}"),
            Some(&s.token),
            Some(json!({"version": 2, "outcome": null, "tags": []})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    rewards_settled(&app, &s, 5).await;
    let r = app.get("/api/gamification/summary", &s.token).await;
    assert_eq!(r.body["total_xp"], 46);
}

#[tokio::test]
async fn quiet_mode_is_kept_and_challenges_stay_listed() {
    let Rewarded { app, s, .. } = rewarded().await;
    // Quiet mode.
    let r = app
        .call(
            Method::PATCH,
            "/api/gamification/settings",
            Some(&s.token),
            Some(json!({"quiet_mode": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.get("/api/gamification/summary", &s.token).await.body["quiet_mode"],
        true
    );
    let r = app.get("/api/gamification/challenges", &s.token).await;
    assert_eq!(r.body["active"].as_array().unwrap().len(), 3);
    assert!(r.body["days_remaining_in_week"].as_u64().unwrap() >= 1);
}

/// A workspace whose owner logged one entry (rewarded), another workspace, and staff.
struct Staffed {
    app: App,
    s: Session,
    other: Session,
    staff: Session,
}

async fn staffed() -> Staffed {
    let app = spawn_app(&[]).await;
    let s = app.new_owner("rewards-admin@example.test").await;
    let other = app.new_owner("rewards-other@example.test").await;
    let r = app
        .post(
            "/api/worklogs",
            Some(&s.token),
            json!({"content": "Wrote the incident review for Tuesday's outage"}),
        )
        .await;
    assert_eq!(r.status, 201);
    rewards_settled(&app, &s, 1).await;
    let staff = app.staff().await;
    Staffed {
        app,
        s,
        other,
        staff,
    }
}

/// Staff grant 100 XP to the owner (110 in all, level 2).
async fn grant_100(app: &App, s: &Session, staff: &Session) {
    let grant = json!({"tenant_id": s.tenant_id, "user_id": s.user_id, "amount": 100,
                       "reason": "Hackathon winner", "idempotency_key": "hack-2026"});
    let r = app
        .post("/api/admin/gamification/grant", Some(&staff.token), grant)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn staff_grants_apply_once_per_key_and_are_audited() {
    let Staffed { app, s, staff, .. } = staffed().await;
    let grant = json!({"tenant_id": s.tenant_id, "user_id": s.user_id, "amount": 100,
                       "reason": "Hackathon winner", "idempotency_key": "hack-2026"});
    let r = app
        .post(
            "/api/admin/gamification/grant",
            Some(&staff.token),
            grant.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["total_xp"].as_u64(),
            r.body["level"].as_u64(),
            r.body["applied"].as_bool()
        ),
        (Some(110), Some(2), Some(true))
    );
    // The same key grants once.
    let r = app
        .post("/api/admin/gamification/grant", Some(&staff.token), grant)
        .await;
    assert_eq!(
        (r.body["applied"].as_bool(), r.body["total_xp"].as_u64()),
        (Some(false), Some(110)),
        "{}",
        r.body
    );
    let r = app.get("/api/gamification/ledger", &s.token).await;
    assert_eq!(r.body["items"][0]["rule"], "admin_grant");
    assert_eq!(r.body["items"][0]["source"]["reason"], "Hackathon winner");
    let kinds = app.audit_kinds(&staff.user_id).await;
    assert!(kinds.contains(&"xp_granted".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn a_revoked_badge_is_no_longer_earned_and_is_audited() {
    let Staffed { app, s, staff, .. } = staffed().await;
    // Revoke a badge: not earned any more, and recorded.
    let revoke = json!({"tenant_id": s.tenant_id, "user_id": s.user_id, "badge": "first_entry", "reason": "test data"});
    let r = app
        .post(
            "/api/admin/gamification/revoke",
            Some(&staff.token),
            revoke.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.get("/api/gamification/badges", &s.token).await;
    let first = r.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["badges"].as_array().unwrap().clone())
        .find(|b| b["code"] == "first_entry")
        .unwrap();
    assert_eq!(
        (first["earned"].as_bool(), first["revoked"].as_bool()),
        (Some(false), Some(true))
    );
    let r = app
        .post("/api/admin/gamification/revoke", Some(&staff.token), revoke)
        .await;
    assert_eq!(r.status, 409, "revoking twice: {}", r.body);
    let kinds = app.audit_kinds(&staff.user_id).await;
    assert!(kinds.contains(&"badge_revoked".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn grants_to_the_wrong_workspace_and_bad_amounts_or_badges_are_refused() {
    let Staffed {
        app,
        s,
        other,
        staff,
    } = staffed().await;
    // Bad targets and bad input.
    let r = app
        .post("/api/admin/gamification/grant", Some(&staff.token), json!({"tenant_id": other.tenant_id, "user_id": s.user_id, "amount": 5, "reason": "wrong workspace"}))
        .await;
    assert_eq!(r.status, 404, "not a member of that workspace");
    let r = app
        .post(
            "/api/admin/gamification/grant",
            Some(&staff.token),
            json!({"tenant_id": s.tenant_id, "user_id": s.user_id, "amount": 0, "reason": "zero"}),
        )
        .await;
    r.assert_error(422, "validation_failed");
    let r = app
        .post("/api/admin/gamification/revoke", Some(&staff.token), json!({"tenant_id": s.tenant_id, "user_id": s.user_id, "badge": "king", "reason": "no such"}))
        .await;
    r.assert_error(422, "validation_failed");
}

#[tokio::test]
async fn members_cannot_use_the_reward_admin_endpoints() {
    let Staffed { app, s, .. } = staffed().await;
    // Members can't use the admin endpoints.
    for (m, path) in [
        (Method::GET, "/api/admin/gamification/metrics"),
        (Method::POST, "/api/admin/gamification/grant"),
        (Method::POST, "/api/admin/gamification/revoke"),
        (Method::GET, "/api/admin/gamification/config"),
    ] {
        let r = app
            .call(m.clone(), path, Some(&s.token), Some(json!({})))
            .await;
        assert_eq!(r.status, 403, "{m} {path}");
    }
}

#[tokio::test]
async fn staff_metrics_count_rewards_across_workspaces() {
    let Staffed { app, s, staff, .. } = staffed().await;
    grant_100(&app, &s, &staff).await;
    // Metrics across workspaces.
    let r = app
        .get("/api/admin/gamification/metrics?days=7", &staff.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["users_with_rewards"].as_u64().unwrap() >= 1);
    assert!(r.body["total_xp"].as_u64().unwrap() >= 110);
    assert!(r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["active_users"].as_u64().unwrap() >= 1));
}

#[tokio::test]
async fn a_published_rule_version_applies_and_nonsense_is_refused() {
    let Staffed { app, s, staff, .. } = staffed().await;
    // Versioned rules: publish version 2 with a lower daily cap; nonsense is refused.
    let r = app
        .get("/api/admin/gamification/config", &staff.token)
        .await;
    assert_eq!(r.body["active"]["version"], 1);
    let mut config = r.body["active"]["config"].clone();
    config["max_daily_xp"] = json!(150);
    let r = app
        .call(
            Method::PUT,
            "/api/admin/gamification/config",
            Some(&staff.token),
            Some(config.clone()),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["version"].as_u64()),
        (200, Some(2)),
        "{}",
        r.body
    );
    config["max_daily_xp"] = json!(0);
    let r = app
        .call(
            Method::PUT,
            "/api/admin/gamification/config",
            Some(&staff.token),
            Some(config),
        )
        .await;
    r.assert_error(422, "validation_failed");
    let r = app.get("/api/gamification/summary", &s.token).await;
    assert_eq!(
        (
            r.body["config_version"].as_u64(),
            r.body["daily_xp_cap"].as_u64()
        ),
        (Some(2), Some(150))
    );
}
