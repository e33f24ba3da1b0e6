//! `--rng notebook` end to end: `train`, `sample` and `demo` with seed N give what the
//! reference notebook gives with seed N, draw for draw.
//!
//! The fixture (tests/fixtures/notebook_rng/pipeline.safetensors, written by
//! make_pipeline_fixture.py there with torch 2.15.0 and numpy 2.4.6) is the notebook's
//! pipeline with seed 3, shortened to 300 training steps and 2000 samples of 50 ODE steps.
//! Our engine rounds differently from PyTorch's, so weights and samples agree to float32
//! rounding grown over the run, not bit for bit; drawing anything in another order or from
//! another generator moves them by order one.

use std::path::Path;
use std::process::{Command, Output};

use flowmatching::model::checkpoint;
use safetensors::SafeTensors;

mod cli_support;
use cli_support::TempDir;

const FIXTURE: &[u8] = include_bytes!("fixtures/notebook_rng/pipeline.safetensors");
const NAMES: [&str; 6] =
    ["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight", "net.4.bias"];
const SHORT: [&str; 4] = ["--seed", "3", "--train-steps", "300"];

fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_flowmatching"))
        .args(args)
        .arg("--quiet")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn floats(name: &str) -> Vec<f32> {
    let tensors = SafeTensors::deserialize(FIXTURE).unwrap();
    let view = tensors.tensor(name).unwrap_or_else(|_| panic!("fixture lacks {name}"));
    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// The CSV column `name` of `path`.
fn column(path: &Path, name: &str) -> Vec<f32> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let j = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name}"));
    lines.map(|line| line.split(',').nth(j).unwrap().parse::<f32>().unwrap()).collect()
}

fn largest_difference(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

#[test]
fn train_then_sample_follow_the_notebook_run_of_the_same_seed() {
    let dir = TempDir::new("train");
    let (ckpt, losses) = (dir.arg("m.safetensors"), dir.arg("loss.csv"));
    let args = ["train", "--out", &ckpt, "--loss-csv", &losses, "--log-every", "50"];
    run(&[&args[..], &SHORT].concat());

    let ours = checkpoint::load::<f32>(Path::new(&ckpt)).unwrap().net;
    let theirs: Vec<f32> = NAMES.iter().flat_map(|n| floats(n)).collect();
    // Observed: 2.7e-6 on weights up to about 3; samples up to 8 in size: 4.8e-6.
    let worst = largest_difference(ours.params(), &theirs);
    assert!(worst < 2e-5, "largest weight difference from PyTorch's: {worst}");

    let loss = column(Path::new(&losses), "loss");
    let worst = largest_difference(&loss, &floats("loss"));
    assert!(worst < 1e-4, "largest loss difference from PyTorch's: {worst}");

    // sample --seed 3: torch.manual_seed(3); x = torch.randn(2000, 1); then Euler.
    let samples = dir.arg("s.csv");
    let args = ["sample", "-c", &ckpt, "--seed", "3", "-n", "2000", "--solver", "euler"];
    run(&[&args[..], &["--steps", "50", "--out", &samples]].concat());
    let worst = largest_difference(&column(Path::new(&samples), "x"), &floats("sample_euler"));
    assert!(worst < 1e-4, "largest sample difference from PyTorch's: {worst}");
}

#[test]
fn demo_samples_continue_the_generator_where_training_left_it() {
    let dir = TempDir::new("demo");
    let out = dir.arg("demo");
    let args = ["demo", "--out", &out, "--samples", "2000", "--ode-steps", "50"];
    run(&[&args[..], &SHORT].concat());
    let samples = Path::new(&out).join("samples.csv");
    for (ours, theirs) in [("euler", "demo_euler"), ("heun", "demo_heun")] {
        let worst = largest_difference(&column(&samples, ours), &floats(theirs));
        assert!(worst < 1e-4, "{ours}: largest sample difference from PyTorch's: {worst}");
    }
}

#[test]
fn seeds_numpy_cannot_take_need_the_chacha_streams() {
    let dir = TempDir::new("seed");
    let ckpt = dir.arg("m.safetensors");
    let tiny = ["--train-steps", "5", "--batch", "32", "--pool", "100", "--hidden", "8"];
    let big = ["train", "--out", &ckpt, "--seed", "4294967296"];
    let out = Command::new(env!("CARGO_BIN_EXE_flowmatching"))
        .args([&big[..], &tiny].concat())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("--seed = 4294967296") && message.contains("--rng chacha"),
        "{message}"
    );
    assert!(!Path::new(&ckpt).exists());
    // Refused before anything is created, by every command that draws from the seed.
    let demo_dir = dir.arg("demo");
    for args in [
        vec!["demo", "--out", &demo_dir, "--seed", "4294967296"],
        vec!["compare", "--out", &demo_dir, "--seed", "4294967296"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_flowmatching")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!Path::new(&demo_dir).exists(), "{args:?} created its output directory");
    }

    // The largest seed NumPy takes works, and so does any seed with the ChaCha8 streams; the
    // two kinds of generator give different networks from the same seed.
    run(&[&["train", "--out", &ckpt, "--seed", "4294967295"][..], &tiny].concat());
    let sample = ["sample", "-c", &ckpt, "-n", "3", "--steps", "2", "--out", "-"];
    let out = Command::new(env!("CARGO_BIN_EXE_flowmatching"))
        .args([&sample[..], &["--seed", "4294967296"]].concat())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "sample refuses the seed too");
    run(&[&sample[..], &["--seed", "4294967296", "--rng", "chacha"]].concat());
    run(&[&big[..], &tiny, &["--rng", "chacha"]].concat());
    run(&[&["train", "--out", &ckpt, "--seed", "0", "--rng", "chacha"][..], &tiny].concat());
    let chacha = checkpoint::load::<f32>(Path::new(&ckpt)).unwrap().net;
    run(&[&["train", "--out", &ckpt, "--seed", "0"][..], &tiny].concat());
    let notebook = checkpoint::load::<f32>(Path::new(&ckpt)).unwrap().net;
    assert_ne!(chacha.params(), notebook.params());
}
