//! Golden logits: the sidecar's own llama forward pass (`LlamaModel`, the integer SIMD
//! kernels of `llm-sidecar-kernels`) against candle-transformers' `quantized_llama` on
//! the same GGUF file, for prompts of different lengths, after the prefill and after
//! decode steps (the KV cache path). Needs `scripts/models.sh`.
//!
//! The two implementations do not compute the same numbers bit for bit: the sidecar
//! quantizes activations to 8-bit blocks with `f32` scales before its integer dot
//! products, candle to Q8_1 blocks with `f16` scales, and both sum in different orders.
//! So the comparison is on agreement, against candle's quantized model and, tighter,
//! against candle with f32 weights and matmuls (no activation quantization), with
//! tolerances derived from measurements on SmolLM2-135M (see `Tolerance`, which also
//! says which deliberate bugs they caught).

mod common;

use candle_core::quantized::gguf_file::{self, Content};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use llm_sidecar::backend::gguf::load_llama;
use llm_sidecar::tokenizer::GgufTokenizer;
use llm_sidecar_kernels::llama::{KvCache, LlamaModel, SeqStep};
use llm_sidecar_kernels::quant::QMatrix;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// The tests run one at a time: each uses every core, and the K-quant tests time loads.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Prompts of different lengths (a few tokens, a chat turn, a long paragraph), so
/// attention runs over short and long contexts and the batched step is ragged.
const PROMPTS: &[&str] = &[
    "The capital of France is",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 17 times 23?<|im_end|>\n<|im_start|>assistant\n",
    "Rust is a general-purpose programming language emphasizing performance, type \
     safety and concurrency. It enforces memory safety, meaning that all references \
     point to valid memory, without a garbage collector. To simultaneously enforce \
     memory safety and prevent data races, its borrow checker tracks the object \
     lifetime of all references in a program during compilation. Rust was influenced \
     by ideas from functional programming, including immutability, higher-order \
     functions, algebraic data types and pattern matching. In summary, Rust is",
];

/// Decode steps after each prefill (each feeds candle's greedy token to both models).
const DECODE_STEPS: usize = 2;

/// How close two logit vectors must be.
///
/// Measured on SmolLM2-135M-Instruct Q4_1 (the test prints every comparison), sidecar
/// against candle: max |diff| 0.52-0.96 on logits spanning 32-48 units (0.014-0.025 of
/// the range), cosine 0.9987-0.9997, the same top-1 and top-5 everywhere. Each is about
/// as far from candle's f32 reference (same weights, no activation quantization: max
/// |diff| 0.44-0.83 for the sidecar, 0.51-0.96 for candle), so the gap is the two
/// quantization noises, not a bias of one side. With K-quant weights candle's own noise
/// grows (up to 0.056 of the range from the sidecar, cosine 0.9971), the sidecar's stays
/// within 0.032 and 0.9986 of f32.
///
/// So the tight bounds are against f32 and sit just above the sidecar's worst case:
/// decoding one position late (a RoPE off-by-one, about the smallest bug possible), on
/// the sidecar's side or on candle's, failed five or four of the six decode
/// comparisons (up to 0.060 of the range, cosine down to 0.991); the wrong RoPE
/// pairing failed all of them (max |diff| 6-27). The README lists these checks.
struct Tolerance {
    /// Largest |a - b| over the vocabulary, relative to b's logit range (max - min), so
    /// the bound doesn't depend on the model's logit scale.
    max_rel: f32,
    /// Cosine similarity of the two logit vectors, centred on their means.
    min_cosine: f64,
    /// The top-1 tokens must agree, unless b scores a's top-1 within this many logits
    /// of its own (a near tie, which quantization noise may break either way).
    top1_tie: f32,
    /// Of b's top 5 tokens, how many must be in a's top 5.
    min_top5: usize,
}

/// Sidecar against candle's quantized model (two quantization noises add up; candle's
/// K-quant path, which quantizes activations to Q8_K, is the noisier one).
const TOL: Tolerance = Tolerance {
    max_rel: 0.08,
    min_cosine: 0.995,
    top1_tie: 0.5,
    min_top5: 4,
};

/// Sidecar against candle's f32 reference: the tight check, only the sidecar's own
/// noise.
const TOL_F32: Tolerance = Tolerance {
    max_rel: 0.04,
    min_cosine: 0.998,
    top1_tie: 0.5,
    min_top5: 4,
};

