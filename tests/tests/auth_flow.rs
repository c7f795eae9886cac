//! invite → signup → login → refresh rotation → reuse detection → logout, plus the
//! passkey rules, disabled users and password changes, over HTTP against the real binary.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn full_session_lifecycle() {
    let app = spawn_app(&[]).await;
    let pk = app.tenant_passkey().await;

    // Signup creates a tenant owned by the new user and logs them in.
    let r = app.signup(&pk, "Ada@Example.test").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["role"], "owner");
    let set_cookie = r.header("set-cookie").unwrap();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/api/auth"),
        "{set_cookie}"
    );
    let ada = app.session_from(&r, "ada@example.test").await;
    let me = app.get("/api/me", &ada.token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "ada@example.test", "e-mail is normalised");
    assert_eq!(me.body["tenant_id"], ada.tenant_id.as_str());

    // Login works; wrong password and unknown e-mail are indistinguishable.
    let login = app.login("ada@example.test", PASSWORD).await;
    assert_eq!(login.status, 200);
    let s1 = app.session_from(&login, "ada@example.test").await;
    let bad = app.login("ada@example.test", "wrong password!").await;
    let unknown = app.login("nobody@example.test", "wrong password!").await;
    assert_eq!(
        (bad.status.as_u16(), bad.code()),
        (401, "invalid_credentials")
    );
    assert_eq!(
        (unknown.status.as_u16(), unknown.code()),
        (401, "invalid_credentials")
    );
    assert_eq!(
        bad.body["error"]["message"],
        unknown.body["error"]["message"]
    );

    // Refresh rotates: a new cookie, a working access token.
    let r2 = app
        .cookie_post("/api/auth/token/refresh", &s1.refresh)
        .await;
    assert_eq!(r2.status, 200, "{}", r2.body);
    let rt2 = r2.refresh_cookie().unwrap();
    assert_ne!(rt2, s1.refresh);
    let t2 = r2.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/me", &t2).await.status, 200);
    let r3 = app.cookie_post("/api/auth/token/refresh", &rt2).await;
    assert_eq!(r3.status, 200);
    let rt3 = r3.refresh_cookie().unwrap();

    // Reusing the first (rotated) token revokes the whole family, including rt3.
    let reuse = app
        .cookie_post("/api/auth/token/refresh", &s1.refresh)
        .await;
    assert_eq!(
        (reuse.status.as_u16(), reuse.code()),
        (401, "refresh_reused")
    );
    let after = app.cookie_post("/api/auth/token/refresh", &rt3).await;
    assert_eq!(
        (after.status.as_u16(), after.code()),
        (401, "refresh_invalid")
    );
    // Other logins (the signup session) are a different family and keep working.
    let other = app
        .cookie_post("/api/auth/token/refresh", &ada.refresh)
        .await;
    assert_eq!(other.status, 200, "{}", other.body);
    let other_rt = other.refresh_cookie().unwrap();

    // Logout revokes and clears the cookie.
    let out = app.cookie_post("/api/auth/logout", &other_rt).await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let dead = app.cookie_post("/api/auth/token/refresh", &other_rt).await;
    assert_eq!(dead.status, 401);

    let kinds = app.audit_kinds(&ada.user_id).await;
    for k in [
        "signup",
        "invite_used",
        "login_succeeded",
        "login_failed",
        "refresh",
        "refresh_reuse_detected",
        "logout",
    ] {
        assert!(kinds.iter().any(|x| x == k), "audit lacks {k}: {kinds:?}");
    }
    // Session refreshes (one per page load) can be left out, as the UI does by default.
    let staff = app.staff().await;
    let r = app
        .get(
            &format!(
                "/api/admin/audit?user_id={}&exclude_kind=refresh&exclude_kind=logout&limit=200",
                ada.user_id
            ),
            &staff.token,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shown: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(shown.contains(&"login_succeeded"), "{shown:?}");
    assert!(
        !shown.iter().any(|k| *k == "refresh" || *k == "logout"),
        "{shown:?}"
    );
    assert_eq!(
        shown.len(),
        kinds
            .iter()
            .filter(|k| *k != "refresh" && *k != "logout")
            .count()
    );
}

#[tokio::test]
async fn refresh_and_logout_need_origin_and_custom_header() {
    let app = spawn_app(&[("CSRF_TRUSTED_ORIGINS", "https://app.example.test")]).await;
    let ada = app.new_owner("ada@example.test").await;
    let url = format!("{}/api/auth/token/refresh", app.base);
    let send = |origin: Option<&'static str>, custom: bool| {
        let mut req = app
            .http
            .post(&url)
            .header("cookie", format!("ar_refresh={}", ada.refresh));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if custom {
            req = req.header("x-requested-with", "afterresume");
        }
        async move { App::read(req.send().await.unwrap()).await }
    };
    let no_header = send(Some("https://app.example.test"), false).await;
    assert_eq!(
        (no_header.status.as_u16(), no_header.code()),
        (403, "csrf_failed")
    );
    let no_origin = send(None, true).await;
    assert_eq!(
        (no_origin.status.as_u16(), no_origin.code()),
        (403, "csrf_failed")
    );
    let evil = send(Some("https://evil.example.test"), true).await;
    assert_eq!((evil.status.as_u16(), evil.code()), (403, "csrf_failed"));
    // A trusted cross origin works.
    let trusted = send(Some("https://app.example.test"), true).await;
    assert_eq!(trusted.status, 200, "{}", trusted.body);
    // No cookie at all.
    let r = app
        .http
        .post(&url)
        .header("origin", app.base.clone())
        .header("x-requested-with", "1")
        .send()
        .await
        .unwrap();
    let r = App::read(r).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "refresh_invalid"));
}

