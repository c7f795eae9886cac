//! Backends behind the OpenAI API: `candle` (local inference), `fake` (deterministic,
//! for tests) and `vllm` (forwarding to an OpenAI-compatible server, the fallback).
//! The first two implement [`ChatBackend`] / [`EmbedBackend`]; the API layer decides
//! when to forward to vLLM instead.

pub mod fake;
pub mod gguf;
pub mod vllm;

use crate::openai::Message;
use llm_sidecar_kernels::sampling::SamplingParams;
use std::time::Instant;
use tokio::sync::mpsc;

/// What to generate from.
#[derive(Debug, Clone)]
pub enum Prompt {
    /// Chat messages, rendered with the model's chat template.
    Chat(Vec<Message>),
    /// Raw text (completions).
    Text(String),
    /// Token ids (completions).
    Tokens(Vec<u32>),
}

/// `response_format`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema(serde_json::Value),
}

/// Validated generation parameters.
#[derive(Debug, Clone)]
pub struct GenParams {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub seed: Option<u64>,
    pub stop: Vec<String>,
    pub response_format: ResponseFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
}

/// Why a generation could not be served locally.
#[derive(Debug, Clone, PartialEq)]
pub enum GenError {
    /// The bounded queue is full.
    QueueFull,
    /// The request's deadline passed.
    Timeout,
    /// The request itself is wrong (too long, bad schema): a 400, never a fallback.
    BadRequest(String),
    /// The local backend failed.
    Backend(String),
}

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenError::QueueFull => f.write_str("queue full"),
            GenError::Timeout => f.write_str("deadline passed"),
            GenError::BadRequest(m) => write!(f, "bad request: {m}"),
            GenError::Backend(m) => write!(f, "backend error: {m}"),
        }
    }
}

/// Events of one generation, in order: deltas, then `Done` or `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    Delta(String),
    Done { finish: FinishReason, usage: Usage },
    Error(GenError),
}

/// A running generation. Dropping it cancels the generation and frees its slot.
pub struct GenHandle {
    pub prompt_tokens: usize,
    pub events: mpsc::UnboundedReceiver<GenEvent>,
}

/// A job as the API hands it to a backend.
#[derive(Debug, Clone)]
pub struct GenRequest {
    pub prompt: Prompt,
    pub params: GenParams,
    pub deadline: Instant,
}

/// Facts about a loaded model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub name: String,
    /// `candle` or `fake`.
    pub backend: &'static str,
    pub context_length: usize,
    /// Unix time it was loaded (OpenAI's `created`).
    pub created: u64,
}

/// A text-generation model (chat and completions).
pub trait ChatBackend: Send + Sync {
    fn info(&self) -> &ModelInfo;

    /// False once the backend has failed for good (its worker died); the API then
    /// falls back to vLLM.
    fn healthy(&self) -> bool;

    /// Tokenizes, checks and enqueues. Blocking (tokenization, grammar compilation):
    /// call it from a blocking thread.
    fn submit(&self, req: GenRequest) -> Result<GenHandle, GenError>;
}

/// An embedding model.
pub trait EmbedBackend: Send + Sync {
    fn info(&self) -> &ModelInfo;

    fn dimensions(&self) -> usize;

    /// Unit-norm embeddings and the number of input tokens. Blocking.
    fn embed(&self, inputs: &[String]) -> Result<(Vec<Vec<f32>>, usize), GenError>;
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
