//! Gaussian mixtures in any dimension, with full or diagonal covariances.
//!
//! ```text
//! p(x) = sum_k w_k N(x; mu_k, Sigma_k),   Sigma_k = L_k L_k^T (Cholesky, L_k lower triangular)
//! log N(x; mu, L L^T) = -d/2 ln(2 pi) - sum_i ln L_ii - |y|^2 / 2,   L y = x - mu
//! ```
//!
//! Sampling picks k with probability w_k, then x = mu_k + L_k z with z ~ N(0, I_d).
//!
//! A mixture can be read from a small JSON spec ([`MixtureSpec`]), with either full covariances
//! or standard deviations (a number per component for an isotropic one, or a list of d):
//!
//! ```json
//! {"weights": [0.3, 0.7], "means": [[0, 0], [2, 1]],
//!  "covs": [[[1, 0.5], [0.5, 1]], [[0.2, 0], [0, 0.3]]]}
//! {"weights": [0.2, 0.3, 0.1, 0.4], "means": [[-6], [-2], [2], [6]], "stds": [0.5, 0.3, 0.4, 0.6]}
//! ```
//!
//! (the second is the reference notebook's 1D target). Weights must be >= 0 and sum to 1 within
//! 1e-6 (they are then divided by their sum); each covariance must be symmetric (within 1e-9
//! relative) and positive definite; errors name the component.

use std::path::Path;

use serde::Deserialize;

use crate::data::toy::normal;
use crate::data::toy::rings::log_sum_exp;
use crate::data::Target;
use crate::rng::Rng;
use crate::{Error, Result};

/// The JSON spec of a mixture: `weights`, `means`, and exactly one of `covs` or `stds`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureSpec {
    /// Component weights w_k, length K.
    pub weights: Vec<f64>,
    /// Component means mu_k, K vectors of length d.
    pub means: Vec<Vec<f64>>,
    /// Full covariances Sigma_k, K matrices d x d (rows).
    #[serde(default)]
    pub covs: Option<Vec<Vec<Vec<f64>>>>,
    /// Standard deviations, K entries: one number (isotropic) or d numbers (diagonal).
    #[serde(default)]
    pub stds: Option<Vec<StdSpec>>,
}

/// The standard deviations of one component in a [`MixtureSpec`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StdSpec {
    /// The same std along every axis.
    Isotropic(f64),
    /// One std per axis (a diagonal covariance).
    PerAxis(Vec<f64>),
}

/// The covariances of the K components.
#[derive(Debug, Clone, PartialEq)]
pub enum Covariances {
    /// K full d x d matrices, as rows.
    Full(Vec<Vec<Vec<f64>>>),
    /// K vectors of d standard deviations (diagonal covariances).
    Stds(Vec<Vec<f64>>),
}

/// A Gaussian mixture with exact sampling and log-density.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    d: usize,
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    /// Lower Cholesky factors L_k, row-major d x d.
    cholesky: Vec<Vec<f64>>,
    /// ln w_k - d/2 ln(2 pi) - sum_i ln (L_k)_ii.
    log_norm: Vec<f64>,
}

impl GaussianMixture {
    /// A mixture from weights, means and covariances; errors name the bad component.
    pub fn new(weights: Vec<f64>, means: Vec<Vec<f64>>, covariances: Covariances) -> Result<Self> {
        Self::build(weights, means, covariances, "")
    }

    /// A mixture from a parsed spec; `source` (a file name, or empty) prefixes error names.
    pub fn from_spec(spec: MixtureSpec, source: &str) -> Result<Self> {
        let prefix = if source.is_empty() { String::new() } else { format!("{source}: ") };
        let covariances = match (spec.covs, spec.stds) {
            (Some(covs), None) => Covariances::Full(covs),
            (None, Some(stds)) => {
                let d = spec.means.first().map_or(0, Vec::len);
                Covariances::Stds(stds.into_iter().map(|s| s.per_axis(d)).collect())
            }
            _ => {
                let reason = "give exactly one of \"covs\" or \"stds\"";
                return Err(Error::setting(format!("{prefix}mixture spec"), "covs/stds", reason));
            }
        };
        Self::build(spec.weights, spec.means, covariances, &prefix)
    }

