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

/// A raw output pointer shared by the tasks of one parallel loop.
///
/// Sound only when, as at both uses (the matmul's row tasks, the attention's head
/// tasks), every task writes its own disjoint elements, the buffer outlives the loop,
/// and the loop joins before the buffer is read again.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(pub(crate) *mut f32);
// SAFETY: see the type's contract above; the pointer itself is only an address.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    // A method (not `.0`) so closures capture the whole `Send` wrapper.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

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
