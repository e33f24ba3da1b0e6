//! A one-dimensional Gaussian mixture: the notebook's target, with every quantity the metrics
//! need in closed form.
//!
//! The density is
//!
//! ```text
//! p(x) = sum_k w_k N(x; m_k, s_k^2),        z_k = (x - m_k) / s_k,
//! F(x) = sum_k w_k Phi(z_k),                1 - F(x) = sum_k w_k Phi(-z_k),
//! ```
//!
//! with Phi the standard normal cdf and phi its density. The exact 1D Wasserstein distance of a
//! sample to the mixture needs the integrals of the cdf and of the survival function, which are
//! also closed forms (integrate by parts, using phi'(z) = -z phi(z)):
//!
//! ```text
//! G(x) = int_{-inf}^x F(u) du       = sum_k w_k s_k [ z_k Phi(z_k) + phi(z_k) ],
//! H(x) = int_x^{inf} (1 - F(u)) du  = sum_k w_k s_k [ phi(z_k) - z_k Phi(-z_k) ],
//! ```
//!
//! and `G(x) - H(x) = x - E[X]`. Points live at t = 1 of the flow (the data end; t = 0 is noise).

use std::f64::consts::{PI, SQRT_2};

use rand::Rng as _;
use rand_distr::StandardNormal;

use crate::data::Target;
use crate::rng::notebook::NumpyRandomState;
use crate::rng::Rng;
use crate::{Error, Result};

/// How far the weights may sum from 1 before the mixture is rejected.
const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// A 1D Gaussian mixture `sum_k w_k N(m_k, s_k^2)` with validated parameters.
///
/// Invariants (checked by [`GaussianMixture1d::new`]): at least one component, `weights`,
/// `means` and `stds` of equal length, all finite, weights positive and summing to 1, stds
/// positive.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture1d {
    weights: Vec<f64>,
    means: Vec<f64>,
    stds: Vec<f64>,
}

impl Default for GaussianMixture1d {
    /// The notebook's quad-modal mixture, [`GaussianMixture1d::notebook`].
    fn default() -> Self {
        Self::notebook()
    }
}

impl GaussianMixture1d {
    /// Builds a mixture after checking every invariant.
    ///
    /// Weights must sum to 1 within 1e-6; they are then divided by their sum so that the
    /// density integrates to 1 to rounding. Errors are [`Error::InvalidSetting`] naming the
    /// list (`weights`, `means`, `stds`) and the offending value.
    pub fn new(weights: Vec<f64>, means: Vec<f64>, stds: Vec<f64>) -> Result<Self> {
        check_lengths(&weights, &means, &stds)?;
        check_entries("weights", &weights, true)?;
        check_entries("means", &means, false)?;
        check_entries("stds", &stds, true)?;

        let total: f64 = weights.iter().sum();
        if (total - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            return Err(Error::setting(
                "weights",
                format!("{weights:?}"),
                format!("the weights sum to {total}, not 1 (tolerance {WEIGHT_SUM_TOLERANCE})"),
            ));
        }
        let weights = weights.iter().map(|w| w / total).collect();
        Ok(Self { weights, means, stds })
    }

    /// The notebook's target: weights [0.20, 0.30, 0.10, 0.40], means [-6, -2, 2, 6],
    /// stds [0.5, 0.3, 0.4, 0.6].
    pub fn notebook() -> Self {
        Self {
            weights: vec![0.20, 0.30, 0.10, 0.40],
            means: vec![-6.0, -2.0, 2.0, 6.0],
            stds: vec![0.5, 0.3, 0.4, 0.6],
        }
    }

    /// Parses a mixture given as three comma-separated lists, e.g. `"0.5,0.5"`, `"-1,1"`,
    /// `"0.3, 0.3"` (spaces around entries are ignored), then validates it as [`Self::new`].
    ///
    /// A bad number is reported as [`Error::InvalidSetting`] naming the list, the whole list
    /// as given, and the 1-based position of the entry.
    pub fn from_strs(weights: &str, means: &str, stds: &str) -> Result<Self> {
        let weights = parse_list("weights", weights)?;
        let means = parse_list("means", means)?;
        let stds = parse_list("stds", stds)?;
        Self::new(weights, means, stds)
    }

