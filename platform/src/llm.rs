//! The platform's LLM client: OpenAI-compatible chat and embeddings against the
//! `llm-sidecar` or a vLLM server, or the deterministic offline `local` provider.
//!
//! * The base URL comes only from operator configuration (`LLM_SIDECAR_URL`,
//!   `LLM_VLLM_ENDPOINT`), never from a request, so users can't point it anywhere (SSRF).
//! * Requests to the sidecar carry a signed `X-Service-Token`.
//! * A `503` (queue full, model loading) or `429` is retried after its `Retry-After`
//!   (capped), up to three attempts; timeouts are per call.
//! * Agent calls are streamed, so a long generation shows live `job.progress` Events
//!   (tokens so far) on the job's timeline.
//! * Every call leaves an `llm.call` Event on the job's timeline (provider, model,
//!   agent and prompt version, latency, prompt/completion tokens, error) and metrics.
//! * Agents ([`crate::agents`]) are run through [`LlmClient::run_agent`]: with a model,
//!   the answer is constrained to the agent's JSON schema, parsed and validated, and a
//!   failed parse is sent back once as a repair request; with `local`, the agent's own
//!   deterministic offline answer is used.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use crate::agents::{Agent, Message};
use crate::config::{LlmProvider, Settings};
use crate::observability::events::{kind, Event, Events};
use crate::observability::metrics::metrics;
use crate::store::Scope;

/// Why an LLM call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    /// The server is busy or down; a later attempt may work.
    #[error("LLM unavailable: {0}")]
    Unavailable(String),
    /// The request was refused (4xx) or the answer was unusable.
    #[error("LLM error: {0}")]
    Failed(String),
    /// The model's answer didn't satisfy the agent, even after one repair.
    #[error("the model's answer was invalid: {0}")]
    InvalidOutput(String),
}

impl LlmError {
    /// Whether retrying the job later could help.
    pub fn retryable(&self) -> bool {
        // An unusable answer is worth another attempt: retried jobs sample with other
        // seeds (see `run_agent`).
        matches!(self, LlmError::Unavailable(_) | LlmError::InvalidOutput(_))
    }
}

/// Who a call is for, and under which job.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Whose call it is: its usage is counted there and its Events go on that timeline.
    pub scope: Scope,
    pub job_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The job's attempt (1 first): a retried job asks the model with other seeds.
    pub attempt: u32,
}

/// How often a streamed generation reports its progress on the job's timeline.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Splits a byte stream of server-sent events into the payloads of its `data:` lines.
#[derive(Default)]
struct SseLines {
    buf: Vec<u8>,
}

impl SseLines {
    /// Adds bytes; returns the `data:` payloads of the lines they completed.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            if let Some(data) = line.trim().strip_prefix("data:") {
                out.push(data.trim().to_string());
            }
        }
        out
    }
}

/// A streamed answer being put together.
#[derive(Default)]
struct StreamedAnswer {
    content: String,
    finish_reason: Option<String>,
    model: Option<String>,
    usage: Option<OpenAiUsage>,
    /// Content pieces received (one per generated token on the sidecar and vLLM).
    pieces: u64,
}

impl StreamedAnswer {
    /// Takes one `data:` payload; `true` once the stream is done.
    fn absorb(&mut self, data: &str) -> Result<bool, LlmError> {
        if data == "[DONE]" {
            return Ok(true);
        }
        let value: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| LlmError::Failed(format!("not a chat completion chunk: {e}")))?;
        if let Some(message) = value.get("error").map(|e| {
            e["message"]
                .as_str()
                .map_or_else(|| e.to_string(), str::to_string)
        }) {
            // Errors after the response head (the model failed mid-answer).
            return Err(LlmError::Unavailable(format!(
                "the model failed: {message}"
            )));
        }
        let chunk: OpenAiChunk = serde_json::from_value(value)
            .map_err(|e| LlmError::Failed(format!("not a chat completion chunk: {e}")))?;
        if chunk.model.is_some() {
            self.model = chunk.model;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.content.push_str(&text);
                self.pieces += 1;
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(false)
    }

