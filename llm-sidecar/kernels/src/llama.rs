//! The llama-family forward pass over a ragged batch: several sequences, each with its
//! own KV cache and position, each contributing one token (decode) or a chunk of its
//! prompt (prefill) to the same step. All rows go through each weight matrix together;
//! attention runs per (sequence, head). This is what continuous batching needs and what
//! candle-transformers' `quantized_llama` (one shared cache, one position) can't do.

use crate::matmul::matmul;
use crate::ops::{self, multiversion};
use crate::quant::{QActs, QMatrix};
use crate::KernelError;
use crate::SyncPtr;
use rayon::prelude::*;

/// Hyper-parameters read from the GGUF metadata.
#[derive(Clone, Debug)]
pub struct LlamaConfig {
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub hidden: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub rope_theta: f32,
    pub rope_dim: usize,
    pub rope_neox: bool,
    pub rms_eps: f32,
    pub max_ctx: usize,
}

/// One transformer block. q, k and v are stacked into `wqkv`, gate and up into
/// `w_gate_up`, so each block runs four parallel matmuls.
pub struct LlamaLayer {
    pub attn_norm: Vec<f32>,
    pub wqkv: QMatrix,
    pub wo: QMatrix,
    pub ffn_norm: Vec<f32>,
    pub w_gate_up: QMatrix,
    pub w_down: QMatrix,
}

pub struct LlamaWeights {
    pub embed: QMatrix,
    pub layers: Vec<LlamaLayer>,
    pub norm: Vec<f32>,
    /// `None` when the output projection is tied to the embeddings.
    pub lm_head: Option<QMatrix>,
}

pub struct LlamaModel {
    cfg: LlamaConfig,
    w: LlamaWeights,
}

/// Keys and values of one sequence, per layer, `[position][kv_head * head_dim]`.
#[derive(Debug, Default)]
pub struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    len: usize,
}

impl KvCache {
    pub fn new(n_layer: usize) -> Self {
        Self {
            k: vec![Vec::new(); n_layer],
            v: vec![Vec::new(); n_layer],
            len: 0,
        }
    }

    /// Positions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One sequence's part of a step.
pub struct SeqStep<'a> {
    /// Tokens to append (prompt chunk, or the last sampled token).
    pub tokens: &'a [u32],
    pub cache: &'a mut KvCache,
    /// Whether to compute logits for the last of `tokens`.
    pub logits: bool,
}

fn check(cond: bool, what: &str) -> Result<(), KernelError> {
    if cond {
        Ok(())
    } else {
        Err(KernelError::new(format!("llama weights: {what}")))
    }
}

multiversion! {
    /// Causal attention of one head over `n` new rows of one sequence whose first new
    /// row sits at position `p0`; writes `n x hd` values into `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn attend_head(
        qkv: &[f32],
        q_stride: usize,
        q_off: usize,
        n: usize,
        p0: usize,
        k: &[f32],
        v: &[f32],
        kv_stride: usize,
        kv_off: usize,
        hd: usize,
        scale: f32,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        for t in 0..n {
            let q = &qkv[t * q_stride + q_off..t * q_stride + q_off + hd];
            let len = p0 + t + 1;
            scores.clear();
            let mut max = f32::NEG_INFINITY;
            for p in 0..len {
                let s = ops::dot(q, &k[p * kv_stride + kv_off..p * kv_stride + kv_off + hd]) * scale;
                max = max.max(s);
                scores.push(s);
            }
            let mut sum = 0f32;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            let o = &mut out[t * hd..(t + 1) * hd];
            o.fill(0.0);
            let inv = 1.0 / sum;
            for (p, s) in scores.iter().enumerate() {
                ops::axpy(s * inv, &v[p * kv_stride + kv_off..p * kv_stride + kv_off + hd], o);
            }
        }
    }
}

