//! `flowmatching demo`: the reference notebook's whole 1D pipeline, measured.
//!
//! Data pool -> training -> Euler and Heun sampling -> metrics against the exact mixture (next
//! to fresh true samples as the sampling-noise floor) -> plots, checkpoint, CSV and JSON.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::args::{DatasetName, DemoArgs};
use super::steps::{add_metrics_row, metrics_table, train_on_mixture, write_losses, Trained};
use super::{demo_ode, Ui};
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::flow::Flow;
use flowmatching::metrics::one_d::{evaluate_1d, noise_floor, Metrics1d, NoiseFloor1d};
use flowmatching::plot::{self, Bins, Density, Labels, Samples1d, VelocitySlice};
use flowmatching::report::write_json;
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};

/// Times at which the velocity field is plotted.
const SLICE_TIMES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// One solver's samples and scores.
#[derive(Serialize)]
struct SolverResult {
    solver: String,
    label: String,
    steps: usize,
    nfe: usize,
    seconds: f64,
    metrics: Metrics1d,
}

/// Everything the demo measured, as written to `metrics.json`.
#[derive(Serialize)]
struct DemoReport {
    seed: u64,
    mixture: MixtureSpec,
    path: String,
    train_steps: usize,
    batch: usize,
    train_seconds: f64,
    losses: Vec<(usize, f64)>,
    solvers: Vec<SolverResult>,
    noise_floor: NoiseFloor1d,
    ode: demo_ode::OdeReport,
}

#[derive(Serialize)]
struct MixtureSpec {
    weights: Vec<f64>,
    means: Vec<f64>,
    stds: Vec<f64>,
}

/// Runs the demo and writes its files into `args.out`.
pub fn run(args: &DemoArgs, ui: &Ui) -> Result<()> {
    let other_data = args.data.data.is_some() || args.data.mixture_spec.is_some();
    if args.dataset != DatasetName::Mixture || other_data {
        return super::demo_nd::run(args, ui);
    }
    let mixture = super::mixture(&args.mixture)?;
    super::at_least("--samples", args.samples, 1)?;
    super::at_least("--ode-steps", args.ode_steps, 1)?;
    super::check_training_flags(&args.net, &args.optim, args.seed)?;
    super::create_out_dir(&args.out)?;

    let mut trained = train_on_mixture(&mixture, &args.net, &args.optim, args.seed, ui)?;
    ui.status(format!("trained {} steps in {:.2} s", args.optim.train_steps, trained.log.seconds));

    // The samplers draw their noise one after another from where training left the run's
    // generator, as the notebook's sampling cells do.
    let sample_rng = &mut trained.noise;
    let mut solvers = Vec::new();
    let mut samples = Vec::new();
    let mut runs = vec![(Solver::Euler, args.ode_steps), (Solver::Heun, args.ode_steps)];
    runs.extend(demo_ode::FAST_SOLVERS);
    for (solver, steps) in runs {
        let options = SolveOptions::new(solver, steps);
        let started = Instant::now();
        let solution = trained.flow.sample(args.samples, &options, sample_rng)?;
        let seconds = started.elapsed().as_secs_f64();
        let metrics = evaluate_1d(&solution.x, &mixture)?;
        solvers.push(SolverResult {
            solver: solver.to_string(),
            label: demo_ode::row_label(&solver, solution.steps, solution.nfe),
            steps: solution.steps,
            nfe: solution.nfe,
            seconds,
            metrics,
        });
        samples.push(solution.x);
    }
    let floor = noise_floor(&mixture, args.samples, 20, &mut stream(args.seed, Stream::Eval))?;
    let ode = demo_ode::measure(&trained.flow, &mixture, args.seed, args.ode_steps)?;

    let report = DemoReport {
        seed: args.seed,
        mixture: MixtureSpec {
            weights: mixture.weights().to_vec(),
            means: mixture.means().to_vec(),
            stds: mixture.stds().to_vec(),
        },
        path: trained.flow.info().path.clone(),
        train_steps: args.optim.train_steps,
        batch: args.optim.batch,
        train_seconds: trained.log.seconds,
        losses: trained.log.losses.clone(),
        solvers,
        noise_floor: floor,
        ode,
    };
    write_outputs(&args.out, &trained, &mixture, &samples, &report)?;
    print_summary(&mixture, &report);
    ui.status(format!("wrote checkpoint, samples, metrics and plots to {}", args.out.display()));
    Ok(())
}

