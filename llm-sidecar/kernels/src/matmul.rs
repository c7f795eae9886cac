//! Quantized matrix multiplication `out = acts x W^T`, parallel over weight rows.
//!
//! The instruction set is picked at run time (AVX2+FMA on x86-64, portable code
//! elsewhere), so one binary runs on any x86-64 CPU and still uses the SIMD units of the
//! one it runs on. Each weight row is unpacked once and multiplied with up to four
//! activation rows, which is where batching several sequences pays off: the weights
//! stream from memory once per step, not once per sequence.

use crate::quant::{BlockQ4_1, BlockQ8A, BlockQ8_0, Blocks, QActs, QMatrix};
use crate::SyncPtr;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Instruction set used by the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX2 plus AVX-512 VNNI's dpbusd on 256-bit vectors.
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

/// The best instruction set of this CPU; `LLM_KERNELS_ISA=scalar` forces portable code,
/// `LLM_KERNELS_ISA=avx2` rules out AVX-512.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let forced = std::env::var("LLM_KERNELS_ISA")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if forced == "scalar" {
            return Isa::Scalar;
        }
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            let vnni = is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni");
            return if vnni && forced != "avx2" {
                Isa::Avx512Vnni
            } else {
                Isa::Avx2
            };
        }
        Isa::Scalar
    })
}

/// `out[i * n + j] = dot(acts row i, weight row j)` for `m = acts.rows`, `n = w.rows()`.
pub fn matmul(w: &QMatrix, acts: &QActs, out: &mut [f32]) {
    matmul_with(isa(), w, acts, out)
}

/// [`matmul`] with an explicit instruction set (tests compare them).
pub fn matmul_with(isa: Isa, w: &QMatrix, acts: &QActs, out: &mut [f32]) {
    let (n, m) = (w.rows(), acts.rows);
    assert_eq!(w.cols(), acts.cols, "matmul: inner dimensions differ");
    assert!(out.len() >= m * n, "matmul: output too small");
    if m == 0 || n == 0 {
        return;
    }
    // Enough tasks for load balance across threads, few enough to keep rayon's per-task
    // cost (~1 us) far below the work of a task.
    let threads = rayon::current_num_threads().max(1);
    let work_per_row = m * w.cols();
    let min_rows = (32_768 / work_per_row.max(1)).max(4);
    let chunk = n.div_ceil(threads * 4).max(min_rows).min(n);
    let ptr = SyncPtr(out.as_mut_ptr());
    let run = |c: usize| {
        let j0 = c * chunk;
        let j1 = (j0 + chunk).min(n);
        // SAFETY: see `SyncPtr`; indices stay below m * n <= out.len().
        unsafe { rows(isa, w, acts, j0, j1, ptr.get(), n) }
    };
    let tasks = n.div_ceil(chunk);
    if tasks == 1 {
        run(0);
    } else {
        (0..tasks).into_par_iter().for_each(run);
    }
}

/// # Safety
/// `out` must point to at least `acts.rows * n` writable floats, and no other thread may
/// write rows `j0..j1` of it concurrently.
unsafe fn rows(isa: Isa, w: &QMatrix, acts: &QActs, j0: usize, j1: usize, out: *mut f32, n: usize) {
    let kb = w.cols() / crate::quant::QK;
    match (isa, w.blocks()) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, Blocks::Q4_1(b)) => avx2::rows_q4_1(b, kb, acts, j0, j1, out, n),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, Blocks::Q8_0(b)) => avx2::rows_q8_0(b, kb, acts, j0, j1, out, n),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512Vnni, Blocks::Q4_1(b)) => vnni::rows_q4_1(b, kb, acts, j0, j1, out, n),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512Vnni, Blocks::Q8_0(b)) => vnni::rows_q8_0(b, kb, acts, j0, j1, out, n),
        (_, Blocks::Q4_1(b)) => {
            for j in j0..j1 {
                let wr = &b[j * kb..(j + 1) * kb];
                for i in 0..acts.rows {
                    *out.add(i * n + j) = scalar::dot_q4_1(wr, acts.row(i));
                }
            }
        }
        (_, Blocks::Q8_0(b)) => {
            for j in j0..j1 {
                let wr = &b[j * kb..(j + 1) * kb];
                for i in 0..acts.rows {
                    *out.add(i * n + j) = scalar::dot_q8_0(wr, acts.row(i));
                }
            }
        }
    }
}

