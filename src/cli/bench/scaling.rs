//! `bench --scaling`: how time and memory grow with the number of samples, the width and the
//! dimension.
//!
//! - Samples: Heun sampling of n points (`--scaling-samples`), once in chunks of `--chunk` rows
//!   ([`Flow::sample_chunked`]) and once in one piece ([`Flow::sample`]), with the peak
//!   resident memory of each. Chunked memory stays flat apart from the n x d output itself.
//! - Width and dimension: time per training step (batch `--batch`) and per sampling run
//!   (`--samples` points, Heun) with their GFLOP/s, for every hidden width
//!   (`--scaling-widths`, d = 1) and every dimension (`--scaling-dims`, the flags' width).
//!
//! The network is freshly initialised (timing does not depend on the weights); the width and
//! dimension sweeps train on mixture draws (d = 1) or standard normal draws (d > 1). Outputs in
//! `--out`: `scaling_samples.csv`, `scaling_width.csv`, `scaling_dim.csv` and line charts of
//! each (`*.png`, logarithmic axes; rates on a linear axis).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use rand_distr::{Distribution as _, StandardNormal};

use super::machine::{self, Machine};
use super::{flops, Ui};
use crate::cli::args::BenchArgs;
use crate::cli::{bad_flag, flag_error};
use flowmatching::data::standardize::Standardizer;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::model::{NetConfig, VelocityNet};
use flowmatching::path::PathSpec;
use flowmatching::plot::{self, Axes, Labels, Series};
use flowmatching::report::{write_atomic, Table};
use flowmatching::rng::{stream, Stream};
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::train::{train, DataPool, TrainConfig};

/// One number of samples, chunked and in one piece.
struct SamplesRow {
    n: usize,
    chunked: Timed,
    whole: Timed,
    output_mib: f64,
}

/// The fastest of the repeats and the highest peak memory among them.
#[derive(Clone, Copy)]
struct Timed {
    seconds: f64,
    gflops: f64,
    peak_rss_mib: Option<f64>,
}

/// One network shape: training and sampling.
struct ShapeRow {
    config: NetConfig,
    train_ms_per_step: f64,
    train_gflops: f64,
    sample_s: f64,
    sample_gflops: f64,
    peak_rss_mib: Option<f64>,
}

/// Runs the three sweeps and writes their CSV files and charts into `args.out`.
pub fn run(args: &BenchArgs, machine: &Machine, ui: &Ui) -> Result<()> {
    let samples = parse_list("--scaling-samples", &args.scaling_samples)?;
    let widths = parse_list("--scaling-widths", &args.scaling_widths)?;
    let dims = parse_list("--scaling-dims", &args.scaling_dims)?;
    if args.chunk == 0 || args.scaling_ode_steps == 0 || args.scaling_train_steps == 0 {
        return Err(bad_flag(
            "invalid --chunk/--scaling-ode-steps/--scaling-train-steps: must be >= 1",
        ));
    }
    crate::cli::create_out_dir(&args.out)?;
    if !machine::reset_peak_rss() {
        ui.status("note: cannot reset the peak RSS (/proc/self/clear_refs); peaks accumulate");
    }

    let sample_rows = sweep_samples(args, &samples, ui)?;
    write_samples(&args.out, &sample_rows, args.chunk)?;

    let base = super::super::net_config(&args.net, 1)?;
    let width_configs: Vec<NetConfig> =
        widths.iter().map(|&hidden| NetConfig { hidden, ..base.clone() }).collect();
    let width_rows = sweep_shapes(args, &width_configs, ui)?;
    let dim_configs: Vec<NetConfig> =
        dims.iter().map(|&dim| NetConfig { dim, ..base.clone() }).collect();
    let dim_rows = sweep_shapes(args, &dim_configs, ui)?;
    write_shapes(&args.out, "width", &width_rows, |c| c.hidden, machine)?;
    write_shapes(&args.out, "dim", &dim_rows, |c| c.dim, machine)?;

    crate::cli::report(&tables_text(&sample_rows, &width_rows, &dim_rows), false)?;
    ui.status(format!("wrote scaling CSV files and charts to {}", args.out.display()));
    Ok(())
}

