//! Every route of the sidecar, and the serving policy: serve locally when the model is
//! loaded and healthy; fall back to vLLM when the model isn't local, the local backend
//! fails, its queue is full or the deadline passes; otherwise a clear 503.

use crate::auth;
use crate::backend::vllm::Vllm;
use crate::backend::{FinishReason, GenError, GenEvent, GenHandle, GenRequest, Prompt, Usage};
use crate::config::Settings;
use crate::connections::Connections;
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::models::{
    default_backend, default_context, AlreadyLoading, BackendKind, Family, FileSource, Loaded,
    ModelSpec, Registry, Task, TooManyModels,
};
use crate::openai::{self, ChatRequest, CompletionRequest, EmbeddingRequest, SamplingFields};
use base64::Engine as _;
use futures::Stream;
use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError};
use poem::http::{header, HeaderMap, HeaderValue, StatusCode};
use poem::web::{Data, Json, Path};
use poem::{
    get, handler, post, Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Largest request body accepted.
const MAX_BODY: usize = 16 << 20;

/// State shared by the handlers.
pub struct AppState {
    pub settings: Settings,
    pub registry: Registry,
    pub vllm: Option<Vllm>,
    pub auth_secret: Option<String>,
    /// The secret of tokens on /admin/*: LLM_ADMIN_SECRET, else `auth_secret`.
    pub admin_secret: Option<String>,
    /// Start-up loads that failed (model -> error), reported by /readyz.
    pub failed_loads: Mutex<Vec<(String, String)>>,
    /// Start-up models not loaded yet.
    pub startup_pending: Mutex<Vec<String>>,
    /// Open client connections, to notice hang-ups.
    pub connections: Arc<Connections>,
}

/// The whole API with its middleware.
pub fn app(state: Arc<AppState>) -> impl Endpoint {
    let guard_state = state.clone();
    Route::new()
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/metrics", get(metrics_text))
        .at("/v1/models", get(list_models))
        .at("/v1/models/:id", get(get_model))
        .at("/v1/chat/completions", post(chat_completions))
        .at("/v1/completions", post(completions))
        .at("/v1/embeddings", post(embeddings))
        .at("/admin/models", admin_only(get(admin_models)))
        .at("/admin/models/load", admin_only(post(admin_load)))
        .at("/admin/models/unload", admin_only(post(admin_unload)))
        .data(state)
        .catch_error(|_: NotFoundError| async {
            ApiError::not_found("not_found", "no such endpoint").into_response()
        })
        .catch_error(|_: MethodNotAllowedError| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                "method not allowed",
            )
            .into_response()
        })
        .around(move |ep, req| {
            let state = guard_state.clone();
            async move { guard(&state, ep, req).await }
        })
}

/// Marks a request whose token `guard` checked with the admin secret (or that needed
/// none: auth off and no LLM_ADMIN_SECRET).
#[derive(Clone, Copy)]
struct AdminAuthChecked;

/// An admin endpoint: answers only requests `guard` authenticated as admin ones. The
/// guard already picks the admin secret by path; this makes the routes fail closed
/// should a path ever reach them without passing that check.
fn admin_only<E: Endpoint + 'static>(ep: E) -> impl Endpoint {
    ep.around(|ep, req: Request| async move {
        if req.extensions().get::<AdminAuthChecked>().is_none() {
            tracing::warn!("admin route reached without the admin check");
            return Ok(ApiError::unauthorized(
                "service_token_invalid",
                "X-Service-Token was not checked with the admin secret",
            )
            .into_response());
        }
        ep.call(req).await.map(IntoResponse::into_response)
    })
}

/// Correlation id, service token (signed with the admin secret on /admin/*), and a
/// last line of defence that turns any error poem raised into the OpenAI shape.
async fn guard<E: Endpoint>(
    state: &AppState,
    ep: Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    let cid = req
        .headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let path = req.uri().path().to_string();
    let span =
        tracing::info_span!("request", correlation_id = %cid, method = %req.method(), path = %path);
    // Instrumented (not `span.enter()`), so the span follows the future across threads.
    let admin = auth::is_admin(&path);
    let mut resp = async {
        let secret = if admin {
            &state.admin_secret
        } else {
            &state.auth_secret
        };
        if let (false, Some(secret)) = (auth::is_public(&path), secret) {
            let token = req
                .headers()
                .get("x-service-token")
                .and_then(|v| v.to_str().ok());
            if let Err(e) = auth::verify(secret, token, unix_now_i64()) {
                tracing::warn!(code = e.code, "service token rejected");
                return e.into_response();
            }
        }
        if admin {
            req.extensions_mut().insert(AdminAuthChecked);
        }
        call(ep, req).await
    }
    .instrument(span)
    .await;
    if let Ok(v) = HeaderValue::from_str(&cid) {
        resp.headers_mut().insert("x-correlation-id", v);
    }
    Ok(resp)
}

