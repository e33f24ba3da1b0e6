//! Eight Gaussians evenly spaced on a circle.
//!
//! Component k = 0..7 has mean r (cos(2 pi k / 8), sin(2 pi k / 8)), covariance s^2 I and weight
//! 1/8. Defaults: radius r = 2, std s = 0.2. Its mean is 0 and its covariance (r^2 / 2 + s^2) I.
//! It is a [`GaussianMixture`], so its log-density is exact.

use std::f64::consts::PI;

use crate::data::toy::{check_positive, Covariances, GaussianMixture};
use crate::data::Target;
use crate::rng::Rng;
use crate::Result;

/// Eight equal-weight isotropic Gaussians on a circle of radius `radius`.
#[derive(Debug, Clone)]
pub struct EightGaussians {
    radius: f64,
    std: f64,
    mixture: GaussianMixture,
}

impl Default for EightGaussians {
    fn default() -> Self {
        EightGaussians::new(2.0, 0.2).expect("the default parameters are valid")
    }
}

impl EightGaussians {
    /// Eight Gaussians of standard deviation `std` (> 0) on a circle of radius `radius` (> 0).
    pub fn new(radius: f64, std: f64) -> Result<Self> {
        check_positive("8gaussians radius", radius, false)?;
        check_positive("8gaussians std", std, false)?;

        let angle = |k: usize| 2.0 * PI * k as f64 / 8.0;
        let means =
            (0..8).map(|k| vec![radius * angle(k).cos(), radius * angle(k).sin()]).collect();
        let stds = Covariances::Stds(vec![vec![std; 2]; 8]);
        let mixture = GaussianMixture::new(vec![1.0 / 8.0; 8], means, stds)?;
        Ok(EightGaussians { radius, std, mixture })
    }

    /// Radius of the circle of means.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Standard deviation of each component.
    pub fn std(&self) -> f64 {
        self.std
    }

    /// The same distribution as a [`GaussianMixture`].
    pub fn mixture(&self) -> &GaussianMixture {
        &self.mixture
    }
}

impl Target for EightGaussians {
    fn dim(&self) -> usize {
        2
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        self.mixture.sample(n, rng)
    }

    fn log_density(&self, x: &[f64]) -> Option<f64> {
        self.mixture.log_density(x)
    }

    fn name(&self) -> String {
        format!("8 Gaussians, radius {}, std {}", self.radius, self.std)
    }
}
