//! Fixed-step explicit Runge-Kutta solvers: Euler, midpoint, Heun and classic RK4.
//!
//! One step from t to t_next = t + h evaluates the field exactly `Solver::evals_per_step` times,
//! never outside [t, t_next], and the last stage of Heun and RK4 is evaluated at t_next itself.

use super::field::Counted;
use super::grid::Grid;
use super::options::{Snapshot, Solver};
use super::{stage_time, VelocityField};
use crate::{Error, Result};

/// Buffers for the stages of one step, each `n * d`.
struct Workspace {
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    k4: Vec<f64>,
    stage: Vec<f64>,
}

/// Integrates `x` in place along `grid` with a fixed-step `solver`; returns the number of steps.
/// Snapshots of the recorded grid times are appended to `trajectory`.
pub(crate) fn integrate<F: VelocityField + ?Sized>(
    field: &mut Counted<F>,
    solver: Solver,
    grid: &Grid,
    x: &mut [f64],
    trajectory: &mut Vec<Snapshot>,
) -> Result<usize> {
    let len = x.len();
    let mut ws = Workspace {
        k1: vec![0.0; len],
        k2: vec![0.0; len],
        k3: vec![0.0; len],
        k4: vec![0.0; len],
        stage: vec![0.0; len],
    };
    if grid.record[0] {
        trajectory.push(Snapshot { t: grid.times[0], x: x.to_vec() });
    }

    let steps = grid.times.len() - 1;
    for k in 0..steps {
        let (t, t_next) = (grid.times[k], grid.times[k + 1]);
        let finite = match solver {
            Solver::Euler => euler(field, &mut ws, t, t_next, x),
            Solver::Midpoint => midpoint(field, &mut ws, t, t_next, x),
            Solver::Heun => heun(field, &mut ws, t, t_next, x),
            Solver::Rk4 => rk4(field, &mut ws, t, t_next, x),
            Solver::Dopri5 { .. } => unreachable!("dopri5 is not a fixed-step solver"),
        };
        if !finite {
            let context = format!(
                "velocity field during {solver} step {} of {steps}, from t = {t} to t = {t_next}",
                k + 1
            );
            return Err(Error::NonFinite { context });
        }
        if grid.record[k + 1] {
            trajectory.push(Snapshot { t: t_next, x: x.to_vec() });
        }
    }
    Ok(steps)
}

/// x <- x + h v(x, t).
fn euler<F: VelocityField + ?Sized>(
    field: &mut Counted<F>,
    ws: &mut Workspace,
    t: f64,
    t_next: f64,
    x: &mut [f64],
) -> bool {
    let h = t_next - t;
    let finite = field.eval(t, x, &mut ws.k1);

    add_scaled(x, h, &ws.k1);
    finite
}

/// x <- x + h v(x + h/2 v(x, t), t + h/2).
fn midpoint<F: VelocityField + ?Sized>(
    field: &mut Counted<F>,
    ws: &mut Workspace,
    t: f64,
    t_next: f64,
    x: &mut [f64],
) -> bool {
    let h = t_next - t;
    let mut finite = field.eval(t, x, &mut ws.k1);
    offset(&mut ws.stage, x, 0.5 * h, &ws.k1);
    finite &= field.eval(stage_time(t, t_next, 0.5), &ws.stage, &mut ws.k2);

    add_scaled(x, h, &ws.k2);
    finite
}

/// Predictor x + h v(x, t), corrector x <- x + h/2 (v(x, t) + v(predictor, t + h)).
fn heun<F: VelocityField + ?Sized>(
    field: &mut Counted<F>,
    ws: &mut Workspace,
    t: f64,
    t_next: f64,
    x: &mut [f64],
) -> bool {
    let h = t_next - t;
    let mut finite = field.eval(t, x, &mut ws.k1);
    offset(&mut ws.stage, x, h, &ws.k1);
    finite &= field.eval(t_next, &ws.stage, &mut ws.k2);

    for ((x_i, k1_i), k2_i) in x.iter_mut().zip(&ws.k1).zip(&ws.k2) {
        *x_i += 0.5 * h * (k1_i + k2_i);
    }
    finite
}

/// Classic RK4: k1 at t, k2 and k3 at t + h/2, k4 at t + h; x <- x + h (k1 + 2 k2 + 2 k3 + k4)/6.
fn rk4<F: VelocityField + ?Sized>(
    field: &mut Counted<F>,
    ws: &mut Workspace,
    t: f64,
    t_next: f64,
    x: &mut [f64],
) -> bool {
    let h = t_next - t;
    let t_mid = stage_time(t, t_next, 0.5);
    let mut finite = field.eval(t, x, &mut ws.k1);
    offset(&mut ws.stage, x, 0.5 * h, &ws.k1);
    finite &= field.eval(t_mid, &ws.stage, &mut ws.k2);
    offset(&mut ws.stage, x, 0.5 * h, &ws.k2);
    finite &= field.eval(t_mid, &ws.stage, &mut ws.k3);
    offset(&mut ws.stage, x, h, &ws.k3);
    finite &= field.eval(t_next, &ws.stage, &mut ws.k4);

    let parts = ws.k1.iter().zip(&ws.k2).zip(&ws.k3).zip(&ws.k4);
    for (x_i, (((k1_i, k2_i), k3_i), k4_i)) in x.iter_mut().zip(parts) {
        *x_i += h * (k1_i + 2.0 * k2_i + 2.0 * k3_i + k4_i) / 6.0;
    }
    finite
}

/// out <- x + h k.
fn offset(out: &mut [f64], x: &[f64], h: f64, k: &[f64]) {
    for ((out_i, x_i), k_i) in out.iter_mut().zip(x).zip(k) {
        *out_i = x_i + h * k_i;
    }
}

/// x <- x + h k.
fn add_scaled(x: &mut [f64], h: f64, k: &[f64]) {
    for (x_i, k_i) in x.iter_mut().zip(k) {
        *x_i += h * k_i;
    }
}
