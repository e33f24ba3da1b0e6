//! Paths on batches: x_t and u_t against finite differences, exact endpoints, closed forms and,
//! for the stochastic interpolant, the moments of x_t given (x_0, x_1).

use flowmatching::path::{
    parse_path_list, ConditionalPath, Cosine, Linear, Path, Polynomial, StochasticInterpolant,
    VariancePreserving,
};
use flowmatching::rng::{stream, Rng, Stream};
use rand_distr::{Distribution, StandardNormal};

const ALL: &str = "linear,linear:sigma_min=0.05,quadratic,poly:1,poly:4,cosine,vp,vp:0.5:3,ot,\
                   stochastic,stochastic:s=0.3,sb:s=2";

fn normals(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            z as f32
        })
        .collect()
}

/// x_t and u_t of `path` for every row at one shared time, with the noise given when stochastic.
fn at_time(path: &Path, x_0: &[f32], x_1: &[f32], eps: &[f32], t: f32) -> (Vec<f32>, Vec<f32>) {
    let n = 4;
    let ts = vec![t; n];
    let mut x_t = vec![0.0; x_0.len()];
    let mut u_t = vec![0.0; x_0.len()];
    match path {
        Path::Affine(p) => p.interpolate(x_0, x_1, &ts, &mut x_t, &mut u_t).unwrap(),
        Path::Stochastic(p) => {
            p.interpolate_with_noise(x_0, x_1, &ts, eps, &mut x_t, &mut u_t).unwrap()
        }
    }
    (x_t, u_t)
}

#[test]
fn u_t_is_the_time_derivative_of_x_t() {
    let mut rng = stream(11, Stream::Train);
    let (n, d) = (4, 3);
    let x_0 = normals(n * d, &mut rng);
    let x_1 = normals(n * d, &mut rng);
    let eps = normals(n * d, &mut rng);
    let h = 1.0f32 / 1024.0;

    for spec in parse_path_list(ALL).unwrap() {
        for k in 2..=48 {
            let t = k as f32 / 50.0;
            let (_, u_t) = at_time(&spec.path, &x_0, &x_1, &eps, t);
            let (x_plus, _) = at_time(&spec.path, &x_0, &x_1, &eps, t + h);
            let (x_minus, _) = at_time(&spec.path, &x_0, &x_1, &eps, t - h);
            for i in 0..n * d {
                let fd = (x_plus[i] as f64 - x_minus[i] as f64) / (2.0 * h as f64);
                let u = u_t[i] as f64;
                assert!((u - fd).abs() < 2e-3 * (1.0 + u.abs()), "{spec} t={t} i={i}: {u} vs {fd}");
            }
        }
    }
}

#[test]
fn endpoints_are_exact_for_linear_polynomial_and_cosine() {
    let mut rng = stream(12, Stream::Train);
    let x_0 = normals(12, &mut rng);
    let x_1 = normals(12, &mut rng);
    let paths: [Path; 4] = [
        Linear::new().into(),
        Polynomial::quadratic().into(),
        Polynomial::new(3).unwrap().into(),
        Cosine.into(),
    ];
    for path in paths {
        assert_eq!(at_time(&path, &x_0, &x_1, &[], 0.0).0, x_0, "{path:?} at t = 0");
        assert_eq!(at_time(&path, &x_0, &x_1, &[], 1.0).0, x_1, "{path:?} at t = 1");
    }
}

#[test]
fn sigma_min_path_starts_at_noise_and_ends_within_sigma_min_of_data() {
    let mut rng = stream(13, Stream::Train);
    let x_0 = normals(12, &mut rng);
    let x_1 = normals(12, &mut rng);
    let path = Path::from(Linear::with_sigma_min(0.01).unwrap());

    assert_eq!(at_time(&path, &x_0, &x_1, &[], 0.0).0, x_0);
    let (x_end, _) = at_time(&path, &x_0, &x_1, &[], 1.0);
    for i in 0..12 {
        let expected = x_1[i] as f64 + 0.01 * x_0[i] as f64;
        assert!((x_end[i] as f64 - expected).abs() < 1e-6);
    }
}