fn print_summary(mixture: &GaussianMixture1d, report: &DemoReport) {
    let mut table = metrics_table(mixture);
    for r in &report.solvers {
        add_metrics_row(&mut table, &r.label, &r.metrics);
    }
    add_metrics_row(&mut table, "true samples (noise floor)", &report.noise_floor.first_draw);
    print!("{}", table.to_text());
    let f = &report.noise_floor;
    println!(
        "noise floor over {} draws of {}: W1 {:.4} +- {:.4}, KS {:.4} +- {:.4}",
        f.reps, f.n, f.w1_mean, f.w1_std, f.ks_mean, f.ks_std
    );
    let times: Vec<String> =
        report.solvers.iter().map(|r| format!("{} {:.2} s", r.solver, r.seconds)).collect();
    println!("training {:.2} s; sampling {}", report.train_seconds, times.join(", "));
    demo_ode::print(&report.ode);
}

fn write_outputs(
    out: &Path,
    trained: &Trained,
    mixture: &GaussianMixture1d,
    samples: &[Vec<f64>],
    report: &DemoReport,
) -> Result<()> {
    trained.flow.save(&out.join("model.safetensors"))?;
    write_json(&out.join("metrics.json"), report)?;
    write_losses(&out.join("losses.csv"), &trained.log)?;

    let names: Vec<String> = report.solvers.iter().map(|r| r.solver.clone()).collect();
    let n = samples[0].len();
    let columns: Vec<f64> = (0..n).flat_map(|i| samples.iter().map(move |s| s[i])).collect();
    super::write_table(&out.join("samples.csv"), &names, &columns)?;
    demo_ode::plot_density(out, mixture, &report.ode)?;

    plot_all(out, trained, mixture, samples, &names)
}

fn plot_all(
    out: &Path,
    trained: &Trained,
    mixture: &GaussianMixture1d,
    samples: &[Vec<f64>],
    names: &[String],
) -> Result<()> {
    let bins = Bins { count: 200, range: (-10.0, 10.0) };
    let pdf = |x: f64| mixture.pdf(x);
    let density = Density { label: "exact density", p: &pdf };

    let pool: Vec<f64> = trained.pool.values().iter().map(|&v| f64::from(v)).collect();
    let labels = Labels { title: "Training data p_1 (the mixture)", x: "x", y: "density" };
    let data = [Samples1d { label: "data pool", values: &pool }];
    plot::histogram_1d(out.join("data.png"), &labels, &data, &bins, Some(&density))?;

    for (name, values) in names.iter().zip(samples) {
        let title = format!("Generated samples ({name}) over the exact density");
        let labels = Labels { title: &title, x: "x", y: "density" };
        let sets = [Samples1d { label: name, values }];
        plot::histogram_1d(out.join(format!("{name}.png")), &labels, &sets, &bins, Some(&density))?;
    }

    super::demo_plots::plot_loss(out, &trained.log)?;

    plot_velocity(out, &trained.flow)
}

fn plot_velocity(out: &Path, flow: &Flow) -> Result<()> {
    let xs: Vec<f64> = (0..200).map(|i| -10.0 + 20.0 * i as f64 / 199.0).collect();
    let mut fields = Vec::new();
    for &t in &SLICE_TIMES {
        fields.push(flow.velocity(&xs, &vec![t; xs.len()])?);
    }
    let slices: Vec<VelocitySlice> =
        SLICE_TIMES.iter().zip(&fields).map(|(&t, v)| VelocitySlice { t, v }).collect();
    plot::velocity_slices(out.join("velocity.png"), "Learned velocity v(x, t)", &xs, &slices)?;
    Ok(())
}
