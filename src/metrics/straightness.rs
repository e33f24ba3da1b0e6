//! Straightness of a flow: how far its ODE trajectories are from straight lines.
//!
//! A flow whose trajectories are straight lines travelled at constant speed is solved exactly by
//! a single Euler step; the more they bend or change speed, the more steps a solver needs. This
//! module measures that, for any [`VelocityField`], so that probability paths can be compared by
//! the flows they teach rather than by their losses.
//!
//! # Definition
//!
//! Integrate dx/dt = v(x, t) from x(0) = x_0 (noise, t = 0) to t = 1 (data) and let
//! Δ = x(1) - x(0) be each point's displacement. The straightness (Liu et al.'s rectified flow
//! uses the same quantity) is
//!
//! ```text
//! S = ∫_0^1 E ||Δ - v(x(t), t)||^2 dt          (||.|| Euclidean over the d coordinates,
//!                                                E the mean over the points x_0)
//! ```
//!
//! S >= 0, and S = 0 exactly when every trajectory moves at constant velocity. Because
//! ∫_0^1 v(x(t), t) dt = Δ along an exact trajectory, S = ∫_0^1 E ||v||^2 dt - E ||Δ||^2: the
//! kinetic energy spent beyond the minimum a straight, constant-speed path needs. The
//! dimensionless relative straightness S / E ||Δ||^2 does not change when space is rescaled.
//! [`Straightness::profile`] keeps the integrand E ||Δ - v(x(t_k), t_k)||^2 at every grid time,
//! which shows *when* the flow bends.
//!
//! # Computation and accuracy
//!
//! RK4 on N uniform steps (N even) records x(t_k) at every grid time t_k = k / N for free; one
//! more evaluation of the field per grid time gives v(x(t_k), t_k), and composite Simpson's rule
//! integrates the profile. Both RK4 and Simpson have errors O(N^-4), so N = 100 is ample for a
//! smooth learned field. A solve costs 4 N + N + 1 evaluations of the whole batch.
//!
//! Units are those of the field: for a [`crate::flow::Flow`] pass its `field()`, which works in
//! the standardised coordinates the network was trained in (the identity for built-in targets).

use crate::solve::{solve, Solution, SolveOptions, Solver, VelocityField};
use crate::{Error, Result};

/// The straightness of a flow on a batch of starting points, with the solve that measured it.
#[derive(Debug, Clone, PartialEq)]
pub struct Straightness {
    /// S = ∫_0^1 E ||Δ - v(x(t), t)||^2 dt, by Simpson's rule on the grid.
    pub s: f64,
    /// E ||Δ||^2, the mean squared displacement from t = 0 to t = 1.
    pub displacement_sq: f64,
    /// S / E ||Δ||^2, or `None` when no point moves (E ||Δ||^2 = 0).
    pub relative: Option<f64>,
    /// The grid times t_k = k / N, k = 0..=N.
    pub times: Vec<f64>,
    /// E ||Δ - v(x(t_k), t_k)||^2 at each grid time.
    pub profile: Vec<f64>,
    /// The RK4 solve: `x` is x(1), `trajectory` holds x(t_k) at every grid time, `nfe` counts
    /// the solve's evaluations only.
    pub solution: Solution,
    /// Field evaluations in all: the solve's 4 N plus N + 1 for the profile.
    pub nfe: usize,
}

