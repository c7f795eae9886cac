//! The `afterresume` CLI: environment validation, OpenAPI export, admin commands.

mod common;

use common::*;

fn env_without(
    dir: &std::path::Path,
    drop: &[&str],
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = base_env(dir);
    env.retain(|(k, _)| !drop.contains(&k.as_str()));
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

#[test]
fn validate_env_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_without(
        dir.path(),
        &["SECRET_KEY"],
        &[
            ("PORT", "eighty"),
            ("SURREAL_URL", "postgres://db"),
            ("MINIO_ENDPOINT", "http://127.0.0.1:9000"),
            ("ENVIRONMENT", "production"),
        ],
    );
    let (code, _out, err) = cli(&env, &["validate-env"]);
    assert_eq!(code, 2, "{err}");
    for needle in [
        "SECRET_KEY is missing",
        "PORT",
        "SURREAL_URL",
        "MINIO_ACCESS_KEY",
        "MINIO_BUCKET",
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    // A short key is rejected in production only.
    let short = env_without(
        dir.path(),
        &[],
        &[("SECRET_KEY", "too-short"), ("ENVIRONMENT", "production")],
    );
    let (code, _, err) = cli(&short, &["validate-env"]);
    assert_eq!(code, 2);
    assert!(err.contains("at least 32"), "{err}");
    // `serve` runs the same validation and refuses to start.
    let (code, _, err) = cli(&short, &["serve"]);
    assert_eq!(code, 2);
    assert!(err.contains("SECRET_KEY"), "{err}");
}

#[test]
fn validate_env_ok_and_status_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_without(
        dir.path(),
        &[],
        &[
            ("EMAIL_HOST_PASSWORD", "hunter2"),
            ("EMAIL_HOST_USER", "mailer"),
        ],
    );
    let (code, out, err) = cli(&env, &["validate-env", "--print-status"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("environment OK"));
    assert!(out.contains("SECRET_KEY") && out.contains("set (hidden)"));
    assert!(
        !out.contains(SECRET) && !out.contains("hunter2"),
        "secrets leaked: {out}"
    );
    assert!(out.contains("EMAIL_HOST_USER") && out.contains("mailer"));
}

#[test]
fn openapi_needs_no_configuration() {
    let (code, out, _) = cli(&[], &["openapi"]);
    assert_eq!(code, 0);
    let spec: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        spec["paths"]["/auth/token"].is_object() || spec["paths"]["/api/auth/token"].is_object(),
        "{}",
        spec["paths"]
    );
}

#[test]
fn admin_commands_manage_users_and_invites() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(dir.path());
    let (code, _, err) = cli(&env, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(
        &env,
        &[
            "admin",
            "create-staff",
            "--email",
            "Root@Example.test",
            "--password",
            PASSWORD,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("root@example.test"));
    // A command that worked prints its result and nothing else: no log lines.
    assert_eq!(err.trim(), "", "a successful command is quiet on stderr");
    let workspace = out.trim().rsplit("workspace ").next().unwrap().to_string();
    // Roles are spelled as the API spells them; the hyphenated spelling is accepted.
    for spelling in ["read_only", "read-only"] {
        let (code, _, err) = cli(
            &env,
            &[
                "admin", "invite", "--role", spelling, "--tenant", &workspace,
            ],
        );
        assert_eq!(code, 0, "{spelling}: {err}");
        assert!(err.contains("(read_only, expires"), "{spelling}: {err}");
    }
    let (code, _, err) = cli(
        &env,
        &[
            "admin",
            "create-staff",
            "--email",
            "root@example.test",
            "--password",
            PASSWORD,
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"));
    let (code, _, err) = cli(
        &env,
        &[
            "admin",
            "create-staff",
            "--email",
            "weak@example.test",
            "--password",
            "short",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("at least"), "{err}");

    let (code, out, _) = cli(&env, &["admin", "invite", "--role", "owner"]);
    assert_eq!(code, 0);
    let passkey = out.trim();
    assert!(
        passkey.starts_with("inv_") && passkey.len() == 68,
        "{passkey}"
    );
    let (code, _, err) = cli(
        &env,
        &[
            "admin",
            "invite",
            "--tenant",
            &uuid::Uuid::now_v7().to_string(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no tenant"));

    let (code, _, err) = cli(
        &env,
        &[
            "admin",
            "reset-password",
            "--email",
            "root@example.test",
            "--password",
            "another long password",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = cli(
        &env,
        &["admin", "disable-user", "--email", "root@example.test"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("disabled"));
    let (code, _, err) = cli(
        &env,
        &["admin", "disable-user", "--email", "ghost@example.test"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no user"));
}

#[tokio::test]
async fn cli_changes_are_seen_by_the_server() {
    // Reset password + invite through the CLI, then use them over HTTP.
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(dir.path());
    assert_eq!(
        cli(
            &env,
            &[
                "admin",
                "create-staff",
                "--email",
                "ops@example.test",
                "--password",
                PASSWORD
            ]
        )
        .0,
        0
    );
    assert_eq!(
        cli(
            &env,
            &[
                "admin",
                "reset-password",
                "--email",
                "ops@example.test",
                "--password",
                "rotated password 9"
            ]
        )
        .0,
        0
    );
    let (_, out, _) = cli(&env, &["admin", "invite"]);
    let passkey = out.trim().to_string();
    let port = free_port();
    let mut child = std::process::Command::new(bin("afterresume"))
        .args(["serve", "--port", &port.to_string()])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..300 {
        if http
            .get(format!("{base}/api/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up);
    // While the server holds the embedded database, a command says what to do.
    let (code, _, err) = cli(&env, &["admin", "invite"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("in use by another process") && err.contains("/api/admin"),
        "{err}"
    );
    let login = |pw: &'static str| {
        http.post(format!("{base}/api/auth/token"))
            .json(&serde_json::json!({"email": "ops@example.test", "password": pw}))
            .send()
    };
    assert_eq!(login(PASSWORD).await.unwrap().status(), 401);
    assert_eq!(login("rotated password 9").await.unwrap().status(), 200);
    let r = http
        .post(format!("{base}/api/auth/signup"))
        .json(&serde_json::json!({"passkey": passkey, "email": "new@example.test", "password": PASSWORD, "display_name": "New", "tenant_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["role"], "owner");
    let _ = child.kill();
    let _ = child.wait();
}
