//! The ODE side of the command line: solver flags, trajectories, `encode` and `likelihood`.
//!
//! Time convention, as everywhere: t = 0 is noise, t = 1 is data. `sample` integrates from 0 to
//! 1, `encode` from 1 back to 0, and `likelihood` solves the augmented ODE of
//! [`flowmatching::likelihood`] from 1 back to 0 as well.
//!
//! Solver flags are optional so that each command picks its own default (Heun with 200 steps to
//! sample and encode, dopri5 with rtol = atol = 1e-5 for likelihoods) and so that a flag the
//! chosen solver ignores (`--steps` with dopri5, `--rtol`/`--atol`/`--max-steps` with a
//! fixed-step solver) gets a warning rather than silence.
//!
//! Every run reports its cost in network evaluations (NFE): one evaluation is one pass of the
//! whole batch through the network. Results (samples, codes, log-densities) go to `--out`; the
//! one-line summary goes to stdout, or to stderr when stdout carries the CSV.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};

use super::args::TrajectoryArgs;
use super::args::{DivergenceName, EncodeArgs, LikelihoodArgs, ProbeName, SolverArgs};
use super::{bad_flag, flag_error, setting_as_flag};
use flowmatching::flow::Flow;
use flowmatching::likelihood::{Divergence, LikelihoodOptions, LogLikelihood, Probe};
use flowmatching::report::{fmt_num, write_atomic};
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{Snapshot, Solution, SolveOptions, Solver, TimeGrid};

/// Steps of a fixed-step solver when `--steps` is not given.
pub const DEFAULT_STEPS: usize = 200;

/// Number of intervals of the default record times 0, 1/20, ..., 1.
const DEFAULT_RECORD_INTERVALS: usize = 20;

/// The solve settings from the flags, with `default` as the solver when `--solver` is absent.
///
/// Flags the solver ignores are accepted with a warning on stderr; bad values are errors that
/// name the flag.
pub fn solve_options(args: &SolverArgs, default: Solver) -> Result<SolveOptions> {
    let mut solver = match &args.solver {
        Some(name) => name.parse().map_err(|e| flag_error("--solver", name, e))?,
        None => default,
    };
    if let Solver::Dopri5 { rtol, atol, max_steps } = &mut solver {
        *rtol = args.rtol.unwrap_or(*rtol);
        *atol = args.atol.unwrap_or(*atol);
        *max_steps = args.max_steps.unwrap_or(*max_steps);
    }
    solver.validate().map_err(setting_as_flag)?;

    if solver.is_adaptive() {
        if let Some(steps) = args.steps {
            warn(format!(
                "--steps {steps} is ignored: dopri5 picks its own steps (tune --rtol/--atol)"
            ));
        }
    } else {
        let adaptive_flags = [
            ("--rtol", args.rtol.is_some()),
            ("--atol", args.atol.is_some()),
            ("--max-steps", args.max_steps.is_some()),
        ];
        for (flag, _) in adaptive_flags.iter().filter(|(_, given)| *given) {
            warn(format!("{flag} is ignored: it only applies to dopri5, not {solver}"));
        }
    }

    let steps = args.steps.unwrap_or(DEFAULT_STEPS);
    if steps == 0 && !solver.is_adaptive() {
        return Err(bad_flag("invalid --steps = 0: a fixed-step solver needs at least one step"));
    }
    Ok(SolveOptions::new(solver, steps))
}

/// A warning on stderr, shown even with `--quiet` (which only hides progress).
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("warning: {message}");
}

