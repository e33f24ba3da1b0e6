//! Log-likelihoods against closed forms: affine fields push N(0, I) to Gaussians with known
//! mean and covariance, so log p_1 is known exactly; Hutchinson estimates are checked against
//! their documented mean and variance; a nonlinear flow's density must integrate to one.

use flowmatching::likelihood::{
    log_likelihood, log_standard_normal, Divergence, LikelihoodOptions, Probe,
};
use flowmatching::rng::{stream, Rng, Stream};
use flowmatching::solve::{FnJvpField, JvpField, Solver, TimeGrid};
use flowmatching::Error;
use rand_distr::{Distribution, StandardNormal};

/// 1D affine field v(x, t) = a(t) x + b(t) with a(t) = C t and b(t) = M t.
const C: f64 = 0.8;
const M: f64 = 1.5;

fn affine_1d() -> impl JvpField {
    FnJvpField::new(1, |t: f64, x: &[f64], dx: &[f64], v: &mut [f64], dv: &mut [f64]| {
        for p in 0..x.len() {
            v[p] = C * t * x[p] + M * t;
            dv[p] = C * t * dx[p];
        }
    })
}

/// The pushforward of N(0, 1) by the 1D affine field is N(mu_1, sigma_1^2): the log-std solves
/// s' = a(t), so s_1 = C/2, and the mean solves mu' = C t mu + M t, so
/// mu_1 = (M / C)(exp(C / 2) - 1).
fn affine_1d_log_p_1(x: f64) -> f64 {
    let s_1 = C / 2.0;
    let mu_1 = M / C * (s_1.exp() - 1.0);
    let z = (x - mu_1) / s_1.exp();
    -0.5 * (2.0 * std::f64::consts::PI).ln() - s_1 - 0.5 * z * z
}

const POINTS_1D: [f64; 6] = [-2.0, -0.5, 0.3, 1.1, 2.4, 4.0];

fn tight_dopri5() -> Solver {
    Solver::Dopri5 { rtol: 1e-11, atol: 1e-12, max_steps: 10_000 }
}

fn rng() -> Rng {
    stream(11, Stream::Probe)
}

/// Largest |log p_1 - closed form| over the points.
fn max_error(log_p_1: &[f64], exact: impl Fn(usize) -> f64) -> f64 {
    log_p_1.iter().enumerate().map(|(i, value)| (value - exact(i)).abs()).fold(0.0, f64::max)
}

#[test]
fn exact_divergence_matches_the_1d_affine_closed_form() {
    for options in
        [LikelihoodOptions::exact(Solver::Rk4, 200), LikelihoodOptions::exact(tight_dopri5(), 0)]
    {
        let result = log_likelihood(&mut affine_1d(), &POINTS_1D, &options, &mut rng()).unwrap();
        let error = max_error(&result.log_p_1, |i| affine_1d_log_p_1(POINTS_1D[i]));
        assert!(error < 1e-8, "{}: {error:e}", options.solver);

        // The reverse solve lands on x_0 = (x_1 - mu_1) exp(-s_1), and l(0) = ∫ C t dt = C/2.
        let mu_1 = M / C * ((C / 2.0).exp() - 1.0);
        for (x_0, x_1) in result.x_0.iter().zip(POINTS_1D) {
            assert!((x_0 - (x_1 - mu_1) * (-C / 2.0).exp()).abs() < 1e-9);
        }
        for div in &result.integrated_divergence {
            assert!((div - C / 2.0).abs() < 1e-9, "{div}");
        }
    }
}

#[test]
fn every_solver_converges_to_the_closed_form_at_its_order() {
    let error = |solver: Solver, steps: usize| {
        let options = LikelihoodOptions::exact(solver, steps);
        let result = log_likelihood(&mut affine_1d(), &POINTS_1D, &options, &mut rng()).unwrap();
        max_error(&result.log_p_1, |i| affine_1d_log_p_1(POINTS_1D[i]))
    };
    for solver in [Solver::Euler, Solver::Midpoint, Solver::Heun, Solver::Rk4] {
        let order = (error(solver, 32) / error(solver, 64)).log2();
        let expected = solver.order() as f64;
        assert!((order - expected).abs() < 0.2, "{solver}: observed order {order}");
    }
    for rtol in [1e-4, 1e-6, 1e-8] {
        let solver = Solver::Dopri5 { rtol, atol: rtol, max_steps: 10_000 };
        let e = error(solver, 0);
        assert!(e < 10.0 * rtol, "dopri5 rtol {rtol:e}: error {e:e}");
    }
}

