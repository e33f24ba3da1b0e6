//! The ODE commands as a user runs them: `likelihood` against a closed form, `encode` against
//! `sample`, trajectories at exactly the requested times, NFE counts, and flags named in errors.

mod ode_support;

use std::process::{Command, Output};

use ode_support::{shift_flow, shift_log_p};

mod cli_support;
use cli_support::TempDir;

fn run(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowmatching"));
    command.args(args).arg("--quiet").output().expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeed(args: &[&str]) -> Output {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

/// Runs a command that must fail with `code` (2 for a bad flag value, 1 for bad input) and a
/// message containing every one of `needles`.
fn fail(args: &[&str], code: i32, needles: &[&str]) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    for needle in needles {
        assert!(stderr(&out).contains(needle), "{args:?}: no '{needle}' in {}", stderr(&out));
    }
}

/// The values of a one-column CSV with a header.
fn column(path: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().skip(1).map(|l| l.parse().unwrap()).collect()
}

/// The number just before the first `marker` in a summary line.
fn number_before(summary: &str, marker: &str) -> usize {
    let before = summary.split(marker).next().unwrap();
    let word = before.rsplit(' ').next().unwrap();
    word.parse().unwrap_or_else(|_| panic!("no number before '{marker}' in {summary}"))
}

/// The number of network evaluations in a summary line.
fn nfe(summary: &str) -> usize {
    number_before(summary, " NFE")
}

const B: f64 = 1.25;
const M: f64 = 3.0;
const S: f64 = 2.0;

fn shift_checkpoint(dir: &TempDir) -> String {
    let path = dir.arg("shift.safetensors");
    shift_flow(B as f32, M, S).save(path.as_ref()).unwrap();
    path
}

fn train_tiny(dir: &TempDir) -> String {
    let ckpt = dir.arg("tiny.safetensors");
    let tiny = ["--train-steps", "60", "--batch", "128", "--pool", "2000", "--hidden", "16"];
    let mut args = vec!["train", "--out", &ckpt, "--seed", "2"];
    args.extend(tiny);
    succeed(&args);
    ckpt
}

#[test]
fn likelihood_of_a_shift_matches_the_closed_form_with_every_divergence() {
    let dir = TempDir::new("closed");
    let ckpt = shift_checkpoint(&dir);
    let x = [-4.0, 0.0, 2.5, 5.5, 7.0, 12.0];
    let text: String = x.iter().map(|v| format!("{v}\n")).collect();
    let input = dir.write("x.csv", &format!("x\n{text}"));
    let exact: Vec<f64> = x.iter().map(|&x_i| shift_log_p(x_i, B, M, S)).collect();
    let out_file = dir.arg("log_p.csv");

    let runs: [&[&str]; 3] = [
        &[],
        &["--solver", "euler", "--steps", "1"],
        &["--divergence", "hutchinson", "--probes", "3", "--probe", "gaussian"],
    ];
    for extra in runs {
        let mut args = vec!["likelihood", "-c", &ckpt, "-i", &input, "-o", &out_file];
        args.extend(extra);
        let out = succeed(&args);
        let log_p = column(&out_file);
        for (value, expected) in log_p.iter().zip(&exact) {
            assert!((value - expected).abs() < 1e-6, "{extra:?}: {value} vs {expected}");
        }

        // The summary (on stdout, since the CSV went to a file) gives the mean NLL.
        let summary = stdout(&out);
        let mean_nll = -exact.iter().sum::<f64>() / exact.len() as f64;
        assert!(summary.contains(&format!("mean NLL {mean_nll:.6} nats")), "{summary}");
    }

    // A constant field moves by exactly b in one Euler step; the log-density goes to stdout.
    let out = succeed(&["likelihood", "-c", &ckpt, "-i", &input, "--solver", "euler"]);
    let printed: Vec<f64> = stdout(&out).lines().skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(printed.len(), x.len());
    assert!(stderr(&out).contains("euler, 200 steps: 200 NFE; 200 JVPs"), "{}", stderr(&out));
}

#[test]
fn encode_of_a_shift_subtracts_the_shift_in_standardised_units() {
    let dir = TempDir::new("encode-shift");
    let ckpt = shift_checkpoint(&dir);
    let input = dir.write("x.csv", "x\n-1\n3\n8.5\n");
    let codes = dir.arg("z.csv");
    let out = succeed(&["encode", "-c", &ckpt, "-i", &input, "-o", &codes, "--solver", "rk4"]);
    assert!(stdout(&out).contains("rk4, 200 steps: 800 NFE"), "{}", stdout(&out));

    let z = column(&codes);
    for (z_i, x_i) in z.iter().zip([-1.0, 3.0, 8.5]) {
        let expected = (x_i - M) / S - B;
        assert!((z_i - expected).abs() < 1e-9, "{z_i} vs {expected}");
    }
    assert_eq!(std::fs::read_to_string(&codes).unwrap().lines().next(), Some("z"));
}

/// The (sample, t, x) rows of a trajectory file, and the header.
fn trajectory(path: &str) -> (String, Vec<(usize, f64, f64)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].parse().unwrap(), cells[1].parse().unwrap(), cells[2].parse().unwrap())
        })
        .collect();
    (header, rows)
}

