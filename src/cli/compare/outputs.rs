//! The comparison's files: tables (text, Markdown), JSON, per-step losses as CSV, and plots.
//!
//! Reads what [`super::run`] measured; computes nothing but layouts and moving means.

use std::path::Path;

use anyhow::Result;

use super::{CompareReport, PathArtifacts, PathResult, SweepGrid};
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::metrics::one_d::Metrics1d;
use flowmatching::plot::{self, Axes, Bins, Density, Labels, Samples1d, Series, Trajectories};
use flowmatching::report::{fmt_opt, write_atomic, write_json, Table};

/// One number read off a sample's metrics.
type Metric = fn(&Metrics1d) -> f64;

/// Points kept per loss curve in loss.png.
const LOSS_POINTS: usize = 500;

/// Writes compare.json, compare.md, losses.csv and the plots into `out`.
pub fn write_all(
    out: &Path,
    report: &CompareReport,
    artifacts: &[PathArtifacts],
    mixture: &GaussianMixture1d,
) -> Result<()> {
    write_json(&out.join("compare.json"), report)?;
    write_atomic(&out.join("compare.md"), markdown(report).as_bytes())?;
    write_losses(&out.join("losses.csv"), report, artifacts)?;

    plot_samples(out, report, artifacts, mixture)?;
    plot_losses(out, report, artifacts)?;
    plot_w1_against_nfe(out, report)?;
    plot_trajectories(out, report, artifacts)?;
    plot_straightness(out, report)
}

/// The summary and the W1 grid, as printed on stdout.
pub fn summary_text(report: &CompareReport) -> String {
    let mut text = format!("{}\n", settings_line(report));
    text += &summary_table(report).to_text();
    text += &format!("{}\n\n", notes(report));
    text += &format!("W1 of the sweep ({}):\n", sweep_caption(report));
    text += &fixed_grid(report, |m| m.w1).to_text();
    if let Some(table) = dopri5_grid(report, |m| m.w1) {
        text += &format!("\nW1 of dopri5 (NFE used in brackets):\n{}", table.to_text());
    }
    text += &format!("{}\n", floor_line(report));
    text
}

fn settings_line(report: &CompareReport) -> String {
    let t = &report.training;
    format!(
        "seed {}; {} training steps of batch {} (lr {}); network {}x{} (t_dim {}); fine solve: \
         RK4, {} steps, {} samples; sweep: {} samples",
        report.seed,
        t.steps,
        t.batch,
        t.lr,
        report.network.depth,
        report.network.hidden,
        report.network.t_dim,
        report.fine_steps,
        report.samples,
        report.sweep_samples
    )
}

fn notes(report: &CompareReport) -> String {
    format!(
        "Losses regress each path's own target u_t: they are not on one scale across paths.\n\
         S = ∫ E|x(1) - x(0) - v(x(t), t)|^2 dt along the fine solve (0: straight, constant \
         speed); S rel = S / E|x(1) - x(0)|^2.\n\
         'NFE to W1 <= {}': the fewest network evaluations of the sweep reaching that W1 \
         ('-': none).",
        report.target_w1
    )
}

fn sweep_caption(report: &CompareReport) -> String {
    let what = match report.sweep_grid {
        SweepGrid::Nfe(_) => "columns: NFE budgets; NFE used in brackets where it differs",
        SweepGrid::Steps(_) => "columns: steps per solver",
    };
    format!("{} samples, the same noise for every path and solver; {what}", report.sweep_samples)
}

fn floor_line(report: &CompareReport) -> String {
    let (f, s) = (&report.noise_floor_fine, &report.noise_floor_sweep);
    format!(
        "noise floor of W1 (true samples, {} draws): {:.4} +- {:.4} at n = {}, {:.4} +- {:.4} at \
         n = {}",
        f.reps, f.w1_mean, f.w1_std, f.n, s.w1_mean, s.w1_std, s.n
    )
}

