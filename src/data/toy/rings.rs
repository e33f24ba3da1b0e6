//! Concentric rings blurred by isotropic Gaussian noise.
//!
//! Ring k (equal weights w_k = 1/K) is the circle of radius r_k, a point on it uniform in angle,
//! plus noise N(0, s^2 I). Defaults: radii 1, 2, 3 and s = 0.1. With equal weights the inner
//! ring holds as many points as the outer, so it is denser per unit length.
//!
//! Exact density: averaging the Gaussian kernel over the circle gives a Bessel function. With
//! rho = |x| and I0e(z) = e^(-z) I0(z) the exponentially scaled modified Bessel function,
//!
//! ```text
//! p(x) = sum_k w_k / (2 pi s^2) * exp(-(rho - r_k)^2 / (2 s^2)) * I0e(r_k rho / s^2)
//! ```
//!
//! Moments: mean 0, covariance (mean_k(r_k^2) / 2 + s^2) I.

use std::f64::consts::PI;

use crate::data::toy::{check_positive, normal, uniform};
use crate::data::Target;
use crate::rng::Rng;
use crate::{Error, Result};

/// Equal-weight concentric rings with Gaussian noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Rings {
    radii: Vec<f64>,
    noise: f64,
}

impl Default for Rings {
    fn default() -> Self {
        Rings { radii: vec![1.0, 2.0, 3.0], noise: 0.1 }
    }
}

impl Rings {
    /// Rings of the given `radii` (at least one, each >= 0) with noise std `noise` (> 0).
    pub fn new(radii: Vec<f64>, noise: f64) -> Result<Self> {
        if radii.is_empty() {
            return Err(Error::setting("rings radii", "[]", "give at least one radius"));
        }
        for &r in &radii {
            check_positive("rings radius", r, true)?;
        }
        check_positive("rings noise", noise, false)?;
        Ok(Rings { radii, noise })
    }

    /// The ring radii.
    pub fn radii(&self) -> &[f64] {
        &self.radii
    }

    /// The noise standard deviation.
    pub fn noise(&self) -> f64 {
        self.noise
    }
}

impl Target for Rings {
    fn dim(&self) -> usize {
        2
    }

    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let k = self.radii.len();
        let mut points = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let r = self.radii[((uniform(rng) * k as f64) as usize).min(k - 1)];
            let theta = 2.0 * PI * uniform(rng);
            points.push(r * theta.cos() + self.noise * normal(rng));
            points.push(r * theta.sin() + self.noise * normal(rng));
        }
        points
    }

    /// The Bessel formula of the module doc. `x` has length 2.
    fn log_density(&self, x: &[f64]) -> Option<f64> {
        let rho = x[0].hypot(x[1]);
        let s2 = self.noise * self.noise;
        let log_w = -(self.radii.len() as f64).ln() - (2.0 * PI * s2).ln();

        let terms: Vec<f64> = self
            .radii
            .iter()
            .map(|&r| log_w - (rho - r).powi(2) / (2.0 * s2) + bessel_i0e(r * rho / s2).ln())
            .collect();
        Some(log_sum_exp(&terms))
    }

    fn name(&self) -> String {
        let radii: Vec<String> = self.radii.iter().map(f64::to_string).collect();
        format!("rings of radius {}, noise {}", radii.join(", "), self.noise)
    }
}

/// ln sum_k e^(a_k), stable for large |a_k|; -infinity when every a_k is.
pub(crate) fn log_sum_exp(terms: &[f64]) -> f64 {
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if top == f64::NEG_INFINITY {
        return top;
    }
    top + terms.iter().map(|a| (a - top).exp()).sum::<f64>().ln()
}

/// I0e(z) = e^(-z) I0(z) for z >= 0, to about 1e-15 relative.
///
/// For z <= 20 the power series I0(z) = sum_k (z/2)^(2k) / (k!)^2 (all terms positive); above,
/// the asymptotic series I0e(z) = (2 pi z)^(-1/2) sum_k a_k with a_k = a_(k-1) (2k-1)^2 / (8 z k),
/// summed while its terms shrink.
pub(crate) fn bessel_i0e(z: f64) -> f64 {
    if z <= 20.0 {
        let quarter_z2 = z * z / 4.0;
        let (mut term, mut sum, mut k) = (1.0, 1.0, 0.0);
        while term > 1e-17 * sum {
            k += 1.0;
            term *= quarter_z2 / (k * k);
            sum += term;
        }
        return (-z).exp() * sum;
    }

    let (mut term, mut sum, mut k) = (1.0f64, 1.0, 0.0f64);
    loop {
        k += 1.0;
        let next = term * (2.0 * k - 1.0).powi(2) / (8.0 * z * k);
        if next >= term || next < 1e-17 {
            break;
        }
        term = next;
        sum += term;
    }
    sum / (2.0 * PI * z).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy.special.i0e at these points (scipy 1.17.1, printed with repr):
    /// `[float(i0e(z)) for z in (0, 0.5, 3, 19.9, 20.1, 100, 1e6)]`.
    const SCIPY_I0E: [(f64, f64); 7] = [
        (0.0, 1.0),
        (0.5, 0.64503527044915),
        (3.0, 0.24300035416182536),
        (19.9, 0.09000858886438959),
        (20.1, 0.08955376362061344),
        (100.0, 0.03994437929909668),
        (1e6, 0.00039894233026924577),
    ];

    #[test]
    fn i0e_matches_scipy() {
        for (z, expected) in SCIPY_I0E {
            let got = bessel_i0e(z);
            assert!(((got - expected) / expected).abs() < 1e-14, "z = {z}: {got} vs {expected}");
        }
    }

    #[test]
    fn log_density_matches_direct_average_over_the_circle() {
        // p(x) = sum_k w_k (1/2pi) int N(x; r_k u(theta), s^2 I) dtheta, by the midpoint rule
        // (spectrally accurate for a periodic integrand).
        let rings = Rings::new(vec![0.5, 1.5], 0.3).unwrap();
        let s2: f64 = 0.09;
        for x in [[0.0, 0.0], [0.4, -0.2], [1.2, 0.9], [3.0, 0.1]] {
            let mut p = 0.0;
            for &r in rings.radii() {
                let m = 4000;
                let mut average = 0.0;
                for i in 0..m {
                    let th = 2.0 * PI * (i as f64 + 0.5) / m as f64;
                    let d2 = (x[0] - r * th.cos()).powi(2) + (x[1] - r * th.sin()).powi(2);
                    average += (-d2 / (2.0 * s2)).exp() / (2.0 * PI * s2) / m as f64;
                }
                p += 0.5 * average;
            }
            let got = rings.log_density(&x).unwrap();
            assert!((got - p.ln()).abs() < 1e-12, "x = {x:?}: {got} vs {}", p.ln());
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(Rings::new(vec![], 0.1).is_err());
        assert!(Rings::new(vec![1.0, -1.0], 0.1).is_err());
        assert!(Rings::new(vec![1.0], 0.0).is_err());
    }
}
