//! Adaptive Dormand-Prince 5(4) with first-same-as-last stages, Hairer's initial step and a PI
//! step-size controller.
//!
//! One attempted step from t with step h evaluates stages k_2..k_7 (k_1 is the last stage of the
//! previous accepted step, evaluated at the new state and time), so a solve costs
//! `2 + 6 * (accepted + rejected)` evaluations: the first k_1 and one probe for the initial step.

use super::field::Counted;
use super::options::Snapshot;
use super::{stage_time, VelocityField};
use crate::{Error, Result};

/// Stage times c_i as fractions of the step.
const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];

/// Stage coefficients a_ij (row i uses k_1..k_i); the last row is the fifth-order solution.
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
];

/// Weights of the embedded fourth-order solution.
#[cfg(test)]
const B_HAT: [f64; 7] = [
    5179.0 / 57600.0,
    0.0,
    7571.0 / 16695.0,
    393.0 / 640.0,
    -92097.0 / 339200.0,
    187.0 / 2100.0,
    1.0 / 40.0,
];

/// Error weights e_i = b_i - b_hat_i: the local error estimate is h sum_i e_i k_i.
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// The controller aims at an error norm of SAFETY rather than 1.
const SAFETY: f64 = 0.9;
/// A step never shrinks by more than this factor at once.
const MIN_FACTOR: f64 = 0.2;
/// A step never grows by more than this factor at once.
const MAX_FACTOR: f64 = 10.0;
/// PI controller exponents (Hairer, Norsett and Wanner, with beta = 0.04):
/// h_new = h * SAFETY * err^(-ALPHA) * err_prev^BETA.
const BETA: f64 = 0.04;
const ALPHA: f64 = 0.2 - 0.75 * BETA;
/// Smallest previous error the PI controller uses, so one tiny error does not blow the step up.
const MIN_ERR_PREV: f64 = 1e-4;

/// Tolerances and cap of one adaptive solve, already validated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub rtol: f64,
    pub atol: f64,
    pub max_steps: usize,
}

/// Accepted and rejected step counts.
pub(crate) struct Counts {
    pub accepted: usize,
    pub rejected: usize,
}

/// Stage buffers, each `n * d`.
struct Stages {
    k: [Vec<f64>; 7],
    stage: Vec<f64>,
    x_new: Vec<f64>,
    dim: usize,
    settings: Settings,
}

/// Integrates `x` in place from t0 to t1, landing exactly on every record time and on t1.
/// Snapshots at the record times are appended to `trajectory`.
pub(crate) fn integrate<F: VelocityField + ?Sized>(
    field: &mut Counted<F>,
    settings: Settings,
    t0: f64,
    t1: f64,
    record_times: &[f64],
    x: &mut [f64],
    trajectory: &mut Vec<Snapshot>,
) -> Result<Counts> {
    let dim = field.dim();
    let len = x.len();
    let mut s = Stages {
        k: std::array::from_fn(|_| vec![0.0; len]),
        stage: vec![0.0; len],
        x_new: vec![0.0; len],
        dim,
        settings,
    };
    if !field.eval(t0, x, &mut s.k[0]) {
        let context = format!("velocity field at the initial time t0 = {t0}");
        return Err(Error::NonFinite { context });
    }
    let mut h = s.initial_step(field, t0, t1, x);

    let mut stops: Vec<(f64, bool)> = record_times.iter().map(|&t| (t, true)).collect();
    if stops.last().map(|&(t, _)| t) != Some(t1) {
        stops.push((t1, false));
    }
    let direction = (t1 - t0).signum();
    let mut t = t0;
    let mut counts = Counts { accepted: 0, rejected: 0 };
    let mut err_prev = MIN_ERR_PREV;
    let mut last_rejected = false;
    for (stop, record) in stops {
        while t != stop {
            if counts.accepted + counts.rejected >= settings.max_steps {
                return Err(Error::StepLimit { max_steps: settings.max_steps, t });
            }
            let remaining = (stop - t).abs();
            let lands = 1.01 * h >= remaining;
            let h_try = if lands { remaining } else { h };
            let t_new = if lands { stop } else { t + direction * h };

            let err = s.attempt(field, t, t_new, x);
            if err <= 1.0 {
                x.copy_from_slice(&s.x_new);
                s.k.swap(0, 6);
                t = t_new;
                counts.accepted += 1;

                let mut factor = accept_factor(err, err_prev);
                if last_rejected {
                    factor = factor.min(1.0);
                }
                let clipped = h_try < h;
                h = if clipped && factor >= 1.0 { h.max(h_try * factor) } else { h_try * factor };
                err_prev = err.max(MIN_ERR_PREV);
                last_rejected = false;
            } else {
                counts.rejected += 1;
                h = h_try * reject_factor(err);
                last_rejected = true;
            }
        }
        if record {
            trajectory.push(Snapshot { t: stop, x: x.to_vec() });
        }
    }
    Ok(counts)
}

