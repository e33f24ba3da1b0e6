//! Built-in targets against their maths: sample moments against exact moments (derived in the
//! comments here, not taken from the library), exact log-densities against direct formulas and
//! against normalisation, and the checkerboard's cells against the notebook's convention.

use std::f64::consts::PI;
use std::path::Path;

use flowmatching::data::toy::{
    by_name, Checkerboard, Covariances, EightGaussians, GaussianMixture, Moons, Rings, Spiral,
    NAMES,
};
use flowmatching::data::Target;
use flowmatching::rng::{stream, Stream};

const N: usize = 200_000;

fn draw(target: &dyn Target, seed: u64) -> Vec<f64> {
    let points = target.sample(N, &mut stream(seed, Stream::Data));
    assert_eq!(points.len(), N * target.dim());
    assert!(points.iter().all(|v| v.is_finite()));
    points
}

/// Checks E[f(point)] against `expected` within 5 standard errors of the sample mean.
fn assert_expectation(
    points: &[f64],
    d: usize,
    f: impl Fn(&[f64]) -> f64,
    expected: f64,
    what: &str,
) {
    let values: Vec<f64> = points.chunks_exact(d).map(f).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let tolerance = 5.0 * (var / n).sqrt() + 1e-12;
    assert!((mean - expected).abs() < tolerance, "{what}: {mean} vs {expected} (tol {tolerance})");
}

/// Mean and covariance (x, y, xy) checks for a 2D sample.
fn assert_moments_2d(points: &[f64], mean: [f64; 2], cov: [f64; 3], what: &str) {
    let [mx, my] = mean;
    assert_expectation(points, 2, |p| p[0], mx, &format!("{what} E[x]"));
    assert_expectation(points, 2, |p| p[1], my, &format!("{what} E[y]"));
    assert_expectation(points, 2, |p| (p[0] - mx).powi(2), cov[0], &format!("{what} Var x"));
    assert_expectation(points, 2, |p| (p[1] - my).powi(2), cov[1], &format!("{what} Var y"));
    assert_expectation(points, 2, |p| (p[0] - mx) * (p[1] - my), cov[2], &format!("{what} Cov"));
}

/// Midpoint rule of exp(log p) over [-l, l]^2 with m^2 cells.
fn total_mass(target: &dyn Target, l: f64, m: usize) -> f64 {
    let h = 2.0 * l / m as f64;
    let mut mass = 0.0;
    for a in 0..m {
        for b in 0..m {
            let x = [-l + (a as f64 + 0.5) * h, -l + (b as f64 + 0.5) * h];
            mass += target.log_density(&x).unwrap().exp() * h * h;
        }
    }
    mass
}

#[test]
fn checkerboard_samples_lie_in_valid_cells_uniformly() {
    let board = Checkerboard::default();
    let points = draw(&board, 1);
    assert_eq!(board.valid_fraction(&points), 1.0);

    // Chi-square over the 8 valid cells, 7 degrees of freedom: 24.32 is its 0.999 quantile.
    let counts = board.valid_cell_counts(&points);
    let expected = N as f64 / 8.0;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
    assert!(chi2 < 24.32, "chi-square {chi2}, counts {counts:?}");

    // Cells (i, j) with i + j odd have centres c = (-3 + 2i, -3 + 2j): their x and y average 0,
    // their x^2 and y^2 average 5 and their xy averages -1. Inside a cell of side 2 the
    // variance is 4/12 per axis. So Var x = Var y = 16/3 and Cov = -1.
    assert_moments_2d(&points, [0.0, 0.0], [16.0 / 3.0, 16.0 / 3.0, -1.0], "checkerboard");
}

#[test]
fn checkerboard_matches_the_notebook_rejection_rule() {
    // The notebook keeps (x, y) when checkerboard[j, i] == 1, checkerboard = indices.sum(0) % 2,
    // i = int((x + 4) / 8 * 4), j = int((y + 4) / 8 * 4). Replay that rule on a grid.
    let board = Checkerboard::default();
    for a in 0..80 {
        for b in 0..80 {
            let (x, y) = (-4.0 + 0.1 * a as f64 + 0.05, -4.0 + 0.1 * b as f64 + 0.05);
            let i = ((x + 4.0) / 8.0 * 4.0) as usize;
            let j = ((y + 4.0) / 8.0 * 4.0) as usize;
            let notebook = (j + i) % 2 == 1;
            assert_eq!(board.in_valid_cell(x, y), notebook, "({x}, {y})");
        }
    }
}