    /// A mixture from JSON text (see the module doc); `source` names it in errors.
    pub fn from_json_str(text: &str, source: &Path) -> Result<Self> {
        let spec: MixtureSpec = serde_json::from_str(text).map_err(|e| {
            // serde_json ends its message with the place, which the error already gives.
            let message = e.to_string();
            let place = format!(" at line {} column {}", e.line(), e.column());
            Error::Parse {
                path: source.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: format!("invalid mixture spec: {}", message.trim_end_matches(&place)),
            }
        })?;
        Self::from_spec(spec, &source.display().to_string())
    }

    /// A mixture from a JSON spec file.
    pub fn from_json_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text, path)
    }

    fn build(
        weights: Vec<f64>,
        means: Vec<Vec<f64>>,
        covariances: Covariances,
        prefix: &str,
    ) -> Result<Self> {
        let weights = check_weights(weights, prefix)?;
        let d = check_means(&means, weights.len(), prefix)?;
        let cholesky = match covariances {
            Covariances::Full(covs) => full_factors(covs, weights.len(), d, prefix)?,
            Covariances::Stds(stds) => diagonal_factors(stds, weights.len(), d, prefix)?,
        };

        let half_d_ln_2pi = 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
        let log_norm = (0..weights.len())
            .map(|k| {
                let ln_det_l: f64 = (0..d).map(|i| cholesky[k][i * d + i].ln()).sum();
                weights[k].ln() - half_d_ln_2pi - ln_det_l
            })
            .collect();
        Ok(GaussianMixture { d, weights, means, cholesky, log_norm })
    }

    /// Number of components K.
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    /// The normalised weights w_k.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The component means mu_k.
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means
    }

    /// Sigma_k = L_k L_k^T, row-major d x d.
    pub fn covariance(&self, k: usize) -> Vec<f64> {
        let (d, l) = (self.d, &self.cholesky[k]);
        let mut sigma = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                sigma[i * d + j] = (0..=i.min(j)).map(|m| l[i * d + m] * l[j * d + m]).sum();
            }
        }
        sigma
    }

    /// Exact mean sum_k w_k mu_k and covariance sum_k w_k (Sigma_k + mu_k mu_k^T) - m m^T
    /// (row-major d x d) of the mixture.
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.d;
        let mut mean = vec![0.0; d];
        let mut second = vec![0.0; d * d];
        for k in 0..self.components() {
            let (w, mu, sigma) = (self.weights[k], &self.means[k], self.covariance(k));
            for i in 0..d {
                mean[i] += w * mu[i];
                for j in 0..d {
                    second[i * d + j] += w * (sigma[i * d + j] + mu[i] * mu[j]);
                }
            }
        }
        for i in 0..d {
            for j in 0..d {
                second[i * d + j] -= mean[i] * mean[j];
            }
        }
        (mean, second)
    }

    /// log N(x; mu_k, Sigma_k) + ln w_k.
    fn log_weighted_component(&self, k: usize, x: &[f64]) -> f64 {
        let (d, l, mu) = (self.d, &self.cholesky[k], &self.means[k]);
        let mut y = vec![0.0; d];
        for i in 0..d {
            let dot: f64 = (0..i).map(|m| l[i * d + m] * y[m]).sum();
            y[i] = (x[i] - mu[i] - dot) / l[i * d + i];
        }
        self.log_norm[k] - 0.5 * y.iter().map(|v| v * v).sum::<f64>()
    }

    /// The component whose cumulative weight first exceeds `u` in [0, 1).
    fn pick(&self, u: f64) -> usize {
        let mut cumulative = 0.0;
        for (k, w) in self.weights.iter().enumerate() {
            cumulative += w;
            if u < cumulative {
                return k;
            }
        }
        self.weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
    }
}

impl StdSpec {
    fn per_axis(self, d: usize) -> Vec<f64> {
        match self {
            StdSpec::Isotropic(s) => vec![s; d],
            StdSpec::PerAxis(s) => s,
        }
    }
}

impl Target for GaussianMixture {
    fn dim(&self) -> usize {
        self.d
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let d = self.d;
        let mut points = Vec::with_capacity(n * d);
        let mut z = vec![0.0; d];
        for _ in 0..n {
            let k = self.pick(super::uniform(rng));
            z.iter_mut().for_each(|z_i| *z_i = normal(rng));
            let l = &self.cholesky[k];
            for i in 0..d {
                let lz: f64 = (0..=i).map(|m| l[i * d + m] * z[m]).sum();
                points.push(self.means[k][i] + lz);
            }
        }
        points
    }

