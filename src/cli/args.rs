//! Command-line flags, parsed by clap and then validated into the library's settings.
//!
//! Every flag has a help line; `flowmatching <command> --help` prints them all with defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Flow matching generative models: train, sample, evaluate and compare.
///
/// Time convention everywhere: t = 0 is noise (standard Gaussian), t = 1 is data.
#[derive(Debug, Parser)]
#[command(name = "flowmatching", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 error (bad input, failed run), 2 usage error (an \
                  unknown flag or a flag value that cannot be used)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Print debug logs on stderr.
    #[arg(long, global = true)]
    pub debug: bool,

    /// Hide progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on a built-in dataset or a file: data, training, sampling (Euler
    /// and Heun; on the 1D mixture also RK4 and dopri5), metrics against the exact target or
    /// held-out rows, the likelihood, plots and a checkpoint, all written into --out.
    Demo(DemoArgs),
    /// Train a velocity network with conditional flow matching and save a checkpoint.
    Train(TrainArgs),
    /// Generate samples from a checkpoint by integrating dx/dt = v(x, t) from t = 0 to t = 1.
    Sample(SampleArgs),
    /// Score samples (CSV or .npy) against the exact target distribution or a reference file.
    Evaluate(EvaluateArgs),
    /// Evaluate v(x, t) at rows (x..., t) of a CSV or .npy file and write the velocities.
    Velocity(VelocityArgs),
    /// Train one model per probability path (same seed, network, steps and data), sample each
    /// with several solvers and step counts from the same noise, and write tables and plots
    /// comparing loss, sample quality against NFE, and the straightness of the learned flows.
    Compare(CompareArgs),
    /// Map data points (CSV or .npy) back to their noise codes by integrating from t = 1 to t = 0.
    Encode(EncodeArgs),
    /// Exact log-densities log p_1(x) of data points (CSV or .npy) under a checkpoint's flow.
    Likelihood(LikelihoodArgs),
    /// Time the notebook's workload (training, Euler and Heun sampling) against the machine's
    /// measured FMA peak, or sweep samples, width and dimension with --scaling.
    Bench(BenchArgs),
}

/// Which built-in dataset to learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatasetName {
    /// The notebook's 1D Gaussian mixture (configurable with --weights/--means/--stds).
    Mixture,
    /// The notebook's 2D task: uniform on the 8 alternate cells of a 4 x 4 board on [-4, 4]^2.
    Checkerboard,
    /// Two interleaved noisy half circles (2D).
    Moons,
    /// Eight Gaussians on a circle of radius 2 (2D).
    #[value(name = "8gaussians")]
    EightGaussians,
    /// Concentric noisy rings (2D).
    Rings,
    /// A noisy two-armed spiral (2D).
    Spiral,
}

/// Whether the first row of a CSV file is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Header {
    /// A header when any field of the first row is not a number.
    Auto,
    /// The first row is a header.
    Yes,
    /// Every row is data.
    No,
}

/// Whether the network learns standardised data (z = (x - mean) / std per column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Standardize {
    /// Standardise data files (fitted on the training split), not built-in datasets.
    Auto,
    /// Always standardise.
    Yes,
    /// Never standardise.
    No,
}

/// Data other than the built-in --dataset: a user's file or a Gaussian mixture spec.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// A CSV or .npy file of points (rows are points, columns coordinates) instead of a
    /// built-in dataset: the data to learn (demo, train) or, for evaluate, the data whose
    /// held-out rows the samples are scored against.
    #[arg(long, conflicts_with_all = ["dataset", "mixture_spec"])]
    pub data: Option<PathBuf>,
    /// Keep only these columns of --data, in this order (comma-separated header names, or
    /// 0-based indices for a file without a header).
    #[arg(long, value_delimiter = ',', requires = "data", conflicts_with = "drop")]
    pub columns: Option<Vec<String>>,
    /// Leave these columns of --data out (comma-separated names or indices), e.g. a class label.
    #[arg(long, value_delimiter = ',', requires = "data")]
    pub drop: Vec<String>,
    /// Whether the first row of a CSV --data file is a header.
    #[arg(long, value_enum, default_value_t = Header::Auto, requires = "data")]
    pub header: Header,
    /// Fraction of the rows of --data held out for evaluation (a split seeded by --seed);
    /// 0 trains on every row.
    #[arg(long, default_value_t = 0.1, requires = "data")]
    pub holdout: f64,
    /// The Gaussian mixture of this JSON spec (to learn, or to score against), in any
    /// dimension: {"weights": [...], "means": [[...], ...], "stds": [...]} or "covs" instead of
    /// "stds".
    #[arg(long, conflicts_with = "dataset")]
    pub mixture_spec: Option<PathBuf>,
    /// Standardise each coordinate by the mean and std of the training rows before training
    /// (the checkpoint maps samples back to data units).
    #[arg(long, value_enum, default_value_t = Standardize::Auto)]
    pub standardize: Standardize,
}

