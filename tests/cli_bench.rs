//! `flowmatching bench` and chunked `sample` as a user runs them, on tiny settings: the JSON
//! report's structure and FLOP counts, the scaling files, flag errors. Never a timing
//! assertion: how fast the machine is depends on who else uses it.

use std::process::{Command, Output};

mod cli_support;
use cli_support::TempDir;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowmatching"))
        .args(args)
        .arg("--quiet")
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Tiny training and sampling settings, with a short peak measurement.
const TINY: [&str; 16] = [
    "--train-steps",
    "5",
    "--batch",
    "64",
    "--pool",
    "300",
    "--hidden",
    "8",
    "--samples",
    "100",
    "--ode-steps",
    "3",
    "--peak-seconds",
    "0.01",
    "--threads",
    "2",
];

#[test]
fn bench_writes_a_json_report_with_the_analytic_flop_counts() {
    let dir = TempDir::new("json");
    let json = dir.arg("bench.json");
    let mut args = vec!["bench", "--repeats", "2", "--json", &json];
    args.extend(TINY);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("training") && stdout.contains("heun 3"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["machine"]["threads"], 2);
    assert!(report["machine"]["peak_gflops_all_threads"].as_f64().unwrap() > 0.0);
    assert_eq!(report["workload"]["params"], 8 * 34 + 8 * 9 + 9);

    // Layers 33 -> 8, 8 -> 8, 8 -> 1: 336 multiply-adds forward, 336 + 72 backward, two
    // flops each, for 64 rows and 5 steps.
    let training = &report["training"];
    assert_eq!(training["gflop"].as_f64().unwrap(), 5.0 * 64.0 * 2.0 * 744.0 / 1e9);
    assert_eq!(training["runs_s"].as_array().unwrap().len(), 2);
    assert_eq!(training["identical_across_runs"], true);

    // Heun: 3 steps, 6 evaluations of 100 rows at 2 * (8 + 64 + 8) flops, plus the time fold
    // 2 * 32 * 8 once per evaluation.
    let heun = &report["heun"];
    assert_eq!(heun["nfe"], 6);
    assert_eq!(heun["gflop"].as_f64().unwrap(), 6.0 * (100.0 * 160.0 + 512.0) / 1e9);
    assert_eq!(report["euler"]["nfe"], 3);
    for solver in ["euler", "heun"] {
        assert_eq!(report[solver]["identical_across_runs"], true, "{solver}");
        let w1 = report[solver]["w1"].as_f64().unwrap();
        assert!(w1.is_finite() && w1 > 0.0, "{solver} W1 {w1}");
    }
}

#[test]
fn scaling_writes_csv_files_and_charts() {
    let dir = TempDir::new("scaling");
    let out_dir = dir.arg("scaling");
    let mut args = vec!["bench", "--scaling", "--out", &out_dir, "--repeats", "1"];
    args.extend(["--scaling-samples", "50,120", "--scaling-widths", "4,8"]);
    args.extend(["--scaling-dims", "1,3", "--scaling-ode-steps", "2"]);
    args.extend(["--scaling-train-steps", "2", "--chunk", "40"]);
    args.extend(TINY);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));

    let csv = |name: &str| std::fs::read_to_string(dir.0.join("scaling").join(name)).unwrap();
    let samples = csv("scaling_samples.csv");
    assert!(samples.starts_with("n,chunked_s,"), "{samples}");
    let ns: Vec<&str> = samples.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ns, ["50", "120"]);

    let widths = csv("scaling_width.csv");
    assert_eq!(widths.lines().count(), 3);
    let hidden: Vec<&str> = widths.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(hidden, ["4", "8"]);
    // Parameters of the d = 3 network: (3 + 32 + 1) * 8 + 9 * 8 + 9 * 3.
    let dims = csv("scaling_dim.csv");
    let last: Vec<&str> = dims.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(&last[..3], ["8", "3", "387"]);

    for png in ["samples_time", "width", "width_time", "dim", "dim_time"] {
        let bytes = std::fs::read(dir.0.join("scaling").join(format!("scaling_{png}.png")))
            .unwrap_or_else(|e| panic!("scaling_{png}.png: {e}"));
        assert_eq!(&bytes[..4], b"\x89PNG", "{png}");
    }
}

#[test]
fn bad_bench_flags_are_named() {
    let out = run(&["bench", "--repeats", "0"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(stderr(&out).contains("--repeats"), "{}", stderr(&out));

    let dir = TempDir::new("flags");
    let out_dir = dir.arg("s");
    let args = ["bench", "--scaling", "--out", &out_dir, "--scaling-widths", "64,wide"];
    let out = run(&[&args[..], &["--peak-seconds", "0.01"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--scaling-widths"), "{}", stderr(&out));
}

#[test]
fn sample_in_chunks_writes_the_same_samples() {
    let dir = TempDir::new("chunks");
    let ckpt = dir.arg("m.safetensors");
    let tiny = ["--train-steps", "20", "--batch", "64", "--pool", "500", "--hidden", "8"];
    let out = run(&[&["train", "--out", &ckpt][..], &tiny].concat());
    assert!(out.status.success(), "{}", stderr(&out));

    let sample = |chunk: &str| {
        let out = run(&["sample", "-c", &ckpt, "-n", "300", "--steps", "4", "--chunk", chunk]);
        assert!(out.status.success(), "{}", stderr(&out));
        out.stdout
    };
    let whole = sample("65536");
    assert_eq!(String::from_utf8_lossy(&whole).lines().count(), 301);
    assert_eq!(sample("7"), whole);

    let out = run(&["sample", "-c", &ckpt, "--chunk", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--chunk"), "{}", stderr(&out));
}
