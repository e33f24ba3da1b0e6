//! The command-line program as a user runs it: files written, messages on bad input, exit codes.

use std::path::Path;
use std::process::{Command, Output};

mod cli_support;
use cli_support::TempDir;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowmatching"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).arg("--quiet").output().expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const TINY: [&str; 8] =
    ["--train-steps", "60", "--batch", "128", "--pool", "2000", "--hidden", "16"];

#[test]
fn demo_writes_every_output() {
    let dir = TempDir::new("demo");
    let mut args = vec!["demo", "--out", dir.0.to_str().unwrap(), "--samples", "500"];
    args.extend(["--ode-steps", "4"]);
    args.extend(TINY);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));

    for file in [
        "model.safetensors",
        "samples.csv",
        "metrics.json",
        "losses.csv",
        "data.png",
        "euler.png",
        "heun.png",
        "loss.png",
        "velocity.png",
    ] {
        let meta = std::fs::metadata(dir.path(file)).unwrap_or_else(|_| panic!("{file} missing"));
        assert!(meta.len() > 0, "{file} is empty");
    }

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("heun (4 steps, 8 NFE)"), "{stdout}");
    assert!(stdout.contains("euler (4 steps, 4 NFE)"), "{stdout}");

    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["solvers"][1]["nfe"], 8);
    assert_eq!(metrics["losses"].as_array().unwrap().len(), 1);

    let samples = std::fs::read_to_string(dir.path("samples.csv")).unwrap();
    assert_eq!(samples.lines().next(), Some("euler,heun,rk4,dopri5"));
    assert_eq!(samples.lines().count(), 501);

    // The loss log: whole step numbers, the loss of the last step, the mean over the window.
    let losses = std::fs::read_to_string(dir.path("losses.csv")).unwrap();
    let last_loss = metrics["losses"][0][1].as_f64().unwrap();
    let expected = format!("step,loss,mean_loss\n{},{last_loss:?},", metrics["losses"][0][0]);
    assert!(losses.starts_with(&expected), "{losses}");

    // --out names a directory: an existing file there is refused and left alone.
    let file = dir.path("samples.csv");
    let out = run(&["demo", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("samples.csv: it is a file"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), samples);
}

fn train_tiny(dir: &TempDir) -> String {
    let ckpt = dir.arg("m.safetensors");
    let mut args = vec!["train", "--out", &ckpt, "--seed", "4"];
    args.extend(TINY);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    ckpt
}

