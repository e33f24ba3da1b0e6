//! The network engine against finite differences, against itself, and across thread counts.

use flowmatching::model::{Grads, NetConfig, VelocityNet, Workspace, CHUNK_ROWS};
use flowmatching::rng::{stream, Stream};
use flowmatching::Error;
use rand::Rng as _;

/// A small net whose every product takes the hand-written thin paths (all widths <= 8).
fn thin_config() -> NetConfig {
    NetConfig { dim: 2, hidden: 5, depth: 2, t_dim: 4, max_period: 10_000.0 }
}

/// A net whose hidden products go through matrixmultiply (widths above 8), three hidden
/// layers, an odd embedding width (zero pad column) and a non-default max_period.
fn wide_config() -> NetConfig {
    NetConfig { dim: 10, hidden: 12, depth: 3, t_dim: 7, max_period: 500.0 }
}

struct Batch {
    x: Vec<f64>,
    t: Vec<f64>,
    y: Vec<f64>,
}

fn batch(n: usize, d: usize, seed: u64) -> Batch {
    let mut rng = stream(seed, Stream::Train);
    let mut normal = || rng.random::<f64>() * 4.0 - 2.0;
    let x = (0..n * d).map(|_| normal()).collect();
    let y = (0..n * d).map(|_| normal()).collect();
    let mut rng = stream(seed, Stream::Eval);
    let t = (0..n).map(|_| rng.random::<f64>()).collect();
    Batch { x, t, y }
}

fn mse(net: &VelocityNet<f64>, b: &Batch, ws: &mut Workspace<f64>) -> f64 {
    let mut v = vec![0.0; b.x.len()];
    net.forward(&b.x, &b.t, &mut v, ws).unwrap();
    v.iter().zip(&b.y).map(|(v, y)| (v - y).powi(2)).sum::<f64>() / v.len() as f64
}

/// Backpropagated gradients of every parameter against central differences of the loss.
fn check_gradients(config: NetConfig, n: usize) {
    let net = VelocityNet::<f64>::new(config.clone(), &mut stream(3, Stream::Init)).unwrap();
    let b = batch(n, config.dim, 11);
    let mut ws = Workspace::new();
    let mut grads = Grads::new(&net);
    let loss = net.loss_and_grad(&b.x, &b.t, &b.y, &mut grads, &mut ws).unwrap();
    assert!((loss - mse(&net, &b, &mut ws)).abs() < 1e-13 * loss);

    let h = 1e-5;
    let mut probe = net.clone();
    let scale = grads.as_slice().iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let mut worst = 0.0f64;
    for i in 0..net.num_params() {
        let p = net.params()[i];
        probe.params_mut()[i] = p + h;
        let up = mse(&probe, &b, &mut ws);
        probe.params_mut()[i] = p - h;
        let down = mse(&probe, &b, &mut ws);
        probe.params_mut()[i] = p;
        let fd = (up - down) / (2.0 * h);
        worst = worst.max((fd - grads.as_slice()[i]).abs() / scale);
    }
    assert!(worst < 1e-7, "{config:?}: worst gradient error {worst:e} relative to {scale:e}");
}

#[test]
fn gradients_match_finite_differences_on_thin_paths() {
    check_gradients(thin_config(), 37);
}

#[test]
fn gradients_match_finite_differences_on_gemm_paths_across_chunks() {
    // 2.5 chunks: a partial last chunk, and chunk gradients summed.
    check_gradients(wide_config(), 2 * CHUNK_ROWS + CHUNK_ROWS / 2);
}

/// Tangents J_x v dx against central differences of forward_shared_t.
fn check_jvp(config: NetConfig, n: usize) {
    let d = config.dim;
    let net = VelocityNet::<f64>::new(config, &mut stream(4, Stream::Init)).unwrap();
    let b = batch(n, d, 12);
    let dx = batch(n, d, 13).y;
    let t = 0.37;
    let mut ws = Workspace::new();
    let (mut v, mut dv) = (vec![0.0; n * d], vec![0.0; n * d]);
    net.forward_jvp(&b.x, t, &dx, &mut v, &mut dv, &mut ws).unwrap();

    let mut v_plain = vec![0.0; n * d];
    net.forward_shared_t(&b.x, t, &mut v_plain, &mut ws).unwrap();
    assert_eq!(v, v_plain, "forward_jvp's values are forward_shared_t's");

    let h = 1e-5;
    let shifted = |sign: f64, ws: &mut Workspace<f64>| {
        let x: Vec<f64> = b.x.iter().zip(&dx).map(|(x, dx)| x + sign * h * dx).collect();
        let mut out = vec![0.0; n * d];
        net.forward_shared_t(&x, t, &mut out, ws).unwrap();
        out
    };
    let (up, down) = (shifted(1.0, &mut ws), shifted(-1.0, &mut ws));
    for i in 0..n * d {
        let fd = (up[i] - down[i]) / (2.0 * h);
        assert!((fd - dv[i]).abs() < 1e-8 * (1.0 + fd.abs()), "element {i}: {fd} vs {}", dv[i]);
    }
}