#[test]
fn variance_preserving_start_is_noise_up_to_alpha_0() {
    let mut rng = stream(14, Stream::Train);
    let x_0 = normals(12, &mut rng);
    let x_1 = normals(12, &mut rng);
    let path = Path::from(VariancePreserving::default());
    let alpha_0 = (-5.025f64).exp(); // exp(-(beta_min + (beta_max - beta_min) / 2) / 2)
    let sigma_0 = (1.0 - alpha_0 * alpha_0).sqrt();

    let (x_start, _) = at_time(&path, &x_0, &x_1, &[], 0.0);
    for i in 0..12 {
        let expected = alpha_0 * x_1[i] as f64 + sigma_0 * x_0[i] as f64;
        assert!((x_start[i] as f64 - expected).abs() < 1e-6);
        assert!((x_start[i] - x_0[i]).abs() <= 7e-3 * (x_1[i].abs() + x_0[i].abs()));
    }
}

#[test]
fn no_path_gives_a_nan_anywhere_in_the_unit_interval() {
    let mut rng = stream(15, Stream::Train);
    let (n, d) = (1001, 2);
    let x_0 = normals(n * d, &mut rng);
    let x_1 = normals(n * d, &mut rng);
    let t: Vec<f32> = (0..n).map(|k| k as f32 / (n - 1) as f32).collect();
    let mut x_t = vec![0.0; n * d];
    let mut u_t = vec![0.0; n * d];

    for spec in parse_path_list(ALL).unwrap() {
        spec.path.sample_conditional(&x_0, &x_1, &t, &mut rng, &mut x_t, &mut u_t).unwrap();
        assert!(x_t.iter().chain(&u_t).all(|v| v.is_finite()), "{spec}");
    }
}

#[test]
fn quadratic_target_is_two_one_minus_t_times_the_difference() {
    let mut rng = stream(16, Stream::Train);
    let (n, d) = (200, 3);
    let x_0 = normals(n * d, &mut rng);
    let x_1 = normals(n * d, &mut rng);
    let t: Vec<f32> = (0..n).map(|k| k as f32 / (n - 1) as f32).collect();
    let mut x_t = vec![0.0; n * d];
    let mut u_t = vec![0.0; n * d];
    let path = Path::from(Polynomial::quadratic());
    path.sample_conditional(&x_0, &x_1, &t, &mut rng, &mut x_t, &mut u_t).unwrap();

    for i in 0..n * d {
        let t_i = t[i / d] as f64;
        let (a, b) = (x_0[i] as f64, x_1[i] as f64);
        let target = 2.0 * (1.0 - t_i) * (b - a);
        let x_expected = (1.0 - t_i).powi(2) * a + (1.0 - (1.0 - t_i).powi(2)) * b;
        assert!((u_t[i] as f64 - target).abs() <= 1e-6 * (1.0 + target.abs()));
        assert!((x_t[i] as f64 - x_expected).abs() <= 1e-6 * (1.0 + x_expected.abs()));
    }
}

#[test]
fn stochastic_x_t_has_the_bridge_mean_and_variance() {
    let s = 0.7;
    let path = StochasticInterpolant::new(s, 1e-3).unwrap();
    let mut rng = stream(17, Stream::Train);
    let n = 200_000;
    let (a, b) = (-1.5f32, 2.0f32);

    for t in [0.1f32, 0.5, 0.8] {
        let x_0 = vec![a; n];
        let x_1 = vec![b; n];
        let ts = vec![t; n];
        let mut x_t = vec![0.0; n];
        let mut u_t = vec![0.0; n];
        path.sample_conditional(&x_0, &x_1, &ts, &mut rng, &mut x_t, &mut u_t).unwrap();

        let t = t as f64;
        let mu_t = (1.0 - t) * a as f64 + t * b as f64;
        let var_t = s * s * t * (1.0 - t);
        let mean = x_t.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let var = x_t.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // Five standard errors: sd/sqrt(n) for the mean, var sqrt(2/n) for the variance.
        assert!((mean - mu_t).abs() < 5.0 * (var_t / n as f64).sqrt(), "t={t}: mean {mean}");
        assert!((var - var_t).abs() < 5.0 * var_t * (2.0 / n as f64).sqrt(), "t={t}: var {var}");

        // The target in its x_t form: x_1 - x_0 + (1 - 2t) / (2t(1 - t)) (x_t - mu_t).
        let k = (1.0 - 2.0 * t) / (2.0 * t * (1.0 - t));
        for (&x, &u) in x_t.iter().zip(&u_t).take(1000) {
            let expected = (b - a) as f64 + k * (x as f64 - mu_t);
            assert!((u as f64 - expected).abs() < 1e-5, "t={t}: u {u} vs {expected}");
        }
    }
}

