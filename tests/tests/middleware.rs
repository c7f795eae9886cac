//! Cross-cutting HTTP behaviour: security headers, error envelope, correlation IDs,
//! path normalisation, input errors, rate limits, maintenance, service tokens and the
//! admin IP allowlist, against the real binary.

mod common;

use common::{spawn_app, App, Resp, PASSWORD, STAFF_EMAIL};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::json;
use sha2::Sha256;

const SVC_SECRET: &str = "svc-secret-for-tests";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn service_token(secret: &str, ts: i64) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.to_string().as_bytes());
    format!("{ts}:{}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends a request with a raw body and extra headers.
async fn raw(
    app: &App,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Resp {
    let mut req = app.http.request(method, format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    App::read(req.send().await.expect("request")).await
}

/// The security headers every response carries.
fn assert_security_headers(r: &Resp, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp:?}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert_eq!(
        r.header("x-frame-options").as_deref(),
        Some("DENY"),
        "{what}"
    );
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    let xss = r
        .header("x-xss-protection")
        .unwrap_or_else(|| panic!("{what}: no X-XSS-Protection"));
    assert!(
        xss.starts_with('1') || xss == "0",
        "{what}: X-XSS-Protection {xss:?}"
    );
    assert_eq!(
        r.header("referrer-policy").as_deref(),
        Some("strict-origin-when-cross-origin"),
        "{what}"
    );
    let pp = r
        .header("permissions-policy")
        .unwrap_or_else(|| panic!("{what}: no Permissions-Policy"));
    for feature in ["geolocation=()", "camera=()", "microphone=()"] {
        assert!(
            pp.contains(feature),
            "{what}: Permissions-Policy {pp:?} lacks {feature}"
        );
    }
}

/// The error envelope: code, a message, and the correlation ID of the response header.
fn assert_error(r: &Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
    assert_eq!(r.code(), code, "{what}: {}", r.body);
    let msg = r.body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no message in {}", r.body));
    assert!(!msg.trim().is_empty(), "{what}: empty message");
    let cid = r.body["error"]["correlation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no correlation_id in {}", r.body));
    let header = r
        .header("x-correlation-id")
        .unwrap_or_else(|| panic!("{what}: no X-Correlation-ID header"));
    assert_eq!(
        cid, header,
        "{what}: body and header correlation IDs differ"
    );
    assert!(
        uuid::Uuid::parse_str(cid).is_ok(),
        "{what}: correlation id {cid:?} is not a UUID"
    );
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "{what}: content-type {ct:?}"
    );
}

