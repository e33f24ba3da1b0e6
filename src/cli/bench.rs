//! `flowmatching bench`: the reference notebook's workload, timed and set against what the
//! machine can do.
//!
//! The workload is the notebook's, run through the library exactly as `demo` runs it: a pool
//! of 50 000 mixture draws, 2500 AdamW steps of batch 1024 on the 33-64-64-1 network, then
//! 20 000 points sampled with Euler (200 steps) and with Heun (200 steps). Each section is
//! timed `--repeats` times from the same state, so every run computes the same numbers (this
//! is checked), and the minimum and median are reported with the share of the machine other
//! programs used meanwhile ([`machine::Load`]).
//!
//! Rates come from analytic FLOP counts ([`flops`]) divided by the time, and are set against
//! the measured FMA peak of all worker threads: the "floor" of a section is its FLOP count at
//! that peak, a time no implementation can beat. `--scaling` sweeps the number of samples, the
//! width and the dimension instead ([`scaling`]).

mod flops;
mod machine;
mod scaling;

use std::time::Instant;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::args::BenchArgs;
use super::bad_flag;
use super::steps::{train_on_mixture, SampleNoise, Trained};
use super::Ui;
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::flow::Flow;
use flowmatching::metrics::one_d::w1_to_mixture;
use flowmatching::model::NetConfig;
use flowmatching::report::Table;
use flowmatching::solve::{SolveOptions, Solver};
use machine::{Load, Machine, Watch};

/// Everything `bench` measured, as written to `--json`.
#[derive(Serialize)]
struct BenchReport {
    command: Vec<String>,
    machine: Machine,
    workload: Workload,
    training: Training,
    euler: Sampling,
    heun: Sampling,
    peak_rss_mib: Option<f64>,
    loadavg_before: String,
    loadavg_after: String,
    flop_count: &'static str,
}

/// The sizes of the timed work.
#[derive(Serialize)]
struct Workload {
    train_steps: usize,
    batch: usize,
    pool: usize,
    path: String,
    net: NetConfig,
    params: usize,
    samples: usize,
    ode_steps: usize,
    seed: u64,
    repeats: usize,
}

/// Timings of one section, with the rates they imply.
#[derive(Serialize)]
struct Section {
    runs_s: Vec<f64>,
    loads: Vec<Load>,
    min_s: f64,
    median_s: f64,
    /// Analytic FLOP count of one run, in GFLOP.
    gflop: f64,
    gflops_at_min: f64,
    gflops_at_median: f64,
    /// gflops_at_min over the measured all-thread FMA peak.
    fraction_of_peak: f64,
    /// gflop over the measured all-thread FMA peak: the fastest time the arithmetic allows.
    floor_s: f64,
    /// min_s / floor_s.
    times_floor: f64,
    /// Whether every repeat computed exactly what the first did.
    identical_across_runs: bool,
}

#[derive(Serialize)]
struct Training {
    #[serde(flatten)]
    section: Section,
    ms_per_step_min: f64,
    ms_per_step_median: f64,
    final_loss: Option<f64>,
}

#[derive(Serialize)]
struct Sampling {
    #[serde(flatten)]
    section: Section,
    solver: String,
    nfe: usize,
    /// samples x steps / min_s.
    points_steps_per_s: f64,
    /// Exact Wasserstein-1 distance of the first run's samples to the mixture.
    w1: f64,
}

/// How the FLOPs are counted, for the JSON reader.
const FLOP_COUNT: &str = "Linear-layer products only, 2 flops per multiply-add: forward \
    2*in*out per row and layer; backward 2*in*out (weight gradient) per layer plus 2*in*out \
    (input gradient) per layer but the first; sampling folds the time embedding into the first \
    bias once per evaluation (2*t_dim*hidden) so rows pay 2*d*hidden in the first layer. \
    Biases, SiLU, loss, embedding, AdamW and random draws are not counted.";

/// Runs `flowmatching bench`.
pub fn run(args: &BenchArgs, ui: &Ui) -> Result<()> {
    validate(args)?;
    if let Some(json) = &args.json {
        super::check_output_file("--json", json, true)?;
    }
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("cannot set up the --threads worker pool")?;
    }
    let threads = rayon::current_num_threads();
    ui.status(format!("measuring the FMA and sgemm peaks on {threads} threads"));
    let machine = machine::describe(threads, args.peak_seconds);
    super::report(&machine_text(&machine), json_to_stdout)?;

    if args.scaling {
        return scaling::run(args, &machine, ui);
    }
    let report = notebook_workload(args, machine, ui)?;
    super::report(&report_text(&report), json_to_stdout)?;
    if let Some(warning) = contention_warning(&report) {
        super::ode::warn(warning);
    }
    if let Some(json) = &args.json {
        super::write_json_out(json, &report)?;
        if !json_to_stdout {
            ui.status(format!("wrote {}", json.display()));
        }
    }
    Ok(())
}

