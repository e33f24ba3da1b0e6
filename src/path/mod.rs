//! Probability paths between noise (t = 0) and data (t = 1), and couplings of x_0 with x_1.
//!
//! Conditional flow matching needs, for a batch of noise samples x_0 ~ N(0, I), data samples
//! x_1 and times t, a point x_t on a path from x_0 to x_1 and the velocity u_t of that path at
//! x_t, the regression target of the network. This module supplies both, in two parts:
//!
//! - a **path** ([`ConditionalPath`]) writes x_t and u_t for a batch:
//!   - [`AffinePath`] with a [`Scheduler`]: x_t = alpha_t x_1 + sigma_t x_0,
//!     u_t = d_alpha_t x_1 + d_sigma_t x_0, with the schedulers [`Linear`] (conditional OT, with
//!     an optional sigma_min), [`Polynomial`] (n = 2 is the reference notebook's quadratic
//!     path), [`Cosine`] and [`VariancePreserving`] (the diffusion path);
//!   - [`StochasticInterpolant`]: x_t = (1 - t) x_0 + t x_1 + s sqrt(t (1 - t)) eps;
//! - a **coupling** ([`Coupling`]) decides which x_0 goes with which x_1 before that:
//!   independent, or minibatch exact optimal transport.
//!
//! [`PathSpec`] bundles one of each and parses from a short name (`linear`, `quadratic`,
//! `poly:3`, `cosine`, `vp`, `ot`, `sb`, ...; grammar in [`spec`]).
//!
//! **Time convention: t = 0 is noise, t = 1 is data.** Batches are row-major f32: x_0, x_1, x_t
//! and u_t hold `n * d` values, t holds `n`. Scheduler values are computed in f64 per row.
//!
//! A training step, with buffers allocated once outside the loop:
//!
//! ```
//! use flowmatching::path::{ConditionalPath, PathSpec};
//! use flowmatching::rng::{stream, Stream};
//!
//! let spec: PathSpec = "ot".parse()?;
//! let mut rng = stream(0, Stream::Train);
//! let (n, d) = (4, 2);
//! let mut x_0 = vec![0.5f32, -1.0, 1.5, 0.0, -0.5, 2.0, 0.1, 0.2]; // noise, n * d
//! let x_1 = vec![1.0f32, 1.0, -1.0, 0.0, 0.0, 2.0, 3.0, 3.0]; // data, n * d
//! let (mut t, mut x_t, mut u_t) = (vec![0.0f32; n], vec![0.0f32; n * d], vec![0.0f32; n * d]);
//!
//! spec.coupling.pair(&mut x_0, &x_1, d)?;
//! spec.path.sample_times(&mut rng, &mut t);
//! spec.path.sample_conditional(&x_0, &x_1, &t, &mut rng, &mut x_t, &mut u_t)?;
//! // The loss is the mean of |v_theta(x_t, t) - u_t|^2.
//! # Ok::<(), flowmatching::Error>(())
//! ```

pub mod affine;
pub mod coupling;
pub mod scheduler;
pub mod spec;
pub mod stochastic;

pub use affine::AffinePath;
pub use coupling::{ot_permutation, permute_rows, Coupling};
pub use scheduler::{
    Cosine, Linear, Polynomial, Schedule, ScheduleValues, Scheduler, VariancePreserving,
};
pub use spec::{parse_path_list, PathSpec};
pub use stochastic::StochasticInterpolant;

use crate::rng::{BatchRng, Rng};
use crate::{Error, Result};

/// A conditional probability path: given paired endpoints, a point on the path and its velocity.
pub trait ConditionalPath {
    /// The closed interval of times on which the path is finite. Training should draw t from
    /// it; `sample_conditional` clamps times into it.
    fn time_range(&self) -> (f64, f64);

    /// Fills `t` with times drawn uniformly from [`ConditionalPath::time_range`], one f64
    /// uniform per entry rounded to f32.
    fn sample_times<R: BatchRng + ?Sized>(&self, rng: &mut R, t: &mut [f32])
    where
        Self: Sized,
    {
        let (lo, hi) = self.time_range();
        for t_i in t {
            *t_i = (lo + (hi - lo) * rng.unit()) as f32;
        }
    }