#[tokio::test]
async fn security_headers_and_error_envelope_on_every_status() {
    let app = spawn_app(&[("MAX_BODY_BYTES", "2048")]).await;
    let owner = app.new_owner("owner@example.test").await;

    let ok = raw(&app, Method::GET, "/api/healthz", &[], None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["status"], "ok");
    assert_security_headers(&ok, "200 healthz");
    assert!(ok
        .header("x-correlation-id")
        .is_some_and(|c| uuid::Uuid::parse_str(&c).is_ok()));

    let bad_json = raw(
        &app,
        Method::POST,
        "/api/auth/token",
        &[("content-type", "application/json")],
        Some(b"{\"email\":".to_vec()),
    )
    .await;
    assert_error(&bad_json, 400, "invalid_json", "400 bad JSON");
    assert_security_headers(&bad_json, "400 bad JSON");

    let unauth = raw(&app, Method::GET, "/api/me", &[], None).await;
    assert_error(&unauth, 401, "unauthorized", "401 no token");
    assert_security_headers(&unauth, "401 no token");

    let forbidden = app.get("/api/admin/users", &owner.token).await;
    assert_error(&forbidden, 403, "forbidden", "403 non-staff on admin");
    assert_security_headers(&forbidden, "403");

    let missing = raw(&app, Method::GET, "/api/nope", &[], None).await;
    assert_error(&missing, 404, "not_found", "404 unknown route");
    assert_security_headers(&missing, "404");

    let wrong_method = raw(&app, Method::PUT, "/api/healthz", &[], None).await;
    assert_error(&wrong_method, 405, "method_not_allowed", "405 PUT healthz");
    assert_security_headers(&wrong_method, "405");
    // RFC 9110: a 405 says which methods the resource has, templated paths included.
    assert_eq!(wrong_method.header("allow").as_deref(), Some("GET, HEAD"));
    let r = raw(&app, Method::PUT, "/api/worklogs/some-id", &[], None).await;
    assert_error(&r, 405, "method_not_allowed", "405 PUT on an entry");
    let mut allow: Vec<String> = r
        .header("allow")
        .expect("Allow on 405")
        .split(", ")
        .map(str::to_string)
        .collect();
    allow.sort();
    assert_eq!(allow, ["DELETE", "GET", "HEAD", "PATCH"]);

    let big = format!(
        "{{\"email\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(10 * 1024)
    );
    let too_large = raw(
        &app,
        Method::POST,
        "/api/auth/token",
        &[("content-type", "application/json")],
        Some(big.into_bytes()),
    )
    .await;
    assert_error(&too_large, 413, "payload_too_large", "413 10 KB body");
    assert_security_headers(&too_large, "413");

    // Development: no HSTS, on successes or errors.
    for (r, what) in [
        (&ok, "200"),
        (&bad_json, "400"),
        (&unauth, "401"),
        (&forbidden, "403"),
        (&missing, "404"),
        (&wrong_method, "405"),
        (&too_large, "413"),
    ] {
        assert!(
            r.header("strict-transport-security").is_none(),
            "{what}: HSTS sent in development"
        );
    }
    // Each request got its own correlation ID.
    let ids: std::collections::HashSet<String> = [
        &ok,
        &bad_json,
        &unauth,
        &forbidden,
        &missing,
        &wrong_method,
        &too_large,
    ]
    .iter()
    .filter_map(|r| r.header("x-correlation-id"))
    .collect();
    assert_eq!(ids.len(), 7, "correlation ids are not unique: {ids:?}");
}

#[tokio::test]
async fn hsts_with_preload_in_production() {
    let app = spawn_app(&[("ENVIRONMENT", "production")]).await;
    let r = raw(&app, Method::GET, "/api/healthz", &[], None).await;
    assert_eq!(r.status, 200);
    let hsts = r
        .header("strict-transport-security")
        .expect("HSTS in production");
    assert!(hsts.contains("preload"), "HSTS {hsts:?}");
    assert!(hsts.contains("max-age="), "HSTS {hsts:?}");
    let max_age: u64 = hsts
        .split(';')
        .find_map(|p| p.trim().strip_prefix("max-age="))
        .and_then(|v| v.parse().ok())
        .expect("max-age value");
    assert!(
        max_age >= 31_536_000,
        "HSTS max-age {max_age} is below one year"
    );
    assert_security_headers(&r, "production 200");
    let r = raw(&app, Method::GET, "/api/nope", &[], None).await;
    assert_eq!(r.status, 404);
    assert!(
        r.header("strict-transport-security")
            .is_some_and(|h| h.contains("preload")),
        "HSTS missing on a 404"
    );
}

