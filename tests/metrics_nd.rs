//! d-dimensional metrics against closed forms for Gaussians.
//!
//! Energy distance: for X ~ N(0, I_d), Y ~ N(mu, I_d), X - Y ~ N(mu, 2 I_d) and X - X' ~
//! N(0, 2 I_d), so D^2 = 2 E|X - Y| - 2 E|X - X'| needs only the mean norm of a Gaussian:
//! in 1D the folded normal, E|N(mu, s^2)| = s sqrt(2/pi) exp(-mu^2 / 2s^2) + mu (1 - 2 Phi(-mu/s));
//! in 2D the Rice mean, s sqrt(pi/2) L_{1/2}(-nu^2 / 2s^2) with nu = |mu| and
//! L_{1/2}(q) = e^{q/2} [(1 - q) I_0(-q/2) - q I_1(-q/2)].
//!
//! MMD: for the RBF kernel of bandwidth h and A - B ~ N(delta, s^2 I_d),
//! E exp(-|A - B|^2 / 2h^2) = (h^2 / (h^2 + s^2))^{d/2} exp(-|delta|^2 / (2 (h^2 + s^2))),
//! so MMD^2 = 2 (h^2 / (h^2 + 2))^{d/2} (1 - exp(-|mu|^2 / (2 (h^2 + 2)))).
//!
//! Sliced W1 of a pure shift y_i = x_i + mu is |theta . mu| in every direction exactly, whose
//! mean over uniform directions is |mu| Gamma(d/2) / (sqrt(pi) Gamma((d + 1)/2)).
//!
//! Statistical tolerances are about 5 standard errors of the estimator at the sizes used here;
//! the standard errors were measured once over 20 seeds at n = m = 2000 and scaled by
//! 1/sqrt(n). The seeds are fixed, so the tests are deterministic.

use std::f64::consts::PI;

use flowmatching::metrics::{
    energy_distance, evaluate_nd, mmd2_rbf, sliced_w1, Bandwidth, MetricsNd, NdOptions,
};
use flowmatching::rng::Rng;
use rand::{Rng as _, SeedableRng};
use rand_distr::StandardNormal;

fn normal_rows(n: usize, mu: &[f64], rng: &mut Rng) -> Vec<f64> {
    let mut rows = Vec::with_capacity(n * mu.len());
    for _ in 0..n {
        for m in mu {
            rows.push(m + rng.sample::<f64, _>(StandardNormal));
        }
    }
    rows
}

fn phi_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// E|N(mu, s^2)| in one dimension (folded normal mean).
fn folded_normal_mean(mu: f64, s: f64) -> f64 {
    s * (2.0 / PI).sqrt() * (-mu * mu / (2.0 * s * s)).exp() + mu * (1.0 - 2.0 * phi_cdf(-mu / s))
}

/// Modified Bessel function I_nu(x) for nu = 0, 1 by its power series (small x here).
fn bessel_i(nu: i32, x: f64) -> f64 {
    let mut term = (x / 2.0).powi(nu); // (x/2)^nu / nu! with nu! = 1
    let mut sum = term;
    for k in 1..60 {
        term *= (x / 2.0).powi(2) / (k as f64 * (k + nu) as f64);
        sum += term;
    }
    sum
}

/// E|N(mu, s^2 I_2)| with |mu| = nu (Rice mean).
fn rice_mean(nu: f64, s: f64) -> f64 {
    let q = -nu * nu / (2.0 * s * s);
    let laguerre =
        (q / 2.0).exp() * ((1.0 - q) * bessel_i(0, -q / 2.0) - q * bessel_i(1, -q / 2.0));
    s * (PI / 2.0).sqrt() * laguerre
}

fn mmd2_closed_form(mu_norm: f64, h: f64, d: usize) -> f64 {
    let s2 = 2.0;
    let scale = (h * h / (h * h + s2)).powf(d as f64 / 2.0);
    2.0 * scale * (1.0 - (-mu_norm * mu_norm / (2.0 * (h * h + s2))).exp())
}

const SQRT_2: f64 = std::f64::consts::SQRT_2;

#[test]
fn closed_form_helpers_match_scipy() {
    // scipy.stats.rice(b = 1/sqrt 2, scale = sqrt 2).mean() and
    // scipy.stats.foldnorm(c = 0.8/sqrt 2, scale = sqrt 2).mean(), scipy 1.17.1
    assert!((rice_mean(1.0, SQRT_2) - 1.987_364_533_208_198_4).abs() < 1e-13);
    assert!((rice_mean(0.0, SQRT_2) - PI.sqrt()).abs() < 1e-15);
    assert!((folded_normal_mean(0.8, SQRT_2) - 1.304_255_182_876_642_7).abs() < 1e-13);
}

#[test]
fn a_sample_is_at_distance_zero_from_itself() {
    let mut rng = Rng::seed_from_u64(1);
    let x = normal_rows(500, &[0.0, 0.0, 0.0], &mut rng);
    let e = energy_distance(&x, &x, 3).unwrap();
    assert!(e.v_statistic.abs() < 1e-13, "{e:?}");
    // U-statistic of identical samples: -2 mean_{i<j} |x_i - x_j| / n, with E|X - X'| = 2.26
    // in 3D
    assert!(e.u_statistic < 0.0 && e.u_statistic > -2.0 * 2.5 / 500.0, "{e:?}");
    // unbiased MMD^2 of identical samples: -(2/n)(1 - mean off-diagonal kernel) in (-2/n, 0)
    let m = mmd2_rbf(&x, &x, 3, Bandwidth::Median).unwrap();
    assert!(m.unbiased < 0.0 && m.unbiased > -2.0 / 500.0, "{m:?}");
    assert_eq!(sliced_w1(&x, &x, 3, 16, &mut rng).unwrap(), 0.0);
}

