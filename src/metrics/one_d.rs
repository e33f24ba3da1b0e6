//! Quality of a 1D sample against the exact Gaussian mixture it should follow, and 1D
//! distances between two samples.
//!
//! Everything is f64 and exact up to rounding; nothing is binned.
//!
//! **Wasserstein-1 to the mixture.** W1 = int |F_n(x) - F(x)| dx with F_n the empirical cdf of
//! the sorted sample x_(1) <= ... <= x_(n). F_n is 0 left of x_(1), 1 right of x_(n) and
//! c_i = i / n on [x_(i), x_(i+1)), so with G and H the integrated cdf and survival function of
//! [`GaussianMixture1d`]
//!
//! ```text
//! W1 = G(x_(1)) + H(x_(n)) + sum_i int_{x_(i)}^{x_(i+1)} |c_i - F(u)| du,
//! ```
//!
//! and on one interval [a, b]: `G(b) - G(a) - c (b - a)` when F >= c throughout,
//! `c (b - a) - (G(b) - G(a))` when F <= c throughout, and otherwise, with q the unique crossing
//! F(q) = c (F is strictly increasing) found by bisection to machine precision,
//! `c (2q - a - b) + G(a) + G(b) - 2 G(q)`. An error in q enters only at second order, since the
//! integrand vanishes at q.
//!
//! **Kolmogorov-Smirnov.** KS = sup |F_n - F| = max_i max(i/n - F(x_(i)), F(x_(i)) - (i-1)/n).
//!
//! **Modes.** A sample point belongs to the component of highest posterior responsibility;
//! the mode fractions are compared with the weights by max |f_k - w_k| and by total variation
//! (1/2) sum_k |f_k - w_k|. The 3-sigma leakage is the share of points farther than 3 s_k from
//! every mean m_k (exact value: [`GaussianMixture1d::outside_3sigma_mass`]).
//!
//! **Two samples.** W1 = int |F_a - F_b| and KS = sup |F_a - F_b| are computed by merging the
//! two sorted samples; the cdf differences are kept as exact integers |i m - j n| / (n m).
//!
//! A sample holding a NaN or an infinity is refused with [`Error::NonFinite`] (which reports
//! how many), so no metric is ever NaN.

use serde::{Deserialize, Serialize};

use crate::data::mixture::GaussianMixture1d;
use crate::rng::Rng;
use crate::{Error, Result};

/// Metrics of one 1D sample against the exact mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics1d {
    /// Sample size n.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation with divisor n (the empirical measure's own std).
    pub std: f64,
    /// Exact Wasserstein-1 distance int |F_n - F| to the mixture.
    pub w1: f64,
    /// Kolmogorov-Smirnov statistic sup |F_n - F|.
    pub ks: f64,
    /// Share of points assigned to each component (highest responsibility), in component order.
    pub mode_fractions: Vec<f64>,
    /// max_k |f_k - w_k|.
    pub mode_fraction_max_abs_err: f64,
    /// Total variation (1/2) sum_k |f_k - w_k| between mode fractions and weights.
    pub mode_fraction_tv: f64,
    /// Share of points farther than 3 s_k from every component mean m_k.
    pub outside_3sigma: f64,
}

/// The sampling-noise floor: what the metrics of a perfect model look like at sample size n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseFloor1d {
    /// Sample size of each draw.
    pub n: usize,
    /// Number of independent draws.
    pub reps: usize,
    /// All metrics of the first draw.
    pub first_draw: Metrics1d,
    /// Mean of W1 over the draws.
    pub w1_mean: f64,
    /// Standard deviation (divisor reps - 1; 0 when reps = 1) of W1 over the draws.
    pub w1_std: f64,
    /// Mean of KS over the draws.
    pub ks_mean: f64,
    /// Standard deviation (divisor reps - 1; 0 when reps = 1) of KS over the draws.
    pub ks_std: f64,
}

