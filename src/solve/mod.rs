//! Integrating dx/dt = v(x, t): fixed-step and adaptive ODE solvers.
//!
//! Time convention everywhere in flowmatching: t = 0 is noise, t = 1 is data. Sampling solves
//! forward from 0 to 1; encoding solves in reverse from 1 to 0.
//!
//! A state is a batch of n points in d dimensions, stored row-major as `n * d` f64 values. All
//! rows share the same time, which lets the network compute its time embedding once per stage.

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
