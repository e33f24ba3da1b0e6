//! The stochastic interpolant (Brownian-bridge, Schrodinger-bridge style) path.
//!
//! Between a noise sample x_0 (t = 0) and a data sample x_1 (t = 1) it adds a Brownian-bridge
//! shaped Gaussian of scale s:
//!
//! ```text
//! mu_t = (1 - t) x_0 + t x_1,    gamma_t = s sqrt(t (1 - t)),
//! x_t  = mu_t + gamma_t eps,      eps ~ N(0, I),
//! u_t  = x_1 - x_0 + d_gamma_t eps,   d_gamma_t = s (1 - 2t) / (2 sqrt(t (1 - t)))
//!      = x_1 - x_0 + (1 - 2t) / (2 t (1 - t)) (x_t - mu_t).
//! ```
//!
//! Given (x_0, x_1), x_t ~ N(mu_t, s^2 t (1 - t) I) and u_t is the conditional velocity that
//! generates exactly this Gaussian path (the second form is the one that depends on x_t only
//! through x_t; both agree at the sampled point). With s = 0 it is the linear path.
//!
//! d_gamma_t is infinite at t = 0 and t = 1, so the path lives on [t_eps, 1 - t_eps]: times are
//! clamped into that range, and training should draw t from it
//! ([`ConditionalPath::sample_times`] does). Near the ends the target grows like
//! s / (2 sqrt(t_eps)), about 16 s for the default t_eps = 1e-3.
//!
//! Paired with minibatch optimal transport this is the coupling-and-path pair of
//! Schrodinger-bridge conditional flow matching in its small-noise limit (the exact plan standing
//! in for the entropic one).

use rand_distr::{Distribution, StandardNormal};

use super::{check_batch, ConditionalPath};
use crate::rng::Rng;

/// The stochastic interpolant x_t = (1 - t) x_0 + t x_1 + s sqrt(t (1 - t)) eps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StochasticInterpolant {
    /// The noise scale s >= 0.
    pub s: f64,
    /// The distance from each endpoint where the path stops: t is clamped to [t_eps, 1 - t_eps].
    pub t_eps: f64,
}

impl StochasticInterpolant {
    /// The default noise scale s.
    pub const DEFAULT_S: f64 = 1.0;
    /// The default endpoint margin t_eps.
    pub const DEFAULT_T_EPS: f64 = 1e-3;

    /// The path with noise scale `s` (finite, >= 0) and endpoint margin `t_eps` (in (0, 0.5)).
    pub fn new(s: f64, t_eps: f64) -> crate::Result<Self> {
        if !(s.is_finite() && s >= 0.0) {
            return Err(crate::Error::setting("s", s, "must be finite and >= 0"));
        }
        if !(t_eps > 0.0 && t_eps < 0.5) {
            return Err(crate::Error::setting("eps", t_eps, "must lie in (0, 0.5)"));
        }
        Ok(StochasticInterpolant { s, t_eps })
    }

    /// Writes x_t and u_t for a batch with the noise `eps` given (`n * d`, like x_0), instead of
    /// drawn. Shapes and errors as in [`ConditionalPath::sample_conditional`].
    pub fn interpolate_with_noise(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        eps: &[f32],
        x_t: &mut [f32],
        u_t: &mut [f32],
    ) -> crate::Result<()> {
        if eps.len() != x_0.len() {
            return Err(crate::Error::DimensionMismatch {
                context: "stochastic path: eps length".into(),
                expected: x_0.len(),
                found: eps.len(),
            });
        }
        let mut noise = eps.iter().map(|&e| e as f64);
        self.fill(x_0, x_1, t, || noise.next().unwrap_or(0.0), x_t, u_t)
    }

    /// The clamped time, gamma_t and d_gamma_t at `t`.
    fn gamma(&self, t: f64) -> (f64, f64, f64) {
        let t = t.clamp(self.t_eps, 1.0 - self.t_eps);
        let root = (t * (1.0 - t)).sqrt();
        (t, self.s * root, self.s * (1.0 - 2.0 * t) / (2.0 * root))
    }

    /// The checks and row loop shared by the drawn and the given noise: `next_eps` yields eps
    /// row-major.
    fn fill(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        mut next_eps: impl FnMut() -> f64,
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
            let (t_c, gamma_t, d_gamma_t) = self.gamma(t_i as f64);
            for k in 0..d {
                let (a, b) = (x_0_i[k] as f64, x_1_i[k] as f64);
                let eps = next_eps();
                x_t_i[k] = ((1.0 - t_c) * a + t_c * b + gamma_t * eps) as f32;
                u_t_i[k] = (b - a + d_gamma_t * eps) as f32;
            }
        }
        Ok(())
    }
}

impl Default for StochasticInterpolant {
    fn default() -> Self {
        StochasticInterpolant { s: Self::DEFAULT_S, t_eps: Self::DEFAULT_T_EPS }
    }
}

impl ConditionalPath for StochasticInterpolant {
    fn time_range(&self) -> (f64, f64) {
        (self.t_eps, 1.0 - self.t_eps)
    }

    /// Draws eps ~ N(0, I) from `rng`, n * d standard normals in row-major order (always, even
    /// when s = 0, so the stream does not depend on s).
    fn sample_conditional(
        &self,
        x_0: &[f32],
        x_1: &[f32],
        t: &[f32],
        rng: &mut Rng,
        x_t: &mut [f32],
        u_t: &mut [f32],
    ) -> crate::Result<()> {
        self.fill(x_0, x_1, t, || StandardNormal.sample(rng), x_t, u_t)
    }
}