fn validate(args: &BenchArgs) -> Result<()> {
    if args.repeats == 0 {
        return Err(bad_flag("invalid --repeats = 0: time each section at least once"));
    }
    super::at_least("--samples", args.samples, 1)?;
    super::at_least("--ode-steps", args.ode_steps, 1)?;
    if args.threads == Some(0) {
        return Err(bad_flag("invalid --threads = 0: use at least one thread"));
    }
    if !(args.peak_seconds.is_finite() && args.peak_seconds > 0.0) {
        return Err(bad_flag(format!(
            "invalid --peak-seconds = {}: must be a positive number",
            args.peak_seconds
        )));
    }
    if !(args.max_idle_wait.is_finite() && args.max_idle_wait >= 0.0) {
        return Err(bad_flag(format!(
            "invalid --max-idle-wait = {}: must be >= 0",
            args.max_idle_wait
        )));
    }
    Ok(())
}

/// Times training, Euler and Heun on the notebook's settings (or the flags' overrides).
fn notebook_workload(args: &BenchArgs, machine: Machine, ui: &Ui) -> Result<BenchReport> {
    let loadavg_before = machine::loadavg();
    let mixture = super::mixture(&args.mixture)?;
    let net_config = super::net_config(&args.net, 1)?;
    let peak = machine.peak_gflops_all_threads;

    let mut runs = Vec::new();
    let mut first: Option<Trained> = None;
    let mut identical = true;
    for _ in 0..args.repeats {
        wait(args);
        let watch = Watch::start();
        let trained = train_on_mixture(&mixture, &args.net, &args.optim, args.seed, ui)?;
        let load = watch.stop();
        runs.push((trained.log.seconds, load));
        match &first {
            None => first = Some(trained),
            Some(f) => identical &= f.flow.net().params() == trained.flow.net().params(),
        }
    }
    let trained = first.context("no training run")?;
    let steps = args.optim.train_steps;
    let train_gflop = steps as f64 * flops::train_step(&net_config, args.optim.batch) as f64 / 1e9;
    let section = section(runs, train_gflop, peak, identical);
    let training = Training {
        ms_per_step_min: 1e3 * section.min_s / steps as f64,
        ms_per_step_median: 1e3 * section.median_s / steps as f64,
        final_loss: trained.log.losses.last().map(|&(_, loss)| loss),
        section,
    };

    // The samplers draw their noise from where training left the run's generator, as in demo.
    let mut rng = trained.noise;
    let euler = time_sampling(args, &trained.flow, Solver::Euler, &mut rng, peak, &mixture)?;
    let heun = time_sampling(args, &trained.flow, Solver::Heun, &mut rng, peak, &mixture)?;

    Ok(BenchReport {
        command: std::env::args().collect(),
        machine,
        workload: Workload {
            train_steps: steps,
            batch: args.optim.batch,
            pool: args.optim.pool,
            path: args.optim.path.clone(),
            params: net_config.num_params(),
            net: net_config,
            samples: args.samples,
            ode_steps: args.ode_steps,
            seed: args.seed,
            repeats: args.repeats,
        },
        training,
        euler,
        heun,
        peak_rss_mib: machine::peak_rss_mib(),
        loadavg_before,
        loadavg_after: machine::loadavg(),
        flop_count: FLOP_COUNT,
    })
}

/// Times `--repeats` samplings with `solver` from the same noise (drawn from `rng`, which is
/// left where one sampling leaves it, as in `demo`).
fn time_sampling(
    args: &BenchArgs,
    flow: &Flow,
    solver: Solver,
    rng: &mut SampleNoise,
    peak: f64,
    mixture: &GaussianMixture1d,
) -> Result<Sampling> {
    let options = SolveOptions::new(solver, args.ode_steps);
    let start_state = rng.clone();
    let mut runs = Vec::new();
    let mut first = None;
    let mut identical = true;
    for _ in 0..args.repeats {
        wait(args);
        *rng = start_state.clone();
        let watch = Watch::start();
        let started = Instant::now();
        let solution = flow.sample(args.samples, &options, rng)?;
        let seconds = started.elapsed().as_secs_f64();
        runs.push((seconds, watch.stop()));
        match &first {
            None => first = Some(solution),
            Some(f) => identical &= f.x == solution.x,
        }
    }
    let solution = first.context("no sampling run")?;

    let config = flow.net().config();
    let gflop = flops::sampling(config, args.samples, solution.nfe) as f64 / 1e9;
    let section = section(runs, gflop, peak, identical);
    Ok(Sampling {
        solver: solver.to_string(),
        nfe: solution.nfe,
        points_steps_per_s: (args.samples * args.ode_steps) as f64 / section.min_s,
        w1: w1_to_mixture(&solution.x, mixture)?,
        section,
    })
}