async fn call<E: Endpoint>(ep: Arc<E>, req: Request) -> Response {
    match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => {
            if let Some(api) = e.downcast_ref::<ApiError>() {
                return api.clone().into_response();
            }
            let status = e.status();
            let body = ApiError::new(
                status,
                "invalid_request_error",
                "bad_request",
                e.to_string(),
            );
            if status.is_server_error() {
                ApiError::internal(e).into_response()
            } else {
                body.into_response()
            }
        }
    }
}

fn unix_now_i64() -> i64 {
    i64::try_from(crate::backend::unix_now()).unwrap_or(i64::MAX)
}

async fn read_body(body: Body) -> Result<Vec<u8>, ApiError> {
    body.into_bytes_limit(MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .map_err(|e| match e {
            ReadBodyError::PayloadTooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "payload_too_large",
                format!("request body over {} MiB", MAX_BODY >> 20),
            ),
            other => ApiError::invalid(
                "invalid_body",
                format!("could not read the request body: {other}"),
            ),
        })
}

#[handler]
fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[handler]
fn readyz(Data(state): Data<&Arc<AppState>>) -> Response {
    let mut loading = state.registry.loading();
    if let Ok(p) = state.startup_pending.lock() {
        for n in p.iter() {
            if !loading.contains(n) {
                loading.push(n.clone());
            }
        }
    }
    loading.sort();
    let failed: Vec<Value> = state
        .failed_loads
        .lock()
        .map(|f| {
            f.iter()
                .map(|(m, e)| json!({"model": m, "error": e}))
                .collect()
        })
        .unwrap_or_default();
    let loaded: Vec<String> = state
        .registry
        .list()
        .iter()
        .map(|m| m.info().name.clone())
        .collect();
    // Not ready while loading; nor when a start-up model failed and nothing can stand in.
    let ready = loading.is_empty() && (failed.is_empty() || state.vllm.is_some());
    let body = json!({
        "status": if ready { "ready" } else if loading.is_empty() { "degraded" } else { "loading" },
        "loaded": loaded,
        "loading": loading,
        "failed": failed,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(body).with_status(status).into_response()
}

#[handler]
fn metrics_text() -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(metrics().render())
}

fn model_json(m: &Loaded) -> Value {
    let info = m.info();
    json!({
        "id": info.name,
        "object": "model",
        "created": info.created,
        "owned_by": "llm-sidecar",
        "backend": info.backend,
        "task": match m.task() { Task::Chat => "chat", Task::Embedding => "embedding" },
        "context_length": info.context_length,
    })
}

#[handler]
fn list_models(Data(state): Data<&Arc<AppState>>) -> Json<Value> {
    let data: Vec<Value> = state.registry.list().iter().map(model_json).collect();
    Json(json!({ "object": "list", "data": data }))
}

#[handler]
fn get_model(Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.registry.get(&id) {
        Some(m) => Json(model_json(&m)).into_response(),
        None => ApiError::not_found("model_not_found", format!("model `{id}` is not loaded"))
            .into_response(),
    }
}

/// Which generation endpoint a request came through (they differ in response shape).
#[derive(Clone, Copy, PartialEq, Eq)]
enum GenKind {
    Chat,
    Completion,
}

impl GenKind {
    fn path(self) -> &'static str {
        match self {
            GenKind::Chat => "/v1/chat/completions",
            GenKind::Completion => "/v1/completions",
        }
    }
}

/// The deadline of a request: the configured timeout, or less if the client asks.
fn deadline(settings: &Settings, headers: &HeaderMap, start: Instant) -> Result<Instant, ApiError> {
    let max = settings.request_timeout();
    let timeout = match headers.get("x-request-timeout") {
        None => max,
        Some(v) => {
            let secs: f64 = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "invalid_header",
                        "X-Request-Timeout must be a positive number of seconds",
                    )
                })?;
            Duration::from_secs_f64(secs.min(max.as_secs_f64()))
        }
    };
    Ok(start + timeout)
}