/// Step growth after an accepted step with error norm `err`: the PI controller, bounded.
fn accept_factor(err: f64, err_prev: f64) -> f64 {
    if err == 0.0 {
        return MAX_FACTOR;
    }
    (SAFETY * err.powf(-ALPHA) * err_prev.powf(BETA)).clamp(MIN_FACTOR, MAX_FACTOR)
}

/// Step shrinkage after a rejected step; a non-finite error shrinks by the most allowed.
fn reject_factor(err: f64) -> f64 {
    if !err.is_finite() {
        return MIN_FACTOR;
    }
    (SAFETY * err.powf(-0.2)).clamp(MIN_FACTOR, 1.0)
}

impl Stages {
    /// One attempted step from (t, x) to t_new with k[0] = v(x, t) already known: fills
    /// `x_new` and k[1..7] and returns the error norm, infinite if any stage was not finite.
    fn attempt<F: VelocityField + ?Sized>(
        &mut self,
        field: &mut Counted<F>,
        t: f64,
        t_new: f64,
        x: &[f64],
    ) -> f64 {
        let h = t_new - t;
        let mut finite = true;
        for i in 1..7 {
            let (done, rest) = self.k.split_at_mut(i);
            let out = if i == 6 { &mut self.x_new } else { &mut self.stage };
            for (p, out_p) in out.iter_mut().enumerate() {
                let increment: f64 = (0..i).map(|j| A[i][j] * done[j][p]).sum();
                *out_p = x[p] + h * increment;
            }
            let input = if i == 6 { &self.x_new } else { &self.stage };
            finite &= field.eval(stage_time(t, t_new, C[i]), input, &mut rest[0]);
        }
        if !finite {
            return f64::INFINITY;
        }
        self.error_norm(h, x)
    }

    /// max over points of sqrt(mean over the d components of (err_i / scale_i)^2), with
    /// err = h sum_j e_j k_j and scale_i = atol + rtol max(|x_i|, |x_new_i|).
    fn error_norm(&self, h: f64, x: &[f64]) -> f64 {
        let Settings { rtol, atol, .. } = self.settings;
        let mut norm: f64 = 0.0;
        for (row, x_row) in x.chunks(self.dim).enumerate() {
            let mut sum_sq = 0.0;
            for (j, x_i) in x_row.iter().enumerate() {
                let p = row * self.dim + j;
                let err: f64 = h * (0..7).map(|s| E[s] * self.k[s][p]).sum::<f64>();
                let scale = atol + rtol * x_i.abs().max(self.x_new[p].abs());
                sum_sq += (err / scale).powi(2);
            }
            let point = (sum_sq / self.dim as f64).sqrt();
            if !point.is_finite() {
                return f64::INFINITY;
            }
            norm = norm.max(point);
        }
        norm
    }

    /// Hairer's starting step: h0 = 0.01 |x0| / |f0| in the scaled norm, refined with one
    /// explicit Euler probe to h1 = (0.01 / max(|f0|, |f1 - f0| / h0))^(1/5), then
    /// min(100 h0, h1, |t1 - t0|). Uses k[0] = v(x0, t0) and one more evaluation.
    fn initial_step<F: VelocityField + ?Sized>(
        &mut self,
        field: &mut Counted<F>,
        t0: f64,
        t1: f64,
        x: &[f64],
    ) -> f64 {
        let span = (t1 - t0).abs();
        let Settings { rtol, atol, .. } = self.settings;
        let scale: Vec<f64> = x.iter().map(|x_i| atol + rtol * x_i.abs()).collect();
        let d0 = self.scaled_norm(x, &scale);
        let d1 = self.scaled_norm(&self.k[0], &scale);
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 }.min(span);

        let t_probe = stage_time(t0, t1, h0 / span);
        let h_signed = t_probe - t0;
        for ((probe, x_i), f_i) in self.stage.iter_mut().zip(x).zip(&self.k[0]) {
            *probe = x_i + h_signed * f_i;
        }
        if !field.eval(t_probe, &self.stage, &mut self.k[1]) {
            return h0;
        }
        let change: Vec<f64> = self.k[1].iter().zip(&self.k[0]).map(|(f1, f0)| f1 - f0).collect();
        let d2 = self.scaled_norm(&change, &scale) / h0;