/// Every metric of `samples` against `mixture`.
///
/// Errors: [`Error::InvalidSetting`] for an empty sample, [`Error::NonFinite`] (with the count)
/// when any sample is NaN or infinite.
pub fn evaluate_1d(samples: &[f64], mixture: &GaussianMixture1d) -> Result<Metrics1d> {
    let sorted = sorted_finite("samples", samples)?;
    let n = sorted.len() as f64;

    let mean = sorted.iter().sum::<f64>() / n;
    let var = sorted.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;

    let mode_fractions = mode_fractions(&sorted, mixture);
    let errors: Vec<f64> =
        mode_fractions.iter().zip(mixture.weights()).map(|(f, w)| (f - w).abs()).collect();

    Ok(Metrics1d {
        n: sorted.len(),
        mean,
        std: var.sqrt(),
        w1: w1_sorted(&sorted, mixture),
        ks: ks_sorted(&sorted, mixture),
        mode_fraction_max_abs_err: errors.iter().copied().fold(0.0, f64::max),
        mode_fraction_tv: 0.5 * errors.iter().sum::<f64>(),
        mode_fractions,
        outside_3sigma: outside_3sigma(&sorted, mixture),
    })
}

/// Exact Wasserstein-1 distance int |F_n - F| between the sample and the mixture.
pub fn w1_to_mixture(samples: &[f64], mixture: &GaussianMixture1d) -> Result<f64> {
    Ok(w1_sorted(&sorted_finite("samples", samples)?, mixture))
}

/// Kolmogorov-Smirnov statistic sup |F_n - F| between the sample and the mixture.
pub fn ks_to_mixture(samples: &[f64], mixture: &GaussianMixture1d) -> Result<f64> {
    Ok(ks_sorted(&sorted_finite("samples", samples)?, mixture))
}

/// Metrics of `reps` fresh samples of size `n` drawn from the mixture itself with `rng`: the
/// first draw in full, and the mean and std of W1 and KS over all draws.
pub fn noise_floor(
    mixture: &GaussianMixture1d,
    n: usize,
    reps: usize,
    rng: &mut Rng,
) -> Result<NoiseFloor1d> {
    if n == 0 {
        return Err(Error::setting("n", n, "the noise floor needs at least one point per draw"));
    }
    if reps == 0 {
        return Err(Error::setting("reps", reps, "the noise floor needs at least one draw"));
    }

    let first_draw = evaluate_1d(&mixture.sample(n, rng), mixture)?;
    let mut w1 = vec![first_draw.w1];
    let mut ks = vec![first_draw.ks];
    for _ in 1..reps {
        let sorted = sorted_finite("noise-floor draw", &mixture.sample(n, rng))?;
        w1.push(w1_sorted(&sorted, mixture));
        ks.push(ks_sorted(&sorted, mixture));
    }

    let (w1_mean, w1_std) = mean_and_std(&w1);
    let (ks_mean, ks_std) = mean_and_std(&ks);
    Ok(NoiseFloor1d { n, reps, first_draw, w1_mean, w1_std, ks_mean, ks_std })
}

/// Wasserstein-1 distance int |F_a - F_b| between two empirical samples.
pub fn w1_two_sample(a: &[f64], b: &[f64]) -> Result<f64> {
    let a = sorted_finite("first sample", a)?;
    let b = sorted_finite("second sample", b)?;
    Ok(w1_two_sorted(&a, &b))
}

/// Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b|.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> Result<f64> {
    let a = sorted_finite("first sample", a)?;
    let b = sorted_finite("second sample", b)?;
    Ok(ks_two_sorted(&a, &b))
}

/// W1 between two sorted, finite, non-empty samples.
pub(crate) fn w1_two_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    let mut area = 0.0;
    merge_walk(a, b, |gap, i, j| area += gap * cdf_gap(i, j, n, m) as f64);
    area / (n as f64 * m as f64)
}

/// KS between two sorted, finite, non-empty samples.
pub(crate) fn ks_two_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    let mut sup = 0;
    merge_walk(a, b, |_, i, j| sup = sup.max(cdf_gap(i, j, n, m)));
    sup as f64 / (n as f64 * m as f64)
}

/// |i m - j n| = n m |F_a - F_b| when i points of a and j points of b lie at or left of x.
fn cdf_gap(i: usize, j: usize, n: usize, m: usize) -> u128 {
    (i as u128 * m as u128).abs_diff(j as u128 * n as u128)
}