/// Forwards to vLLM when one is configured (logged and counted by reason), otherwise
/// answers `otherwise`.
async fn fallback_or(
    state: &AppState,
    reason: &'static str,
    kind_path: &str,
    raw: &Value,
    stream: bool,
    otherwise: ApiError,
) -> Response {
    let Some(vllm) = &state.vllm else {
        metrics()
            .requests
            .with_label_values(&[kind_path, raw_model(raw), "none", otherwise.status.as_str()])
            .inc();
        return otherwise.into_response();
    };
    metrics().fallbacks.with_label_values(&[reason]).inc();
    tracing::warn!(
        reason,
        model = raw_model(raw),
        endpoint = vllm.base(),
        "falling back to vLLM"
    );
    let timeout = state.settings.request_timeout();
    let result = if stream {
        vllm.forward_stream(kind_path, raw, timeout).await
    } else {
        vllm.forward(kind_path, raw, timeout).await.map(|a| {
            if let Some((p, c)) = a.usage {
                let m = metrics();
                m.prompt_tokens
                    .with_label_values(&[raw_model(raw), "vllm"])
                    .inc_by(p);
                m.completion_tokens
                    .with_label_values(&[raw_model(raw), "vllm"])
                    .inc_by(c);
            }
            a.response
        })
    };
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    metrics()
        .requests
        .with_label_values(&[kind_path, raw_model(raw), "vllm", resp.status().as_str()])
        .inc();
    resp.headers_mut()
        .insert("x-llm-fallback-reason", HeaderValue::from_static(reason));
    resp
}

fn raw_model(raw: &Value) -> &str {
    raw.get("model").and_then(Value::as_str).unwrap_or("")
}

/// Maps a local failure to the fallback reason and the 503 given without vLLM.
fn local_failure(e: &GenError) -> (&'static str, ApiError) {
    match e {
        GenError::QueueFull => (
            "queue_full",
            ApiError::unavailable("queue_full", "the model's queue is full; retry shortly")
                .with_retry_after(1),
        ),
        GenError::Timeout => (
            "timeout",
            ApiError::unavailable("timeout", "the request's deadline passed"),
        ),
        GenError::Backend(m) => (
            "local_error",
            ApiError::unavailable("backend_error", format!("the local model failed: {m}")),
        ),
        GenError::BadRequest(m) => (
            "bad_request",
            ApiError::invalid("invalid_request", m.clone()),
        ),
    }
}

fn bad_request(m: &str) -> ApiError {
    if m.contains("context") {
        ApiError::invalid("context_length_exceeded", m.to_string())
    } else {
        ApiError::invalid("invalid_request", m.to_string())
    }
}

#[handler]
async fn chat_completions(
    Data(state): Data<&Arc<AppState>>,
    req: &Request,
    body: Body,
) -> Response {
    let start = Instant::now();
    let peer = req.remote_addr().as_socket_addr().copied();
    let resp = match chat_inner(state, req.headers(), peer, body, start).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    metrics()
        .request_seconds
        .with_label_values(&["chat"])
        .observe(start.elapsed().as_secs_f64());
    resp
}

async fn chat_inner(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    body: Body,
    start: Instant,
) -> Result<Response, ApiError> {
    let bytes = read_body(body).await?;
    let raw: Value = openai::parse_body(&bytes)?;
    let req: ChatRequest = openai::parse_body(&bytes)?;
    let sampling: SamplingFields = openai::parse_body(&bytes)?;
    let messages = openai::chat_messages(&req)?;
    generate(
        state,
        GenKind::Chat,
        &raw,
        &req.model,
        Prompt::Chat(messages),
        &sampling,
        headers,
        peer,
        start,
    )
    .await
}

#[handler]
async fn completions(Data(state): Data<&Arc<AppState>>, req: &Request, body: Body) -> Response {
    let start = Instant::now();
    let peer = req.remote_addr().as_socket_addr().copied();
    let resp = match completions_inner(state, req.headers(), peer, body, start).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    metrics()
        .request_seconds
        .with_label_values(&["completions"])
        .observe(start.elapsed().as_secs_f64());
    resp
}

async fn completions_inner(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    body: Body,
    start: Instant,
) -> Result<Response, ApiError> {
    let bytes = read_body(body).await?;
    let raw: Value = openai::parse_body(&bytes)?;
    let req: CompletionRequest = openai::parse_body(&bytes)?;
    let sampling: SamplingFields = openai::parse_body(&bytes)?;
    let prompt = openai::completion_prompt(&req)?;
    generate(
        state,
        GenKind::Completion,
        &raw,
        &req.model,
        prompt,
        &sampling,
        headers,
        peer,
        start,
    )
    .await
}

