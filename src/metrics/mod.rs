//! Sample-quality metrics against an exact target or a reference sample.
//!
//! - [`one_d`]: a 1D sample against the exact
//!   [`GaussianMixture1d`](crate::data::mixture::GaussianMixture1d)
//!   (exact W1, KS, mode fractions, 3-sigma leakage, the sampling-noise floor), and 1D
//!   two-sample W1 and KS;
//! - [`nd`]: a d-dimensional sample against a reference sample (energy distance, RBF MMD^2,
//!   sliced W1, per-dimension W1 and KS);
//! - [`straightness`]: how far a flow's trajectories are from straight lines (fewer solver steps
//!   needed the straighter they are).
//!
//! All metrics are computed in f64 and refuse NaN or infinite samples with
//! [`Error::NonFinite`](crate::Error::NonFinite) rather than returning a NaN.

pub mod nd;
pub mod one_d;
pub mod straightness;

pub use nd::{
    energy_distance, evaluate_nd, ks_per_dim, median_bandwidth, mmd2_rbf, sliced_w1,
    subsample_rows, w1_per_dim, Bandwidth, EnergyDistance, MetricsNd, Mmd2, NdOptions,
};
pub use one_d::{
    evaluate_1d, ks_to_mixture, ks_two_sample, noise_floor, w1_to_mixture, w1_two_sample,
    Metrics1d, NoiseFloor1d,
};
