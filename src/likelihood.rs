//! Exact log-likelihoods of a flow model by the instantaneous change of variables.
//!
//! A flow dx/dt = v(x, t) carries the base density p_0 = N(0, I) at t = 0 (noise) to the model
//! density p_1 at t = 1 (data). Along a trajectory x_t the log-density obeys
//!
//!   d/dt log p_t(x_t) = -div v(x_t, t),
//!   so   log p_1(x_1) = log p_0(x_0) - ∫_0^1 div v(x_t, t) dt,
//!
//! where x_0 is found by solving the ODE backwards from the data point x_1. [`log_likelihood`]
//! does this in one reverse solve, from t = 1 to t = 0, of the augmented state [x, l] (d + 1
//! values per point) with
//!
//!   dx/dt = v(x, t),   dl/dt = -div v(x, t),   x(1) = x_1,   l(1) = 0,
//!
//! so that l(t) = log p_t(x_t) - log p_1(x_1) and, at the end, l(0) = ∫_0^1 div v dt and
//! log p_1(x_1) = log p_0(x_0) - l(0), with log p_0(x) = -(d/2) log(2 pi) - |x|^2 / 2.
//! Any [`Solver`] works; the augmented field wraps the user's.
//!
//! # Divergence
//!
//! - [`Divergence::Exact`]: div v = sum_j e_j^T J e_j with d Jacobian-vector products per field
//!   evaluation (unit tangents e_j through [`JvpField::eval_jvp`]). Exact, but its cost grows
//!   with d: prefer Hutchinson above d = 8.
//! - [`Divergence::Hutchinson`]: div v ≈ (1/k) sum_m eps_m^T J eps_m with k probes per point,
//!   Rademacher (±1) or standard Gaussian, drawn once per solve from the caller's generator and
//!   kept FIXED along the whole trajectory. With a fixed probe the integrated estimate is
//!   eps^T (∫_0^1 J dt) eps, an unbiased estimate of ∫_0^1 div v dt (E[eps eps^T] = I), and the
//!   right-hand side stays a smooth ODE that adaptive step control can handle. Its variance per
//!   point is Var/k, where, with S the symmetric part of ∫_0^1 J(x_t, t) dt,
//!   Var = 2 (||S||_F^2 - sum_i S_ii^2) for Rademacher probes and 2 ||S||_F^2 for Gaussian ones.
//!   Rademacher probes are never worse and are exact in 1D. The log-density estimate is
//!   unbiased; the density exp(log p_1) estimated this way is not.

use rand::Rng as _;
use rand_distr::StandardNormal;
use std::fmt;
use std::str::FromStr;

use crate::rng::Rng;
use crate::solve::{solve, JvpField, SolveOptions, Solver, TimeGrid, VelocityField};
use crate::{Error, Result};

/// The distribution of Hutchinson probe vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Independent ±1 components with probability 1/2 each.
    Rademacher,
    /// Independent standard normal components.
    Gaussian,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Probe::Rademacher => "rademacher",
            Probe::Gaussian => "gaussian",
        })
    }
}

/// Parses `rademacher` or `gaussian` (case-insensitive).
impl FromStr for Probe {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rademacher" => Ok(Probe::Rademacher),
            "gaussian" => Ok(Probe::Gaussian),
            _ => Err(Error::setting("probe", s, "expected one of rademacher, gaussian")),
        }
    }
}

/// How the divergence div v = tr(dv/dx) is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divergence {
    /// The exact trace with d Jacobian-vector products per field evaluation.
    Exact,
    /// Hutchinson's estimator with `probes` fixed probe vectors per point.
    Hutchinson {
        /// Number k >= 1 of probes averaged.
        probes: usize,
        /// Their distribution.
        probe: Probe,
    },
}

/// How to compute log-likelihoods.
#[derive(Debug, Clone, PartialEq)]
pub struct LikelihoodOptions {
    /// The solver of the reverse solve from t = 1 to t = 0.
    pub solver: Solver,
    /// Its steps; an explicit grid must run from 1 down to 0.
    pub grid: TimeGrid,
    /// How the divergence is computed.
    pub divergence: Divergence,
}

impl LikelihoodOptions {
    /// Exact divergence with `solver` on `steps` uniform steps (ignored by Dopri5).
    pub fn exact(solver: Solver, steps: usize) -> Self {
        LikelihoodOptions { solver, grid: TimeGrid::uniform(steps), divergence: Divergence::Exact }
    }

    /// Hutchinson's estimator with `probes` probes of distribution `probe`.
    pub fn hutchinson(solver: Solver, steps: usize, probes: usize, probe: Probe) -> Self {
        let divergence = Divergence::Hutchinson { probes, probe };
        LikelihoodOptions { solver, grid: TimeGrid::uniform(steps), divergence }
    }
}