fn gguf_path() -> std::path::PathBuf {
    let path = common::gguf_path();
    assert!(
        path.is_file(),
        "{} is missing: run scripts/models.sh first",
        path.display()
    );
    path
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn top_k(v: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
    idx.truncate(k);
    idx
}

/// The measured differences of one comparison.
#[derive(Debug)]
struct Diff {
    max_abs: f32,
    range: f32,
    max_rel: f32,
    cosine: f64,
    top1_same: bool,
    /// How much lower b scores a's top-1 token than its own (0 when they agree).
    top1_gap: f32,
    top5_overlap: usize,
}

fn compare(sidecar: &[f32], candle: &[f32]) -> Diff {
    assert_eq!(sidecar.len(), candle.len(), "vocabulary sizes differ");
    let max_abs = sidecar
        .iter()
        .zip(candle)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let (lo, hi) = candle
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let range = hi - lo;
    let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(sidecar), mean(candle));
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&a, &b) in sidecar.iter().zip(candle) {
        let (a, b) = (f64::from(a) - ma, f64::from(b) - mb);
        dot += a * b;
        na += a * a;
        nb += b * b;
    }
    let (ts, tc) = (top_k(sidecar, 5), top_k(candle, 5));
    Diff {
        max_abs,
        range,
        max_rel: max_abs / range,
        cosine: dot / (na.sqrt() * nb.sqrt()),
        top1_same: argmax(sidecar) == argmax(candle),
        top1_gap: candle[argmax(candle)] - candle[argmax(sidecar)],
        top5_overlap: tc.iter().filter(|t| ts.contains(t)).count(),
    }
}

/// Prints the measured differences and returns what exceeded the tolerance.
fn check(what: &str, d: &Diff, tol: &Tolerance) -> Vec<String> {
    println!(
        "{what}: max|diff| {:.4} (logit range {:.2}, rel {:.5}), cosine {:.6}, top-1 {}, top-5 overlap {}/5",
        d.max_abs,
        d.range,
        d.max_rel,
        d.cosine,
        if d.top1_same {
            "same".to_string()
        } else {
            format!("DIFFERENT (gap {:.3})", d.top1_gap)
        },
        d.top5_overlap
    );
    let mut bad = Vec::new();
    // Written so that NaN fails too.
    let (rel_ok, cos_ok) = (d.max_rel <= tol.max_rel, d.cosine >= tol.min_cosine);
    if !rel_ok {
        bad.push(format!(
            "{what}: max|diff| / range {:.5} > {}",
            d.max_rel, tol.max_rel
        ));
    }
    if !cos_ok {
        bad.push(format!(
            "{what}: cosine {:.6} < {}",
            d.cosine, tol.min_cosine
        ));
    }
    if d.top1_gap > tol.top1_tie {
        bad.push(format!(
            "{what}: top-1 tokens differ by {:.3} > {}",
            d.top1_gap, tol.top1_tie
        ));
    }
    if d.top5_overlap < tol.min_top5 {
        bad.push(format!(
            "{what}: top-5 overlap {} < {}",
            d.top5_overlap, tol.min_top5
        ));
    }
    bad
}

fn candle_model(path: &Path) -> ModelWeights {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let ct = Content::read(&mut reader).unwrap();
    ModelWeights::from_gguf(ct, &mut reader, &Device::Cpu).unwrap()
}