#[test]
fn energy_distance_of_a_1d_shift_matches_the_folded_normal() {
    let mut rng = Rng::seed_from_u64(2);
    let x = normal_rows(4000, &[0.0], &mut rng);
    let y = normal_rows(4000, &[0.8], &mut rng);
    let truth = 2.0 * (folded_normal_mean(0.8, SQRT_2) - folded_normal_mean(0.0, SQRT_2));
    // standard error ~0.027 at n = 2000, ~0.019 at 4000
    let e = energy_distance(&x, &y, 1).unwrap();
    assert!((e.u_statistic - truth).abs() < 0.1, "{e:?} vs {truth}");
    assert!(e.v_statistic > e.u_statistic);
}

#[test]
fn energy_distance_and_mmd_of_a_2d_shift_match_closed_forms() {
    let mut rng = Rng::seed_from_u64(3);
    let mu = [0.6, -0.8]; // |mu| = 1
    let x = normal_rows(4000, &[0.0, 0.0], &mut rng);
    let y = normal_rows(4000, &mu, &mut rng);

    // standard error ~0.028 at n = 2000, ~0.02 at 4000
    let truth = 2.0 * (rice_mean(1.0, SQRT_2) - rice_mean(0.0, SQRT_2));
    let e = energy_distance(&x, &y, 2).unwrap();
    assert!((e.u_statistic - truth).abs() < 0.1, "{e:?} vs {truth}");

    // standard error ~0.008 at n = 2000, ~0.006 at 4000
    let fixed = mmd2_rbf(&x, &y, 2, Bandwidth::Fixed(1.0)).unwrap();
    let truth = mmd2_closed_form(1.0, 1.0, 2);
    assert!((fixed.unbiased - truth).abs() < 0.03, "{fixed:?} vs {truth}");
    let median = mmd2_rbf(&x, &y, 2, Bandwidth::Median).unwrap();
    let truth = mmd2_closed_form(1.0, median.bandwidth, 2);
    assert!((median.unbiased - truth).abs() < 0.03, "{median:?} vs {truth}");
    // the pooled sample's pairwise distances have a median near that of |N(0, 2 I)| (with a
    // little more spread from the shift): sqrt(2) sqrt(2 ln 2) = 1.665
    assert!(median.bandwidth > 1.6 && median.bandwidth < 1.9, "{median:?}");
}

#[test]
fn sliced_w1_of_an_exact_shift_matches_the_mean_projection() {
    // y = x + mu: every projection is shifted by theta . mu, so its W1 is |theta . mu| exactly,
    // and the mean over K directions estimates |mu| Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)).
    let mut rng = Rng::seed_from_u64(4);
    for (mu, k, sd_per_direction) in [
        (vec![0.7], 8, 0.0),
        (vec![1.0, 0.5], 4000, 0.31), // sd of |cos| is sqrt(1/2 - 4/pi^2)
        (vec![1.0, -1.0, 1.0], 4000, 0.289), // |theta_1| is uniform on [0, 1] in 3D
    ] {
        let d = mu.len();
        let x = normal_rows(300, &vec![0.0; d], &mut rng);
        let y: Vec<f64> = x.chunks(d).flat_map(|r| r.iter().zip(&mu).map(|(a, m)| a + m)).collect();
        let mu_norm = mu.iter().map(|m| m * m).sum::<f64>().sqrt();
        let dd = d as f64;
        let truth = mu_norm * libm::tgamma(dd / 2.0) / (PI.sqrt() * libm::tgamma((dd + 1.0) / 2.0));

        let got = sliced_w1(&x, &y, d, k, &mut rng).unwrap();
        let tolerance = 5.0 * mu_norm * sd_per_direction / (k as f64).sqrt() + 1e-12;
        assert!((got - truth).abs() <= tolerance, "d = {d}: {got} vs {truth}");
    }
}

#[test]
fn evaluation_is_reproducible_whatever_the_thread_count() {
    let mut rng = Rng::seed_from_u64(5);
    let x = normal_rows(900, &[0.0, 0.0, 0.0], &mut rng);
    let y = normal_rows(700, &[0.5, 0.0, 0.0], &mut rng);
    let options = NdOptions { max_points: 300, n_directions: 32, bandwidth: Bandwidth::Median };

    let run = |threads: usize| -> MetricsNd {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| evaluate_nd(&x, &y, 3, &options, &mut Rng::seed_from_u64(6)).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(3));
    assert_eq!((one.n_x, one.n_y, one.n_x_used, one.n_y_used), (900, 700, 300, 300));
    assert_eq!(one.w1_per_dim.len(), 3);
    // a different seed picks a different subsample
    let other = evaluate_nd(&x, &y, 3, &options, &mut Rng::seed_from_u64(7)).unwrap();
    assert_ne!(one.energy_v, other.energy_v);
}
