//! The notebook's generators against what PyTorch and NumPy drew (tests/fixtures/notebook_rng/,
//! written by make_fixture.py there with torch 2.15.0 and numpy 2.4.6).
//!
//! Uniforms, indices and initial weights must match exactly. Normals go through the C
//! library's log, cos and sin, which may differ in the last bit between libraries, so they are
//! held to a few ulps.

use std::path::Path;

use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::data::toy::Checkerboard;
use flowmatching::data::Target as _;
use flowmatching::model::{NetConfig, VelocityNet};
use flowmatching::rng::notebook::{NotebookRng, NumpyRandomState, TorchGenerator};
use flowmatching::rng::{BatchRng as _, NoiseRng as _};
use serde_json::Value;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notebook_rng/rng.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f64s(value: &Value) -> Vec<f64> {
    value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

fn f32s(value: &Value) -> Vec<f32> {
    f64s(value).into_iter().map(|v| v as f32).collect()
}

fn usizes(value: &Value) -> Vec<usize> {
    value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
}

/// Within `ulps` units in the last place of float32, element by element.
fn assert_close_f32(ours: &[f32], theirs: &[f32], ulps: f32, what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        let tol = ulps * f32::EPSILON * b.abs().max(1e-3);
        assert!((a - b).abs() <= tol, "{what}[{i}]: ours {a:e}, PyTorch {b:e}");
    }
}

#[test]
fn torch_rand_is_bit_exact() {
    let f = fixture();
    let mut ours = vec![0.0f32; 40];
    TorchGenerator::new(0).rand(&mut ours);
    assert_eq!(ours, f32s(&f["torch_rand_seed0"]));
}

#[test]
fn torch_randn_matches_in_blocks_of_sixteen() {
    let f = fixture();
    let mut ours = vec![0.0f32; 1024];
    TorchGenerator::new(1).randn(&mut ours);
    assert_close_f32(&ours[..48], &f32s(&f["torch_randn1024_seed1_head"]), 4.0, "head");
    assert_close_f32(&ours[1024 - 48..], &f32s(&f["torch_randn1024_seed1_tail"]), 4.0, "tail");
    let sum: f64 = ours.iter().map(|&v| f64::from(v)).sum();
    assert!((sum - f["torch_randn1024_seed1_sum"].as_f64().unwrap()).abs() < 1e-4, "{sum}");
}

#[test]
fn torch_randn_redraws_the_last_sixteen_when_the_count_is_not_a_multiple() {
    let f = fixture();
    let mut ours = vec![0.0f32; 37];
    TorchGenerator::new(2).randn(&mut ours);
    assert_close_f32(&ours, &f32s(&f["torch_randn37_seed2"]), 4.0, "randn(37)");
}

#[test]
fn torch_randn_of_few_values_caches_the_second_of_each_pair_across_calls() {
    let f = fixture();
    let mut generator = TorchGenerator::new(3);
    let (mut first, mut second) = (vec![0.0f32; 5], vec![0.0f32; 3]);
    generator.randn(&mut first);
    generator.randn(&mut second);
    first.extend(second);
    assert_close_f32(&first, &f32s(&f["torch_randn5_then_3_seed3"]), 4.0, "randn(5), randn(3)");
}

#[test]
fn linear_default_initialisation_is_bit_exact() {
    let f = fixture();
    let mut generator = TorchGenerator::new(4);
    let b1 = (1.0f64 / 33.0f64.sqrt()) as f32;
    let mut w1 = vec![0.0f32; 64 * 33];
    let mut b1s = vec![0.0f32; 64];
    generator.uniform(-b1, b1, &mut w1);
    generator.uniform(-b1, b1, &mut b1s);
    let b2 = (1.0f64 / 64.0f64.sqrt()) as f32;
    let (mut w2, mut b2s) = (vec![0.0f32; 64], vec![0.0f32; 1]);
    generator.uniform(-b2, b2, &mut w2);
    generator.uniform(-b2, b2, &mut b2s);
    assert_eq!(&w1[..66], &f32s(&f["torch_linear_33_64_seed4_weight_head"])[..]);
    assert_eq!(b1s, f32s(&f["torch_linear_33_64_seed4_bias"]));
    assert_eq!(w2, f32s(&f["torch_linear_64_1_seed4_weight"]));
    assert_eq!(b2s, f32s(&f["torch_linear_64_1_seed4_bias"]));
    let mut after = vec![0.0f32; 4];
    generator.rand(&mut after);
    assert_eq!(after, f32s(&f["torch_after_init_seed4_rand"]));
}

#[test]
fn numpy_random_sample_is_bit_exact() {
    let f = fixture();
    let mut numpy = NumpyRandomState::new(0);
    let ours: Vec<f64> = (0..8).map(|_| numpy.random_sample()).collect();
    assert_eq!(ours, f64s(&f["numpy_random_sample_seed0"]));
}