/// The shared path of chat and completions: validate, pick a backend, serve or fall back.
#[allow(clippy::too_many_arguments)]
async fn generate(
    state: &Arc<AppState>,
    kind: GenKind,
    raw: &Value,
    model: &str,
    prompt: Prompt,
    fields: &SamplingFields,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    start: Instant,
) -> Result<Response, ApiError> {
    let params = openai::gen_params(fields, state.settings.default_max_tokens)?;
    let deadline = deadline(&state.settings, headers, start)?;
    let stream = fields.stream;
    let include_usage = fields
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    let path = kind.path();

    let backend = match state.registry.chat(model) {
        Some(b) if b.healthy() => b,
        Some(_) => {
            let e = ApiError::unavailable(
                "model_unhealthy",
                format!("model `{model}` failed and is not serving"),
            );
            return Ok(fallback_or(state, "local_error", path, raw, stream, e).await);
        }
        None => {
            let e = not_local(state, model, Task::Chat);
            return Ok(fallback_or(state, "model_not_local", path, raw, stream, e).await);
        }
    };

    let req = GenRequest {
        prompt,
        params,
        deadline,
    };
    let b2 = backend.clone();
    let submitted = tokio::task::spawn_blocking(move || b2.submit(req))
        .await
        .unwrap_or_else(|e| Err(GenError::Backend(format!("submit task failed: {e}"))));
    let handle = match submitted {
        Ok(h) => h,
        Err(GenError::BadRequest(m)) => return Err(bad_request(&m)),
        Err(e) => {
            let (reason, err) = local_failure(&e);
            return Ok(fallback_or(state, reason, path, raw, stream, err).await);
        }
    };
    let ctx = Served {
        state: state.clone(),
        kind,
        model: model.to_string(),
        backend_label: backend.info().backend,
        start,
        deadline,
        peer,
    };
    if stream {
        Ok(serve_stream(ctx, handle, raw, include_usage).await)
    } else {
        Ok(serve_whole(ctx, handle, raw).await)
    }
}

/// The 404 or 503 for a model we don't have loaded.
fn not_local(state: &AppState, model: &str, task: Task) -> ApiError {
    let in_manifest = state
        .registry
        .manifest()
        .ok()
        .and_then(|m| m.get(model).map(|s| s.task == task))
        .unwrap_or(false);
    if in_manifest {
        ApiError::unavailable(
            "model_not_loaded",
            format!("model `{model}` is not loaded (POST /admin/models/load)"),
        )
    } else {
        ApiError::not_found("model_not_found", format!("model `{model}` does not exist"))
    }
}

/// What the response builders need to know about a locally served request.
struct Served {
    state: Arc<AppState>,
    kind: GenKind,
    model: String,
    backend_label: &'static str,
    start: Instant,
    deadline: Instant,
    peer: Option<SocketAddr>,
}

/// What waiting for the next generation event gave.
enum Next {
    Event(Option<GenEvent>),
    Deadline,
    ClientGone,
}

impl Served {
    /// The next event, unless the deadline passes or the client hangs up first.
    async fn next(&self, handle: &mut GenHandle) -> Next {
        tokio::select! {
            r = tokio::time::timeout_at(self.deadline(), handle.events.recv()) => match r {
                Ok(ev) => Next::Event(ev),
                Err(_) => Next::Deadline,
            },
            () = self.state.connections.closed(self.peer.as_ref()) => Next::ClientGone,
        }
    }

    fn id(&self) -> String {
        let prefix = match self.kind {
            GenKind::Chat => "chatcmpl",
            GenKind::Completion => "cmpl",
        };
        format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
    }

    fn record(&self, usage: Usage, first_token: Option<Instant>, status: &str) {
        let m = metrics();
        let labels = [self.model.as_str(), self.backend_label];
        m.requests
            .with_label_values(&[self.kind.path(), &self.model, self.backend_label, status])
            .inc();
        m.prompt_tokens
            .with_label_values(&labels)
            .inc_by(usage.prompt_tokens as u64);
        m.completion_tokens
            .with_label_values(&labels)
            .inc_by(usage.completion_tokens as u64);
        if let Some(t) = first_token {
            m.ttft
                .with_label_values(&labels)
                .observe((t - self.start).as_secs_f64());
            let decode = t.elapsed().as_secs_f64();
            if usage.completion_tokens > 1 && decode > 0.0 {
                m.decode_tps
                    .with_label_values(&labels)
                    .observe((usage.completion_tokens - 1) as f64 / decode);
            }
        }
    }

    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.deadline)
    }
}

fn usage_json(u: Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    })
}