        let largest = d1.max(d2);
        let h1 = if largest <= 1e-15 { (h0 * 1e-3).max(1e-6) } else { (0.01 / largest).powf(0.2) };
        (100.0 * h0).min(h1).min(span)
    }

    /// The error norm's shape applied to `values / scale`: the largest per-point RMS.
    fn scaled_norm(&self, values: &[f64], scale: &[f64]) -> f64 {
        let mut norm: f64 = 0.0;
        for (row, scale_row) in values.chunks(self.dim).zip(scale.chunks(self.dim)) {
            let sum_sq: f64 = row.iter().zip(scale_row).map(|(v, s)| (v / s).powi(2)).sum();
            norm = norm.max((sum_sq / self.dim as f64).sqrt());
        }
        norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// b_i of the fifth-order solution, which is the last row of A.
    const B: [f64; 7] = [A[6][0], A[6][1], A[6][2], A[6][3], A[6][4], A[6][5], 0.0];

    fn dot(a: &[f64], b: impl Fn(usize) -> f64) -> f64 {
        a.iter().enumerate().map(|(i, a_i)| a_i * b(i)).sum()
    }

    #[test]
    fn rows_of_a_sum_to_the_stage_times() {
        for i in 0..7 {
            let row: f64 = A[i].iter().sum();
            assert!((row - C[i]).abs() < 1e-14, "row {i}: {row} vs {}", C[i]);
        }
    }

    #[test]
    fn fifth_order_weights_satisfy_the_quadrature_conditions() {
        for q in 0..5i32 {
            let integral = dot(&B, |i| C[i].powi(q));
            assert!((integral - 1.0 / (q as f64 + 1.0)).abs() < 1e-14, "q = {q}: {integral}");
        }
        for q in 0..4i32 {
            let integral = dot(&B_HAT, |i| C[i].powi(q));
            assert!((integral - 1.0 / (q as f64 + 1.0)).abs() < 1e-14, "hat, q = {q}");
        }
    }

    #[test]
    fn error_weights_are_the_difference_of_the_two_solutions() {
        for i in 0..7 {
            assert!((E[i] - (B[i] - B_HAT[i])).abs() < 1e-16, "e_{i}");
        }
    }

    #[test]
    fn tree_conditions_of_order_four_hold() {
        let ac = |i: usize| dot(&A[i], |j| C[j]);
        let ac2 = |i: usize| dot(&A[i], |j| C[j] * C[j]);
        let aac = |i: usize| dot(&A[i], ac);
        assert!((dot(&B, ac) - 1.0 / 6.0).abs() < 1e-14);
        assert!((dot(&B, |i| C[i] * ac(i)) - 1.0 / 8.0).abs() < 1e-14);
        assert!((dot(&B, ac2) - 1.0 / 12.0).abs() < 1e-14);
        assert!((dot(&B, aac) - 1.0 / 24.0).abs() < 1e-14);
    }

    #[test]
    fn tree_conditions_of_order_five_hold() {
        let ac = |i: usize| dot(&A[i], |j| C[j]);
        let ac2 = |i: usize| dot(&A[i], |j| C[j].powi(2));
        let ac3 = |i: usize| dot(&A[i], |j| C[j].powi(3));
        let aac = |i: usize| dot(&A[i], ac);
        let aac2 = |i: usize| dot(&A[i], ac2);
        let a_cac = |i: usize| dot(&A[i], |j| C[j] * ac(j));
        let aaac = |i: usize| dot(&A[i], aac);
        let conditions = [
            (dot(&B, |i| C[i].powi(2) * ac(i)), 1.0 / 10.0),
            (dot(&B, |i| C[i] * ac2(i)), 1.0 / 15.0),
            (dot(&B, |i| C[i] * aac(i)), 1.0 / 30.0),
            (dot(&B, |i| ac(i).powi(2)), 1.0 / 20.0),
            (dot(&B, ac3), 1.0 / 20.0),
            (dot(&B, a_cac), 1.0 / 40.0),
            (dot(&B, aac2), 1.0 / 60.0),
            (dot(&B, aaac), 1.0 / 120.0),
        ];
        for (k, (value, expected)) in conditions.into_iter().enumerate() {
            assert!((value - expected).abs() < 1e-14, "condition {k}: {value} vs {expected}");
        }
    }

    #[test]
    fn controller_factors_are_bounded() {
        assert_eq!(accept_factor(0.0, 1.0), MAX_FACTOR);
        assert!(accept_factor(1.0, 1.0) < 1.0);
        assert_eq!(accept_factor(1e-30, 1.0), MAX_FACTOR);
        assert_eq!(reject_factor(f64::NAN), MIN_FACTOR);
        assert_eq!(reject_factor(1e30), MIN_FACTOR);
        assert!(reject_factor(1.5) < 1.0 && reject_factor(1.5) > MIN_FACTOR);
    }
}
