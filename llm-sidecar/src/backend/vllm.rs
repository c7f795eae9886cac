//! Forwarding to an OpenAI-compatible server (vLLM in production; llama.cpp's server in
//! the tests). The request body goes out unchanged and the answer comes back unchanged,
//! streams included, so the client can't tell who served it, except for the
//! `X-LLM-Backend: vllm` header.

use crate::error::ApiError;
use futures::TryStreamExt;
use poem::http::{header, StatusCode};
use poem::{Body, Response};
use serde_json::Value;
use std::time::Duration;

pub struct Vllm {
    base: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

/// A non-streaming answer, with its usage when it reports one (for the metrics).
pub struct Answer {
    pub response: Response,
    pub usage: Option<(u64, u64)>,
}

impl Vllm {
    pub fn new(base: &str, api_key: Option<String>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.is_empty()),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<reqwest::Response, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .post(format!("{}{path}", self.base))
                .timeout(timeout)
                .json(body);
            if let Some(k) = &self.api_key {
                req = req.bearer_auth(k);
            }
            match req.send().await {
                Ok(r) => return Ok(r),
                // A pooled keep-alive connection the server had just closed fails
                // before the request is processed: one retry on a fresh connection.
                Err(e) if attempt == 1 && !e.is_timeout() && (e.is_connect() || e.is_request()) => {
                    tracing::debug!(error = %e, "vLLM request failed; retrying once");
                }
                Err(e) => {
                    tracing::warn!(error = %e, endpoint = %self.base, "vLLM request failed");
                    return Err(if e.is_timeout() {
                        ApiError::unavailable(
                            "upstream_timeout",
                            "the vLLM fallback did not answer in time",
                        )
                    } else {
                        ApiError::unavailable(
                            "upstream_unavailable",
                            "the vLLM fallback is unreachable",
                        )
                    });
                }
            }
        }
    }

    /// Forwards a non-streaming request and returns the upstream answer as it is.
    pub async fn forward(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Answer, ApiError> {
        let resp = self.send(path, body, timeout).await?;
        let status =
            StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let bytes = resp.bytes().await.map_err(|e| {
            tracing::warn!(error = %e, "reading the vLLM answer failed");
            ApiError::unavailable("upstream_unavailable", "the vLLM answer was cut off")
        })?;
        let usage = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
            let u = v.get("usage")?;
            Some((
                u.get("prompt_tokens")?.as_u64()?,
                u.get("completion_tokens")?.as_u64().unwrap_or(0),
            ))
        });
        let response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, ctype)
            .header("x-llm-backend", "vllm")
            .body(Body::from_bytes(bytes));
        Ok(Answer { response, usage })
    }

    /// Forwards a streaming request; the server-sent events pass through as they come.
    pub async fn forward_stream(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Response, ApiError> {
        let resp = self.send(path, body, timeout).await?;
        let status =
            StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/event-stream")
            .to_string();
        let stream = resp.bytes_stream().map_err(std::io::Error::other);
        Ok(Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, ctype)
            .header(header::CACHE_CONTROL, "no-cache")
            .header("x-llm-backend", "vllm")
            .body(Body::from_bytes_stream(stream)))
    }
}