/// Portable reference kernels.
pub mod scalar {
    use super::*;

    pub fn dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8A]) -> f32 {
        let mut sum = 0f32;
        for (x, y) in w.iter().zip(a) {
            let mut isum = 0i32;
            for j in 0..16 {
                isum += i32::from(x.qs[j] & 0x0F) * i32::from(y.qs[j]);
                isum += i32::from(x.qs[j] >> 4) * i32::from(y.qs[j + 16]);
            }
            sum += x.d * y.d * isum as f32 + x.m * y.s;
        }
        sum
    }

    pub fn dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8A]) -> f32 {
        let mut sum = 0f32;
        for (x, y) in w.iter().zip(a) {
            let isum: i32 =
                x.qs.iter()
                    .zip(&y.qs)
                    .map(|(&p, &q)| i32::from(p) * i32::from(q))
                    .sum();
            sum += x.d * y.d * isum as f32;
        }
        sum
    }
}

/// The x86 kernels, generated once per instruction set: they differ only in how 32
/// u8 x i8 products are summed (AVX2's maddubs + madd, or one AVX-512 VNNI dpbusd).
/// Both give the same integers, so results don't depend on the CPU.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_kernels {
    ($modname:ident, $features:literal, |$x:ident, $y:ident| $dot:block) => {
        mod $modname {

            use super::*;
            use std::arch::x86_64::*;

            #[target_feature(enable = $features)]
            #[inline]
            fn hsum(v: __m256) -> f32 {
                let lo = _mm256_castps256_ps128(v);
                let hi = _mm256_extractf128_ps(v, 1);
                let s = _mm_add_ps(lo, hi);
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_add_ss(s, _mm_movehdup_ps(s));
                _mm_cvtss_f32(s)
            }

            /// 32 unsigned 4-bit values in GGUF order: low nibbles first, then high nibbles.
            #[target_feature(enable = $features)]
            #[inline]
            fn unpack_nibbles(qs: &[u8; 16]) -> __m256i {
                // SAFETY: `qs` is 16 readable bytes; loadu has no alignment requirement.
                let tmp = unsafe { _mm_loadu_si128(qs.as_ptr().cast()) };
                let both = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
                _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
            }

            #[target_feature(enable = $features)]
            #[inline]
            fn load_q8(qs: &[i8; 32]) -> __m256i {
                // SAFETY: `qs` is 32 readable bytes.
                unsafe { _mm256_loadu_si256(qs.as_ptr().cast()) }
            }

            /// u8 x i8 products of 32 lanes summed to 8 f32 lanes.
            #[target_feature(enable = $features)]
            #[inline]
            fn dot_u8_i8($x: __m256i, $y: __m256i) -> __m256 $dot

            // The kernels below take R activation rows at once (R = 4, or 1 for the remainder)
            // and share one code path, so a row's result never depends on how many other rows
            // were in the batch: temperature-0 output is the same alone or under load.

            /// Dot of one Q4_1 row with R activation rows; two accumulators per row (even and
            /// odd blocks) hide the FMA latency.
            #[target_feature(enable = $features)]
            #[inline]
            fn q4_1_xr<const R: usize>(w: &[BlockQ4_1], a: [&[BlockQ8A]; R]) -> [f32; R] {
                let mut acc0 = [_mm256_setzero_ps(); R];
                let mut acc1 = [_mm256_setzero_ps(); R];
                let mut summ = [0f32; R];
                let pairs = w.len() / 2;
                for p in 0..pairs {
                    let (x0, x1) = (&w[2 * p], &w[2 * p + 1]);
                    let q0 = unpack_nibbles(&x0.qs);
                    let q1 = unpack_nibbles(&x1.qs);
                    for r in 0..R {
                        let (y0, y1) = (&a[r][2 * p], &a[r][2 * p + 1]);
                        summ[r] += x0.m * y0.s + x1.m * y1.s;
                        let p0 = dot_u8_i8(q0, load_q8(&y0.qs));
                        let p1 = dot_u8_i8(q1, load_q8(&y1.qs));
                        acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(x0.d * y0.d), p0, acc0[r]);
                        acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(x1.d * y1.d), p1, acc1[r]);
                    }
                }
                if w.len() % 2 == 1 {
                    let b = w.len() - 1;
                    let qx = unpack_nibbles(&w[b].qs);
                    for r in 0..R {
                        let y = &a[r][b];
                        summ[r] += w[b].m * y.s;
                        let p = dot_u8_i8(qx, load_q8(&y.qs));
                        acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(w[b].d * y.d), p, acc0[r]);
                    }
                }
                let mut out = [0f32; R];
                for r in 0..R {
                    out[r] = hsum(_mm256_add_ps(acc0[r], acc1[r])) + summ[r];
                }
                out
            }

            /// Dot of one Q8_0 row with R activation rows (signed x signed via the sign trick:
            /// |x| as unsigned times y carrying x's sign).
            #[target_feature(enable = $features)]
            #[inline]
            fn q8_0_xr<const R: usize>(w: &[BlockQ8_0], a: [&[BlockQ8A]; R]) -> [f32; R] {
                let mut acc0 = [_mm256_setzero_ps(); R];
                let mut acc1 = [_mm256_setzero_ps(); R];
                let pairs = w.len() / 2;
                for p in 0..pairs {
                    let (x0, x1) = (&w[2 * p], &w[2 * p + 1]);
                    let (q0, q1) = (load_q8(&x0.qs), load_q8(&x1.qs));
                    let (a0, a1) = (_mm256_sign_epi8(q0, q0), _mm256_sign_epi8(q1, q1));
                    for r in 0..R {
                        let (y0, y1) = (&a[r][2 * p], &a[r][2 * p + 1]);
                        let p0 = dot_u8_i8(a0, _mm256_sign_epi8(load_q8(&y0.qs), q0));
                        let p1 = dot_u8_i8(a1, _mm256_sign_epi8(load_q8(&y1.qs), q1));
                        acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(x0.d * y0.d), p0, acc0[r]);
                        acc1[r] = _mm256_fmadd_ps(_mm256_set1_ps(x1.d * y1.d), p1, acc1[r]);
                    }
                }
                if w.len() % 2 == 1 {
                    let b = w.len() - 1;
                    let qx = load_q8(&w[b].qs);
                    let ax = _mm256_sign_epi8(qx, qx);
                    for r in 0..R {
                        let y = &a[r][b];
                        let p = dot_u8_i8(ax, _mm256_sign_epi8(load_q8(&y.qs), qx));
                        acc0[r] = _mm256_fmadd_ps(_mm256_set1_ps(w[b].d * y.d), p, acc0[r]);
                    }
                }
                let mut out = [0f32; R];
                for r in 0..R {
                    out[r] = hsum(_mm256_add_ps(acc0[r], acc1[r]));
                }
                out
            }

            macro_rules! rows_kernel {
                ($name:ident, $block:ty, $xr:ident) => {
                    /// # Safety
                    /// As [`super::rows`].
                    #[target_feature(enable = $features)]
                    pub(super) unsafe fn $name(
                        b: &[$block],
                        kb: usize,
                        acts: &QActs,
                        j0: usize,
                        j1: usize,
                        out: *mut f32,
                        n: usize,
                    ) {
                        let m = acts.rows;
                        for j in j0..j1 {
                            let wr = &b[j * kb..(j + 1) * kb];
                            let mut i = 0;
                            while i + 4 <= m {
                                let r = $xr::<4>(
                                    wr,
                                    [
                                        acts.row(i),
                                        acts.row(i + 1),
                                        acts.row(i + 2),
                                        acts.row(i + 3),
                                    ],
                                );
                                for (k, v) in r.into_iter().enumerate() {
                                    // SAFETY: (i + k) < m and j < n, within the caller's bound.
                                    unsafe { *out.add((i + k) * n + j) = v };
                                }
                                i += 4;
                            }
                            while i < m {
                                // SAFETY: as above.
                                unsafe { *out.add(i * n + j) = $xr::<1>(wr, [acts.row(i)])[0] };
                                i += 1;
                            }
                        }
                    }
                };
            }

            rows_kernel!(rows_q4_1, BlockQ4_1, q4_1_xr);
            rows_kernel!(rows_q8_0, BlockQ8_0, q8_0_xr);
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_kernels!(avx2, "avx2,fma", |x, y| {
    let p16 = _mm256_maddubs_epi16(x, y);
    _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)))
});

