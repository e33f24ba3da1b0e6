//! Integrating dx/dt = v(x, t): fixed-step and adaptive ODE solvers.
//!
//! Time convention everywhere in flowmatching: t = 0 is noise, t = 1 is data. Sampling solves
//! forward from 0 to 1; encoding solves in reverse from 1 to 0. Both use the same code: the
//! step h = t_{k+1} - t_k is simply negative in reverse.
//!
//! A state is a batch of n points in d dimensions, stored row-major as `n * d` f64 values. All
//! rows share the same time, which lets the network compute its time embedding once per stage.
//!
//! # Solvers
//!
//! [`solve`] integrates from t0 to t1 with one of the [`Solver`]s:
//!
//! - **Fixed step** (Euler, midpoint, Heun, RK4) on a [`TimeGrid`]: either N uniform steps with
//!   t_k = t0 + (t1 - t0) k / N and the last time set to exactly t1, or an explicit, validated
//!   grid. N steps cost exactly N, 2N, 2N and 4N field evaluations. Every stage time lies within
//!   its step, and Heun and RK4 evaluate their last stage at t_{k+1} itself, so no evaluation
//!   falls outside [t0, t1].
//! - **Dopri5**, Dormand-Prince 5(4): the fifth-order solution is propagated and the embedded
//!   fourth-order one gives the local error estimate err = h sum_i (b_i - b_hat_i) k_i. The error
//!   norm of a step is
//!
//!   max over points p of sqrt( (1/d) sum_j (err_pj / (atol + rtol max(|x_pj|, |x_new_pj|)))^2 ),
//!
//!   the RMS over the d components of each point, then the worst point. The whole batch shares
//!   one step, and taking the worst point (rather than the RMS over all n d components) means
//!   every point's local error is within tolerance whatever the batch size: a batch is never
//!   less accurate than solving its points one by one. A step is accepted when the norm is at
//!   most 1. The step size follows a PI controller, h_new = h 0.9 err^-0.17 err_prev^0.04, bounded
//!   to [h/5, 10 h] (and not grown right after a rejection); a rejected step shrinks by
//!   max(1/5, 0.9 err^-1/5). The first step is Hairer's starting step. A step never crosses t1
//!   nor a record time: the last step is clipped to land on it exactly, so no evaluation falls
//!   outside [t0, t1]. Attempted steps (accepted plus rejected) are capped by `max_steps`,
//!   beyond which the solve fails with [`crate::Error::StepLimit`]. A solve costs
//!   `2 + 6 (accepted + rejected)` evaluations thanks to first-same-as-last stages.
//!
//! # Recording a trajectory
//!
//! [`SolveOptions::record_times`] asks for the state at given times, which are computed there
//! exactly, never interpolated. Fixed-step solvers merge them into the grid: a record time equal
//! to a grid time (or within 1e-12 |t1 - t0| of an interior one, which it then replaces) costs
//! nothing; any other splits the step it falls in, adding one step (and its evaluations) per
//! such time. Dopri5 clips its steps to land on them.
//!
//! # Non-finite values
//!
//! The initial state must be finite. A fixed-step solve fails with [`crate::Error::NonFinite`]
//! as soon as the field returns a NaN or an infinity (even in a stage whose value a later stage
//! could hide). Dopri5 treats a non-finite stage as a rejected step and shrinks h by 5, up to its
//! step cap; only a non-finite v(x_0, t0) fails at once. The final state is checked too.
//!
//! ```
//! use flowmatching::solve::{solve, FnField, SolveOptions, Solver};
//!
//! // Rotation at unit speed: after t = pi/2 the point (1, 0) has moved to (0, 1).
//! let mut field = FnField::new(2, |_t: f64, x: &[f64], v: &mut [f64]| {
//!     for (x_i, v_i) in x.chunks(2).zip(v.chunks_mut(2)) {
//!         v_i[0] = -x_i[1];
//!         v_i[1] = x_i[0];
//!     }
//! });
//! let solver = Solver::Dopri5 { rtol: 1e-8, atol: 1e-10, max_steps: 1000 };
//! let options = SolveOptions::new(solver, 0);
//! let solution = solve(&mut field, &[1.0, 0.0], 0.0, std::f64::consts::FRAC_PI_2, &options)?;
//! assert!(solution.x[0].abs() < 1e-7 && (solution.x[1] - 1.0).abs() < 1e-7);
//! assert_eq!(solution.nfe, 2 + 6 * (solution.steps + solution.rejected));
//! # Ok::<(), flowmatching::Error>(())
//! ```

mod dopri5;
mod field;
mod fixed;
mod grid;
mod options;

