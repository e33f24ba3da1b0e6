//! Closures as velocity fields, so a field can be written in one line in tests and examples.

use super::{JvpField, VelocityField};

/// A [`VelocityField`] made from a closure `f(t, x, v)` that writes `v(x_i, t)` into `v` for
/// every row of the batch `x` (both row-major `n * d`).
///
/// ```
/// use flowmatching::solve::{solve, FnField, SolveOptions, Solver};
///
/// // dx/dt = 3 t^2 moves every point by exactly 1 between t = 0 and t = 1.
/// let mut field = FnField::new(1, |t: f64, _x: &[f64], v: &mut [f64]| v.fill(3.0 * t * t));
/// let solution = solve(&mut field, &[0.5], 0.0, 1.0, &SolveOptions::new(Solver::Rk4, 4))?;
/// assert!((solution.x[0] - 1.5).abs() < 1e-14);
/// # Ok::<(), flowmatching::Error>(())
/// ```
pub struct FnField<F> {
    dim: usize,
    f: F,
}

impl<F: FnMut(f64, &[f64], &mut [f64])> FnField<F> {
    /// A field of dimension `dim` evaluated by `f(t, x, v)`.
    pub fn new(dim: usize, f: F) -> Self {
        FnField { dim, f }
    }
}

impl<F: FnMut(f64, &[f64], &mut [f64])> VelocityField for FnField<F> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn eval(&mut self, t: f64, x: &[f64], v: &mut [f64]) {
        (self.f)(t, x, v)
    }
}

/// A [`JvpField`] made from a closure `f(t, x, dx, v, dv)` that writes `v(x_i, t)` into `v` and
/// the Jacobian-vector product `(dv/dx)(x_i, t) dx_i` into `dv`, row by row.
///
/// A plain evaluation calls `f` with a zero tangent and discards `dv`.
pub struct FnJvpField<F> {
    dim: usize,
    f: F,
    zeros: Vec<f64>,
    scratch: Vec<f64>,
}

impl<F: FnMut(f64, &[f64], &[f64], &mut [f64], &mut [f64])> FnJvpField<F> {
    /// A field of dimension `dim` evaluated with its tangent by `f(t, x, dx, v, dv)`.
    pub fn new(dim: usize, f: F) -> Self {
        FnJvpField { dim, f, zeros: Vec::new(), scratch: Vec::new() }
    }
}

impl<F: FnMut(f64, &[f64], &[f64], &mut [f64], &mut [f64])> VelocityField for FnJvpField<F> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn eval(&mut self, t: f64, x: &[f64], v: &mut [f64]) {
        self.zeros.clear();
        self.zeros.resize(x.len(), 0.0);
        self.scratch.resize(x.len(), 0.0);
        (self.f)(t, x, &self.zeros, v, &mut self.scratch)
    }
}

impl<F: FnMut(f64, &[f64], &[f64], &mut [f64], &mut [f64])> JvpField for FnJvpField<F> {
    fn eval_jvp(&mut self, t: f64, x: &[f64], dx: &[f64], v: &mut [f64], dv: &mut [f64]) {
        (self.f)(t, x, dx, v, dv)
    }
}

/// A field that counts its evaluations and reports whether each output was finite.
pub(crate) struct Counted<'a, F: ?Sized> {
    field: &'a mut F,
    /// Evaluations so far.
    pub nfe: usize,
}

impl<'a, F: VelocityField + ?Sized> Counted<'a, F> {
    pub fn new(field: &'a mut F) -> Self {
        Counted { field, nfe: 0 }
    }

    /// Dimension d of one point.
    pub fn dim(&self) -> usize {
        self.field.dim()
    }

    /// Evaluates v(x, t) into `v`; returns false if any component of `v` is NaN or infinite.
    pub fn eval(&mut self, t: f64, x: &[f64], v: &mut [f64]) -> bool {
        self.nfe += 1;
        self.field.eval(t, x, v);
        v.iter().all(|value| value.is_finite())
    }
}