/// The notebook's mixture, as the flags' defaults.
const NOTEBOOK_WEIGHTS: &str = "0.2,0.3,0.1,0.4";
const NOTEBOOK_MEANS: &str = "-6,-2,2,6";
const NOTEBOOK_STDS: &str = "0.5,0.3,0.4,0.6";

/// The notebook's 1D Gaussian mixture, overridable component by component.
#[derive(Debug, Clone, Args)]
pub struct MixtureArgs {
    /// Mixture weights, comma-separated, summing to 1.
    #[arg(long, default_value = NOTEBOOK_WEIGHTS, allow_hyphen_values = true)]
    pub weights: String,
    /// Mixture means, comma-separated.
    #[arg(long, default_value = NOTEBOOK_MEANS, allow_hyphen_values = true)]
    pub means: String,
    /// Mixture standard deviations, comma-separated, positive.
    #[arg(long, default_value = NOTEBOOK_STDS, allow_hyphen_values = true)]
    pub stds: String,
}

impl MixtureArgs {
    /// Whether any of the three flags differs from the notebook's mixture.
    pub fn is_changed(&self) -> bool {
        self.weights != NOTEBOOK_WEIGHTS
            || self.means != NOTEBOOK_MEANS
            || self.stds != NOTEBOOK_STDS
    }
}

/// The velocity network's shape.
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Width of each hidden layer [demo and train on a built-in 2D dataset: 128].
    #[arg(long, default_value_t = 64, value_parser = count, allow_negative_numbers = true)]
    pub hidden: usize,
    /// Number of hidden layers [demo and train on a built-in 2D dataset: 4].
    #[arg(long, default_value_t = 2, value_parser = count, allow_negative_numbers = true)]
    pub depth: usize,
    /// Size of the sinusoidal time embedding.
    #[arg(long, default_value_t = 32, value_parser = count, allow_negative_numbers = true)]
    pub t_dim: usize,
}

/// Optimisation settings of conditional flow matching.
#[derive(Debug, Clone, Args)]
pub struct OptimArgs {
    /// Training steps (one AdamW update each) [demo and train on a built-in 2D dataset: 40000].
    #[arg(
        long = "train-steps",
        default_value_t = 2500,
        value_parser = count,
        allow_negative_numbers = true,
    )]
    pub train_steps: usize,
    /// Batch size of (x_0, x_1, t) triples per step.
    #[arg(long, default_value_t = 1024, value_parser = count, allow_negative_numbers = true)]
    pub batch: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 2e-3, allow_negative_numbers = true)]
    pub lr: f64,
    /// AdamW decoupled weight decay.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Return an exponential moving average of the weights with this decay (0: the last
    /// iterate, as the notebook does).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub ema: f64,
    /// Learning-rate schedule after the warm-up (constant, as the notebook; cosine or linear
    /// decay towards 0 over the remaining steps) [demo and train on a built-in 2D dataset:
    /// cosine].
    #[arg(long, value_enum, default_value_t = LrScheduleName::Constant)]
    pub lr_schedule: LrScheduleName,
    /// Steps of linear learning-rate warm-up before the schedule (0: none).
    #[arg(long, default_value_t = 0, value_parser = count, allow_negative_numbers = true)]
    pub warmup: usize,
    /// Keep the loss every this many steps (for the log and the loss plot).
    #[arg(long, default_value_t = 250, value_parser = count, allow_negative_numbers = true)]
    pub log_every: usize,
    /// Probability path and coupling: linear, quadratic, poly:N, cosine, vp[:BMIN:BMAX],
    /// linear:sigma_min=S, ot (linear + minibatch optimal transport), stochastic[:s=S], sb;
    /// append +ot to any path for the OT coupling.
    #[arg(long, default_value = "linear")]
    pub path: String,
    /// Size of the data pool drawn once from a built-in dataset; batches resample it.
    #[arg(long, default_value_t = 50_000, value_parser = count, allow_negative_numbers = true)]
    pub pool: usize,
    /// How the seed becomes random numbers: notebook (the notebook's generators in its order:
    /// NumPy's for the 1D mixture's data pool and each batch's x_1, PyTorch's for the initial
    /// weights, x_0, t and the sampling noise, so --seed N repeats the notebook's run with seed
    /// N up to float rounding; seeds below 2^32) or chacha (an independent ChaCha8 stream for
    /// each use). The checkerboard's data is drawn as the notebook draws it, too.
    #[arg(long, value_enum, default_value_t = RngName::Notebook)]
    pub rng: RngName,
}

