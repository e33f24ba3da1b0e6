//! `flowmatching compare`: which probability path suits the data, answered with numbers.
//!
//! Every path of `--paths` trains its own network from the same seed, hence the same data pool,
//! initial weights and draws of x_0, x_1 and t, with the same network, step budget and
//! optimiser. Each trained flow is then measured twice:
//!
//! 1. **The fine solve.** RK4 with `--fine-steps` steps from `--samples` noise points z_0 gives
//!    the learned ODE's own samples (the solver's error is negligible there), their W1, KS and
//!    mode-fraction error against the exact mixture, the trajectories x(t), and the
//!    straightness of the flow, S = ∫_0^1 E ||x(1) - x(0) - v(x(t), t)||^2 dt (see
//!    [`flowmatching::metrics::straightness`]; 0 for straight, constant-speed trajectories).
//! 2. **The sweep.** Every solver of `--solvers` at every NFE budget of `--nfe` (or step count
//!    of `--ode-steps`; dopri5 sweeps the tolerances `--tols`) from the first `--sweep-samples`
//!    of the same z_0, scored the same way. The fewest NFE whose W1 reaches `--target-w1` sums
//!    up how cheaply a path samples well.
//!
//! Every path and solver starts from the same noise (the `sample` stream of the seed, as
//! `flowmatching sample --seed` draws it), so differences between rows are paired, not luck of
//! the draw. The sampling-noise floor of W1 at both sample sizes is reported beside them.
//! Training losses regress each path's own target u_t and are not on one scale across paths.
//!
//! Cost per path, in network evaluations of one point: training, plus (5 N + 1) × `--samples`
//! for the fine solve of N steps, plus the sum of the sweep's NFE × `--sweep-samples`. The
//! defaults (N = 100, 20 000 and 5000 points, NFE 1 to 128 for three solvers) keep a path to
//! seconds on two cores.

mod outputs;

use std::time::Instant;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::args::CompareArgs;
use super::steps::train_on_mixture_with;
use super::Ui;
use super::{bad_flag, flag_error};
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::flow::Flow;
use flowmatching::metrics::one_d::{evaluate_1d, noise_floor, Metrics1d, NoiseFloor1d};
use flowmatching::metrics::straightness::straightness;
use flowmatching::path::{parse_path_list, PathSpec};
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::train::TrainConfig;

/// Independent draws behind each sampling-noise floor.
const FLOOR_REPS: usize = 20;

/// The validated settings of a comparison.
struct Plan {
    paths: Vec<PathSpec>,
    solvers: Vec<Solver>,
    grid: SweepGrid,
    tols: Vec<f64>,
    train: TrainConfig,
}

/// What the fixed-step solvers of the sweep are given, in increasing order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum SweepGrid {
    /// Budgets of network evaluations; a solver takes budget / (evaluations per step) steps.
    Nfe(Vec<usize>),
    /// Step counts, the same for every solver.
    Steps(Vec<usize>),
}

/// One run of the sweep before it is measured.
struct RunPlan {
    budget: Option<usize>,
    tol: Option<f64>,
    /// `None` when the budget buys less than one step.
    options: Option<SolveOptions>,
}

/// One measured run of the sweep, as written to JSON.
#[derive(Debug, Serialize)]
struct Run {
    /// The requested NFE budget (with --nfe), or null.
    budget: Option<usize>,
    /// Steps taken (accepted steps for dopri5); 0 when the budget buys no step.
    steps: usize,
    /// Tolerance rtol = atol of dopri5, or null.
    tol: Option<f64>,
    /// Network evaluations actually used.
    nfe: usize,
    /// The samples' metrics, or null when the run was not possible.
    metrics: Option<Metrics1d>,
    seconds: f64,
}

/// One solver's runs on one path.
#[derive(Debug, Serialize)]
struct SolverSweep {
    solver: String,
    /// Fewest NFE whose W1 is at most --target-w1, or null.
    nfe_to_target: Option<usize>,
    runs: Vec<Run>,
}

/// The straightness of one learned flow, as written to JSON.
#[derive(Debug, Serialize)]
struct StraightnessReport {
    /// S = ∫ E ||Δ - v(x(t), t)||^2 dt.
    s: f64,
    /// S / E ||Δ||^2.
    relative: Option<f64>,
    /// E ||Δ||^2.
    displacement_sq: f64,
    /// (t_k, E ||Δ - v(x(t_k), t_k)||^2) along the fine solve.
    profile: Vec<(f64, f64)>,
}

/// The fine RK4 solve of one learned flow.
#[derive(Debug, Serialize)]
struct FineSolve {
    steps: usize,
    nfe: usize,
    metrics: Metrics1d,
    seconds: f64,
}