/// Why a local generation ended without an answer, as the response to send instead:
/// a 400 for a bad request; otherwise a fallback (or its 503). A client that hung up
/// gets nothing (nobody reads it); dropping the handle has already freed its slot.
async fn unanswered(ctx: &Served, why: Next, raw: &Value, stream: bool) -> Response {
    let err = match why {
        Next::Event(Some(GenEvent::Error(GenError::BadRequest(m)))) => {
            return bad_request(&m).into_response()
        }
        Next::Event(Some(GenEvent::Error(e))) => e,
        Next::Event(_) => GenError::Backend("generation ended without an answer".into()),
        Next::Deadline => GenError::Timeout,
        Next::ClientGone => {
            tracing::info!(model = %ctx.model, "client disconnected; generation stopped");
            return ApiError::invalid("client_disconnected", "the client disconnected")
                .into_response();
        }
    };
    let (reason, err) = local_failure(&err);
    fallback_or(&ctx.state, reason, ctx.kind.path(), raw, stream, err).await
}

/// Collects a whole answer. If the deadline passes or the model fails first, the
/// request falls back (or gets its 503) as if it had never been served locally.
async fn serve_whole(ctx: Served, mut handle: GenHandle, raw: &Value) -> Response {
    let mut text = String::new();
    let mut first = None;
    let (finish, usage) = loop {
        match ctx.next(&mut handle).await {
            Next::Event(Some(GenEvent::Delta(d))) => {
                first.get_or_insert_with(Instant::now);
                text.push_str(&d);
            }
            Next::Event(Some(GenEvent::Done { finish, usage })) => break (finish, usage),
            other => {
                drop(handle);
                return unanswered(&ctx, other, raw, false).await;
            }
        }
    };
    ctx.record(usage, first, "200");
    let created = crate::backend::unix_now();
    let body = match ctx.kind {
        GenKind::Chat => json!({
            "id": ctx.id(),
            "object": "chat.completion",
            "created": created,
            "model": ctx.model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null},
                "logprobs": null,
                "finish_reason": finish.as_str(),
            }],
            "usage": usage_json(usage),
        }),
        GenKind::Completion => json!({
            "id": ctx.id(),
            "object": "text_completion",
            "created": created,
            "model": ctx.model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "text": text,
                "logprobs": null,
                "finish_reason": finish.as_str(),
            }],
            "usage": usage_json(usage),
        }),
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert("x-llm-backend", HeaderValue::from_static(ctx.backend_label));
    resp
}

/// Server-sent events in OpenAI's format, ending with `data: [DONE]`. The first event
/// is awaited before answering, so a request that times out or fails before its first
/// token can still fall back.
async fn serve_stream(
    ctx: Served,
    mut handle: GenHandle,
    raw: &Value,
    include_usage: bool,
) -> Response {
    let first = match ctx.next(&mut handle).await {
        Next::Event(Some(ev @ (GenEvent::Delta(_) | GenEvent::Done { .. }))) => ev,
        other => {
            drop(handle);
            return unanswered(&ctx, other, raw, true).await;
        }
    };
    let backend = ctx.backend_label;
    let body = Body::from_bytes_stream(event_stream(ctx, handle, first, include_usage));
    Response::builder()
        .content_type("text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-llm-backend", backend)
        .body(body)
}

fn sse(v: &Value) -> Result<String, std::io::Error> {
    Ok(format!("data: {v}\n\n"))
}

