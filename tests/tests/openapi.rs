//! The OpenAPI document is a product surface: it must match the server, and every
//! operation outside a short public allowlist must require authentication.

mod common;

use common::*;

fn generated() -> serde_json::Value {
    let (code, out, err) = cli(&[], &["openapi"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn checked_in_spec_matches_the_server() {
    let path = common::package_dir().join("../openapi/openapi.json");
    let checked_in: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("openapi/openapi.json exists"))
            .unwrap();
    assert!(
        checked_in == generated(),
        "openapi/openapi.json is stale: run scripts/openapi.sh"
    );
}

/// Operations callable without a token.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/auth/signup"),
    ("post", "/auth/token"),
    ("post", "/auth/token/refresh"),
    ("post", "/auth/logout"),
];

#[test]
fn every_operation_requires_auth_unless_public() {
    let spec = generated();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            checked += 1;
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let public = PUBLIC.contains(&(method.as_str(), path.as_str()))
                || path.starts_with("/share/")
                || path == "/billing/webhook";
            assert!(
                secured || public,
                "{method} {path} has no security requirement"
            );
            assert!(
                !(secured && public),
                "{method} {path} is public but declares security"
            );
            // Every operation that takes input or credentials documents the error envelope.
            if secured || method != "get" {
                assert!(
                    op["responses"]["400"].is_object(),
                    "{method} {path} lacks the 400 error response"
                );
            }
        }
    }
    assert!(checked >= 20, "only {checked} operations found");
    assert!(spec["components"]["schemas"]["ErrorBody"].is_object());
    let codes = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap();
    assert!(codes.iter().any(|c| c == "passkey_used"));
}

#[tokio::test]
async fn docs_and_spec_are_served() {
    let app = spawn_app(&[]).await;
    let r = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let served: serde_json::Value = r.json().await.unwrap();
    assert_eq!(served["info"]["title"], "AfterResume API");
    let docs = app
        .http
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("swagger"));
}