impl LlamaModel {
    /// Checks every shape against the config.
    pub fn new(cfg: LlamaConfig, w: LlamaWeights) -> Result<Self, KernelError> {
        let (h, hd) = (cfg.hidden, cfg.head_dim);
        check(cfg.n_head > 0 && cfg.n_kv_head > 0, "zero heads")?;
        check(
            cfg.n_head.is_multiple_of(cfg.n_kv_head),
            "heads not a multiple of kv heads",
        )?;
        check(
            hd.is_multiple_of(2) && cfg.rope_dim <= hd && cfg.rope_dim.is_multiple_of(2),
            "rope dims",
        )?;
        check(w.layers.len() == cfg.n_layer, "layer count")?;
        check(
            w.embed.rows() == cfg.vocab && w.embed.cols() == h,
            "token_embd shape",
        )?;
        check(w.norm.len() == h, "output_norm shape")?;
        if let Some(head) = &w.lm_head {
            check(head.rows() == cfg.vocab && head.cols() == h, "output shape")?;
        }
        let (qd, kvd) = (cfg.n_head * hd, cfg.n_kv_head * hd);
        for l in &w.layers {
            check(
                l.attn_norm.len() == h && l.ffn_norm.len() == h,
                "norm shape",
            )?;
            check(
                l.wqkv.rows() == qd + 2 * kvd && l.wqkv.cols() == h,
                "attn_q/k/v shape",
            )?;
            check(l.wo.rows() == h && l.wo.cols() == qd, "attn_output shape")?;
            check(
                l.w_gate_up.rows() == 2 * cfg.ffn && l.w_gate_up.cols() == h,
                "ffn_gate/up shape",
            )?;
            check(
                l.w_down.rows() == h && l.w_down.cols() == cfg.ffn,
                "ffn_down shape",
            )?;
        }
        Ok(Self { cfg, w })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// Bytes of weights held.
    pub fn size_bytes(&self) -> usize {
        let norms = (self.w.norm.len()
            + self
                .w
                .layers
                .iter()
                .map(|l| l.attn_norm.len() + l.ffn_norm.len())
                .sum::<usize>())
            * 4;
        self.w.embed.size_bytes()
            + self.w.lm_head.as_ref().map_or(0, QMatrix::size_bytes)
            + norms
            + self
                .w
                .layers
                .iter()
                .map(|l| {
                    l.wqkv.size_bytes()
                        + l.wo.size_bytes()
                        + l.w_gate_up.size_bytes()
                        + l.w_down.size_bytes()
                })
                .sum::<usize>()
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.cfg.n_layer)
    }