/// The generators `--rng` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RngName {
    /// The reference notebook's generators (PyTorch's and NumPy's MT19937), drawn as the
    /// notebook draws them.
    Notebook,
    /// ChaCha8 streams of the seed.
    Chacha,
}

/// The learning-rate schedules `--lr-schedule` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LrScheduleName {
    /// The same rate at every step (the notebook's choice).
    Constant,
    /// Half a cosine from --lr towards 0.
    Cosine,
    /// A straight line from --lr towards 0.
    Linear,
}

/// How to integrate the ODE. Every field is optional so that a command can pick its own default
/// solver and so that flags a solver ignores can be warned about (see `cli::ode`).
#[derive(Debug, Clone, Args)]
pub struct SolverArgs {
    /// ODE solver: euler, midpoint, heun, rk4 or dopri5 [default: heun; dopri5 for likelihood].
    #[arg(long)]
    pub solver: Option<String>,
    /// Number of steps of a fixed-step solver (ignored by dopri5) [default: 200].
    #[arg(long, visible_alias = "ode-steps", value_parser = count, allow_negative_numbers = true)]
    pub steps: Option<usize>,
    /// Relative tolerance of dopri5's local error control [default: 1e-5].
    #[arg(long, allow_negative_numbers = true)]
    pub rtol: Option<f64>,
    /// Absolute tolerance of dopri5's local error control [default: 1e-5].
    #[arg(long, allow_negative_numbers = true)]
    pub atol: Option<f64>,
    /// Cap on dopri5's attempted steps; hitting it is an error [default: 10000].
    #[arg(long, value_parser = count, allow_negative_numbers = true)]
    pub max_steps: Option<usize>,
}

/// Which states of a sampling run to write, and where.
#[derive(Debug, Clone, Args)]
pub struct TrajectoryArgs {
    /// Also write trajectories as CSV ("-" for standard output; .npy for a name ending in
    /// .npy), long format: one row `sample,t,x...` per recorded time and sample, time after
    /// time, in data units.
    #[arg(long)]
    pub trajectory: Option<PathBuf>,
    /// Times to record, comma-separated, increasing within [0, 1] (0 = noise, 1 = data). States
    /// are computed exactly there: a time off a fixed-step grid splits a step (adding
    /// evaluations), dopri5 shortens a step to land on it [default: 0, 0.05, ..., 1].
    #[arg(long, requires = "trajectory", conflicts_with = "record_every")]
    pub record_times: Option<String>,
    /// Record every K-th step of a fixed-step solver, and t = 1 (costs nothing extra).
    #[arg(long, requires = "trajectory", value_parser = count, allow_negative_numbers = true)]
    pub record_every: Option<usize>,
    /// Number of samples whose trajectories are written (the first ones).
    #[arg(
        long,
        default_value_t = 200,
        requires = "trajectory",
        value_parser = count,
        allow_negative_numbers = true,
    )]
    pub trajectory_samples: usize,
}