/// One row per path: training, straightness, the fine solve, NFE to the target per solver.
fn summary_table(report: &CompareReport) -> Table {
    let mut header: Vec<String> =
        ["path", "train s", "final loss", "loss (last 10%)", "S", "S rel"]
            .into_iter()
            .map(String::from)
            .collect();
    header.extend(["W1 fine", "KS fine", "mode err fine"].map(String::from));
    header.extend(report.solvers.iter().map(|s| format!("NFE to W1<={} {s}", report.target_w1)));

    let mut table = Table::new(header);
    for r in &report.results {
        let m = &r.fine.metrics;
        let mut row = vec![
            r.path.clone(),
            format!("{:.2}", r.train_seconds),
            format!("{:.4}", r.final_loss),
            format!("{:.4}", r.smoothed_loss),
            format!("{:.4}", r.straightness.s),
            fmt_opt(r.straightness.relative, 4),
            format!("{:.4}", m.w1),
            format!("{:.4}", m.ks),
            format!("{:.4}", m.mode_fraction_max_abs_err),
        ];
        row.extend(r.sweep.iter().map(|s| s.nfe_to_target.map_or("-".into(), |n| n.to_string())));
        table.row(row);
    }
    table
}

/// Rows path x fixed-step solver, columns the sweep grid, cells `metric` of each run.
fn fixed_grid(report: &CompareReport, metric: impl Fn(&Metrics1d) -> f64) -> Table {
    let (columns, budgets) = match &report.sweep_grid {
        SweepGrid::Nfe(b) => (b.iter().map(|b| format!("NFE {b}")).collect::<Vec<_>>(), true),
        SweepGrid::Steps(s) => (s.iter().map(|s| format!("steps {s}")).collect(), false),
    };
    let mut header = vec!["path".to_string(), "solver".to_string()];
    header.extend(columns);
    let mut table = Table::new(header);

    for r in &report.results {
        for sweep in r.sweep.iter().filter(|s| s.solver != "dopri5") {
            let mut row = vec![r.path.clone(), sweep.solver.clone()];
            for run in &sweep.runs {
                row.push(match &run.metrics {
                    None => "-".to_string(),
                    Some(m) if budgets && Some(run.nfe) != run.budget => {
                        format!("{:.4} ({})", metric(m), run.nfe)
                    }
                    Some(m) => format!("{:.4}", metric(m)),
                });
            }
            table.row(row);
        }
    }
    table
}

/// Rows path, columns dopri5's tolerances, cells `metric (NFE)`; `None` without dopri5.
fn dopri5_grid(report: &CompareReport, metric: impl Fn(&Metrics1d) -> f64) -> Option<Table> {
    if !report.solvers.iter().any(|s| s == "dopri5") {
        return None;
    }
    let mut header = vec!["path".to_string()];
    header.extend(report.dopri5_tols.iter().map(|t| format!("tol {t:e}")));
    let mut table = Table::new(header);
    for r in &report.results {
        let Some(sweep) = r.sweep.iter().find(|s| s.solver == "dopri5") else { continue };
        let mut row = vec![r.path.clone()];
        for run in &sweep.runs {
            let value = run.metrics.as_ref().map_or(f64::NAN, &metric);
            row.push(format!("{value:.4} ({})", run.nfe));
        }
        table.row(row);
    }
    Some(table)
}

/// The whole report as Markdown, with the plots embedded.
fn markdown(report: &CompareReport) -> String {
    let mut md = String::from("# Probability paths compared\n\n");
    md += &format!("{}.\n\n", settings_line(report));
    md += &summary_table(report).to_markdown();
    md += "\n";
    for line in notes(report).lines() {
        md += &format!("- {line}\n");
    }
    md += &format!("- {}\n\n", floor_line(report));

    let metrics: [(&str, Metric); 3] = [
        ("W1", |m| m.w1),
        ("KS", |m| m.ks),
        ("Mode-fraction error (max |f_k - w_k|)", |m| m.mode_fraction_max_abs_err),
    ];
    for (name, metric) in metrics {
        md += &format!("## {name} of the sweep\n\n{}.\n\n", sweep_caption(report));
        md += &fixed_grid(report, metric).to_markdown();
        if let Some(table) = dopri5_grid(report, metric) {
            md += &format!("\ndopri5, NFE used in brackets:\n\n{}", table.to_markdown());
        }
        md += "\n";
    }

    md += "## Plots\n\n";
    for (file, caption) in plot_files(report) {
        md += &format!("![{caption}]({file})\n\n");
    }
    md
}

