//! Per-column standardisation, fitted on training data.
//!
//! Flow matching starts from p_0 = N(0, I) (t = 0 is noise, t = 1 is data), so it learns best
//! when each data coordinate has a scale near 1. For column j, with mean m_j and population
//! standard deviation s_j (dividing by n) of the training rows:
//!
//! ```text
//! forward:  z_j = (x_j - m_j) / s_j
//! inverse:  x_j = m_j + s_j z_j
//! log |det dz/dx| = -sum_j ln s_j
//! ```
//!
//! so a density learnt in standardised units converts to data units as
//! `log p_x(x) = log p_z(z) + log_det_forward()` ([`Standardizer::log_density_in_data_units`]).
//!
//! A constant column (every training value equal) gets s_j = 1, not 0: it maps to exactly 0 and
//! back, never to NaN or infinity, and adds nothing to the log-determinant. Its density in data
//! units is then that of a unit-width coordinate, since a point mass has none.
//!
//! The fitted transform serialises with serde (e.g. as JSON in checkpoint metadata); reading it
//! back checks that the lengths agree and that every scale is finite and positive.

use serde::{Deserialize, Serialize};

use crate::data::loader::Dataset;
use crate::{Error, Result};

/// A fitted per-column affine map z = (x - mean) / scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StandardizerFields")]
pub struct Standardizer {
    mean: Vec<f64>,
    scale: Vec<f64>,
    constant: Vec<bool>,
}

/// The serialised form, checked by `TryFrom` before it becomes a [`Standardizer`].
#[derive(Deserialize)]
struct StandardizerFields {
    mean: Vec<f64>,
    scale: Vec<f64>,
    constant: Vec<bool>,
}

impl TryFrom<StandardizerFields> for Standardizer {
    type Error = Error;

    fn try_from(fields: StandardizerFields) -> Result<Self> {
        let d = fields.mean.len();
        for (name, found) in [("scale", fields.scale.len()), ("constant", fields.constant.len())] {
            if found != d {
                let context = format!("standardizer {name} (against its mean)");
                return Err(Error::DimensionMismatch { context, expected: d, found });
            }
        }
        for j in 0..d {
            let (m, s) = (fields.mean[j], fields.scale[j]);
            if !(m.is_finite() && s.is_finite() && s > 0.0) {
                let reason = "means must be finite and scales finite and positive";
                return Err(Error::setting(
                    format!("standardizer column {j}"),
                    format!("mean {m}, scale {s}"),
                    reason,
                ));
            }
        }
        Ok(Standardizer { mean: fields.mean, scale: fields.scale, constant: fields.constant })
    }
}

impl Standardizer {
    /// Fits mean and population std of each column of `data`.
    pub fn fit(data: &Dataset) -> Result<Self> {
        Self::fit_values(&data.values, data.d)
    }

    /// Fits on row-major `values` with `d` columns (at least one row).
    pub fn fit_values(values: &[f64], d: usize) -> Result<Self> {
        if d == 0 || values.is_empty() || values.len() % d != 0 {
            return Err(Error::DimensionMismatch {
                context: format!("standardizer fit ({} values, d = {d})", values.len()),
                expected: d.max(1),
                found: values.len(),
            });
        }

        let mut fitted = Standardizer { mean: vec![], scale: vec![], constant: vec![] };
        for j in 0..d {
            let column: Vec<f64> = values.iter().skip(j).step_by(d).copied().collect();
            let (mean, scale, constant) = fit_column(&column).ok_or_else(|| Error::NonFinite {
                context: format!("standardizer fit, column {j}"),
            })?;
            fitted.mean.push(mean);
            fitted.scale.push(scale);
            fitted.constant.push(constant);
        }
        Ok(fitted)
    }