fn event_stream(
    ctx: Served,
    mut handle: GenHandle,
    first: GenEvent,
    include_usage: bool,
) -> impl Stream<Item = Result<String, std::io::Error>> + Send + 'static {
    async_stream::stream! {
        let id = ctx.id();
        let created = crate::backend::unix_now();
        let usage_field = if include_usage { json!(null) } else { Value::Null };
        let chunk = |delta: Option<&str>, finish: Option<FinishReason>, role: bool| -> Value {
            let mut v = match ctx.kind {
                GenKind::Chat => {
                    let delta = match (role, delta) {
                        (true, _) => json!({"role": "assistant", "content": ""}),
                        (false, Some(d)) => json!({"content": d}),
                        (false, None) => json!({}),
                    };
                    json!({
                        "id": id, "object": "chat.completion.chunk", "created": created, "model": ctx.model,
                        "system_fingerprint": null,
                        "choices": [{"index": 0, "delta": delta, "logprobs": null,
                                     "finish_reason": finish.map(FinishReason::as_str)}],
                    })
                }
                GenKind::Completion => json!({
                    "id": id, "object": "text_completion", "created": created, "model": ctx.model,
                    "system_fingerprint": null,
                    "choices": [{"index": 0, "text": delta.unwrap_or(""), "logprobs": null,
                                 "finish_reason": finish.map(FinishReason::as_str)}],
                }),
            };
            if include_usage {
                v["usage"] = usage_field.clone();
            }
            v
        };
        if ctx.kind == GenKind::Chat {
            yield sse(&chunk(None, None, true));
        }
        let mut first_token = None;
        let mut next = Some(first);
        loop {
            let ev = match next.take() {
                Some(ev) => ev,
                None => match tokio::time::timeout_at(ctx.deadline(), handle.events.recv()).await {
                    Ok(Some(ev)) => ev,
                    Ok(None) => GenEvent::Error(GenError::Backend("generation ended without an answer".into())),
                    Err(_) => GenEvent::Error(GenError::Timeout),
                },
            };
            match ev {
                GenEvent::Delta(d) => {
                    first_token.get_or_insert_with(Instant::now);
                    yield sse(&chunk(Some(&d), None, false));
                }
                GenEvent::Done { finish, usage } => {
                    ctx.record(usage, first_token, "200");
                    yield sse(&chunk(None, Some(finish), false));
                    if include_usage {
                        let mut u = chunk(None, None, false);
                        u["choices"] = json!([]);
                        u["usage"] = usage_json(usage);
                        yield sse(&u);
                    }
                    break;
                }
                GenEvent::Error(e) => {
                    // Tokens were already sent: no fallback now; report in-band, as
                    // OpenAI does, so clients raise an error instead of a short answer.
                    let (_, err) = local_failure(&e);
                    tracing::warn!(error = %err, "stream ended early");
                    metrics().requests.with_label_values(&[ctx.kind.path(), &ctx.model, ctx.backend_label, "stream_error"]).inc();
                    yield sse(&err.body());
                    break;
                }
            }
        }
        yield Ok("data: [DONE]\n\n".to_string());
    }
}

#[handler]
async fn embeddings(Data(state): Data<&Arc<AppState>>, req: &Request, body: Body) -> Response {
    let start = Instant::now();
    let resp = match embeddings_inner(state, req.headers(), body, start).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    metrics()
        .request_seconds
        .with_label_values(&["embeddings"])
        .observe(start.elapsed().as_secs_f64());
    resp
}