/// Every plot written, with its caption.
fn plot_files(report: &CompareReport) -> Vec<(String, String)> {
    let mut files = vec![
        ("samples.png".to_string(), "fine-solve samples of every path".to_string()),
        ("w1_nfe.png".to_string(), "W1 against NFE, every path and solver".to_string()),
    ];
    for solver in &report.solvers {
        files.push((format!("w1_nfe_{solver}.png"), format!("W1 against NFE, {solver}")));
    }
    files.push(("loss.png".to_string(), "training losses (scales differ by path)".to_string()));
    files.push(("trajectories.png".to_string(), "trajectories x(t)".to_string()));
    files.push(("straightness.png".to_string(), "straightness integrand along t".to_string()));
    for r in &report.results {
        files.push((format!("samples_{}.png", slug(&r.path)), format!("samples, {}", r.path)));
    }
    files
}

/// A file-name-safe version of a path name: `quadratic+ot` -> `quadratic_ot`.
pub fn slug(name: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    name.chars().map(|c| if keep(c) { c } else { '_' }).collect()
}

/// Every step's batch loss, one column per path.
fn write_losses(path: &Path, report: &CompareReport, artifacts: &[PathArtifacts]) -> Result<()> {
    let mut header = vec!["step".to_string()];
    header.extend(report.results.iter().map(|r| r.path.clone()));
    let steps = report.training.steps;
    let mut values = Vec::with_capacity(steps * header.len());
    for k in 0..steps {
        values.push((k + 1) as f64);
        values.extend(artifacts.iter().map(|a| a.step_losses[k]));
    }
    super::super::write_table(path, &header, &values)
}

/// The binned window: every component's mean +- 4 standard deviations, widened to hold all
/// but the outermost 0.1 % of the samples on each side (a model's tails reach further than
/// the mixture's).
fn bins(mixture: &GaussianMixture1d, samples: &[&[f64]]) -> Bins {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (m, s) in mixture.means().iter().zip(mixture.stds()) {
        lo = lo.min(m - 4.0 * s);
        hi = hi.max(m + 4.0 * s);
    }
    let mut all: Vec<f64> = samples.iter().flat_map(|s| s.iter().copied()).collect();
    if !all.is_empty() {
        all.sort_by(f64::total_cmp);
        let k = all.len() / 1000;
        lo = lo.min(all[k]);
        hi = hi.max(all[all.len() - 1 - k]);
    }
    Bins { count: 160, range: (lo, hi) }
}

fn plot_samples(
    out: &Path,
    report: &CompareReport,
    artifacts: &[PathArtifacts],
    mixture: &GaussianMixture1d,
) -> Result<()> {
    let samples: Vec<&[f64]> = artifacts.iter().map(|a| a.samples.as_slice()).collect();
    let bins = bins(mixture, &samples);
    let pdf = |x: f64| mixture.pdf(x);
    let density = Density { label: "exact density", p: &pdf };
    let sets: Vec<Samples1d> = (report.results.iter().zip(artifacts))
        .map(|(r, a)| Samples1d { label: &r.path, values: &a.samples })
        .collect();

    let title =
        format!("Samples of each path (RK4, {} steps) over the exact density", report.fine_steps);
    let labels = Labels { title: &title, x: "x", y: "density" };
    plot::histogram_1d(out.join("samples.png"), &labels, &sets, &bins, Some(&density))?;

    for set in &sets {
        let title = format!("Samples of path {} over the exact density", set.label);
        let labels = Labels { title: &title, x: "x", y: "density" };
        let file = out.join(format!("samples_{}.png", slug(set.label)));
        plot::histogram_1d(file, &labels, std::slice::from_ref(set), &bins, Some(&density))?;
    }
    Ok(())
}

/// Moving means of every path's per-step loss on a log axis.
fn plot_losses(out: &Path, report: &CompareReport, artifacts: &[PathArtifacts]) -> Result<()> {
    let steps = report.training.steps;
    let window = (steps / 50).max(1);
    let curves: Vec<Vec<(f64, f64)>> =
        artifacts.iter().map(|a| moving_mean(&a.step_losses, window)).collect();
    let series: Vec<Series> = (report.results.iter().zip(&curves))
        .map(|(r, points)| Series { label: &r.path, points })
        .collect();

    let title = format!("Training loss, moving mean of {window} steps (each path its own scale)");
    let labels = Labels { title: &title, x: "step", y: "batch MSE" };
    let axes = Axes { log_y: true, ..Axes::default() };
    plot::line_chart(out.join("loss.png"), &labels, &series, axes)?;
    Ok(())
}