#[test]
fn checkerboard_density_integrates_to_one() {
    let mass = total_mass(&Checkerboard::default(), 5.0, 500);
    assert!((mass - 1.0).abs() < 1e-9, "{mass}");
}

#[test]
fn moons_moments() {
    // theta ~ U[0, pi]: E cos = 0, E sin = 2/pi, E cos^2 = E sin^2 = 1/2, E cos sin = 0.
    // x is cos or 1 - cos: E x = 1/2, E x^2 = (1/2 + 3/2) / 2 = 1, Var x = 3/4 + s^2.
    // y is sin or 1/2 - sin: E y = 1/4, E y^2 = (1/2 + 1/4 - 2/pi + 1/2) / 2, so
    // Var y = 9/16 - 1/pi + s^2; E xy = (0 + 1/2 - 2/pi) / 2, Cov = 1/8 - 1/pi.
    let s: f64 = 0.1;
    let points = draw(&Moons::new(s).unwrap(), 2);
    let cov = [0.75 + s * s, 0.5625 - 1.0 / PI + s * s, 0.125 - 1.0 / PI];
    assert_moments_2d(&points, [0.5, 0.25], cov, "moons");
}

#[test]
fn eight_gaussians_moments_and_log_density() {
    let (r, s) = (3.0, 0.4);
    let target = EightGaussians::new(r, s).unwrap();
    // Eight angles 2 pi k / 8: cos^2 averages 1/2, cos sin averages 0.
    let points = draw(&target, 3);
    let v = r * r / 2.0 + s * s;
    assert_moments_2d(&points, [0.0, 0.0], [v, v, 0.0], "8gaussians");

    for x in [[0.0, 0.0], [3.0, 0.1], [-2.0, 2.2], [5.0, -4.0]] {
        let p: f64 = (0..8)
            .map(|k| {
                let a = 2.0 * PI * k as f64 / 8.0;
                let d2 = (x[0] - r * a.cos()).powi(2) + (x[1] - r * a.sin()).powi(2);
                (-d2 / (2.0 * s * s)).exp() / (2.0 * PI * s * s) / 8.0
            })
            .sum();
        let got = target.log_density(&x).unwrap();
        assert!((got - p.ln()).abs() < 1e-12, "{x:?}: {got} vs {}", p.ln());
    }
}

#[test]
fn rings_moments_and_normalisation() {
    let target = Rings::new(vec![1.0, 2.5], 0.2).unwrap();
    // |x|^2 averages mean(r^2) + 2 s^2 and splits evenly between the axes by symmetry.
    let v = (1.0 + 6.25) / 2.0 / 2.0 + 0.04;
    let points = draw(&target, 4);
    assert_moments_2d(&points, [0.0, 0.0], [v, v, 0.0], "rings");

    let mass = total_mass(&target, 4.5, 600);
    assert!((mass - 1.0).abs() < 1e-6, "{mass}");
}

#[test]
fn default_rings_density_integrates_to_one() {
    let mass = total_mass(&Rings::default(), 4.5, 900);
    assert!((mass - 1.0).abs() < 1e-6, "{mass}");
}

#[test]
fn spiral_moments() {
    // r = R sqrt(u), theta = T sqrt(u), arm sign +-1 (cancels in squares, makes the mean 0).
    // E|x|^2 = R^2 E[u] + 2 s^2; E x^2 = R^2 E[u cos^2(T sqrt u)] + s^2, by Simpson's rule.
    let (turns, radius, s) = (1.5, 3.5, 0.1);
    let t_max = 2.0 * PI * turns;
    let simpson = |f: &dyn Fn(f64) -> f64| {
        let m = 20_000;
        let h = 1.0 / m as f64;
        let inner: f64 = (1..m).map(|k| f(k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 }).sum();
        (f(0.0) + f(1.0) + inner) * h / 3.0
    };
    let xx = radius * radius * simpson(&|u| u * (t_max * u.sqrt()).cos().powi(2)) + s * s;
    let yy = radius * radius * simpson(&|u| u * (t_max * u.sqrt()).sin().powi(2)) + s * s;
    let xy =
        radius * radius * simpson(&|u| u * (t_max * u.sqrt()).sin() * (t_max * u.sqrt()).cos());
    assert!((xx + yy - (radius * radius / 2.0 + 2.0 * s * s)).abs() < 1e-9);

    let points = draw(&Spiral::new(turns, radius, s).unwrap(), 5);
    assert_moments_2d(&points, [0.0, 0.0], [xx, yy, xy], "spiral");
}