/// Per-point log-densities and what they cost.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLikelihood {
    /// log p_1(x_1) for every point.
    pub log_p_1: Vec<f64>,
    /// The points x_0 at t = 0 the data points flow back to, row-major `n * d`.
    pub x_0: Vec<f64>,
    /// log p_0(x_0) under the standard normal base.
    pub log_p_0: Vec<f64>,
    /// ∫_0^1 div v(x_t, t) dt along each trajectory (estimated, for Hutchinson), so that
    /// `log_p_1 = log_p_0 - integrated_divergence`.
    pub integrated_divergence: Vec<f64>,
    /// Evaluations of the augmented field, as counted by the solver.
    pub nfe: usize,
    /// Jacobian-vector products: `nfe * d` (exact) or `nfe * k` (Hutchinson).
    pub jvps: usize,
    /// Accepted steps of the reverse solve.
    pub steps: usize,
    /// Rejected steps of the reverse solve (Dopri5 only).
    pub rejected: usize,
}

/// log p_1(x_1) for every row of `x_1` (row-major `n * d`, d = `field.dim()`), by a reverse
/// solve from t = 1 to t = 0 of the augmented ODE of the module docs. `rng` draws the
/// Hutchinson probes (it is not used for the exact divergence).
pub fn log_likelihood<F: JvpField + ?Sized>(
    field: &mut F,
    x_1: &[f64],
    options: &LikelihoodOptions,
    rng: &mut Rng,
) -> Result<LogLikelihood> {
    let dim = field.dim();
    validate(x_1, dim, options.divergence)?;
    let n = x_1.len() / dim;

    let probes = draw_probes(options.divergence, x_1.len(), rng);
    let mut augmented = Augmented::new(field, probes);
    let state_1 = augment(x_1, dim);
    let solve_options = SolveOptions {
        solver: options.solver,
        grid: options.grid.clone(),
        record_times: Vec::new(),
    };
    let solution = solve(&mut augmented, &state_1, 1.0, 0.0, &solve_options)?;

    let mut x_0 = Vec::with_capacity(n * dim);
    let mut log_p_0 = Vec::with_capacity(n);
    let mut integrated_divergence = Vec::with_capacity(n);
    for row in solution.x.chunks(dim + 1) {
        x_0.extend_from_slice(&row[..dim]);
        log_p_0.push(log_standard_normal(&row[..dim]));
        integrated_divergence.push(row[dim]);
    }
    let log_p_1: Vec<f64> =
        log_p_0.iter().zip(&integrated_divergence).map(|(log_p, div)| log_p - div).collect();
    if let Some(i) = log_p_1.iter().position(|value| !value.is_finite()) {
        let context = format!("log-likelihood of point {i}");
        return Err(Error::NonFinite { context });
    }

    let jvps = augmented.jvps;
    Ok(LogLikelihood {
        log_p_1,
        x_0,
        log_p_0,
        integrated_divergence,
        nfe: solution.nfe,
        jvps,
        steps: solution.steps,
        rejected: solution.rejected,
    })
}

/// log N(x; 0, I) = -(d/2) log(2 pi) - |x|^2 / 2 for one point `x` of length d.
pub fn log_standard_normal(x: &[f64]) -> f64 {
    let squared_norm: f64 = x.iter().map(|x_i| x_i * x_i).sum();
    -0.5 * (x.len() as f64) * (2.0 * std::f64::consts::PI).ln() - 0.5 * squared_norm
}

/// Checks the field dimension, the data length and the probe count.
fn validate(x_1: &[f64], dim: usize, divergence: Divergence) -> Result<()> {
    if dim == 0 {
        return Err(Error::setting("field dimension", dim, "must be at least 1"));
    }
    if x_1.len() % dim != 0 {
        let reason = format!("must be a multiple of the field dimension d = {dim}");
        return Err(Error::setting("data length", x_1.len(), reason));
    }
    if let Divergence::Hutchinson { probes: 0, .. } = divergence {
        return Err(Error::setting("probes", 0, "Hutchinson needs at least one probe"));
    }
    Ok(())
}

/// The Hutchinson probes, k vectors of `len = n * d` values; none for the exact divergence.
fn draw_probes(divergence: Divergence, len: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let Divergence::Hutchinson { probes, probe } = divergence else {
        return Vec::new();
    };
    let draw = |rng: &mut Rng| -> f64 {
        match probe {
            Probe::Rademacher => {
                if rng.random::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            }
            Probe::Gaussian => rng.sample(StandardNormal),
        }
    };
    (0..probes).map(|_| (0..len).map(|_| draw(rng)).collect()).collect()
}

/// Rows [x_i, 0] of the augmented initial state.
fn augment(x: &[f64], dim: usize) -> Vec<f64> {
    let mut state = Vec::with_capacity(x.len() / dim * (dim + 1));
    for row in x.chunks(dim) {
        state.extend_from_slice(row);
        state.push(0.0);
    }
    state
}

