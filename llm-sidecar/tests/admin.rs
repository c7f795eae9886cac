//! Hardening of the admin endpoints, through the real binary: load requests take only
//! their documented fields, can't weaken the integrity check, stay within the context
//! and loaded-model limits, and LLM_ADMIN_SECRET keeps service tokens out of /admin/*.
//! No weights needed (the fake backend, or files that fail before being parsed).

mod common;

use common::{token, token_for, Opts, Sidecar, CHAT_MODEL, EMBED_MODEL, SECRET};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const ADMIN_SECRET: &str = "test-admin-secret";

async fn fake(env: &[(&'static str, &str)]) -> Sidecar {
    let mut env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    env.push(("LLM_SIDECAR_BACKEND", "fake".into()));
    Sidecar::start(Opts {
        env,
        ..Default::default()
    })
    .await
}

async fn model_ids(sc: &Sidecar) -> Vec<String> {
    let (_, v) = sc.get_json("/v1/models").await;
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

async fn load(sc: &Sidecar, body: Value) -> (u16, Value) {
    let (status, _, v) = sc.post_json("/admin/models/load", &body).await;
    (status, v)
}

/// The sidecar's error shape, with `code` (and `param` when given).
fn assert_error(v: &Value, code: &str, param: Option<&str>) {
    let e = &v["error"];
    assert_eq!(e["code"], code, "{v}");
    assert!(e["type"].is_string(), "{v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    if let Some(p) = param {
        assert_eq!(e["param"], p, "{v}");
    }
}

fn message(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or("")
}

#[tokio::test]
async fn load_requests_accept_only_documented_fields() {
    let sc = fake(&[("LLM_LOAD_MODELS", "none")]).await;
    for (field, value) in [
        ("context_lenght", json!(2048)),
        ("name", json!("another-name")),
        ("autoload", json!(true)),
        ("install", json!({"pypi": "x"})),
    ] {
        let mut body = json!({"model": CHAT_MODEL});
        body[field] = value;
        let (status, v) = load(&sc, body).await;
        assert_eq!(status, 400, "{field}: {v}");
        assert_error(&v, "unknown_field", Some(field));
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(message(&v).contains(&format!("`{field}`")), "{v}");
    }
    // A manifest model's sha256 can't be replaced, not even by the right value.
    let (status, v) = load(&sc, json!({"model": CHAT_MODEL, "sha256": "ab".repeat(32)})).await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "invalid_value", Some("sha256"));
    let (status, v) = load(
        &sc,
        json!({"model": "extra", "task": "chat", "family": "llama", "backend": "fake", "sha256": "xyz"}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "invalid_value", Some("sha256"));
    assert!(
        model_ids(&sc).await.is_empty(),
        "a refused request loaded something"
    );

    // null leaves the manifest's value in place.
    let (status, v) = load(
        &sc,
        json!({"model": CHAT_MODEL, "context_length": null, "file": null, "sha256": null, "task": null}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["loaded"]["context_length"], 8192, "{v}");
    // Documented fields still override.
    let (status, v) = load(&sc, json!({"model": CHAT_MODEL, "context_length": 2048})).await;
    assert_eq!(
        (status, v["loaded"]["context_length"].as_u64()),
        (200, Some(2048)),
        "{v}"
    );
}

/// A models directory holding `tampered.gguf`, listed in the manifest with a sha256
/// that isn't its own, and `other.gguf`.
fn tampered_models_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tampered.gguf"),
        b"these are not the pinned weights",
    )
    .unwrap();
    std::fs::write(dir.path().join("other.gguf"), b"nor are these").unwrap();
    let manifest = format!(
        "[[models]]\nname = \"tampered\"\nbackend = \"candle\"\ntask = \"chat\"\n\
         family = \"llama\"\nfile = \"tampered.gguf\"\nsha256 = \"{}\"\ncontext_length = 2048\n",
        "0".repeat(64)
    );
    std::fs::write(dir.path().join("models.toml"), manifest).unwrap();
    dir
}

async fn sidecar_on(dir: &Path, env: &[(&'static str, &str)]) -> Sidecar {
    let mut env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    env.push(("LLM_MODELS_DIR", dir.to_str().unwrap().into()));
    env.push(("LLM_LOAD_MODELS", "none".into()));
    Sidecar::start(Opts {
        env,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn sha256_null_does_not_skip_the_integrity_check() {
    let dir = tampered_models_dir();
    let sc = sidecar_on(dir.path(), &[]).await;
    let integrity_error = |status: u16, v: &Value| {
        assert_eq!(status, 422, "{v}");
        assert_error(v, "model_load_failed", None);
        assert!(message(v).contains("sha256 mismatch"), "{v}");
    };
    // Explicit null, absent: the manifest's sha256 is checked either way.
    let (status, v) = load(&sc, json!({"model": "tampered", "sha256": null})).await;
    integrity_error(status, &v);
    let (status, v) = load(&sc, json!({"model": "tampered"})).await;
    integrity_error(status, &v);
    // The request can't bring the file's real hash instead.
    let real = llm_sidecar::models::sha256_file(&dir.path().join("tampered.gguf")).unwrap();
    let (status, v) = load(&sc, json!({"model": "tampered", "sha256": real})).await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "invalid_value", Some("sha256"));
    // Pointing the model at another file keeps the manifest's pin on it.
    let (status, v) = load(&sc, json!({"model": "tampered", "file": "other.gguf"})).await;
    integrity_error(status, &v);

    // A model outside the manifest must bring a sha256 for its file...
    let unlisted =
        json!({"model": "unlisted", "task": "chat", "family": "llama", "file": "tampered.gguf"});
    let (status, v) = load(&sc, unlisted.clone()).await;
    assert_eq!(status, 422, "{v}");
    assert!(message(&v).contains("no sha256 pins it"), "{v}");
    let mut with_null = unlisted.clone();
    with_null["sha256"] = Value::Null;
    let (status, v) = load(&sc, with_null).await;
    assert_eq!(status, 422, "{v}");
    assert!(message(&v).contains("no sha256 pins it"), "{v}");
    // ...and the file must match it.
    let mut pinned = unlisted.clone();
    pinned["sha256"] = json!("1".repeat(64));
    let (status, v) = load(&sc, pinned).await;
    integrity_error(status, &v);
    assert!(model_ids(&sc).await.is_empty());

    // LLM_VERIFY_SHA256=false turns both checks off: the file is read (and, not being
    // weights, fails to parse).
    let off = sidecar_on(dir.path(), &[("LLM_VERIFY_SHA256", "false")]).await;
    for body in [json!({"model": "tampered", "sha256": null}), unlisted] {
        let (status, v) = load(&off, body).await;
        assert_eq!(status, 422, "{v}");
        assert!(message(&v).contains("reading GGUF"), "{v}");
    }
}

#[tokio::test]
async fn context_length_is_bounded() {
    let sc = fake(&[
        ("LLM_LOAD_MODELS", "none"),
        ("LLM_MAX_CONTEXT_LENGTH", "4096"),
    ])
    .await;
    for n in [json!(1_000_000_000_u64), json!(4097), json!(0)] {
        let (status, v) = load(&sc, json!({"model": CHAT_MODEL, "context_length": n})).await;
        assert_eq!(status, 400, "{n}: {v}");
        assert_error(&v, "invalid_value", Some("context_length"));
        assert!(message(&v).contains("LLM_MAX_CONTEXT_LENGTH"), "{v}");
    }
    let (status, v) = load(
        &sc,
        json!({"model": "extra", "task": "chat", "family": "llama", "backend": "fake", "context_length": 65536}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "invalid_value", Some("context_length"));
    // The manifest's 8192 is over this bound too.
    let (status, v) = load(&sc, json!({"model": CHAT_MODEL})).await;
    assert_eq!(status, 422, "{v}");
    assert_error(&v, "model_load_failed", None);
    assert!(message(&v).contains("LLM_MAX_CONTEXT_LENGTH"), "{v}");
    assert!(model_ids(&sc).await.is_empty());
    // Within it, the load goes through.
    let (status, v) = load(&sc, json!({"model": CHAT_MODEL, "context_length": 4096})).await;
    assert_eq!(
        (status, v["loaded"]["context_length"].as_u64()),
        (200, Some(4096)),
        "{v}"
    );
}

#[tokio::test]
async fn the_number_of_loaded_models_is_capped() {
    let sc = fake(&[("LLM_LOAD_MODELS", "none"), ("LLM_MAX_LOADED_MODELS", "2")]).await;
    let extra =
        |name: &str| json!({"model": name, "task": "chat", "family": "llama", "backend": "fake"});
    assert_eq!(load(&sc, json!({"model": CHAT_MODEL})).await.0, 200);
    assert_eq!(load(&sc, json!({"model": EMBED_MODEL})).await.0, 200);
    let (status, v) = load(&sc, extra("third")).await;
    assert_eq!(status, 409, "{v}");
    assert_error(&v, "model_limit_reached", None);
    assert!(message(&v).contains("LLM_MAX_LOADED_MODELS"), "{v}");
    // Reloading (hot-swapping) a loaded model needs no free slot.
    let (status, v) = load(&sc, json!({"model": CHAT_MODEL, "context_length": 1024})).await;
    assert_eq!(
        (status, v["loaded"]["context_length"].as_u64()),
        (200, Some(1024)),
        "{v}"
    );
    assert_eq!(load(&sc, json!({"model": CHAT_MODEL})).await.0, 200);
    assert_eq!(model_ids(&sc).await, [EMBED_MODEL, CHAT_MODEL]);
    // Unloading frees a slot.
    let (status, _, _) = sc
        .post_json("/admin/models/unload", &json!({"model": EMBED_MODEL}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(load(&sc, extra("third")).await.0, 200);
    let (_, list) = sc.get_json("/admin/models").await;
    assert_eq!(list["max_loaded_models"], 2);

    // Concurrent loads can't overshoot: from none loaded, exactly two of eight succeed.
    for m in [CHAT_MODEL, "third"] {
        let (status, _, _) = sc
            .post_json("/admin/models/unload", &json!({"model": m}))
            .await;
        assert_eq!(status, 200);
    }
    let loads = (0..8).map(|i| {
        let (url, tok, body) = (sc.url.clone(), token(), extra(&format!("m{i}")));
        tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(format!("{url}/admin/models/load"))
                .header("x-service-token", tok)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    });
    let mut statuses = Vec::new();
    for l in loads.collect::<Vec<_>>() {
        let (status, v) = l.await.unwrap();
        if status != 200 {
            assert_error(&v, "model_limit_reached", None);
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 409, 409, 409, 409, 409, 409]);
    assert_eq!(model_ids(&sc).await.len(), 2);
}

#[tokio::test]
async fn start_up_models_beyond_the_cap_are_a_start_up_error() {
    // The manifest autoloads two models.
    let cwd = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_llm-sidecar"))
        .current_dir(cwd.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("LLM_MODELS_DIR", common::models_dir())
        .env("LLM_SIDECAR_BACKEND", "fake")
        .env("SERVICE_TO_SERVICE_SECRET", SECRET)
        .env("LLM_MAX_LOADED_MODELS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the sidecar kept running with more start-up models than the cap");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("LLM_MAX_LOADED_MODELS=1"), "{err}");
}

#[tokio::test]
async fn an_admin_secret_separates_the_admin_routes() {
    let sc = fake(&[("LLM_ADMIN_SECRET", ADMIN_SECRET)]).await;
    let service = token();
    let admin = token_for(ADMIN_SECRET);
    let unload = json!({"model": CHAT_MODEL});
    let chat = json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}]});

    // Service tokens no longer open /admin/*...
    let (status, v) = sc.call_with("/admin/models", Some(&service), None).await;
    assert_eq!(status, 401, "{v}");
    assert_error(&v, "service_token_invalid", None);
    for path in ["/admin/models/load", "/admin/models/unload"] {
        let (status, v) = sc.call_with(path, Some(&service), Some(&unload)).await;
        assert_eq!(status, 401, "{path}: {v}");
    }
    let (status, v) = sc.call_with("/admin/models", None, None).await;
    assert_eq!(status, 401, "{v}");
    assert_error(&v, "service_token_missing", None);
    assert_eq!(
        model_ids(&sc).await,
        [EMBED_MODEL, CHAT_MODEL],
        "nothing unloaded"
    );
    // ...but still the OpenAI-compatible routes.
    let (status, _) = sc.call_with("/v1/models", Some(&service), None).await;
    assert_eq!(status, 200);
    let (status, v) = sc
        .call_with("/v1/chat/completions", Some(&service), Some(&chat))
        .await;
    assert_eq!(status, 200, "{v}");
    // Admin tokens open /admin/* and only that.
    let (status, v) = sc.call_with("/admin/models", Some(&admin), None).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = sc
        .call_with("/admin/models/unload", Some(&admin), Some(&unload))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = sc
        .call_with("/admin/models/load", Some(&admin), Some(&unload))
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, _) = sc.call_with("/v1/models", Some(&admin), None).await;
    assert_eq!(status, 401);
    // Probes stay public.
    assert_eq!(sc.call_with("/healthz", None, None).await.0, 200);

    // SKIP_SERVICE_AUTH opens the service routes, not an explicitly secured admin.
    let open = fake(&[
        ("SKIP_SERVICE_AUTH", "true"),
        ("LLM_ADMIN_SECRET", ADMIN_SECRET),
    ])
    .await;
    assert_eq!(open.call_with("/v1/models", None, None).await.0, 200);
    let (status, v) = open
        .call_with("/v1/chat/completions", None, Some(&chat))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(open.call_with("/admin/models", None, None).await.0, 401);
    let (status, _) = open
        .call_with("/admin/models", Some(&token_for(SECRET)), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        open.call_with("/admin/models", Some(&admin), None).await.0,
        200
    );
}