    /// The exact mixture log-density, by log-sum-exp over components. `x` has length d.
    fn log_density(&self, x: &[f64]) -> Option<f64> {
        let terms: Vec<f64> =
            (0..self.components()).map(|k| self.log_weighted_component(k, x)).collect();
        Some(log_sum_exp(&terms))
    }

    fn name(&self) -> String {
        format!("Gaussian mixture, {} components in {}D", self.components(), self.d)
    }
}

fn check_weights(weights: Vec<f64>, prefix: &str) -> Result<Vec<f64>> {
    let name = format!("{prefix}weights");
    if weights.is_empty() {
        return Err(Error::setting(name, "[]", "give at least one component"));
    }
    if let Some(k) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(Error::setting(format!("{name}[{k}]"), weights[k], "must be finite and >= 0"));
    }
    let total: f64 = weights.iter().sum();
    if (total - 1.0).abs() > 1e-6 {
        return Err(Error::setting(name, format!("{weights:?}"), format!("sum to {total}, not 1")));
    }
    Ok(weights.iter().map(|w| w / total).collect())
}

/// Checks K means of one common length d >= 1, all finite; returns d.
fn check_means(means: &[Vec<f64>], k: usize, prefix: &str) -> Result<usize> {
    if means.len() != k {
        let context = format!("{prefix}means (one per weight)");
        return Err(Error::DimensionMismatch { context, expected: k, found: means.len() });
    }
    let d = means[0].len();
    if d == 0 {
        return Err(Error::setting(
            format!("{prefix}means[0]"),
            "[]",
            "a mean needs d >= 1 entries",
        ));
    }
    for (c, mu) in means.iter().enumerate() {
        if mu.len() != d {
            let context = format!("{prefix}means[{c}] (against means[0])");
            return Err(Error::DimensionMismatch { context, expected: d, found: mu.len() });
        }
        if mu.iter().any(|v| !v.is_finite()) {
            return Err(Error::setting(
                format!("{prefix}means[{c}]"),
                format!("{mu:?}"),
                "must be finite",
            ));
        }
    }
    Ok(d)
}

fn diagonal_factors(
    stds: Vec<Vec<f64>>,
    k: usize,
    d: usize,
    prefix: &str,
) -> Result<Vec<Vec<f64>>> {
    if stds.len() != k {
        let context = format!("{prefix}stds (one per weight)");
        return Err(Error::DimensionMismatch { context, expected: k, found: stds.len() });
    }
    let mut factors = Vec::with_capacity(k);
    for (c, s) in stds.iter().enumerate() {
        let name = format!("{prefix}stds[{c}]");
        if s.len() != d {
            let context = format!("{name} (against the means)");
            return Err(Error::DimensionMismatch { context, expected: d, found: s.len() });
        }
        if s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(Error::setting(
                name,
                format!("{s:?}"),
                "standard deviations must be finite and > 0",
            ));
        }
        let mut l = vec![0.0; d * d];
        (0..d).for_each(|i| l[i * d + i] = s[i]);
        factors.push(l);
    }
    Ok(factors)
}

fn full_factors(
    covs: Vec<Vec<Vec<f64>>>,
    k: usize,
    d: usize,
    prefix: &str,
) -> Result<Vec<Vec<f64>>> {
    if covs.len() != k {
        let context = format!("{prefix}covs (one per weight)");
        return Err(Error::DimensionMismatch { context, expected: k, found: covs.len() });
    }
    covs.iter()
        .enumerate()
        .map(|(c, sigma)| {
            let name = format!("{prefix}covs[{c}]");
            let flat = square_matrix(sigma, d, &name)?;
            cholesky(&flat, d).map_err(|reason| Error::setting(&name, format!("{sigma:?}"), reason))
        })
        .collect()
}