/// Measures the straightness of `field` on the starting points `x_0` (row-major `n * d`, with
/// d = `field.dim()`) with RK4 and Simpson's rule on `steps` uniform steps.
///
/// Errors: [`Error::InvalidSetting`] when `steps` is odd or zero (Simpson's rule needs an even
/// number of intervals) or `x_0` holds no point, and every error of [`solve`];
/// [`Error::NonFinite`] when the field returns a NaN or an infinity.
///
/// ```
/// use flowmatching::metrics::straightness::straightness;
/// use flowmatching::solve::FnField;
///
/// // v(x, t) = 2 t moves every point by 1 but not at constant speed: S = ∫ (1 - 2t)^2 dt = 1/3.
/// let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(2.0 * t));
/// let result = straightness(&mut field, &[0.0, 5.0], 10)?;
/// assert!((result.s - 1.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), flowmatching::Error>(())
/// ```
pub fn straightness<F: VelocityField + ?Sized>(
    field: &mut F,
    x_0: &[f64],
    steps: usize,
) -> Result<Straightness> {
    check_settings(field.dim(), x_0, steps)?;

    let times: Vec<f64> = (0..=steps).map(|k| k as f64 / steps as f64).collect();
    let options = SolveOptions::new(Solver::Rk4, steps).with_record_times(times.clone());
    let solution = solve(field, x_0, 0.0, 1.0, &options)?;

    let displacement: Vec<f64> = solution.x.iter().zip(x_0).map(|(x_1, x_0)| x_1 - x_0).collect();
    let n = (x_0.len() / field.dim()) as f64;
    let displacement_sq = displacement.iter().map(|d| d * d).sum::<f64>() / n;

    let mut v = vec![0.0; x_0.len()];
    let mut profile = Vec::with_capacity(times.len());
    for snapshot in &solution.trajectory {
        field.eval(snapshot.t, &snapshot.x, &mut v);
        let deviation: f64 = displacement.iter().zip(&v).map(|(d, v)| (d - v) * (d - v)).sum();
        if !deviation.is_finite() {
            let context =
                format!("straightness: velocity along the trajectory at t = {}", snapshot.t);
            return Err(Error::NonFinite { context });
        }
        profile.push(deviation / n);
    }

    let s = simpson(&profile, 1.0 / steps as f64);
    let relative = (displacement_sq > 0.0).then(|| s / displacement_sq);
    let nfe = solution.nfe + times.len();
    Ok(Straightness { s, displacement_sq, relative, times, profile, solution, nfe })
}

/// Checks the step count (even, at least 2) and that `x_0` holds at least one point.
fn check_settings(dim: usize, x_0: &[f64], steps: usize) -> Result<()> {
    if steps == 0 || steps % 2 != 0 {
        let reason = "must be even and at least 2 (Simpson's rule pairs the intervals)";
        return Err(Error::setting("straightness steps", steps, reason));
    }
    if x_0.is_empty() || dim == 0 {
        return Err(Error::setting("straightness points", 0, "need at least one point"));
    }
    Ok(())
}