#[test]
fn jvp_matches_finite_differences() {
    check_jvp(thin_config(), 45);
    check_jvp(wide_config(), CHUNK_ROWS + 3);
}

#[test]
fn exact_divergence_from_unit_tangents_matches_finite_differences() {
    // div v = sum_k (J e_k)_k: d tangent passes, one per coordinate.
    let config = thin_config();
    let net = VelocityNet::<f64>::new(config, &mut stream(8, Stream::Init)).unwrap();
    let x = [0.3, -1.2];
    let t = 0.6;
    let mut ws = Workspace::new();
    let mut divergence = 0.0;
    for k in 0..2 {
        let mut e_k = [0.0; 2];
        e_k[k] = 1.0;
        let (mut v, mut dv) = ([0.0; 2], [0.0; 2]);
        net.forward_jvp(&x, t, &e_k, &mut v, &mut dv, &mut ws).unwrap();
        divergence += dv[k];
    }
    let h = 1e-5;
    let mut fd = 0.0;
    for k in 0..2 {
        let (mut up, mut down) = (x, x);
        up[k] += h;
        down[k] -= h;
        let (mut v_up, mut v_down) = ([0.0; 2], [0.0; 2]);
        net.forward_shared_t(&up, t, &mut v_up, &mut ws).unwrap();
        net.forward_shared_t(&down, t, &mut v_down, &mut ws).unwrap();
        fd += (v_up[k] - v_down[k]) / (2.0 * h);
    }
    assert!((divergence - fd).abs() < 1e-8, "{divergence} vs {fd}");
}

#[test]
fn shared_time_forward_agrees_with_per_row_forward() {
    for config in [NetConfig::default(), thin_config(), wide_config()] {
        let d = config.dim;
        let n = CHUNK_ROWS + 17;
        let b = batch(n, d, 21);
        let t = 0.8125;
        let ts = vec![t; n];

        let net64 = VelocityNet::<f64>::new(config.clone(), &mut stream(5, Stream::Init)).unwrap();
        let mut ws = Workspace::new();
        let (mut per_row, mut shared) = (vec![0.0; n * d], vec![0.0; n * d]);
        net64.forward(&b.x, &ts, &mut per_row, &mut ws).unwrap();
        net64.forward_shared_t(&b.x, t, &mut shared, &mut ws).unwrap();
        for (a, s) in per_row.iter().zip(&shared) {
            assert!((a - s).abs() < 1e-13 * (1.0 + a.abs()));
        }

        let net32 = net64.cast::<f32>();
        let x32: Vec<f32> = b.x.iter().map(|&v| v as f32).collect();
        let mut ws32 = Workspace::new();
        let (mut per_row, mut shared) = (vec![0.0f32; n * d], vec![0.0f32; n * d]);
        net32.forward(&x32, &vec![t as f32; n], &mut per_row, &mut ws32).unwrap();
        net32.forward_shared_t(&x32, t as f32, &mut shared, &mut ws32).unwrap();
        for (a, s) in per_row.iter().zip(&shared) {
            assert!((a - s).abs() < 1e-5 * (1.0 + a.abs()), "{a} vs {s}");
        }
    }
}

#[test]
fn f32_engine_tracks_the_f64_engine() {
    let config = NetConfig::default();
    let net64 = VelocityNet::<f64>::new(config, &mut stream(6, Stream::Init)).unwrap();
    let net32 = net64.cast::<f32>();
    let b = batch(300, 1, 22);
    let (x32, t32): (Vec<f32>, Vec<f32>) =
        (b.x.iter().map(|&v| v as f32).collect(), b.t.iter().map(|&v| v as f32).collect());
    // Compare on the f32-rounded inputs so only the arithmetic differs.
    let (x64, t64): (Vec<f64>, Vec<f64>) =
        (x32.iter().map(|&v| v as f64).collect(), t32.iter().map(|&v| v as f64).collect());
    let (mut v32, mut v64) = (vec![0.0f32; 300], vec![0.0f64; 300]);
    net32.forward(&x32, &t32, &mut v32, &mut Workspace::new()).unwrap();
    net64.forward(&x64, &t64, &mut v64, &mut Workspace::new()).unwrap();
    for (a, b) in v32.iter().zip(&v64) {
        assert!((*a as f64 - b).abs() < 1e-5 * (1.0 + b.abs()));
    }
}

#[test]
fn results_are_bit_identical_with_one_and_two_threads() {
    let config = wide_config();
    let net = VelocityNet::<f32>::new(config.clone(), &mut stream(9, Stream::Init)).unwrap();
    let n = 7 * CHUNK_ROWS + 5;
    let b = batch(n, config.dim, 30);
    let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let (x, t, y) = (f(&b.x), f(&b.t), f(&b.y));

    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut ws = Workspace::new();
            let mut grads = Grads::new(&net);
            let loss = net.loss_and_grad(&x, &t, &y, &mut grads, &mut ws).unwrap();
            let mut v = vec![0.0f32; x.len()];
            net.forward(&x, &t, &mut v, &mut ws).unwrap();
            let mut v_shared = vec![0.0f32; x.len()];
            net.forward_shared_t(&x, 0.25, &mut v_shared, &mut ws).unwrap();
            let mut dv = vec![0.0f32; x.len()];
            net.forward_jvp(&x, 0.25, &y, &mut v_shared, &mut dv, &mut ws).unwrap();
            (loss.to_bits(), grads.as_slice().to_vec(), v, v_shared, dv)
        })
    };
    let (one, two, three) = (run(1), run(2), run(3));
    assert!(one == two, "1 vs 2 threads");
    assert!(one == three, "1 vs 3 threads");
}

