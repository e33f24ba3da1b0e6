//! AdamW, step for step as `torch.optim.AdamW`.
//!
//! At step k = 1, 2, ... with gradient g, for every parameter p:
//!
//! ```text
//! p   <- p (1 - lr wd)                                  (decoupled weight decay, first)
//! m   <- m + (1 - beta1) (g - m)                        (= beta1 m + (1 - beta1) g)
//! v   <- beta2 v + (1 - beta2) g^2
//! bc1 =  1 - beta1^k,   bc2 = 1 - beta2^k
//! p   <- p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
//! ```
//!
//! The step-dependent scalars are computed in f64 and rounded once to the parameter precision,
//! as PyTorch does with its Python-float hyper-parameters.

use serde::{Deserialize, Serialize};

use super::net::{Grads, VelocityNet};
use super::scalar::Scalar;
use crate::{Error, Result};

/// AdamW hyper-parameters; `Default` is the notebook's (PyTorch's defaults with lr = 2e-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first-moment average.
    pub beta1: f64,
    /// Decay of the second-moment average.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

impl AdamWConfig {
    /// Checks every field: lr > 0, betas in [0, 1), eps > 0, weight_decay >= 0, all finite.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, value: f64, ok: bool, reason: &str| {
            if ok && value.is_finite() {
                Ok(())
            } else {
                Err(Error::setting(name, value, reason))
            }
        };
        check("lr", self.lr, self.lr > 0.0, "must be positive")?;
        check("beta1", self.beta1, (0.0..1.0).contains(&self.beta1), "must be in [0, 1)")?;
        check("beta2", self.beta2, (0.0..1.0).contains(&self.beta2), "must be in [0, 1)")?;
        check("eps", self.eps, self.eps > 0.0, "must be positive")?;
        check("weight_decay", self.weight_decay, self.weight_decay >= 0.0, "must be >= 0")
    }
}

/// The AdamW optimiser state for one network: moments m, v and the step count.
#[derive(Debug, Clone)]
pub struct AdamW<T: Scalar> {
    config: AdamWConfig,
    m: Vec<T>,
    v: Vec<T>,
    steps: u64,
}

impl<T: Scalar> AdamW<T> {
    /// Fresh state (zero moments, no steps) for a network with `num_params` parameters.
    pub fn new(config: AdamWConfig, num_params: usize) -> Result<Self> {
        config.validate()?;
        Ok(AdamW { config, m: vec![T::ZERO; num_params], v: vec![T::ZERO; num_params], steps: 0 })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Changes the learning rate (for schedules); the moments are kept.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        AdamWConfig { lr, ..self.config.clone() }.validate()?;
        self.config.lr = lr;
        Ok(())
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update of `net`'s parameters with `grads`.
    pub fn step(&mut self, net: &mut VelocityNet<T>, grads: &Grads<T>) -> Result<()> {
        self.step_slices(net.params_mut(), grads.as_slice())
    }

    /// One update of a flat parameter vector with its gradient (both as long as the state).
    pub fn step_slices(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        for (context, len) in [("AdamW params", params.len()), ("AdamW grads", grads.len())] {
            if len != self.m.len() {
                return Err(Error::DimensionMismatch {
                    context: context.into(),
                    expected: self.m.len(),
                    found: len,
                });
            }
        }
        self.steps += 1;

        let c = &self.config;
        let k = self.steps as f64;
        let decay = T::from_f64(1.0 - c.lr * c.weight_decay);
        let one_minus_beta1 = T::from_f64(1.0 - c.beta1);
        let (beta2, one_minus_beta2) = (T::from_f64(c.beta2), T::from_f64(1.0 - c.beta2));
        let step_size = T::from_f64(c.lr / (1.0 - c.beta1.powf(k)));
        let sqrt_bc2 = T::from_f64((1.0 - c.beta2.powf(k)).sqrt());
        let eps = T::from_f64(c.eps);

        let state = self.m.iter_mut().zip(self.v.iter_mut());
        for ((p, g), (m, v)) in params.iter_mut().zip(grads).zip(state) {
            *p *= decay;
            *m += one_minus_beta1 * (*g - *m);
            *v = *v * beta2 + one_minus_beta2 * *g * *g;
            let denom = v.sqrt() / sqrt_bc2 + eps;
            *p -= step_size * *m / denom;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_steps_match_the_closed_form() {
        // Two parameters, two steps, gradients g1 then g2; the update written out by hand.
        let (lr, b1, b2, eps, wd) = (0.1, 0.8, 0.9, 1e-3, 0.5);
        let config = AdamWConfig { lr, beta1: b1, beta2: b2, eps, weight_decay: wd };
        let mut opt = AdamW::<f64>::new(config, 2).unwrap();
        let mut p = vec![1.0, -2.0];
        let (g1, g2) = ([0.5, -1.0], [-0.25, 3.0]);
        opt.step_slices(&mut p, &g1).unwrap();
        opt.step_slices(&mut p, &g2).unwrap();

        for (i, p0) in [1.0f64, -2.0].into_iter().enumerate() {
            // Step 1: m1 = (1-b1) g1, v1 = (1-b2) g1^2; hat m = g1, hat v = g1^2.
            let m1 = (1.0 - b1) * g1[i];
            let v1 = (1.0 - b2) * g1[i] * g1[i];
            let p1 = p0 * (1.0 - lr * wd) - lr * g1[i] / (g1[i].abs() + eps);
            // Step 2.
            let m2 = b1 * m1 + (1.0 - b1) * g2[i];
            let v2 = b2 * v1 + (1.0 - b2) * g2[i] * g2[i];
            let m_hat = m2 / (1.0 - b1 * b1);
            let v_hat_sqrt = (v2 / (1.0 - b2 * b2)).sqrt();
            let p2 = p1 * (1.0 - lr * wd) - lr * m_hat / (v_hat_sqrt + eps);
            assert!((p[i] - p2).abs() < 1e-14, "param {i}: {} vs {p2}", p[i]);
        }
        assert_eq!(opt.steps(), 2);
    }

    #[test]
    fn rejects_bad_settings_and_lengths() {
        let bad = AdamWConfig { beta2: 1.0, ..AdamWConfig::default() };
        assert!(AdamW::<f32>::new(bad, 3).is_err());
        let mut opt = AdamW::<f32>::new(AdamWConfig::default(), 3).unwrap();
        assert!(opt.step_slices(&mut [0.0; 2], &[0.0; 3]).is_err());
        assert!(opt.set_lr(-1.0).is_err());
    }
}
