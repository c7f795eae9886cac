//! Numeric core of `llm-sidecar`: quantized weight matrices, run-time dispatched SIMD
//! matmul kernels, the batched llama forward pass and token sampling.
//!
//! It is a crate of its own so the workspace profile can build it optimised in debug
//! builds (an unoptimised forward pass is ~30x slower) without optimising the rest.

pub mod llama;
pub mod matmul;
pub mod ops;
pub mod quant;
pub mod sampling;

/// An error from the numeric core (bad shapes, token ids, context overflow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError(String);

impl KernelError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KernelError {}