#[tokio::test]
async fn correlation_id_is_echoed_or_replaced() {
    let app = spawn_app(&[]).await;
    let mine = "3f2b8c1e-4d5a-4b6c-9d7e-0f1a2b3c4d5e";
    let r = raw(
        &app,
        Method::GET,
        "/api/healthz",
        &[("x-correlation-id", mine)],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-correlation-id").as_deref(), Some(mine));
    // Errors carry it in the body too.
    let r = raw(
        &app,
        Method::GET,
        "/api/me",
        &[("x-correlation-id", mine)],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("x-correlation-id").as_deref(), Some(mine));
    assert_eq!(r.body["error"]["correlation_id"], mine);

    for bad in ["not-a-uuid", "<script>", ""] {
        let r = raw(
            &app,
            Method::GET,
            "/api/nope",
            &[("x-correlation-id", bad)],
            None,
        )
        .await;
        assert_eq!(r.status, 404);
        let got = r.header("x-correlation-id").expect("correlation id header");
        assert_ne!(got, bad);
        let id =
            uuid::Uuid::parse_str(&got).unwrap_or_else(|e| panic!("{got:?} is not a UUID: {e}"));
        assert_eq!(id.get_version_num(), 4, "{got} is not a v4 UUID");
        assert_eq!(r.body["error"]["correlation_id"], got.as_str());
    }
}

#[tokio::test]
async fn trailing_slash_is_ignored() {
    let app = spawn_app(&[]).await;
    let staff = app.staff().await;
    let r = raw(&app, Method::GET, "/api/healthz/", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "ok");
    let plain = app.get("/api/me", &staff.token).await;
    let slashed = app.get("/api/me/", &staff.token).await;
    assert_eq!(slashed.status, 200, "{}", slashed.body);
    assert_eq!(slashed.body, plain.body);
    assert_eq!(slashed.body["email"], STAFF_EMAIL);
    // Without a token the slashed path is still protected.
    let r = raw(&app, Method::GET, "/api/me/", &[], None).await;
    r.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn malformed_input_gets_specific_4xx() {
    let app = spawn_app(&[]).await;
    let owner = app.new_owner("owner@example.test").await;
    let member = app
        .add_member(&owner, "member@example.test", "member")
        .await;

    let r = app
        .call(
            Method::PATCH,
            "/api/tenant/members/not-a-uuid",
            Some(&owner.token),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_error(&r, 400, "invalid_parameter", "bad uuid in path");

    let r = app
        .call(
            Method::PATCH,
            &format!("/api/tenant/members/{}", member.user_id),
            Some(&owner.token),
            Some(json!({"role": "root"})),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "unknown enum value");
    let r = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "root"}),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "unknown enum value in invitation");

    // Wrong JSON types are a bad body, not a failed login or a 500.
    let r = app
        .post(
            "/api/auth/token",
            None,
            json!({"email": ["a@example.test"], "password": "x"}),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "array for a string");
    let r = app
        .post(
            "/api/auth/token",
            None,
            json!({"email": null, "password": "x"}),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "null for a required string");
    let r = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "member", "expires_in_hours": "5"}),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "string for an integer");
    let r = app
        .post("/api/invitations", Some(&owner.token), json!({"role": 5}))
        .await;
    assert_error(&r, 400, "invalid_json", "number for an enum");

    let r = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "member", "expires_in_hours": 0}),
        )
        .await;
    assert_error(&r, 422, "validation_failed", "expires_in_hours 0");
    let r = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "member", "expires_in_hours": 721}),
        )
        .await;
    assert_error(&r, 422, "validation_failed", "expires_in_hours 721");

    // None of these changed anything.
    let r = app.get("/api/me", &member.token).await;
    assert_eq!(r.body["role"], "member");
    let r = app.get("/api/invitations", &owner.token).await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "only add_member's invitation exists: {}",
        r.body
    );
}