/// Composite Simpson's rule for samples `f` on a uniform grid of spacing `h` and an even number
/// of intervals: (h / 3) (f_0 + 4 f_1 + 2 f_2 + 4 f_3 + ... + 4 f_{N-1} + f_N).
fn simpson(f: &[f64], h: f64) -> f64 {
    let last = f.len() - 1;
    let inner: f64 = (1..last).map(|k| if k % 2 == 1 { 4.0 * f[k] } else { 2.0 * f[k] }).sum();
    h / 3.0 * (f[0] + inner + f[last])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::FnField;

    /// Starting points used by the x-independent fields (any values will do).
    const X_0: [f64; 4] = [-1.5, 0.0, 0.25, 3.0];

    #[test]
    fn a_constant_field_is_perfectly_straight() {
        let mut field = FnField::new(2, |_t: f64, _x: &[f64], v: &mut [f64]| {
            for v_i in v.chunks_mut(2) {
                v_i.copy_from_slice(&[1.5, -0.5]);
            }
        });
        let result = straightness(&mut field, &X_0, 8).unwrap();
        assert!(result.s.abs() < 1e-24, "{}", result.s);
        assert!((result.displacement_sq - 2.5).abs() < 1e-12);
        assert_eq!(result.relative, Some(result.s / result.displacement_sq));
        assert!(result.profile.iter().all(|p| p.abs() < 1e-24));
    }

    #[test]
    fn speeding_up_in_a_straight_line_is_not_straight() {
        // v = 2t: Δ = 1 and S = ∫ (1 - 2t)^2 dt = 1/3, exact for Simpson (quadratic integrand).
        let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(2.0 * t));
        let result = straightness(&mut field, &X_0, 4).unwrap();
        assert!((result.s - 1.0 / 3.0).abs() < 1e-14, "{}", result.s);
        assert!((result.displacement_sq - 1.0).abs() < 1e-14);
        assert!((result.relative.unwrap() - 1.0 / 3.0).abs() < 1e-14);
        for (t, p) in result.times.iter().zip(&result.profile) {
            assert!((p - (1.0 - 2.0 * t).powi(2)).abs() < 1e-13, "t = {t}: {p}");
        }
    }

    #[test]
    fn cubic_speed_profile_matches_its_integral() {
        // v = 3t^2: Δ = 1 and S = ∫ (1 - 3t^2)^2 dt = 1 - 2 + 9/5 = 4/5. Simpson's error on a
        // quartic is (1/180) h^4 max |f''''| = 216 / 180 h^4, so 1e-6 at N = 40 is generous.
        let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(3.0 * t * t));
        let result = straightness(&mut field, &X_0, 40).unwrap();
        assert!((result.s - 0.8).abs() < 1e-6, "{}", result.s);
    }

    #[test]
    fn exponential_growth_matches_the_closed_form() {
        // v = a x: x(t) = x_0 e^{at}, Δ = x_0 c with c = e^a - 1, and
        // S = E x_0^2 ∫ (c - a e^{at})^2 dt = E x_0^2 (a (e^{2a} - 1) / 2 - c^2).
        let a = 1.0f64;
        let mut field = FnField::new(1, move |_t: f64, x: &[f64], v: &mut [f64]| {
            for (v_i, x_i) in v.iter_mut().zip(x) {
                *v_i = a * x_i;
            }
        });
        let result = straightness(&mut field, &X_0, 100).unwrap();
        let mean_sq = X_0.iter().map(|x| x * x).sum::<f64>() / X_0.len() as f64;
        let c = a.exp() - 1.0;
        let expected = mean_sq * (a * ((2.0 * a).exp() - 1.0) / 2.0 - c * c);
        assert!((result.s - expected).abs() < 1e-7 * expected, "{} vs {expected}", result.s);
        assert!((result.displacement_sq - mean_sq * c * c).abs() < 1e-8);
    }

    #[test]
    fn a_rotation_bends_by_the_cosine_of_its_angle() {
        // v = (-x_2, x_1) turns every point by 1 radian at constant speed |x_0|. With
        // ∫ v dt = Δ and ||Δ||^2 = 2 (1 - cos 1) |x_0|^2, S = |x_0|^2 (2 cos 1 - 1).
        let mut field = FnField::new(2, |_t: f64, x: &[f64], v: &mut [f64]| {
            for (x_i, v_i) in x.chunks(2).zip(v.chunks_mut(2)) {
                v_i[0] = -x_i[1];
                v_i[1] = x_i[0];
            }
        });
        let x_0 = [1.0, 0.0, 0.0, -2.0, 3.0, 4.0];
        let mean_sq = (1.0 + 4.0 + 25.0) / 3.0;
        let result = straightness(&mut field, &x_0, 100).unwrap();
        let expected = mean_sq * (2.0 * 1f64.cos() - 1.0);
        assert!((result.s - expected).abs() < 1e-8, "{} vs {expected}", result.s);
        let relative = (2.0 * 1f64.cos() - 1.0) / (2.0 * (1.0 - 1f64.cos()));
        assert!((result.relative.unwrap() - relative).abs() < 1e-8);
    }

    #[test]
    fn counts_the_solve_and_the_profile_evaluations() {
        let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(t));
        let result = straightness(&mut field, &X_0, 6).unwrap();
        assert_eq!(result.solution.nfe, 4 * 6);
        assert_eq!(result.nfe, 4 * 6 + 7);
        assert_eq!(result.times.len(), 7);
        assert_eq!(result.solution.trajectory.len(), 7);
        assert_eq!(result.solution.steps, 6, "record times on the grid add no step");
    }

    #[test]
    fn a_flow_that_does_not_move_has_no_relative_straightness() {
        let mut field = FnField::new(1, |_t: f64, _x: &[f64], v: &mut [f64]| v.fill(0.0));
        let result = straightness(&mut field, &X_0, 2).unwrap();
        assert_eq!(result.s, 0.0);
        assert_eq!(result.relative, None);
    }

    #[test]
    fn odd_or_zero_steps_and_empty_batches_are_rejected() {
        let mut field = FnField::new(1, |_t: f64, _x: &[f64], v: &mut [f64]| v.fill(1.0));
        for steps in [0, 1, 7] {
            let err = straightness(&mut field, &X_0, steps).unwrap_err();
            assert!(err.to_string().contains(&format!("= {steps}")), "{err}");
        }
        assert!(matches!(straightness(&mut field, &[], 4), Err(Error::InvalidSetting { .. })));
    }

    #[test]
    fn a_field_that_blows_up_is_reported() {
        // Finite along the RK4 stages but NaN exactly at t = 1 where the profile evaluates it.
        let mut calls = 0;
        let mut field = FnField::new(1, move |t: f64, _x: &[f64], v: &mut [f64]| {
            calls += 1;
            v.fill(if t == 1.0 && calls > 4 * 4 { f64::NAN } else { 1.0 });
        });
        let err = straightness(&mut field, &X_0, 4).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    }
}
