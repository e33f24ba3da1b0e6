//! End-to-end training on the notebook's mixture: a short seeded run must find all four modes,
//! and the same seed must give the same weights and samples bit for bit.

use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::data::standardize::Standardizer;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::metrics::one_d::evaluate_1d;
use flowmatching::model::{NetConfig, VelocityNet};
use flowmatching::path::PathSpec;
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::train::{train, DataPool, TrainConfig, TrainLog};

fn short_run(seed: u64, steps: usize) -> (Flow, TrainLog) {
    let mixture = GaussianMixture1d::notebook();
    let pool = mixture.sample(20_000, &mut stream(seed, Stream::Data));
    let pool = DataPool::from_f64(1, &pool).unwrap();
    let mut net = VelocityNet::new(NetConfig::default(), &mut stream(seed, Stream::Init)).unwrap();
    let config = TrainConfig { steps, batch: 512, log_every: 100, ..TrainConfig::default() };
    let path = PathSpec::parse("linear").unwrap();
    let log =
        train(&mut net, &pool, &path, &config, &mut stream(seed, Stream::Train), |_| {}).unwrap();
    let flow = Flow::new(net, Standardizer::identity(1), FlowInfo::default()).unwrap();
    (flow, log)
}

#[test]
fn short_training_finds_all_four_modes() {
    let (flow, log) = short_run(3, 1200);
    let mixture = GaussianMixture1d::notebook();

    // The conditional flow matching loss cannot reach zero, but it must fall from its start.
    let first = log.losses.first().unwrap().1;
    let last = log.losses.last().unwrap().1;
    assert!(last < first, "loss did not fall: {first} -> {last}");

    let options = SolveOptions::new(Solver::Heun, 50);
    let solution = flow.sample(8000, &options, &mut stream(3, Stream::Sample)).unwrap();
    let m = evaluate_1d(&solution.x, &mixture).unwrap();
    for (k, (&f, &w)) in m.mode_fractions.iter().zip(mixture.weights()).enumerate() {
        assert!((f - w).abs() < 0.08, "mode {k}: fraction {f} vs weight {w}");
    }
    // An untrained network leaves the samples near N(0, 1): W1 to the mixture is about 3.
    assert!(m.w1 < 0.8, "W1 {} too large", m.w1);
}

#[test]
fn same_seed_same_weights_and_samples() {
    let (a, log_a) = short_run(11, 60);
    let (b, log_b) = short_run(11, 60);
    let (c, _) = short_run(12, 60);
    assert_eq!(log_a.losses, log_b.losses);
    assert_eq!(a.net().params(), b.net().params());
    assert_ne!(a.net().params(), c.net().params());

    let options = SolveOptions::new(Solver::Euler, 10);
    let xa = a.sample(100, &options, &mut stream(5, Stream::Sample)).unwrap().x;
    let xb = b.sample(100, &options, &mut stream(5, Stream::Sample)).unwrap().x;
    assert_eq!(xa, xb);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let (flow, _) = short_run(21, 40);
            let options = SolveOptions::new(Solver::Heun, 5);
            flow.sample(3000, &options, &mut stream(21, Stream::Sample)).unwrap().x
        })
    };
    assert_eq!(run(1), run(2));
}