    fn finish(self, default_model: &str) -> ChatResponse {
        // A server that doesn't send usage in streams: count the pieces instead.
        let usage = self.usage.unwrap_or(OpenAiUsage {
            prompt_tokens: 0,
            completion_tokens: self.pieces,
        });
        ChatResponse {
            content: self.content,
            finish_reason: self.finish_reason,
            model: self.model.unwrap_or_else(|| default_model.to_string()),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        }
    }
}

/// `frequency_penalty` of agent calls.
const AGENT_FREQUENCY_PENALTY: f32 = 0.3;

/// A chat completion request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// e.g. `{"type":"json_schema","json_schema":{...}}`: constrains the answer.
    pub response_format: Option<serde_json::Value>,
    pub max_tokens: u32,
    pub temperature: f32,
    pub seed: Option<u64>,
    /// OpenAI's `frequency_penalty` (honoured by the sidecar and vLLM).
    pub frequency_penalty: Option<f32>,
}

/// A chat completion answer.
#[derive(Debug, Clone)]
pub struct ChatResponse {
    pub content: String,
    /// `stop`, or `length` when the answer was cut off by `max_tokens`.
    pub finish_reason: Option<String>,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Labels for the call's Event.
#[derive(Debug, Clone, Copy)]
pub struct CallLabel<'a> {
    pub agent: &'a str,
    pub prompt_version: &'a str,
}

#[derive(Deserialize)]
struct OpenAiChat {
    model: Option<String>,
    choices: Vec<OpenAiChoice>,
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    content: Option<String>,
}