/// Everything measured on one path, as written to JSON.
#[derive(Debug, Serialize)]
struct PathResult {
    path: String,
    train_seconds: f64,
    /// Batch loss of the last step.
    final_loss: f64,
    /// Mean batch loss over the last `smoothing_steps` steps (the last 10 %).
    smoothed_loss: f64,
    smoothing_steps: usize,
    /// (step, batch loss) every --log-every steps.
    losses: Vec<(usize, f64)>,
    straightness: StraightnessReport,
    fine: FineSolve,
    sweep: Vec<SolverSweep>,
}

/// What one path leaves for the plots besides its [`PathResult`].
struct PathArtifacts {
    /// Batch loss of every step.
    step_losses: Vec<f64>,
    /// The fine solve's samples x(1), data units.
    samples: Vec<f64>,
    /// Snapshot times of the trajectories.
    times: Vec<f64>,
    /// The first trajectories, time-major (`x[k * m + i]`), data units.
    trajectories: Vec<f64>,
}

/// The mixture's parameters, as written to JSON.
#[derive(Debug, Serialize)]
struct MixtureSpec {
    weights: Vec<f64>,
    means: Vec<f64>,
    stds: Vec<f64>,
}

/// The whole comparison, as written to `compare.json`.
#[derive(Debug, Serialize)]
struct CompareReport {
    seed: u64,
    mixture: MixtureSpec,
    network: NetworkSpec,
    training: TrainConfig,
    solvers: Vec<String>,
    sweep_grid: SweepGrid,
    dopri5_tols: Vec<f64>,
    target_w1: f64,
    samples: usize,
    sweep_samples: usize,
    fine_steps: usize,
    noise_floor_fine: NoiseFloor1d,
    noise_floor_sweep: NoiseFloor1d,
    results: Vec<PathResult>,
}

/// The network's shape, as written to JSON.
#[derive(Debug, Serialize)]
struct NetworkSpec {
    hidden: usize,
    depth: usize,
    t_dim: usize,
}

/// Runs the comparison and writes its files into `args.out`.
pub fn run(args: &CompareArgs, ui: &Ui) -> Result<()> {
    let plan = plan(args)?;
    let mixture = super::mixture(&args.mixture)?;
    super::check_training_flags(&args.net, &args.optim, args.seed)?;
    super::create_out_dir(&args.out)?;

    let mut results = Vec::with_capacity(plan.paths.len());
    let mut artifacts = Vec::with_capacity(plan.paths.len());
    for (i, spec) in plan.paths.iter().enumerate() {
        ui.status(format!("path {}/{}: {spec}", i + 1, plan.paths.len()));
        let (result, artifact) = run_path(spec, &plan, &mixture, args, ui)?;
        results.push(result);
        artifacts.push(artifact);
    }

    let mut eval_rng = stream(args.seed, Stream::Eval);
    let report = CompareReport {
        seed: args.seed,
        mixture: MixtureSpec {
            weights: mixture.weights().to_vec(),
            means: mixture.means().to_vec(),
            stds: mixture.stds().to_vec(),
        },
        network: NetworkSpec {
            hidden: args.net.hidden,
            depth: args.net.depth,
            t_dim: args.net.t_dim,
        },
        training: plan.train.clone(),
        solvers: plan.solvers.iter().map(|s| s.to_string()).collect(),
        sweep_grid: plan.grid.clone(),
        dopri5_tols: plan.tols.clone(),
        target_w1: args.target_w1,
        samples: args.samples,
        sweep_samples: args.sweep_samples,
        fine_steps: args.fine_steps,
        noise_floor_fine: noise_floor(&mixture, args.samples, FLOOR_REPS, &mut eval_rng)?,
        noise_floor_sweep: noise_floor(&mixture, args.sweep_samples, FLOOR_REPS, &mut eval_rng)?,
        results,
    };

    outputs::write_all(&args.out, &report, &artifacts, &mixture)?;
    print!("{}", outputs::summary_text(&report));
    ui.status(format!("wrote tables, JSON, losses and plots to {}", args.out.display()));
    Ok(())
}

/// Validates every flag before any training starts.
fn plan(args: &CompareArgs) -> Result<Plan> {
    if args.optim.path != "linear" {
        return Err(bad_flag(format!(
            "invalid --path = {}: compare trains every path of --paths (a comma-separated list)",
            args.optim.path
        )));
    }
    let paths = parse_path_list(&args.paths).map_err(|e| flag_error("--paths", &args.paths, e))?;
    let names: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    if let Some(k) = (1..names.len()).find(|&k| names[..k].contains(&names[k])) {
        return Err(bad_flag(format!(
            "invalid --paths = {}: {} is listed twice",
            args.paths, names[k]
        )));
    }

    let solvers = parse_solvers(&args.solvers)?;
    let grid = match &args.ode_steps {
        Some(list) => SweepGrid::Steps(parse_counts("--ode-steps", list)?),
        None => SweepGrid::Nfe(parse_counts("--nfe", &args.nfe)?),
    };
    let tols = parse_tols(&args.tols)?;
    check_sizes(args)?;
    let train = super::train_config(&args.optim)?;
    super::net_config(&args.net, 1)?;
    Ok(Plan { paths, solvers, grid, tols, train })
}

