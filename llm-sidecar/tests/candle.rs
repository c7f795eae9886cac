//! The candle backend with the real models (SmolLM2-135M-Instruct GGUF and
//! all-MiniLM-L6-v2), through the real binary. Needs `scripts/models.sh`.

mod common;

use common::{metric, require_models, stream_text, Opts, Sidecar, CHAT_MODEL, EMBED_MODEL};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn real(env: Vec<(&str, String)>) -> Sidecar {
    require_models();
    Sidecar::start(Opts {
        env,
        ..Default::default()
    })
    .await
}

fn chat(content: &str, extra: Value) -> Value {
    let mut body = json!({"model": CHAT_MODEL, "messages": [{"role": "user", "content": content}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

fn content(v: &Value) -> String {
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// How many tokens the sidecar's own tokenizer and chat template make of `content`
/// as a single user message: the prompt count usage must report.
fn prompt_tokens(content: &str) -> usize {
    let path = common::gguf_path();
    let mut f = std::fs::File::open(&path).unwrap();
    let ct = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
    let tok = llm_sidecar::tokenizer::GgufTokenizer::from_gguf(&ct, 49152).unwrap();
    let tpl = llm_sidecar::template::ChatTemplate::new(
        tok.chat_template(),
        tok.bos_text(),
        tok.eos_text(),
    )
    .unwrap();
    let text = tpl
        .render(&[llm_sidecar::openai::Message {
            role: "user".into(),
            content: content.into(),
        }])
        .unwrap();
    assert!(
        text.starts_with("<|im_start|>system\n"),
        "SmolLM2's template adds its system prompt: {text}"
    );
    tok.encode(&text).unwrap().len()
}

#[tokio::test]
async fn chat_usage_streaming_and_sampling_parameters() {
    let sc = real(vec![("LLM_LOAD_MODELS", CHAT_MODEL.into())]).await;

    // Text with correct usage: prompt tokens as the tokenizer counts them, completion
    // tokens as many as max_tokens when the answer is cut there.
    let q = "What is the capital of France?";
    let (status, headers, a) = sc
        .post_json(
            "/v1/chat/completions",
            &chat(q, json!({"temperature": 0, "max_tokens": 12})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(headers["x-llm-backend"], "candle");
    assert!(!content(&a).trim().is_empty());
    assert_eq!(a["choices"][0]["finish_reason"], "length");
    assert_eq!(a["usage"]["prompt_tokens"], prompt_tokens(q));
    assert_eq!(a["usage"]["completion_tokens"], 12);
    assert_eq!(a["usage"]["total_tokens"], prompt_tokens(q) + 12);
    // An answer that ends by itself stops before max_tokens, with its real count.
    let (_, _, short) = sc
        .post_json(
            "/v1/chat/completions",
            &chat(
                "Reply with just the word yes.",
                json!({"temperature": 0, "max_tokens": 200}),
            ),
        )
        .await;
    assert_eq!(short["choices"][0]["finish_reason"], "stop", "{short}");
    let n = short["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(n > 0 && n < 200, "{short}");

    // Streamed chunks of a temperature-0 request concatenate to the whole answer.
    for q in [
        "Name three fruits.",
        "Write a haiku about the sea.",
        "Explain what a CPU does in one sentence.",
    ] {
        let body = chat(q, json!({"temperature": 0, "max_tokens": 48}));
        let (_, _, whole) = sc.post_json("/v1/chat/completions", &body).await;
        let mut sbody = body.clone();
        sbody["stream"] = json!(true);
        sbody["stream_options"] = json!({"include_usage": true});
        let (status, _, events) = sc.stream("/v1/chat/completions", &sbody).await;
        assert_eq!(status, 200);
        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
        assert!(events.len() > 4, "several chunks: {events:?}");
        assert_eq!(stream_text(&events), content(&whole), "{q}");
        let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
        assert_eq!(usage["usage"], whole["usage"]);
    }

    // A seed makes sampling reproducible; top_k 1 is greedy whatever the temperature.
    let seeded = chat(
        "Tell me a short story.",
        json!({"temperature": 1.0, "top_p": 0.95, "seed": 7, "max_tokens": 24}),
    );
    let (_, _, s1) = sc.post_json("/v1/chat/completions", &seeded).await;
    let (_, _, s2) = sc.post_json("/v1/chat/completions", &seeded).await;
    assert_eq!(content(&s1), content(&s2));
    let (_, _, greedy) = sc
        .post_json(
            "/v1/chat/completions",
            &chat(
                "Tell me a short story.",
                json!({"temperature": 0, "max_tokens": 24}),
            ),
        )
        .await;
    let (_, _, topk1) = sc
        .post_json(
            "/v1/chat/completions",
            &chat(
                "Tell me a short story.",
                json!({"temperature": 1.5, "top_k": 1, "seed": 3, "max_tokens": 24}),
            ),
        )
        .await;
    assert_eq!(content(&greedy), content(&topk1));

    // Penalties change a repetitive answer; a stop string ends it before the stop.
    let rep = chat(
        "What is the capital of France?",
        json!({"temperature": 0, "max_tokens": 40}),
    );
    let (_, _, plain) = sc.post_json("/v1/chat/completions", &rep).await;
    let mut pen = rep.clone();
    pen["frequency_penalty"] = json!(1.5);
    let (_, _, penalised) = sc.post_json("/v1/chat/completions", &pen).await;
    assert_ne!(content(&plain), content(&penalised));
    let mut rpen = rep.clone();
    rpen["repetition_penalty"] = json!(1.3);
    let (_, _, rpenalised) = sc.post_json("/v1/chat/completions", &rpen).await;
    assert_ne!(content(&plain), content(&rpenalised));
    let text = content(&plain);
    let stop = text.split_whitespace().nth(3).unwrap().to_string();
    let mut st = rep.clone();
    st["stop"] = json!([stop.clone()]);
    let (_, _, stopped) = sc.post_json("/v1/chat/completions", &st).await;
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    assert_eq!(content(&stopped), text[..text.find(&stop).unwrap()]);

    // Completions: raw text and token-id prompts.
    let (status, _, c) = sc
        .post_json("/v1/completions", &json!({"model": CHAT_MODEL, "prompt": "The capital of France is", "temperature": 0, "max_tokens": 8}))
        .await;
    assert_eq!(status, 200, "{c}");
    assert!(
        c["choices"][0]["text"].as_str().unwrap().contains("Paris"),
        "{c}"
    );
    let (status, _, t) = sc
        .post_json("/v1/completions", &json!({"model": CHAT_MODEL, "prompt": [504, 3575, 282, 4649, 314], "temperature": 0, "max_tokens": 8}))
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["usage"]["prompt_tokens"], 5);
    let (status, _, bad) = sc
        .post_json(
            "/v1/completions",
            &json!({"model": CHAT_MODEL, "prompt": [999999]}),
        )
        .await;
    assert_eq!(
        (status, bad["error"]["param"].is_null()),
        (400, true),
        "{bad}"
    );

    // A prompt longer than the context is a 400, not a crash.
    let long = "word ".repeat(9000);
    let (status, _, e) = sc
        .post_json("/v1/chat/completions", &chat(&long, json!({})))
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("context_length_exceeded")),
        "{e}"
    );
}

#[tokio::test]
async fn concurrent_requests_are_batched_and_give_the_same_answers() {
    let sc = real(vec![("LLM_LOAD_MODELS", CHAT_MODEL.into())]).await;
    let prompts = [
        "List four colours.",
        "What is 2 + 2?",
        "Describe a cat.",
        "Say something about rain.",
    ];
    let body = |p: &str| chat(p, json!({"temperature": 0, "max_tokens": 32}));
    let mut alone = Vec::new();
    let t0 = Instant::now();
    for p in prompts {
        alone.push(content(
            &sc.post_json("/v1/chat/completions", &body(p)).await.2,
        ));
    }
    let sequential = t0.elapsed();
    let t0 = Instant::now();
    let bodies: Vec<Value> = prompts.iter().map(|p| body(p)).collect();
    let together = futures::future::join_all(
        bodies
            .iter()
            .map(|b| sc.post_json("/v1/chat/completions", b)),
    )
    .await;
    let concurrent = t0.elapsed();
    for (a, (_, _, t)) in alone.iter().zip(&together) {
        assert_eq!(
            a,
            &content(t),
            "batching must not change a temperature-0 answer"
        );
    }
    let m = sc.metrics().await;
    // Some steps ran more than one row: the requests shared forward passes.
    let multi =
        metric(&m, "llm_batch_rows_count", "") - metric(&m, "llm_batch_rows_bucket", "le=\"1\"");
    assert!(multi > 0.0, "no step batched several sequences:\n{m}");
    eprintln!("4 requests: sequential {sequential:?}, concurrent {concurrent:?}");
}

#[tokio::test]
async fn a_disconnecting_client_frees_its_slot() {
    // One slot: the second request can only run once the first one's slot is free.
    let sc = real(vec![
        ("LLM_LOAD_MODELS", CHAT_MODEL.into()),
        ("LLM_MAX_BATCH", "1".into()),
    ])
    .await;
    let long = chat(
        "Write a very long story about a dragon and a knight.",
        json!({"temperature": 0, "max_tokens": 4000}),
    );
    let quick = chat("Say hi.", json!({"temperature": 0, "max_tokens": 4}));

    // A streaming client that reads one chunk and goes away.
    let mut sbody = long.clone();
    sbody["stream"] = json!(true);
    let mut resp = sc
        .post("/v1/chat/completions")
        .json(&sbody)
        .send()
        .await
        .unwrap();
    assert!(resp.chunk().await.unwrap().is_some());
    drop(resp);
    let t0 = Instant::now();
    let (status, _, _) = sc.post_json("/v1/chat/completions", &quick).await;
    assert_eq!(status, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "slot not freed: {:?}",
        t0.elapsed()
    );

    // A non-streaming client that gives up (its connection closes mid-generation).
    let gives_up = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let r = gives_up
        .post(format!("{}/v1/chat/completions", sc.url))
        .header("x-service-token", common::token())
        .json(&long)
        .send()
        .await;
    assert!(r.is_err(), "the 4000-token answer can't come within 1 s");
    let t0 = Instant::now();
    let (status, _, _) = sc.post_json("/v1/chat/completions", &quick).await;
    assert_eq!(status, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "slot not freed: {:?}",
        t0.elapsed()
    );
    let m = sc.metrics().await;
    assert_eq!(metric(&m, "llm_cancelled_total", CHAT_MODEL), 2.0, "{m}");
}

#[tokio::test]
async fn embeddings_are_unit_vectors_that_rank_paraphrases_first() {
    let sc = real(vec![("LLM_LOAD_MODELS", EMBED_MODEL.into())]).await;
    let inputs = [
        "The cat sat on the mat.",
        "A cat was sitting on a rug.",
        "Quarterly revenue grew by twelve percent.",
    ];
    let (status, headers, e) = sc
        .post_json(
            "/v1/embeddings",
            &json!({"model": EMBED_MODEL, "input": inputs}),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(headers["x-llm-backend"], "candle");
    let vecs: Vec<Vec<f32>> = e["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect();
    assert_eq!(vecs.len(), 3);
    for v in &vecs {
        assert_eq!(v.len(), 384);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let para = cos(&vecs[0], &vecs[1]);
    let unrelated = cos(&vecs[0], &vecs[2]);
    assert!(
        para > unrelated + 0.3,
        "paraphrase {para} vs unrelated {unrelated}"
    );
    // Batched and single embeddings agree (padding doesn't leak into the mean).
    let (_, _, one) = sc
        .post_json(
            "/v1/embeddings",
            &json!({"model": EMBED_MODEL, "input": inputs[2]}),
        )
        .await;
    let single: Vec<f32> = serde_json::from_value(one["data"][0]["embedding"].clone()).unwrap();
    assert!(cos(&single, &vecs[2]) > 0.9999);
    assert!(e["usage"]["prompt_tokens"].as_u64().unwrap() > 10);
}