#[tokio::test]
async fn passkeys_are_single_use_with_distinct_errors() {
    let app = spawn_app(&[]).await;
    let owner = app.new_owner("owner@example.test").await;

    let unknown = app.signup("inv_doesnotexist", "x@example.test").await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.code()),
        (410, "passkey_unknown")
    );

    let inv = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "read_only", "email": "ro@example.test"}),
        )
        .await;
    assert_eq!(inv.status, 201);
    let pk = inv.body["passkey"].as_str().unwrap().to_string();
    assert_eq!(inv.body["status"], "pending");
    // The passkey is never shown again.
    let list = app.get("/api/invitations", &owner.token).await;
    assert!(!list.body.to_string().contains(&pk));

    let ro = app.signup(&pk, "ro@example.test").await;
    assert_eq!(ro.status, 201, "{}", ro.body);
    assert_eq!(ro.body["role"], "read_only");
    assert_eq!(
        ro.body["tenant_id"],
        owner.tenant_id.as_str(),
        "a tenant invite joins that tenant"
    );
    let used = app.signup(&pk, "again@example.test").await;
    assert_eq!((used.status.as_u16(), used.code()), (410, "passkey_used"));

    let inv2 = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "member"}),
        )
        .await;
    let id2 = inv2.body["id"].as_str().unwrap();
    let revoke = app
        .call(
            Method::DELETE,
            &format!("/api/invitations/{id2}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(revoke.status, 204);
    let revoked = app
        .signup(inv2.body["passkey"].as_str().unwrap(), "late@example.test")
        .await;
    assert_eq!(
        (revoked.status.as_u16(), revoked.code()),
        (410, "passkey_revoked")
    );

    // Existing e-mail.
    let inv3 = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "member"}),
        )
        .await;
    let dup = app
        .signup(inv3.body["passkey"].as_str().unwrap(), "RO@example.test")
        .await;
    assert_eq!((dup.status.as_u16(), dup.code()), (409, "email_taken"));
    // The failed signup did not burn the passkey.
    let ok = app
        .signup(inv3.body["passkey"].as_str().unwrap(), "new@example.test")
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);

    // Input validation.
    let inv4 = app
        .post(
            "/api/invitations",
            Some(&owner.token),
            json!({"role": "member"}),
        )
        .await;
    let pk4 = inv4.body["passkey"].as_str().unwrap();
    for (body, what) in [
        (
            json!({"passkey": pk4, "email": "not-an-email", "password": PASSWORD, "display_name": "X"}),
            "email",
        ),
        (
            json!({"passkey": pk4, "email": "v@example.test", "password": "short", "display_name": "X"}),
            "password",
        ),
        (
            json!({"passkey": pk4, "email": "v@example.test", "password": PASSWORD, "display_name": "  "}),
            "display_name",
        ),
        (
            json!({"passkey": pk4, "email": "v@example.test", "password": PASSWORD, "display_name": "X", "timezone": "Mars/Base"}),
            "timezone",
        ),
    ] {
        let r = app.post("/api/auth/signup", None, body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (422, "validation_failed"),
            "{what}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn concurrent_signups_with_one_passkey_exactly_one_wins() {
    let app = std::sync::Arc::new(spawn_app(&[]).await);
    let pk = app.tenant_passkey().await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            let pk = pk.clone();
            tokio::spawn(async move { app.signup(&pk, &format!("racer{i}@example.test")).await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        results
            .iter()
            .map(|r| (r.status, r.code().to_string()))
            .collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 201) {
        r.assert_error(410, "passkey_used");
    }
    // Exactly one new tenant appeared: the staff user's workspace plus the winner's.
    let staff = app.staff().await;
    let users = app.get("/api/admin/users", &staff.token).await;
    let racers = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"].as_str().unwrap().starts_with("racer"))
        .count();
    assert_eq!(racers, 1);
}

#[tokio::test]
async fn disabled_users_lose_access_everywhere() {
    let app = spawn_app(&[]).await;
    let ada = app.new_owner("ada@example.test").await;
    let staff = app.staff().await;
    let r = app
        .post(
            &format!("/api/admin/users/{}/disable", ada.user_id),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    let me = app.get("/api/me", &ada.token).await;
    assert_eq!((me.status.as_u16(), me.code()), (403, "account_disabled"));
    let login = app.login("ada@example.test", PASSWORD).await;
    assert_eq!(
        (login.status.as_u16(), login.code()),
        (403, "account_disabled")
    );
    let refresh = app
        .cookie_post("/api/auth/token/refresh", &ada.refresh)
        .await;
    assert_eq!(
        refresh.status, 401,
        "sessions were revoked on disable: {}",
        refresh.body
    );
    assert!(app
        .audit_kinds(&staff.user_id)
        .await
        .contains(&"user_disabled".to_string()));

    let r = app
        .post(
            &format!("/api/admin/users/{}/enable", ada.user_id),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.login("ada@example.test", PASSWORD).await.status, 200);
    // Staff can't disable themselves; unknown ids are 404.
    let me = app
        .post(
            &format!("/api/admin/users/{}/disable", staff.user_id),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!((me.status.as_u16(), me.code()), (422, "validation_failed"));
    let missing = app
        .post(
            &format!("/api/admin/users/{}/disable", uuid::Uuid::now_v7()),
            Some(&staff.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (missing.status.as_u16(), missing.code()),
        (404, "not_found")
    );
}

#[tokio::test]
async fn password_change_and_profile() {
    let app = spawn_app(&[]).await;
    let ada = app.new_owner("ada@example.test").await;
    let wrong = app
        .post(
            "/api/me/password",
            Some(&ada.token),
            json!({"current_password": "nope nope nope", "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(
        (wrong.status.as_u16(), wrong.code()),
        (401, "invalid_credentials")
    );
    let weak = app
        .post(
            "/api/me/password",
            Some(&ada.token),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (weak.status.as_u16(), weak.code()),
        (422, "validation_failed")
    );
    let ok = app
        .post(
            "/api/me/password",
            Some(&ada.token),
            json!({"current_password": PASSWORD, "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_eq!(app.login("ada@example.test", PASSWORD).await.status, 401);
    let relogin = app.login("ada@example.test", "a brand new password").await;
    assert_eq!(relogin.status, 200);
    assert_eq!(
        app.cookie_post("/api/auth/token/refresh", &ada.refresh)
            .await
            .status,
        401,
        "old sessions revoked"
    );
    // The old access token ended with its login (it used to live until expiry).
    assert_eq!(app.get("/api/me", &ada.token).await.status, 401);
    let ada = app.session_from(&relogin, "ada@example.test").await;
    assert!(app
        .audit_kinds(&ada.user_id)
        .await
        .contains(&"password_changed".to_string()));

    let r = app
        .call(
            Method::PATCH,
            "/api/me",
            Some(&ada.token),
            Some(json!({"display_name": "Ada L.", "timezone": "Europe/Berlin"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["display_name"].as_str(), r.body["timezone"].as_str()),
        (Some("Ada L."), Some("Europe/Berlin"))
    );
    let bad = app
        .call(
            Method::PATCH,
            "/api/me",
            Some(&ada.token),
            Some(json!({"timezone": "Nowhere/Land"})),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.code()),
        (422, "validation_failed")
    );
}

/// Page loads and tabs refresh one login many times from one address (a household or an
/// office shares one): that is limited per login, not per address, and only refused
/// tokens count against the address.
#[tokio::test]
async fn refreshes_are_limited_per_login_and_only_refused_tokens_count_per_address() {
    let app = spawn_app(&[
        ("AUTH_RATE_LIMIT_PER_MINUTE", "4"),
        ("REFRESH_RATE_LIMIT_PER_MINUTE", "25"),
    ])
    .await;
    let ada = app.new_owner("ada@example.test").await;
    let bob = app.new_owner("bob@example.test").await;
    // Two staff logins and two signups spent the address's auth budget.
    app.login("ada@example.test", PASSWORD)
        .await
        .assert_error(429, "rate_limited");

    // Ada's session still refreshes 25 times in a row, as reloads in two tabs do.
    let mut rt = ada.refresh.clone();
    for i in 0..25 {
        let r = app.cookie_post("/api/auth/token/refresh", &rt).await;
        assert_eq!(r.status, 200, "refresh {i}: {}", r.body);
        rt = r.refresh_cookie().unwrap();
    }
    // One more within the minute is over the login's budget, which the answer names.
    let over = app.cookie_post("/api/auth/token/refresh", &rt).await;
    over.assert_error(429, "rate_limited");
    let policy = over.header("ratelimit-policy").unwrap_or_default();
    assert!(policy.contains("refresh-session"), "{policy}");
    assert!(over.header("retry-after").is_some());
    // Another login from the same address has its own budget.
    let other = app
        .cookie_post("/api/auth/token/refresh", &bob.refresh)
        .await;
    assert_eq!(other.status, 200, "{}", other.body);

    // Made-up tokens are refused, and after AUTH_RATE_LIMIT_PER_MINUTE of them the
    // address waits before presenting any.
    for i in 0..4 {
        let guess = app
            .cookie_post("/api/auth/token/refresh", &format!("guess-{i}"))
            .await;
        guess.assert_error(401, "refresh_invalid");
    }
    let blocked = app.cookie_post("/api/auth/token/refresh", "guess-5").await;
    blocked.assert_error(429, "rate_limited");
    let policy = blocked.header("ratelimit-policy").unwrap_or_default();
    assert!(policy.contains("refresh-failures-ip"), "{policy}");
}
