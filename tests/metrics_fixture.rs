//! flowmatching's metrics against values computed independently by scipy.
//!
//! The samples and expected values in tests/fixtures/metrics/ were made by
//! tests/fixtures/metrics/make_fixture.py (numpy default_rng(123); see the README there). W1 to
//! the mixture was computed there by adaptive quadrature of |F_n - F| piece by piece, without
//! the closed-form integrated cdf used here; KS by scipy.stats.kstest; two-sample W1 and KS by
//! scipy.stats.wasserstein_distance and ks_2samp; energy distance and MMD by dense numpy
//! distance matrices.

use std::path::PathBuf;

use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::metrics::{
    energy_distance, evaluate_1d, evaluate_nd, ks_per_dim, ks_two_sample, median_bandwidth,
    mmd2_rbf, w1_per_dim, w1_two_sample, Bandwidth, NdOptions,
};
use flowmatching::rng::Rng;
use rand::SeedableRng;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics").join(name)
}

/// Every number in a text file, line by line and comma by comma.
fn read_numbers(name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    text.lines().flat_map(|line| line.split(',')).map(|v| v.trim().parse().unwrap()).collect()
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn assert_close(what: &str, got: f64, want: f64, abs: f64) {
    assert!((got - want).abs() <= abs, "{what}: got {got:e}, scipy {want:e}, tolerance {abs:e}");
}

#[test]
fn one_d_metrics_match_scipy() {
    let x = read_numbers("x.txt");
    let want = &expected()["x_vs_mixture"];
    let m = evaluate_1d(&x, &GaussianMixture1d::notebook()).unwrap();

    assert_eq!(m.n, 2000);
    assert_close("mean", m.mean, number(&want["mean"]), 1e-13);
    assert_close("std", m.std, number(&want["std"]), 1e-13);
    // quad was asked for 1e-13 relative per piece; two independent exact methods agree far
    // below the 1e-6 relative that the trapezoid grid could resolve
    let w1 = number(&want["w1_quadrature"]);
    assert_close("w1", m.w1, w1, 1e-10 * w1);
    assert_close("w1 vs grid", m.w1, number(&want["w1_grid"]), 1e-5 * w1);
    assert_close("ks", m.ks, number(&want["ks"]), 1e-12);
    for (k, f) in m.mode_fractions.iter().enumerate() {
        assert_eq!(*f, number(&want["mode_fractions"][k]), "mode {k}");
    }
    assert_eq!(m.outside_3sigma, number(&want["outside_3sigma"]));
}

#[test]
fn one_d_two_sample_metrics_match_scipy() {
    let (x, y) = (read_numbers("x.txt"), read_numbers("y.txt"));
    let want = &expected()["x_vs_y"];
    let w1 = number(&want["w1"]);
    assert_close("w1", w1_two_sample(&x, &y).unwrap(), w1, 1e-12 * w1);
    assert_close("ks", ks_two_sample(&x, &y).unwrap(), number(&want["ks"]), 1e-15);
    // scipy.stats.energy_distance is the square root of the V-statistic
    let e = number(&want["energy_v"]);
    assert_close("energy", energy_distance(&x, &y, 1).unwrap().v_statistic, e, 1e-11 * e);
}

#[test]
fn two_d_metrics_match_numpy() {
    let (xa, ya) = (read_numbers("xa.csv"), read_numbers("ya.csv"));
    let want = &expected()["xa_vs_ya"];

    let e = energy_distance(&xa, &ya, 2).unwrap();
    assert_close("energy V", e.v_statistic, number(&want["energy_v"]), 1e-12);
    assert_close("energy U", e.u_statistic, number(&want["energy_u"]), 1e-12);

    // 500 pooled rows, under the strided-subset threshold, so every pair enters the median
    let h = number(&want["median_bandwidth"]);
    assert_close("bandwidth", median_bandwidth(&xa, &ya, 2).unwrap(), h, 1e-14);
    let mmd = mmd2_rbf(&xa, &ya, 2, Bandwidth::Median).unwrap();
    assert_close("mmd2", mmd.unbiased, number(&want["mmd2_unbiased"]), 1e-13);

    let w1 = w1_per_dim(&xa, &ya, 2).unwrap();
    let ks = ks_per_dim(&xa, &ya, 2).unwrap();
    for j in 0..2 {
        assert_close("w1 per dim", w1[j], number(&want["w1_per_dim"][j]), 1e-13);
        assert_close("ks per dim", ks[j], number(&want["ks_per_dim"][j]), 1e-15);
    }

    // the whole evaluation, below the subsampling size, reproduces the same numbers
    let all = evaluate_nd(&xa, &ya, 2, &NdOptions::default(), &mut Rng::seed_from_u64(0)).unwrap();
    assert_eq!((all.n_x_used, all.n_y_used), (300, 200));
    assert_eq!(all.energy_v, e.v_statistic);
    assert_eq!(all.mmd2, mmd.unbiased);
    assert_eq!(all.w1_per_dim, w1);
}
