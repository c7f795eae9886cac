//! Quantized weight matrices and activation blocks.
//!
//! Weights are repacked at load time from GGUF's block layouts into our own blocks with
//! `f32` scales (no f16 conversion in the hot loop). Two weight formats cover what the
//! kernels compute directly: Q4_1 (GGUF Q4_0 maps onto it exactly, with `m = -8 d`) and
//! Q8_0. Every other GGUF type is dequantized by the loader and requantized to Q8_0.

use crate::KernelError;
use half::f16;

/// Values per quantization block.
pub const QK: usize = 32;

/// 32 weights as `d * q + m` with 4-bit `q`: low nibbles hold values 0..16, high
/// nibbles values 16..32 (GGUF's order).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct BlockQ4_1 {
    pub d: f32,
    pub m: f32,
    pub qs: [u8; 16],
}

/// 32 weights as `d * q` with signed 8-bit `q`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct BlockQ8_0 {
    pub d: f32,
    pub qs: [i8; 32],
}

/// 32 activations as `d * q`, plus `s = d * sum(q)` so Q4_1's offset term costs one
/// multiply per block.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct BlockQ8A {
    pub d: f32,
    pub s: f32,
    pub qs: [i8; 32],
}

/// The block storage of a [`QMatrix`].
#[derive(Clone, Debug)]
pub enum Blocks {
    Q4_1(Vec<BlockQ4_1>),
    Q8_0(Vec<BlockQ8_0>),
}

/// A `rows x cols` weight matrix, row-major, each row `cols / 32` blocks.
#[derive(Clone, Debug)]
pub struct QMatrix {
    rows: usize,
    cols: usize,
    blocks: Blocks,
}

