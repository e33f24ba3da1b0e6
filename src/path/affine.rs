//! The affine Gaussian path: a scheduler applied to training batches.
//!
//! For each row i of a batch (noise x_0 at t = 0, data x_1 at t = 1, time t_i):
//!
//! ```text
//! x_t[i] = alpha(t_i) x_1[i] + sigma(t_i) x_0[i]
//! u_t[i] = d_alpha(t_i) x_1[i] + d_sigma(t_i) x_0[i]
//! ```
//!
//! Buffers are f32 (the training precision), row-major: x_0, x_1, x_t and u_t are `n * d`, t is
//! `n`. The scheduler is evaluated once per row in f64 and each product is rounded to f32 once.

use super::scheduler::{Schedule, Scheduler};
use super::{check_batch, ConditionalPath};
use crate::rng::Rng;

/// The affine path x_t = alpha_t x_1 + sigma_t x_0 defined by scheduler `S`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffinePath<S = Schedule> {
    /// The scheduler giving alpha_t, sigma_t and their derivatives.
    pub scheduler: S,
}

impl<S: Scheduler> AffinePath<S> {
    /// The path of `scheduler`.
    pub fn new(scheduler: S) -> Self {
        AffinePath { scheduler }
    }

    /// Writes x_t and u_t for a batch (shapes in the module docs). Times outside
    /// [`Scheduler::time_range`] are clamped into it; a time that is NaN or outside [0, 1], or
    /// buffers whose lengths disagree, give an error and leave the outputs unspecified.
    pub fn interpolate(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        x_t: &mut [f32],
        u_t: &mut [f32],
    ) -> crate::Result<()> {
        let d = check_batch(x_0, x_1, t, x_t, u_t)?;
        if d == 0 {
            return Ok(());
        }

        let rows = x_0.chunks_exact(d).zip(x_1.chunks_exact(d));
        let outs = x_t.chunks_exact_mut(d).zip(u_t.chunks_exact_mut(d));
        for ((&t_i, (x_0_i, x_1_i)), (x_t_i, u_t_i)) in t.iter().zip(rows).zip(outs) {
            let v = self.scheduler.eval(t_i as f64);
            for k in 0..d {
                let (a, b) = (x_0_i[k] as f64, x_1_i[k] as f64);
                x_t_i[k] = (v.alpha_t * b + v.sigma_t * a) as f32;
                u_t_i[k] = (v.d_alpha_t * b + v.d_sigma_t * a) as f32;
            }
        }
        Ok(())
    }
}

impl<S: Scheduler> ConditionalPath for AffinePath<S> {
    fn time_range(&self) -> (f64, f64) {
        self.scheduler.time_range()
    }

    /// The affine path draws no noise of its own: `rng` is untouched.
    fn sample_conditional(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        _rng: &mut Rng,
        x_t: &mut [f32],
        u_t: &mut [f32],
    ) -> crate::Result<()> {
        self.interpolate(x_0, x_1, t, x_t, u_t)
    }
}