#[test]
fn a_workspace_serves_different_batch_sizes_and_networks() {
    let mut ws = Workspace::new();
    let thin = VelocityNet::<f64>::new(thin_config(), &mut stream(1, Stream::Init)).unwrap();
    let wide = VelocityNet::<f64>::new(wide_config(), &mut stream(1, Stream::Init)).unwrap();
    for (net, n) in [(&thin, 3), (&wide, 300), (&thin, 500), (&wide, 1)] {
        let b = batch(n, net.dim(), n as u64);
        let mut v = vec![0.0; n * net.dim()];
        net.forward(&b.x, &b.t, &mut v, &mut ws).unwrap();
        let mut fresh = vec![0.0; n * net.dim()];
        net.forward(&b.x, &b.t, &mut fresh, &mut Workspace::new()).unwrap();
        assert_eq!(v, fresh);
    }
}

#[test]
fn wrong_lengths_are_errors_not_panics() {
    let net = VelocityNet::<f32>::new(thin_config(), &mut stream(1, Stream::Init)).unwrap();
    let mut ws = Workspace::new();
    let mut out = vec![0.0f32; 6];
    let mismatch = |r: Result<(), Error>| matches!(r, Err(Error::DimensionMismatch { .. }));
    assert!(mismatch(net.forward(&[0.0; 6], &[0.0; 2], &mut out, &mut ws)));
    assert!(mismatch(net.forward_shared_t(&[0.0; 5], 0.5, &mut out[..5], &mut ws)));
    assert!(mismatch(net.forward_shared_t(&[0.0; 6], 0.5, &mut out[..4], &mut ws)));
    let mut dv = vec![0.0f32; 6];
    assert!(mismatch(net.forward_jvp(&[0.0; 6], 0.5, &[0.0; 4], &mut out, &mut dv, &mut ws)));
    let mut grads = Grads::new(&net);
    let r = net.loss_and_grad(&[0.0; 6], &[0.0; 3], &[0.0; 4], &mut grads, &mut ws);
    assert!(matches!(r, Err(Error::DimensionMismatch { .. })));
    let r = net.loss_and_grad(&[], &[], &[], &mut grads, &mut ws);
    assert!(matches!(r, Err(Error::InvalidSetting { .. })));

    // An empty batch is fine for evaluation.
    net.forward(&[], &[], &mut [], &mut ws).unwrap();
    net.forward_shared_t(&[], 0.5, &mut [], &mut ws).unwrap();
}

#[test]
fn nan_inputs_give_a_non_finite_error_and_nan_outputs() {
    let net = VelocityNet::<f32>::new(thin_config(), &mut stream(1, Stream::Init)).unwrap();
    let mut ws = Workspace::new();
    let x = [f32::NAN, 0.0, 1.0, 2.0];
    let mut grads = Grads::new(&net);
    let r = net.loss_and_grad(&x, &[0.1, 0.2], &[0.0; 4], &mut grads, &mut ws);
    assert!(matches!(r, Err(Error::NonFinite { .. })));
    let mut v = [0.0f32; 4];
    net.forward_shared_t(&x, 0.5, &mut v, &mut ws).unwrap();
    assert!(v[0].is_nan() && v[1].is_nan(), "a NaN row stays NaN");
    assert!(v[2].is_finite() && v[3].is_finite(), "other rows are untouched");
}

#[test]
fn gradients_do_not_depend_on_what_the_workspace_computed_before() {
    let net = VelocityNet::<f32>::new(NetConfig::default(), &mut stream(4, Stream::Init)).unwrap();
    let (first, second) = (batch(1024, 1, 1), batch(1024, 1, 2));
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();

    let mut used = Workspace::new();
    let mut grads = Grads::new(&net);
    let (x, t, y) = (f32s(&first.x), f32s(&first.t), f32s(&first.y));
    net.loss_and_grad(&x, &t, &y, &mut grads, &mut used).unwrap();
    let (x, t, y) = (f32s(&second.x), f32s(&second.t), f32s(&second.y));
    let loss_used = net.loss_and_grad(&x, &t, &y, &mut grads, &mut used).unwrap();

    let mut fresh_grads = Grads::new(&net);
    let loss_fresh =
        net.loss_and_grad(&x, &t, &y, &mut fresh_grads, &mut Workspace::new()).unwrap();
    assert_eq!(loss_used, loss_fresh);
    assert_eq!(grads.as_slice(), fresh_grads.as_slice());
}