/// `flowmatching demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory for the checkpoint, samples, metrics and plots (created if missing).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Seed of every random draw; the same seed gives the same results.
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Built-in dataset.
    #[arg(long, value_enum, default_value_t = DatasetName::Mixture)]
    pub dataset: DatasetName,
    /// Number of samples drawn with each solver.
    #[arg(long, default_value_t = 20_000, value_parser = count, allow_negative_numbers = true)]
    pub samples: usize,
    /// Number of steps of the Euler and Heun solvers.
    #[arg(long, default_value_t = 200, value_parser = count, allow_negative_numbers = true)]
    pub ode_steps: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mixture: MixtureArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub optim: OptimArgs,
}

/// `flowmatching train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Where to write the checkpoint (.safetensors).
    #[arg(long, short, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Built-in dataset to learn.
    #[arg(long, value_enum, default_value_t = DatasetName::Mixture)]
    pub dataset: DatasetName,
    /// Also write the logged losses as CSV, or .npy for a name ending in .npy (step, loss,
    /// mean_loss: the batch loss at each logged step and the mean batch loss since the previous
    /// one).
    #[arg(long)]
    pub loss_csv: Option<PathBuf>,
    /// Also write the held-out rows of --data as CSV, or .npy for a name ending in .npy (for
    /// `evaluate --reference`).
    #[arg(long, requires = "data")]
    pub held_out: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mixture: MixtureArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub optim: OptimArgs,
}

/// `flowmatching sample`.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// Checkpoint written by `flowmatching train` (or a PyTorch state dict of the notebook's net).
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// Where to write the samples: CSV, or .npy (float64) for a name ending in .npy; "-" for
    /// CSV on standard output.
    #[arg(long, short, default_value = "-")]
    pub out: PathBuf,
    /// Number of samples.
    #[arg(
        long,
        short = 'n',
        default_value_t = 20_000,
        value_parser = count,
        allow_negative_numbers = true,
    )]
    pub samples: usize,
    /// Seed of the noise x_0.
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// How the seed becomes noise: notebook (torch.manual_seed(seed); torch.randn(n, d); seeds
    /// below 2^32) or chacha (the seed's ChaCha8 sampling stream).
    #[arg(long, value_enum, default_value_t = RngName::Notebook)]
    pub rng: RngName,
    /// Rows integrated at a time, which bounds the solver's memory; fixed-step samples do not
    /// depend on it (dopri5 picks its steps per chunk).
    #[arg(long, default_value_t = 65_536, value_parser = count, allow_negative_numbers = true)]
    pub chunk: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub solver: SolverArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub trajectory: TrajectoryArgs,
}

/// `flowmatching evaluate`.
#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    /// Samples to score: CSV or .npy with one column per coordinate, or - for CSV on standard
    /// input. Without --reference, --data, --dataset or --mixture-spec, one column scored
    /// against the 1D mixture.
    #[arg(long, short)]
    pub samples: PathBuf,
    /// Score against the rows of this CSV or .npy file (the samples' columns are matched to
    /// its columns by header name, else by position). Multivariate metrics are taken in units
    /// standardised by these rows; with --data, by the training rows, so the two can differ
    /// slightly for the same points.
    #[arg(long, conflicts_with_all = ["data", "dataset", "mixture_spec"])]
    pub reference: Option<PathBuf>,
    /// Score against fresh samples of this built-in dataset.
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetName>,
    /// Fresh true samples drawn for --dataset and --mixture-spec.
    #[arg(long, default_value_t = 20_000, value_parser = count, allow_negative_numbers = true)]
    pub reference_samples: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub data: DataArgs,
    /// Also write the metrics as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Seed of the fresh true samples that give the sampling-noise floor, and of the --data
    /// split (give the training run's seed to score against its held-out rows).
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mixture: MixtureArgs,
}

/// `flowmatching velocity`.
#[derive(Debug, Clone, Args)]
pub struct VelocityArgs {
    /// Checkpoint to evaluate.
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// CSV or .npy of rows (x..., t), or - for CSV on standard input. A header that names the
    /// checkpoint's columns and t is read by name (in any order); otherwise columns are taken
    /// by position. Velocities come out in the data's units.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Where to write the velocities: CSV, or .npy for a name ending in .npy; "-" for CSV on
    /// standard output.
    #[arg(long, short, default_value = "-")]
    pub out: PathBuf,
}