fn check_shape(rows: usize, cols: usize) -> Result<usize, KernelError> {
    if cols == 0 || !cols.is_multiple_of(QK) {
        return Err(KernelError::new(format!(
            "matrix with {cols} columns: must be a non-zero multiple of {QK}"
        )));
    }
    rows.checked_mul(cols / QK)
        .ok_or_else(|| KernelError::new("matrix too large"))
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

fn check_len(bytes: &[u8], blocks: usize, block_bytes: usize) -> Result<(), KernelError> {
    let want = blocks * block_bytes;
    if bytes.len() != want {
        return Err(KernelError::new(format!(
            "expected {want} bytes of block data, got {}",
            bytes.len()
        )));
    }
    Ok(())
}

impl QMatrix {
    /// From GGUF Q4_0 blocks (18 bytes: f16 d, 16 nibble bytes, value = d * (q - 8)).
    pub fn from_ggml_q4_0(rows: usize, cols: usize, bytes: &[u8]) -> Result<Self, KernelError> {
        let n = check_shape(rows, cols)?;
        check_len(bytes, n, 18)?;
        let blocks = bytes
            .chunks_exact(18)
            .map(|b| {
                let d = f16_at(b, 0);
                let mut qs = [0u8; 16];
                qs.copy_from_slice(&b[2..18]);
                BlockQ4_1 { d, m: -8.0 * d, qs }
            })
            .collect();
        Ok(Self {
            rows,
            cols,
            blocks: Blocks::Q4_1(blocks),
        })
    }

    /// From GGUF Q4_1 blocks (20 bytes: f16 d, f16 m, 16 nibble bytes).
    pub fn from_ggml_q4_1(rows: usize, cols: usize, bytes: &[u8]) -> Result<Self, KernelError> {
        let n = check_shape(rows, cols)?;
        check_len(bytes, n, 20)?;
        let blocks = bytes
            .chunks_exact(20)
            .map(|b| {
                let mut qs = [0u8; 16];
                qs.copy_from_slice(&b[4..20]);
                BlockQ4_1 {
                    d: f16_at(b, 0),
                    m: f16_at(b, 2),
                    qs,
                }
            })
            .collect();
        Ok(Self {
            rows,
            cols,
            blocks: Blocks::Q4_1(blocks),
        })
    }

    /// From GGUF Q8_0 blocks (34 bytes: f16 d, 32 signed bytes).
    pub fn from_ggml_q8_0(rows: usize, cols: usize, bytes: &[u8]) -> Result<Self, KernelError> {
        let n = check_shape(rows, cols)?;
        check_len(bytes, n, 34)?;
        let blocks = bytes
            .chunks_exact(34)
            .map(|b| {
                let mut qs = [0i8; 32];
                for (q, &byte) in qs.iter_mut().zip(&b[2..34]) {
                    *q = byte as i8;
                }
                BlockQ8_0 {
                    d: f16_at(b, 0),
                    qs,
                }
            })
            .collect();
        Ok(Self {
            rows,
            cols,
            blocks: Blocks::Q8_0(blocks),
        })
    }

    /// Quantizes `rows x cols` f32 values to Q8_0 (used for every other GGUF type).
    pub fn quantize_q8_0(rows: usize, cols: usize, data: &[f32]) -> Result<Self, KernelError> {
        let n = check_shape(rows, cols)?;
        if data.len() != rows * cols {
            return Err(KernelError::new(format!(
                "expected {} values, got {}",
                rows * cols,
                data.len()
            )));
        }
        let blocks = data
            .chunks_exact(QK)
            .map(|x| {
                let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
                let d = amax / 127.0;
                let id = if d > 0.0 { 1.0 / d } else { 0.0 };
                let mut qs = [0i8; 32];
                for (q, v) in qs.iter_mut().zip(x) {
                    *q = (v * id).round() as i8;
                }
                BlockQ8_0 { d, qs }
            })
            .collect::<Vec<_>>();
        debug_assert_eq!(blocks.len(), n);
        Ok(Self {
            rows,
            cols,
            blocks: Blocks::Q8_0(blocks),
        })
    }

    /// Stacks matrices with the same column count (e.g. q, k and v into one matrix, so a
    /// layer runs one parallel matmul instead of three). Mixed formats are requantized
    /// to Q8_0.
    pub fn concat_rows(parts: Vec<QMatrix>) -> Result<Self, KernelError> {
        let Some(first) = parts.first() else {
            return Err(KernelError::new("nothing to concatenate"));
        };
        let cols = first.cols;
        if parts.iter().any(|p| p.cols != cols) {
            return Err(KernelError::new("concatenated matrices differ in columns"));
        }
        let rows = parts.iter().map(|p| p.rows).sum();
        let all_q4 = parts.iter().all(|p| matches!(p.blocks, Blocks::Q4_1(_)));
        let all_q8 = parts.iter().all(|p| matches!(p.blocks, Blocks::Q8_0(_)));
        let blocks = if all_q4 {
            Blocks::Q4_1(
                parts
                    .into_iter()
                    .flat_map(|p| match p.blocks {
                        Blocks::Q4_1(b) => b,
                        Blocks::Q8_0(_) => Vec::new(),
                    })
                    .collect(),
            )
        } else if all_q8 {
            Blocks::Q8_0(
                parts
                    .into_iter()
                    .flat_map(|p| match p.blocks {
                        Blocks::Q8_0(b) => b,
                        Blocks::Q4_1(_) => Vec::new(),
                    })
                    .collect(),
            )
        } else {
            let mut data = vec![0f32; rows * cols];
            let mut at = 0;
            for p in &parts {
                for r in 0..p.rows {
                    p.dequantize_row(r, &mut data[at..at + cols]);
                    at += cols;
                }
            }
            return Self::quantize_q8_0(rows, cols, &data);
        };
        Ok(Self { rows, cols, blocks })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn blocks(&self) -> &Blocks {
        &self.blocks
    }

    /// Bytes held by the blocks.
    pub fn size_bytes(&self) -> usize {
        match &self.blocks {
            Blocks::Q4_1(b) => std::mem::size_of_val(b.as_slice()),
            Blocks::Q8_0(b) => std::mem::size_of_val(b.as_slice()),
        }
    }

    /// Writes row `r` as f32 into `out` (`cols` values). Used for embedding look-ups.
    /// Panics if `r >= rows` or `out` is shorter than a row: callers check token ids.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let kb = self.cols / QK;
        match &self.blocks {
            Blocks::Q4_1(b) => {
                for (blk, o) in b[r * kb..(r + 1) * kb].iter().zip(out.chunks_exact_mut(QK)) {
                    for j in 0..16 {
                        o[j] = blk.d * f32::from(blk.qs[j] & 0x0F) + blk.m;
                        o[j + 16] = blk.d * f32::from(blk.qs[j] >> 4) + blk.m;
                    }
                }
            }
            Blocks::Q8_0(b) => {
                for (blk, o) in b[r * kb..(r + 1) * kb].iter().zip(out.chunks_exact_mut(QK)) {
                    for (v, &q) in o.iter_mut().zip(&blk.qs) {
                        *v = blk.d * f32::from(q);
                    }
                }
            }
        }
    }
}

/// `m` rows of activations quantized to [`BlockQ8A`], `cols / 32` blocks per row.
#[derive(Clone, Debug, Default)]
pub struct QActs {
    pub rows: usize,
    pub cols: usize,
    pub blocks: Vec<BlockQ8A>,
}

impl QActs {
    /// Quantizes `rows x cols` values (`cols` a multiple of 32), reusing the buffer.
    pub fn quantize(&mut self, x: &[f32], rows: usize, cols: usize) {
        debug_assert!(cols.is_multiple_of(QK) && x.len() >= rows * cols);
        self.rows = rows;
        self.cols = cols;
        self.blocks.clear();
        self.blocks
            .extend(x[..rows * cols].chunks_exact(QK).map(|v| {
                let amax = v.iter().fold(0f32, |a, x| a.max(x.abs()));
                let d = amax / 127.0;
                let id = if d > 0.0 { 1.0 / d } else { 0.0 };
                let mut qs = [0i8; 32];
                let mut sum = 0i32;
                for (q, x) in qs.iter_mut().zip(v) {
                    let r = (x * id).round() as i8;
                    sum += i32::from(r);
                    *q = r;
                }
                BlockQ8A {
                    d,
                    s: d * sum as f32,
                    qs,
                }
            }));
    }

    pub fn row(&self, r: usize) -> &[BlockQ8A] {
        let kb = self.cols / QK;
        &self.blocks[r * kb..(r + 1) * kb]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_maps_onto_q4_1_exactly() {
        // d = 0.5 (f16 0x3800), nibbles: value j in the low nibble, 15 - j in the high one.
        let mut b = vec![0x00, 0x38];
        b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let m = QMatrix::from_ggml_q4_0(1, 32, &b).unwrap();
        let mut out = [0f32; 32];
        m.dequantize_row(0, &mut out);
        for j in 0..16 {
            assert_eq!(out[j], 0.5 * (j as f32 - 8.0));
            assert_eq!(out[j + 16], 0.5 * (15.0 - j as f32 - 8.0));
        }
    }

    #[test]
    fn q8_0_round_trip_is_close() {
        let data: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
        let m = QMatrix::quantize_q8_0(2, 32, &data).unwrap();
        let mut out = [0f32; 32];
        for r in 0..2 {
            m.dequantize_row(r, &mut out);
            for (a, b) in out.iter().zip(&data[r * 32..]) {
                assert!((a - b).abs() < 1.0 / 127.0, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(QMatrix::from_ggml_q4_1(1, 31, &[0; 20]).is_err());
        assert!(QMatrix::from_ggml_q4_1(2, 32, &[0; 20]).is_err());
        assert!(QMatrix::quantize_q8_0(1, 32, &[0.0; 31]).is_err());
    }
}