/// The rows of `sigma` as a row-major d x d matrix, checking shape and finiteness.
fn square_matrix(sigma: &[Vec<f64>], d: usize, name: &str) -> Result<Vec<f64>> {
    let rows_ok = sigma.len() == d && sigma.iter().all(|row| row.len() == d);
    if !rows_ok {
        let shape: Vec<usize> = sigma.iter().map(Vec::len).collect();
        let reason = format!("must be {d} x {d} like the means; row lengths are {shape:?}");
        return Err(Error::setting(name, format!("{sigma:?}"), reason));
    }
    let flat: Vec<f64> = sigma.iter().flatten().copied().collect();
    if flat.iter().any(|v| !v.is_finite()) {
        return Err(Error::setting(name, format!("{sigma:?}"), "entries must be finite"));
    }
    Ok(flat)
}

/// The lower Cholesky factor of a symmetric positive definite row-major `a`, or why not.
fn cholesky(a: &[f64], d: usize) -> std::result::Result<Vec<f64>, String> {
    for i in 0..d {
        for j in 0..i {
            let (upper, lower) = (a[j * d + i], a[i * d + j]);
            if (upper - lower).abs() > 1e-9 * upper.abs().max(lower.abs()) {
                return Err(format!(
                    "not symmetric: entry ({i}, {j}) is {lower} but ({j}, {i}) is {upper}"
                ));
            }
        }
    }

    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|m| l[i * d + m] * l[j * d + m]).sum();
            let value = 0.5 * (a[i * d + j] + a[j * d + i]) - dot;
            if i == j {
                if value.is_nan() || value <= 0.0 {
                    return Err(format!("not positive definite (Cholesky pivot {i} is {value})"));
                }
                l[i * d + i] = value.sqrt();
            } else {
                l[i * d + j] = value / l[j * d + j];
            }
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<GaussianMixture> {
        GaussianMixture::from_json_str(text, Path::new("mix.json"))
    }

    #[test]
    fn one_gaussian_log_density_matches_the_2x2_formula() {
        // Sigma = [[2, 0.6], [0.6, 1]]: det = 1.64, inverse = [[1, -0.6], [-0.6, 2]] / 1.64.
        let m = spec(r#"{"weights": [1], "means": [[1, -1]], "covs": [[[2, 0.6], [0.6, 1]]]}"#)
            .unwrap();
        let x = [0.3, 0.4];
        let (a, b) = (x[0] - 1.0, x[1] + 1.0);
        let q = (a * a - 1.2 * a * b + 2.0 * b * b) / 1.64;
        let expected = -(2.0 * std::f64::consts::PI).ln() - 0.5 * 1.64f64.ln() - 0.5 * q;
        assert!((m.log_density(&x).unwrap() - expected).abs() < 1e-14);
        for (got, want) in m.covariance(0).iter().zip([2.0, 0.6, 0.6, 1.0]) {
            assert!((got - want).abs() < 1e-15);
        }
    }

    #[test]
    fn errors_name_the_component() {
        let not_pd = spec(
            r#"{"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]],
            "covs": [[[1, 0], [0, 1]], [[1, 2], [2, 1]]]}"#,
        );
        let message = not_pd.unwrap_err().to_string();
        assert!(
            message.contains("mix.json: covs[1]") && message.contains("not positive definite"),
            "{message}"
        );

        let asymmetric =
            spec(r#"{"weights": [1], "means": [[0, 0]], "covs": [[[1, 0.5], [0.4, 1]]]}"#);
        let message = asymmetric.unwrap_err().to_string();
        assert!(message.contains("covs[0]") && message.contains("not symmetric"), "{message}");

        let bad_std = spec(r#"{"weights": [0.5, 0.5], "means": [[0], [1]], "stds": [1, -2]}"#);
        assert!(bad_std.unwrap_err().to_string().contains("stds[1]"));

        let bad_sum = spec(r#"{"weights": [0.5, 0.6], "means": [[0], [1]], "stds": [1, 1]}"#);
        assert!(bad_sum.unwrap_err().to_string().contains("sum to 1.1"));

        let both = spec(r#"{"weights": [1], "means": [[0]], "stds": [1], "covs": [[[1]]]}"#);
        assert!(both.unwrap_err().to_string().contains("exactly one"));

        let typo = spec(r#"{"weights": [1], "means": [[0]], "std": [1]}"#).unwrap_err();
        assert!(matches!(typo, Error::Parse { line: 1, .. }), "{typo}");

        let ragged = spec(r#"{"weights": [0.5, 0.5], "means": [[0, 0], [1]], "stds": [1, 1]}"#);
        assert!(ragged.unwrap_err().to_string().contains("means[1]"));
    }
}
