//! Sinusoidal time embedding, as in the notebook's `TimeEmbedding`.
//!
//! With half = t_dim / 2 (integer division) and frequencies
//!     f_k = exp(-ln(max_period) * k / half),   k = 0, ..., half - 1,
//! the embedding of a time t is the t_dim vector
//!     [sin(t f_0), ..., sin(t f_{half-1}), cos(t f_0), ..., cos(t f_{half-1}), (0 if t_dim odd)].
//!
//! PyTorch evaluates this in float32: it rounds -ln(max_period) to float32, multiplies by k,
//! divides by half and exponentiates, each step rounded to float32. [`frequencies`] follows the
//! same steps in the engine's precision, so in f32 the frequencies agree with PyTorch's to the
//! last bit or one unit in the last place (the exponential may round differently).

use super::scalar::Scalar;

/// The frequencies f_0, ..., f_{half-1} of a `t_dim`-wide embedding.
pub fn frequencies<T: Scalar>(t_dim: usize, max_period: f64) -> Vec<T> {
    let half = t_dim / 2;
    let neg_log_period = T::from_f64(-max_period.ln());
    let half_t = T::from_f64(half as f64);
    (0..half).map(|k| (neg_log_period * T::from_f64(k as f64) / half_t).exp()).collect()
}

/// True when every |t_i f_k| <= 1, so [`Scalar::sin_cos_unit`] applies (false for NaN).
fn within_unit<T: Scalar>(t: &[T], freqs: &[T]) -> bool {
    let abs = |v: &T| if *v < T::ZERO { -*v } else { *v };
    let unit = |v: &T| abs(v) <= T::ONE;
    t.iter().all(unit) && freqs.iter().all(unit)
}

/// Writes the embedding of time `t` into `out` (length t_dim), given `frequencies(t_dim, ..)`.
///
/// Times in [-1, 1] with frequencies in [-1, 1] (the usual case) use the vectorising
/// [`Scalar::sin_cos_unit`], others the standard library, as `embed_columns` does.
#[inline]
pub fn embed<T: Scalar>(t: T, freqs: &[T], out: &mut [T]) {
    let half = freqs.len();
    let (sin_part, rest) = out.split_at_mut(half);
    let (cos_part, pad) = rest.split_at_mut(half);
    let pairs = freqs.iter().zip(sin_part).zip(cos_part);
    if within_unit(&[t], freqs) {
        for ((f, s), c) in pairs {
            (*s, *c) = (t * *f).sin_cos_unit();
        }
    } else {
        for ((f, s), c) in pairs {
            (*s, *c) = (t * *f).sin_cos();
        }
    }
    pad.fill(T::ZERO);
}

/// Writes the embeddings of the times `t` (n of them) as the columns of a column-major
/// `n x t_dim` block: `out[k * n + i]` is component k of the embedding of `t[i]`.
#[inline]
pub(crate) fn embed_columns<T: Scalar>(t: &[T], freqs: &[T], out: &mut [T]) {
    let (n, half) = (t.len(), freqs.len());
    let (sin_part, rest) = out.split_at_mut(half * n);
    let (cos_part, pad) = rest.split_at_mut(half * n);
    let columns = sin_part.chunks_exact_mut(n).zip(cos_part.chunks_exact_mut(n));
    let unit = within_unit(t, freqs);
    for (f, (sin_col, cos_col)) in freqs.iter().zip(columns) {
        let cells = t.iter().zip(sin_col.iter_mut()).zip(cos_col.iter_mut());
        if unit {
            for ((t_i, s), c) in cells {
                (*s, *c) = (*t_i * *f).sin_cos_unit();
            }
        } else {
            for ((t_i, s), c) in cells {
                (*s, *c) = (*t_i * *f).sin_cos();
            }
        }
    }
    pad.fill(T::ZERO);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_the_formula() {
        let freqs = frequencies::<f64>(32, 10_000.0);
        assert_eq!(freqs.len(), 16);
        for (k, f) in freqs.iter().enumerate() {
            let expected = 10_000f64.powf(-(k as f64) / 16.0);
            assert!((f - expected).abs() < 1e-15, "k = {k}");
        }
        assert_eq!(freqs[0], 1.0);
    }

    #[test]
    fn embedding_is_sines_then_cosines_with_a_zero_pad_when_odd() {
        let t = 0.37f64;
        let freqs = frequencies::<f64>(7, 100.0);
        assert_eq!(freqs.len(), 3);
        let mut out = [f64::NAN; 7];
        embed(t, &freqs, &mut out);
        for k in 0..3 {
            let f = 100f64.powf(-(k as f64) / 3.0);
            assert!((out[k] - (t * f).sin()).abs() < 1e-15);
            assert!((out[3 + k] - (t * f).cos()).abs() < 1e-15);
        }
        assert_eq!(out[6], 0.0);
    }

    #[test]
    fn column_layout_holds_the_same_embeddings() {
        let times = [0.0f64, 0.25, 0.9];
        let freqs = frequencies::<f64>(5, 10_000.0);
        let mut columns = vec![f64::NAN; 3 * 5];
        embed_columns(&times, &freqs, &mut columns);
        for (i, t) in times.iter().enumerate() {
            let mut row = [0.0; 5];
            embed(*t, &freqs, &mut row);
            for (k, value) in row.iter().enumerate() {
                assert_eq!(columns[k * 3 + i], *value);
            }
        }
    }
}