/// Parses `--solvers`, refusing unknown names and repeats.
fn parse_solvers(list: &str) -> Result<Vec<Solver>> {
    let mut solvers: Vec<Solver> = Vec::new();
    for token in list.split(',') {
        let solver: Solver = token.parse().map_err(|e| flag_error("--solvers", list, e))?;
        if solvers.iter().any(|s| s.name() == solver.name()) {
            return Err(bad_flag(format!("invalid --solvers = {list}: {solver} is listed twice")));
        }
        solvers.push(solver);
    }
    Ok(solvers)
}

/// Parses a comma-separated list of positive whole numbers, sorted and without repeats.
fn parse_counts(flag: &str, list: &str) -> Result<Vec<usize>> {
    let mut counts = Vec::new();
    for token in list.split(',') {
        let count: usize = match token.trim().parse() {
            Ok(c) if c > 0 => c,
            _ => {
                let reason = format!("'{token}' is not a positive whole number");
                return Err(bad_flag(format!("invalid {flag} = {list}: {reason}")));
            }
        };
        counts.push(count);
    }
    counts.sort_unstable();
    counts.dedup();
    Ok(counts)
}

/// Parses `--tols`: positive finite numbers, loosest first.
fn parse_tols(list: &str) -> Result<Vec<f64>> {
    let mut tols = Vec::new();
    for token in list.split(',') {
        let tol: f64 = match token.trim().parse() {
            Ok(t) if f64::is_finite(t) && t > 0.0 => t,
            _ => {
                return Err(bad_flag(format!(
                    "invalid --tols = {list}: '{token}' is not a positive number"
                )))
            }
        };
        tols.push(tol);
    }
    tols.sort_by(|a, b| b.total_cmp(a));
    tols.dedup();
    Ok(tols)
}

/// Checks the sample counts, the fine solve's steps and the target.
fn check_sizes(args: &CompareArgs) -> Result<()> {
    super::at_least("--samples", args.samples, 1)?;
    super::at_least("--sweep-samples", args.sweep_samples, 1)?;
    if args.sweep_samples > args.samples {
        return Err(bad_flag(format!(
            "invalid --sweep-samples = {}: the sweep reuses the first points of the fine solve's \
             noise, so it must be at most --samples = {}",
            args.sweep_samples, args.samples
        )));
    }
    if args.fine_steps < 2 || args.fine_steps % 2 != 0 {
        return Err(bad_flag(format!(
            "invalid --fine-steps = {}: must be even and at least 2 (the straightness integral \
             uses Simpson's rule)",
            args.fine_steps
        )));
    }
    if args.trajectories == 0 {
        return Err(bad_flag("invalid --trajectories = 0: draw at least one trajectory"));
    }
    if !(args.target_w1.is_finite() && args.target_w1 > 0.0) {
        return Err(bad_flag(format!(
            "invalid --target-w1 = {}: must be a positive number",
            args.target_w1
        )));
    }
    Ok(())
}

/// Trains one path, then measures the fine solve and the sweep.
fn run_path(
    spec: &PathSpec,
    plan: &Plan,
    mixture: &GaussianMixture1d,
    args: &CompareArgs,
    ui: &Ui,
) -> Result<(PathResult, PathArtifacts)> {
    let mut optim = args.optim.clone();
    optim.path = spec.to_string();
    let mut step_losses = Vec::with_capacity(plan.train.steps);
    let trained = train_on_mixture_with(mixture, &args.net, &optim, args.seed, ui, |info| {
        step_losses.push(info.loss)
    })
    .with_context(|| format!("training on path {spec}"))?;
    let flow = &trained.flow;

    let z_0 = flow.noise(args.samples, &mut stream(args.seed, Stream::Sample));
    let (straightness, fine, artifacts) = fine_solve(flow, &z_0, mixture, args)
        .with_context(|| format!("fine RK4 solve of path {spec}"))?;

    let runs = sweep_plan(plan);
    let bar = ui.progress(runs.iter().map(|(_, r)| r.len() as u64).sum(), "sampling");
    let mut sweep = Vec::with_capacity(runs.len());
    for (solver, solver_runs) in runs {
        let mut measured = Vec::with_capacity(solver_runs.len());
        for run in solver_runs {
            measured.push(measure(flow, &z_0[..args.sweep_samples], &run, mixture)?);
            bar.inc(1);
        }
        let nfe_to_target = nfe_to_target(&measured, args.target_w1);
        sweep.push(SolverSweep { solver: solver.to_string(), nfe_to_target, runs: measured });
    }
    bar.finish_and_clear();

    let smoothing_steps = (step_losses.len() / 10).max(1);
    let tail = &step_losses[step_losses.len() - smoothing_steps..];
    let result = PathResult {
        path: spec.to_string(),
        train_seconds: trained.log.seconds,
        final_loss: step_losses[step_losses.len() - 1],
        smoothed_loss: tail.iter().sum::<f64>() / smoothing_steps as f64,
        smoothing_steps,
        losses: trained.log.losses.clone(),
        straightness,
        fine,
        sweep,
    };
    Ok((result, PathArtifacts { step_losses, ..artifacts }))
}

