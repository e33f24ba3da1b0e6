//! The demo's ODE measurements: faster solvers, their accuracy, and the model's likelihood.
//!
//! Time convention, as everywhere: t = 0 is noise, t = 1 is data.
//!
//! - Two solver rows follow the notebook's Euler and Heun rows ([`FAST_SOLVERS`]): RK4 with few
//!   steps and dopri5 at a loose tolerance. W1 to the mixture is dominated by the model's own
//!   error once the solver is good enough, so the table shows them reaching Heun's W1 at a
//!   fraction of its evaluations.
//! - Because W1 cannot tell solvers apart below the model's error, every solver also integrates
//!   the same [`ACCURACY_POINTS`] noise points, and we report |x - x_ref| against a tight dopri5
//!   reference: the ODE error itself.
//! - Held-out likelihood: the model's mean negative log-likelihood on [`HELD_OUT_POINTS`] fresh
//!   true draws next to the true mixture's on the same points. Their difference estimates
//!   KL(p_data || p_model) = E_data[log p_data - log p_model] >= 0, with its standard error.
//! - Density: the model density exp(log p_1(x)) against the exact one on [-10, 10]
//!   (`density.png`), and its trapezoid mass on a grid of [-20, 20], which must be near 1 (the
//!   pushforward of N(0, 1) by a smooth flow is a density).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::ode::{cost, mean_and_standard_error};
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::flow::Flow;
use flowmatching::likelihood::{LikelihoodOptions, LogLikelihood};
use flowmatching::plot::{self, Labels, Series};
use flowmatching::report::Table;
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};

/// RK4 with 20 steps (80 NFE) and dopri5 at rtol = atol = 1e-4, run after Euler and Heun.
/// The step count of dopri5 is ignored (it picks its own).
pub const FAST_SOLVERS: [(Solver, usize); 2] = [
    (Solver::Rk4, 20),
    (Solver::Dopri5 { rtol: 1e-4, atol: 1e-4, max_steps: Solver::DEFAULT_MAX_STEPS }, 0),
];

/// Noise points shared by every solver for the accuracy comparison.
pub const ACCURACY_POINTS: usize = 2000;

/// The reference solve of the accuracy comparison: tight enough that its own error is below
/// the f32 network's rounding.
const REFERENCE: Solver = Solver::Dopri5 { rtol: 1e-8, atol: 1e-8, max_steps: 100_000 };

/// Fresh true draws scored by the model and by the mixture itself.
pub const HELD_OUT_POINTS: usize = 5000;

/// The density grid: this many points evenly spaced over `DENSITY_RANGE` (spacing 0.05), of
/// which those within `PLOT_RANGE` are plotted.
const DENSITY_GRID: usize = 801;
const DENSITY_RANGE: (f64, f64) = (-20.0, 20.0);
const PLOT_RANGE: (f64, f64) = (-10.0, 10.0);

/// The likelihood solves: exact divergence, dopri5 at the library's default tolerances.
fn likelihood_options() -> LikelihoodOptions {
    LikelihoodOptions::exact(Solver::dopri5(), 0)
}

/// A table label for a solver row: `rk4 (20 steps, 80 NFE)` or
/// `dopri5 (tol 1e-4, 9 steps, 56 NFE)`.
pub fn row_label(solver: &Solver, steps: usize, nfe: usize) -> String {
    match solver {
        Solver::Dopri5 { rtol, atol, .. } if rtol == atol => {
            format!("dopri5 (tol {rtol:e}, {steps} steps, {nfe} NFE)")
        }
        Solver::Dopri5 { rtol, atol, .. } => {
            let (rtol, atol) = (super::ode::tolerance(*rtol), super::ode::tolerance(*atol));
            format!("dopri5 (rtol {rtol}, atol {atol}, {steps} steps, {nfe} NFE)")
        }
        fixed => format!("{fixed} ({steps} steps, {nfe} NFE)"),
    }
}

/// Everything this module measured, as written to `metrics.json` under `ode`.
#[derive(Serialize)]
pub struct OdeReport {
    /// Model and true NLL on held-out true draws.
    pub held_out: HeldOutNll,
    /// The ODE error of each solver against the reference on shared noise.
    pub accuracy: Vec<SolverAccuracy>,
    /// The reference solve of the accuracy comparison.
    pub accuracy_reference: String,
    /// Number of shared noise points of the accuracy comparison.
    pub accuracy_points: usize,
    /// Trapezoid mass of the model density on an 801-point grid of [-20, 20].
    pub density_mass: f64,
    /// The grid points x of the density.
    #[serde(skip)]
    density_x: Vec<f64>,
    /// The model's log p_1 at `density_x`.
    #[serde(skip)]
    density_log_p: Vec<f64>,
}

