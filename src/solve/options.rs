//! What a solve is asked to do ([`Solver`], [`TimeGrid`], [`SolveOptions`]) and what it returns
//! ([`Solution`], [`Snapshot`]).

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// The CLI names of the solvers, in the order they are listed to users.
pub const SOLVER_NAMES: [&str; 5] = ["euler", "midpoint", "heun", "rk4", "dopri5"];

/// An ODE integration scheme for dx/dt = v(x, t), with step size h = t_{k+1} - t_k (negative
/// for reverse solves).
///
/// | solver | update | order | evaluations per step |
/// |---|---|---|---|
/// | `Euler` | x + h v(x, t) | 1 | 1 |
/// | `Midpoint` | x + h v(x + h/2 v(x, t), t + h/2) | 2 | 2 |
/// | `Heun` | x + h/2 (v(x, t) + v(x + h v(x, t), t + h)) | 2 | 2 |
/// | `Rk4` | classic Runge-Kutta, weights 1/6, 1/3, 1/3, 1/6 | 4 | 4 |
/// | `Dopri5` | Dormand-Prince 5(4), adaptive, FSAL | 5 | 6 per attempted step, + 2 |
///
/// `Dopri5` chooses its own steps so that the local error estimate of every point stays within
/// `atol + rtol * |x|` (see [`crate::solve`] for the error norm and the controller); it gives up
/// with [`Error::StepLimit`] after `max_steps` attempted steps (accepted plus rejected).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solver {
    /// Forward Euler, order 1.
    Euler,
    /// Explicit midpoint rule, order 2.
    Midpoint,
    /// Heun's method (explicit trapezoidal predictor-corrector), order 2.
    Heun,
    /// The classic fourth-order Runge-Kutta method.
    Rk4,
    /// Adaptive Dormand-Prince 5(4).
    Dopri5 {
        /// Relative tolerance on the local error, >= 0.
        rtol: f64,
        /// Absolute tolerance on the local error, > 0.
        atol: f64,
        /// Cap on attempted steps (accepted plus rejected), >= 1.
        max_steps: usize,
    },
}

impl Solver {
    /// Default relative tolerance of [`Solver::dopri5`] (the one Meta's flow_matching uses).
    pub const DEFAULT_RTOL: f64 = 1e-5;
    /// Default absolute tolerance of [`Solver::dopri5`].
    pub const DEFAULT_ATOL: f64 = 1e-5;
    /// Default step cap of [`Solver::dopri5`].
    pub const DEFAULT_MAX_STEPS: usize = 10_000;

    /// Dopri5 with the default tolerances `rtol = atol = 1e-5` and a cap of 10 000 steps.
    pub fn dopri5() -> Self {
        Solver::Dopri5 {
            rtol: Self::DEFAULT_RTOL,
            atol: Self::DEFAULT_ATOL,
            max_steps: Self::DEFAULT_MAX_STEPS,
        }
    }

    /// The CLI name: `euler`, `midpoint`, `heun`, `rk4` or `dopri5`.
    pub fn name(&self) -> &'static str {
        match self {
            Solver::Euler => "euler",
            Solver::Midpoint => "midpoint",
            Solver::Heun => "heun",
            Solver::Rk4 => "rk4",
            Solver::Dopri5 { .. } => "dopri5",
        }
    }

    /// Order of accuracy: the global error of a fixed-step solve shrinks like h^order.
    pub fn order(&self) -> usize {
        match self {
            Solver::Euler => 1,
            Solver::Midpoint | Solver::Heun => 2,
            Solver::Rk4 => 4,
            Solver::Dopri5 { .. } => 5,
        }
    }

    /// Field evaluations per step of a fixed-step solver, `None` for the adaptive `Dopri5`.
    pub fn evals_per_step(&self) -> Option<usize> {
        match self {
            Solver::Euler => Some(1),
            Solver::Midpoint | Solver::Heun => Some(2),
            Solver::Rk4 => Some(4),
            Solver::Dopri5 { .. } => None,
        }
    }

    /// Whether the solver picks its own steps.
    pub fn is_adaptive(&self) -> bool {
        matches!(self, Solver::Dopri5 { .. })
    }

    /// Checks the tolerances and the step cap of `Dopri5`; fixed-step solvers are always valid.
    pub fn validate(&self) -> Result<()> {
        let Solver::Dopri5 { rtol, atol, max_steps } = *self else {
            return Ok(());
        };
        if !(rtol.is_finite() && rtol >= 0.0) {
            return Err(Error::setting("rtol", rtol, "must be finite and >= 0"));
        }
        if !(atol.is_finite() && atol > 0.0) {
            return Err(Error::setting(
                "atol",
                atol,
                "must be finite and > 0 (a zero atol divides by zero where x = 0)",
            ));
        }
        if max_steps == 0 {
            return Err(Error::setting("max_steps", max_steps, "must be at least 1"));
        }
        Ok(())
    }
}