    /// Writes x_t and the target velocity u_t for rows `(x_0[i], x_1[i], t[i])`.
    ///
    /// Shapes: x_0, x_1, x_t, u_t are `n * d`, t is `n`, row-major; d is x_0.len() / n. Times
    /// must be finite and in [0, 1] (they are then clamped into [`ConditionalPath::time_range`]).
    /// Paths that need noise draw it from `rng`. Errors on mismatched lengths or a bad time,
    /// leaving the outputs unspecified. Allocates nothing.
    fn sample_conditional(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        rng: &mut Rng,
        x_t: &mut [f32],
        u_t: &mut [f32],
    ) -> Result<()>;
}

/// Any of the built-in paths, as one concrete type (what the path-name parser builds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Path {
    /// An affine Gaussian path, x_t = alpha_t x_1 + sigma_t x_0.
    Affine(AffinePath<Schedule>),
    /// The stochastic interpolant.
    Stochastic(StochasticInterpolant),
}

impl ConditionalPath for Path {
    fn time_range(&self) -> (f64, f64) {
        match self {
            Path::Affine(p) => p.time_range(),
            Path::Stochastic(p) => p.time_range(),
        }
    }

    fn sample_conditional(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        rng: &mut Rng,
        x_t: &mut [f32],
        u_t: &mut [f32],
    ) -> Result<()> {
        match self {
            Path::Affine(p) => p.sample_conditional(x_0, x_1, t, rng, x_t, u_t),
            Path::Stochastic(p) => p.sample_conditional(x_0, x_1, t, rng, x_t, u_t),
        }
    }
}

impl From<Schedule> for Path {
    fn from(scheduler: Schedule) -> Self {
        Path::Affine(AffinePath::new(scheduler))
    }
}

impl From<Linear> for Path {
    fn from(scheduler: Linear) -> Self {
        Path::from(Schedule::from(scheduler))
    }
}

impl From<Polynomial> for Path {
    fn from(scheduler: Polynomial) -> Self {
        Path::from(Schedule::from(scheduler))
    }
}

impl From<Cosine> for Path {
    fn from(scheduler: Cosine) -> Self {
        Path::from(Schedule::from(scheduler))
    }
}

impl From<VariancePreserving> for Path {
    fn from(scheduler: VariancePreserving) -> Self {
        Path::from(Schedule::from(scheduler))
    }
}

impl From<StochasticInterpolant> for Path {
    fn from(path: StochasticInterpolant) -> Self {
        Path::Stochastic(path)
    }
}

/// Checks the shapes of a path batch and the times; returns d (0 for an empty batch).
fn check_batch(x_0: &[f32], x_1: &[f32], t: &[f32], x_t: &[f32], u_t: &[f32]) -> Result<usize> {
    let n = t.len();
    let d = x_0.len().checked_div(n).unwrap_or(0);
    let mismatch = |what: &str, expected: usize, found: usize| Error::DimensionMismatch {
        context: format!("path batch: {what}"),
        expected,
        found,
    };

    if n * d != x_0.len() {
        return Err(mismatch("x_0 length (a multiple of t's length)", n * d, x_0.len()));
    }
    for (what, buf) in [("x_1 length", x_1), ("x_t length", x_t), ("u_t length", u_t)] {
        if buf.len() != x_0.len() {
            return Err(mismatch(what, x_0.len(), buf.len()));
        }
    }
    if let Some(bad) = t.iter().find(|t_i| !(0.0..=1.0).contains(*t_i)) {
        return Err(Error::setting("t", bad, "a path time must lie in [0, 1]"));
    }
    Ok(d)
}

/// Checks the shapes of a coupling batch; returns n.
fn check_dim<T>(x_0: &[T], x_1: &[T], d: usize, context: &str) -> Result<usize> {
    if d == 0 {
        return Err(Error::setting("d", d, format!("{context}: the dimension must be >= 1")));
    }
    if x_0.len() % d != 0 {
        let expected = x_0.len() / d * d;
        return Err(Error::DimensionMismatch {
            context: format!("{context}: x_0 length (a multiple of d = {d})"),
            expected,
            found: x_0.len(),
        });
    }
    if x_1.len() != x_0.len() {
        return Err(Error::DimensionMismatch {
            context: format!("{context}: x_1 length"),
            expected: x_0.len(),
            found: x_1.len(),
        });
    }
    Ok(x_0.len() / d)
}