/// Last-position logits of candle's model for `tokens` fed at `pos`.
fn candle_step(model: &mut ModelWeights, tokens: &[u32], pos: usize) -> Vec<f32> {
    let x = Tensor::new(tokens, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model
        .forward(&x, pos)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

/// One sidecar step over several sequences at once (the continuous-batching path):
/// `tokens[i]` is appended to `caches[i]`; returns each sequence's last logits.
fn sidecar_step(model: &LlamaModel, tokens: &[Vec<u32>], caches: &mut [KvCache]) -> Vec<Vec<f32>> {
    let mut steps: Vec<SeqStep<'_>> = tokens
        .iter()
        .zip(caches.iter_mut())
        .map(|(t, cache)| SeqStep {
            tokens: t,
            cache,
            logits: true,
        })
        .collect();
    let logits = model.forward(&mut steps).unwrap();
    let vocab = model.config().vocab;
    assert_eq!(logits.len(), tokens.len() * vocab);
    logits.chunks_exact(vocab).map(<[f32]>::to_vec).collect()
}

fn tokenize(tok: &GgufTokenizer) -> Vec<Vec<u32>> {
    PROMPTS.iter().map(|p| tok.encode(p).unwrap()).collect()
}

/// candle's logits for each prompt after the prefill and after each decode step, one
/// sequence at a time, and the tokens it fed: `feed`'s when given, else its greedy
/// choices. Also the prefill and decode wall times.
struct CandleRun {
    logits: Vec<Vec<Vec<f32>>>,
    fed: Vec<Vec<u32>>,
    prefill_s: f64,
    decode_s: f64,
}

fn candle_run(
    model: &mut ModelWeights,
    prompts: &[Vec<u32>],
    feed: Option<&[Vec<u32>]>,
) -> CandleRun {
    let mut run = CandleRun {
        logits: Vec::new(),
        fed: Vec::new(),
        prefill_s: 0.0,
        decode_s: 0.0,
    };
    for (i, p) in prompts.iter().enumerate() {
        model.clear_kv_cache();
        let t = Instant::now();
        let mut logits = vec![candle_step(model, p, 0)];
        run.prefill_s += t.elapsed().as_secs_f64();
        let mut fed = Vec::new();
        for step in 0..DECODE_STEPS {
            let tok = feed.map_or_else(|| argmax(logits.last().unwrap()) as u32, |f| f[i][step]);
            fed.push(tok);
            let t = Instant::now();
            logits.push(candle_step(model, &[tok], p.len() + step));
            run.decode_s += t.elapsed().as_secs_f64();
        }
        run.logits.push(logits);
        run.fed.push(fed);
    }
    run
}

/// candle's model with every weight dequantized to f32 and plain f32 matmuls (its
/// `CANDLE_DEQUANTIZE_ALL`): the same weights without activation quantization, the
/// reference both quantized implementations are measured against. candle reads the
/// variable once per thread, so the model loads on a thread of its own.
fn candle_f32_model(path: &Path) -> ModelWeights {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1");
        let m = candle_model(&path);
        std::env::remove_var("CANDLE_DEQUANTIZE_ALL");
        m
    })
    .join()
    .unwrap()
}

/// Runs the prompts through the sidecar (as one batched step per prefill/decode), candle
/// (one sequence at a time) and candle in f32; checks sidecar against candle and prints
/// how far each is from f32. Returns the failures.
fn golden(path: &Path, label: &str, tol: &Tolerance) -> Vec<String> {
    let t = Instant::now();
    let (model, tok) = load_llama(path, 4096).unwrap();
    println!(
        "[{label}] sidecar load {:.2} s, {:.1} MiB of weights",
        t.elapsed().as_secs_f64(),
        mib(model.size_bytes())
    );
    let prompts = tokenize(&tok);

    // candle first: its greedy tokens are what every model is fed in the decode steps,
    // so a disagreement on top-1 (reported below) doesn't make the sequences diverge.
    let theirs = candle_run(&mut candle_model(path), &prompts, None);
    let exact = candle_run(&mut candle_f32_model(path), &prompts, Some(&theirs.fed));

    let mut caches: Vec<KvCache> = prompts.iter().map(|_| model.new_cache()).collect();
    let t = Instant::now();
    let mut ours = vec![sidecar_step(&model, &prompts, &mut caches)];
    let ours_prefill = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for step in 0..DECODE_STEPS {
        let tokens: Vec<Vec<u32>> = theirs.fed.iter().map(|f| vec![f[step]]).collect();
        ours.push(sidecar_step(&model, &tokens, &mut caches));
    }
    let ours_decode = t.elapsed().as_secs_f64();

    let mut bad = Vec::new();
    for (i, p) in prompts.iter().enumerate() {
        for (step, ours_step) in ours.iter().enumerate() {
            let what = match step {
                0 => format!("[{label}] prompt {i} ({} tokens), prefill", p.len()),
                s => format!("[{label}] prompt {i} ({} tokens), decode step {s}", p.len()),
            };
            let (o, c, e) = (
                &ours_step[i],
                &theirs.logits[i][step],
                &exact.logits[i][step],
            );
            bad.extend(check(&what, &compare(o, c), tol));
            // The sidecar must be as close to the f32 reference as candle is.
            bad.extend(check(
                &format!("{what}, sidecar vs f32"),
                &compare(o, e),
                &TOL_F32,
            ));
            check(&format!("{what}, candle vs f32"), &compare(c, e), &TOL_F32);
        }
    }
    // Wall times, for orientation only (one run, on whatever else the machine does):
    // the sidecar runs the sequences in one batched step, candle one after the other.
    let total: usize = prompts.iter().map(Vec::len).sum();
    println!(
        "[{label}] prefill of {total} tokens: sidecar {:.0} ms, candle {:.0} ms; {DECODE_STEPS} decode steps of {} sequences: sidecar {:.0} ms, candle {:.0} ms",
        ours_prefill * 1e3,
        theirs.prefill_s * 1e3,
        prompts.len(),
        ours_decode * 1e3,
        theirs.decode_s * 1e3
    );
    bad
}

