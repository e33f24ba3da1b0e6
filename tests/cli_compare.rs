//! `flowmatching compare` as a user runs it: the files it writes, the shape of its JSON,
//! reproducibility from the seed, and its messages on bad flags.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod cli_support;
use cli_support::TempDir;

fn run(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowmatching"));
    command.arg("compare").args(args).arg("--quiet").output().expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tiny network and run, so that a comparison takes a fraction of a second.
const TINY: [&str; 20] = [
    "--train-steps",
    "40",
    "--batch",
    "64",
    "--pool",
    "500",
    "--hidden",
    "8",
    "--t-dim",
    "8",
    "--samples",
    "300",
    "--sweep-samples",
    "100",
    "--fine-steps",
    "8",
    "--trajectories",
    "20",
    "--log-every",
    "10",
];

/// Runs a tiny comparison into `dir` and returns its parsed compare.json.
fn compare(dir: &TempDir, extra: &[&str]) -> Value {
    let mut args = vec!["--out", dir.dir_arg()];
    args.extend(TINY);
    args.extend(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    read_json(&dir.0.join("compare.json"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The JSON without wall-clock times (every key ending in `seconds`).
fn without_timings(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            (map.iter())
                .filter(|(key, _)| !key.ends_with("seconds"))
                .map(|(key, v)| (key.clone(), without_timings(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_timings).collect()),
        other => other.clone(),
    }
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().unwrap()
}

#[test]
fn writes_every_table_and_plot() {
    let dir = TempDir::new("files");
    let report = compare(&dir, &["--paths", "linear,quadratic+ot", "--solvers", "euler,dopri5"]);

    let files = [
        "compare.json",
        "compare.md",
        "losses.csv",
        "samples.png",
        "samples_linear.png",
        "samples_quadratic_ot.png",
        "loss.png",
        "w1_nfe.png",
        "w1_nfe_euler.png",
        "w1_nfe_dopri5.png",
        "trajectories.png",
        "straightness.png",
    ];
    for file in files {
        let path = dir.0.join(file);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{file} missing or empty");
    }

    let markdown = std::fs::read_to_string(dir.0.join("compare.md")).unwrap();
    assert!(markdown.contains("| linear |") && markdown.contains("| quadratic+ot |"));
    assert!(markdown.contains("not on one scale"), "the loss-scale warning is missing");
    assert_eq!(results(&report).len(), 2);
}

#[test]
fn losses_csv_has_every_step_of_every_path() {
    let dir = TempDir::new("losses");
    compare(&dir, &["--paths", "linear,cosine", "--solvers", "euler", "--nfe", "4"]);
    let text = std::fs::read_to_string(dir.0.join("losses.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "step,linear,cosine");
    assert_eq!(lines.len(), 1 + 40);
    let last: Vec<f64> = lines[40].split(',').map(|c| c.parse().unwrap()).collect();
    assert_eq!(last.len(), 3);
    assert_eq!(last[0], 40.0);
    assert!(last[1] > 0.0 && last[2] > 0.0 && last[1] != last[2], "{last:?}");
}

#[test]
fn json_has_a_row_per_path_with_the_requested_nfe() {
    let dir = TempDir::new("json");
    let nfe = [2u64, 4, 8, 16];
    let report = compare(&dir, &["--paths", "linear,quadratic,vp", "--nfe", "16,2,8,4,8"]);

    let rows = results(&report);
    let names: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(names, ["linear", "quadratic", "vp"]);
    for row in rows {
        let sweeps = row["sweep"].as_array().unwrap();
        let solvers: Vec<&str> = sweeps.iter().map(|s| s["solver"].as_str().unwrap()).collect();
        assert_eq!(solvers, ["euler", "heun", "rk4"], "the default solvers");
        for (sweep, evals) in sweeps.iter().zip([1u64, 2, 4]) {
            let runs = sweep["runs"].as_array().unwrap();
            let budgets: Vec<u64> = runs.iter().map(|r| r["budget"].as_u64().unwrap()).collect();
            assert_eq!(budgets, nfe, "sorted, without the repeat");
            for run in runs {
                let budget = run["budget"].as_u64().unwrap();
                assert_eq!(run["steps"].as_u64().unwrap(), budget / evals);
                assert_eq!(run["nfe"].as_u64().unwrap(), budget / evals * evals);
                assert_eq!(run["metrics"].is_null(), budget < evals, "{run}");
            }
        }
        let fine = &row["fine"];
        assert_eq!(fine["nfe"].as_u64().unwrap(), 4 * 8 + 9, "RK4 on 8 steps, 9 profile points");
        assert_eq!(fine["metrics"]["n"].as_u64().unwrap(), 300);
        assert_eq!(row["straightness"]["profile"].as_array().unwrap().len(), 9);
    }
}

#[test]
fn ode_steps_give_every_solver_the_same_step_counts() {
    let dir = TempDir::new("steps");
    let report =
        compare(&dir, &["--paths", "linear", "--ode-steps", "1,3", "--solvers", "rk4,heun"]);
    for sweep in results(&report)[0]["sweep"].as_array().unwrap() {
        let evals = if sweep["solver"] == "rk4" { 4 } else { 2 };
        let runs = sweep["runs"].as_array().unwrap();
        let steps: Vec<u64> = runs.iter().map(|r| r["steps"].as_u64().unwrap()).collect();
        let nfe: Vec<u64> = runs.iter().map(|r| r["nfe"].as_u64().unwrap()).collect();
        assert_eq!(steps, [1, 3]);
        assert_eq!(nfe, [evals, 3 * evals]);
        assert!(runs.iter().all(|r| r["budget"].is_null()));
    }
}

#[test]
fn nfe_to_target_is_the_cheapest_run_that_reaches_it() {
    let dir = TempDir::new("target");
    // A target between the best and the worst W1 of the tiny run, so the answer is not trivial.
    let report = compare(&dir, &["--paths", "linear", "--solvers", "euler", "--nfe", "1,2,4,8,64"]);
    let runs = report["results"][0]["sweep"][0]["runs"].as_array().unwrap().clone();
    let w1: Vec<f64> = runs.iter().map(|r| r["metrics"]["w1"].as_f64().unwrap()).collect();
    let target = (w1[0] + w1[4]) / 2.0;

    let again = TempDir::new("target-again");
    let target_arg = target.to_string();
    let extra = ["--paths", "linear", "--solvers", "euler", "--nfe", "1,2,4,8,64"];
    let report = compare(&again, &[&extra[..], &["--target-w1", &target_arg]].concat());
    let expected = (runs.iter().zip(&w1))
        .filter(|(_, &w)| w <= target)
        .map(|(r, _)| r["nfe"].as_u64().unwrap())
        .min()
        .unwrap();
    assert_eq!(report["results"][0]["sweep"][0]["nfe_to_target"].as_u64(), Some(expected));
    assert!(expected > 1 && w1[0] > target, "the one-step run must miss the target: {w1:?}");
}

#[test]
fn the_same_seed_gives_the_same_numbers_and_another_seed_does_not() {
    let extra = ["--paths", "linear,ot", "--solvers", "euler,dopri5", "--nfe", "2,8"];
    let (a, b, c) = (TempDir::new("seed-a"), TempDir::new("seed-b"), TempDir::new("seed-c"));
    let first = without_timings(&compare(&a, &extra));
    let second = without_timings(&compare(&b, &extra));
    assert_eq!(first, second);

    let other = without_timings(&compare(&c, &[&extra[..], &["--seed", "1"]].concat()));
    assert_ne!(first["results"], other["results"]);
}

#[test]
fn a_path_measures_the_same_whatever_else_is_compared() {
    // Every path trains and samples from the seed's own streams: adding quadratic before it
    // changes nothing in linear's row.
    let extra = ["--solvers", "heun", "--nfe", "4,8"];
    let (a, b) = (TempDir::new("alone"), TempDir::new("paired"));
    let alone = without_timings(&compare(&a, &[&extra[..], &["--paths", "linear"]].concat()));
    let paired = compare(&b, &[&extra[..], &["--paths", "quadratic,linear"]].concat());
    let paired = without_timings(&paired);
    assert_eq!(alone["results"][0], paired["results"][1]);
    assert_ne!(paired["results"][0]["fine"], paired["results"][1]["fine"]);
}

#[test]
fn a_bad_path_is_named() {
    let dir = TempDir::new("bad-path");
    let out = run(&["--out", dir.dir_arg(), "--paths", "linear,quadratc,cosine"]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("--paths") && message.contains("quadratc"), "{message}");
    assert!(!dir.0.join("compare.json").exists());
}

#[test]
fn bad_lists_and_sizes_name_their_flag() {
    let dir = TempDir::new("bad-flags");
    let cases: [(&[&str], &str); 7] = [
        (&["--paths", "linear,ot,linear+ot"], "listed twice"),
        (&["--solvers", "euler,rk45"], "rk45"),
        (&["--nfe", "4,0"], "--nfe"),
        (&["--tols", "1e-3,-1"], "--tols"),
        (&["--fine-steps", "7"], "--fine-steps"),
        (&["--sweep-samples", "500", "--samples", "100"], "--sweep-samples"),
        (&["--path", "cosine"], "--paths"),
    ];
    for (args, expected) in cases {
        let out = run(&[&["--out", dir.dir_arg()], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?} is a usage error");
        let message = stderr(&out);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}
