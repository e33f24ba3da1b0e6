//! Element-wise passes of the engine over column-major chunks (see `linalg` for the layout):
//! the fused bias + SiLU forward, the SiLU chain rule, bias gradients, the loss gradient, and
//! the fixed-order sum of per-chunk gradients.
//!
//! With a = SiLU(z) = z s(z), s(z) = 1 / (1 + e^{-z}): dA/dz = s(z) (1 + z (1 - s(z))).

use super::linalg::{simd_kernel, sum_lanes};
use super::scalar::Scalar;

/// Turns the column-major outputs into dL/d(output) = scale (output - target), in place, for a
/// row-major `target`; returns the sum of squared errors.
pub(crate) fn output_to_loss_grad<T: Scalar>(
    out: &mut [T],
    target: &[T],
    rows: usize,
    scale: T,
) -> T {
    let d = out.len() / rows;
    let mut sq_err = T::ZERO;
    for (o, out_col) in out.chunks_exact_mut(rows).enumerate() {
        for (i, value) in out_col.iter_mut().enumerate() {
            let e = *value - target[i * d + o];
            sq_err += e * e;
            *value = scale * e;
        }
    }
    sq_err
}

/// Writes the transpose of `src` into `dst`: a row-major `n x width` block becomes
/// column-major (and a column-major block with `width` rows per column becomes row-major).
pub(crate) fn transpose<T: Scalar>(src: &[T], width: usize, dst: &mut [T]) {
    if width == 1 {
        dst.copy_from_slice(src);
        return;
    }
    let n = dst.len() / width;
    for (i, row) in src.chunks_exact(width).enumerate() {
        for (j, value) in row.iter().enumerate() {
            dst[j * n + i] = *value;
        }
    }
}

simd_kernel! {
    /// z = SiLU(z + b) column by column (column j has bias b_j), in place.
    pub(crate) fn bias_silu<T: Scalar, const FUSED: bool>(z: &mut [T], bias: &[T]) {
        let rows = z.len() / bias.len();
        for (z_col, b) in z.chunks_exact_mut(rows).zip(bias) {
            for z_i in z_col {
                let v = *z_i + *b;
                *z_i = v * v.sigmoid::<FUSED>();
            }
        }
    }
}

simd_kernel! {
    /// z += b, s = sigmoid(z), a = z s, column by column.
    pub(crate) fn bias_silu_keep<T: Scalar, const FUSED: bool>(
        z: &mut [T],
        s: &mut [T],
        bias: &[T],
        a: &mut [T],
    ) {
        let rows = z.len() / bias.len();
        let columns = z.chunks_exact_mut(rows).zip(s.chunks_exact_mut(rows));
        for (((z_col, s_col), a_col), b) in columns.zip(a.chunks_exact_mut(rows)).zip(bias) {
            for ((z_i, s_i), a_i) in z_col.iter_mut().zip(s_col).zip(a_col) {
                let v = *z_i + *b;
                let sig = v.sigmoid::<FUSED>();
                (*z_i, *s_i, *a_i) = (v, sig, v * sig);
            }
        }
    }
}

simd_kernel! {
    /// g *= SiLU'(z) = s (1 + z (1 - s)), the chain rule through SiLU given z and s = sigmoid(z).
    pub(crate) fn silu_chain<T: Scalar>(g: &mut [T], z: &[T], s: &[T]) {
        for ((g_i, z_i), s_i) in g.iter_mut().zip(z).zip(s) {
            *g_i *= *s_i * (T::ONE + *z_i * (T::ONE - *s_i));
        }
    }
}

simd_kernel! {
    /// Column j += b_j.
    pub(crate) fn add_bias_columns<T: Scalar>(out: &mut [T], bias: &[T]) {
        let rows = out.len() / bias.len();
        for (col, b) in out.chunks_exact_mut(rows).zip(bias) {
            for value in col {
                *value += *b;
            }
        }
    }
}

simd_kernel! {
    /// sums[j] = sum of column j (eight-lane sums, see `linalg`).
    pub(crate) fn column_sums<T: Scalar>(m: &[T], sums: &mut [T]) {
        let rows = m.len() / sums.len();
        for (col, sum) in m.chunks_exact(rows).zip(sums) {
            *sum = sum_lanes(col);
        }
    }
}

/// total = chunk 0 + chunk 1 + ... (each `len` long), always in this order.
pub(crate) fn sum_chunks_in_order<T: Scalar>(chunks: &[T], len: usize, total: &mut [T]) {
    let mut parts = chunks.chunks_exact(len);
    total.copy_from_slice(parts.next().expect("at least one chunk"));
    for part in parts {
        for (t, v) in total.iter_mut().zip(part) {
            *t += *v;
        }
    }
}
