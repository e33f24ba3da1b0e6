//! Subcommands and the helpers they share: progress bars, CSV in and out, settings.

pub mod args;
mod bench;
mod compare;
mod demo;
mod demo_nd;
mod demo_ode;
mod demo_plots;
mod ode;
pub mod recipe;
mod score;
mod source;
mod steps;
mod usage;

pub use usage::{at_least, bad_flag, flag_error, is_usage_error, setting_as_flag};

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use args::{Cli, Command, LrScheduleName, MixtureArgs, NetArgs, OptimArgs, SolverArgs};
use flowmatching::data::loader::{self, HeaderMode, LoadOptions};
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::model::NetConfig;
use flowmatching::solve::{SolveOptions, Solver};
use flowmatching::train::{LrSchedule, TrainConfig};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ui = Ui { quiet: cli.quiet };
    match cli.command {
        Command::Demo(a) => demo::run(&a, &ui),
        Command::Train(a) => steps::train(&a, &ui),
        Command::Sample(a) => steps::sample(&a, &ui),
        Command::Evaluate(a) => steps::evaluate(&a, &ui),
        Command::Velocity(a) => steps::velocity(&a),
        Command::Encode(a) => ode::encode(&a),
        Command::Likelihood(a) => ode::likelihood(&a),
        Command::Compare(a) => compare::run(&a, &ui),
        Command::Bench(a) => bench::run(&a, &ui),
    }
}

/// Debug logs on stderr behind `--debug`; quiet otherwise.
pub fn init_logging(debug: bool) {
    DEBUG.store(debug, std::sync::atomic::Ordering::Relaxed);
}

static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a debug line on stderr when `--debug` was given.
pub fn debug(message: impl std::fmt::Display) {
    if DEBUG.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("[debug] {message}");
    }
}

