//! Loading, swapping and unloading models at run time through the admin endpoints,
//! and /readyz while models load. Needs `scripts/models.sh`.

mod common;

use common::{require_models, Opts, Sidecar, CHAT_MODEL, EMBED_MODEL};
use serde_json::{json, Value};

fn hi(max_tokens: u32) -> Value {
    json!({"model": CHAT_MODEL, "temperature": 0, "max_tokens": max_tokens,
           "messages": [{"role": "user", "content": "Write a long poem about the sea."}]})
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

#[tokio::test]
async fn readyz_is_503_while_start_up_models_load() {
    require_models();
    let sc = Sidecar::start(Opts {
        wait_ready: false,
        ..Default::default()
    })
    .await;
    let r = sc
        .http
        .get(format!("{}/readyz", sc.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "loading");
    assert!(!v["loading"].as_array().unwrap().is_empty(), "{v}");
    // /healthz answers all along.
    assert_eq!(
        sc.http
            .get(format!("{}/healthz", sc.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    sc.wait_ready().await;
    assert_eq!(model_ids(&sc).await, [EMBED_MODEL, CHAT_MODEL]);
}

#[tokio::test]
async fn models_load_swap_and_unload_without_a_restart() {
    require_models();
    let sc = Sidecar::start(Opts {
        env: vec![("LLM_LOAD_MODELS", "none".into())],
        ..Default::default()
    })
    .await;
    assert!(model_ids(&sc).await.is_empty());
    let (status, _, v) = sc.post_json("/v1/chat/completions", &hi(4)).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (503, Some("model_not_loaded"))
    );

    // Load, watching /readyz while it happens.
    let load = tokio::spawn({
        let (url, tok) = (sc.url.clone(), common::token());
        async move {
            reqwest::Client::new()
                .post(format!("{url}/admin/models/load"))
                .header("x-service-token", tok)
                .json(&json!({"model": CHAT_MODEL}))
                .send()
                .await
                .unwrap()
        }
    });
    let mut saw_loading = false;
    while !load.is_finished() {
        let r = sc
            .http
            .get(format!("{}/readyz", sc.url))
            .send()
            .await
            .unwrap();
        saw_loading |= r.status() == 503;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let r = load.await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(saw_loading, "/readyz never said 503 during the load");
    assert_eq!(
        sc.http
            .get(format!("{}/readyz", sc.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(model_ids(&sc).await, [CHAT_MODEL]);
    let (status, h, _) = sc.post_json("/v1/chat/completions", &hi(4)).await;
    assert_eq!(
        (status, h["x-llm-backend"].to_str().unwrap()),
        (200, "candle")
    );

    // Swap the model for another backend while a stream runs on the old one: the
    // stream finishes on the model it started on, new requests go to the new one.
    let mut sbody = hi(200);
    sbody["stream"] = json!(true);
    let mut stream = sc
        .post("/v1/chat/completions")
        .json(&sbody)
        .send()
        .await
        .unwrap();
    let mut streamed =
        String::from_utf8_lossy(&stream.chunk().await.unwrap().unwrap()).into_owned();
    let (status, _, v) = sc
        .post_json(
            "/admin/models/load",
            &json!({"model": CHAT_MODEL, "backend": "fake"}),
        )
        .await;
    assert_eq!(
        (status, v["loaded"]["backend"].as_str()),
        (200, Some("fake")),
        "{v}"
    );
    let (status, h, _) = sc.post_json("/v1/chat/completions", &hi(4)).await;
    assert_eq!(
        (status, h["x-llm-backend"].to_str().unwrap()),
        (200, "fake")
    );
    while let Some(chunk) = stream.chunk().await.unwrap() {
        streamed.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(streamed.trim_end().ends_with("data: [DONE]"), "{streamed}");
    assert!(!streamed.contains("\"error\""), "{streamed}");
    assert!(
        streamed.contains("\"finish_reason\":\"length\""),
        "the old model kept generating"
    );

    // And back; plus the embedding model.
    let (status, _, v) = sc
        .post_json("/admin/models/load", &json!({"model": CHAT_MODEL}))
        .await;
    assert_eq!(
        (status, v["loaded"]["backend"].as_str()),
        (200, Some("candle"))
    );
    let (status, _, _) = sc
        .post_json("/admin/models/load", &json!({"model": EMBED_MODEL}))
        .await;
    assert_eq!(status, 200);
    let (status, h, _) = sc
        .post_json(
            "/v1/embeddings",
            &json!({"model": EMBED_MODEL, "input": "hello"}),
        )
        .await;
    assert_eq!(
        (status, h["x-llm-backend"].to_str().unwrap()),
        (200, "candle")
    );
    assert_eq!(model_ids(&sc).await, [EMBED_MODEL, CHAT_MODEL]);

    // A model that can't load leaves everything as it was.
    let (status, _, v) = sc
        .post_json(
            "/admin/models/load",
            &json!({"model": "ghost", "task": "chat", "family": "llama", "file": "missing.gguf"}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("model_load_failed")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scripts/models.sh"),
        "{v}"
    );
    let (status, _, v) = sc
        .post_json(
            "/admin/models/load",
            &json!({"model": "escape", "task": "chat", "family": "llama", "file": "../Cargo.toml"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let (status, _, v) = sc
        .post_json("/admin/models/load", &json!({"model": "wrong-family", "task": "embedding", "family": "llama", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}))
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(model_ids(&sc).await, [EMBED_MODEL, CHAT_MODEL]);

    // Unload.
    let (status, _, _) = sc
        .post_json("/admin/models/unload", &json!({"model": CHAT_MODEL}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(model_ids(&sc).await, [EMBED_MODEL]);
    let (status, _, v) = sc.post_json("/v1/chat/completions", &hi(4)).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (503, Some("model_not_loaded"))
    );
}
