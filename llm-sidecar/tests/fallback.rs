//! The vLLM backend and the fallback policy, against a real OpenAI-compatible server:
//! llama.cpp's (PyPI xllamacpp) serving the same GGUF, standing in for vLLM. Also checks
//! that our tokenizer matches llama.cpp's token for token. Needs `scripts/models.sh`.

mod common;

use common::{metric, require_models, stream_text, LlamaCpp, Opts, Sidecar, CHAT_MODEL};
use llm_sidecar::backend::{ChatBackend, GenError, GenEvent, GenHandle, GenRequest, ModelInfo};
use llm_sidecar::models::Loaded;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn chat(content: &str, max_tokens: u32) -> Value {
    json!({"model": CHAT_MODEL, "temperature": 0, "max_tokens": max_tokens,
           "messages": [{"role": "user", "content": content}]})
}

/// Occupies the only batch slot with a long streamed generation until dropped.
async fn occupy(sc: &Sidecar) -> reqwest::Response {
    let mut body = chat("Write a very long story about a dragon and a knight.", 4000);
    body["stream"] = json!(true);
    let mut r = sc
        .post("/v1/chat/completions")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-llm-backend"], "candle");
    assert!(r.chunk().await.unwrap().is_some());
    r
}

async fn wait_queue_depth(sc: &Sidecar, depth: f64) {
    let t0 = Instant::now();
    while metric(&sc.metrics().await, "llm_queue_depth", CHAT_MODEL) != depth {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "queue never reached {depth}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn falls_back_to_llama_cpp_and_matches_its_tokenizer() {
    require_models();
    let lc = LlamaCpp::start(CHAT_MODEL, 1, 4).await;

    // Our GGUF tokenizer agrees with llama.cpp's on varied text.
    let path = common::gguf_path();
    let mut f = std::fs::File::open(&path).unwrap();
    let ct = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
    let tok = llm_sidecar::tokenizer::GgufTokenizer::from_gguf(&ct, 49152).unwrap();
    let http = reqwest::Client::new();
    let samples = [
        "Hello world",
        "The year 2024 had 366 days; 1234567890.",
        "  leading and trailing spaces  ",
        "tabs\tand\nnew\n\nlines\r\n",
        "Ünïcödé, 日本語, emoji 🎉🚀 and accents: café naïve",
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "def f(x):\n    return x**2  # square",
        "I'm you're they've we'll she'd it's",
        "$3.50 + 20% = ???",
        "URL: https://example.com/path?q=1&r=2#frag",
        "{\"json\": [1, 2.5, -3e10, true, null]}",
        "αβγ ΔΕΖ ЖЗИ",
        "a",
        "",
        "    ",
        "!!!???...,,,",
        "CamelCaseIdentifiers and snake_case_ones",
        "Numbers like 3.14159 and 2,718 and ١٢٣",
    ];
    for s in samples {
        let ours = tok.encode(s).unwrap();
        let theirs: Value = http
            .post(format!("{}/tokenize", lc.url))
            .json(&json!({"content": s, "parse_special": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let theirs: Vec<u32> = serde_json::from_value(theirs["tokens"].clone()).unwrap();
        assert_eq!(ours, theirs, "tokenization of {s:?}");
    }

    let sc = Sidecar::start(Opts {
        env: vec![
            ("LLM_LOAD_MODELS", CHAT_MODEL.into()),
            ("LLM_VLLM_ENDPOINT", lc.url.clone()),
            ("LLM_MAX_BATCH", "1".into()),
            ("LLM_QUEUE_CAPACITY", "1".into()),
        ],
        ..Default::default()
    })
    .await;

    // Both count the same prompt tokens for the same chat (template + tokenizer).
    let body = chat("What is the capital of France?", 8);
    let (_, h, local) = sc.post_json("/v1/chat/completions", &body).await;
    assert_eq!(h["x-llm-backend"], "candle");
    let direct: Value = http
        .post(format!("{}/v1/chat/completions", lc.url))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        local["usage"]["prompt_tokens"],
        direct["usage"]["prompt_tokens"]
    );

    // A model we don't have goes to vLLM, answered as vLLM answers (llama.cpp adds
    // `timings`), streams included.
    let mut remote = chat("Say hello.", 8);
    remote["model"] = json!("remote-only-model");
    let (status, h, v) = sc.post_json("/v1/chat/completions", &remote).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            h["x-llm-backend"].to_str().unwrap(),
            h["x-llm-fallback-reason"].to_str().unwrap()
        ),
        ("vllm", "model_not_local")
    );
    assert!(
        v["timings"].is_object() && v["usage"]["completion_tokens"] == 8,
        "{v}"
    );
    let mut sremote = remote.clone();
    sremote["stream"] = json!(true);
    let (status, h, events) = sc.stream("/v1/chat/completions", &sremote).await;
    assert_eq!(
        (status, h["x-llm-backend"].to_str().unwrap()),
        (200, "vllm")
    );
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert!(!stream_text(&events).is_empty());
    let (status, _, c) = sc
        .post_json(
            "/v1/completions",
            &json!({"model": "remote-only-model", "prompt": "Once upon", "max_tokens": 4}),
        )
        .await;
    assert_eq!(status, 200, "{c}\n{}", sc.proc.log());
    assert_eq!(c["usage"]["completion_tokens"], 4);

    let running = occupy(&sc).await;
    // Deadline: a request that can't start in time (the slot is busy) falls back.
    let t0 = Instant::now();
    let r = sc
        .post("/v1/chat/completions")
        .header("x-request-timeout", "0.5")
        .json(&chat("Say hi.", 4))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-llm-fallback-reason"], "timeout");
    assert!(t0.elapsed() >= Duration::from_millis(500));
    // A stream that can't produce its first token in time falls back too.
    let mut sbody = chat("Say hi.", 4);
    sbody["stream"] = json!(true);
    let r = sc
        .post("/v1/chat/completions")
        .header("x-request-timeout", "0.5")
        .json(&sbody)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-llm-fallback-reason"], "timeout");
    assert!(r.text().await.unwrap().trim_end().ends_with("data: [DONE]"));

    // The timed-out requests left no stale places in the queue.
    wait_queue_depth(&sc, 0.0).await;

    // Queue full: one running, one waiting, the third goes to vLLM.
    let sc2 = &sc;
    let waiting = tokio::spawn({
        let url = sc2.url.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{url}/v1/chat/completions"))
                .header("x-service-token", common::token())
                .json(&chat("Say hi.", 4))
                .send()
                .await
                .unwrap()
        }
    });
    wait_queue_depth(&sc, 1.0).await;
    let (status, h, v) = sc
        .post_json("/v1/chat/completions", &chat("Say hi.", 4))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            h["x-llm-backend"].to_str().unwrap(),
            h["x-llm-fallback-reason"].to_str().unwrap()
        ),
        ("vllm", "queue_full")
    );

    // Freeing the slot lets the waiting request run locally.
    drop(running);
    let w = waiting.await.unwrap();
    assert_eq!(w.headers()["x-llm-backend"], "candle");

    let m = sc.metrics().await;
    for reason in ["model_not_local", "queue_full", "timeout"] {
        assert!(
            metric(&m, "llm_fallbacks_total", &format!("reason=\"{reason}\"")) >= 1.0,
            "{reason}:\n{m}"
        );
    }
    assert!(
        sc.proc.log().contains("falling back to vLLM"),
        "fallbacks are logged"
    );
}