    /// Mixture weights w_k (summing to 1).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Component means m_k.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// Component standard deviations s_k.
    pub fn stds(&self) -> &[f64] {
        &self.stds
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// Density p(x).
    pub fn pdf(&self, x: f64) -> f64 {
        self.components().map(|(w, m, s)| w * normal_pdf((x - m) / s) / s).sum()
    }

    /// Log-density log p(x), by log-sum-exp over the components so that it stays finite far
    /// into the tails where p(x) underflows.
    pub fn log_pdf(&self, x: f64) -> f64 {
        log_sum_exp(&self.log_joint(x))
    }

    /// Cumulative distribution F(x) = P(X <= x).
    pub fn cdf(&self, x: f64) -> f64 {
        self.components().map(|(w, m, s)| w * normal_cdf((x - m) / s)).sum()
    }

    /// Survival function 1 - F(x), computed directly (accurate in the right tail).
    pub fn sf(&self, x: f64) -> f64 {
        self.components().map(|(w, m, s)| w * normal_cdf(-(x - m) / s)).sum()
    }

    /// G(x) = int_{-inf}^x F(u) du = sum_k w_k s_k [z_k Phi(z_k) + phi(z_k)].
    pub fn int_cdf(&self, x: f64) -> f64 {
        self.components()
            .map(|(w, m, s)| {
                let z = (x - m) / s;
                w * s * (z * normal_cdf(z) + normal_pdf(z))
            })
            .sum()
    }

    /// H(x) = int_x^{inf} (1 - F(u)) du = sum_k w_k s_k [phi(z_k) - z_k Phi(-z_k)].
    pub fn int_sf(&self, x: f64) -> f64 {
        self.components()
            .map(|(w, m, s)| {
                let z = (x - m) / s;
                w * s * (normal_pdf(z) - z * normal_cdf(-z))
            })
            .sum()
    }

    /// Mean `E[X] = sum_k w_k m_k`.
    pub fn mean(&self) -> f64 {
        self.components().map(|(w, m, _)| w * m).sum()
    }

    /// Variance `Var[X] = sum_k w_k (s_k^2 + m_k^2) - E[X]^2`, computed as
    /// `sum_k w_k (s_k^2 + (m_k - E[X])^2)` to avoid cancellation.
    pub fn variance(&self) -> f64 {
        let mean = self.mean();
        self.components().map(|(w, m, s)| w * (s * s + (m - mean) * (m - mean))).sum()
    }

    /// Quantile F^{-1}(p) for p in (0, 1), by bisection on a bracket that holds every
    /// component's mass to far below rounding (m_k -/+ 40 s_k).
    pub fn quantile(&self, p: f64) -> Result<f64> {
        if !(p > 0.0 && p < 1.0) {
            return Err(Error::setting("p", p, "a quantile level must lie strictly in (0, 1)"));
        }
        let mut lo = self.components().map(|(_, m, s)| m - 40.0 * s).fold(f64::INFINITY, f64::min);
        let mut hi =
            self.components().map(|(_, m, s)| m + 40.0 * s).fold(f64::NEG_INFINITY, f64::max);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.cdf(mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(0.5 * (lo + hi))
    }

    /// Posterior responsibilities r_k(x) = w_k N(x; m_k, s_k^2) / p(x), summing to 1.
    pub fn responsibilities(&self, x: f64) -> Vec<f64> {
        let log_joint = self.log_joint(x);
        let log_p = log_sum_exp(&log_joint);
        log_joint.iter().map(|l| (l - log_p).exp()).collect()
    }

    /// Index of the component with the highest responsibility at x (the lowest index on a
    /// tie). Meant for finite x.
    pub fn assign(&self, x: f64) -> usize {
        let log_joint = self.log_joint(x);
        let mut best = 0;
        for (k, l) in log_joint.iter().enumerate() {
            if *l > log_joint[best] {
                best = k;
            }
        }
        best
    }

    /// Mass of the mixture farther than 3 s_k from every component mean m_k: one minus the
    /// mass of the union of the bands [m_k - 3 s_k, m_k + 3 s_k] (overlapping bands are merged
    /// first). The exact counterpart of the sample fraction in the 1D metrics.
    pub fn outside_3sigma_mass(&self) -> f64 {
        let mut bands: Vec<(f64, f64)> =
            self.components().map(|(_, m, s)| (m - 3.0 * s, m + 3.0 * s)).collect();
        bands.sort_by(|a, b| a.0.total_cmp(&b.0));

        let mut inside = 0.0;
        let (mut lo, mut hi) = bands[0];
        for &(a, b) in &bands[1..] {
            if a <= hi {
                hi = hi.max(b);
            } else {
                inside += self.cdf(hi) - self.cdf(lo);
                (lo, hi) = (a, b);
            }
        }
        inside += self.cdf(hi) - self.cdf(lo);
        1.0 - inside
    }

    /// Draws n points: a component k with probability w_k, then m_k + s_k z with z ~ N(0, 1).
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let k = self.pick_component(rng.random::<f64>());
                let z: f64 = rng.sample(StandardNormal);
                self.means[k] + self.stds[k] * z
            })
            .collect()
    }

    /// Draws n points as the notebook does with NumPy: `comps = np.random.choice(K, size=n,
    /// p=weights)`, then `np.random.normal(means[comps], stds[comps]).astype(np.float32)`
    /// (all the components first, then all the normals; each point rounded to f32).
    pub fn sample_like_numpy(&self, n: usize, numpy: &mut NumpyRandomState) -> Vec<f64> {
        let components = numpy.choice_weighted(&self.weights, n);
        components
            .into_iter()
            .map(|k| f64::from(numpy.normal(self.means[k], self.stds[k]) as f32))
            .collect()
    }

    /// The component whose cumulative-weight interval holds u in [0, 1).
    fn pick_component(&self, u: f64) -> usize {
        let mut cumulative = 0.0;
        for (k, w) in self.weights.iter().enumerate() {
            cumulative += w;
            if u < cumulative {
                return k;
            }
        }
        self.weights.len() - 1
    }

    /// log(w_k) + log N(x; m_k, s_k^2) for every component.
    fn log_joint(&self, x: f64) -> Vec<f64> {
        let log_sqrt_2pi = 0.5 * (2.0 * PI).ln();
        self.components()
            .map(|(w, m, s)| {
                let z = (x - m) / s;
                w.ln() - 0.5 * z * z - s.ln() - log_sqrt_2pi
            })
            .collect()
    }

    /// (w_k, m_k, s_k) for every component.
    fn components(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        self.weights.iter().zip(&self.means).zip(&self.stds).map(|((&w, &m), &s)| (w, m, s))
    }
}