    /// Runs one step; returns the logits (`vocab` each) of the steps that asked for
    /// them, in order. Caches grow by their step's tokens.
    pub fn forward(&self, steps: &mut [SeqStep<'_>]) -> Result<Vec<f32>, KernelError> {
        let c = &self.cfg;
        let (h, hd) = (c.hidden, c.head_dim);
        let (qd, kvd) = (c.n_head * hd, c.n_kv_head * hd);
        let qkv_w = qd + 2 * kvd;
        let half = c.rope_dim / 2;

        // Row layout: the steps' tokens back to back.
        let mut spans = Vec::with_capacity(steps.len()); // (first row, rows, first position)
        let mut m = 0;
        for s in steps.iter() {
            if s.cache.len + s.tokens.len() > c.max_ctx {
                return Err(KernelError::new(format!(
                    "context of {} tokens exceeds the model's {}",
                    s.cache.len + s.tokens.len(),
                    c.max_ctx
                )));
            }
            spans.push((m, s.tokens.len(), s.cache.len));
            m += s.tokens.len();
        }
        if m == 0 {
            return Ok(Vec::new());
        }

        let mut x = vec![0f32; m * h];
        let mut cos = vec![0f32; m * half];
        let mut sin = vec![0f32; m * half];
        for (s, &(r0, n, p0)) in steps.iter().zip(&spans) {
            for (t, &tok) in s.tokens.iter().enumerate() {
                let r = r0 + t;
                if tok as usize >= c.vocab {
                    return Err(KernelError::new(format!(
                        "token id {tok} outside the vocabulary"
                    )));
                }
                self.w
                    .embed
                    .dequantize_row(tok as usize, &mut x[r * h..(r + 1) * h]);
                let pos = (p0 + t) as f32;
                for i in 0..half {
                    let freq = c.rope_theta.powf(-((2 * i) as f32) / c.rope_dim as f32);
                    let (sn, cs) = (pos * freq).sin_cos();
                    cos[r * half + i] = cs;
                    sin[r * half + i] = sn;
                }
            }
            debug_assert!(n == s.tokens.len());
        }

        let mut xn = vec![0f32; m * h];
        let mut acts = QActs::default();
        let mut qkv = vec![0f32; m * qkv_w];
        let mut att = vec![0f32; m * qd];
        let mut tmp = vec![0f32; m * h];
        let mut gu = vec![0f32; m * 2 * c.ffn];
        let mut ff = vec![0f32; m * c.ffn];
        let group = c.n_head / c.n_kv_head;
        let scale = 1.0 / (hd as f32).sqrt();

        for (l, layer) in self.w.layers.iter().enumerate() {
            ops::rms_norm_rows(&x, &layer.attn_norm, c.rms_eps, &mut xn, h);
            acts.quantize(&xn, m, h);
            matmul(&layer.wqkv, &acts, &mut qkv);
            for r in 0..m {
                let row = &mut qkv[r * qkv_w..(r + 1) * qkv_w];
                let (cs, sn) = (
                    &cos[r * half..(r + 1) * half],
                    &sin[r * half..(r + 1) * half],
                );
                ops::rope(&mut row[..qd], c.n_head, hd, cs, sn, c.rope_neox);
                ops::rope(&mut row[qd..qd + kvd], c.n_kv_head, hd, cs, sn, c.rope_neox);
            }
            for (s, &(r0, n, _)) in steps.iter_mut().zip(&spans) {
                for r in r0..r0 + n {
                    let row = &qkv[r * qkv_w..(r + 1) * qkv_w];
                    s.cache.k[l].extend_from_slice(&row[qd..qd + kvd]);
                    s.cache.v[l].extend_from_slice(&row[qd + kvd..]);
                }
            }

            let views: Vec<(&[f32], &[f32])> = steps
                .iter()
                .map(|s| (s.cache.k[l].as_slice(), s.cache.v[l].as_slice()))
                .collect();
            let att_ptr = SyncPtr(att.as_mut_ptr());
            let qkv_ref = &qkv;
            (0..steps.len() * c.n_head).into_par_iter().for_each_init(
                || (Vec::new(), Vec::new()),
                |(scores, out), unit| {
                    let (si, head) = (unit / c.n_head, unit % c.n_head);
                    let (r0, n, p0) = spans[si];
                    let (k, v) = views[si];
                    out.resize(n * hd, 0.0);
                    attend_head(
                        &qkv_ref[r0 * qkv_w..(r0 + n) * qkv_w],
                        qkv_w,
                        head * hd,
                        n,
                        p0,
                        k,
                        v,
                        kvd,
                        (head / group) * hd,
                        hd,
                        scale,
                        scores,
                        out,
                    );
                    for t in 0..n {
                        // SAFETY: see `SyncPtr`; row r0 + t < m, columns within qd.
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                out[t * hd..].as_ptr(),
                                att_ptr.get().add((r0 + t) * qd + head * hd),
                                hd,
                            );
                        }
                    }
                },
            );

            acts.quantize(&att, m, qd);
            matmul(&layer.wo, &acts, &mut tmp);
            ops::add_assign(&mut x, &tmp);

            ops::rms_norm_rows(&x, &layer.ffn_norm, c.rms_eps, &mut xn, h);
            acts.quantize(&xn, m, h);
            matmul(&layer.w_gate_up, &acts, &mut gu);
            ops::silu_mul_rows(&gu, &mut ff, c.ffn);
            acts.quantize(&ff, m, c.ffn);
            matmul(&layer.w_down, &acts, &mut tmp);
            ops::add_assign(&mut x, &tmp);
        }
        for (s, &(_, n, _)) in steps.iter_mut().zip(&spans) {
            s.cache.len += n;
        }

        // Logits only for the rows that sample a token: the prompt's other rows don't
        // need the (largest) output projection.
        let picked: Vec<usize> = steps
            .iter()
            .zip(&spans)
            .filter(|(s, _)| s.logits && !s.tokens.is_empty())
            .map(|(_, &(r0, n, _))| r0 + n - 1)
            .collect();
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let k = picked.len();
        let mut last = vec![0f32; k * h];
        for (i, &r) in picked.iter().enumerate() {
            last[i * h..(i + 1) * h].copy_from_slice(&x[r * h..(r + 1) * h]);
        }
        let mut normed = vec![0f32; k * h];
        ops::rms_norm_rows(&last, &self.w.norm, c.rms_eps, &mut normed, h);
        acts.quantize(&normed, k, h);
        let head = self.w.lm_head.as_ref().unwrap_or(&self.w.embed);
        let mut logits = vec![0f32; k * c.vocab];
        matmul(head, &acts, &mut logits);
        Ok(logits)
    }
}
