//! `flowmatching demo` on data of any dimension: a 2D toy (the notebook's checkerboard), a
//! Gaussian mixture spec, or the user's file.
//!
//! Data -> training -> Euler and Heun sampling -> d-dimensional metrics against fresh true
//! samples or held-out rows, next to the noise floor (a second true sample scored the same
//! way), the NLL where the model's density can be computed, the checkerboard's valid-cell
//! fraction -> plots, checkpoint, CSV and JSON.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::args::DemoArgs;
use super::demo_plots::{self, Generated};
use super::score::{self, Nll, Reference, Score, Scorer};
use super::source::{Prepared, Source, Truth};
use super::steps::{train_pool, write_losses, RunRng, Trained};
use super::Ui;
use flowmatching::report::write_json;
use flowmatching::solve::{SolveOptions, Solver};

/// Samples whose paths are recorded for the trajectory plot.
const PATH_POINTS: usize = 300;

/// Snapshots along each recorded path.
const PATH_SNAPSHOTS: usize = 51;

/// One solver's samples and scores.
#[derive(Serialize)]
struct SolverRun {
    solver: String,
    steps: usize,
    nfe: usize,
    seconds: f64,
    score: Score,
}

/// Everything the demo measured, as written to `metrics.json`.
#[derive(Serialize)]
struct NdReport {
    seed: u64,
    data: String,
    columns: Vec<String>,
    d: usize,
    train_rows: usize,
    reference: String,
    path: String,
    hidden: usize,
    depth: usize,
    train_steps: usize,
    batch: usize,
    train_seconds: f64,
    losses: Vec<(usize, f64)>,
    solvers: Vec<SolverRun>,
    noise_floor: Option<Score>,
    nll: Option<Nll>,
}

/// Runs the demo on `args`' data and writes its files into `args.out`.
pub fn run(args: &DemoArgs, ui: &Ui) -> Result<()> {
    super::at_least("--samples", args.samples, 2)?;
    super::at_least("--ode-steps", args.ode_steps, 1)?;
    super::check_training_flags(&args.net, &args.optim, args.seed)?;
    super::create_out_dir(&args.out)?;

    let source = Source::new(args.dataset, &args.data, &args.mixture)?;
    let mut rng = RunRng::new(args.optim.rng, args.seed)?;
    let data = source.prepare(&args.data, args.optim.pool, &mut rng, ui)?;
    let train_data = data.train_data(args.data.standardize)?;
    let mut trained = train_pool(train_data, &args.net, &args.optim, rng, ui, |_| {})?;
    ui.status(format!("trained {} steps in {:.2} s", args.optim.train_steps, trained.log.seconds));

    let generated = generate(&mut trained, args)?;
    let reference = Reference::from_truth(&data, args.samples, args.seed)?;
    let units = data.metric_units()?;
    let scorer = Scorer::new(data.d, reference, units, data.board.clone(), args.seed);

    let mut solvers = Vec::new();
    for (name, run) in [("euler", &generated.euler), ("heun", &generated.heun)] {
        let label = format!("{name} ({} steps, {} NFE)", args.ode_steps, run.nfe);
        solvers.push(SolverRun {
            solver: name.to_string(),
            steps: args.ode_steps,
            nfe: run.nfe,
            seconds: run.seconds,
            score: scorer.score(&label, &run.x)?,
        });
    }
    let noise_floor = scorer.floor()?;
    let target = match &data.truth {
        Truth::Target(t) => Some(t.as_ref()),
        Truth::HeldOut(_) => None,
    };
    let started = Instant::now();
    let nll =
        score::nll(&trained.flow, &scorer.reference().rows, target, args.ode_steps, args.seed)?;
    super::debug(format!("NLL in {:.2} s", started.elapsed().as_secs_f64()));

    let report = NdReport {
        seed: args.seed,
        data: data.name.clone(),
        columns: data.columns.clone(),
        d: data.d,
        train_rows: data.train.len() / data.d,
        reference: scorer.reference().label.clone(),
        path: trained.flow.info().path.clone(),
        hidden: args.net.hidden,
        depth: args.net.depth,
        train_steps: args.optim.train_steps,
        batch: args.optim.batch,
        train_seconds: trained.log.seconds,
        losses: trained.log.losses.clone(),
        solvers,
        noise_floor,
        nll,
    };
    write_outputs(&args.out, &trained, &data, &generated, &report)?;
    demo_plots::plot_all(&args.out, &trained, &data, scorer.reference(), &generated)?;
    print_summary(&report, &trained);
    ui.status(format!("wrote checkpoint, samples, metrics and plots to {}", args.out.display()));
    Ok(())
}