/// Prints a result line on stdout, or on stderr when stdout (`-`) carries one of the CSVs.
pub fn summary(csv_outs: &[&Path], line: impl std::fmt::Display) {
    if csv_outs.iter().any(|p| p.as_os_str() == "-") {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// What a solve cost: `rk4, 20 steps: 80 NFE` or
/// `dopri5 (rtol 1e-5, atol 1e-5), 12 steps + 1 rejected: 80 NFE`.
pub fn cost(solver: &Solver, solution_steps: usize, rejected: usize, nfe: usize) -> String {
    match solver {
        Solver::Dopri5 { rtol, atol, .. } => format!(
            "dopri5 (rtol {}, atol {}), {solution_steps} steps + {rejected} rejected: {nfe} NFE",
            tolerance(*rtol),
            tolerance(*atol)
        ),
        fixed => format!("{fixed}, {solution_steps} steps: {nfe} NFE"),
    }
}

/// A tolerance as `1e-5`, and zero as `0` (not `0e0`).
pub fn tolerance(tol: f64) -> String {
    if tol == 0.0 {
        return "0".to_string();
    }
    format!("{tol:e}")
}

/// The cost of `solution` under `options`; see [`cost`].
pub fn solve_cost(options: &SolveOptions, solution: &Solution) -> String {
    cost(&options.solver, solution.steps, solution.rejected, solution.nfe)
}

/// The times to record for `--trajectory`, or none without it.
///
/// `--record-times` is taken as given (checked: finite, within [0, 1], strictly increasing);
/// `--record-every K` takes the grid times k / N for k = 0, K, 2K, ... and N itself, so it
/// never adds a step; neither gives 0, 0.05, ..., 1.
pub fn record_times(args: &TrajectoryArgs, options: &SolveOptions) -> Result<Vec<f64>> {
    if args.trajectory.is_none() {
        return Ok(Vec::new());
    }
    if args.trajectory_samples == 0 {
        return Err(bad_flag("invalid --trajectory-samples = 0: write at least one trajectory"));
    }
    if let Some(list) = &args.record_times {
        return parse_record_times(list);
    }
    let Some(every) = args.record_every else {
        let intervals = DEFAULT_RECORD_INTERVALS;
        return Ok((0..=intervals).map(|k| k as f64 / intervals as f64).collect());
    };

    let Some(steps) = uniform_steps(options) else {
        return Err(bad_flag(
            "--record-every needs a fixed-step solver: dopri5 has no grid (use --record-times)",
        ));
    };
    if every == 0 {
        return Err(bad_flag("invalid --record-every = 0: record every K >= 1 steps"));
    }
    let mut ks: Vec<usize> = (0..=steps).step_by(every).collect();
    if ks.last() != Some(&steps) {
        ks.push(steps);
    }
    Ok(ks.into_iter().map(|k| k as f64 / steps as f64).collect())
}

/// The number of steps N of a fixed-step solve on a uniform grid (whose times are k / N).
fn uniform_steps(options: &SolveOptions) -> Option<usize> {
    match (&options.solver, &options.grid) {
        (Solver::Dopri5 { .. }, _) | (_, TimeGrid::Explicit(_)) => None,
        (_, TimeGrid::Uniform { steps }) => Some(*steps),
    }
}

/// Parses `--record-times`: comma-separated, finite, within [0, 1], strictly increasing.
fn parse_record_times(list: &str) -> Result<Vec<f64>> {
    let mut times = Vec::new();
    for (k, item) in list.split(',').enumerate() {
        let t: f64 = item.trim().parse().map_err(|_| {
            bad_flag(format!(
                "invalid --record-times = {list}: entry {} '{item}' is not a number",
                k + 1
            ))
        })?;
        if !(0.0..=1.0).contains(&t) {
            return Err(bad_flag(format!(
                "invalid --record-times = {list}: {t} is outside [0, 1] (0 = noise, 1 = data)"
            )));
        }
        if let Some(&previous) = times.last() {
            if t <= previous {
                return Err(bad_flag(format!(
                    "invalid --record-times = {list}: times must increase ({previous} then {t})"
                )));
            }
        }
        times.push(t);
    }
    Ok(times)
}

/// Writes the first `keep` trajectories in long format: header `sample,t,<columns>`, then one
/// row per recorded time and sample, time after time. `-` writes to stdout.
pub fn write_trajectory(
    path: &Path,
    columns: &[String],
    trajectory: &[Snapshot],
    keep: usize,
) -> Result<()> {
    let d = columns.len();
    if super::is_npy(path) {
        let header: Vec<String> = ["sample", "t"].iter().map(|s| s.to_string()).collect();
        let header = [header, columns.to_vec()].concat();
        let mut values = Vec::new();
        for snapshot in trajectory {
            for (i, x) in snapshot.x.chunks(d).take(keep).enumerate() {
                values.extend([i as f64, snapshot.t]);
                values.extend_from_slice(x);
            }
        }
        return super::write_table(path, &header, &values);
    }
    let mut text = format!("sample,t,{}\n", columns.join(","));
    for snapshot in trajectory {
        for (i, x) in snapshot.x.chunks(d).take(keep).enumerate() {
            let values: Vec<String> = x.iter().map(|v| format!("{v:?}")).collect();
            let _ = writeln!(text, "{i},{:?},{}", snapshot.t, values.join(","));
        }
    }
    if path.as_os_str() == "-" {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        return Ok(out.flush()?);
    }
    Ok(write_atomic(path, text.as_bytes())?)
}

/// Reads the points of `input` and checks that they have the checkpoint's dimension.
fn read_points(input: &Path, flow: &Flow) -> Result<Vec<f64>> {
    let wanted = super::flow_columns(flow);
    let table = super::read_table("--input", input, Some(&wanted))?;
    match super::values_in_columns(&table, &wanted, input) {
        Some(values) => Ok(values),
        None => bail!(
            "{}: {} ({}), but the checkpoint's data has d = {} ({}): give one column per \
             coordinate, or a header that names them",
            input.display(),
            super::counted(table.d, "column"),
            table.columns.join(","),
            flow.dim(),
            wanted.join(",")
        ),
    }
}

/// `flowmatching encode`: data points to their noise codes, from t = 1 back to t = 0.
pub fn encode(args: &EncodeArgs) -> Result<()> {
    let options = solve_options(&args.solver, Solver::Heun)?;
    super::check_output_file("--out", &args.out, true)?;
    let flow = Flow::load(super::named_file("--checkpoint", &args.checkpoint)?)?;
    let x_1 = read_points(&args.input, &flow)?;

    let started = Instant::now();
    let solution = flow.encode(&x_1, &options)?;
    let header: Vec<String> = match flow.dim() {
        1 => vec!["z".to_string()],
        d => (1..=d).map(|j| format!("z{j}")).collect(),
    };
    super::write_table(&args.out, &header, &solution.x)?;
    summary(
        &[&args.out],
        format!(
            "encoded {} with {} in {:.2} s",
            super::counted(x_1.len() / flow.dim(), "point"),
            solve_cost(&options, &solution),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

/// The divergence settings from the flags, warning about probe flags that exact ignores.
fn divergence(args: &LikelihoodArgs) -> Result<Divergence> {
    let probe = match args.probe {
        ProbeName::Rademacher => Probe::Rademacher,
        ProbeName::Gaussian => Probe::Gaussian,
    };
    match args.divergence {
        DivergenceName::Exact => {
            if args.probes != 1 || args.probe != ProbeName::Rademacher {
                warn("--probes/--probe are ignored: the exact divergence draws no probes");
            }
            Ok(Divergence::Exact)
        }
        DivergenceName::Hutchinson if args.probes == 0 => {
            Err(bad_flag("invalid --probes = 0: Hutchinson's estimate needs at least one probe"))
        }
        DivergenceName::Hutchinson => Ok(Divergence::Hutchinson { probes: args.probes, probe }),
    }
}

/// `flowmatching likelihood`: per-point log p_1(x) as CSV, and the mean negative log-likelihood.
pub fn likelihood(args: &LikelihoodArgs) -> Result<()> {
    let solve = solve_options(&args.solver, Solver::dopri5())?;
    let divergence = divergence(args)?;
    super::check_output_file("--out", &args.out, true)?;
    let flow = Flow::load(super::named_file("--checkpoint", &args.checkpoint)?)?;
    let constant = flow.standardizer().constant_columns();
    if !constant.is_empty() {
        let columns = super::flow_columns(&flow);
        let names: Vec<&str> = constant.iter().map(|&j| columns[j].as_str()).collect();
        bail!(
            "checkpoint {}: no likelihood, since the training data had constant columns ({}): \
             the flow keeps them at their one value, a point mass, which has no density",
            args.checkpoint.display(),
            names.join(", ")
        );
    }
    let x_1 = read_points(&args.input, &flow)?;

    let options = LikelihoodOptions { solver: solve.solver, grid: solve.grid.clone(), divergence };
    let started = Instant::now();
    let mut rng = stream(args.seed, Stream::Probe);
    let result = flow.log_likelihood(&x_1, &options, &mut rng)?;
    super::write_table(&args.out, &["log_p".to_string()], &result.log_p_1)?;

    let (nll, standard_error) = mean_nll(&result);
    let estimate = match divergence {
        Divergence::Exact => "exact divergence".to_string(),
        Divergence::Hutchinson { probes, probe } => {
            format!("Hutchinson, {}", super::counted(probes, &format!("{probe} probe")))
        }
    };
    summary(
        &[&args.out],
        format!(
            "mean NLL {} nats (+- {}) over {}; {estimate}; {}; {} JVPs; {:.2} s",
            fmt_num(nll, 6),
            fmt_num(standard_error, 6),
            super::counted(result.log_p_1.len(), "point"),
            cost(&options.solver, result.steps, result.rejected, result.nfe),
            result.jvps,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

/// The mean of -log p_1 and its standard error (sample std / sqrt(n)).
pub fn mean_nll(result: &LogLikelihood) -> (f64, f64) {
    mean_and_standard_error(result.log_p_1.iter().map(|l| -l))
}

/// Mean and standard error of the mean of `values` (0 for fewer than two values).
pub fn mean_and_standard_error(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let values: Vec<f64> = values.collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (variance / n).sqrt())
}