/// exp(M) for a 2x2 matrix (row-major) by Cayley-Hamilton: with s = tr M / 2 and
/// q^2 = s^2 - det M, exp(M) = e^s (cosh q I + sinh(q)/q (M - s I)), or cos/sin if q^2 < 0.
fn expm2(m: [f64; 4]) -> [f64; 4] {
    let s = (m[0] + m[3]) / 2.0;
    let q2 = s * s - (m[0] * m[3] - m[1] * m[2]);
    let (even, odd) = if q2 > 0.0 {
        let q = q2.sqrt();
        (q.cosh(), q.sinh() / q)
    } else if q2 < 0.0 {
        let q = (-q2).sqrt();
        (q.cos(), q.sin() / q)
    } else {
        (1.0, 1.0)
    };
    let e = s.exp();
    [e * (even + odd * (m[0] - s)), e * odd * m[1], e * odd * m[2], e * (even + odd * (m[3] - s))]
}

fn mat_vec(m: [f64; 4], x: [f64; 2]) -> [f64; 2] {
    [m[0] * x[0] + m[1] * x[1], m[2] * x[0] + m[3] * x[1]]
}

fn inverse(m: [f64; 4]) -> [f64; 4] {
    let det = m[0] * m[3] - m[1] * m[2];
    [m[3] / det, -m[1] / det, -m[2] / det, m[0] / det]
}

/// The constant 2D affine field v = A x + b.
fn affine_2d(a: [f64; 4], b: [f64; 2]) -> impl JvpField {
    FnJvpField::new(2, move |_t: f64, x: &[f64], dx: &[f64], v: &mut [f64], dv: &mut [f64]| {
        for p in 0..x.len() / 2 {
            let row = [x[2 * p], x[2 * p + 1]];
            let tangent = [dx[2 * p], dx[2 * p + 1]];
            let (av, adx) = (mat_vec(a, row), mat_vec(a, tangent));
            v[2 * p..2 * p + 2].copy_from_slice(&[av[0] + b[0], av[1] + b[1]]);
            dv[2 * p..2 * p + 2].copy_from_slice(&adx);
        }
    })
}

/// x_1 = e^A x_0 + mu with mu = A^{-1} (e^A - I) b, so x_0 = e^{-A} (x_1 - mu) and
/// log p_1(x_1) = log N(x_0; 0, I) - log det e^A = log N(x_0; 0, I) - tr A.
fn affine_2d_log_p_1(a: [f64; 4], b: [f64; 2], x_1: [f64; 2]) -> f64 {
    let exp_a = expm2(a);
    let exp_minus_a = expm2(a.map(|entry| -entry));
    let shifted = [exp_a[0] - 1.0, exp_a[1], exp_a[2], exp_a[3] - 1.0];
    let mu = mat_vec(inverse(a), mat_vec(shifted, b));
    let x_0 = mat_vec(exp_minus_a, [x_1[0] - mu[0], x_1[1] - mu[1]]);
    log_standard_normal(&x_0) - (a[0] + a[3])
}

/// Non-diagonal matrices: complex eigenvalues (a spiral) and real ones (a shear).
const MATRICES: [[f64; 4]; 2] = [[0.3, 0.9, -0.4, -0.2], [0.5, 1.2, 0.3, -0.4]];
const SHIFT: [f64; 2] = [0.5, -1.0];
const POINTS_2D: [f64; 8] = [0.0, 0.0, 1.5, -0.3, -2.0, 0.7, 0.4, 2.5];

#[test]
fn exact_divergence_matches_the_2d_affine_closed_form() {
    for a in MATRICES {
        for options in [
            LikelihoodOptions::exact(Solver::Rk4, 200),
            LikelihoodOptions::exact(tight_dopri5(), 0),
        ] {
            let mut field = affine_2d(a, SHIFT);
            let result = log_likelihood(&mut field, &POINTS_2D, &options, &mut rng()).unwrap();
            let exact =
                |i: usize| affine_2d_log_p_1(a, SHIFT, [POINTS_2D[2 * i], POINTS_2D[2 * i + 1]]);
            let error = max_error(&result.log_p_1, exact);
            assert!(error < 1e-8, "A = {a:?}, {}: {error:e}", options.solver);
            assert_eq!(result.jvps, 2 * result.nfe);
        }
    }
}