/// The API's own 400 contract (bad JSON, wrong types):
/// a number where a string is expected is a wrong type. poem-openapi coerces JSON
/// numbers and booleans into `String` fields, so the server currently treats
/// `{"email":5}` as the e-mail "5" and answers 401 invalid_credentials.
#[tokio::test]
async fn number_for_a_string_field_is_400() {
    let app = spawn_app(&[]).await;
    let r = app
        .post(
            "/api/auth/token",
            None,
            json!({"email": 5, "password": "x"}),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "number for the e-mail string");
    let r = app
        .post(
            "/api/auth/token",
            None,
            json!({"email": STAFF_EMAIL, "password": true}),
        )
        .await;
    assert_error(&r, 400, "invalid_json", "bool for the password string");
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let app = spawn_app(&[("AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    for i in 1..=3 {
        let r = app.login(STAFF_EMAIL, "wrong password").await;
        assert_error(&r, 401, "invalid_credentials", &format!("failed login {i}"));
    }
    let r = app.login(STAFF_EMAIL, "wrong password").await;
    assert_error(&r, 429, "rate_limited", "4th login");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // The IETF RateLimit fields name the policy and say nothing is left until the retry.
    let policy = r
        .header("ratelimit-policy")
        .expect("RateLimit-Policy header");
    assert!(
        policy.ends_with(";q=3;w=60") && policy.starts_with("\"auth-"),
        "RateLimit-Policy {policy}"
    );
    let name = policy.split(';').next().unwrap_or_default();
    assert_eq!(
        r.header("ratelimit"),
        Some(format!("{name};r=0;t={retry}")),
        "RateLimit"
    );
    // Even the right password is refused while limited.
    let r = app.login(STAFF_EMAIL, PASSWORD).await;
    r.assert_error(429, "rate_limited");
}

#[tokio::test]
async fn maintenance_mode_lets_only_health_and_staff_through() {
    let app = spawn_app(&[("MAINTENANCE_MODE", "true")]).await;
    let r = raw(&app, Method::GET, "/api/healthz", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = raw(&app, Method::GET, "/api/tenant", &[], None).await;
    assert_error(&r, 503, "maintenance", "anonymous in maintenance");
    assert_security_headers(&r, "503");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After on 503")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1, "Retry-After {retry}");
    // A forged/invalid token is not staff.
    let r = app.get("/api/tenant", "garbage.token.value").await;
    r.assert_error(503, "maintenance");

    // Staff can log in and work.
    let staff = app.staff().await;
    let r = app.get("/api/admin/users", &staff.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == STAFF_EMAIL),
        "{}",
        r.body
    );
    let r = app.get("/api/me", &staff.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["is_staff"], true);
}

#[tokio::test]
async fn service_token_required_on_private_paths() {
    let app = spawn_app(&[
        ("REQUIRE_SERVICE_TOKEN", "true"),
        ("SERVICE_TO_SERVICE_SECRET", SVC_SECRET),
    ])
    .await;

    // Public paths need none.
    let r = raw(&app, Method::GET, "/api/healthz", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let staff = app.staff().await; // POST /api/auth/token without a service token

    let me = |token: Option<String>| {
        let bearer = format!("Bearer {}", staff.token);
        let app = &app;
        async move {
            let mut h: Vec<(&str, &str)> = vec![("authorization", bearer.as_str())];
            if let Some(t) = token.as_deref() {
                h.push(("x-service-token", t));
            }
            raw(app, Method::GET, "/api/me", &h, None).await
        }
    };

    let r = me(None).await;
    assert_error(
        &r,
        401,
        "service_token_missing",
        "bearer without service token",
    );

    let r = me(Some(service_token(SVC_SECRET, now()))).await;
    assert_eq!(r.status, 200, "valid service token: {}", r.body);
    assert_eq!(r.body["email"], STAFF_EMAIL);

    let r = me(Some(service_token(SVC_SECRET, now() - 600))).await;
    assert_error(
        &r,
        401,
        "service_token_expired",
        "10-minute-old service token",
    );
    let r = me(Some(service_token(SVC_SECRET, now() + 600))).await;
    assert_error(
        &r,
        401,
        "service_token_expired",
        "service token 10 minutes in the future",
    );

    let r = me(Some("garbage".into())).await;
    assert_error(&r, 401, "service_token_invalid", "garbage service token");
    let r = me(Some(format!("{}:zz", now()))).await;
    assert_error(&r, 401, "service_token_invalid", "non-hex signature");

    let r = me(Some(service_token("another-secret-entirely", now()))).await;
    assert_error(
        &r,
        401,
        "service_token_invalid",
        "signature from another secret",
    );
    // A signature for another timestamp doesn't carry over.
    let sig = service_token(SVC_SECRET, now() - 1)
        .split_once(':')
        .unwrap()
        .1
        .to_string();
    let r = me(Some(format!("{}:{sig}", now() + 1))).await;
    assert_error(
        &r,
        401,
        "service_token_invalid",
        "signature for another timestamp",
    );
}

#[tokio::test]
async fn admin_ip_allowlist() {
    let denied = spawn_app(&[("ADMIN_IP_ALLOWLIST", "10.9.9.9")]).await;
    let staff = denied.staff().await;
    let r = denied.get("/api/admin/users", &staff.token).await;
    assert_error(
        &r,
        403,
        "ip_not_allowed",
        "admin from 127.0.0.1 with allowlist 10.9.9.9",
    );
    // Only admin endpoints are fenced.
    let r = denied.get("/api/me", &staff.token).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let allowed = spawn_app(&[("ADMIN_IP_ALLOWLIST", "127.0.0.1/32")]).await;
    let staff = allowed.staff().await;
    let r = allowed.get("/api/admin/users", &staff.token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["items"].is_array());
}