/// One `data:` event of a streamed chat completion.
#[derive(Deserialize)]
struct OpenAiChunk {
    model: Option<String>,
    #[serde(default)]
    choices: Vec<OpenAiChunkChoice>,
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChunkChoice {
    #[serde(default)]
    delta: OpenAiDelta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct OpenAiDelta {
    content: Option<String>,
}

#[derive(Deserialize, Default)]
struct OpenAiUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct OpenAiEmbeddings {
    data: Vec<OpenAiEmbedding>,
}

#[derive(Deserialize)]
struct OpenAiEmbedding {
    embedding: Vec<f32>,
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct LlmClient {
    provider: LlmProvider,
    base: Option<String>,
    model: String,
    embedding_model: String,
    service_secret: String,
    http: reqwest::Client,
    events: Events,
    store: std::sync::Arc<crate::store::Store>,
    timeout: Duration,
}

impl LlmClient {
    /// A client for the configured provider.
    pub fn new(
        settings: &Settings,
        events: Events,
        store: std::sync::Arc<crate::store::Store>,
    ) -> anyhow::Result<Self> {
        let base = match settings.llm_provider {
            LlmProvider::Local => None,
            LlmProvider::Sidecar => {
                Some(settings.llm_sidecar_url.trim_end_matches('/').to_string())
            }
            LlmProvider::Vllm => settings
                .llm_vllm_endpoint
                .as_ref()
                .map(|u| u.trim_end_matches('/').trim_end_matches("/v1").to_string()),
        };
        let timeout = Duration::from_secs(settings.llm_timeout_secs);
        Ok(Self {
            provider: settings.llm_provider,
            base,
            model: settings.llm_model_name.clone(),
            embedding_model: settings.llm_embedding_model.clone(),
            service_secret: settings.service_secret.clone(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(timeout)
                .build()?,
            events,
            store,
            timeout,
        })
    }

    /// `local`, `sidecar` or `vllm`.
    pub fn provider_name(&self) -> &'static str {
        match self.provider {
            LlmProvider::Local => "local",
            LlmProvider::Sidecar => "sidecar",
            LlmProvider::Vllm => "vllm",
        }
    }

    /// The chat model name requested.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether a real model answers (not the offline provider).
    pub fn has_model(&self) -> bool {
        self.base.is_some()
    }

    fn request(&self, method: reqwest::Method, path: &str) -> Option<reqwest::RequestBuilder> {
        let base = self.base.as_ref()?;
        let mut req = self.http.request(method, format!("{base}{path}"));
        if self.provider == LlmProvider::Sidecar {
            let ts = chrono::Utc::now().timestamp();
            req = req.header(
                "x-service-token",
                crate::identity::credentials::service_token(&self.service_secret, ts),
            );
        }
        Some(req)
    }

    /// Sends a JSON POST and reads the JSON answer.
    async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, LlmError> {
        self.send(path, body)
            .await?
            .json()
            .await
            .map_err(|e| LlmError::Failed(format!("unreadable answer: {e}")))
    }

    /// Sends a JSON POST, retrying 429/503 after `Retry-After` (at most 3 attempts);
    /// returns the successful response with its body unread.
    async fn send(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, LlmError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let req = self
                .request(reqwest::Method::POST, path)
                .ok_or_else(|| LlmError::Unavailable("no model is configured".into()))?;
            let resp = req.json(body).send().await.map_err(|e| {
                if e.is_timeout() {
                    LlmError::Unavailable(format!("timed out after {} s", self.timeout.as_secs()))
                } else {
                    LlmError::Unavailable(format!("cannot reach the model server: {e}"))
                }
            })?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, 10);
            let text = resp.text().await.unwrap_or_default();
            let detail = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            if (status.as_u16() == 503 || status.as_u16() == 429) && attempt < 3 {
                tokio::time::sleep(Duration::from_secs(retry_after)).await;
                continue;
            }
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                LlmError::Unavailable(format!("{status}: {detail}"))
            } else {
                LlmError::Failed(format!("{status}: {detail}"))
            });
        }
    }

    /// One chat completion, recorded as an `llm.call` Event.
    pub async fn chat(
        &self,
        ctx: &CallContext,
        label: CallLabel<'_>,
        req: &ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        let body = self.chat_body(req);
        let started = Instant::now();
        let result = self
            .post_json("/v1/chat/completions", &body)
            .await
            .and_then(|v| {
                let parsed: OpenAiChat = serde_json::from_value(v)
                    .map_err(|e| LlmError::Failed(format!("not a chat completion: {e}")))?;
                let usage = parsed.usage.unwrap_or_default();
                let choice = parsed
                    .choices
                    .into_iter()
                    .next()
                    .ok_or_else(|| LlmError::Failed("the answer has no choices".into()))?;
                let content = choice
                    .message
                    .content
                    .ok_or_else(|| LlmError::Failed("the answer has no content".into()))?;
                Ok(ChatResponse {
                    content,
                    finish_reason: choice.finish_reason,
                    model: parsed.model.unwrap_or_else(|| self.model.clone()),
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                })
            });
        self.record(ctx, label, started.elapsed(), &result).await;
        result
    }

    fn chat_body(&self, req: &ChatRequest) -> serde_json::Value {
        let mut body = json!({
            "model": self.model,
            "messages": req.messages,
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
        });
        if let Some(seed) = req.seed {
            body["seed"] = json!(seed);
        }
        if let Some(p) = req.frequency_penalty {
            body["frequency_penalty"] = json!(p);
        }
        if let Some(format) = &req.response_format {
            body["response_format"] = format.clone();
        }
        body
    }

    /// One streamed chat completion (server-sent events), recorded as an `llm.call`
    /// Event like [`chat`](Self::chat). While the model writes, a `job.progress` Event
    /// with the tokens generated so far goes on the job's timeline every
    /// [`PROGRESS_EVERY`], so a long generation shows live progress.
    pub async fn chat_stream(
        &self,
        ctx: &CallContext,
        label: CallLabel<'_>,
        req: &ChatRequest,
    ) -> Result<ChatResponse, LlmError> {
        let mut body = self.chat_body(req);
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let started = Instant::now();
        let result = self.read_stream(ctx, label, &body).await;
        self.record(ctx, label, started.elapsed(), &result).await;
        result
    }

    async fn read_stream(
        &self,
        ctx: &CallContext,
        label: CallLabel<'_>,
        body: &serde_json::Value,
    ) -> Result<ChatResponse, LlmError> {
        use futures::StreamExt;
        let resp = self.send("/v1/chat/completions", body).await?;
        let mut bytes = resp.bytes_stream();
        let mut answer = StreamedAnswer::default();
        let mut lines = SseLines::default();
        let mut last_progress = Instant::now();
        while let Some(piece) = bytes.next().await {
            let piece = piece.map_err(|e| {
                if e.is_timeout() {
                    LlmError::Unavailable(format!("timed out after {} s", self.timeout.as_secs()))
                } else {
                    LlmError::Unavailable(format!("the answer stream broke off: {e}"))
                }
            })?;
            for data in lines.push(&piece) {
                if answer.absorb(&data)? {
                    return Ok(answer.finish(&self.model));
                }
            }
            if ctx.job_id.is_some() && last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                self.events.emit(
                    ctx.scope,
                    Event {
                        id: None,
                        kind: kind::JOB_PROGRESS,
                        job_id: ctx.job_id.clone(),
                        correlation_id: ctx.correlation_id.clone(),
                        message: format!(
                            "{} is writing: {} tokens so far",
                            label.agent, answer.pieces
                        ),
                        data: json!({"agent": label.agent, "generated_tokens": answer.pieces}),
                    },
                );
            }
        }
        Err(LlmError::Unavailable(
            "the answer stream ended without [DONE]".into(),
        ))
    }

    async fn record(
        &self,
        ctx: &CallContext,
        label: CallLabel<'_>,
        took: Duration,
        result: &Result<ChatResponse, LlmError>,
    ) {
        let provider = self.provider_name();
        let m = metrics();
        let (model, prompt, completion, error) = match result {
            Ok(r) => (r.model.clone(), r.prompt_tokens, r.completion_tokens, None),
            Err(e) => (self.model.clone(), 0, 0, Some(e.to_string())),
        };
        m.llm_calls
            .with_label_values(&[
                provider,
                &model,
                if error.is_some() { "error" } else { "ok" },
            ])
            .inc();
        m.llm_tokens
            .with_label_values(&[provider, &model, "prompt"])
            .inc_by(prompt);
        m.llm_tokens
            .with_label_values(&[provider, &model, "completion"])
            .inc_by(completion);
        m.llm_latency
            .with_label_values(&[provider, &model])
            .observe(took.as_secs_f64());
        if let Scope::Tenant(id) = ctx.scope {
            if let Ok(db) = self.store.tenant(id).await {
                if let Err(e) = record_usage(&db, prompt, completion).await {
                    tracing::warn!(error = %e, "LLM usage not recorded");
                }
            }
        }
        let message = match &error {
            None => format!("{} answered in {} ms", label.agent, took.as_millis()),
            Some(e) => format!("{} failed: {e}", label.agent),
        };
        self.events.emit(
            ctx.scope,
            Event {
                id: None,
                kind: kind::LLM_CALL,
                job_id: ctx.job_id.clone(),
                correlation_id: ctx.correlation_id.clone(),
                message,
                data: json!({
                    "provider": provider,
                    "model": model,
                    "agent": label.agent,
                    "prompt_version": label.prompt_version,
                    "latency_ms": took.as_millis() as u64,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "error": error,
                }),
            },
        );
    }

    /// Runs an agent: the model's schema-constrained answer, parsed and validated (one
    /// repair round), or the agent's offline answer with the `local` provider.
    pub async fn run_agent<A: Agent>(
        &self,
        ctx: &CallContext,
        agent: &A,
        input: &A::Input,
    ) -> Result<A::Output, LlmError> {
        let label = CallLabel {
            agent: A::NAME,
            prompt_version: A::PROMPT_VERSION,
        };
        if let Some(out) = agent.without_model(input) {
            // Nothing to ask a model about (e.g. no entries in the period).
            return Ok(out);
        }
        if !self.has_model() {
            let started = Instant::now();
            let out = agent.offline(input);
            // The offline provider is still a "call": it shows on the timeline with the
            // size of what a model would have read and written.
            let prompt: usize = agent.messages(input).iter().map(|m| m.content.len()).sum();
            let written = serde_json::to_string(&out).map(|s| s.len()).unwrap_or(0);
            let result = Ok(ChatResponse {
                content: String::new(),
                finish_reason: Some("stop".into()),
                model: "local".into(),
                prompt_tokens: (prompt / 4) as u64,
                completion_tokens: (written / 4) as u64,
            });
            self.record(ctx, label, started.elapsed(), &result).await;
            return Ok(out);
        }
        let mut messages = agent.messages(input);
        for round in 0u64..2 {
            // Greedy decoding of small models falls into loops ("and evidence files:
            // 1-1s and evidence files: ..."): a mild penalty breaks most of them, and the
            // repair round samples (seeded, so still reproducible) with a stronger one.
            let base_seed = 7 + 2 * u64::from(ctx.attempt.saturating_sub(1));
            let (temperature, seed, penalty) = if round == 0 && ctx.attempt <= 1 {
                (0.0, base_seed, AGENT_FREQUENCY_PENALTY)
            } else {
                (0.6, base_seed + round, 2.0 * AGENT_FREQUENCY_PENALTY)
            };
            let req = ChatRequest {
                messages: messages.clone(),
                response_format: Some(agent.response_format(input)),
                max_tokens: agent.max_tokens(input),
                temperature,
                seed: Some(seed),
                frequency_penalty: Some(penalty),
            };
            let answer = self.chat_stream(ctx, label, &req).await?;
            let cut_off = answer.finish_reason.as_deref() == Some("length");
            let parsed = if cut_off {
                Err(format!(
                    "the answer was cut off at {} tokens; answer more briefly",
                    req.max_tokens
                ))
            } else {
                agent.parse(&answer.content, input)
            };
            match parsed {
                Ok(out) => return Ok(out),
                // A cut-off answer is usually a loop: showing it again would invite
                // the model to repeat it, so only the problem is sent back.
                Err(problem) if round == 0 && cut_off => {
                    messages = agent.messages(input);
                    messages.push(agent.repair_message(&problem));
                }
                Err(problem) if round == 0 => {
                    messages = agent.repair_messages(input, &answer.content, &problem);
                }
                Err(problem) => return Err(LlmError::InvalidOutput(problem)),
            }
        }
        Err(LlmError::InvalidOutput("no valid answer".into()))
    }

    /// Embeddings of `inputs` (unit vectors), or `Unavailable` without a model.
    pub async fn embeddings(
        &self,
        ctx: &CallContext,
        inputs: &[String],
    ) -> Result<Vec<Vec<f32>>, LlmError> {
        if !self.has_model() {
            return Err(LlmError::Unavailable(
                "embeddings need the sidecar or vLLM".into(),
            ));
        }
        let started = Instant::now();
        let body = json!({"model": self.embedding_model, "input": inputs});
        let result = self.post_json("/v1/embeddings", &body).await.and_then(|v| {
            serde_json::from_value::<OpenAiEmbeddings>(v)
                .map(|e| e.data.into_iter().map(|d| d.embedding).collect::<Vec<_>>())
                .map_err(|e| LlmError::Failed(format!("not an embeddings answer: {e}")))
        });
        let summary = result.as_ref().map(|_| ChatResponse {
            content: String::new(),
            finish_reason: None,
            model: self.embedding_model.clone(),
            prompt_tokens: inputs.iter().map(|s| (s.len() / 4) as u64).sum(),
            completion_tokens: 0,
        });
        let label = CallLabel {
            agent: "embeddings",
            prompt_version: "-",
        };
        self.record(
            ctx,
            label,
            started.elapsed(),
            &summary.map_err(Clone::clone),
        )
        .await;
        result
    }

    /// Readiness: the model server answers `/v1/models` (always ready when offline).
    pub async fn ping(&self) -> Result<String, LlmError> {
        let Some(req) = self.request(reqwest::Method::GET, "/v1/models") else {
            return Ok("local (offline, deterministic)".into());
        };
        let resp = req
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        if resp.status().is_success() {
            Ok(format!("{} ({})", self.provider_name(), self.model))
        } else {
            Err(LlmError::Unavailable(format!(
                "{} answered {}",
                self.provider_name(),
                resp.status()
            )))
        }
    }
}