#[test]
fn the_closed_form_helper_is_itself_consistent() {
    // exp(A) exp(-A) = I, and the 2D density integrates to one on a grid.
    for a in MATRICES {
        let (p, q) = (expm2(a), expm2(a.map(|entry| -entry)));
        let product = [
            p[0] * q[0] + p[1] * q[2],
            p[0] * q[1] + p[1] * q[3],
            p[2] * q[0] + p[3] * q[2],
            p[2] * q[1] + p[3] * q[3],
        ];
        for (value, identity) in product.iter().zip([1.0, 0.0, 0.0, 1.0]) {
            assert!((value - identity).abs() < 1e-14);
        }
        let h = 0.05;
        let mut mass = 0.0;
        for i in -300..=300 {
            for j in -300..=300 {
                mass += affine_2d_log_p_1(a, SHIFT, [i as f64 * h, j as f64 * h]).exp() * h * h;
            }
        }
        assert!((mass - 1.0).abs() < 1e-9, "{mass}");
    }
}

#[test]
fn rademacher_hutchinson_is_exact_in_one_dimension() {
    // eps^2 = 1, so eps J eps = J whatever the probe.
    let exact = log_likelihood(
        &mut affine_1d(),
        &POINTS_1D,
        &LikelihoodOptions::exact(Solver::Rk4, 50),
        &mut rng(),
    )
    .unwrap();
    let options = LikelihoodOptions::hutchinson(Solver::Rk4, 50, 3, Probe::Rademacher);
    let estimate = log_likelihood(&mut affine_1d(), &POINTS_1D, &options, &mut rng()).unwrap();
    assert!(max_error(&estimate.log_p_1, |i| exact.log_p_1[i]) < 1e-12);
    assert_eq!(estimate.jvps, 3 * estimate.nfe);
    assert_eq!(estimate.nfe, 4 * 50);
}

/// Per-point Hutchinson errors (estimate minus exact log p_1) for the constant field A x + b on
/// n random points. With A constant, ∫_0^1 J dt = A and the error is
/// tr A - mean_m eps_m^T A eps_m.
fn hutchinson_errors(a: [f64; 4], probes: usize, probe: Probe, n: usize) -> Vec<f64> {
    let mut rng = stream(5, Stream::Eval);
    let x_1: Vec<f64> = (0..2 * n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            1.5 * z
        })
        .collect();
    let exact = log_likelihood(
        &mut affine_2d(a, SHIFT),
        &x_1,
        &LikelihoodOptions::exact(Solver::Rk4, 10),
        &mut rng,
    )
    .unwrap();
    let options = LikelihoodOptions::hutchinson(Solver::Rk4, 10, probes, probe);
    let mut probe_rng = stream(7, Stream::Probe);
    let estimate =
        log_likelihood(&mut affine_2d(a, SHIFT), &x_1, &options, &mut probe_rng).unwrap();
    estimate.log_p_1.iter().zip(&exact.log_p_1).map(|(e, x)| e - x).collect()
}

#[test]
fn hutchinson_is_unbiased_with_the_documented_variance() {
    let (n, probes) = (4000, 4);
    for a in MATRICES {
        // S = (A + A^T) / 2; Var per probe: 2 ||S||_F^2 (Gaussian), 2 (||S||_F^2 - sum S_ii^2)
        // (Rademacher).
        let off = (a[1] + a[2]) / 2.0;
        let diagonal = a[0] * a[0] + a[3] * a[3];
        for (probe, variance) in [
            (Probe::Gaussian, 2.0 * (diagonal + 2.0 * off * off)),
            (Probe::Rademacher, 4.0 * off * off),
        ] {
            let errors = hutchinson_errors(a, probes, probe, n);
            let mean = errors.iter().sum::<f64>() / n as f64;
            let sample_variance =
                errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let expected = variance / probes as f64;
            let standard_error = (expected / n as f64).sqrt();
            assert!(mean.abs() < 4.0 * standard_error, "{probe}, A = {a:?}: mean {mean}");
            let ratio = sample_variance / expected;
            assert!((ratio - 1.0).abs() < 0.15, "{probe}, A = {a:?}: variance ratio {ratio}");
        }
    }
}