#[tokio::test]
async fn without_vllm_the_answer_is_a_clear_503() {
    require_models();
    let sc = Sidecar::start(Opts {
        env: vec![
            ("LLM_LOAD_MODELS", CHAT_MODEL.into()),
            ("LLM_MAX_BATCH", "1".into()),
            ("LLM_QUEUE_CAPACITY", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let running = occupy(&sc).await;
    let url = sc.url.clone();
    let waiting = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .header("x-service-token", common::token())
            .json(&chat("Say hi.", 4))
            .send()
            .await
            .unwrap()
            .status()
    });
    wait_queue_depth(&sc, 1.0).await;
    let r = sc
        .post("/v1/chat/completions")
        .json(&chat("Say hi.", 4))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "queue_full"
    );
    drop(running);
    assert_eq!(waiting.await.unwrap(), 200);

    let _running = occupy(&sc).await;
    let r = sc
        .post("/v1/chat/completions")
        .header("x-request-timeout", "0.3")
        .json(&chat("Say hi.", 4))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "timeout");
    let (status, _, v) = sc
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "remote-only-model", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
}

/// A local backend that fails: on submit, or after accepting the request.
struct Broken {
    info: ModelInfo,
    fail_on_submit: bool,
}

impl ChatBackend for Broken {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn healthy(&self) -> bool {
        true
    }
    fn submit(&self, _: GenRequest) -> Result<GenHandle, GenError> {
        if self.fail_on_submit {
            return Err(GenError::Backend("simulated failure".into()));
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let _ = tx.send(GenEvent::Error(GenError::Backend(
            "simulated failure".into(),
        )));
        Ok(GenHandle {
            prompt_tokens: 1,
            events: rx,
        })
    }
}

#[tokio::test]
async fn a_failing_local_backend_falls_back() {
    require_models();
    let lc = LlamaCpp::start(CHAT_MODEL, 1, 2).await;
    // In-process: the registry takes a test double the binary can't be given.
    use clap::Parser;
    let settings = llm_sidecar::config::Settings::parse_from([
        "llm-sidecar",
        "--skip-service-auth=true",
        "--vllm-endpoint",
        &lc.url,
        "--models-dir",
        common::models_dir().to_str().unwrap(),
    ]);
    let state = llm_sidecar::state(settings).unwrap();
    let info = |n: &str| ModelInfo {
        name: n.into(),
        backend: "candle",
        context_length: 2048,
        created: 0,
    };
    state.registry.insert(
        "broken-submit",
        Loaded::Chat(Arc::new(Broken {
            info: info("broken-submit"),
            fail_on_submit: true,
        })),
    );
    state.registry.insert(
        "broken-later",
        Loaded::Chat(Arc::new(Broken {
            info: info("broken-later"),
            fail_on_submit: false,
        })),
    );
    let acceptor =
        poem::listener::Listener::into_acceptor(poem::listener::TcpListener::bind("127.0.0.1:0"))
            .await
            .unwrap();
    let addr = poem::listener::Acceptor::local_addr(&acceptor)[0]
        .as_socket_addr()
        .copied()
        .unwrap();
    let app = llm_sidecar::api::app(state);
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));

    let http = reqwest::Client::new();
    for model in ["broken-submit", "broken-later"] {
        for stream in [false, true] {
            let mut body = chat("Say hi.", 4);
            body["model"] = json!(model);
            body["stream"] = json!(stream);
            let r = http
                .post(format!("http://{addr}/v1/chat/completions"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{model} stream={stream}");
            assert_eq!(r.headers()["x-llm-backend"], "vllm");
            assert_eq!(r.headers()["x-llm-fallback-reason"], "local_error");
        }
    }
    let m = llm_sidecar::metrics::metrics().render();
    assert!(
        metric(&m, "llm_fallbacks_total", "reason=\"local_error\"") >= 4.0,
        "{m}"
    );
}
