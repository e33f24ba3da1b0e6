//! Log-likelihoods of whole flows (network + standardisation) in data units: a closed form for a
//! network built to be a pure shift, the total mass of a trained model's density, and encoding
//! as the inverse of generation.

mod ode_support;

use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::data::standardize::Standardizer;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::likelihood::{LikelihoodOptions, Probe};
use flowmatching::model::{NetConfig, VelocityNet};
use flowmatching::path::PathSpec;
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::train::{train, DataPool, TrainConfig};
use ode_support::{shift_flow, shift_log_p};

const B: f64 = 1.25;
const M: f64 = 3.0;
const S: f64 = 2.0;

#[test]
fn a_shift_flow_has_the_shifted_gaussian_density_in_data_units() {
    let flow = shift_flow(B as f32, M, S);
    let x = [-4.0, 0.0, 2.5, 5.5, 7.0, 12.0];
    let options = [
        LikelihoodOptions::exact(Solver::dopri5(), 0),
        LikelihoodOptions::exact(Solver::Euler, 1),
        LikelihoodOptions::hutchinson(Solver::Rk4, 3, 2, Probe::Gaussian),
    ];
    for options in options {
        let result = flow.log_likelihood(&x, &options, &mut stream(1, Stream::Probe)).unwrap();
        for (x_i, log_p) in x.iter().zip(&result.log_p_1) {
            let exact = shift_log_p(*x_i, B, M, S);
            // The network sees z in f32: a relative rounding of 6e-8 in z moves log p by ~z^2 6e-8.
            assert!(
                (log_p - exact).abs() < 1e-6,
                "{}: x = {x_i}: {log_p} vs {exact}",
                options.solver
            );
        }
    }
}

/// A small network trained briefly on the standardised notebook mixture: a smooth, skewed,
/// multimodal flow with no closed form.
fn trained_flow() -> Flow {
    let mixture = GaussianMixture1d::notebook();
    let raw = mixture.sample(4000, &mut stream(3, Stream::Data));
    let standardizer = Standardizer::fit_values(&raw, 1).unwrap();
    let pool = DataPool::from_f64(1, &standardizer.forward(&raw).unwrap()).unwrap();

    let config = NetConfig { dim: 1, hidden: 16, depth: 2, t_dim: 8, ..NetConfig::default() };
    let mut net = VelocityNet::new(config, &mut stream(3, Stream::Init)).unwrap();
    let train_config = TrainConfig { steps: 300, batch: 256, ..TrainConfig::default() };
    let path = PathSpec::parse("linear").unwrap();
    train(&mut net, &pool, &path, &train_config, &mut stream(3, Stream::Train), |_| {}).unwrap();
    Flow::new(net, standardizer, FlowInfo::default()).unwrap()
}

#[test]
fn a_trained_flow_density_integrates_to_one_in_data_units() {
    let flow = trained_flow();
    let scale = flow.standardizer().scale()[0];
    assert!((scale - 1.0).abs() > 1.0, "the test needs a real change of units, s = {scale}");

    // Trapezoid rule on [-40, 40] with h = 0.02: ten standardised units either side.
    let h = 0.02;
    let x: Vec<f64> = (-2000..=2000).map(|i| i as f64 * h).collect();
    let options =
        LikelihoodOptions::exact(Solver::Dopri5 { rtol: 1e-7, atol: 1e-7, max_steps: 10_000 }, 0);
    let result = flow.log_likelihood(&x, &options, &mut stream(0, Stream::Probe)).unwrap();
    let p: Vec<f64> = result.log_p_1.iter().map(|l| l.exp()).collect();
    let mass: f64 = p.windows(2).map(|pair| 0.5 * h * (pair[0] + pair[1])).sum();
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");

    // The flow moved N(0, 1) somewhere else: the density is not the base's pushed by the
    // standardisation alone.
    let base = |x: f64| {
        let z = (x - flow.standardizer().mean()[0]) / scale;
        (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() / scale
    };
    let gap: f64 = x.iter().zip(&p).map(|(&x_i, p_i)| (p_i - base(x_i)).abs() * h).sum();
    assert!(gap > 0.05, "L1 distance to the untransformed base only {gap}");
}

#[test]
fn encoding_inverts_generation() {
    let flow = trained_flow();
    let z_0 = flow.noise(200, &mut stream(5, Stream::Sample));
    let options =
        SolveOptions::new(Solver::Dopri5 { rtol: 1e-9, atol: 1e-9, max_steps: 10_000 }, 0);
    let x_1 = flow.generate(&z_0, &options).unwrap().x;
    let codes = flow.encode(&x_1, &options).unwrap().x;
    let error = z_0.iter().zip(&codes).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    // The f32 network's rounding (about 1e-7 relative) bounds how well the two solves agree.
    assert!(error < 1e-5, "max |encode(generate(z)) - z| = {error:e}");
}
