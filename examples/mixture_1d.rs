//! The notebook's 1D experiment through the library, without the command line: draw a data
//! pool from the 4-mode mixture, train the velocity network along the linear path, sample
//! with Euler and Heun from t = 0 (noise) to t = 1 (data), and score the samples against the
//! exact mixture.
//!
//! Every random number comes from the notebook's own generators (`torch.manual_seed(seed)`,
//! `np.random.seed(seed)`), drawn in the notebook's order, so with the default 2500 steps this
//! prints what `flowmatching demo` prints for seed 0 (Euler W1 0.2572, Heun W1 0.2692), which
//! is also what the PyTorch notebook gets. For independent ChaCha8 streams instead, pass
//! `flowmatching::rng::stream(seed, Stream::...)` wherever a generator is taken.
//!
//! Run with `cargo run --release --example mixture_1d [STEPS] [SEED]`.

use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::data::standardize::Standardizer;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::metrics::one_d::evaluate_1d;
use flowmatching::model::{NetConfig, VelocityNet};
use flowmatching::path::PathSpec;
use flowmatching::rng::notebook::NotebookRng;
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::train::{train, DataPool, TrainConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let steps = args.next().map_or(Ok(TrainConfig::default().steps), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(0), |a| a.parse())?;
    let mut rng =
        NotebookRng::new(seed).ok_or("the notebook's generators take seeds below 2^32")?;

    // Data: 50 000 draws of the notebook's mixture, which batches resample with replacement.
    let mixture = GaussianMixture1d::notebook();
    let pool = DataPool::from_f64(1, &mixture.sample_like_numpy(50_000, &mut rng.numpy))?;

    // Model and training: the notebook's network (PyTorch's initialisation), linear path and
    // AdamW settings. The notebook shows one batch as a table before it builds the network.
    rng.skip_preview_batch(pool.len(), 1);
    let mut net = VelocityNet::new_like_torch(NetConfig::default(), &mut rng.torch)?;
    let path = PathSpec::parse("linear")?;
    let config = TrainConfig { steps, ..TrainConfig::default() };
    let log = train(&mut net, &pool, &path, &config, &mut rng, |_| {})?;
    for (step, loss) in &log.losses {
        println!("step {step:>5}: loss {loss:.4}");
    }

    // Sampling: 20 000 points with each solver, 200 steps, the noise drawn one solver after
    // the other from where training left PyTorch's generator.
    let info = FlowInfo { path: "linear".into(), seed, train_steps: steps, ..FlowInfo::default() };
    let flow = Flow::new(net, Standardizer::identity(1), info)?;
    for solver in [Solver::Euler, Solver::Heun] {
        let samples = flow.sample(20_000, &SolveOptions::new(solver, 200), &mut rng.torch)?;

        // Evaluation against the exact mixture.
        let metrics = evaluate_1d(&samples.x, &mixture)?;
        println!("{solver}, {} NFE: W1 {:.4}, KS {:.4}", samples.nfe, metrics.w1, metrics.ks);
        let shares = metrics.mode_fractions.iter().zip(mixture.weights());
        for (k, (share, weight)) in shares.enumerate() {
            println!("  mode {}: {share:.4} of the samples (true weight {weight:.2})", k + 1);
        }
    }
    Ok(())
}