#[test]
fn trajectories_hold_exactly_the_requested_times_and_end_at_the_samples() {
    let dir = TempDir::new("traj");
    let ckpt = train_tiny(&dir);
    let (samples, traj) = (dir.arg("s.csv"), dir.arg("traj.csv"));
    let tight = ["--solver", "dopri5", "--rtol", "1e-8", "--atol", "1e-8"];

    let mut args = vec!["sample", "-c", &ckpt, "-n", "40", "-o", &samples, "--trajectory", &traj];
    args.extend(["--record-times", "0,0.3,0.5,1", "--trajectory-samples", "25"]);
    args.extend(tight);
    succeed(&args);

    let (header, rows) = trajectory(&traj);
    assert_eq!(header, "sample,t,x");
    assert_eq!(rows.len(), 4 * 25);
    let mut times: Vec<f64> = rows.iter().map(|r| r.1).collect();
    times.dedup();
    assert_eq!(times, vec![0.0, 0.3, 0.5, 1.0]);
    let x_1 = column(&samples);
    let last: Vec<f64> = rows.iter().filter(|r| r.1 == 1.0).map(|r| r.2).collect();
    assert_eq!(last, x_1[..25].to_vec(), "the state recorded at t = 1 is the sample");
    let indices: Vec<usize> = rows.iter().filter(|r| r.1 == 0.3).map(|r| r.0).collect();
    assert_eq!(indices, (0..25).collect::<Vec<_>>());

    // Encoding the samples recovers the recorded noise (the checkpoint standardises nothing).
    let codes = dir.arg("z.csv");
    let mut args = vec!["encode", "-c", &ckpt, "-i", &samples, "-o", &codes];
    args.extend(tight);
    succeed(&args);
    let z = column(&codes);
    let noise = rows.iter().filter(|r| r.1 == 0.0);
    for ((_, _, z_0), z_i) in noise.zip(&z) {
        assert!((z_0 - z_i).abs() < 1e-5, "encode(sample(z)) = {z_i}, z = {z_0}");
    }
}

#[test]
fn recording_on_the_grid_is_free_and_off_it_costs_one_step_per_time() {
    let dir = TempDir::new("grid");
    let ckpt = train_tiny(&dir);
    let (plain, recorded, traj) = (dir.arg("plain.csv"), dir.arg("rec.csv"), dir.arg("t.csv"));
    let rk4 = ["-n", "30", "--solver", "rk4", "--steps", "10"];

    let mut args = vec!["sample", "-c", &ckpt, "-o", &plain];
    args.extend(rk4);
    assert_eq!(nfe(&stdout(&succeed(&args))), 40);

    let mut args = vec!["sample", "-c", &ckpt, "-o", &recorded, "--trajectory", &traj];
    args.extend(rk4);
    args.extend(["--record-every", "3"]);
    assert_eq!(nfe(&stdout(&succeed(&args))), 40);
    let read = |path: &str| std::fs::read_to_string(path).unwrap();
    assert_eq!(read(&plain), read(&recorded), "recording on the grid changes no sample");
    let (_, rows) = trajectory(&traj);
    let mut times: Vec<f64> = rows.iter().map(|r| r.1).collect();
    times.dedup();
    assert_eq!(times, vec![0.0, 0.3, 0.6, 0.9, 1.0]);

    // 0.35 and 0.75 are not multiples of 1/10: each splits one step (4 more evaluations).
    let mut args = vec!["sample", "-c", &ckpt, "-o", &recorded, "--trajectory", &traj];
    args.extend(rk4);
    args.extend(["--record-times", "0.35,0.75"]);
    let summary = stdout(&succeed(&args));
    assert!(summary.contains("rk4, 12 steps: 48 NFE"), "{summary}");

    // Without a list, 21 times 0, 0.05, ..., 1.
    let args = ["sample", "-c", &ckpt, "-n", "3", "-o", &recorded, "--trajectory", &traj];
    succeed(&args);
    let (_, rows) = trajectory(&traj);
    assert_eq!(rows.len(), 21 * 3);
    assert_eq!(rows[3 * 7].1, 7.0 / 20.0);
}