/// Euler and Heun samples from the run's sampling noise (Heun's drawn first, as ref_2d.py
/// draws it), and the paths of the first Heun samples.
fn generate(trained: &mut Trained, args: &DemoArgs) -> Result<Generated> {
    let flow = &trained.flow;
    // Heun's noise first, then Euler's, in the order of the 2D reference run
    // (shared/reference/ref_2d.py), whose draws `--rng notebook` repeats.
    let heun_noise = flow.noise(args.samples, &mut trained.noise);
    let euler_noise = flow.noise(args.samples, &mut trained.noise);
    let mut runs = Vec::new();
    for (solver, z_0) in [(Solver::Euler, &euler_noise), (Solver::Heun, &heun_noise)] {
        let options = SolveOptions::new(solver, args.ode_steps);
        let started = Instant::now();
        let solution = flow.generate(z_0, &options)?;
        let seconds = started.elapsed().as_secs_f64();
        runs.push(demo_plots::Run { x: solution.x, nfe: solution.nfe, seconds });
    }

    let n_paths = PATH_POINTS.min(args.samples);
    let times: Vec<f64> =
        (0..PATH_SNAPSHOTS).map(|k| k as f64 / (PATH_SNAPSHOTS - 1) as f64).collect();
    let options = SolveOptions::new(Solver::Heun, args.ode_steps).with_record_times(times.clone());
    let paths = flow.generate(&heun_noise[..n_paths * flow.dim()], &options)?;
    let path_states = paths.trajectory.into_iter().flat_map(|s| s.x).collect();

    let heun = runs.pop().expect("two runs");
    let euler = runs.pop().expect("two runs");
    Ok(Generated { euler, heun, path_times: times, path_states })
}

fn write_outputs(
    out: &Path,
    trained: &Trained,
    data: &Prepared,
    generated: &Generated,
    report: &NdReport,
) -> Result<()> {
    trained.flow.save(&out.join("model.safetensors"))?;
    write_json(&out.join("metrics.json"), report)?;
    write_losses(&out.join("losses.csv"), &trained.log)?;
    super::write_table(&out.join("samples.csv"), &data.columns, &generated.heun.x)?;
    super::write_table(&out.join("samples_euler.csv"), &data.columns, &generated.euler.x)?;
    if let Truth::HeldOut(Some(_)) = &data.truth {
        data.write_held_out(&out.join("held_out.csv"))?;
    }
    Ok(())
}

fn print_summary(report: &NdReport, trained: &Trained) {
    let mut scores: Vec<Score> = report.solvers.iter().rev().map(|r| r.score.clone()).collect();
    scores.extend(report.noise_floor.clone());
    println!("{} (d = {}) against {}:", report.data, report.d, report.reference);
    print!("{}", score::table(&scores, &report.columns).to_text());
    if report.d <= 8 {
        print!("{}", score::column_table(&scores, &report.columns).to_text());
    }

    match &report.nll {
        Some(nll) => {
            let exact = nll.exact.map_or(String::new(), |e| {
                format!(
                    "; exact {e:.4} (gap {:.4} = an estimate of KL(true || model))",
                    nll.model - e
                )
            });
            println!(
                "NLL on {} reference points ({} divergence): model {:.4} nats{exact}",
                nll.points, nll.divergence, nll.model
            );
        }
        None => {
            let constant = trained.flow.standardizer().constant_columns();
            let names: Vec<&str> = constant.iter().map(|&j| report.columns[j].as_str()).collect();
            println!(
                "NLL not computed: constant columns in the training data ({}), and a point mass \
                 has no density",
                names.join(", ")
            );
        }
    }
    let times: Vec<String> =
        report.solvers.iter().map(|r| format!("{} {:.2} s", r.solver, r.seconds)).collect();
    println!("training {:.2} s; sampling {}", report.train_seconds, times.join(", "));
}
