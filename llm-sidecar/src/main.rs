//! `llm-sidecar`: AfterResume's OpenAI-compatible inference server.
//!
//! This is a placeholder until the sidecar issue lands: it only answers
//! `GET /healthz` and `GET /v1/models` (an empty model list), and every other
//! path with a 404 in the OpenAI error shape. Chat/completions/embeddings,
//! the candle/vLLM/fake backends, `/metrics` and `X-Service-Token` checks
//! arrive with that issue (SPEC §8).

use std::time::Duration;

use clap::Parser;
use poem::{
    error::{MethodNotAllowedError, NotFoundError},
    get, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Json,
    EndpointExt, IntoResponse, Route, Server,
};
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

/// OpenAI-compatible inference server for AfterResume (placeholder).
#[derive(Debug, Parser)]
#[command(name = "llm-sidecar", version, about)]
struct Args {
    /// Address to bind.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to bind (0 picks a free port).
    #[arg(long, env = "PORT", default_value_t = 8081)]
    port: u16,
}

#[handler]
fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[handler]
fn list_models() -> Json<Value> {
    Json(json!({ "object": "list", "data": [] }))
}

/// An error body in the shape OpenAI clients expect.
fn openai_error(status: StatusCode, message: &str, code: &str) -> impl IntoResponse {
    Json(json!({
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "code": code,
        }
    }))
    .with_status(status)
}

fn app() -> impl poem::Endpoint {
    Route::new()
        .at("/healthz", get(healthz))
        .at("/v1/models", get(list_models))
        .catch_error(|_: NotFoundError| async {
            openai_error(StatusCode::NOT_FOUND, "Not found", "not_found")
        })
        .catch_error(|_: MethodNotAllowedError| async {
            openai_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "method_not_allowed",
            )
        })
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("pretty"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if pretty {
        builder.init();
    } else {
        builder.json().init();
    }
}

/// Resolves on ctrl-c (and SIGTERM on unix).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    init_tracing();

    let acceptor = TcpListener::bind((args.host, args.port))
        .into_acceptor()
        .await?;
    for addr in acceptor.local_addr() {
        if let Some(addr) = addr.as_socket_addr() {
            tracing::info!(%addr, "llm-sidecar listening");
        }
    }

    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app(), shutdown_signal(), Some(Duration::from_secs(10)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::{http::Method, Endpoint, Request};

    async fn call(method: Method, path: &str) -> (StatusCode, Value) {
        let req = Request::builder().method(method).uri_str(path).finish();
        let resp = app().get_response(req).await;
        let status = resp.status();
        let body = resp.into_body().into_json().await.expect("JSON body");
        (status, body)
    }

    #[tokio::test]
    async fn healthz_and_models() {
        assert_eq!(
            call(Method::GET, "/healthz").await,
            (StatusCode::OK, json!({ "status": "ok" }))
        );
        assert_eq!(
            call(Method::GET, "/v1/models").await,
            (StatusCode::OK, json!({ "object": "list", "data": [] }))
        );
    }

    #[tokio::test]
    async fn unknown_path_is_openai_404() {
        let (status, body) = call(Method::GET, "/v1/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    #[tokio::test]
    async fn wrong_method_is_openai_405() {
        let (status, body) = call(Method::POST, "/healthz").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
}