#[test]
fn sidecar_logits_match_candle_quantized_llama() {
    let _serial = serial();
    let path = gguf_path();
    let bad = golden(&path, "Q4_1", &TOL);
    assert!(bad.is_empty(), "logits differ:\n{}", bad.join("\n"));
}

/// Batching must not change a sequence's logits: the same prompts one at a time and
/// all in one step. Rows go through each matmul independently, so they are equal up to
/// float rounding of the different parallel split.
#[test]
fn batched_step_matches_single_sequences() {
    let _serial = serial();
    let (model, tok) = load_llama(&gguf_path(), 4096).unwrap();
    let prompts = tokenize(&tok);
    let mut caches: Vec<KvCache> = prompts.iter().map(|_| model.new_cache()).collect();
    let batched = sidecar_step(&model, &prompts, &mut caches);
    for (i, p) in prompts.iter().enumerate() {
        let mut cache = vec![model.new_cache()];
        let single = sidecar_step(&model, std::slice::from_ref(p), &mut cache);
        let d = compare(&batched[i], &single[0]);
        println!("prompt {i}: batched vs alone max|diff| {}", d.max_abs);
        assert!(d.max_abs <= 1e-4, "prompt {i}: {d:?}");
    }
}

/// A copy of the test GGUF in `dir` with the 2-D weights that `pick` selects (by
/// their `[rows, cols]`) requantized to `dtype` by candle. Returns the path, how many
/// weights were requantized and the bytes they take in the file.
fn requantized_copy(
    dir: &Path,
    dtype: GgmlDType,
    pick: impl Fn(&[usize]) -> bool,
) -> (std::path::PathBuf, usize, usize) {
    let mut reader = BufReader::new(File::open(gguf_path()).unwrap());
    let ct = Content::read(&mut reader).unwrap();
    let mut names: Vec<&String> = ct.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let (mut weights, mut bytes) = (0usize, 0usize);
    for name in names {
        let t = ct.tensor(&mut reader, name, &Device::Cpu).unwrap();
        let dims = t.shape().dims().to_vec();
        let t = if dims.len() == 2 && pick(&dims) {
            let q = QTensor::quantize(&t.dequantize(&Device::Cpu).unwrap(), dtype).unwrap();
            weights += dims[0] * dims[1];
            bytes += q.storage_size_in_bytes();
            q
        } else {
            t
        };
        tensors.push((name.clone(), t));
    }
    assert!(weights > 0, "no tensor to requantize to {dtype:?}");
    let path = dir.join(format!("smollm2-{dtype:?}.gguf"));
    let mut out = std::io::BufWriter::new(File::create(&path).unwrap());
    let md: Vec<(&str, &gguf_file::Value)> =
        ct.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    gguf_file::write(&mut out, &md, &ts).unwrap();
    out.flush().unwrap();
    (path, weights, bytes)
}