#[test]
fn numpy_weighted_choice_and_randint_are_exact() {
    let f = fixture();
    let weights = [0.20, 0.30, 0.10, 0.40];
    let ours = NumpyRandomState::new(5).choice_weighted(&weights, 64);
    assert_eq!(ours, usizes(&f["numpy_choice_p_seed5"]));

    let mut numpy = NumpyRandomState::new(7);
    let ours: Vec<usize> = (0..40).map(|_| numpy.randint(50_000)).collect();
    assert_eq!(ours, usizes(&f["numpy_randint_seed7"]));
    // choice(pool, replace=True) draws the same indices as randint.
    assert_eq!(ours, usizes(&f["numpy_choice_pool_seed7"]));
}

#[test]
fn numpy_normal_uses_the_cached_half_of_each_pair() {
    let f = fixture();
    let loc = [-6.0, -2.0, 2.0, 6.0, 0.0];
    let scale = [0.5, 0.3, 0.4, 0.6, 1.0];
    let mut numpy = NumpyRandomState::new(6);
    for key in ["numpy_normal_seed6", "numpy_normal_seed6_next"] {
        let ours: Vec<f64> = loc.iter().zip(&scale).map(|(&m, &s)| numpy.normal(m, s)).collect();
        for (a, b) in ours.iter().zip(f64s(&f[key])) {
            assert!((a - b).abs() <= 4.0 * f64::EPSILON * b.abs(), "{key}: {a} vs {b}");
        }
    }
}

/// The notebook's whole order of draws on a small run (seed 9): a pool of 3000 from the
/// mixture, the preview batch of 1024, the network, two batches of 64, then sampling noise.
#[test]
fn notebook_order_of_draws_is_reproduced() {
    let f = fixture();
    let f = &f["sequence_seed9"];
    let mut rng = NotebookRng::new(9).unwrap();
    let pool = GaussianMixture1d::notebook().sample_like_numpy(3000, &mut rng.numpy);
    let head: Vec<f32> = pool[..32].iter().map(|&v| v as f32).collect();
    assert_eq!(head, f32s(&f["pool_head"]));
    let sum: f64 = pool.iter().sum();
    assert!((sum - f["pool_sum"].as_f64().unwrap()).abs() < 1e-9, "pool sum {sum}");

    rng.skip_preview_batch(pool.len(), 1);
    let net = VelocityNet::<f32>::new_like_torch(NetConfig::default(), &mut rng.torch).unwrap();
    assert_eq!(&net.params()[..33], &f32s(&f["params_head"])[..]);
    assert_eq!(net.params().last().copied(), f32s(&f["last_bias"]).last().copied());
    let sum: f64 = net.params().iter().map(|&p| f64::from(p)).sum();
    assert!((sum - f["params_sum"].as_f64().unwrap()).abs() < 1e-9, "parameter sum {sum}");

    for batch in f["batches"].as_array().unwrap() {
        let mut x_0 = vec![0.0f32; 64];
        rng.normals(&mut x_0);
        assert_close_f32(&x_0, &f32s(&batch["x0"]), 4.0, "batch x0");
        let x_1: Vec<f32> = (0..64).map(|_| pool[rng.row(pool.len())] as f32).collect();
        assert_eq!(x_1, f32s(&batch["x1"]));
        let t: Vec<f32> = (0..64).map(|_| rng.unit() as f32).collect();
        assert_eq!(t, f32s(&batch["t"]));
    }
    let mut noise = vec![0.0f64; 2000];
    rng.torch.standard_normals(&mut noise);
    let noise: Vec<f32> = noise[..32].iter().map(|&v| v as f32).collect();
    assert_close_f32(&noise, &f32s(&f["noise_head"]), 4.0, "sampling noise");
}

/// The 2D run's order of draws (shared/reference/ref_2d.py, seed 11, small): the notebook's
/// checkerboard sampler, no preview batch, the network, one batch.
#[test]
fn notebook_checkerboard_and_a_2d_batch_are_reproduced() {
    let f = fixture();
    let f = &f["sequence_2d_seed11"];
    let mut rng = NotebookRng::new(11).unwrap();
    let board = Checkerboard::default().sample_like_numpy(300, &mut rng.numpy).unwrap();
    let board: Vec<f32> = board.iter().map(|&v| v as f32).collect();
    assert_eq!(board, f32s(&f["pool"]));

    let config = NetConfig { dim: 2, hidden: 16, ..NetConfig::default() };
    let net = VelocityNet::<f32>::new_like_torch(config, &mut rng.torch).unwrap();
    assert_eq!(&net.params()[..34], &f32s(&f["params_head"])[..]);
    let sum: f64 = net.params().iter().map(|&p| f64::from(p)).sum();
    assert!((sum - f["params_sum"].as_f64().unwrap()).abs() < 1e-9, "parameter sum {sum}");

    let mut x_0 = vec![0.0f32; 64];
    rng.normals(&mut x_0);
    assert_close_f32(&x_0, &f32s(&f["x0"]), 4.0, "x0");
    let rows: Vec<usize> = (0..32).map(|_| rng.row(300)).collect();
    assert_eq!(rows, usizes(&f["rows"]));
    let t: Vec<f32> = (0..32).map(|_| rng.unit() as f32).collect();
    assert_eq!(t, f32s(&f["t"]));
}