async fn embeddings_inner(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
    start: Instant,
) -> Result<Response, ApiError> {
    let path = "/v1/embeddings";
    let bytes = read_body(body).await?;
    let raw: Value = openai::parse_body(&bytes)?;
    let req: EmbeddingRequest = openai::parse_body(&bytes)?;
    let inputs = openai::embedding_inputs(&req)?;
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(ApiError::invalid_param(
                "encoding_format",
                "`encoding_format` is `float` or `base64`",
            ))
        }
    };
    let deadline = deadline(&state.settings, headers, start)?;
    let Some(model) = state.registry.embed(&req.model) else {
        let e = not_local(state, &req.model, Task::Embedding);
        return Ok(fallback_or(state, "model_not_local", path, &raw, false, e).await);
    };
    if let Some(d) = req.dimensions {
        if d as usize != model.dimensions() {
            return Err(ApiError::invalid_param(
                "dimensions",
                format!(
                    "this model has {} dimensions and can't change them",
                    model.dimensions()
                ),
            ));
        }
    }
    let m2 = model.clone();
    let task = tokio::task::spawn_blocking(move || m2.embed(&inputs));
    let result = match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), task).await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(GenError::Backend(format!("embedding task failed: {e}"))),
        Err(_) => Err(GenError::Timeout),
    };
    let (vectors, tokens) = match result {
        Ok(v) => v,
        Err(GenError::BadRequest(m)) => return Err(bad_request(&m)),
        Err(e) => {
            let (reason, err) = local_failure(&e);
            return Ok(fallback_or(state, reason, path, &raw, false, err).await);
        }
    };
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let info = model.info();
    let m = metrics();
    m.requests
        .with_label_values(&[path, &info.name, info.backend, "200"])
        .inc();
    m.prompt_tokens
        .with_label_values(&[&info.name, info.backend])
        .inc_by(tokens as u64);
    let mut resp = Json(json!({
        "object": "list",
        "data": data,
        "model": info.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response();
    resp.headers_mut()
        .insert("x-llm-backend", HeaderValue::from_static(info.backend));
    Ok(resp)
}

#[handler]
fn admin_models(Data(state): Data<&Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let manifest = state
        .registry
        .manifest()
        .map_err(|e| ApiError::internal(format!("{e:#}")))?;
    let loaded = state.registry.list();
    let loading = state.registry.loading();
    let mut rows: Vec<Value> = manifest
        .models
        .iter()
        .map(|s| {
            json!({
                "name": s.name, "backend": s.backend, "task": s.task, "family": s.family,
                "file": s.file, "context_length": s.context_length, "autoload": s.autoload,
                "loaded": loaded.iter().any(|l| l.info().name == s.name),
                "loading": loading.contains(&s.name),
            })
        })
        .collect();
    for l in &loaded {
        if manifest.get(&l.info().name).is_none() {
            rows.push(json!({"name": l.info().name, "backend": l.info().backend, "loaded": true, "in_manifest": false}));
        }
    }
    Ok(Json(json!({
        "models": rows,
        "max_loaded_models": state.registry.max_loaded_models(),
    })))
}

/// The body of `POST /admin/models/load`: the model, and the manifest fields a request
/// may set for this load. Unknown fields are refused, not ignored: a misspelt field
/// (`context_lenght`) would otherwise load with the manifest's value unnoticed, and a
/// free-form map let a request set anything the manifest can, `sha256` included. A
/// `null` is the same as leaving the field out, so it can't erase a manifest value.
/// Not here: `name` (that is `model`) and `autoload` (start-up only).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadBody {
    model: String,
    backend: Option<BackendKind>,
    task: Option<Task>,
    family: Option<Family>,
    file: Option<String>,
    /// Only for a model outside the manifest: a manifest model's file is checked
    /// against the manifest's sha256, which a request can't replace.
    sha256: Option<String>,
    context_length: Option<usize>,
    dimensions: Option<usize>,
}

/// Largest `dimensions` a load request may give a fake embedding model.
const MAX_FAKE_DIMENSIONS: usize = 16384;

/// Parses a load request. Errors keep the sidecar's shape: an unknown field is
/// `unknown_field` with the field as `param`; a bad value is `invalid_model_spec`.
fn parse_load_body(bytes: &[u8]) -> Result<LoadBody, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid(
                "invalid_json",
                format!("request body is not valid JSON: {inner}"),
            );
        }
        let msg = inner.to_string();
        // serde's wording for `deny_unknown_fields`: "unknown field `x`, expected ...".
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_string());
        let (code, param, message) = match unknown {
            Some(field) => (
                "unknown_field",
                Some(field),
                format!("a load request can't set this field: {msg}"),
            ),
            None if path == "." => ("invalid_request", None, format!("invalid request: {msg}")),
            None => (
                "invalid_model_spec",
                Some(path.clone()),
                format!("invalid value for `{path}`: {msg}"),
            ),
        };
        let mut err = ApiError::invalid(code, message);
        err.param = param;
        err
    })
}

/// Resolves the spec of a load request: the manifest entry (re-read now, so entries
/// added while running can be loaded) with the request's fields on top; a model not in
/// the manifest must bring `task` and `family` (and `file`, unless served by the fake
/// backend). Also says who chose the file: with LLM_VERIFY_SHA256 on, a file the
/// request named loads only when a sha256 pins it.
fn load_spec(state: &AppState, body: LoadBody) -> Result<(ModelSpec, FileSource), ApiError> {
    if let Some(n) = body.context_length {
        state
            .registry
            .check_context_length(n)
            .map_err(|e| ApiError::invalid_param("context_length", e))?;
    }
    // Each embedding of a fake model is allocated at this size, so it is bounded like
    // context_length (no real embedding model comes near it).
    if body
        .dimensions
        .is_some_and(|d| d == 0 || d > MAX_FAKE_DIMENSIONS)
    {
        return Err(ApiError::invalid_param(
            "dimensions",
            format!("`dimensions` must be within 1..={MAX_FAKE_DIMENSIONS}"),
        ));
    }
    if let Some(h) = &body.sha256 {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::invalid_param(
                "sha256",
                "`sha256` must be 64 hex digits",
            ));
        }
    }
    let manifest = state
        .registry
        .manifest()
        .map_err(|e| ApiError::invalid("manifest_invalid", format!("{e:#}")))?;
    let Some(listed) = manifest.get(&body.model) else {
        let (Some(task), Some(family)) = (body.task, body.family) else {
            return Err(ApiError::not_found(
                "model_not_found",
                format!(
                    "model `{}` is not in the manifest; give task and family (and file, \
                     with sha256 while LLM_VERIFY_SHA256 is on)",
                    body.model
                ),
            ));
        };
        let spec = ModelSpec {
            name: body.model,
            backend: body.backend.unwrap_or_else(default_backend),
            task,
            family,
            file: body.file,
            sha256: body.sha256,
            context_length: body.context_length.unwrap_or_else(default_context),
            autoload: false,
            dimensions: body.dimensions,
        };
        return Ok((spec, FileSource::Request));
    };
    if body.sha256.is_some() {
        return Err(ApiError::invalid_param(
            "sha256",
            format!(
                "`{}` is in the manifest: its file is checked against the manifest's sha256, \
                 which a load request can't set",
                body.model
            ),
        ));
    }
    let mut spec = listed.clone();
    // Another file than the manifest's is the request's choice; it is still checked
    // against the manifest's sha256 (so only the same bytes under another name pass).
    let source = match &body.file {
        Some(f) if spec.file.as_deref() != Some(f.as_str()) => FileSource::Request,
        _ => FileSource::Manifest,
    };
    if let Some(v) = body.backend {
        spec.backend = v;
    }
    if let Some(v) = body.task {
        spec.task = v;
    }
    if let Some(v) = body.family {
        spec.family = v;
    }
    if let Some(v) = body.file {
        spec.file = Some(v);
    }
    if let Some(v) = body.context_length {
        spec.context_length = v;
    }
    if let Some(v) = body.dimensions {
        spec.dimensions = Some(v);
    }
    Ok((spec, source))
}