/// Walks the distinct points of the merged sorted samples left to right. Before stepping onto
/// each point x it calls `visit(gap, i, j)` with the width of the stretch just crossed and the
/// counts i, j left of x (so the cdfs are constant on the stretch); after the last point it
/// calls `visit(0, n, m)`.
fn merge_walk(a: &[f64], b: &[f64], mut visit: impl FnMut(f64, usize, usize)) {
    let (mut i, mut j) = (0, 0);
    let mut previous = a[0].min(b[0]);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => unreachable!("loop condition"),
        };
        visit(x - previous, i, j);

        while i < a.len() && a[i] == x {
            i += 1;
        }
        while j < b.len() && b[j] == x {
            j += 1;
        }
        previous = x;
    }
    visit(0.0, i, j);
}

/// Exact W1 of a sorted, finite, non-empty sample against the mixture.
fn w1_sorted(x: &[f64], mixture: &GaussianMixture1d) -> f64 {
    let n = x.len() as f64;
    let tails = mixture.int_cdf(x[0]) + mixture.int_sf(x[x.len() - 1]);

    let mut g_a = mixture.int_cdf(x[0]);
    let mut f_a = mixture.cdf(x[0]);
    let mut inner = 0.0;
    for (i, pair) in x.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        let c = (i + 1) as f64 / n;
        let g_b = mixture.int_cdf(b);
        let f_b = mixture.cdf(b);

        inner += if c <= f_a {
            g_b - g_a - c * (b - a)
        } else if c >= f_b {
            c * (b - a) - (g_b - g_a)
        } else {
            let q = crossing(mixture, c, a, b);
            c * (2.0 * q - a - b) + g_a + g_b - 2.0 * mixture.int_cdf(q)
        };
        (g_a, f_a) = (g_b, f_b);
    }
    tails + inner
}

