//! Target distributions p_1 (the data, at t = 1) and data loading.
//!
//! Built-in targets implement [`Target`]: they can be sampled and, where a closed form exists,
//! report their exact log-density, so metrics and likelihoods can be checked against the truth.

pub mod loader;
pub mod mixture;
pub mod standardize;
pub mod toy;

use crate::rng::notebook::NumpyRandomState;
use crate::rng::Rng;

/// A distribution that flowmatching can learn and evaluate against.
pub trait Target: Send + Sync {
    /// Dimension d of one point.
    fn dim(&self) -> usize;

    /// Draws `n` points, row-major `n * d`.
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64>;

    /// Draws `n` points as the reference notebook draws them with NumPy's generator, for the
    /// distributions the notebook draws (its 1D mixture and its checkerboard); `None` for every
    /// other.
    fn sample_like_numpy(&self, _n: usize, _numpy: &mut NumpyRandomState) -> Option<Vec<f64>> {
        None
    }

    /// Exact log-density at one point `x` (length d), or `None` where no closed form exists.
    fn log_density(&self, _x: &[f64]) -> Option<f64> {
        None
    }

    /// A short human-readable name, used in reports and plot titles.
    fn name(&self) -> String;
}