/// Prints the CLI name only; the tolerances of `Dopri5` are not part of it.
impl fmt::Display for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a CLI name (case-insensitive); `dopri5` gets the default tolerances of
/// [`Solver::dopri5`].
impl FromStr for Solver {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "euler" => Ok(Solver::Euler),
            "midpoint" => Ok(Solver::Midpoint),
            "heun" => Ok(Solver::Heun),
            "rk4" => Ok(Solver::Rk4),
            "dopri5" => Ok(Solver::dopri5()),
            _ => Err(Error::setting(
                "solver",
                s,
                format!("expected one of {}", SOLVER_NAMES.join(", ")),
            )),
        }
    }
}

/// The time steps of a fixed-step solve.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeGrid {
    /// `steps` equal steps from t0 to t1: t_k = t0 + (t1 - t0) k / steps, with the last time set
    /// to exactly t1. Dopri5 ignores the count and picks its own steps.
    Uniform {
        /// Number of steps N >= 1.
        steps: usize,
    },
    /// Explicit times t0 = g_0, g_1, ..., g_M = t1: finite, strictly increasing for a forward
    /// solve and strictly decreasing for a reverse one, with the first and last equal to t0 and
    /// t1 exactly. Rejected for Dopri5 (pass the times as record times instead).
    Explicit(Vec<f64>),
}

impl TimeGrid {
    /// A uniform grid of `steps` steps.
    pub fn uniform(steps: usize) -> Self {
        TimeGrid::Uniform { steps }
    }
}

/// Everything a solve needs besides the field, the initial state and the time span.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// The integration scheme.
    pub solver: Solver,
    /// The steps of a fixed-step solver; ignored by Dopri5 when uniform.
    pub grid: TimeGrid,
    /// Times at which to record the state, each within [t0, t1], strictly monotonic in the
    /// direction of integration. The recorded states are computed at exactly these times, never
    /// interpolated (see [`crate::solve`] for how they enter the steps).
    pub record_times: Vec<f64>,
}

impl SolveOptions {
    /// A solve with `solver` on `steps` uniform steps, recording nothing.
    pub fn new(solver: Solver, steps: usize) -> Self {
        SolveOptions { solver, grid: TimeGrid::uniform(steps), record_times: Vec::new() }
    }

    /// An adaptive Dormand-Prince solve at these tolerances (capped at
    /// [`Solver::DEFAULT_MAX_STEPS`]), recording nothing: no step count to give.
    pub fn dopri5(rtol: f64, atol: f64) -> Self {
        let max_steps = Solver::DEFAULT_MAX_STEPS;
        SolveOptions::new(Solver::Dopri5 { rtol, atol, max_steps }, 0)
    }

    /// The same options recording the state at `times`.
    pub fn with_record_times(mut self, times: Vec<f64>) -> Self {
        self.record_times = times;
        self
    }

    /// The same options on an explicit time grid.
    pub fn with_grid(mut self, grid: Vec<f64>) -> Self {
        self.grid = TimeGrid::Explicit(grid);
        self
    }
}

/// The state at one recorded time.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The time, exactly as requested.
    pub t: f64,
    /// The state at `t`, row-major `n * d`.
    pub x: Vec<f64>,
}

/// The result of a solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The final state at t1, row-major `n * d`.
    pub x: Vec<f64>,
    /// Number of field evaluations (each evaluates the whole batch once).
    pub nfe: usize,
    /// Accepted steps (all steps of a fixed-step solver).
    pub steps: usize,
    /// Rejected steps of Dopri5 (always 0 for fixed-step solvers).
    pub rejected: usize,
    /// The recorded states, in the order of the requested times.
    pub trajectory: Vec<Snapshot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_and_from_str() {
        for name in SOLVER_NAMES {
            let solver: Solver = name.parse().unwrap();
            assert_eq!(solver.to_string(), name);
        }
        assert_eq!("RK4".parse::<Solver>().unwrap(), Solver::Rk4);
        assert_eq!("dopri5".parse::<Solver>().unwrap(), Solver::dopri5());
    }

    #[test]
    fn unknown_name_is_an_invalid_setting_naming_the_choices() {
        let err = "rk45".parse::<Solver>().unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidSetting { .. }));
        assert!(text.contains("rk45") && text.contains("dopri5"), "{text}");
    }

    #[test]
    fn bad_tolerances_are_rejected() {
        let bad = [
            Solver::Dopri5 { rtol: -1e-3, atol: 1e-6, max_steps: 10 },
            Solver::Dopri5 { rtol: f64::NAN, atol: 1e-6, max_steps: 10 },
            Solver::Dopri5 { rtol: 1e-3, atol: 0.0, max_steps: 10 },
            Solver::Dopri5 { rtol: 1e-3, atol: f64::INFINITY, max_steps: 10 },
            Solver::Dopri5 { rtol: 1e-3, atol: 1e-6, max_steps: 0 },
        ];
        for solver in bad {
            assert!(solver.validate().is_err(), "{solver:?}");
        }
        assert!(Solver::dopri5().validate().is_ok());
    }
}