/// The augmented field (v(x, t), -div v(x, t)) on rows [x, l].
struct Augmented<'a, F: ?Sized> {
    field: &'a mut F,
    /// Hutchinson probes, each `n * d`; empty for the exact divergence.
    probes: Vec<Vec<f64>>,
    x: Vec<f64>,
    v: Vec<f64>,
    dv: Vec<f64>,
    tangent: Vec<f64>,
    divergence: Vec<f64>,
    jvps: usize,
}

impl<'a, F: JvpField + ?Sized> Augmented<'a, F> {
    fn new(field: &'a mut F, probes: Vec<Vec<f64>>) -> Self {
        Augmented {
            field,
            probes,
            x: Vec::new(),
            v: Vec::new(),
            dv: Vec::new(),
            tangent: Vec::new(),
            divergence: Vec::new(),
            jvps: 0,
        }
    }

    /// div v at every row of `self.x` with d unit tangents; also fills `self.v`.
    fn exact_divergence(&mut self, t: f64) {
        let dim = self.field.dim();
        for j in 0..dim {
            for (p, tangent_p) in self.tangent.iter_mut().enumerate() {
                *tangent_p = if p % dim == j { 1.0 } else { 0.0 };
            }
            self.field.eval_jvp(t, &self.x, &self.tangent, &mut self.v, &mut self.dv);
            for (div_i, dv_row) in self.divergence.iter_mut().zip(self.dv.chunks(dim)) {
                *div_i += dv_row[j];
            }
        }
        self.jvps += dim;
    }

    /// The mean of eps^T J eps over the fixed probes at every row; also fills `self.v`.
    fn hutchinson_divergence(&mut self, t: f64) {
        let dim = self.field.dim();
        for probe in &self.probes {
            self.field.eval_jvp(t, &self.x, probe, &mut self.v, &mut self.dv);
            let rows = probe.chunks(dim).zip(self.dv.chunks(dim));
            for (div_i, (eps, j_eps)) in self.divergence.iter_mut().zip(rows) {
                *div_i += eps.iter().zip(j_eps).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        let k = self.probes.len() as f64;
        self.divergence.iter_mut().for_each(|div_i| *div_i /= k);
        self.jvps += self.probes.len();
    }
}

impl<F: JvpField + ?Sized> VelocityField for Augmented<'_, F> {
    fn dim(&self) -> usize {
        self.field.dim() + 1
    }

    fn eval(&mut self, t: f64, state: &[f64], out: &mut [f64]) {
        let dim = self.field.dim();
        let n = state.len() / (dim + 1);
        self.x.clear();
        for row in state.chunks(dim + 1) {
            self.x.extend_from_slice(&row[..dim]);
        }
        for buffer in [&mut self.v, &mut self.dv, &mut self.tangent] {
            buffer.resize(n * dim, 0.0);
        }
        self.divergence.clear();
        self.divergence.resize(n, 0.0);

        if self.probes.is_empty() {
            self.exact_divergence(t);
        } else {
            self.hutchinson_divergence(t);
        }

        let rows = self.v.chunks(dim).zip(&self.divergence);
        for (out_row, (v_row, div_i)) in out.chunks_mut(dim + 1).zip(rows) {
            out_row[..dim].copy_from_slice(v_row);
            out_row[dim] = -div_i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Stream};

    #[test]
    fn standard_normal_log_density_matches_its_formula() {
        let value = log_standard_normal(&[0.3, -1.2]);
        let expected = -(2.0 * std::f64::consts::PI).ln() - 0.5 * (0.09 + 1.44);
        assert!((value - expected).abs() < 1e-15);
    }

    #[test]
    fn probes_have_the_requested_distribution() {
        let mut rng = stream(3, Stream::Probe);
        let rademacher = draw_probes(
            Divergence::Hutchinson { probes: 2, probe: Probe::Rademacher },
            5000,
            &mut rng,
        );
        assert_eq!(rademacher.len(), 2);
        assert!(rademacher.iter().flatten().all(|&e| e == 1.0 || e == -1.0));
        let mean: f64 = rademacher[0].iter().sum::<f64>() / 5000.0;
        assert!(mean.abs() < 0.06, "{mean}");

        let gaussian = draw_probes(
            Divergence::Hutchinson { probes: 1, probe: Probe::Gaussian },
            20000,
            &mut rng,
        );
        let second_moment: f64 = gaussian[0].iter().map(|e| e * e).sum::<f64>() / 20000.0;
        assert!((second_moment - 1.0).abs() < 0.05, "{second_moment}");
        assert!(draw_probes(Divergence::Exact, 10, &mut rng).is_empty());
    }

    #[test]
    fn probe_names_round_trip() {
        for probe in [Probe::Rademacher, Probe::Gaussian] {
            assert_eq!(probe.to_string().parse::<Probe>().unwrap(), probe);
        }
        assert!("normal".parse::<Probe>().is_err());
    }
}