pub use field::{FnField, FnJvpField};
pub use options::{Snapshot, Solution, SolveOptions, Solver, TimeGrid, SOLVER_NAMES};

use crate::{Error, Result};
use field::Counted;

/// A time-dependent velocity field evaluated on a batch of points sharing one time `t`.
pub trait VelocityField {
    /// Dimension d of one point.
    fn dim(&self) -> usize;

    /// Writes `v(x_i, t)` into `v` for every row `x_i` of `x` (both `n * d`, row-major).
    fn eval(&mut self, t: f64, x: &[f64], v: &mut [f64]);
}

/// A velocity field that can also push a tangent through itself: the Jacobian-vector product
/// `dv = (dv/dx)(x, t) · dx`, row by row. Used for exact and Hutchinson divergences.
pub trait JvpField: VelocityField {
    /// Writes `v(x_i, t)` into `v` and `J(x_i, t) dx_i` into `dv` for every row.
    fn eval_jvp(&mut self, t: f64, x: &[f64], dx: &[f64], v: &mut [f64], dv: &mut [f64]);
}

/// Integrates dx/dt = v(x, t) for the batch `x_0` (row-major `n * d`, d = `field.dim()`) from
/// `t0` to `t1` (forward if t1 > t0, reverse if t1 < t0) as `options` say.
///
/// Errors: [`Error::InvalidSetting`] for a bad span, grid, record time, tolerance or state
/// length, and for an explicit grid given to Dopri5 (pass its times as record times instead);
/// [`Error::NonFinite`] for a non-finite initial state, field output (fixed-step) or final
/// state; [`Error::StepLimit`] when Dopri5 runs out of steps.
pub fn solve<F: VelocityField + ?Sized>(
    field: &mut F,
    x_0: &[f64],
    t0: f64,
    t1: f64,
    options: &SolveOptions,
) -> Result<Solution> {
    validate_state(x_0, field.dim())?;
    grid::validate_span(t0, t1)?;
    options.solver.validate()?;
    grid::validate_record_times(&options.record_times, t0, t1)?;

    let mut field = Counted::new(field);
    let mut x = x_0.to_vec();
    let mut trajectory = Vec::with_capacity(options.record_times.len());
    let (steps, rejected) = match options.solver {
        Solver::Dopri5 { rtol, atol, max_steps } => {
            if let TimeGrid::Explicit(_) = options.grid {
                let reason = "dopri5 picks its own steps; pass required times as record times";
                return Err(Error::setting("time grid", "an explicit grid", reason));
            }
            let settings = dopri5::Settings { rtol, atol, max_steps };
            let record = &options.record_times;
            let counts =
                dopri5::integrate(&mut field, settings, t0, t1, record, &mut x, &mut trajectory)?;
            (counts.accepted, counts.rejected)
        }
        fixed_step => {
            let times = match &options.grid {
                TimeGrid::Uniform { steps } => grid::uniform(t0, t1, *steps)?,
                TimeGrid::Explicit(times) => {
                    grid::validate_explicit(times, t0, t1)?;
                    times.clone()
                }
            };
            let grid = grid::merge(times, &options.record_times);
            (fixed::integrate(&mut field, fixed_step, &grid, &mut x, &mut trajectory)?, 0)
        }
    };

    check_finite(&x, &format!("final state of the {} solve at t1 = {t1}", options.solver))?;
    Ok(Solution { x, nfe: field.nfe, steps, rejected, trajectory })
}

/// Checks that the field has a dimension and the state is a finite batch of its points.
fn validate_state(x_0: &[f64], dim: usize) -> Result<()> {
    if dim == 0 {
        return Err(Error::setting("field dimension", dim, "must be at least 1"));
    }
    if x_0.len() % dim != 0 {
        let reason = format!("must be a multiple of the field dimension d = {dim}");
        return Err(Error::setting("initial state length", x_0.len(), reason));
    }
    check_finite(x_0, "initial state x_0")
}

/// Fails with [`Error::NonFinite`] naming the first bad component of `x`.
fn check_finite(x: &[f64], what: &str) -> Result<()> {
    match x.iter().position(|x_i| !x_i.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite { context: format!("{what}, component {i} = {}", x[i]) }),
    }
}

/// The time t + c (t_next - t) of a stage at fraction `c` of a step, kept within the step
/// despite rounding, and exactly t_next when c = 1.
pub(crate) fn stage_time(t: f64, t_next: f64, c: f64) -> f64 {
    if c == 1.0 {
        return t_next;
    }
    let time = t + c * (t_next - t);
    time.clamp(t.min(t_next), t.max(t_next))
}
