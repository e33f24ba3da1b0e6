//! Timing printouts for the network engine (ignored by default; never asserts on time).
//!
//! Run: `cargo test --release --test model_bench -- --ignored --nocapture`

use std::time::Instant;

use flowmatching::model::{AdamW, AdamWConfig, Grads, NetConfig, VelocityNet, Workspace};
use flowmatching::rng::{stream, Stream};
use rand::Rng as _;

/// Seconds of CPU time this process has used (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Times `reps` calls of `f` in ten batches: (fastest batch's wall ms per call, CPU ms per
/// call over all batches). On a shared machine the fastest batch is the best estimate of an
/// unloaded run.
fn time_it(reps: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let batches = 10;
    let per_batch = reps.div_ceil(batches);
    let cpu_start = cpu_seconds();
    let mut best = f64::INFINITY;
    for b in 0..batches {
        let wall = Instant::now();
        for i in 0..per_batch {
            f(b * per_batch + i);
        }
        best = best.min(wall.elapsed().as_secs_f64() / per_batch as f64);
    }
    let cpu = (cpu_seconds() - cpu_start) / (batches * per_batch) as f64;
    (best * 1e3, cpu * 1e3)
}

fn setup() -> (VelocityNet<f32>, rand_chacha::ChaCha8Rng) {
    let mut rng = stream(0, Stream::Init);
    let net = VelocityNet::<f32>::new(NetConfig::default(), &mut rng).unwrap();
    (net, rng)
}

#[test]
#[ignore = "timing printout, run by hand"]
fn time_training_step() {
    let (mut net, mut rng) = setup();
    let mut opt = AdamW::new(AdamWConfig::default(), net.num_params()).unwrap();
    let mut grads = Grads::new(&net);
    let mut ws = Workspace::new();

    let n = 1024;
    let x: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 8.0 - 4.0).collect();
    let t: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
    let y: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 8.0 - 4.0).collect();
    let steps = 2000;
    for _ in 0..50 {
        net.loss_and_grad(&x, &t, &y, &mut grads, &mut ws).unwrap();
    }
    let threads = rayon::current_num_threads();
    println!("{threads} threads; fastest-batch wall ms per call (CPU ms per call, all threads)");
    let (wall, cpu) = time_it(steps, |_| {
        net.loss_and_grad(&x, &t, &y, &mut grads, &mut ws).unwrap();
        opt.step(&mut net, &grads).unwrap();
    });
    println!("training step (loss_and_grad + AdamW), batch {n}: {wall:.3} ms ({cpu:.3})");
    let mut out = vec![0.0f32; n];
    let (wall, cpu) = time_it(steps, |_| net.forward(&x, &t, &mut out, &mut ws).unwrap());
    println!("  forward alone: {wall:.3} ms ({cpu:.3})");
}

#[test]
#[ignore = "timing printout, run by hand"]
fn time_sampling() {
    let (net, mut rng) = setup();
    let mut ws = Workspace::new();
    let m = 20_000;
    let xs: Vec<f32> = (0..m).map(|_| rng.random::<f32>() * 8.0 - 4.0).collect();
    let mut vs = vec![0.0f32; m];
    net.forward_shared_t(&xs, 0.5, &mut vs, &mut ws).unwrap();
    let calls = 400;
    let threads = rayon::current_num_threads();
    println!("{threads} threads; fastest-batch wall ms per call (CPU ms per call, all threads)");
    let (wall, cpu) = time_it(calls, |s| {
        net.forward_shared_t(&xs, s as f32 / calls as f32, &mut vs, &mut ws).unwrap();
    });
    let heun = wall * calls as f64 / 1e3;
    println!("forward_shared_t, {m} rows: {wall:.3} ms ({cpu:.3})");
    println!("  {calls} calls (Heun, 200 steps of 2 evaluations): {heun:.3} s");
    let mut dvs = vec![0.0f32; m];
    let ones = vec![1.0f32; m];
    let (wall, cpu) = time_it(100, |s| {
        net.forward_jvp(&xs, s as f32 / 100.0, &ones, &mut vs, &mut dvs, &mut ws).unwrap();
    });
    println!("forward_jvp, {m} rows: {wall:.3} ms ({cpu:.3})");
}