    /// The identity transform in dimension `d` (mean 0, scale 1).
    pub fn identity(d: usize) -> Self {
        Standardizer { mean: vec![0.0; d], scale: vec![1.0; d], constant: vec![false; d] }
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Column means m_j.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Column scales s_j (1 for constant columns).
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// Indices of the columns that were constant in the training data.
    pub fn constant_columns(&self) -> Vec<usize> {
        (0..self.dim()).filter(|&j| self.constant[j]).collect()
    }

    /// z = (x - m) / s, in place, on row-major values with d columns.
    pub fn forward_in_place(&self, values: &mut [f64]) -> Result<()> {
        self.check_width(values.len(), "standardizer forward")?;
        for row in values.chunks_mut(self.dim()) {
            for (j, x) in row.iter_mut().enumerate() {
                *x = (*x - self.mean[j]) / self.scale[j];
            }
        }
        Ok(())
    }

    /// x = m + s z, in place, on row-major values with d columns.
    pub fn inverse_in_place(&self, values: &mut [f64]) -> Result<()> {
        self.check_width(values.len(), "standardizer inverse")?;
        for row in values.chunks_mut(self.dim()) {
            for (j, z) in row.iter_mut().enumerate() {
                *z = self.mean[j] + self.scale[j] * *z;
            }
        }
        Ok(())
    }

    /// The forward map applied to a copy of `values`.
    pub fn forward(&self, values: &[f64]) -> Result<Vec<f64>> {
        let mut z = values.to_vec();
        self.forward_in_place(&mut z)?;
        Ok(z)
    }

    /// The inverse map applied to a copy of `values`.
    pub fn inverse(&self, values: &[f64]) -> Result<Vec<f64>> {
        let mut x = values.to_vec();
        self.inverse_in_place(&mut x)?;
        Ok(x)
    }

    /// log |det dz/dx| = -sum_j ln s_j, the same at every point.
    pub fn log_det_forward(&self) -> f64 {
        -self.scale.iter().map(|s| s.ln()).sum::<f64>()
    }

    /// log p_x(x) from log p_z(z) at z = forward(x): `log_p_z + log_det_forward()`.
    pub fn log_density_in_data_units(&self, log_p_z: f64) -> f64 {
        log_p_z + self.log_det_forward()
    }

    fn check_width(&self, len: usize, context: &str) -> Result<()> {
        if self.dim() == 0 || len % self.dim() != 0 {
            let context = format!("{context} ({len} values)");
            return Err(Error::DimensionMismatch { context, expected: self.dim(), found: len });
        }
        Ok(())
    }
}

/// (mean, scale, constant) of one column; `None` if a statistic is not finite.
///
/// The mean sums x_i / n, which cannot overflow for finite x_i; the std is computed relative to
/// the largest deviation, so it neither underflows nor overflows.
fn fit_column(column: &[f64]) -> Option<(f64, f64, bool)> {
    let n = column.len() as f64;
    let first = column[0];
    if column.iter().all(|&x| x == first) {
        return first.is_finite().then_some((first, 1.0, true));
    }

    let mean: f64 = column.iter().map(|x| x / n).sum();
    let largest = column.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max);
    let mean_square: f64 = column.iter().map(|x| ((x - mean) / largest).powi(2)).sum::<f64>() / n;
    let std = largest * mean_square.sqrt();
    (mean.is_finite() && std.is_finite() && std > 0.0).then_some((mean, std, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_matches_two_pass_formula() {
        let values = [1.0, 10.0, 2.0, 20.0, 4.0, 60.0];
        let s = Standardizer::fit_values(&values, 2).unwrap();
        let mean_0: f64 = 7.0 / 3.0;
        let var_0 =
            ((1.0 - mean_0).powi(2) + (2.0 - mean_0).powi(2) + (4.0 - mean_0).powi(2)) / 3.0;
        assert!((s.mean()[0] - mean_0).abs() < 1e-14);
        assert!((s.scale()[0] - var_0.sqrt()).abs() < 1e-14);
        assert!((s.mean()[1] - 30.0).abs() < 1e-13);
        assert!((s.scale()[1] - (1400.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn standardised_columns_have_mean_0_std_1_and_round_trip() {
        let values: Vec<f64> =
            (0..300).map(|k| ((k * 37 % 101) as f64).sin() * 5.0 + k as f64).collect();
        let s = Standardizer::fit_values(&values, 3).unwrap();
        let z = s.forward(&values).unwrap();
        for j in 0..3 {
            let col: Vec<f64> = z.iter().skip(j).step_by(3).copied().collect();
            let m = col.iter().sum::<f64>() / 100.0;
            let v = col.iter().map(|z| (z - m).powi(2)).sum::<f64>() / 100.0;
            assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12, "column {j}: {m} {v}");
        }
        let back = s.inverse(&z).unwrap();
        for (a, b) in back.iter().zip(&values) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
        }
    }

    #[test]
    fn constant_column_has_scale_one_and_maps_to_zero() {
        let values = [0.1, 1.0, 0.1, 2.0, 0.1, 3.0];
        let s = Standardizer::fit_values(&values, 2).unwrap();
        assert_eq!(s.scale()[0], 1.0);
        assert_eq!(s.constant_columns(), vec![0]);
        let z = s.forward(&values).unwrap();
        assert!(z.iter().all(|v| v.is_finite()));
        assert_eq!([z[0], z[2], z[4]], [0.0; 3]);
        assert_eq!(s.inverse(&z).unwrap()[0], 0.1);
        assert_eq!(s.log_det_forward(), -s.scale()[1].ln());
    }

    #[test]
    fn tiny_and_huge_spreads_stay_finite() {
        let tiny = Standardizer::fit_values(&[1e-310, 2e-310, 3e-310], 1).unwrap();
        assert!(tiny.scale()[0] > 0.0 && tiny.scale()[0].is_finite());
        let huge = Standardizer::fit_values(&[1e300, -1e300, 5e299], 1).unwrap();
        assert!(huge.scale()[0].is_finite());
        assert!(Standardizer::fit_values(&[f64::MAX, -f64::MAX, f64::MAX], 1).is_err());
    }

    #[test]
    fn log_det_is_that_of_the_jacobian() {
        let s = Standardizer::fit_values(&[0.0, 0.0, 2.0, 8.0], 2).unwrap();
        // scales 1 and 4: dz/dx = diag(1, 1/4), log det = -ln 4.
        assert!((s.log_det_forward() + 4f64.ln()).abs() < 1e-15);
        assert!((s.log_density_in_data_units(-1.0) - (-1.0 - 4f64.ln())).abs() < 1e-15);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let s = Standardizer::fit_values(&[1.0, 2.0, 3.0, 5.0], 2).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Standardizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);

        let bad_scale = r#"{"mean":[0.0],"scale":[0.0],"constant":[false]}"#;
        assert!(serde_json::from_str::<Standardizer>(bad_scale).is_err());
        let bad_len = r#"{"mean":[0.0,1.0],"scale":[1.0],"constant":[false,false]}"#;
        assert!(serde_json::from_str::<Standardizer>(bad_len).is_err());
    }

    #[test]
    fn width_mismatch_is_an_error() {
        let s = Standardizer::identity(2);
        assert!(s.forward(&[1.0, 2.0, 3.0]).is_err());
        assert!(Standardizer::fit_values(&[1.0, 2.0, 3.0], 2).is_err());
    }
}
