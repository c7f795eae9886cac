//! The OpenAI API surface, service tokens, probes, metrics and the admin endpoints,
//! through the real binary with the deterministic fake backend (no weights needed).

mod common;

use common::{metric, stream_text, Opts, Sidecar, CHAT_MODEL, EMBED_MODEL, SECRET};
use serde_json::{json, Value};

async fn fake() -> Sidecar {
    Sidecar::start(Opts {
        env: vec![("LLM_SIDECAR_BACKEND", "fake".into())],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn models_chat_completions_and_embeddings() {
    let sc = fake().await;

    let (status, models) = sc.get_json("/v1/models").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [EMBED_MODEL, CHAT_MODEL]);
    let (status, one) = sc.get_json(&format!("/v1/models/{CHAT_MODEL}")).await;
    assert_eq!((status, one["id"].as_str()), (200, Some(CHAT_MODEL)));
    assert_eq!(sc.get_json("/v1/models/nope").await.0, 404);

    let body =
        json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello there"}]});
    let (status, headers, a) = sc.post_json("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(headers["x-llm-backend"], "fake");
    assert_eq!(a["object"], "chat.completion");
    assert_eq!(a["choices"][0]["message"]["role"], "assistant");
    let text = a["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.starts_with("This is a deterministic reply"), "{text}");
    let u = &a["usage"];
    assert_eq!(u["completion_tokens"], text.split_whitespace().count());
    assert_eq!(
        u["total_tokens"],
        u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
    );
    // Deterministic: the same prompt, the same answer.
    let (_, _, b) = sc.post_json("/v1/chat/completions", &body).await;
    assert_eq!(a["choices"], b["choices"]);

    // Streaming concatenates to the same text; usage comes last when asked for.
    let mut sbody = body.clone();
    sbody["stream"] = json!(true);
    sbody["stream_options"] = json!({"include_usage": true});
    let (status, headers, events) = sc.stream("/v1/chat/completions", &sbody).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert_eq!(stream_text(&events), text);
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["usage"], a["usage"]);
    assert_eq!(last["choices"], json!([]));
    let finish: Value = serde_json::from_str(&events[events.len() - 3]).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");

    // max_tokens cuts with finish_reason "length"; stop strings cut before the stop.
    let (_, _, c) = sc
        .post_json("/v1/chat/completions", &json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 3}))
        .await;
    assert_eq!(c["choices"][0]["finish_reason"], "length");
    assert_eq!(c["usage"]["completion_tokens"], 3);
    let (_, _, d) = sc
        .post_json("/v1/chat/completions", &json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello there"}], "stop": ["reply"]}))
        .await;
    assert_eq!(
        d["choices"][0]["message"]["content"],
        "This is a deterministic "
    );

    // json_schema: the fake backend answers with a schema-valid instance.
    let schema = json!({"type": "object", "properties": {"skill": {"type": "string"}, "years": {"type": "integer", "minimum": 1}}, "required": ["skill", "years"]});
    let (status, _, j) = sc
        .post_json("/v1/chat/completions", &json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}}))
        .await;
    assert_eq!(status, 200);
    let out: Value =
        serde_json::from_str(j["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(jsonschema::is_valid(&schema, &out), "{out}");

    // Completions.
    let (status, _, c) = sc
        .post_json(
            "/v1/completions",
            &json!({"model": CHAT_MODEL, "prompt": "Once upon a time", "max_tokens": 4}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["object"], "text_completion");
    assert_eq!(c["usage"]["prompt_tokens"], 4);
    assert_eq!(c["usage"]["completion_tokens"], 4);

    // Embeddings: unit vectors, float or base64.
    let (status, _, e) = sc
        .post_json(
            "/v1/embeddings",
            &json!({"model": EMBED_MODEL, "input": ["a b", "c"]}),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    let v: Vec<f32> = serde_json::from_value(e["data"][1]["embedding"].clone()).unwrap();
    assert_eq!(v.len(), 384);
    assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
    assert_eq!(e["usage"]["prompt_tokens"], 3);
    let (_, _, b64) = sc
        .post_json(
            "/v1/embeddings",
            &json!({"model": EMBED_MODEL, "input": "c", "encoding_format": "base64"}),
        )
        .await;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // (assert!, not assert_eq!: 384 floats would drown the message)
    assert!(
        decoded == v,
        "base64 decodes to the float embedding of the same input"
    );
}

#[tokio::test]
async fn bad_input_gets_openai_errors_never_500() {
    let sc = fake().await;
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": []}),
            400,
            "messages",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
            400,
            "temperature",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 9}),
            400,
            "temperature",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "n": 2}),
            400,
            "n",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "wizard", "content": "x"}]}),
            400,
            "messages[0].role",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            400,
            "messages[0].content",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            400,
            "max_tokens",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}),
            400,
            "stop",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}}),
            400,
            "response_format",
        ),
        (
            "/v1/chat/completions",
            json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}),
            400,
            "tools",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "x"}]}),
            400,
            "",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}),
            404,
            "",
        ),
        (
            "/v1/completions",
            json!({"model": CHAT_MODEL, "prompt": ["a", "b"]}),
            400,
            "prompt",
        ),
        (
            "/v1/completions",
            json!({"model": CHAT_MODEL, "prompt": "a", "echo": true}),
            400,
            "echo",
        ),
        (
            "/v1/embeddings",
            json!({"model": EMBED_MODEL, "input": []}),
            400,
            "input",
        ),
        (
            "/v1/embeddings",
            json!({"model": EMBED_MODEL, "input": "x", "dimensions": 10}),
            400,
            "dimensions",
        ),
        (
            "/v1/embeddings",
            json!({"model": EMBED_MODEL, "input": "x", "encoding_format": "hex"}),
            400,
            "encoding_format",
        ),
        (
            "/v1/embeddings",
            json!({"model": CHAT_MODEL, "input": "x"}),
            404,
            "",
        ),
    ];
    for (path, body, status, param) in cases {
        let (got, _, v) = sc.post_json(path, &body).await;
        assert_eq!(got, status, "{path} {body}: {v}");
        let err = &v["error"];
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        assert!(err["type"].is_string() && err["code"].is_string(), "{v}");
        if !param.is_empty() {
            assert_eq!(err["param"], param, "{path} {body}: {v}");
        }
    }
    // Not JSON at all, a wrong method, an unknown path.
    let r = sc
        .post("/v1/chat/completions")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_json"
    );
    let r = sc.get("/v1/chat/completions").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
    let r = sc.get("/v2/nothing").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    let r = sc
        .post("/v1/chat/completions")
        .header("x-request-timeout", "soon")
        .json(&json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Without vLLM, a model in the manifest but not loaded is a 503 saying so.
    sc.post_json("/admin/models/unload", &json!({"model": CHAT_MODEL}))
        .await;
    let (status, _, v) = sc
        .post_json(
            "/v1/chat/completions",
            &json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (503, Some("model_not_loaded"))
    );
    assert!(metric(&sc.metrics().await, "llm_requests_total", "status=\"503\"") >= 1.0);
}