fn parse_list(flag: &str, text: &str) -> Result<Vec<usize>> {
    let values: Vec<usize> = text
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            bad_flag(format!("invalid {flag} = {text}: expected comma-separated counts"))
        })?;
    if values.is_empty() || values.contains(&0) {
        return Err(bad_flag(format!("invalid {flag} = {text}: every value must be at least 1")));
    }
    Ok(values)
}

/// An untrained flow of `config` in identity standardisation.
fn fresh_flow(config: &NetConfig, seed: u64) -> Result<Flow> {
    let net = VelocityNet::new(config.clone(), &mut stream(seed, Stream::Init))?;
    Ok(Flow::new(net, Standardizer::identity(config.dim), FlowInfo::default())?)
}

/// Times `run` `repeats` times, each with its own peak-memory window.
fn timed(repeats: usize, gflop: f64, mut run: impl FnMut() -> Result<f64>) -> Result<Timed> {
    let mut best = Timed { seconds: f64::INFINITY, gflops: 0.0, peak_rss_mib: None };
    for _ in 0..repeats {
        machine::reset_peak_rss();
        let seconds = run()?;
        best.seconds = best.seconds.min(seconds);
        best.peak_rss_mib = match (best.peak_rss_mib, machine::peak_rss_mib()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    best.gflops = gflop / best.seconds;
    Ok(best)
}

fn sweep_samples(args: &BenchArgs, counts: &[usize], ui: &Ui) -> Result<Vec<SamplesRow>> {
    let config = super::super::net_config(&args.net, 1)?;
    let flow = fresh_flow(&config, args.seed)?;
    let options = SolveOptions::new(Solver::Heun, args.scaling_ode_steps);
    let mut rows = Vec::new();
    for &n in counts {
        ui.status(format!("sampling {n} points, chunked and whole"));
        let gflop = flops::sampling(&config, n, 2 * args.scaling_ode_steps) as f64 / 1e9;
        let chunked = timed(args.repeats, gflop, || {
            let mut rng = stream(args.seed, Stream::Sample);
            let started = Instant::now();
            let solution = flow.sample_chunked(n, args.chunk, &options, &mut rng, |_| {})?;
            std::hint::black_box(&solution.x);
            Ok(started.elapsed().as_secs_f64())
        })?;
        let whole = timed(args.repeats, gflop, || {
            let mut rng = stream(args.seed, Stream::Sample);
            let started = Instant::now();
            let solution = flow.sample(n, &options, &mut rng)?;
            std::hint::black_box(&solution.x);
            Ok(started.elapsed().as_secs_f64())
        })?;
        let output_mib = (n * config.dim * 8) as f64 / (1024.0 * 1024.0);
        rows.push(SamplesRow { n, chunked, whole, output_mib });
    }
    Ok(rows)
}

fn sweep_shapes(args: &BenchArgs, configs: &[NetConfig], ui: &Ui) -> Result<Vec<ShapeRow>> {
    let path =
        PathSpec::parse(&args.optim.path).map_err(|e| flag_error("--path", &args.optim.path, e))?;
    let train_config = TrainConfig {
        steps: args.scaling_train_steps,
        batch: args.optim.batch,
        log_every: args.scaling_train_steps,
        ..TrainConfig::default()
    };
    let options = SolveOptions::new(Solver::Heun, args.scaling_ode_steps);
    let mut rows = Vec::new();
    for config in configs {
        ui.status(format!("width {}, dimension {}", config.hidden, config.dim));
        config.validate()?;
        let pool = data_pool(args, config.dim)?;
        machine::reset_peak_rss();

        let train_gflop = (train_config.steps as u64
            * flops::train_step(config, train_config.batch)) as f64
            / 1e9;
        let training = timed(args.repeats, train_gflop, || {
            let mut net = VelocityNet::new(config.clone(), &mut stream(args.seed, Stream::Init))?;
            let mut rng = stream(args.seed, Stream::Train);
            Ok(train(&mut net, &pool, &path, &train_config, &mut rng, |_| {})?.seconds)
        })?;

        let flow = fresh_flow(config, args.seed)?;
        let sample_gflop =
            flops::sampling(config, args.samples, 2 * args.scaling_ode_steps) as f64 / 1e9;
        let sampling = timed(args.repeats, sample_gflop, || {
            let started = Instant::now();
            let solution =
                flow.sample(args.samples, &options, &mut stream(args.seed, Stream::Sample))?;
            std::hint::black_box(&solution.x);
            Ok(started.elapsed().as_secs_f64())
        })?;

        rows.push(ShapeRow {
            config: config.clone(),
            train_ms_per_step: 1e3 * training.seconds / train_config.steps as f64,
            train_gflops: training.gflops,
            sample_s: sampling.seconds,
            sample_gflops: sampling.gflops,
            peak_rss_mib: max_opt(training.peak_rss_mib, sampling.peak_rss_mib),
        });
    }
    Ok(rows)
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The training data of dimension `d`: the mixture in 1D, standard normal draws otherwise.
fn data_pool(args: &BenchArgs, d: usize) -> Result<DataPool> {
    let mut rng = stream(args.seed, Stream::Data);
    if d == 1 {
        let mixture = super::super::mixture(&args.mixture)?;
        return Ok(DataPool::from_f64(1, &mixture.sample(args.optim.pool, &mut rng))?);
    }
    let values: Vec<f64> =
        (0..args.optim.pool * d).map(|_| StandardNormal.sample(&mut rng)).collect();
    Ok(DataPool::from_f64(d, &values)?)
}

/// A number for a CSV cell; an unknown value is an empty cell.
fn cell(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v}"))
}

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut text = header.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    Ok(write_atomic(path, text.as_bytes())?)
}

fn write_samples(out: &Path, rows: &[SamplesRow], chunk: usize) -> Result<()> {
    let header = [
        "n",
        "chunked_s",
        "chunked_gflops",
        "chunked_peak_rss_mib",
        "whole_s",
        "whole_gflops",
        "whole_peak_rss_mib",
        "output_mib",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.n.to_string(),
                cell(Some(r.chunked.seconds)),
                cell(Some(r.chunked.gflops)),
                cell(r.chunked.peak_rss_mib),
                cell(Some(r.whole.seconds)),
                cell(Some(r.whole.gflops)),
                cell(r.whole.peak_rss_mib),
                cell(Some(r.output_mib)),
            ]
        })
        .collect();
    write_csv(&out.join("scaling_samples.csv"), &header, &cells)?;

    let n = |r: &SamplesRow| r.n as f64;
    let chunked_label = format!("chunks of {chunk} rows");
    let time = [
        Series { label: &chunked_label, points: &points(rows, |r| (n(r), r.chunked.seconds)) },
        Series { label: "one piece", points: &points(rows, |r| (n(r), r.whole.seconds)) },
    ];
    let log_log = Axes { log_x: true, log_y: true, markers: true };
    let labels = Labels { title: "Heun sampling time", x: "samples", y: "seconds" };
    plot::line_chart(out.join("scaling_samples_time.png"), &labels, &time, log_log)?;

    let rss = |t: &Timed| t.peak_rss_mib.unwrap_or(f64::NAN);
    let memory = [
        Series { label: &chunked_label, points: &points(rows, |r| (n(r), rss(&r.chunked))) },
        Series { label: "one piece", points: &points(rows, |r| (n(r), rss(&r.whole))) },
        Series { label: "output n*d f64", points: &points(rows, |r| (n(r), r.output_mib)) },
    ];
    if memory.iter().all(|s| s.points.iter().all(|p| p.1.is_finite() && p.1 > 0.0)) {
        let labels = Labels { title: "Peak resident memory", x: "samples", y: "MiB" };
        plot::line_chart(out.join("scaling_samples_memory.png"), &labels, &memory, log_log)?;
    }
    Ok(())
}