impl Target for GaussianMixture1d {
    fn dim(&self) -> usize {
        1
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        GaussianMixture1d::sample(self, n, rng)
    }

    fn sample_like_numpy(&self, n: usize, numpy: &mut NumpyRandomState) -> Option<Vec<f64>> {
        Some(GaussianMixture1d::sample_like_numpy(self, n, numpy))
    }

    /// `Some(log p(x[0]))` for a point of length 1; `None` for any other length.
    fn log_density(&self, x: &[f64]) -> Option<f64> {
        match x {
            [x] => Some(self.log_pdf(*x)),
            _ => None,
        }
    }

    fn name(&self) -> String {
        let terms: Vec<String> =
            self.components().map(|(w, m, s)| format!("{w} N({m}, {s}^2)")).collect();
        format!("1D Gaussian mixture {}", terms.join(" + "))
    }
}

/// Standard normal density phi(z).
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// Standard normal cdf Phi(z) = erfc(-z / sqrt 2) / 2, accurate in both tails.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

/// log sum_k exp(l_k), stable for very negative entries.
fn log_sum_exp(l: &[f64]) -> f64 {
    let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + l.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The three lists must have one common, non-zero length.
fn check_lengths(weights: &[f64], means: &[f64], stds: &[f64]) -> Result<()> {
    if weights.is_empty() {
        return Err(Error::setting("weights", "[]", "a mixture needs at least one component"));
    }
    for (name, list) in [("means", means), ("stds", stds)] {
        if list.len() != weights.len() {
            return Err(Error::setting(
                name,
                format!("{list:?}"),
                format!("has {} entries but weights has {}", list.len(), weights.len()),
            ));
        }
    }
    Ok(())
}

/// Every entry finite, and positive where `positive` is asked for.
fn check_entries(name: &str, list: &[f64], positive: bool) -> Result<()> {
    for (i, &v) in list.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::setting(name, v, format!("entry {} must be finite", i + 1)));
        }
        if positive && v <= 0.0 {
            return Err(Error::setting(name, v, format!("entry {} must be positive", i + 1)));
        }
    }
    Ok(())
}