#[test]
fn train_sample_evaluate_velocity_chain() {
    let dir = TempDir::new("chain");
    let ckpt = train_tiny(&dir);

    let samples = dir.arg("s.csv");
    let out = run(&["sample", "-c", &ckpt, "-n", "300", "--steps", "5", "--out", &samples]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&samples).unwrap();
    assert_eq!(text.lines().count(), 301);

    // Same seed, same samples; stdout output is the same CSV.
    let again = run(&["sample", "-c", &ckpt, "-n", "300", "--steps", "5"]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), text);

    let json = dir.arg("m.json");
    let out = run(&["evaluate", "--samples", &samples, "--json", &json]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["samples"]["n"], 300);

    let points = dir.path("p.csv");
    std::fs::write(&points, "x,t\n0.5,0.0\n-3,0.5\n7,1\n").unwrap();
    let out = run(&["velocity", "-c", &ckpt, "-i", points.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = String::from_utf8_lossy(&out.stdout);
    assert_eq!(v.lines().next(), Some("v_x"));
    assert_eq!(v.lines().count(), 4);
    assert!(v.lines().skip(1).all(|l| l.parse::<f64>().is_ok_and(f64::is_finite)), "{v}");

    // t runs from 0 (noise) to 1 (data); a time outside is refused with its row.
    std::fs::write(&points, "x,t\n0.5,0.0\n-3,1e30\n").unwrap();
    let out = run(&["velocity", "-c", &ckpt, "-i", points.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("p.csv: data row 2 (column t): t = 1e30"), "{}", stderr(&out));
}

#[test]
fn bad_flags_are_named() {
    let dir = TempDir::new("flags");
    let ckpt = dir.arg("m.safetensors");

    // A value that parses but cannot be used is a usage error too (exit code 2), and the
    // message names the flag once, with the value and the reason.
    let out = run(&["train", "--out", &ckpt, "--weights", "0.5,0.6", "--means", "0,1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --stds = "), "{}", stderr(&out));
    assert!(!Path::new(&ckpt).exists(), "no checkpoint after a failed run");

    let out =
        run(&["train", "--out", &ckpt, "--weights", "0.5,0.6", "--means", "0,1", "--stds", "1,1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --weights = [0.5, 0.6]: the weights sum to 1.1"));

    let out = run(&["train", "--out", &ckpt, "--batch", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --batch = 0"), "{}", stderr(&out));

    let out = run(&["train", "--out", &ckpt, "--hidden", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --hidden = 0: must be at least 1"), "{}", stderr(&out));

    let out = run(&["train", "--out", &ckpt, "--path", "poly:x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --path = poly:x: `x`"), "{}", stderr(&out));

    let out = run(&["train", "--out", &ckpt, "--train-steps", "10", "--warmup", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--warmup"), "{}", stderr(&out));

    let out = run(&["sample", "-c", &ckpt, "--solver", "rk5"]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("invalid --solver = rk5: expected one of"), "{message}");
    assert_eq!(message.matches("invalid").count(), 1, "said once: {message}");

    // A negative count reaches the count parser instead of reading as an unknown flag.
    let out = run(&["train", "--out", &ckpt, "--train-steps", "-5"]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("'-5' for '--train-steps"), "{message}");
    assert!(message.contains("expected a whole number"), "{message}");

    // A run whose loss blows up still writes its checkpoint, but says it diverged. (AdamW's
    // first steps move every weight by about the learning rate, so at lr 20 the output is
    // huge after a step or two whatever the seed; later, saturated units may calm it down.)
    let args = ["--batch", "64", "--pool", "500", "--hidden", "16", "--train-steps", "3"];
    let out = run(&[&["train", "--out", &ckpt, "--lr", "20"][..], &args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("training diverged; try a smaller --lr"), "{}", stderr(&out));
    let out = run(&[&["train", "--out", &ckpt, "--lr", "0.002"][..], &args].concat());
    assert!(!stderr(&out).contains("diverged"), "{}", stderr(&out));

    // Outputs: '-' only where standard output can take them; a missing directory is found
    // before any work.
    let out = run(&["train", "--out", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid --out -: this output cannot go to standard output"));
    let missing = dir.arg("no/such/dir/m.safetensors");
    let out = run(&["train", "--out", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("there is no directory"), "{}", stderr(&out));
    let out = run(&["bench", "--json", &dir.arg("no/such/dir/b.json")]);
    assert_eq!(out.status.code(), Some(2), "refused before the benchmark runs");
    let out = run(&["demo", "--holdout", "0.5"]);
    assert_eq!(out.status.code(), Some(2), "--holdout needs --data");
    let out = run(&["train", "--seed", "-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'-1' for '--seed"), "{}", stderr(&out));

    let out = run(&["train", "--lr", "fast"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit with 2");
    let out = run(&["train", "--lr-schedule", "step"]);
    assert_eq!(out.status.code(), Some(2), "an unknown schedule is a usage error");
}

/// `-` sends a machine-readable output to standard output, and the report that would
/// otherwise go there moves to standard error.
#[test]
fn dash_outputs_go_to_standard_output() {
    let dir = TempDir::new("dash");
    let ckpt = dir.arg("m.safetensors");
    let out = run(&[&["train", "--out", &ckpt, "--loss-csv", "-"][..], &TINY].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("step,loss,mean_loss\n60,"), "{stdout}");
    assert!(stderr(&out).contains("step 60: loss"), "{}", stderr(&out));

    let samples = dir.arg("s.csv");
    let out = run(&["sample", "-c", &ckpt, "-n", "200", "--steps", "4", "-o", &samples]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["evaluate", "--samples", &samples, "--json", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["samples"]["n"], 200);
    assert!(stderr(&out).contains("noise floor over"), "{}", stderr(&out));
    assert!(!Path::new("-").exists(), "no file named -");

    // Two outputs cannot share standard output; nothing is trained or written.
    let data = dir.write("d.csv", "x\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
    let second = dir.arg("second.safetensors");
    let args = ["train", "--data", &data, "--out", &second, "--loss-csv", "-", "--held-out", "-"];
    let out = run(&[&args[..], &TINY].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--loss-csv and --held-out"), "{}", stderr(&out));
    assert!(out.stdout.is_empty() && !Path::new(&second).exists());
}

#[test]
fn bad_files_are_named() {
    let dir = TempDir::new("files");
    let ckpt = train_tiny(&dir);

    let missing = dir.arg("nope.safetensors");
    let out = run(&["sample", "-c", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nope.safetensors"), "{}", stderr(&out));

    let garbage = dir.path("garbage.safetensors");
    std::fs::write(&garbage, b"not a checkpoint").unwrap();
    let out = run(&["sample", "-c", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("garbage.safetensors"), "{}", stderr(&out));

    let points = dir.path("p.csv");
    std::fs::write(&points, "x,t\n0.5,0.0\n1,2,3\n").unwrap();
    let out = run(&["velocity", "-c", &ckpt, "-i", points.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("p.csv:3"), "{}", stderr(&out));

    let one_col = dir.path("x.csv");
    std::fs::write(&one_col, "x\n0.5\n").unwrap();
    let out = run(&["velocity", "-c", &ckpt, "-i", one_col.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rows must be (x, t)"), "{}", stderr(&out));

    // Two columns without a t header: the last is t, and a t outside [0, 1] says so.
    let data = dir.path("data.csv");
    std::fs::write(&data, "eruptions,waiting\n3.6,79\n").unwrap();
    let out = run(&["velocity", "-c", &ckpt, "-i", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("data row 1 (the last of its 2 columns, taken as t)"), "{message}");
    assert!(message.contains("t = 79.0 is outside [0, 1]"), "{message}");
}

/// Runs with `input` on standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = bin()
        .args(args)
        .arg("--quiet")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // A command that refuses its flags may exit before reading: a closed pipe is no failure.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// Samples read back the same from a `.npy` file, a CSV file and a pipe; bad input names are
/// usage errors that name the flag.
#[test]
fn samples_travel_as_npy_csv_or_through_a_pipe() {
    let dir = TempDir::new("npy");
    let ckpt = dir.arg("m.safetensors");
    assert!(run(&[&["train", "--out", &ckpt][..], &TINY].concat()).status.success());
    let (csv, npy) = (dir.arg("s.csv"), dir.arg("s.NPY"));
    for out in [&csv, &npy] {
        let out = run(&["sample", "-c", &ckpt, "-n", "300", "--steps", "4", "-o", out]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let shape_of = |path: &str| {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"), "{path}: a .npy file, not CSV text");
        let header = String::from_utf8_lossy(&bytes[..128]).into_owned();
        header.split("'shape': ").nth(1).unwrap().split(')').next().unwrap().to_string()
    };
    assert_eq!(shape_of(&npy), "(300, 1, ");

    // Trajectories (sample, t, x) and losses (step, loss, mean_loss) as arrays too.
    let traj = dir.arg("traj.npy");
    let five = dir.arg("five.csv");
    let args = ["sample", "-c", &ckpt, "-n", "5", "-o", &five, "--trajectory", &traj];
    let out = run(&[&args[..], &["--trajectory-samples", "2", "--record-every", "50"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(shape_of(&traj), "(10, 3, ", "t = 0, 0.25, 0.5, 0.75, 1 for 2 samples");
    let losses = dir.arg("losses.npy");
    let args = ["train", "--out", &dir.arg("m2.npy"), "--loss-csv", &losses];
    let out = run(&[&args[..], &TINY, &["--log-every", "20"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("m2.npy: the checkpoint is a safetensors file whatever"));
    assert!(std::fs::read(dir.path("m2.npy")).unwrap()[8] == b'{', "a safetensors header");
    assert_eq!(shape_of(&losses), "(3, 3, ", "steps 20, 40 and 60");

    // The numbers of the first row of the metrics table (the label may hold spaces).
    let table = |out: &Output| {
        assert!(out.status.success(), "{}", stderr(out));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let row = text.lines().nth(2).unwrap_or_default().to_string();
        row.split_whitespace().filter_map(|w| w.parse().ok()).collect::<Vec<f64>>()
    };
    let from_csv = table(&run(&["evaluate", "--samples", &csv]));
    assert_eq!(from_csv.len(), 7, "W1, KS, four modes and the max error");
    assert_eq!(table(&run(&["evaluate", "--samples", &npy])), from_csv);
    let piped = run_with_stdin(&["evaluate", "--samples", "-"], &std::fs::read(&csv).unwrap());
    assert_eq!(table(&piped), from_csv);
    assert!(String::from_utf8_lossy(&piped.stdout).contains("standard input "));

    let out = run(&["evaluate", "--samples", "100"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--samples 100: no such file"), "{}", stderr(&out));
    let out = run_with_stdin(&["evaluate", "--samples", "-"], &std::fs::read(&npy).unwrap());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("holds a .npy array, and it takes CSV only"));
    let out = run(&["sample", "-c", "-", "-n", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid --checkpoint = -: this input is read from a file"));

    // A CSV under another name reads as CSV, as the CSV outputs write it.
    let txt = dir.arg("s.txt");
    std::fs::copy(&csv, &txt).unwrap();
    assert_eq!(table(&run(&["evaluate", "--samples", &txt])), from_csv);
    let args = ["evaluate", "--samples", "-", "--reference", "-"];
    let out = run_with_stdin(&args, &std::fs::read(&csv).unwrap());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid --reference = -: standard input"), "{}", stderr(&out));

    let out = run(&["evaluate", "--samples", &npy, "--reference", &csv]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("in units standardised by the mean and std of"), "{text}");
}