fn points<R>(rows: &[R], f: impl Fn(&R) -> (f64, f64)) -> Vec<(f64, f64)> {
    rows.iter().map(f).collect()
}

fn write_shapes(
    out: &Path,
    what: &str,
    rows: &[ShapeRow],
    key: impl Fn(&NetConfig) -> usize,
    machine: &Machine,
) -> Result<()> {
    let header = [
        "hidden",
        "dim",
        "params",
        "train_ms_per_step",
        "train_gflops",
        "sample_s",
        "sample_gflops",
        "peak_rss_mib",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.config.hidden.to_string(),
                r.config.dim.to_string(),
                r.config.num_params().to_string(),
                cell(Some(r.train_ms_per_step)),
                cell(Some(r.train_gflops)),
                cell(Some(r.sample_s)),
                cell(Some(r.sample_gflops)),
                cell(r.peak_rss_mib),
            ]
        })
        .collect();
    write_csv(&out.join(format!("scaling_{what}.csv")), &header, &cells)?;

    let x = |r: &ShapeRow| key(&r.config) as f64;
    let x_label = if what == "width" { "hidden width" } else { "dimension d" };
    let peak = machine.peak_gflops_all_threads;
    let sgemm = machine.sgemm_gflops_all_threads;
    let rates = [
        Series { label: "training", points: &points(rows, |r| (x(r), r.train_gflops)) },
        Series { label: "Heun sampling", points: &points(rows, |r| (x(r), r.sample_gflops)) },
        Series { label: "FMA peak (measured)", points: &points(rows, |r| (x(r), peak)) },
        Series { label: "sgemm 128x64x64", points: &points(rows, |r| (x(r), sgemm)) },
    ];
    let log_x = Axes { log_x: true, log_y: false, markers: true };
    let title = format!("Achieved GFLOP/s against the {x_label}");
    let labels = Labels { title: &title, x: x_label, y: "GFLOP/s" };
    plot::line_chart(out.join(format!("scaling_{what}.png")), &labels, &rates, log_x)?;

    let times = [
        Series {
            label: "training step (ms)",
            points: &points(rows, |r| (x(r), r.train_ms_per_step)),
        },
        Series { label: "Heun sampling (s)", points: &points(rows, |r| (x(r), r.sample_s)) },
    ];
    let log_log = Axes { log_x: true, log_y: true, markers: true };
    let title = format!("Time against the {x_label}");
    let labels = Labels { title: &title, x: x_label, y: "time" };
    plot::line_chart(out.join(format!("scaling_{what}_time.png")), &labels, &times, log_log)?;
    Ok(())
}