#[test]
fn rademacher_estimates_take_only_the_values_the_probes_allow() {
    // In 2D, eps^T A eps = tr A + (A_12 + A_21) eps_1 eps_2, so the mean over k probes is
    // tr A + (A_12 + A_21) j / k with j an integer of the parity of k and |j| <= k.
    let a = MATRICES[0];
    let probes = 3;
    for error in hutchinson_errors(a, probes, Probe::Rademacher, 200) {
        let j = -error * probes as f64 / (a[1] + a[2]);
        assert!((j - j.round()).abs() < 1e-9, "{j}");
        assert!(j.round().abs() <= probes as f64 && (j.round() as i64 - 3) % 2 == 0, "{j}");
    }
}

#[test]
fn the_same_seed_gives_the_same_estimate() {
    let options = LikelihoodOptions::hutchinson(Solver::Heun, 20, 2, Probe::Gaussian);
    let run = |seed: u64| {
        let mut field = affine_2d(MATRICES[1], SHIFT);
        let mut rng = stream(seed, Stream::Probe);
        log_likelihood(&mut field, &POINTS_2D, &options, &mut rng).unwrap().log_p_1
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn a_nonlinear_flow_gives_a_density_that_integrates_to_one() {
    // v = 1.5 t sin(2x) + 0.3 x - 0.5 bends N(0, 1) into a skewed, multimodal density with no
    // closed form; its total mass must still be one.
    let mut field =
        FnJvpField::new(1, |t: f64, x: &[f64], dx: &[f64], v: &mut [f64], dv: &mut [f64]| {
            for p in 0..x.len() {
                v[p] = 1.5 * t * (2.0 * x[p]).sin() + 0.3 * x[p] - 0.5;
                dv[p] = (3.0 * t * (2.0 * x[p]).cos() + 0.3) * dx[p];
            }
        });
    let h = 0.01;
    let grid: Vec<f64> = (-1500..=1500).map(|i| i as f64 * h).collect();
    let options = LikelihoodOptions::exact(Solver::Rk4, 100);
    let result = log_likelihood(&mut field, &grid, &options, &mut rng()).unwrap();
    let mass: f64 = result.log_p_1.iter().map(|l| l.exp() * h).sum();
    assert!((mass - 1.0).abs() < 1e-6, "{mass}");
}

#[test]
fn an_explicit_grid_must_run_from_one_to_zero() {
    let mut options = LikelihoodOptions::exact(Solver::Rk4, 0);
    options.grid = TimeGrid::Explicit(vec![1.0, 0.6, 0.2, 0.0]);
    assert!(log_likelihood(&mut affine_1d(), &POINTS_1D, &options, &mut rng()).is_ok());
    options.grid = TimeGrid::Explicit(vec![0.0, 0.5, 1.0]);
    let result = log_likelihood(&mut affine_1d(), &POINTS_1D, &options, &mut rng());
    assert!(matches!(result, Err(Error::InvalidSetting { .. })));
}

#[test]
fn bad_inputs_are_rejected() {
    let zero_probes = LikelihoodOptions {
        solver: Solver::Rk4,
        grid: TimeGrid::uniform(10),
        divergence: Divergence::Hutchinson { probes: 0, probe: Probe::Rademacher },
    };
    let result = log_likelihood(&mut affine_1d(), &POINTS_1D, &zero_probes, &mut rng());
    assert!(matches!(result, Err(Error::InvalidSetting { .. })));

    let mut field = affine_2d(MATRICES[0], SHIFT);
    let options = LikelihoodOptions::exact(Solver::Rk4, 10);
    let result = log_likelihood(&mut field, &[1.0, 2.0, 3.0], &options, &mut rng());
    assert!(matches!(result, Err(Error::InvalidSetting { .. })));

    let result = log_likelihood(&mut affine_1d(), &[f64::NAN], &options, &mut rng());
    assert!(matches!(result, Err(Error::NonFinite { .. })));
}