#[test]
fn stochastic_path_clamps_its_singular_endpoints() {
    let path = StochasticInterpolant::new(1.0, 1e-3).unwrap();
    assert_eq!(path.time_range(), (1e-3, 1.0 - 1e-3));
    let x_0 = [0.0f32; 4];
    let x_1 = [1.0f32; 4];
    let eps = [1.0f32; 4];
    let mut x_t = [0.0; 4];
    let mut u_t = [0.0; 4];
    path.interpolate_with_noise(
        &x_0,
        &x_1,
        &[0.0, 1e-3, 1.0, 1.0 - 1e-3],
        &eps,
        &mut x_t,
        &mut u_t,
    )
    .unwrap();
    assert_eq!(x_t[0], x_t[1]);
    assert_eq!(u_t[0], u_t[1]);
    assert!((x_t[2] - x_t[3]).abs() < 1e-6);
    assert!((u_t[2] - u_t[3]).abs() < 1e-3);
    // d_gamma at t_eps = (1 - 2e-3) / (2 sqrt(1e-3 (1 - 1e-3))), plus x_1 - x_0 = 1.
    let expected = 1.0 + (1.0 - 2e-3) / (2.0 * (1e-3f64 * (1.0 - 1e-3)).sqrt());
    assert!((u_t[0] as f64 - expected).abs() < 1e-4);
}

#[test]
fn sampled_times_stay_in_the_time_range() {
    let mut rng = stream(18, Stream::Train);
    let mut t = vec![0.0f32; 10_000];
    for spec in parse_path_list(ALL).unwrap() {
        let (lo, hi) = spec.path.time_range();
        spec.path.sample_times(&mut rng, &mut t);
        assert!(t.iter().all(|&t| t as f64 >= lo - 1e-7 && t as f64 <= hi + 1e-7), "{spec}");
        let mean = t.iter().map(|&t| t as f64).sum::<f64>() / t.len() as f64;
        assert!((mean - 0.5 * (lo + hi)).abs() < 0.02, "{spec}: mean time {mean}");
    }
}

#[test]
fn same_seed_same_stochastic_batch() {
    let path = Path::from(StochasticInterpolant::default());
    let run = || {
        let mut rng = stream(19, Stream::Train);
        let x_0 = normals(30, &mut rng);
        let x_1 = normals(30, &mut rng);
        let t = [0.3f32; 10];
        let mut x_t = vec![0.0; 30];
        let mut u_t = vec![0.0; 30];
        path.sample_conditional(&x_0, &x_1, &t, &mut rng, &mut x_t, &mut u_t).unwrap();
        (x_t, u_t)
    };
    assert_eq!(run(), run());
}

#[test]
fn bad_batches_are_errors() {
    let mut rng = stream(20, Stream::Train);
    let path = Path::from(Linear::new());
    let x = [0.0f32; 6];
    let mut out_a = [0.0f32; 6];
    let mut out_b = [0.0f32; 6];
    let mut short = [0.0f32; 5];

    let mut call = |x_1: &[f32], t: &[f32], x_t: &mut [f32], u_t: &mut [f32]| {
        path.sample_conditional(&x, x_1, t, &mut rng, x_t, u_t)
    };
    assert!(call(&x, &[0.5; 3], &mut out_a, &mut out_b).is_ok());
    assert!(call(&x, &[0.5; 4], &mut out_a, &mut out_b).is_err()); // 6 is not a multiple of 4
    assert!(call(&x[..5], &[0.5; 3], &mut out_a, &mut out_b).is_err());
    assert!(call(&x, &[0.5; 3], &mut short, &mut out_b).is_err());
    assert!(call(&x, &[0.5; 3], &mut out_a, &mut short).is_err());
    assert!(call(&x, &[0.5, 1.5, 0.5], &mut out_a, &mut out_b).is_err());
    assert!(call(&x, &[0.5, -0.1, 0.5], &mut out_a, &mut out_b).is_err());
    assert!(call(&x, &[f32::NAN, 0.5, 0.5], &mut out_a, &mut out_b).is_err());
    assert!(call(&[], &[], &mut [], &mut []).is_err()); // x_0 is not empty
}