/// RK4 with `--fine-steps` steps from `z_0`: straightness, samples, metrics and trajectories.
fn fine_solve(
    flow: &Flow,
    z_0: &[f64],
    mixture: &GaussianMixture1d,
    args: &CompareArgs,
) -> Result<(StraightnessReport, FineSolve, PathArtifacts)> {
    let started = Instant::now();
    let measured = straightness(&mut flow.field(), z_0, args.fine_steps)?;
    let seconds = started.elapsed().as_secs_f64();

    let mut samples = measured.solution.x.clone();
    flow.standardizer().inverse_in_place(&mut samples)?;
    let metrics = evaluate_1d(&samples, mixture)?;

    let m = args.trajectories.min(z_0.len());
    let mut trajectories = Vec::with_capacity(measured.times.len() * m);
    for snapshot in &measured.solution.trajectory {
        trajectories.extend_from_slice(&snapshot.x[..m]);
    }
    flow.standardizer().inverse_in_place(&mut trajectories)?;

    let report = StraightnessReport {
        s: measured.s,
        relative: measured.relative,
        displacement_sq: measured.displacement_sq,
        profile: measured.times.iter().copied().zip(measured.profile.iter().copied()).collect(),
    };
    let fine = FineSolve { steps: args.fine_steps, nfe: measured.nfe, metrics, seconds };
    let artifacts =
        PathArtifacts { step_losses: Vec::new(), samples, times: measured.times, trajectories };
    Ok((report, fine, artifacts))
}

/// The runs of every solver: the grid for fixed-step solvers, the tolerances for dopri5.
fn sweep_plan(plan: &Plan) -> Vec<(Solver, Vec<RunPlan>)> {
    let fixed = |solver: Solver, evals: usize| -> Vec<RunPlan> {
        let run = |budget: Option<usize>, steps: usize| RunPlan {
            budget,
            tol: None,
            options: (steps > 0).then(|| SolveOptions::new(solver, steps)),
        };
        match &plan.grid {
            SweepGrid::Nfe(budgets) => budgets.iter().map(|&b| run(Some(b), b / evals)).collect(),
            SweepGrid::Steps(steps) => steps.iter().map(|&s| run(None, s)).collect(),
        }
    };
    let adaptive = |max_steps: usize| -> Vec<RunPlan> {
        let run = |&tol: &f64| RunPlan {
            budget: None,
            tol: Some(tol),
            options: Some(SolveOptions::new(Solver::Dopri5 { rtol: tol, atol: tol, max_steps }, 1)),
        };
        plan.tols.iter().map(run).collect()
    };
    (plan.solvers.iter())
        .map(|&solver| match (solver, solver.evals_per_step()) {
            (Solver::Dopri5 { max_steps, .. }, _) => (solver, adaptive(max_steps)),
            (_, evals) => (solver, fixed(solver, evals.unwrap_or(1))),
        })
        .collect()
}

/// Samples from `z_0` as `run` says and scores the samples against the mixture.
fn measure(flow: &Flow, z_0: &[f64], run: &RunPlan, mixture: &GaussianMixture1d) -> Result<Run> {
    let Some(options) = &run.options else {
        let (budget, tol) = (run.budget, run.tol);
        return Ok(Run { budget, steps: 0, tol, nfe: 0, metrics: None, seconds: 0.0 });
    };
    let started = Instant::now();
    let solution =
        flow.generate(z_0, options).with_context(|| format!("sampling with {}", options.solver))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Run {
        budget: run.budget,
        steps: solution.steps,
        tol: run.tol,
        nfe: solution.nfe,
        metrics: Some(evaluate_1d(&solution.x, mixture)?),
        seconds,
    })
}

/// The fewest NFE of a run whose W1 is at most `target`.
fn nfe_to_target(runs: &[Run], target: f64) -> Option<usize> {
    (runs.iter())
        .filter(|r| r.metrics.as_ref().is_some_and(|m| m.w1 <= target))
        .map(|r| r.nfe)
        .min()
}