fn tables_text(samples: &[SamplesRow], widths: &[ShapeRow], dims: &[ShapeRow]) -> String {
    let mib = |v: Option<f64>| v.map_or("-".to_string(), |m| format!("{m:.0}"));
    let mut table = Table::new([
        "samples",
        "chunked s",
        "GFLOP/s",
        "peak MiB",
        "whole s",
        "GFLOP/s",
        "peak MiB",
    ]);
    for r in samples {
        table.row([
            r.n.to_string(),
            format!("{:.3}", r.chunked.seconds),
            format!("{:.1}", r.chunked.gflops),
            mib(r.chunked.peak_rss_mib),
            format!("{:.3}", r.whole.seconds),
            format!("{:.1}", r.whole.gflops),
            mib(r.whole.peak_rss_mib),
        ]);
    }
    let text = table.to_text();

    let mut table =
        Table::new(["hidden", "d", "train ms/step", "GFLOP/s", "sample s", "GFLOP/s", "peak MiB"]);
    for r in widths.iter().chain(dims) {
        table.row([
            r.config.hidden.to_string(),
            r.config.dim.to_string(),
            format!("{:.3}", r.train_ms_per_step),
            format!("{:.1}", r.train_gflops),
            format!("{:.3}", r.sample_s),
            format!("{:.1}", r.sample_gflops),
            mib(r.peak_rss_mib),
        ]);
    }
    text + &table.to_text()
}