/// Mean negative log-likelihoods (nats) of held-out true draws.
#[derive(Serialize)]
pub struct HeldOutNll {
    /// Number of draws.
    pub n: usize,
    /// -mean log p_model(x).
    pub model_nll: f64,
    /// -mean log p_data(x) under the exact mixture.
    pub true_nll: f64,
    /// model_nll - true_nll: an estimate of KL(p_data || p_model).
    pub kl_estimate: f64,
    /// Standard error of `kl_estimate` (std of the per-point gap / sqrt(n)).
    pub kl_standard_error: f64,
    /// The likelihood solve and its cost.
    pub solve: String,
}

/// The ODE error of one solver on the shared noise.
#[derive(Serialize)]
pub struct SolverAccuracy {
    /// Table label with steps and NFE.
    pub solver: String,
    /// Network evaluations.
    pub nfe: usize,
    /// Mean over points of |x - x_ref|.
    pub mean_abs_error: f64,
    /// Largest |x - x_ref|.
    pub max_abs_error: f64,
}

/// Runs the accuracy comparison, the held-out likelihood and the density grid.
///
/// `ode_steps` is the step count of the Euler and Heun rows. Draws: the shared noise comes
/// from a fresh [`Stream::Sample`] generator, the held-out points from a fresh [`Stream::Eval`]
/// one (the same true draws the noise floor starts with; never seen in training, which uses
/// [`Stream::Data`]).
pub fn measure(
    flow: &Flow,
    mixture: &GaussianMixture1d,
    seed: u64,
    ode_steps: usize,
) -> Result<OdeReport> {
    let (accuracy, accuracy_reference) = solver_accuracy(flow, seed, ode_steps)?;
    let held_out = held_out_nll(flow, mixture, seed)?;

    let density_x: Vec<f64> = (0..DENSITY_GRID)
        .map(|i| {
            DENSITY_RANGE.0
                + (DENSITY_RANGE.1 - DENSITY_RANGE.0) * i as f64 / (DENSITY_GRID - 1) as f64
        })
        .collect();
    let density = log_likelihood(flow, &density_x)?;
    let density_mass = trapezoid(&density_x, &density.log_p_1);

    Ok(OdeReport {
        held_out,
        accuracy,
        accuracy_reference,
        accuracy_points: ACCURACY_POINTS,
        density_mass,
        density_x,
        density_log_p: density.log_p_1,
    })
}

/// Every solver of the table on the same noise, against the reference.
fn solver_accuracy(
    flow: &Flow,
    seed: u64,
    ode_steps: usize,
) -> Result<(Vec<SolverAccuracy>, String)> {
    let z_0 = flow.noise(ACCURACY_POINTS, &mut stream(seed, Stream::Sample));
    let reference_options = SolveOptions::new(REFERENCE, 0);
    let reference = flow.generate(&z_0, &reference_options)?;
    let reference_cost = cost(&REFERENCE, reference.steps, reference.rejected, reference.nfe);

    let mut runs = vec![(Solver::Euler, ode_steps), (Solver::Heun, ode_steps)];
    runs.extend(FAST_SOLVERS);
    let mut rows = Vec::new();
    for (solver, steps) in runs {
        let solution = flow.generate(&z_0, &SolveOptions::new(solver, steps))?;
        let errors: Vec<f64> =
            solution.x.iter().zip(&reference.x).map(|(x, x_ref)| (x - x_ref).abs()).collect();
        rows.push(SolverAccuracy {
            solver: row_label(&solver, solution.steps, solution.nfe),
            nfe: solution.nfe,
            mean_abs_error: errors.iter().sum::<f64>() / errors.len() as f64,
            max_abs_error: errors.iter().copied().fold(0.0, f64::max),
        });
    }
    Ok((rows, reference_cost))
}