#[tokio::test]
async fn service_token_is_required_except_on_probes() {
    let sc = fake().await;
    let url = |p: &str| format!("{}{p}", sc.url);
    let body = json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}]});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let cases = [
        (None, "service_token_missing"),
        (Some("garbage".to_string()), "service_token_invalid"),
        (Some(format!("{now}:abcd")), "service_token_invalid"),
        (
            Some(llm_sidecar::auth::sign("wrong-secret", now)),
            "service_token_invalid",
        ),
        (
            Some(llm_sidecar::auth::sign(SECRET, now - 301)),
            "service_token_expired",
        ),
        (
            Some(llm_sidecar::auth::sign(SECRET, now + 400)),
            "service_token_expired",
        ),
    ];
    for (tok, code) in cases {
        let mut req = sc.http.post(url("/v1/chat/completions")).json(&body);
        if let Some(t) = &tok {
            req = req.header("x-service-token", t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{tok:?}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            code,
            "{tok:?}"
        );
    }
    for path in ["/v1/models", "/admin/models"] {
        assert_eq!(
            sc.http.get(url(path)).send().await.unwrap().status(),
            401,
            "{path}"
        );
    }
    // A fresh token is accepted; the probes and the scrape need none.
    let r = sc
        .http
        .post(url("/v1/chat/completions"))
        .json(&body)
        .header(
            "x-service-token",
            llm_sidecar::auth::sign(SECRET, now - 200),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            sc.http.get(url(path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
    // The correlation id is echoed.
    let r = sc
        .http
        .get(url("/healthz"))
        .header("x-correlation-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-correlation-id"], "abc-123");

    // SKIP_SERVICE_AUTH turns the check off.
    let open = Sidecar::start(Opts {
        env: vec![
            ("LLM_SIDECAR_BACKEND", "fake".into()),
            ("SKIP_SERVICE_AUTH", "true".into()),
        ],
        ..Default::default()
    })
    .await;
    let r = open
        .http
        .post(format!("{}/v1/chat/completions", open.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_tokens_and_latency() {
    let sc = fake().await;
    let body = json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "one two"}], "max_tokens": 5});
    for _ in 0..3 {
        assert_eq!(sc.post_json("/v1/chat/completions", &body).await.0, 200);
    }
    let m = sc.metrics().await;
    let chat = format!("model=\"{CHAT_MODEL}\"");
    assert_eq!(metric(&m, "llm_requests_total", &chat), 3.0, "{m}");
    assert_eq!(metric(&m, "llm_completion_tokens_total", &chat), 15.0);
    assert_eq!(metric(&m, "llm_prompt_tokens_total", &chat), 3.0 * 3.0);
    assert_eq!(
        metric(&m, "llm_time_to_first_token_seconds_count", &chat),
        3.0
    );
    for name in [
        "llm_decode_tokens_per_second",
        "llm_request_duration_seconds",
    ] {
        assert!(m.contains(&format!("# TYPE {name}")), "{name} missing");
    }
}

#[tokio::test]
async fn admin_load_and_unload_change_the_model_list() {
    let sc = Sidecar::start(Opts {
        env: vec![
            ("LLM_SIDECAR_BACKEND", "fake".into()),
            ("LLM_LOAD_MODELS", "none".into()),
        ],
        ..Default::default()
    })
    .await;
    assert_eq!(sc.get_json("/v1/models").await.1["data"], json!([]));
    let (status, _, v) = sc
        .post_json("/admin/models/load", &json!({"model": CHAT_MODEL}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["loaded"]["id"], CHAT_MODEL);
    let ids = sc.get_json("/v1/models").await.1["data"].clone();
    assert_eq!(ids[0]["id"], CHAT_MODEL);
    assert_eq!(
        sc.post_json(
            "/v1/chat/completions",
            &json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}]})
        )
        .await
        .0,
        200
    );
    // A model outside the manifest needs its fields; with them it loads.
    let (status, _, v) = sc
        .post_json("/admin/models/load", &json!({"model": "extra"}))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (status, _, v) = sc
        .post_json(
            "/admin/models/load",
            &json!({"model": "extra", "task": "chat", "family": "llama", "backend": "fake"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, _, v) = sc
        .post_json(
            "/admin/models/load",
            &json!({"model": "bad", "task": "chat", "family": "llama", "file": "../../etc/passwd"}),
        )
        .await;
    assert_eq!(status, 200, "fake mode reads no file: {v}");
    let (status, _, v) = sc
        .post_json(
            "/admin/models/load",
            &json!({"model": CHAT_MODEL, "task": "sing"}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid_model_spec")),
        "{v}"
    );
    let (status, _, v) = sc
        .post_json("/admin/models/unload", &json!({"model": CHAT_MODEL}))
        .await;
    assert_eq!((status, v["unloaded"].as_str()), (200, Some(CHAT_MODEL)));
    let (status, _, v) = sc
        .post_json("/admin/models/unload", &json!({"model": CHAT_MODEL}))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("model_not_loaded"))
    );
    let (_, list) = sc.get_json("/admin/models").await;
    let row = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == CHAT_MODEL)
        .unwrap()
        .clone();
    assert_eq!(row["loaded"], false);
}
