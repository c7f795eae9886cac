//! Attacks on the shared process, each test named for what it stops, against the real
//! binary.

mod common;

use std::time::Instant;

use common::spawn_app;
use futures::StreamExt;
use reqwest::Method;

/// The HTTP series in a metrics text: the sample lines of the request counter and the
/// latency histogram, the only metrics a request's method and path label. The other
/// metrics move on their own (the hourly reward sweep adds its job series when a run
/// crosses the hour), so counting them would make the check depend on the clock.
fn series(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("afterresume_http_"))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(labels, _)| labels)
                .to_string()
        })
        .collect()
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
        "{total} requests to random paths in {:.1} s: HTTP series {} -> {}",
        elapsed.as_secs_f64(),
        before.len(),
        after.len()
    );
    assert_eq!((errors, server_errors), (0, 0), "transport errors, 5xx");
    assert!(
        before.len() > 4,
        "the warm-up requests' series are missing: {before:?}"
    );
    let added: Vec<&String> = after.difference(&before).collect();
    assert!(added.is_empty(), "random paths added series: {added:?}");
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

/// The server's resident memory in bytes.
fn rss(app: &common::App) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", app.child.id())).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// A 50 MB chunked body (no `Content-Length`) in 1 MB pieces.
fn fifty_megabytes_chunked() -> reqwest::Body {
    let chunk = bytes_of(1024 * 1024);
    let chunks =
        futures::stream::iter((0..50).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    reqwest::Body::wrap_stream(chunks)
}

fn bytes_of(n: usize) -> Vec<u8> {
    let mut v = b"{\"email\":\"".to_vec();
    v.resize(n, b'a');
    v
}

#[tokio::test]
async fn chunked_bodies_without_length_are_cut_off_at_the_limit() {
    const LIMIT: u64 = 1024 * 1024;
    let app = spawn_app(&[
        ("MAX_BODY_BYTES", "1048576"),
        ("AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await;
    let owner = app.new_owner("chunked@example.test").await;
    // Warm both paths (allocator arenas, lazily built state) before measuring.
    for _ in 0..3 {
        app.login("chunked@example.test", "wrong password").await;
        app.post(
            "/api/worklogs",
            Some(&owner.token),
            serde_json::json!({"content": "warm"}),
        )
        .await;
    }
    for (path, token) in [
        ("/api/auth/token", None),
        ("/api/worklogs", Some(&owner.token)),
    ] {
        let before = rss(&app);
        let mut req = app
            .http
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body(fifty_megabytes_chunked());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = common::App::read(req.send().await.expect("the 413 arrives")).await;
        let grown = rss(&app).saturating_sub(before);
        println!(
            "{path}: 50 MB chunked -> {}, RSS +{} KiB",
            r.status,
            grown / 1024
        );
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (413, "payload_too_large"),
            "{path}: {}",
            r.body
        );
        assert!(
            grown < 2 * LIMIT,
            "{path}: RSS grew by {grown} bytes for a {LIMIT}-byte limit"
        );
    }
}

#[tokio::test]
async fn a_slow_drip_body_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(&[("BODY_READ_TIMEOUT_SECS", "1")]).await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = "POST /api/auth/token HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":";
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    // The rest of the body never comes; the server must answer on its own.
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body within 10 s");
    let text = String::from_utf8_lossy(&answer);
    println!(
        "stalled body answered after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
}

/// A failed login sent with the given `X-Forwarded-For` (none when empty).
async fn login_via(app: &common::App, email: &str, forwarded: &str) -> u16 {
    let mut req = app
        .http
        .post(format!("{}/api/auth/token", app.base))
        .json(&serde_json::json!({"email": email, "password": "wrong password"}));
    if !forwarded.is_empty() {
        req = req.header("x-forwarded-for", forwarded);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_does_not_reset_ip_limits() {
    let app = spawn_app(&[("AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    // A new account and a new "client address" every time: only the peer's own address
    // can be what is counted.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let spoofed = format!("198.51.100.{i}");
        statuses.push(login_via(&app, &format!("u{i}@example.test"), &spoofed).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
    // The test connects from 127.0.0.1, so here the peer is the trusted proxy.
    let app = spawn_app(&[
        ("AUTH_RATE_LIMIT_PER_MINUTE", "3"),
        ("TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8"),
    ])
    .await;
    // Rotating what the client wrote on the left changes nothing: the hop the proxies
    // saw is one client and runs out of budget.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let chain = format!("203.0.113.{i}, 198.51.100.7, 10.0.0.2");
        statuses.push(login_via(&app, &format!("a{i}@example.test"), &chain).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // Another real client behind the same proxies has its own budget.
    assert_eq!(login_via(&app, "b@example.test", "198.51.100.8").await, 401);
    // IPv6 clients count per /64.
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let chain = format!("2001:db8:aa:bb::{i:x}");
        statuses.push(login_via(&app, &format!("c{i}@example.test"), &chain).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}

#[tokio::test]
async fn the_admin_allowlist_holds_under_spoofed_chains() {
    let app = spawn_app(&[
        ("ADMIN_IP_ALLOWLIST", "198.51.100.7"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let staff = app.staff().await;
    let admin = |forwarded: &'static str| {
        let mut req = app
            .http
            .get(format!("{}/api/admin/users", app.base))
            .bearer_auth(&staff.token);
        if !forwarded.is_empty() {
            req = req.header("x-forwarded-for", forwarded);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        admin("198.51.100.7").await,
        200,
        "the allowed client via the proxy"
    );
    assert_eq!(admin("").await, 403, "the proxy itself is not allowed");
    // The allowed address written on the left by the client, a stranger as the real hop.
    assert_eq!(admin("198.51.100.7, 203.0.113.1").await, 403);

    let direct = spawn_app(&[("ADMIN_IP_ALLOWLIST", "198.51.100.7")]).await;
    let staff = direct.staff().await;
    let r = direct
        .http
        .get(format!("{}/api/admin/users", direct.base))
        .bearer_auth(&staff.token)
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no trusted proxy: the header is ignored");
}

/// Opens the event stream of a job; the response (headers read, body still open).
async fn open_stream(app: &common::App, token: &str, job: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/api/jobs/{job}/events", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn event_streams_are_capped_per_user_and_end_after_their_lifetime() {
    let app = spawn_app(&[
        ("EVENT_STREAMS_PER_USER", "2"),
        ("EVENT_STREAMS_PER_TENANT", "3"),
        ("EVENT_STREAM_MAX_SECS", "2"),
    ])
    .await;
    let owner = app.new_owner("streams@example.test").await;
    let member = app
        .add_member(&owner, "streams-member@example.test", "member")
        .await;
    // A job that outlives every stream below.
    let r = app
        .post(
            "/api/jobs",
            Some(&owner.token),
            serde_json::json!({"kind": "diagnostics.echo", "payload": {"sleep_ms": 20000}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let job = r.body["id"].as_str().unwrap().to_string();

    let first = open_stream(&app, &owner.token, &job).await;
    let second = open_stream(&app, &owner.token, &job).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = common::App::read(open_stream(&app, &owner.token, &job).await).await;
    third.assert_error(429, "rate_limited");
    assert!(third.header("retry-after").is_some());
    // The workspace's third slot is the member's; the fourth is refused to anyone.
    let members = open_stream(&app, &member.token, &job).await;
    assert_eq!(members.status(), 200);
    let fourth = common::App::read(open_stream(&app, &member.token, &job).await).await;
    assert_eq!(fourth.status.as_u16(), 429, "{}", fourth.body);

    // Closing a stream frees its slot.
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        let r = open_stream(&app, &owner.token, &job).await;
        if r.status() == 200 {
            reopened = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reopened = reopened.expect("a closed stream's slot is given back");

    // Every stream ends after EVENT_STREAM_MAX_SECS although the job still runs.
    let started = Instant::now();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut body = reopened.bytes_stream();
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream is still open after 10 s");
    println!(
        "a stream of a running job ended after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let status = app.get(&format!("/api/jobs/{job}"), &owner.token).await;
    assert_eq!(status.body["status"], "running", "{}", status.body);
}

/// A login from `address` (through the trusted local proxy); its status.
async fn login_from(app: &common::App, address: &str, email: &str, password: &str) -> u16 {
    app.http
        .post(format!("{}/api/auth/token", app.base))
        .header("x-forwarded-for", address)
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn knowing_an_email_does_not_lock_its_owner_out() {
    // One failure per address and minute; the account as a whole takes ten.
    let app = spawn_app(&[
        ("AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
        ("AUTH_FAILURES_PER_MINUTE", "1"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let victim = app.new_owner("victim@example.test").await;
    let email = "victim@example.test";
    assert_eq!(
        login_from(&app, "198.51.100.1", email, "guess 1").await,
        401
    );
    assert_eq!(
        login_from(&app, "198.51.100.1", email, "guess 2").await,
        429,
        "the guessing address waits"
    );
    // The owner, elsewhere, with the right password: in, although the account had
    // failures (the old per-account limiter counted attempts and kept them at 429).
    assert_eq!(
        login_from(&app, "198.51.100.50", email, common::PASSWORD).await,
        200
    );

    // Guessing spread over many addresses meets the account's ceiling (10 failures).
    for i in 2..=10 {
        assert_eq!(
            login_from(&app, &format!("203.0.113.{i}"), email, "guess").await,
            401
        );
    }
    assert_eq!(
        login_from(&app, "198.51.100.51", email, common::PASSWORD).await,
        429,
        "past the ceiling every attempt waits"
    );
    let kinds = app.audit_kinds(&victim.user_id).await;
    let locked = kinds.iter().filter(|k| *k == "login_locked").count();
    assert!(locked >= 2, "lockouts are audited: {kinds:?}");
}

#[tokio::test]
async fn guessing_the_current_password_with_a_stolen_token_is_limited_and_audited() {
    let app = spawn_app(&[("AUTH_FAILURES_PER_MINUTE", "2")]).await;
    let owner = app.new_owner("stolen@example.test").await;
    let change = |current: &'static str| {
        let req = app
            .http
            .post(format!("{}/api/me/password", app.base))
            .bearer_auth(&owner.token)
            .json(&serde_json::json!({
                "current_password": current,
                "new_password": "a much longer new passphrase 42"
            }));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(change("wrong one").await, 401);
    assert_eq!(change("wrong two").await, 401);
    assert_eq!(change("wrong three").await, 429);
    // Even the right one waits for the window from this address.
    assert_eq!(change(common::PASSWORD).await, 429);
    let kinds = app.audit_kinds(&owner.user_id).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "password_change_failed")
            .count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "login_locked"), "{kinds:?}");
}

#[tokio::test]
async fn an_ended_login_takes_its_access_tokens_with_it() {
    let app = spawn_app(&[("AUTH_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    let email = "ender@example.test";
    let signed_up = app.new_owner(email).await;
    let r = app.login(email, common::PASSWORD).await;
    let laptop = app.session_from(&r, email).await;
    let r = app.login(email, common::PASSWORD).await;
    let phone = app.session_from(&r, email).await;
    for s in [&signed_up, &laptop, &phone] {
        assert_eq!(app.get("/api/me", &s.token).await.status, 200);
    }

    // Logging out on the laptop ends the laptop's access token now, not in 15 minutes;
    // the phone's login is another one and keeps working.
    let out = app.cookie_post("/api/auth/logout", &laptop.refresh).await;
    assert_eq!(out.status, 204);
    let me = app.get("/api/me", &laptop.token).await;
    assert_eq!((me.status.as_u16(), me.code()), (401, "token_invalid"));
    assert_eq!(app.get("/api/me", &phone.token).await.status, 200);

    // A password change ends every login, the caller's included.
    let r = app
        .post(
            "/api/me/password",
            Some(&phone.token),
            serde_json::json!({"current_password": common::PASSWORD, "new_password": "a much longer new passphrase 42"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    for s in [&signed_up, &phone] {
        let me = app.get("/api/me", &s.token).await;
        assert_eq!((me.status.as_u16(), me.code()), (401, "token_invalid"));
    }
    // A new login, even within the same second, is not affected.
    let r = app.login(email, "a much longer new passphrase 42").await;
    let fresh = app.session_from(&r, email).await;
    assert_eq!(app.get("/api/me", &fresh.token).await.status, 200);

    // Removal and disabling end access at once too.
    let member = app
        .add_member(&fresh, "removed@example.test", "member")
        .await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/members/{}", member.user_id),
            Some(&fresh.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get("/api/me", &member.token).await.status, 401);
    let staff = app.staff().await;
    let r = app
        .post(
            &format!("/api/admin/users/{}/disable", fresh.user_id),
            Some(&staff.token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let me = app.get("/api/me", &fresh.token).await;
    assert_eq!((me.status.as_u16(), me.code()), (403, "account_disabled"));
}

async fn invite(app: &common::App, by: &common::Session, body: serde_json::Value) -> String {
    let r = app.post("/api/invitations", Some(&by.token), body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["passkey"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_removed_or_demoted_admin_cannot_come_back_through_an_invitation() {
    let app = spawn_app(&[("AUTH_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    let owner = app.new_owner("owner@example.test").await;
    let role_of = |user: String| {
        let app = &app;
        let owner = &owner;
        async move {
            let r = app
                .call(
                    Method::PATCH,
                    &format!("/api/tenant/members/{user}"),
                    Some(&owner.token),
                    Some(serde_json::json!({"role": "member"})),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    };
    let gone = |r: common::Resp| (r.status.as_u16(), r.code().to_string());

    // Demoted: the invitations the admin made beforehand are revoked with the role.
    let demoted = app
        .add_member(&owner, "demoted@example.test", "admin")
        .await;
    let admin_invite = invite(&app, &demoted, serde_json::json!({"role": "admin"})).await;
    let member_invite = invite(&app, &demoted, serde_json::json!({"role": "member"})).await;
    role_of(demoted.user_id.clone()).await;
    for pk in [&admin_invite, &member_invite] {
        let r = app.signup(pk, "comeback@example.test").await;
        assert_eq!(gone(r), (410, "passkey_revoked".into()));
    }
    let list = app.get("/api/invitations", &owner.token).await;
    let revoked = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "revoked")
        .count();
    assert_eq!(revoked, 2, "{}", list.body);

    // Removed: the same.
    let removed = app
        .add_member(&owner, "removed@example.test", "admin")
        .await;
    let pk = invite(&app, &removed, serde_json::json!({"role": "admin"})).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tenant/members/{}", removed.user_id),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = app.signup(&pk, "comeback@example.test").await;
    assert_eq!(gone(r), (410, "passkey_revoked".into()));

    // Disabled (no revocation ran): signup re-checks the creator and refuses.
    let disabled = app
        .add_member(&owner, "disabled@example.test", "admin")
        .await;
    let pk = invite(&app, &disabled, serde_json::json!({"role": "member"})).await;
    let staff = app.staff().await;
    let r = app
        .post(
            &format!("/api/admin/users/{}/disable", disabled.user_id),
            Some(&staff.token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.signup(&pk, "comeback@example.test").await;
    assert_eq!(gone(r), (410, "passkey_revoked".into()));

    // An invitation that names an e-mail address can only be used with it.
    let pk = invite(
        &app,
        &owner,
        serde_json::json!({"role": "member", "email": "named@example.test"}),
    )
    .await;
    let r = app.signup(&pk, "someone-else@example.test").await;
    assert_eq!(gone(r), (403, "passkey_email_mismatch".into()));
    let r = app.signup(&pk, "named@example.test").await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// POSTs `refresh` to the refresh endpoint from `n` clients at once; (status, new
/// refresh cookie, error code) of each.
async fn refresh_at_once(
    app: &common::App,
    refresh: &str,
    n: usize,
) -> Vec<(u16, Option<String>, String)> {
    let calls = (0..n).map(|_| async {
        let r = app.cookie_post("/api/auth/token/refresh", refresh).await;
        (r.status.as_u16(), r.refresh_cookie(), r.code().to_string())
    });
    futures::future::join_all(calls).await
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_share_one_successor() {
    // 160 refreshes of one login within seconds: far past the per-login limit, which
    // is not what this test is about.
    let app = spawn_app(&[
        ("AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        ("REFRESH_RATE_LIMIT_PER_MINUTE", "100000"),
    ])
    .await;
    let email = "tabs@example.test";
    let first = app.new_owner(email).await;
    let mut current = first.refresh.clone();
    let mut history = vec![current.clone()];
    for round in 0..20 {
        let answers = refresh_at_once(&app, &current, 8).await;
        assert!(
            answers.iter().all(|(s, _, _)| *s == 200),
            "round {round}: {answers:?}"
        );
        let successors: std::collections::BTreeSet<_> =
            answers.iter().map(|(_, c, _)| c.clone().unwrap()).collect();
        assert_eq!(successors.len(), 1, "round {round}: one successor");
        current = successors.into_iter().next().unwrap();
        history.push(current.clone());
    }
    // Reuse detection still holds: a token whose successor was itself rotated is a
    // copy, and presenting it ends the login.
    let reuse = app
        .cookie_post("/api/auth/token/refresh", &history[3])
        .await;
    assert_eq!(
        (reuse.status.as_u16(), reuse.code()),
        (401, "refresh_reused")
    );
    let after = app.cookie_post("/api/auth/token/refresh", &current).await;
    assert_eq!(
        (after.status.as_u16(), after.code()),
        (401, "refresh_invalid")
    );
}

#[tokio::test]
async fn concurrent_refreshes_without_grace_rotate_once_and_count_as_reuse() {
    let app = spawn_app(&[
        ("AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        ("REFRESH_REUSE_GRACE_SECS", "0"),
    ])
    .await;
    let email = "strict@example.test";
    app.new_owner(email).await;
    for round in 0..10 {
        let r = app.login(email, common::PASSWORD).await;
        let s = app.session_from(&r, email).await;
        let answers = refresh_at_once(&app, &s.refresh, 8).await;
        let won: Vec<_> = answers.iter().filter(|(st, _, _)| *st == 200).collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: exactly one rotation: {answers:?}"
        );
        assert!(
            answers.iter().all(|(st, _, _)| *st == 200 || *st == 401),
            "round {round}: {answers:?}"
        );
        // The others were reuse, which ended the login: the winner's successor too.
        let next = won[0].1.clone().unwrap();
        let r = app.cookie_post("/api/auth/token/refresh", &next).await;
        assert_eq!(r.status, 401, "round {round}: {}", r.body);
        let me = app.get("/api/me", &s.token).await;
        assert_eq!(
            me.status, 401,
            "round {round}: the login's access token ended"
        );
    }
}

/// Enqueues `n` jobs for `s` from 16 clients at once; the statuses, in no order.
async fn flood(
    app: &common::App,
    s: &common::Session,
    n: usize,
    body: serde_json::Value,
) -> Vec<u16> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let client = |_| async {
        let mut statuses = Vec::new();
        while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
            statuses.push(
                app.post("/api/jobs", Some(&s.token), body.clone())
                    .await
                    .status
                    .as_u16(),
            );
        }
        statuses
    };
    futures::future::join_all((0..16).map(client))
        .await
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test]
async fn a_flood_of_long_jobs_does_not_delay_another_workspaces_reward() {
    let app = spawn_app(&[("JOB_WORKERS", "2"), ("JOB_TENANT_CONCURRENCY", "1")]).await;
    let flooder = app.new_owner("flooder@example.test").await;
    let second = app.new_owner("second-flooder@example.test").await;
    let quiet = app.new_owner("quiet@example.test").await;

    // Members can't jump the queue or ask for long waits.
    let r = app
        .post(
            "/api/jobs",
            Some(&flooder.token),
            serde_json::json!({"kind": "diagnostics.echo", "priority": 6}),
        )
        .await;
    r.assert_error(403, "forbidden");
    let r = app
        .post(
            "/api/jobs",
            Some(&flooder.token),
            serde_json::json!({"kind": "diagnostics.echo", "payload": {"sleep_ms": 30001}}),
        )
        .await;
    r.assert_error(422, "validation_failed");

    // 5,000 long jobs from one workspace: the first 1,000 (JOB_TENANT_MAX_QUEUED) queue,
    // the rest are refused with the limit in the message.
    let long = serde_json::json!({"kind": "diagnostics.echo", "payload": {"sleep_ms": 30000}});
    let started = Instant::now();
    let statuses = flood(&app, &flooder, 5000, long.clone()).await;
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    eprintln!(
        "flood: {accepted} accepted, {refused} refused in {:?}",
        started.elapsed()
    );
    // Queued, not running, jobs count: the one the flooder's worker took meanwhile
    // (JOB_TENANT_CONCURRENCY=1) freed a place.
    assert_eq!(accepted + refused, 5000);
    assert!((1000..=1001).contains(&accepted), "{accepted} accepted");
    let r = app
        .post("/api/jobs", Some(&flooder.token), long.clone())
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "quota_exceeded"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000"),
        "{}",
        r.body
    );
    // A second workspace floods too: between them they hold both general workers.
    let statuses = flood(&app, &second, 1000, long).await;
    assert!(statuses.iter().all(|s| *s == 202));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // The quiet workspace logs an entry; its reward evaluation starts within 2 s.
    let logged = chrono::Utc::now();
    let r = app
        .post(
            "/api/worklogs",
            Some(&quiet.token),
            serde_json::json!({"content": "Shipped the fair queue."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let started_at = loop {
        let r = app
            .get("/api/jobs?kind=gamification.reward_evaluate", &quiet.token)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(at) = r.body["items"][0]["started_at"].as_str() {
            break chrono::DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&chrono::Utc);
        }
        assert!(
            Instant::now() < deadline,
            "the reward evaluation never started: {}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let waited = (started_at - logged).num_milliseconds();
    eprintln!(
        "the quiet workspace's reward evaluation started {waited} ms after its entry was sent"
    );
    assert!(waited < 2000, "waited {waited} ms");
    // Both floods are still there (nothing was dropped to make room).
    let r = app
        .get("/api/jobs?status=queued&limit=1", &flooder.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body["items"].as_array().unwrap().is_empty());
}

/// `n` JSON import rows, numbered from `from`.
fn rows(from: usize, n: usize) -> String {
    let rows: Vec<_> = (from..from + n)
        .map(|i| serde_json::json!({"date": "2026-01-05", "title": format!("Row {i}"), "content": format!("Imported row {i}")}))
        .collect();
    serde_json::to_string(&rows).unwrap()
}

async fn import_json(app: &common::App, s: &common::Session, body: String) -> common::Resp {
    let r = app
        .http
        .post(format!("{}/api/worklogs/import?format=json", app.base))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    common::App::read(r).await
}

#[tokio::test]
async fn imports_are_bounded_and_scoped_to_their_author() {
    let app = spawn_app(&[
        ("IMPORT_MAX_ROWS", "50"),
        ("IMPORT_ROWS_PER_DAY", "60"),
        ("WORKLOG_ENTRIES_PER_HOUR", "5"),
    ])
    .await;
    let owner = app.new_owner("importer@example.test").await;
    let colleague = app
        .add_member(&owner, "colleague@example.test", "member")
        .await;

    let r = import_json(&app, &owner, rows(0, 51)).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "validation_failed"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 50 rows"),
        "{}",
        r.body
    );

    let file = rows(0, 40);
    let r = import_json(&app, &owner, file.clone()).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["created"]),
        (200, &serde_json::json!(40)),
        "{}",
        r.body
    );
    // The same file from a colleague is their work, not a duplicate of the owner's.
    let r = import_json(&app, &colleague, file.clone()).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["created"]),
        (200, &serde_json::json!(40)),
        "{}",
        r.body
    );
    // Re-importing it is idempotent and costs no quota.
    let r = import_json(&app, &owner, file).await;
    assert_eq!(
        (&r.body["created"], &r.body["duplicates"]),
        (&serde_json::json!(0), &serde_json::json!(40)),
        "{}",
        r.body
    );
    // 40 + 30 new rows pass the 60 a day.
    let r = import_json(&app, &owner, rows(100, 30)).await;
    r.assert_error(429, "quota_exceeded");
    let r = import_json(&app, &owner, rows(100, 20)).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["created"]),
        (200, &serde_json::json!(20)),
        "{}",
        r.body
    );
    // Imported rows don't use up today's logging quota.
    let r = app
        .post(
            "/api/worklogs",
            Some(&owner.token),
            serde_json::json!({"content": "Logged by hand."}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn concurrent_uploads_cannot_overshoot_the_storage_quota() {
    let app = spawn_app(&[
        ("TENANT_STORAGE_QUOTA_BYTES", "300000"),
        ("ATTACHMENT_MAX_BYTES", "100000"),
        ("UPLOADS_PER_USER", "8"),
    ])
    .await;
    let owner = app.new_owner("uploader@example.test").await;
    let entry = app.new_entry(&owner, "Evidence inside.").await;
    let upload = || {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(vec![b'a'; 90_000]).file_name("notes.txt"),
        );
        app.http
            .post(format!("{}/api/worklogs/{entry}/attachments", app.base))
            .bearer_auth(&owner.token)
            .multipart(form)
            .send()
    };
    let statuses: Vec<u16> = futures::future::join_all((0..8).map(|_| upload()))
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let stored = statuses.iter().filter(|s| **s == 201).count();
    eprintln!("8 concurrent 90 kB uploads into 300 kB: {statuses:?}");
    assert!(stored >= 1, "{statuses:?}");
    assert!(
        stored * 90_000 <= 300_000,
        "the quota was overshot: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 413),
        "{statuses:?}"
    );
    let r = app
        .get(&format!("/api/worklogs/{entry}/attachments"), &owner.token)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"].as_array().unwrap().len(), stored);
    let bytes: u64 = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["size"].as_u64().unwrap())
        .sum();
    assert!(bytes <= 300_000, "{bytes} bytes stored");
}

#[tokio::test]
async fn uploads_in_progress_are_capped_per_user() {
    let app = spawn_app(&[("UPLOADS_PER_USER", "1")]).await;
    let owner = app.new_owner("slow-uploader@example.test").await;
    let entry = app.new_entry(&owner, "Evidence inside.").await;
    let url = format!("{}/api/worklogs/{entry}/attachments", app.base);
    // A multipart body that trickles in over two seconds.
    let boundary = "slowboundary";
    let head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n");
    let tail = format!("\r\n--{boundary}--\r\n");
    let chunks = futures::stream::iter(
        std::iter::once(head.into_bytes())
            .chain((0..20).map(|_| vec![b'x'; 100]))
            .chain(std::iter::once(tail.into_bytes())),
    )
    .then(|c| async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>(c)
    });
    let slow = app
        .http
        .post(&url)
        .bearer_auth(&owner.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(reqwest::Body::wrap_stream(chunks))
        .send();
    let second = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"quick".to_vec()).file_name("b.txt"),
        );
        app.http
            .post(&url)
            .bearer_auth(&owner.token)
            .multipart(form)
            .send()
            .await
    };
    let (slow, second) = tokio::join!(slow, second);
    let second = common::App::read(second.unwrap()).await;
    second.assert_error(429, "rate_limited");
    assert_eq!(slow.unwrap().status(), 201);
}

#[tokio::test]
async fn analysing_a_colleagues_entry_needs_edit_rights() {
    let app = spawn_app(&[]).await;
    let owner = app.new_owner("analyse-owner@example.test").await;
    let author = app
        .add_member(&owner, "author@example.test", "member")
        .await;
    let other = app.add_member(&owner, "other@example.test", "member").await;
    let entry = app.new_entry(&author, "Mine to analyse.").await;
    let path = format!("/api/worklogs/{entry}/analyze");
    let r = app
        .post(&path, Some(&other.token), serde_json::json!({}))
        .await;
    r.assert_error(403, "forbidden");
    for s in [&author, &owner] {
        let r = app.post(&path, Some(&s.token), serde_json::json!({})).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
}

/// An app with 20,000 LLM tokens a month, `reserved` held per AI job, and one worker
/// kept busy by a 30-second job, so AI jobs stay queued (and counted) while a test runs.
async fn app_with_busy_worker(reserved: &str) -> common::App {
    let app = spawn_app(&[
        ("JOB_WORKERS", "1"),
        ("JOB_INTERACTIVE_WORKERS", "0"),
        ("LLM_TOKENS_PER_MONTH", "20000"),
        ("LLM_TOKENS_RESERVED_PER_JOB", reserved),
    ])
    .await;
    let busy = app.new_owner("busy-worker@example.test").await;
    let r = app
        .post(
            "/api/jobs",
            Some(&busy.token),
            serde_json::json!({"kind": "diagnostics.echo", "payload": {"sleep_ms": 30000}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app
}

#[tokio::test]
async fn a_report_refused_by_the_quota_leaves_no_pending_report() {
    // The first AI job stays queued and holds the one slot the quota allows (20,000
    // tokens left, 20,000 held per job).
    let app = app_with_busy_worker("20000").await;

    let owner = app.new_owner("report-quota@example.test").await;
    let r = app
        .post(
            "/api/skills/extract",
            Some(&owner.token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = app
        .post(
            "/api/reports",
            Some(&owner.token),
            serde_json::json!({"kind": "status", "from": "2026-01-01", "to": "2026-01-31"}),
        )
        .await;
    r.assert_error(429, "quota_exceeded");
    let r = app.get("/api/reports", &owner.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"], serde_json::json!([]), "{}", r.body);
}

#[tokio::test]
async fn parallel_ai_jobs_cannot_overshoot_the_token_quota() {
    // The AI jobs stay queued while they are counted (8,192 held per job).
    let app = app_with_busy_worker("8192").await;

    let owner = app.new_owner("ai-quota@example.test").await;
    let calls = (0..8).map(|_| async {
        let r = app
            .post(
                "/api/skills/extract",
                Some(&owner.token),
                serde_json::json!({}),
            )
            .await;
        (r.status.as_u16(), r.code().to_string())
    });
    let answers = futures::future::join_all(calls).await;
    // 20,000 tokens left, 8,192 held per job: three jobs may be in flight.
    let accepted = answers.iter().filter(|(s, _)| *s == 202).count();
    assert_eq!(accepted, 3, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, c)| *s == 202 || (*s == 429 && c == "quota_exceeded")),
        "{answers:?}"
    );
}