/// Checks an output file flag before any work is done: `-` (standard output) only where
/// `stdout_ok`, otherwise an existing directory to write into and no directory in the way.
pub fn check_output_file(flag: &str, path: &Path, stdout_ok: bool) -> Result<()> {
    if path.as_os_str() == "-" {
        if stdout_ok {
            return Ok(());
        }
        return Err(bad_flag(format!(
            "invalid {flag} -: this output cannot go to standard output; name a file"
        )));
    }
    if path.is_dir() {
        return Err(bad_flag(format!("invalid {flag} = {}: it is a directory", path.display())));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(bad_flag(format!(
            "invalid {flag} = {}: there is no directory {}",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// Writes a command's report text to standard output (a closed pipe comes back as an error
/// that `is_broken_pipe` recognises), or to standard error when standard output carries its
/// machine-readable result (`--json -`, `--loss-csv -`).
pub fn report(text: &str, to_stderr: bool) -> Result<()> {
    if to_stderr {
        eprint!("{text}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes `value` as JSON to `path`, or to standard output for `-`.
pub fn write_json_out<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    if path.as_os_str() != "-" {
        return Ok(flowmatching::report::write_json(path, value)?);
    }
    let text = serde_json::to_string_pretty(value)?;
    report(&format!("{text}\n"), false)
}

/// Creates the output directory of `--out` (and its parents) unless it exists; an existing
/// file there is a usage error.
pub fn create_out_dir(out: &Path) -> Result<()> {
    if out.as_os_str() == "-" {
        return Err(bad_flag("invalid --out -: --out names the directory for the outputs"));
    }
    if out.exists() && !out.is_dir() {
        return Err(bad_flag(format!(
            "invalid --out = {}: it is a file, and --out names the directory for the outputs",
            out.display()
        )));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create output directory {}: {e}", out.display()))
}

/// Whether an error is a closed stdout pipe, which is not worth reporting.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// How much the program shows on stderr.
pub struct Ui {
    quiet: bool,
}

impl Ui {
    /// A progress bar of `len` steps on stderr, hidden with `--quiet` or when stderr is no
    /// terminal.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        bar
    }

    /// A status line on stderr, unless `--quiet`.
    pub fn status(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

/// The mixture given by `--weights`, `--means` and `--stds`.
pub fn mixture(args: &MixtureArgs) -> Result<GaussianMixture1d> {
    GaussianMixture1d::from_strs(&args.weights, &args.means, &args.stds).map_err(|e| match e {
        flowmatching::Error::InvalidSetting { .. } => setting_as_flag(e),
        other => bad_flag(format!("invalid mixture (--weights/--means/--stds): {other}")),
    })
}

/// The network shape from the flags, for data of dimension `dim`.
pub fn net_config(args: &NetArgs, dim: usize) -> Result<NetConfig> {
    let config = NetConfig {
        dim,
        hidden: args.hidden,
        depth: args.depth,
        t_dim: args.t_dim,
        ..NetConfig::default()
    };
    config.validate().map_err(setting_as_flag)?;
    Ok(config)
}

/// The training settings from the flags.
pub fn train_config(args: &OptimArgs) -> Result<TrainConfig> {
    let config = TrainConfig {
        steps: args.train_steps,
        batch: args.batch,
        lr: args.lr,
        weight_decay: args.weight_decay,
        log_every: args.log_every,
        ema_decay: args.ema,
        lr_schedule: match args.lr_schedule {
            LrScheduleName::Constant => LrSchedule::Constant,
            LrScheduleName::Cosine => LrSchedule::Cosine,
            LrScheduleName::Linear => LrSchedule::Linear,
        },
        warmup_steps: args.warmup,
    };
    // Three fields have flags of other names; the rest are renamed by setting_as_flag.
    config.validate().map_err(|e| match &e {
        flowmatching::Error::InvalidSetting { name, value, .. } => match name.as_str() {
            "steps" => flag_error("--train-steps", value.clone(), e),
            "ema_decay" => flag_error("--ema", value.clone(), e),
            "warmup_steps" => flag_error("--warmup", value.clone(), e),
            _ => setting_as_flag(e),
        },
        _ => e.into(),
    })?;
    if args.pool == 0 {
        return Err(bad_flag("invalid --pool = 0: the data pool needs at least one point"));
    }
    Ok(config)
}

/// Checks the training flags that can be checked before any data is read (optimiser and
/// schedule settings, the path, the network's shape, the seed under `--rng`), so that a bad
/// one stops a command before it creates or writes anything.
pub fn check_training_flags(net: &NetArgs, optim: &OptimArgs, seed: u64) -> Result<()> {
    train_config(optim)?;
    flowmatching::path::PathSpec::parse(&optim.path)
        .map_err(|e| flag_error("--path", &optim.path, e))?;
    net_config(net, 1)?;
    steps::RunRng::new(optim.rng, seed)?;
    Ok(())
}

/// The ODE solver settings from the flags (Heun with 200 steps unless told otherwise).
pub fn solve_options(args: &SolverArgs) -> Result<SolveOptions> {
    ode::solve_options(args, Solver::Heun)
}

/// Reads a numeric CSV (header detected) as an n x d dataset.
///
/// With `prefer`, a file whose header names all of those columns is read in just them, in
/// that order, so that other columns (a text label) are never parsed.
pub fn read_table(flag: &str, path: &Path, prefer: Option<&[String]>) -> Result<loader::Dataset> {
    let prefer = prefer.map(<[String]>::to_vec);
    let options = LoadOptions { header: HeaderMode::Auto, prefer, ..LoadOptions::default() };
    load_data(flag, path, &options)
}

/// Reads the data file given to `flag`: `.npy` by its name, CSV otherwise (whatever the
/// extension, as the CSV outputs are written), or CSV from standard input for `-` (one input
/// of a run at most, since a second read would find it empty).
pub fn load_data(flag: &str, path: &Path, options: &LoadOptions) -> Result<loader::Dataset> {
    static STDIN_READ: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if path.as_os_str() == "-" {
        if STDIN_READ.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return Err(bad_flag(format!(
                "invalid {flag} = -: standard input feeds one input of a command at most, and \
                 another one has read it; name a file"
            )));
        }
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        if bytes.starts_with(b"\x93NUMPY") {
            anyhow::bail!(
                "{flag} -: standard input holds a .npy array, and it takes CSV only; give the \
                 .npy file by its name"
            );
        }
        return Ok(loader::read_csv(&bytes[..], Path::new("standard input"), options)?);
    }
    if !path.is_file() {
        let what = if path.is_dir() { "is a directory" } else { "no such file" };
        anyhow::bail!("{flag} {}: {what}", path.display());
    }
    let file = std::fs::File::open(path).map_err(|e| flowmatching::Error::io(path, e))?;
    let file = std::io::BufReader::new(file);
    match is_npy(path) {
        true => Ok(loader::read_npy(file, path, options)?),
        false => Ok(loader::read_csv(file, path, options)?),
    }
}

/// Refuses `-` for an input that is read from a named file only (a checkpoint, a spec).
pub fn named_file<'a>(flag: &str, path: &'a Path) -> Result<&'a Path> {
    if path.as_os_str() == "-" {
        return Err(bad_flag(format!(
            "invalid {flag} = -: this input is read from a file, not standard input; name it"
        )));
    }
    Ok(path)
}

/// How an input file is named in reports: its path, or "standard input" for `-`.
pub fn input_label(path: &Path) -> String {
    match path.as_os_str() == "-" {
        true => "standard input".to_string(),
        false => path.display().to_string(),
    }
}

/// Whether a path names a `.npy` file (its name ends in `.npy`, any case), which inputs read
/// and outputs write as NumPy arrays rather than CSV.
pub fn is_npy(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Writes rows to `path`: as `.npy` (float64, n x d) when its name ends in `.npy`, as CSV
/// otherwise, or as CSV to stdout when `path` is `-`.
pub fn write_table(path: &Path, header: &[String], values: &[f64]) -> Result<()> {
    if is_npy(path) {
        return Ok(loader::write_npy(path, header.len(), values)?);
    }
    if path.as_os_str() != "-" {
        return Ok(loader::write_csv(path, header, values)?);
    }
    let bytes = loader::csv_bytes(Path::new("standard output"), header, values)?;
    report(&String::from_utf8(bytes)?, false)
}

/// The values of `table` (read from `input`) in the columns `wanted`, row-major, in `wanted`'s
/// order; `None` when the file has neither those columns nor their number.
///
/// A file whose header names every wanted column is read by name, and its other columns (a
/// label, say) are left out. Otherwise a file with exactly `wanted.len()` columns is read by
/// position: silently when it has no header, with a warning when its header names other
/// columns.
pub fn values_in_columns(
    table: &loader::Dataset,
    wanted: &[String],
    input: &Path,
) -> Option<Vec<f64>> {
    if table.columns == wanted {
        return Some(table.values.clone());
    }
    let by_name: Option<Vec<usize>> =
        wanted.iter().map(|w| table.columns.iter().position(|c| c == w)).collect();
    if let Some(index) = by_name {
        let rows = table.values.chunks_exact(table.d);
        return Some(rows.flat_map(|row| index.iter().map(move |&j| row[j])).collect());
    }
    if table.d != wanted.len() {
        return None;
    }
    if table.columns != loader::default_column_names(table.d) {
        ode::warn(format!(
            "{}: columns {} are not {}; reading them by position",
            input.display(),
            table.columns.join(","),
            wanted.join(",")
        ));
    }
    Some(table.values.clone())
}

/// The column names a checkpoint's data had (generated ones when it does not say).
pub fn flow_columns(flow: &flowmatching::flow::Flow) -> Vec<String> {
    let columns = &flow.info().columns;
    if columns.len() == flow.dim() {
        columns.clone()
    } else {
        loader::default_column_names(flow.dim())
    }
}

/// `n` and the noun, singular for one: `1 column`, `3 columns`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Column names `x` (1D) or `x1, x2, ...`.
pub fn default_columns(d: usize) -> Vec<String> {
    if d == 1 {
        vec!["x".to_string()]
    } else {
        (1..=d).map(|j| format!("x{j}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_singular_for_one() {
        assert_eq!(counted(1, "column"), "1 column");
        assert_eq!(counted(0, "row"), "0 rows");
        assert_eq!(counted(3, "rademacher probe"), "3 rademacher probes");
    }
}