#[handler]
async fn admin_load(
    Data(state): Data<&Arc<AppState>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(body).await?;
    let body = parse_load_body(&bytes)?;
    let (spec, source) = load_spec(state, body)?;
    let st = state.clone();
    let s2 = spec.clone();
    let result = tokio::task::spawn_blocking(move || st.registry.load_from(&s2, source))
        .await
        .map_err(|e| ApiError::internal(format!("load task failed: {e}")))?;
    match result {
        Ok(info) => Ok(Json(json!({
            "loaded": {"id": info.name, "backend": info.backend, "context_length": info.context_length},
        }))),
        Err(e) if e.downcast_ref::<AlreadyLoading>().is_some() => Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "model_loading",
            e.to_string(),
        )),
        Err(e) if e.downcast_ref::<TooManyModels>().is_some() => Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "model_limit_reached",
            e.to_string(),
        )),
        Err(e) => {
            tracing::error!(model = %spec.name, error = %format!("{e:#}"), "model load failed");
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                "model_load_failed",
                format!("loading `{}` failed: {e:#}", spec.name),
            ))
        }
    }
}

#[derive(serde::Deserialize)]
struct UnloadBody {
    model: String,
}

#[handler]
async fn admin_unload(
    Data(state): Data<&Arc<AppState>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(body).await?;
    let body: UnloadBody = openai::parse_body(&bytes)?;
    if state.registry.unload(&body.model) {
        tracing::info!(model = %body.model, "model unloaded");
        Ok(Json(json!({ "unloaded": body.model })))
    } else {
        Err(ApiError::not_found(
            "model_not_loaded",
            format!("model `{}` is not loaded", body.model),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_bodies_take_only_their_fields() {
        let b = parse_load_body(
            br#"{"model": "m", "task": "chat", "family": "llama", "file": "f.gguf",
                 "backend": "fake", "context_length": 2048, "dimensions": 8}"#,
        )
        .unwrap();
        assert_eq!(
            (b.model.as_str(), b.task, b.context_length),
            ("m", Some(Task::Chat), Some(2048))
        );
        for field in ["name", "autoload", "context_lenght", "install"] {
            let body = format!(r#"{{"model": "m", "{field}": 1}}"#);
            let e = parse_load_body(body.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status, e.code, e.param.as_deref()),
                (StatusCode::BAD_REQUEST, "unknown_field", Some(field)),
                "{field}"
            );
            assert!(e.message.contains(&format!("`{field}`")), "{}", e.message);
        }
        let e = parse_load_body(br#"{"model": "m", "task": "sing"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            ("invalid_model_spec", Some("task"))
        );
        assert_eq!(
            parse_load_body(br#"{"task": "chat"}"#).unwrap_err().code,
            "invalid_request"
        );
        assert_eq!(parse_load_body(b"{").unwrap_err().code, "invalid_json");
        // null is "not given", for every field.
        let b = parse_load_body(
            br#"{"model": "m", "sha256": null, "file": null, "context_length": null}"#,
        )
        .unwrap();
        assert!(b.sha256.is_none() && b.file.is_none() && b.context_length.is_none());
    }
}
