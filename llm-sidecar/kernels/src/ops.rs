//! Small f32 vector operations of the forward pass.
//!
//! Written with 8-lane accumulators so the compiler vectorises them; `multiversion!`
//! compiles each one twice (portable and AVX2+FMA) and picks at run time.

/// Defines `pub fn $name` that runs its body compiled for AVX2+FMA when the CPU has it.
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                if $crate::matmul::isa() != $crate::matmul::Isa::Scalar {
                    // SAFETY: every non-scalar x86 ISA includes AVX2 and FMA.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// Dot product with 8 partial sums (a fixed order, so results are reproducible).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `y += a * x`.
#[inline(always)]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

multiversion! {
    /// RMS-normalises each `dim`-wide row of `x` into `out`, scaled by `w`.
    pub fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32], dim: usize) {
        for (xr, or) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
            let ss = dot(xr, xr) / dim as f32;
            let scale = 1.0 / (ss + eps).sqrt();
            for ((o, v), g) in or.iter_mut().zip(xr).zip(w) {
                *o = v * scale * g;
            }
        }
    }
}

multiversion! {
    /// `x += y` element-wise.
    pub fn add_assign(x: &mut [f32], y: &[f32]) {
        for (a, b) in x.iter_mut().zip(y) {
            *a += b;
        }
    }
}

multiversion! {
    /// SwiGLU: for each row of `gu` (`[gate | up]`, `2 * dim` wide) writes
    /// `silu(gate) * up` into `out` (`dim` wide).
    pub fn silu_mul_rows(gu: &[f32], out: &mut [f32], dim: usize) {
        for (row, o) in gu.chunks_exact(2 * dim).zip(out.chunks_exact_mut(dim)) {
            let (g, u) = row.split_at(dim);
            for ((o, g), u) in o.iter_mut().zip(g).zip(u) {
                *o = g / (1.0 + (-g).exp()) * u;
            }
        }
    }
}

/// Rotary position embedding of `heads` consecutive `head_dim` vectors in `x`.
/// `cos`/`sin` hold `rope_dim / 2` angles for this row's position. `neox` rotates the
/// pairs (i, i + rope_dim/2); otherwise adjacent pairs (2i, 2i+1), GGUF llama's layout.
pub fn rope(x: &mut [f32], heads: usize, head_dim: usize, cos: &[f32], sin: &[f32], neox: bool) {
    let half = cos.len();
    for h in 0..heads {
        let v = &mut x[h * head_dim..(h + 1) * head_dim];
        for i in 0..half {
            let (a, b) = if neox {
                (i, i + half)
            } else {
                (2 * i, 2 * i + 1)
            };
            let (x0, x1) = (v[a], v[b]);
            v[a] = x0 * cos[i] - x1 * sin[i];
            v[b] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_norm() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..19).map(|i| (i * i) as f32).sum::<f32>());
        let mut out = vec![0f32; 4];
        rms_norm_rows(
            &[3.0, 4.0, 0.0, 0.0],
            &[1.0, 1.0, 2.0, 2.0],
            0.0,
            &mut out,
            4,
        );
        let scale = 1.0 / (25.0f32 / 4.0).sqrt();
        assert_eq!(out, vec![3.0 * scale, 4.0 * scale, 0.0, 0.0]);
    }

    #[test]
    fn rope_rotates_pairs() {
        let mut x = vec![1.0, 0.0, 0.0, 1.0];
        let (c, s) = (0.0f32, 1.0f32); // 90 degrees
        rope(&mut x, 1, 4, &[c, c], &[s, s], false);
        assert_eq!(x, vec![0.0, 1.0, -1.0, 0.0]);
    }
}