/// Model and true NLL on fresh true draws.
fn held_out_nll(flow: &Flow, mixture: &GaussianMixture1d, seed: u64) -> Result<HeldOutNll> {
    let x = mixture.sample(HELD_OUT_POINTS, &mut stream(seed, Stream::Eval));
    let model = log_likelihood(flow, &x)?;

    let (model_nll, _) = mean_and_standard_error(model.log_p_1.iter().map(|l| -l));
    let (true_nll, _) = mean_and_standard_error(x.iter().map(|&x_i| -mixture.log_pdf(x_i)));
    let gaps = x.iter().zip(&model.log_p_1).map(|(&x_i, l)| mixture.log_pdf(x_i) - l);
    let (kl_estimate, kl_standard_error) = mean_and_standard_error(gaps);
    let options = likelihood_options();
    Ok(HeldOutNll {
        n: HELD_OUT_POINTS,
        model_nll,
        true_nll,
        kl_estimate,
        kl_standard_error,
        solve: cost(&options.solver, model.steps, model.rejected, model.nfe),
    })
}

/// log p_1 of 1D points under the model, with [`likelihood_options`].
fn log_likelihood(flow: &Flow, x: &[f64]) -> Result<LogLikelihood> {
    // The exact divergence draws no probes, so this generator is never used.
    let mut unused = stream(0, Stream::Probe);
    Ok(flow.log_likelihood(x, &likelihood_options(), &mut unused)?)
}

/// The trapezoid rule for ∫ exp(log_p(x)) dx over the grid `x`.
fn trapezoid(x: &[f64], log_p: &[f64]) -> f64 {
    let p: Vec<f64> = log_p.iter().map(|l| l.exp()).collect();
    x.windows(2).zip(p.windows(2)).map(|(x, p)| 0.5 * (x[1] - x[0]) * (p[0] + p[1])).sum()
}

/// Prints the held-out NLL, the density mass and the accuracy table under the metrics table.
pub fn print(report: &OdeReport) {
    let h = &report.held_out;
    println!(
        "held-out NLL on {} fresh true draws: model {:.4} nats, true mixture {:.4} nats; \
         gap (KL estimate) {:.4} +- {:.4} [{}]",
        h.n, h.model_nll, h.true_nll, h.kl_estimate, h.kl_standard_error, h.solve
    );
    println!(
        "model density mass on [{}, {}]: {:.6} (trapezoid on {DENSITY_GRID} points)",
        DENSITY_RANGE.0, DENSITY_RANGE.1, report.density_mass
    );

    println!(
        "\nODE error on {} shared noise points against {}:",
        report.accuracy_points, report.accuracy_reference
    );
    let mut table = Table::new(["solver", "mean |x - x_ref|", "max |x - x_ref|"]);
    for row in &report.accuracy {
        let mean = format!("{:.2e}", row.mean_abs_error);
        table.row([row.solver.clone(), mean, format!("{:.2e}", row.max_abs_error)]);
    }
    print!("{}", table.to_text());
}

/// Draws `density.png`: the model density exp(log p_1(x)) over the exact mixture density.
pub fn plot_density(out: &Path, mixture: &GaussianMixture1d, report: &OdeReport) -> Result<()> {
    let shown = |x: &f64| (PLOT_RANGE.0..=PLOT_RANGE.1).contains(x);
    let grid = report.density_x.iter().zip(&report.density_log_p).filter(|(x, _)| shown(x));
    let model: Vec<(f64, f64)> = grid.map(|(&x, l)| (x, l.exp())).collect();
    let exact: Vec<(f64, f64)> = model.iter().map(|&(x, _)| (x, mixture.pdf(x))).collect();
    let title = "Model density p_1(x) against the exact density";
    let labels = Labels { title, x: "x", y: "density" };
    let series = [
        Series { label: "exact mixture", points: &exact },
        Series { label: "model (change of variables)", points: &model },
    ];
    plot::line_chart(out.join("density.png"), &labels, &series, plot::Axes::default())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_integrates_a_normal_density_to_one() {
        let x: Vec<f64> = (0..=2000).map(|i| -10.0 + 0.01 * i as f64).collect();
        let log_p: Vec<f64> =
            x.iter().map(|x| -0.5 * x * x - 0.5 * (2.0 * std::f64::consts::PI).ln()).collect();
        assert!((trapezoid(&x, &log_p) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn labels_show_tolerances_for_dopri5_only() {
        assert_eq!(row_label(&Solver::Rk4, 20, 80), "rk4 (20 steps, 80 NFE)");
        assert_eq!(row_label(&FAST_SOLVERS[1].0, 9, 56), "dopri5 (tol 1e-4, 9 steps, 56 NFE)");
    }
}