type Matrix3 = [[f64; 3]; 3];

/// The determinant and inverse of a 3 x 3 matrix by cofactors.
fn inverse_3x3(a: Matrix3) -> (f64, Matrix3) {
    let c = |i: usize, j: usize| {
        let (r0, r1) = ((i + 1) % 3, (i + 2) % 3);
        let (c0, c1) = ((j + 1) % 3, (j + 2) % 3);
        a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0]
    };
    let det = a[0][0] * c(0, 0) + a[0][1] * c(0, 1) + a[0][2] * c(0, 2);
    let inv = std::array::from_fn(|i| std::array::from_fn(|j| c(j, i) / det));
    (det, inv)
}

fn mixture_3d() -> (Vec<f64>, Vec<[f64; 3]>, Vec<Matrix3>) {
    let weights = vec![0.5, 0.3, 0.2];
    let means = vec![[0.0, 1.0, -1.0], [2.0, -1.0, 0.5], [-3.0, 0.0, 2.0]];
    let covs = vec![
        [[1.0, 0.3, 0.1], [0.3, 0.5, -0.2], [0.1, -0.2, 0.8]],
        [[0.2, 0.0, 0.0], [0.0, 2.0, 0.9], [0.0, 0.9, 1.0]],
        [[0.6, -0.25, 0.0], [-0.25, 0.4, 0.0], [0.0, 0.0, 0.3]],
    ];
    (weights, means, covs)
}

fn mixture_3d_target() -> GaussianMixture {
    let (weights, means, covs) = mixture_3d();
    let means = means.iter().map(|m| m.to_vec()).collect();
    let covs = covs.iter().map(|c| c.iter().map(|row| row.to_vec()).collect()).collect();
    GaussianMixture::new(weights, means, Covariances::Full(covs)).unwrap()
}

#[test]
fn mixture_3d_log_density_matches_the_direct_formula() {
    let (weights, means, covs) = mixture_3d();
    let target = mixture_3d_target();
    for x in [[0.0, 0.0, 0.0], [1.5, -0.5, 0.2], [-3.0, 0.4, 2.5], [6.0, 6.0, -6.0]] {
        let p: f64 = (0..3)
            .map(|k| {
                let (det, inv) = inverse_3x3(covs[k]);
                let diff: Vec<f64> = (0..3).map(|i| x[i] - means[k][i]).collect();
                let q: f64 = (0..3)
                    .flat_map(|i| (0..3).map(move |j| (i, j)))
                    .map(|(i, j)| diff[i] * inv[i][j] * diff[j])
                    .sum();
                weights[k] * (-0.5 * q).exp() / ((2.0 * PI).powi(3) * det).sqrt()
            })
            .sum();
        let got = target.log_density(&x).unwrap();
        assert!((got - p.ln()).abs() < 1e-11, "{x:?}: {got} vs {}", p.ln());
    }
}

#[test]
fn mixture_3d_sample_moments_match_the_exact_moments() {
    let (weights, means, covs) = mixture_3d();
    let mut mean = [0.0; 3];
    let mut second = [[0.0; 3]; 3];
    for k in 0..3 {
        for i in 0..3 {
            mean[i] += weights[k] * means[k][i];
            for j in 0..3 {
                second[i][j] += weights[k] * (covs[k][i][j] + means[k][i] * means[k][j]);
            }
        }
    }
    let points = draw(&mixture_3d_target(), 6);
    for i in 0..3 {
        assert_expectation(&points, 3, |p| p[i], mean[i], &format!("E x_{i}"));
        for j in 0..3 {
            let cov = second[i][j] - mean[i] * mean[j];
            let f = |p: &[f64]| (p[i] - mean[i]) * (p[j] - mean[j]);
            assert_expectation(&points, 3, f, cov, &format!("Cov {i} {j}"));
        }
    }

    let (m, c) = mixture_3d_target().moments();
    for i in 0..3 {
        assert!((m[i] - mean[i]).abs() < 1e-14);
        for j in 0..3 {
            assert!((c[i * 3 + j] - (second[i][j] - mean[i] * mean[j])).abs() < 1e-13);
        }
    }
}