/// The month key of token accounting (`YYYY-MM`, UTC).
pub fn month_key(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// Adds a call's tokens to the tenant's monthly usage.
async fn record_usage(
    db: &crate::store::TenantDb,
    prompt: u64,
    completion: u64,
) -> crate::store::StoreResult<()> {
    db.query_retrying(
        "UPSERT type::record('llm_usage', $month) SET prompt_tokens += $p, completion_tokens += $c, calls += 1;",
        json!({"month": month_key(chrono::Utc::now()), "p": prompt, "c": completion}),
    )
    .await?;
    Ok(())
}

/// Tokens (prompt + completion) the tenant used this month, and its call count.
pub async fn usage_this_month(
    db: &crate::store::TenantDb,
) -> crate::store::StoreResult<(u64, u64)> {
    #[derive(Deserialize)]
    struct Row {
        prompt_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        calls: Option<u64>,
    }
    let row: Option<Row> = db
        .query(
            "SELECT prompt_tokens, completion_tokens, calls FROM type::record('llm_usage', $month);",
            json!({"month": month_key(chrono::Utc::now())}),
        )
        .await?
        .first(0)?;
    Ok(row
        .map(|r| {
            (
                r.prompt_tokens.unwrap_or(0) + r.completion_tokens.unwrap_or(0),
                r.calls.unwrap_or(0),
            )
        })
        .unwrap_or((0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_lines_are_reassembled_across_arbitrary_splits() {
        let stream = concat!(
            "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"a\\\"\"}}]}\n\n",
            ": a comment line\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\": 1}\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2}}\n\n",
            "data: [DONE]\n\n",
        )
        .as_bytes();
        for split in [1, 2, 7, 64, stream.len()] {
            let mut lines = SseLines::default();
            let mut answer = StreamedAnswer::default();
            let mut done = false;
            for piece in stream.chunks(split) {
                for data in lines.push(piece) {
                    assert!(!done, "nothing after [DONE]");
                    done = answer.absorb(&data).unwrap();
                }
            }
            assert!(done);
            let r = answer.finish("default");
            assert_eq!(r.content, "{\"a\": 1}", "split {split}");
            assert_eq!(r.model, "m");
            assert_eq!(r.finish_reason.as_deref(), Some("stop"));
            assert_eq!((r.prompt_tokens, r.completion_tokens), (12, 2));
        }
    }

    #[test]
    fn streams_without_usage_count_pieces_and_errors_surface() {
        let mut answer = StreamedAnswer::default();
        for piece in ["Hel", "lo", ""] {
            let data = json!({"choices": [{"delta": {"content": piece}}]}).to_string();
            assert!(!answer.absorb(&data).unwrap());
        }
        let r = answer.finish("fallback-model");
        assert_eq!((r.content.as_str(), r.completion_tokens), ("Hello", 2));
        assert_eq!(r.model, "fallback-model");

        let mut answer = StreamedAnswer::default();
        let err = answer
            .absorb(r#"{"error":{"message":"backend crashed","type":"server_error"}}"#)
            .unwrap_err();
        assert!(matches!(err, LlmError::Unavailable(ref m) if m.contains("backend crashed")));
        assert!(matches!(
            answer.absorb("{not json"),
            Err(LlmError::Failed(_))
        ));
    }
}