/// `flowmatching compare`.
#[derive(Debug, Clone, Args)]
#[command(mut_arg("path", |a| a.hide(true)))]
pub struct CompareArgs {
    /// Paths to compare, comma-separated, each named as for `train --path` (e.g.
    /// linear,quadratic,cosine,vp,ot,sb). Every path trains from the same seed.
    #[arg(long, default_value = "linear,quadratic")]
    pub paths: String,
    /// ODE solvers of the sampling sweep, comma-separated: euler, midpoint, heun, rk4, dopri5
    /// (dopri5 sweeps --tols instead of step counts).
    #[arg(long, default_value = "euler,heun,rk4")]
    pub solvers: String,
    /// Budgets of network evaluations (NFE) of the sweep, comma-separated; a fixed-step solver
    /// takes NFE / (its evaluations per step) steps, none when that is 0.
    #[arg(long, default_value = "1,2,4,8,16,32,64,128")]
    pub nfe: String,
    /// Step counts of the sweep, comma-separated, the same for every fixed-step solver (instead
    /// of --nfe).
    #[arg(long, conflicts_with = "nfe")]
    pub ode_steps: Option<String>,
    /// Tolerances (rtol = atol) swept by dopri5, comma-separated.
    #[arg(long, default_value = "1e-2,1e-3,1e-4,1e-5")]
    pub tols: String,
    /// W1 to reach: the summary gives, per solver, the fewest NFE whose samples are this close
    /// to the exact mixture ("-" when none is).
    #[arg(long, default_value_t = 0.6, allow_negative_numbers = true)]
    pub target_w1: f64,
    /// Samples of the fine solve (RK4, --fine-steps) that gives the histograms, the
    /// trajectories, the straightness and the W1 of each learned ODE itself.
    #[arg(long, default_value_t = 20_000, value_parser = count, allow_negative_numbers = true)]
    pub samples: usize,
    /// Samples of each run of the NFE sweep: the first ones of the fine solve's noise, so every
    /// path and solver starts from the same points.
    #[arg(long, default_value_t = 5000, value_parser = count, allow_negative_numbers = true)]
    pub sweep_samples: usize,
    /// RK4 steps of the fine solve (even: the straightness integral uses Simpson's rule).
    #[arg(long, default_value_t = 100, value_parser = count, allow_negative_numbers = true)]
    pub fine_steps: usize,
    /// Trajectories drawn per path in trajectories.png.
    #[arg(long, default_value_t = 300, value_parser = count, allow_negative_numbers = true)]
    pub trajectories: usize,
    /// Directory for the tables, JSON, loss CSV and plots (created if missing).
    #[arg(long, default_value = "out/compare")]
    pub out: PathBuf,
    /// Seed of every random draw, shared by all paths.
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mixture: MixtureArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub optim: OptimArgs,
}

/// `flowmatching encode`.
#[derive(Debug, Clone, Args)]
pub struct EncodeArgs {
    /// Checkpoint whose flow is inverted.
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// Data points as CSV or .npy, one row per point, or - for CSV on standard input. A header
    /// that names the checkpoint's columns is read by name; otherwise the d columns by position.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Where to write the noise codes z: CSV, or .npy for a name ending in .npy; "-" for CSV on
    /// standard output.
    #[arg(long, short, default_value = "-")]
    pub out: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub solver: SolverArgs,
}

/// How the divergence in the change of variables is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DivergenceName {
    /// The exact trace of dv/dx: d Jacobian-vector products per evaluation.
    Exact,
    /// Hutchinson's unbiased estimate with --probes fixed random probes per point.
    Hutchinson,
}

/// The distribution of Hutchinson probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeName {
    /// Components +1 or -1 with probability 1/2 (lower variance; exact in 1D).
    Rademacher,
    /// Standard normal components.
    Gaussian,
}

