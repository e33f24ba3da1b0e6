//! A two-armed spiral blurred by Gaussian noise.
//!
//! With u ~ U[0, 1] and theta_max = 2 pi * turns, one arm is the Archimedean spiral
//!
//! ```text
//! theta = theta_max * sqrt(u),   r = radius * theta / theta_max = radius * sqrt(u),
//! point = r (cos theta, sin theta)
//! ```
//!
//! and the other arm is the first turned by pi (each with probability 1/2); then noise
//! N(0, noise^2 I) is added. Defaults: 1.5 turns, radius 3.5, noise 0.1, which leaves about
//! 1.2 between neighbouring passes of the arms. Taking r proportional to sqrt(u) spreads points
//! evenly over the area swept by the arms rather than bunching them at the centre.
//!
//! Moments: mean 0; E|x|^2 = radius^2 / 2 + 2 noise^2. The density (a blurred curve) has no
//! closed form, so `log_density` is `None`.

use std::f64::consts::PI;

use crate::data::toy::{check_positive, normal, uniform};
use crate::data::Target;
use crate::rng::Rng;
use crate::Result;

/// Two interleaved spiral arms with Gaussian noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Spiral {
    turns: f64,
    radius: f64,
    noise: f64,
}

impl Default for Spiral {
    fn default() -> Self {
        Spiral { turns: 1.5, radius: 3.5, noise: 0.1 }
    }
}

impl Spiral {
    /// A spiral of `turns` (> 0) turns out to `radius` (> 0), noise std `noise` (>= 0).
    pub fn new(turns: f64, radius: f64, noise: f64) -> Result<Self> {
        check_positive("spiral turns", turns, false)?;
        check_positive("spiral radius", radius, false)?;
        check_positive("spiral noise", noise, true)?;
        Ok(Spiral { turns, radius, noise })
    }

    /// Number of turns of each arm.
    pub fn turns(&self) -> f64 {
        self.turns
    }

    /// Radius at the end of the arms.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// The noise standard deviation.
    pub fn noise(&self) -> f64 {
        self.noise
    }
}

impl Target for Spiral {
    fn dim(&self) -> usize {
        2
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let theta_max = 2.0 * PI * self.turns;
        let mut points = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let root_u = uniform(rng).sqrt();
            let arm = if uniform(rng) < 0.5 { 1.0 } else { -1.0 };
            let (r, theta) = (arm * self.radius * root_u, theta_max * root_u);
            points.push(r * theta.cos() + self.noise * normal(rng));
            points.push(r * theta.sin() + self.noise * normal(rng));
        }
        points
    }

    fn name(&self) -> String {
        format!("spiral, {} turns, radius {}, noise {}", self.turns, self.radius, self.noise)
    }
}
