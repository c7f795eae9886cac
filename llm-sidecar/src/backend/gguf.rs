//! The local backend: GGUF llama-family models read with candle's GGUF reader, run by
//! the batched forward pass of `llm-sidecar-kernels` under the continuous-batching
//! scheduler; BERT embedding models run by candle-transformers (see `embeddings`).

use super::{ChatBackend, GenError, GenHandle, GenRequest, ModelInfo, Prompt};
use crate::grammar::GrammarCompiler;
use crate::scheduler::{Job, Scheduler, SchedulerConfig};
use crate::template::ChatTemplate;
use crate::tokenizer::GgufTokenizer;
use anyhow::{bail, Context, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;
use llm_sidecar_kernels::llama::{LlamaConfig, LlamaLayer, LlamaModel, LlamaWeights};
use llm_sidecar_kernels::quant::QMatrix;
use llm_sidecar_kernels::sampling::Sampler;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A loaded GGUF chat model.
pub struct GgufChat {
    info: ModelInfo,
    tokenizer: Arc<GgufTokenizer>,
    template: ChatTemplate,
    grammar: GrammarCompiler,
    scheduler: Scheduler,
    context_length: usize,
}

struct Gguf {
    content: Content,
    reader: BufReader<File>,
}

impl Gguf {
    fn md(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn md_usize(&self, key: &str) -> Result<usize> {
        let v = self
            .md(key)
            .with_context(|| format!("GGUF metadata `{key}` is missing"))?;
        let n = v
            .to_u32()
            .map(u64::from)
            .or_else(|_| v.to_u64())
            .with_context(|| format!("GGUF metadata `{key}` is not an integer"))?;
        usize::try_from(n).context("value too large")
    }

    fn md_f32(&self, key: &str) -> Option<f32> {
        self.md(key).and_then(|v| v.to_f32().ok())
    }

    fn tensor(&mut self, name: &str) -> Result<QTensor> {
        self.content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .with_context(|| format!("reading tensor `{name}`"))
    }

    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// A 2-D weight as a kernel matrix: Q4_0/Q4_1/Q8_0 kept as they are, anything else
    /// dequantized by candle and requantized to Q8_0.
    fn matrix(&mut self, name: &str) -> Result<QMatrix> {
        let t = self.tensor(name)?;
        let (rows, cols) = t
            .shape()
            .dims2()
            .with_context(|| format!("tensor `{name}` is not 2-D"))?;
        let m = match t.dtype() {
            GgmlDType::Q4_0 => QMatrix::from_ggml_q4_0(rows, cols, &t.data()?),
            GgmlDType::Q4_1 => QMatrix::from_ggml_q4_1(rows, cols, &t.data()?),
            GgmlDType::Q8_0 => QMatrix::from_ggml_q8_0(rows, cols, &t.data()?),
            _ => {
                let values = t
                    .dequantize(&Device::Cpu)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                QMatrix::quantize_q8_0(rows, cols, &values)
            }
        };
        m.with_context(|| format!("tensor `{name}`"))
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>> {
        let t = self.tensor(name)?;
        Ok(t.dequantize(&Device::Cpu)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    }
}

/// Reads a llama-architecture GGUF into the kernels' model, plus its tokenizer.
pub fn load_llama(path: &Path, max_ctx: usize) -> Result<(LlamaModel, GgufTokenizer)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = BufReader::new(file);
    let content =
        Content::read(&mut reader).with_context(|| format!("reading GGUF {}", path.display()))?;
    let mut g = Gguf { content, reader };

    let arch = g
        .md("general.architecture")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .unwrap_or_default();
    if arch != "llama" {
        bail!("architecture `{arch}` is not supported (llama family only)");
    }
    let p = |k: &str| format!("llama.{k}");
    let hidden = g.md_usize(&p("embedding_length"))?;
    let n_head = g.md_usize(&p("attention.head_count"))?;
    let n_kv_head = g.md_usize(&p("attention.head_count_kv")).unwrap_or(n_head);
    if n_head == 0 || hidden % n_head != 0 {
        bail!("embedding_length {hidden} is not a multiple of head_count {n_head}");
    }
    let head_dim = hidden / n_head;
    let n_layer = g.md_usize(&p("block_count"))?;
    if g.md(&p("expert_count"))
        .and_then(|v| v.to_u32().ok())
        .unwrap_or(0)
        > 0
    {
        bail!("mixture-of-experts llama models are not supported");
    }
    let embed = g.matrix("token_embd.weight")?;
    let vocab = embed.rows();
    let train_ctx = g.md_usize(&p("context_length")).unwrap_or(max_ctx);
    let cfg = LlamaConfig {
        n_layer,
        n_head,
        n_kv_head,
        head_dim,
        hidden,
        ffn: g.md_usize(&p("feed_forward_length"))?,
        vocab,
        rope_theta: g.md_f32(&p("rope.freq_base")).unwrap_or(10_000.0),
        rope_dim: g.md_usize(&p("rope.dimension_count")).unwrap_or(head_dim),
        // GGUF llama stores q/k permuted for adjacent-pair rotation (llama.cpp's NORM).
        rope_neox: false,
        rms_eps: g
            .md_f32(&p("attention.layer_norm_rms_epsilon"))
            .unwrap_or(1e-5),
        max_ctx: max_ctx.min(train_ctx).max(1),
    };
    let tokenizer = GgufTokenizer::from_gguf(&g.content, vocab)?;

    let mut layers = Vec::with_capacity(n_layer);
    for l in 0..n_layer {
        let b = |s: &str| format!("blk.{l}.{s}.weight");
        let wqkv = QMatrix::concat_rows(vec![
            g.matrix(&b("attn_q"))?,
            g.matrix(&b("attn_k"))?,
            g.matrix(&b("attn_v"))?,
        ])?;
        let w_gate_up =
            QMatrix::concat_rows(vec![g.matrix(&b("ffn_gate"))?, g.matrix(&b("ffn_up"))?])?;
        layers.push(LlamaLayer {
            attn_norm: g.vector(&b("attn_norm"))?,
            wqkv,
            wo: g.matrix(&b("attn_output"))?,
            ffn_norm: g.vector(&b("ffn_norm"))?,
            w_gate_up,
            w_down: g.matrix(&b("ffn_down"))?,
        });
    }
    let lm_head = if g.has("output.weight") {
        Some(g.matrix("output.weight")?)
    } else {
        None
    };
    let weights = LlamaWeights {
        embed,
        layers,
        norm: g.vector("output_norm.weight")?,
        lm_head,
    };
    let model = LlamaModel::new(cfg, weights)?;
    Ok((model, tokenizer))
}

impl GgufChat {
    /// Loads `path` and starts its scheduler. Blocking (reads ~100 MB).
    pub fn load(
        name: &str,
        path: &Path,
        context_length: usize,
        sched: SchedulerConfig,
    ) -> Result<Self> {
        let (model, tokenizer) = load_llama(path, context_length)?;
        let context_length = model.config().max_ctx;
        tracing::info!(
            model = name,
            weights_mb = model.size_bytes() / (1 << 20),
            layers = model.config().n_layer,
            context_length,
            isa = ?llm_sidecar_kernels::matmul::isa(),
            "llama model loaded"
        );
        let template = ChatTemplate::new(
            tokenizer.chat_template(),
            tokenizer.bos_text(),
            tokenizer.eos_text(),
        )?;
        let grammar = GrammarCompiler::new(&tokenizer.tok_env())?;
        let tokenizer = Arc::new(tokenizer);
        let scheduler = Scheduler::start(name, Arc::new(model), tokenizer.clone(), sched)?;
        Ok(Self {
            info: ModelInfo {
                name: name.to_string(),
                // The name manifests, `X-LLM-Backend` and clients already use.
                backend: "candle",
                context_length,
                created: super::unix_now(),
            },
            tokenizer,
            template,
            grammar,
            scheduler,
            context_length,
        })
    }
}

impl ChatBackend for GgufChat {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn healthy(&self) -> bool {
        self.scheduler.healthy()
    }

    fn submit(&self, req: GenRequest) -> Result<GenHandle, GenError> {
        let tok_err = |e: anyhow::Error| GenError::BadRequest(e.to_string());
        let prompt = match &req.prompt {
            Prompt::Chat(messages) => {
                let text = self
                    .template
                    .render(messages)
                    .map_err(|e| GenError::BadRequest(format!("chat template: {e}")))?;
                self.tokenizer.encode(&text).map_err(tok_err)?
            }
            Prompt::Text(t) => self.tokenizer.encode(t).map_err(tok_err)?,
            Prompt::Tokens(ids) => {
                let vocab = self.tokenizer.vocab_size();
                if let Some(bad) = ids.iter().find(|&&t| t as usize >= vocab) {
                    return Err(GenError::BadRequest(format!(
                        "token id {bad} is outside the vocabulary ({vocab})"
                    )));
                }
                ids.clone()
            }
        };
        if prompt.is_empty() {
            return Err(GenError::BadRequest("the prompt is empty".into()));
        }
        if prompt.len() >= self.context_length {
            return Err(GenError::BadRequest(format!(
                "the prompt is {} tokens; this model's context is {} tokens",
                prompt.len(),
                self.context_length
            )));
        }
        let max_tokens = req
            .params
            .max_tokens
            .min(self.context_length - prompt.len());
        let matcher = self
            .grammar
            .matcher(&req.params.response_format)
            .map_err(GenError::BadRequest)?;
        let seed = req.params.seed.unwrap_or_else(rand::random);
        let (tx, rx) = mpsc::unbounded_channel();
        let prompt_tokens = prompt.len();
        self.scheduler.submit(Job {
            prompt,
            max_tokens,
            sampler: Sampler::new(req.params.sampling.clone(), seed),
            matcher,
            stops: req.params.stop.clone(),
            deadline: req.deadline,
            events: tx,
        })?;
        Ok(GenHandle {
            prompt_tokens,
            events: rx,
        })
    }
}