#[test]
fn nfe_counts_follow_each_solver() {
    let dir = TempDir::new("nfe");
    let ckpt = train_tiny(&dir);
    let fixed = [("euler", 7), ("midpoint", 14), ("heun", 14), ("rk4", 28)];
    for (solver, expected) in fixed {
        let args = ["sample", "-c", &ckpt, "-n", "5", "-o", "-", "--solver", solver];
        let out = succeed(&[&args[..], &["--steps", "7"]].concat());
        assert_eq!(nfe(&stderr(&out)), expected, "{solver}: {}", stderr(&out));
    }

    // dopri5: 2 + 6 (accepted + rejected) evaluations, as the summary states.
    let input = dir.write("x.csv", "x\n-6\n-2\n0.5\n2\n6\n");
    let out = succeed(&["likelihood", "-c", &ckpt, "-i", &input, "-o", &dir.arg("l.csv")]);
    let summary = stdout(&out);
    let accepted = number_before(&summary, " steps + ");
    let rejected = number_before(&summary, " rejected");
    assert_eq!(nfe(&summary), 2 + 6 * (accepted + rejected), "{summary}");
    assert!(summary.contains(&format!("{} JVPs", nfe(&summary))), "1D: one JVP per evaluation");
}

#[test]
fn ignored_flags_warn_and_bad_flags_are_named() {
    let dir = TempDir::new("flags");
    let ckpt = shift_checkpoint(&dir);
    let input = dir.write("x.csv", "x\n1\n2\n");
    let sample = ["sample", "-c", ckpt.as_str(), "-n", "3", "-o", "-"];
    let with = |extra: &[&'static str]| -> Vec<&str> { [&sample[..], extra].concat() };

    let out = succeed(&with(&["--solver", "dopri5", "--steps", "5"]));
    assert!(stderr(&out).contains("warning: --steps 5 is ignored"), "{}", stderr(&out));
    let out = succeed(&with(&["--solver", "rk4", "--rtol", "1e-3", "--max-steps", "9"]));
    assert!(stderr(&out).contains("warning: --rtol is ignored"), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: --max-steps is ignored"), "{}", stderr(&out));

    fail(&with(&["--solver", "dopri5", "--rtol", "-1"]), 2, &["--rtol = -1"]);
    fail(&with(&["--solver", "dopri5", "--atol", "0"]), 2, &["--atol = 0"]);
    fail(&with(&["--solver", "dopri5", "--max-steps", "0"]), 2, &["--max-steps = 0"]);
    fail(&with(&["--solver", "foo"]), 2, &["--solver", "foo", "dopri5"]);
    fail(&with(&["--steps", "0"]), 2, &["--steps = 0"]);

    let traj = dir.arg("t.csv");
    let fail_traj = |extra: &[&str], needles: &[&str]| {
        let mut args = with(&["--trajectory"]);
        args.push(&traj);
        args.extend(extra);
        fail(&args, 2, needles);
    };
    fail_traj(&["--solver", "dopri5", "--record-every", "2"], &["--record-every", "dopri5"]);
    fail_traj(&["--record-every", "0"], &["--record-every = 0"]);
    fail_traj(&["--record-times", "0.5,0.2"], &["--record-times", "0.5 then 0.2"]);
    fail_traj(&["--record-times", "0,1.5"], &["--record-times", "1.5"]);
    fail_traj(&["--record-times", "0,x"], &["--record-times", "'x'"]);
    fail_traj(&["--trajectory-samples", "0"], &["--trajectory-samples"]);
    fail(&with(&["--record-times", "0,1"]), 2, &["--trajectory"]);
    fail(&with(&["--trajectory", "-"]), 2, &["--out and --trajectory", "unless it names a file"]);

    // A trajectory on standard output leaves it to the CSV; the summary goes to stderr.
    let samples = dir.arg("s.csv");
    let args = ["sample", "-c", &ckpt, "-n", "3", "-o", &samples, "--trajectory", "-"];
    let out = succeed(&args);
    let text = stdout(&out);
    assert!(text.starts_with("sample,t,x\n"), "{text}");
    assert_eq!(text.lines().count(), 1 + 21 * 3, "{text}");
    assert_eq!(nfe(&stderr(&out)), 400, "{}", stderr(&out));

    let likelihood = ["likelihood", "-c", ckpt.as_str(), "-i", input.as_str()];
    let lik = |extra: &[&'static str]| -> Vec<&str> { [&likelihood[..], extra].concat() };
    fail(&lik(&["--divergence", "foo"]), 2, &["--divergence"]);
    fail(&lik(&["--probe", "uniform"]), 2, &["--probe"]);
    fail(&lik(&["--divergence", "hutchinson", "--probes", "0"]), 2, &["--probes = 0"]);
    let out = succeed(&lik(&["--probes", "4"]));
    assert!(stderr(&out).contains("warning: --probes/--probe are ignored"), "{}", stderr(&out));

    let two_columns = dir.write("xy.csv", "x,y\n1,2\n");
    fail(&["likelihood", "-c", &ckpt, "-i", &two_columns], 1, &["xy.csv", "2 columns"]);
    fail(&["encode", "-c", &ckpt, "-i", &two_columns], 1, &["xy.csv", "d = 1"]);
}

#[test]
fn demo_adds_fast_solvers_likelihood_and_density() {
    let dir = TempDir::new("demo");
    let out_dir = dir.arg("out");
    let mut args = vec!["demo", "--out", &out_dir, "--samples", "300", "--ode-steps", "4"];
    args.extend(["--train-steps", "60", "--batch", "128", "--pool", "2000", "--hidden", "16"]);
    let out = succeed(&args);
    let text = stdout(&out);

    // The notebook's rows come first, unchanged, then RK4 and dopri5.
    let rows: Vec<&str> = text.lines().skip(2).take(4).collect();
    assert!(rows[0].starts_with("euler (4 steps, 4 NFE)"), "{text}");
    assert!(rows[1].starts_with("heun (4 steps, 8 NFE)"), "{text}");
    assert!(rows[2].starts_with("rk4 (20 steps, 80 NFE)"), "{text}");
    assert!(rows[3].starts_with("dopri5 (tol 1e-4, "), "{text}");
    assert!(text.contains("held-out NLL on 5000 fresh true draws"), "{text}");

    for file in ["density.png", "rk4.png", "dopri5.png"] {
        let path = std::path::Path::new(&out_dir).join(file);
        assert!(std::fs::metadata(&path).is_ok_and(|m| m.len() > 0), "{file} missing");
    }
    let json = std::fs::read_to_string(std::path::Path::new(&out_dir).join("metrics.json"));
    let metrics: serde_json::Value = serde_json::from_str(&json.unwrap()).unwrap();
    let ode = &metrics["ode"];
    let held_out = &ode["held_out"];
    let gap = held_out["model_nll"].as_f64().unwrap() - held_out["true_nll"].as_f64().unwrap();
    assert!((gap - held_out["kl_estimate"].as_f64().unwrap()).abs() < 1e-9);
    // A KL divergence is non-negative; 60 training steps leave the model far from the target.
    assert!(gap > 0.0, "{held_out}");
    let mass = ode["density_mass"].as_f64().unwrap();
    assert!((mass - 1.0).abs() < 1e-3, "density mass {mass}");
    assert_eq!(ode["accuracy"].as_array().unwrap().len(), 4);
}