#[test]
fn notebook_1d_mixture_from_json() {
    let text = r#"{"weights": [0.20, 0.30, 0.10, 0.40], "means": [[-6.0], [-2.0], [2.0], [6.0]],
                   "stds": [0.5, 0.3, 0.4, 0.6]}"#;
    let target = GaussianMixture::from_json_str(text, Path::new("notebook.json")).unwrap();
    assert_eq!(target.dim(), 1);
    let (w, mu, sd): ([f64; 4], [f64; 4], [f64; 4]) =
        ([0.2, 0.3, 0.1, 0.4], [-6.0, -2.0, 2.0, 6.0], [0.5, 0.3, 0.4, 0.6]);
    for x in [-6.5, -2.0, 0.0, 1.7, 6.2, 12.0] {
        let p: f64 = (0..4)
            .map(|k| {
                w[k] * (-(x - mu[k]) * (x - mu[k]) / (2.0 * sd[k] * sd[k])).exp()
                    / (sd[k] * (2.0 * PI).sqrt())
            })
            .sum();
        let got = target.log_density(&[x]).unwrap();
        assert!((got - p.ln()).abs() < 1e-12, "{x}: {got} vs {}", p.ln());
    }

    // E x = sum w mu = 1.4; E x^2 = sum w (sd^2 + mu^2).
    let mean: f64 = (0..4).map(|k| w[k] * mu[k]).sum();
    let var = (0..4).map(|k| w[k] * (sd[k] * sd[k] + mu[k] * mu[k])).sum::<f64>() - mean * mean;
    let points = draw(&target, 7);
    assert_expectation(&points, 1, |p| p[0], mean, "E x");
    assert_expectation(&points, 1, |p| (p[0] - mean).powi(2), var, "Var x");
}

#[test]
fn mixture_json_with_diagonal_stds_per_axis() {
    let text = r#"{"weights": [1.0], "means": [[1.0, -2.0]], "stds": [[0.5, 2.0]]}"#;
    let target = GaussianMixture::from_json_str(text, Path::new("diag.json")).unwrap();
    let x = [0.0, 1.0];
    let q = (1.0f64 / 0.5).powi(2) + (3.0f64 / 2.0).powi(2);
    let expected = -0.5 * q - (2.0 * PI).ln() - (0.5f64 * 2.0).ln();
    assert!((target.log_density(&x).unwrap() - expected).abs() < 1e-14);
}

#[test]
fn mixture_json_file_errors_name_the_file() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("data_toy_json");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("not_pd.json");
    std::fs::write(&path, r#"{"weights": [1], "means": [[0, 0]], "covs": [[[1, 3], [3, 1]]]}"#)
        .unwrap();
    let message = GaussianMixture::from_json_file(&path).unwrap_err().to_string();
    assert!(message.contains("not_pd.json: covs[0]"), "{message}");
    assert!(message.contains("not positive definite"), "{message}");

    std::fs::write(&path, "{\"weights\": [1],\n \"means\": [[0, 0]] oops}").unwrap();
    let message = GaussianMixture::from_json_file(&path).unwrap_err().to_string();
    assert!(message.contains("not_pd.json:2:"), "{message}");
}

#[test]
fn named_targets_are_seeded() {
    for name in NAMES {
        let target = by_name(name).unwrap();
        let a = target.sample(50, &mut stream(9, Stream::Data));
        let b = target.sample(50, &mut stream(9, Stream::Data));
        let c = target.sample(50, &mut stream(10, Stream::Data));
        assert_eq!(a, b, "{name}");
        assert_ne!(a, c, "{name}");
        assert!(!target.name().is_empty());
    }
}