#[cfg(target_arch = "x86_64")]
x86_kernels!(vnni, "avx2,fma,avx512f,avx512vl,avx512vnni", |x, y| {
    _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), x, y))
});

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 8) as f32 / (1u32 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn reference(w: &QMatrix, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (w.rows(), w.cols());
        let mut row = vec![0f32; k];
        let mut out = vec![0f32; m * n];
        for j in 0..n {
            w.dequantize_row(j, &mut row);
            for i in 0..m {
                out[i * n + j] = row.iter().zip(&x[i * k..]).map(|(a, b)| a * b).sum();
            }
        }
        out
    }

    fn check(w: &QMatrix, m: usize) {
        let k = w.cols();
        let x = pseudo(m * k, 7);
        let mut acts = QActs::default();
        acts.quantize(&x, m, k);
        let want = reference(w, &x, m);
        let mut isas = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                isas.push(Isa::Avx2);
            }
            if isa() == Isa::Avx512Vnni {
                isas.push(Isa::Avx512Vnni);
            }
        }
        let mut simd: Option<Vec<f32>> = None;
        for isa in isas {
            let mut out = vec![0f32; m * w.rows()];
            matmul_with(isa, w, &acts, &mut out);
            for (a, b) in out.iter().zip(&want) {
                // Activations are quantized to 8 bits: allow ~1% of the row's magnitude.
                assert!(
                    (a - b).abs() < 0.02 * (k as f32).sqrt(),
                    "{isa:?}: {a} vs {b}"
                );
            }
            // The x86 variants compute the same integers in the same order: identical.
            if isa != Isa::Scalar {
                match &simd {
                    Some(prev) => assert!(prev == &out, "{isa:?} differs from AVX2"),
                    None => simd = Some(out),
                }
            }
        }
    }

    #[test]
    fn q8_0_matches_reference_for_every_batch_size() {
        let w = QMatrix::quantize_q8_0(37, 96, &pseudo(37 * 96, 1)).unwrap();
        for m in [1, 3, 4, 5, 9] {
            check(&w, m);
        }
    }

    #[test]
    fn q4_1_matches_reference_for_every_batch_size() {
        let (rows, cols) = (41, 160);
        let mut bytes = Vec::new();
        let mut vals = pseudo(rows * cols / 32 * 18, 3).into_iter();
        for _ in 0..rows * cols / 32 {
            let d = half::f16::from_f32(0.05 + 0.01 * vals.next().unwrap_or(0.0));
            let m = half::f16::from_f32(-0.4 + 0.1 * vals.next().unwrap_or(0.0));
            bytes.extend(d.to_le_bytes());
            bytes.extend(m.to_le_bytes());
            for _ in 0..16 {
                bytes.push(((vals.next().unwrap_or(0.0) + 1.0) * 127.0) as u8);
            }
        }
        let w = QMatrix::from_ggml_q4_1(rows, cols, &bytes).unwrap();
        for m in [1, 2, 4, 7, 8] {
            check(&w, m);
        }
    }
}