/// `flowmatching likelihood`.
#[derive(Debug, Clone, Args)]
pub struct LikelihoodArgs {
    /// Checkpoint whose model density is evaluated.
    #[arg(long, short)]
    pub checkpoint: PathBuf,
    /// Data points as CSV or .npy, one row per point, or - for CSV on standard input. A header
    /// that names the checkpoint's columns is read by name; otherwise the d columns by position.
    #[arg(long, short)]
    pub input: PathBuf,
    /// Where to write the per-point log-densities (column log_p, nats): CSV, or .npy for a name
    /// ending in .npy; "-" for CSV on standard output.
    #[arg(long, short, default_value = "-")]
    pub out: PathBuf,
    /// Divergence of the velocity: exact, or Hutchinson's estimate (cheaper for large d).
    #[arg(long, value_enum, default_value_t = DivergenceName::Exact)]
    pub divergence: DivergenceName,
    /// Number of Hutchinson probes per point.
    #[arg(long, default_value_t = 1, value_parser = count, allow_negative_numbers = true)]
    pub probes: usize,
    /// Distribution of the Hutchinson probes.
    #[arg(long, value_enum, default_value_t = ProbeName::Rademacher)]
    pub probe: ProbeName,
    /// Seed of the Hutchinson probes.
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub solver: SolverArgs,
}

/// `flowmatching bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Time each section this many times (from the same state; results are identical) and
    /// report the minimum and the median.
    #[arg(long, default_value_t = 3, value_parser = count, allow_negative_numbers = true)]
    pub repeats: usize,
    /// Also write every measurement as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads (default: rayon's choice, RAYON_NUM_THREADS or one per CPU).
    #[arg(long, value_parser = count, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Before each timed run, wait up to this many seconds for the machine to go idle.
    #[arg(long, default_value_t = 0.0)]
    pub max_idle_wait: f64,
    /// Seconds of each FMA-peak and sgemm measurement (best of three is kept).
    #[arg(long, default_value_t = 0.3)]
    pub peak_seconds: f64,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Points drawn with each solver.
    #[arg(long, default_value_t = 20_000, value_parser = count, allow_negative_numbers = true)]
    pub samples: usize,
    /// Steps of the Euler and Heun solvers.
    #[arg(long, default_value_t = 200, value_parser = count, allow_negative_numbers = true)]
    pub ode_steps: usize,
    /// Instead of the notebook's workload, sweep the number of samples, the width and the
    /// dimension; writes CSV files and PNG charts into --out.
    #[arg(long)]
    pub scaling: bool,
    /// Directory of the --scaling outputs (created if missing).
    #[arg(long, default_value = "out/bench-scaling")]
    pub out: PathBuf,
    /// --scaling: numbers of samples drawn (Heun, chunked and unchunked), comma-separated.
    #[arg(long, default_value = "1000,10000,100000,1000000")]
    pub scaling_samples: String,
    /// --scaling: hidden widths, comma-separated.
    #[arg(long, default_value = "64,128,256,512")]
    pub scaling_widths: String,
    /// --scaling: data dimensions, comma-separated.
    #[arg(long, default_value = "1,2,64")]
    pub scaling_dims: String,
    /// --scaling: Heun steps of every sampling run.
    #[arg(long, default_value_t = 10, value_parser = count, allow_negative_numbers = true)]
    pub scaling_ode_steps: usize,
    /// --scaling: training steps timed per width and dimension.
    #[arg(long, default_value_t = 20, value_parser = count, allow_negative_numbers = true)]
    pub scaling_train_steps: usize,
    /// --scaling: rows integrated at a time by chunked sampling.
    #[arg(long, default_value_t = 65_536, value_parser = count, allow_negative_numbers = true)]
    pub chunk: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub mixture: MixtureArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub optim: OptimArgs,
}

/// Parses a count flag (steps, samples, width, ...): a whole number, 0 or more. Negative
/// numbers reach it too, so that `--steps -5` is told what a count is rather than that `-5` is
/// an unknown flag.
fn count(value: &str) -> Result<usize, String> {
    value.parse().map_err(|_| "expected a whole number, 0 or more".to_string())
}

/// Parses `--seed`: any whole number from 0 to 2^64 - 1 (negative ones reach it, as for counts).
fn seed(value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| "expected a whole number from 0 to 18446744073709551615".to_string())
}