/// Parses a comma-separated list of numbers; `name` is the list's name in errors.
fn parse_list(name: &str, text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .enumerate()
        .map(|(i, entry)| {
            entry.trim().parse::<f64>().map_err(|_| {
                Error::setting(
                    name,
                    text,
                    format!("entry {} ({:?}) is not a number", i + 1, entry.trim()),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Composite Simpson rule of f on [a, b] with n (even) intervals.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let inner: f64 =
            (1..n).map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
        (f(a) + f(b) + inner) * h / 3.0
    }

    fn setting_name(err: Error) -> String {
        match err {
            Error::InvalidSetting { name, .. } => name,
            other => panic!("expected InvalidSetting, got {other:?}"),
        }
    }

    #[test]
    fn pdf_integrates_to_one() {
        let mix = GaussianMixture1d::notebook();
        let mass = simpson(|x| mix.pdf(x), -15.0, 15.0, 30_000);
        assert!((mass - 1.0).abs() < 1e-12, "mass {mass}");
    }

    #[test]
    fn cdf_is_the_integral_of_pdf() {
        let mix = GaussianMixture1d::notebook();
        for x in [-7.0, -4.0, -2.1, 0.0, 1.5, 2.0, 5.5, 8.0] {
            let numeric = simpson(|u| mix.pdf(u), -20.0, x, 40_000);
            assert!((mix.cdf(x) - numeric).abs() < 1e-12, "x = {x}");
            assert!((mix.cdf(x) + mix.sf(x) - 1.0).abs() < 1e-15, "x = {x}");
        }
    }

    #[test]
    fn log_pdf_matches_pdf_and_stays_finite_in_the_tails() {
        let mix = GaussianMixture1d::notebook();
        for x in [-6.0, -3.3, 0.1, 2.0, 7.2] {
            assert!((mix.log_pdf(x) - mix.pdf(x).ln()).abs() < 1e-12, "x = {x}");
        }
        // pdf(100) underflows to 0; its log is the log of the widest tail term, which
        // dominates every other by many orders of magnitude.
        assert_eq!(mix.pdf(100.0), 0.0);
        let z: f64 = (100.0 - 6.0) / 0.6;
        let last = 0.4f64.ln() - 0.5 * z * z - 0.6f64.ln() - 0.5 * (2.0 * PI).ln();
        assert!((mix.log_pdf(100.0) - last).abs() < 1e-9 * last.abs());
    }

    #[test]
    fn g_derivative_is_f_and_h_derivative_is_minus_sf() {
        let mix = GaussianMixture1d::notebook();
        let h = 1e-4;
        for x in [-6.5, -2.0, 0.0, 1.7, 6.3] {
            let dg = (mix.int_cdf(x + h) - mix.int_cdf(x - h)) / (2.0 * h);
            let dh = (mix.int_sf(x + h) - mix.int_sf(x - h)) / (2.0 * h);
            // central difference error h^2/6 |F'''| stays below 1e-7 for these stds
            assert!((dg - mix.cdf(x)).abs() < 1e-7, "G' at {x}: {dg} vs {}", mix.cdf(x));
            assert!((dh + mix.sf(x)).abs() < 1e-7, "H' at {x}: {dh} vs {}", -mix.sf(x));
        }
    }

    #[test]
    fn g_and_h_match_numeric_integrals() {
        let mix = GaussianMixture1d::notebook();
        for x in [-8.0, -3.0, 0.0, 3.0, 6.0] {
            let g = simpson(|u| mix.cdf(u), -30.0, x, 60_000);
            let h = simpson(|u| mix.sf(u), x, 30.0, 60_000);
            assert!((mix.int_cdf(x) - g).abs() < 1e-10, "G({x}) {} vs {g}", mix.int_cdf(x));
            assert!((mix.int_sf(x) - h).abs() < 1e-10, "H({x}) {} vs {h}", mix.int_sf(x));
            assert!((mix.int_cdf(x) - mix.int_sf(x) - (x - mix.mean())).abs() < 1e-12);
        }
    }

    #[test]
    fn moments_are_exact_and_match_a_large_sample() {
        let mix = GaussianMixture1d::notebook();
        // E[X] = -1.2 - 0.6 + 0.2 + 2.4; E[X^2] = sum w (s^2 + m^2)
        assert!((mix.mean() - 0.8).abs() < 1e-15);
        let second =
            0.2 * (0.25 + 36.0) + 0.3 * (0.09 + 4.0) + 0.1 * (0.16 + 4.0) + 0.4 * (0.36 + 36.0);
        assert!((mix.variance() - (second - 0.64)).abs() < 1e-12);

        let n = 400_000;
        let x = mix.sample(n, &mut Rng::seed_from_u64(11));
        let mean = x.iter().sum::<f64>() / n as f64;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        // standard errors: sqrt(var / n) ~ 0.0076 for the mean; ~0.04 for the variance
        assert!((mean - mix.mean()).abs() < 5.0 * (mix.variance() / n as f64).sqrt());
        assert!((var - mix.variance()).abs() < 0.2, "var {var} vs {}", mix.variance());
    }

    #[test]
    fn sampling_is_reproducible_and_hits_the_weights() {
        let mix = GaussianMixture1d::notebook();
        let a = mix.sample(50_000, &mut Rng::seed_from_u64(3));
        let b = mix.sample(50_000, &mut Rng::seed_from_u64(3));
        assert_eq!(a, b);
        let mut counts = [0usize; 4];
        for &x in &a {
            counts[mix.assign(x)] += 1;
        }
        for (c, w) in counts.iter().zip(mix.weights()) {
            // binomial standard error <= sqrt(0.25 / 50000) ~ 0.0022; modes barely overlap
            assert!((*c as f64 / 50_000.0 - w).abs() < 0.011, "{counts:?}");
        }
    }

    #[test]
    fn quantile_inverts_cdf() {
        let mix = GaussianMixture1d::notebook();
        for p in [1e-9, 0.01, 0.2, 0.5, 0.77, 0.999999] {
            let q = mix.quantile(p).unwrap();
            assert!((mix.cdf(q) - p).abs() < 1e-14, "p = {p}");
        }
        assert!(mix.quantile(0.0).is_err());
        assert!(mix.quantile(f64::NAN).is_err());
    }

    #[test]
    fn responsibilities_sum_to_one_and_assign_takes_the_largest() {
        let mix = GaussianMixture1d::notebook();
        for x in [-6.0, -4.1, -2.0, 0.0, 2.0, 4.0, 6.0, 30.0] {
            let r = mix.responsibilities(x);
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let k = mix.assign(x);
            assert!(r.iter().all(|&v| v <= r[k]));
        }
        assert_eq!(mix.assign(-6.0), 0);
        assert_eq!(mix.assign(-2.0), 1);
        assert_eq!(mix.assign(2.0), 2);
        assert_eq!(mix.assign(6.0), 3);
    }

    #[test]
    fn outside_3sigma_mass_of_disjoint_bands() {
        // The notebook's bands are disjoint, so the mass inside is sum_k w_k (2 Phi(3) - 1)
        // plus each band's share of the other components (tiny but included by the cdf).
        let mix = GaussianMixture1d::notebook();
        let within: f64 = [(-7.5, -4.5), (-2.9, -1.1), (0.8, 3.2), (4.2, 7.8)]
            .iter()
            .map(|&(a, b)| mix.cdf(b) - mix.cdf(a))
            .sum();
        assert!((mix.outside_3sigma_mass() - (1.0 - within)).abs() < 1e-15);
        // overlapping bands: a single component, and two identical components
        let one = GaussianMixture1d::new(vec![1.0], vec![0.0], vec![1.0]).unwrap();
        let two = GaussianMixture1d::new(vec![0.5, 0.5], vec![0.0, 0.0], vec![1.0, 1.0]).unwrap();
        let expected = 2.0 * normal_cdf(-3.0);
        assert!((one.outside_3sigma_mass() - expected).abs() < 1e-15);
        assert!((two.outside_3sigma_mass() - expected).abs() < 1e-15);
    }

    #[test]
    fn constructor_rejects_bad_parameters_naming_the_field() {
        let bad = |w: Vec<f64>, m: Vec<f64>, s: Vec<f64>| {
            setting_name(GaussianMixture1d::new(w, m, s).unwrap_err())
        };
        assert_eq!(bad(vec![], vec![], vec![]), "weights");
        assert_eq!(bad(vec![1.0], vec![0.0, 1.0], vec![1.0]), "means");
        assert_eq!(bad(vec![1.0], vec![0.0], vec![]), "stds");
        assert_eq!(bad(vec![0.5, 0.6], vec![0.0, 1.0], vec![1.0, 1.0]), "weights");
        assert_eq!(bad(vec![1.5, -0.5], vec![0.0, 1.0], vec![1.0, 1.0]), "weights");
        assert_eq!(bad(vec![1.0], vec![f64::NAN], vec![1.0]), "means");
        assert_eq!(bad(vec![1.0], vec![0.0], vec![0.0]), "stds");
        assert_eq!(bad(vec![1.0], vec![0.0], vec![f64::INFINITY]), "stds");

        let err = GaussianMixture1d::new(vec![1.0], vec![0.0], vec![-2.0]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("stds") && text.contains("-2"), "{text}");
    }

    #[test]
    fn weights_within_tolerance_are_renormalised() {
        let mix =
            GaussianMixture1d::new(vec![0.5, 0.5 + 5e-7], vec![0.0, 1.0], vec![1.0, 1.0]).unwrap();
        assert!((mix.weights().iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn from_strs_parses_and_reports_the_bad_position() {
        let mix = GaussianMixture1d::from_strs("0.2,0.3, 0.1 ,0.4", "-6,-2,2,6", "0.5,0.3,0.4,0.6")
            .unwrap();
        assert_eq!(mix, GaussianMixture1d::notebook());

        let err = GaussianMixture1d::from_strs("0.5,0.5", "0,1x", "1,1").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("means") && text.contains("entry 2") && text.contains("1x"));
        let err = GaussianMixture1d::from_strs("0.5,,0.5", "0,1,2", "1,1,1").unwrap_err();
        assert!(err.to_string().contains("entry 2"), "{err}");
        assert_eq!(setting_name(GaussianMixture1d::from_strs("1", "0", "").unwrap_err()), "stds");
    }

    #[test]
    fn target_trait_reports_dim_and_log_density() {
        let mix = GaussianMixture1d::notebook();
        let target: &dyn Target = &mix;
        assert_eq!(target.dim(), 1);
        assert_eq!(target.log_density(&[0.3]), Some(mix.log_pdf(0.3)));
        assert_eq!(target.log_density(&[0.3, 1.0]), None);
        assert_eq!(target.sample(5, &mut Rng::seed_from_u64(1)).len(), 5);
        assert!(target.name().contains("0.4 N(6, 0.6^2)"));
    }
}