/// The point q in (a, b) with F(q) = c, given F(a) < c < F(b): bisection until the bracket
/// cannot be halved any further in f64 (at most 200 halvings).
fn crossing(mixture: &GaussianMixture1d, c: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (a, b);
    for _ in 0..200 {
        let mid = lo + 0.5 * (hi - lo);
        if mid <= lo || mid >= hi {
            break;
        }
        if mixture.cdf(mid) < c {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo + 0.5 * (hi - lo)
}

/// KS of a sorted, finite, non-empty sample against the mixture.
fn ks_sorted(x: &[f64], mixture: &GaussianMixture1d) -> f64 {
    let n = x.len() as f64;
    x.iter()
        .enumerate()
        .map(|(i, &xi)| {
            let f = mixture.cdf(xi);
            ((i + 1) as f64 / n - f).max(f - i as f64 / n)
        })
        .fold(0.0, f64::max)
}

/// Share of the sample assigned to each component.
fn mode_fractions(x: &[f64], mixture: &GaussianMixture1d) -> Vec<f64> {
    let mut counts = vec![0usize; mixture.n_components()];
    for &xi in x {
        counts[mixture.assign(xi)] += 1;
    }
    counts.iter().map(|&c| c as f64 / x.len() as f64).collect()
}

/// Share of the sample farther than 3 s_k from every mean m_k.
fn outside_3sigma(x: &[f64], mixture: &GaussianMixture1d) -> f64 {
    let outside = x
        .iter()
        .filter(|&&xi| {
            mixture.means().iter().zip(mixture.stds()).all(|(m, s)| (xi - m).abs() > 3.0 * s)
        })
        .count();
    outside as f64 / x.len() as f64
}

/// A sorted copy of a non-empty, all-finite sample; `what` names it in errors.
pub(crate) fn sorted_finite(what: &str, x: &[f64]) -> Result<Vec<f64>> {
    if x.is_empty() {
        return Err(Error::setting(what, "[]", "the sample is empty"));
    }
    check_finite(what, x)?;
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    Ok(sorted)
}

/// [`Error::NonFinite`] naming how many entries of `x` are NaN or infinite, and the first.
pub(crate) fn check_finite(what: &str, x: &[f64]) -> Result<()> {
    let bad = x.iter().filter(|v| !v.is_finite()).count();
    if bad == 0 {
        return Ok(());
    }
    let first = x.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::NonFinite {
        context: format!(
            "{what}: {bad} of {} values are NaN or infinite (first at index {first}: {})",
            x.len(),
            x[first]
        ),
    })
}

/// Mean and standard deviation with divisor len - 1 (0 for a single value).
fn mean_and_std(v: &[f64]) -> (f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1) as f64;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mixture::{normal_cdf, normal_pdf};
    use rand::SeedableRng;

    fn standard_normal() -> GaussianMixture1d {
        GaussianMixture1d::new(vec![1.0], vec![0.0], vec![1.0]).unwrap()
    }

    /// Trapezoid rule of |F_n - F| on a uniform grid of `points` nodes over [lo, hi].
    fn w1_trapezoid(x: &[f64], mix: &GaussianMixture1d, lo: f64, hi: f64, points: usize) -> f64 {
        let mut sorted = x.to_vec();
        sorted.sort_by(f64::total_cmp);
        let h = (hi - lo) / (points - 1) as f64;
        let integrand = |u: f64| {
            let f_n = sorted.partition_point(|&v| v <= u) as f64 / sorted.len() as f64;
            (f_n - mix.cdf(u)).abs()
        };
        let inner: f64 = (1..points - 1).map(|k| integrand(lo + k as f64 * h)).sum();
        h * (inner + 0.5 * (integrand(lo) + integrand(hi)))
    }

    #[test]
    fn w1_of_one_point_against_standard_normal_is_closed_form() {
        let mix = standard_normal();
        for c in [-2.5, -0.3, 0.0, 0.7, 4.0] {
            let expected = c * (2.0 * normal_cdf(c) - 1.0) + 2.0 * normal_pdf(c);
            let w1 = w1_to_mixture(&[c], &mix).unwrap();
            assert!((w1 - expected).abs() < 1e-14, "c = {c}: {w1} vs {expected}");
        }
    }

    #[test]
    fn w1_exact_matches_a_fine_trapezoid_integral() {
        let mix = GaussianMixture1d::notebook();
        let mut rng = Rng::seed_from_u64(5);
        for n in [1, 2, 7, 60] {
            let x = mix.sample(n, &mut rng);
            let exact = w1_to_mixture(&x, &mix).unwrap();
            // 400001 nodes on [-15, 15]: h = 7.5e-5; each of the n jumps of F_n costs at most
            // h / (2n) and the smooth part O(h^2), so the rule is good to ~4e-5.
            let grid = w1_trapezoid(&x, &mix, -15.0, 15.0, 400_001);
            assert!((exact - grid).abs() < 5e-5, "n = {n}: exact {exact} grid {grid}");
        }
    }

    #[test]
    fn w1_of_a_shifted_true_sample_grows_by_the_shift() {
        // W1(F_n, F) ~ noise floor; shifting every point by delta moves W1 towards |delta|:
        // |W1(shifted) - delta| <= W1(unshifted) by the triangle inequality.
        let mix = GaussianMixture1d::notebook();
        let x = mix.sample(100_000, &mut Rng::seed_from_u64(9));
        let base = w1_to_mixture(&x, &mix).unwrap();
        // the floor at this n is a few hundredths (mode-weight noise times the mode gaps)
        assert!(base < 0.08, "noise floor {base}");
        for delta in [0.25, 1.0, -0.5] {
            let shifted: Vec<f64> = x.iter().map(|v| v + delta).collect();
            let w1 = w1_to_mixture(&shifted, &mix).unwrap();
            assert!((w1 - delta.abs()).abs() <= base + 1e-12, "delta {delta}: {w1}");
        }
    }

    #[test]
    fn ks_of_small_samples_by_hand() {
        let mix = standard_normal();
        // {0}: F_n jumps from 0 to 1 where F = 1/2.
        assert!((ks_to_mixture(&[0.0], &mix).unwrap() - 0.5).abs() < 1e-16);
        // {-1, 1}: the largest gap is 1/2 - Phi(-1) = Phi(1) - 1/2 = 0.3413447460685429.
        let ks = ks_to_mixture(&[1.0, -1.0], &mix).unwrap();
        assert!((ks - 0.341_344_746_068_542_9).abs() < 1e-15, "{ks}");
        // {2, 2, 2}: one jump of height 1 at x = 2, so KS = Phi(2) = 0.9772498680518208.
        let ks = ks_to_mixture(&[2.0, 2.0, 2.0], &mix).unwrap();
        assert!((ks - 0.977_249_868_051_820_8).abs() < 1e-15, "{ks}");
    }

    #[test]
    fn mode_fractions_and_errors_of_a_hand_sample() {
        let mix = GaussianMixture1d::notebook();
        let x = [-6.1, -5.9, -2.0, 1.9, 2.2, 6.0, 5.0, 7.0, 6.5, 20.0];
        let m = evaluate_1d(&x, &mix).unwrap();
        assert_eq!(m.mode_fractions, vec![0.2, 0.1, 0.2, 0.5]);
        assert!((m.mode_fraction_max_abs_err - 0.2).abs() < 1e-15);
        assert!((m.mode_fraction_tv - 0.5 * (0.0 + 0.2 + 0.1 + 0.1)).abs() < 1e-15);
        // only 20.0 is beyond 3 s from every mean (7.0 is within 1.8 of 6).
        assert!((m.outside_3sigma - 0.1).abs() < 1e-15);
        assert_eq!(m.n, 10);
    }

    #[test]
    fn non_finite_samples_are_refused_with_a_count() {
        let mix = GaussianMixture1d::notebook();
        let err = evaluate_1d(&[0.0, f64::NAN, 1.0, f64::INFINITY], &mix).unwrap_err();
        match err {
            Error::NonFinite { context } => assert!(context.contains("2 of 4"), "{context}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(evaluate_1d(&[], &mix), Err(Error::InvalidSetting { .. })));
        assert!(w1_two_sample(&[1.0], &[f64::NAN]).is_err());
        assert!(ks_two_sample(&[], &[1.0]).is_err());
    }

    #[test]
    fn two_sample_w1_and_ks_by_hand() {
        // Equal sizes: W1 is the mean gap of the sorted samples.
        assert!((w1_two_sample(&[1.0, 0.0], &[0.5, 1.5]).unwrap() - 0.5).abs() < 1e-16);
        // {1, 2, 3} vs {2.5}: |F_a - F_b| is 1/3, 2/3, 2/3, 1/3, 0 on [1,2), [2,2.5), ...
        // so W1 = 1/3 + (2/3)(0.5) + (1/3)(0.5) = 5/6 and KS = 2/3.
        let a = [3.0, 1.0, 2.0];
        assert!((w1_two_sample(&a, &[2.5]).unwrap() - 5.0 / 6.0).abs() < 1e-15);
        assert!((ks_two_sample(&a, &[2.5]).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        // Ties across samples: {0, 1} vs {1, 1}: F_a - F_b = 1/2 on [0, 1), KS = 1/2, W1 = 1/2.
        assert!((ks_two_sample(&[0.0, 1.0], &[1.0, 1.0]).unwrap() - 0.5).abs() < 1e-16);
        assert!((w1_two_sample(&[0.0, 1.0], &[1.0, 1.0]).unwrap() - 0.5).abs() < 1e-16);
        // Identical samples.
        assert_eq!(w1_two_sample(&a, &a).unwrap(), 0.0);
        assert_eq!(ks_two_sample(&a, &a).unwrap(), 0.0);
    }

    #[test]
    fn noise_floor_is_sane_and_reproducible() {
        let mix = GaussianMixture1d::notebook();
        let floor = noise_floor(&mix, 2_000, 8, &mut Rng::seed_from_u64(1)).unwrap();
        let again = noise_floor(&mix, 2_000, 8, &mut Rng::seed_from_u64(1)).unwrap();
        assert_eq!(floor, again);
        // KS of a true sample: E sup ~ 0.87 / sqrt(n) ~ 0.019 at n = 2000.
        assert!(floor.ks_mean > 0.005 && floor.ks_mean < 0.04, "{floor:?}");
        // W1 of a true sample shrinks like 1/sqrt(n); a few times 0.01 at this n and spread.
        assert!(floor.w1_mean > 0.01 && floor.w1_mean < 0.2, "{floor:?}");
        assert!(floor.w1_std > 0.0 && floor.w1_std < floor.w1_mean);
        assert!(floor.first_draw.mode_fraction_tv < 0.05);

        assert!(noise_floor(&mix, 0, 3, &mut Rng::seed_from_u64(1)).is_err());
        assert!(noise_floor(&mix, 10, 0, &mut Rng::seed_from_u64(1)).is_err());
    }
}