/// Best-of-two load time (the file is in the page cache either way) and the bytes of
/// weights the sidecar holds.
fn timed_load(path: &Path) -> (f64, usize) {
    (0..2)
        .map(|_| {
            let t = Instant::now();
            let (m, _) = load_llama(path, 4096).unwrap();
            (t.elapsed().as_secs_f64(), m.size_bytes())
        })
        .fold((f64::INFINITY, 0), |(best, _), (t, s)| (best.min(t), s))
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// K-quants (Q4_K/Q5_K/Q6_K) have no kernel in the sidecar: the loader dequantizes them
/// and requantizes to Q8_0. This requantizes every tensor K-quant blocks fit (256
/// columns per block: SmolLM2's `ffn_down`, 1536 columns; its other matrices have 576)
/// to `dtype`, checks the sidecar's logits against candle running the K-quant weights
/// natively, and prints what the requantization costs in load time and bytes.
fn k_quant(dtype: GgmlDType) {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (path, weights, k_bytes) =
        requantized_copy(dir.path(), dtype, |d| d[1].is_multiple_of(256));
    // The sidecar's Q8_0 block: an f32 scale and 32 bytes per 32 weights.
    let q8_bytes = weights / 32 * 36;
    println!(
        "[{dtype:?}] {weights} weights: {:.2} MiB as {dtype:?} ({:.3} bits/weight), {:.2} MiB as the sidecar's Q8_0 ({:.2}x)",
        mib(k_bytes),
        k_bytes as f64 * 8.0 / weights as f64,
        mib(q8_bytes),
        q8_bytes as f64 / k_bytes as f64,
    );
    let (t_orig, size_orig) = timed_load(&gguf_path());
    let (t_k, size_k) = timed_load(&path);
    println!(
        "[{dtype:?}] sidecar load: original {t_orig:.3} s ({:.1} MiB), with {dtype:?} {t_k:.3} s ({:.1} MiB)",
        mib(size_orig),
        mib(size_k),
    );
    // The loader's extra work for these tensors, timed alone (whole loads differ by
    // less than the noise of a shared machine): candle's dequantization and our Q8_0
    // quantization, best of three.
    let mut reader = BufReader::new(File::open(&path).unwrap());
    let ct = Content::read(&mut reader).unwrap();
    let k_tensors: Vec<QTensor> = ct
        .tensor_infos
        .iter()
        .filter(|(_, info)| info.ggml_dtype == dtype)
        .map(|(name, _)| ct.tensor(&mut reader, name, &Device::Cpu).unwrap())
        .collect();
    let requant = (0..3)
        .map(|_| {
            let t = Instant::now();
            for q in &k_tensors {
                let (rows, cols) = q.shape().dims2().unwrap();
                let values = q
                    .dequantize(&Device::Cpu)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                QMatrix::quantize_q8_0(rows, cols, &values).unwrap();
            }
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    println!(
        "[{dtype:?}] requantizing {weights} weights to Q8_0: {requant:.3} s, {:.1} ns per weight",
        requant * 1e9 / weights as f64,
    );
    let bad = golden(&path, &format!("{dtype:?}"), &TOL);
    assert!(bad.is_empty(), "logits differ:\n{}", bad.join("\n"));
}

// Measurements for the README (minutes on a debug build): run them with `--ignored`.
#[test]
#[ignore = "measurement; run with --ignored"]
fn q4_k_weights_requantized_to_q8_0() {
    k_quant(GgmlDType::Q4K);
}

// Measurements for the README (minutes on a debug build): run them with `--ignored`.
#[test]
#[ignore = "measurement; run with --ignored"]
fn q5_k_weights_requantized_to_q8_0() {
    k_quant(GgmlDType::Q5K);
}

// Measurements for the README (minutes on a debug build): run them with `--ignored`.
#[test]
#[ignore = "measurement; run with --ignored"]
fn q6_k_weights_requantized_to_q8_0() {
    k_quant(GgmlDType::Q6K);
}

/// What a model whose weights all end up as Q8_0 (a K-quant model whose matrices all
/// have multiples of 256 columns) costs at run time against the Q4_1 original: every
/// matrix requantized to Q8_0, the same golden check, and single-sequence decode time
/// of both, interleaved so background load hits both alike.
// Measurements for the README (minutes on a debug build): run them with `--ignored`.
#[test]
#[ignore = "measurement; run with --ignored"]
fn all_q8_0_weights_cost() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = requantized_copy(dir.path(), GgmlDType::Q8_0, |_| true);
    let bad = golden(&path, "all Q8_0", &TOL);
    assert!(bad.is_empty(), "logits differ:\n{}", bad.join("\n"));

    let (q4, tok) = load_llama(&gguf_path(), 4096).unwrap();
    let (q8, _) = load_llama(&path, 4096).unwrap();
    let prompt = tok.encode(PROMPTS[0]).unwrap();
    const TOKENS: usize = 32;
    let decode = |m: &LlamaModel| {
        let mut cache = vec![m.new_cache()];
        sidecar_step(m, std::slice::from_ref(&prompt), &mut cache);
        let t = Instant::now();
        for i in 0..TOKENS {
            sidecar_step(m, &[vec![i as u32 + 100]], &mut cache);
        }
        t.elapsed().as_secs_f64() * 1e3 / TOKENS as f64
    };
    let (mut best4, mut best8) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        best4 = best4.min(decode(&q4));
        best8 = best8.min(decode(&q8));
    }
    println!(
        "decode, 1 sequence: Q4_1 {best4:.2} ms/token ({:.1} MiB), all Q8_0 {best8:.2} ms/token ({:.1} MiB): {:.2}x the time, {:.2}x the bytes",
        mib(q4.size_bytes()),
        mib(q8.size_bytes()),
        best8 / best4,
        q8.size_bytes() as f64 / q4.size_bytes() as f64
    );
}
