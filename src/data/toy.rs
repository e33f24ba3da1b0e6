//! Built-in targets p_1 (the data end of the path, t = 1; t = 0 is noise) with known structure.
//!
//! Each implements [`Target`]: a sampler driven by the caller's seeded [`Rng`] and, where a
//! closed form exists, the exact log-density, so learnt samples and likelihoods can be scored
//! against the truth. Points are row-major, `n * d` values.
//!
//! | name (for [`by_name`]) | type | d | exact log-density |
//! |---|---|---|---|
//! | `checkerboard` | [`Checkerboard`] | 2 | yes: 1/32 on 8 cells, 0 elsewhere |
//! | `moons` | [`Moons`] | 2 | no |
//! | `8gaussians` | [`EightGaussians`] | 2 | yes (a Gaussian mixture) |
//! | `rings` | [`Rings`] | 2 | yes (a Bessel-function formula) |
//! | `spiral` | [`Spiral`] | 2 | no |
//! | (from a JSON spec) | [`GaussianMixture`] | any | yes |
//!
//! Each type documents its parameters; [`by_name`] uses their `Default`.

mod checkerboard;
mod eight_gaussians;
mod gaussian_mixture;
mod moons;
mod rings;
mod spiral;

pub use checkerboard::Checkerboard;
pub use eight_gaussians::EightGaussians;
pub use gaussian_mixture::{Covariances, GaussianMixture, MixtureSpec, StdSpec};
pub use moons::Moons;
pub use rings::Rings;
pub use spiral::Spiral;

use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

use crate::data::Target;
use crate::rng::Rng;
use crate::{Error, Result};

/// The names [`by_name`] knows.
pub const NAMES: [&str; 5] = ["checkerboard", "moons", "8gaussians", "rings", "spiral"];

/// The built-in 2D target called `name` (one of [`NAMES`]), with default parameters.
pub fn by_name(name: &str) -> Result<Box<dyn Target>> {
    match name.trim().to_ascii_lowercase().as_str() {
        "checkerboard" => Ok(Box::new(Checkerboard::default())),
        "moons" => Ok(Box::new(Moons::default())),
        "8gaussians" => Ok(Box::new(EightGaussians::default())),
        "rings" => Ok(Box::new(Rings::default())),
        "spiral" => Ok(Box::new(Spiral::default())),
        _ => Err(Error::setting(
            "target",
            name,
            format!("unknown; built-in targets: {}", NAMES.join(", ")),
        )),
    }
}

/// One draw of N(0, 1).
fn normal(rng: &mut Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// One draw of U[0, 1).
fn uniform(rng: &mut Rng) -> f64 {
    rng.random::<f64>()
}

/// Checks that a parameter is finite and positive (or non-negative when `allow_zero`).
fn check_positive(name: &str, value: f64, allow_zero: bool) -> Result<()> {
    let ok = value.is_finite() && (value > 0.0 || (allow_zero && value == 0.0));
    if ok {
        return Ok(());
    }
    let bound = if allow_zero { "finite and >= 0" } else { "finite and > 0" };
    Err(Error::setting(name, value, format!("must be {bound}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_a_2d_target_and_unknown_names_list_them() {
        for name in NAMES {
            assert_eq!(by_name(name).unwrap().dim(), 2, "{name}");
        }
        let message = by_name("swirl").err().unwrap().to_string();
        assert!(message.contains("swirl") && message.contains("8gaussians"), "{message}");
    }
}