/// (step, mean of the `window` losses ending there), thinned to about [`LOSS_POINTS`] points.
fn moving_mean(losses: &[f64], window: usize) -> Vec<(f64, f64)> {
    let stride = (losses.len() / LOSS_POINTS).max(1);
    let mut sum: f64 = losses[..window - 1].iter().sum();
    let mut points = Vec::new();
    for end in window..=losses.len() {
        sum += losses[end - 1];
        if (end - window) % stride == 0 || end == losses.len() {
            points.push((end as f64, sum / window as f64));
        }
        sum -= losses[end - window];
    }
    points
}

/// w1_nfe.png with every path and solver, and one w1_nfe_<solver>.png per solver.
fn plot_w1_against_nfe(out: &Path, report: &CompareReport) -> Result<()> {
    for (k, solver) in report.solvers.iter().enumerate() {
        let lines: Vec<(String, Vec<(f64, f64)>)> = (report.results.iter())
            .map(|r| (r.path.clone(), w1_points(r, k)))
            .filter(|(_, points)| !points.is_empty())
            .collect();
        let title = format!("W1 to the exact mixture against NFE, {solver}");
        draw_w1(&out.join(format!("w1_nfe_{solver}.png")), &title, &lines, report)?;
    }

    let mut all: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for r in &report.results {
        for (k, solver) in report.solvers.iter().enumerate() {
            all.push((format!("{} {solver}", r.path), w1_points(r, k)));
        }
    }
    all.retain(|(_, points)| !points.is_empty());
    draw_w1(&out.join("w1_nfe.png"), "W1 to the exact mixture against NFE", &all, report)
}

/// (NFE, W1) of the runs of the `k`-th solver of `result` that produced samples.
fn w1_points(result: &PathResult, k: usize) -> Vec<(f64, f64)> {
    let runs = result.sweep[k].runs.iter();
    runs.filter_map(|r| r.metrics.as_ref().map(|m| (r.nfe as f64, m.w1))).collect()
}

/// One W1-against-NFE chart on log axes, with the sweep's noise floor as a flat line.
fn draw_w1(
    file: &Path,
    title: &str,
    lines: &[(String, Vec<(f64, f64)>)],
    report: &CompareReport,
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let nfe = lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.0));
    let (lo, hi) = nfe.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let floor = report.noise_floor_sweep.w1_mean;
    let floor_points = [(lo, floor), (hi, floor)];
    let floor_label = format!("noise floor, n = {}", report.sweep_samples);
    let mut series: Vec<Series> =
        lines.iter().map(|(label, points)| Series { label, points }).collect();
    series.push(Series { label: &floor_label, points: &floor_points });

    let labels = Labels { title, x: "NFE (network evaluations)", y: "W1" };
    let axes = Axes { log_x: true, log_y: true, markers: true };
    plot::line_chart(file, &labels, &series, axes)?;
    Ok(())
}

/// The first trajectories of every path, one panel each.
fn plot_trajectories(
    out: &Path,
    report: &CompareReport,
    artifacts: &[PathArtifacts],
) -> Result<()> {
    let panels: Vec<Trajectories> = (report.results.iter().zip(artifacts))
        .map(|(r, a)| Trajectories { title: &r.path, t: &a.times, x: &a.trajectories })
        .collect();
    let title = "Trajectories x(t) of the learned flows, from noise (t = 0) to data (t = 1)";
    plot::trajectories(out.join("trajectories.png"), title, &panels)?;
    Ok(())
}

/// E ||Δ - v(x(t), t)||^2 against t for every path.
fn plot_straightness(out: &Path, report: &CompareReport) -> Result<()> {
    let series: Vec<Series> = (report.results.iter())
        .map(|r| Series { label: &r.path, points: &r.straightness.profile })
        .collect();
    let labels = Labels {
        title: "Where the flows bend: E|x(1) - x(0) - v(x(t), t)|^2 along the fine solve",
        x: "t",
        y: "squared deviation",
    };
    plot::line_chart(out.join("straightness.png"), &labels, &series, Axes::default())?;
    Ok(())
}
