//! Sentence embeddings with a BERT model (all-MiniLM-L6-v2) run by
//! candle-transformers: mean pooling over the attention mask, then L2 normalisation,
//! as sentence-transformers does for this model.

use crate::backend::{EmbedBackend, GenError, ModelInfo};
use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokenizers::{Tokenizer, TruncationParams};

/// Inputs per forward pass: bounds memory for long input lists.
const BATCH: usize = 32;

pub struct BertEmbedder {
    info: ModelInfo,
    model: Mutex<BertModel>,
    tokenizer: Tokenizer,
    dims: usize,
    queue_capacity: usize,
    waiting: AtomicUsize,
}

impl BertEmbedder {
    /// Loads `model.safetensors` with `config.json` and `tokenizer.json` beside it.
    pub fn load(
        name: &str,
        weights: &Path,
        max_tokens: usize,
        queue_capacity: usize,
    ) -> Result<Self> {
        let dir = weights.parent().unwrap_or(Path::new("."));
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json"))
                .with_context(|| format!("reading {}", dir.join("config.json").display()))?,
        )
        .context("parsing config.json")?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| {
            anyhow::anyhow!("loading {}: {e}", dir.join("tokenizer.json").display())
        })?;
        let max_len = max_tokens.min(config.max_position_embeddings).max(2);
        // The packaged tokenizer.json pads every input to 128; we pad per batch instead.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| anyhow::anyhow!("tokenizer truncation: {e}"))?;
        let data =
            std::fs::read(weights).with_context(|| format!("reading {}", weights.display()))?;
        let vb = VarBuilder::from_buffered_safetensors(data, DType::F32, &Device::Cpu)?;
        let model = BertModel::load(vb, &config).context("loading BERT weights")?;
        tracing::info!(
            model = name,
            dims = config.hidden_size,
            max_len,
            "embedding model loaded"
        );
        Ok(Self {
            info: ModelInfo {
                name: name.to_string(),
                backend: "candle",
                context_length: max_len,
                created: crate::backend::unix_now(),
            },
            model: Mutex::new(model),
            tokenizer,
            dims: config.hidden_size,
            queue_capacity,
            waiting: AtomicUsize::new(0),
        })
    }

    fn embed_batch(&self, model: &BertModel, texts: &[String]) -> Result<(Vec<Vec<f32>>, usize)> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenization failed: {e}"))?;
        let len = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let b = encodings.len();
        let mut ids = vec![0u32; b * len];
        let mut mask = vec![0u32; b * len];
        let mut tokens = 0;
        for (i, e) in encodings.iter().enumerate() {
            ids[i * len..i * len + e.len()].copy_from_slice(e.get_ids());
            mask[i * len..i * len + e.len()].fill(1);
            tokens += e.len();
        }
        let dev = Device::Cpu;
        let ids = Tensor::from_vec(ids, (b, len), &dev)?;
        let mask = Tensor::from_vec(mask, (b, len), &dev)?;
        let type_ids = ids.zeros_like()?;
        let hidden = model.forward(&ids, &type_ids, Some(&mask))?; // (b, len, dims)
        let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (b, len, 1)
        let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?; // (b, dims)
        let counts = mask_f.sum(1)?.clamp(1e-9, f64::MAX)?; // (b, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        let unit = mean.broadcast_div(&norm)?;
        Ok((unit.to_vec2::<f32>()?, tokens))
    }
}

impl EmbedBackend for BertEmbedder {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn dimensions(&self) -> usize {
        self.dims
    }

    fn embed(&self, inputs: &[String]) -> Result<(Vec<Vec<f32>>, usize), GenError> {
        // A bounded queue like the chat models': beyond it, fall back or 503.
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue_capacity {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(GenError::QueueFull);
        }
        // One forward at a time: each already uses every core.
        let result = match self.model.lock() {
            Ok(model) => {
                let mut out = Vec::with_capacity(inputs.len());
                let mut tokens = 0;
                let mut err = None;
                for chunk in inputs.chunks(BATCH) {
                    match self.embed_batch(&model, chunk) {
                        Ok((v, t)) => {
                            out.extend(v);
                            tokens += t;
                        }
                        Err(e) => {
                            err = Some(GenError::Backend(e.to_string()));
                            break;
                        }
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => Ok((out, tokens)),
                }
            }
            Err(_) => Err(GenError::Backend("embedding model poisoned".into())),
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        result
    }
}