/// Waits for an idle machine when `--max-idle-wait` asks for it.
fn wait(args: &BenchArgs) {
    if args.max_idle_wait > 0.0 {
        let waited = machine::wait_idle(args.max_idle_wait);
        super::debug(format!("waited {waited:.0} s for an idle machine"));
    }
}

fn section(runs: Vec<(f64, Load)>, gflop: f64, peak: f64, identical: bool) -> Section {
    let (runs_s, loads): (Vec<f64>, Vec<Load>) = runs.into_iter().unzip();
    let (min_s, median_s) = machine::min_median(&runs_s);
    let floor_s = gflop / peak;
    Section {
        gflops_at_min: gflop / min_s,
        gflops_at_median: gflop / median_s,
        fraction_of_peak: gflop / min_s / peak,
        times_floor: min_s / floor_s,
        floor_s,
        runs_s,
        loads,
        min_s,
        median_s,
        gflop,
        identical_across_runs: identical,
    }
}

fn machine_text(m: &Machine) -> String {
    let mhz = m.cpu_mhz.map_or("unknown clock".to_string(), |v| format!("{v:.0} MHz"));
    let mut text = format!(
        "machine: {} ({} logical CPUs, {mhz}); loadavg {}\n",
        m.cpu_model, m.logical_cpus, m.loadavg
    );
    text += &format!(
        "  avx2 {}, fma {}, avx512f {}; nominal {} GFLOP/s per core ({} lanes x 2 flops x 2 \
         FMA units at that clock, an assumption)\n",
        m.avx2,
        m.fma,
        m.avx512f,
        m.nominal_gflops_per_core.map_or("-".into(), |v| format!("{v:.0}")),
        m.lanes
    );
    let avx2 = m.avx2_gflops_all_threads.map_or(String::new(), |g| format!(" (AVX2+FMA {g:.1})"));
    text += &format!(
        "  measured f32 FMA peak ({kernel}): {one:.1} GFLOP/s on 1 thread, {all:.1}{avx2} on \
         {threads} threads; sgemm 128x64x64 on {threads} threads: {sgemm:.1}\n",
        kernel = m.peak_kernel,
        one = m.peak_gflops_1_thread,
        all = m.peak_gflops_all_threads,
        threads = m.threads,
        sgemm = m.sgemm_gflops_all_threads
    );
    text
}

fn report_text(r: &BenchReport) -> String {
    let mut table = Table::new([
        "section",
        "min s",
        "median s",
        "rate",
        "GFLOP",
        "GFLOP/s",
        "% peak",
        "x floor",
        "other CPU",
    ]);
    let t = &r.training;
    let rate = format!("{:.3} ms/step", t.ms_per_step_min);
    table.row(row("training", &t.section, rate));
    for s in [&r.euler, &r.heun] {
        let rate = format!("{:.3e} pt*step/s", s.points_steps_per_s);
        table.row(row(&format!("{} {}", s.solver, r.workload.ode_steps), &s.section, rate));
    }
    let mut text = table.to_text();
    text += &format!(
        "W1 to the mixture: euler {:.4}, heun {:.4}; final loss {}; peak RSS {} MiB; loadavg {} \
         -> {}\n",
        r.euler.w1,
        r.heun.w1,
        r.training.final_loss.map_or("-".into(), |l| format!("{l:.4}")),
        r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")),
        r.loadavg_before,
        r.loadavg_after
    );
    text
}

/// A warning when other programs took a share of the machine during the timed runs (the most
/// in any run of any section), or a section seems to beat the measured peak: the figures are
/// then not this machine's.
fn contention_warning(r: &BenchReport) -> Option<String> {
    let sections = [&r.training.section, &r.euler.section, &r.heun.section];
    let other = sections
        .iter()
        .flat_map(|s| s.loads.iter().filter_map(|l| l.other_cpu_frac))
        .fold(0.0, f64::max);
    let beyond_peak = sections.iter().any(|s| s.fraction_of_peak > 1.0);
    (other > 0.25 || beyond_peak).then(|| {
        format!(
            "other programs used up to {other:.2} of a CPU during the timed runs{}: these \
             figures are not this machine's; rerun when it is idle (--max-idle-wait waits for \
             that)",
            if beyond_peak { ", and a section beat the measured peak" } else { "" }
        )
    })
}

fn row(name: &str, s: &Section, rate: String) -> Vec<String> {
    let other = s.loads.iter().filter_map(|l| l.other_cpu_frac).fold(0.0, f64::max);
    vec![
        name.to_string(),
        format!("{:.3}", s.min_s),
        format!("{:.3}", s.median_s),
        rate,
        format!("{:.1}", s.gflop),
        format!("{:.1}", s.gflops_at_min),
        format!("{:.0}", 100.0 * s.fraction_of_peak),
        format!("{:.1}", s.times_floor),
        format!("{other:.2}"),
    ]
}
