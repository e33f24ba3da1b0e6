//! Two interleaved half circles ("two moons") blurred by Gaussian noise.
//!
//! With theta ~ U[0, pi], each point lies on one arc with probability 1/2:
//!
//! ```text
//! upper arc: (cos theta, sin theta)
//! lower arc: (1 - cos theta, 1/2 - sin theta)
//! ```
//!
//! plus isotropic noise N(0, noise^2 I). The arcs have radius 1; the whole has mean (1/2, 1/4).
//! The density is a Gaussian blur of a curve, with no closed form, so `log_density` is `None`.

use std::f64::consts::PI;

use crate::data::toy::{check_positive, normal, uniform};
use crate::data::Target;
use crate::rng::Rng;
use crate::Result;

/// Two moons with Gaussian noise of standard deviation `noise` (default 0.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Moons {
    noise: f64,
}

impl Default for Moons {
    fn default() -> Self {
        Moons { noise: 0.1 }
    }
}

impl Moons {
    /// Two moons with noise standard deviation `noise` (>= 0).
    pub fn new(noise: f64) -> Result<Self> {
        check_positive("moons noise", noise, true)?;
        Ok(Moons { noise })
    }

    /// The noise standard deviation.
    pub fn noise(&self) -> f64 {
        self.noise
    }
}

impl Target for Moons {
    fn dim(&self) -> usize {
        2
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let mut points = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let theta = PI * uniform(rng);
            let (x, y) = if uniform(rng) < 0.5 {
                (theta.cos(), theta.sin())
            } else {
                (1.0 - theta.cos(), 0.5 - theta.sin())
            };
            points.push(x + self.noise * normal(rng));
            points.push(y + self.noise * normal(rng));
        }
        points
    }

    fn name(&self) -> String {
        format!("two moons, noise {}", self.noise)
    }
}
