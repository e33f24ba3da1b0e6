//! `train`, `sample`, `evaluate` and `velocity`: the demo's steps, one command each.

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::args::{EvaluateArgs, NetArgs, OptimArgs, RngName, SampleArgs, TrainArgs, VelocityArgs};
use super::source::Source;
use super::{bad_flag, flag_error};
use super::{default_columns, Ui};
use flowmatching::data::mixture::GaussianMixture1d;
use flowmatching::data::standardize::Standardizer;
use flowmatching::data::Target;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::metrics::one_d::{evaluate_1d, noise_floor, Metrics1d, NoiseFloor1d};
use flowmatching::model::VelocityNet;
use flowmatching::path::{Coupling, PathSpec};
use flowmatching::report::{fmt_num, Table};
use flowmatching::rng::notebook::{NotebookRng, TorchGenerator, TorchRandn};
use flowmatching::rng::{stream, NoiseRng, Rng, Stream};
use flowmatching::train::{train as train_loop, DataPool, StepInfo, TrainLog};

/// A network trained on the 1D mixture, with what the run produced.
pub struct Trained {
    pub flow: Flow,
    pub log: TrainLog,
    pub pool: DataPool,
    /// Where the run's sampling noise comes from: the notebook's PyTorch generator where
    /// training left it (as the notebook samples), or the seed's ChaCha8 `Sample` stream.
    pub noise: SampleNoise,
}

/// The random numbers of one training run, by `--rng`.
pub struct RunRng {
    seed: u64,
    notebook: Option<NotebookRng>,
}

impl RunRng {
    /// The generators of `seed`; the notebook's take seeds below 2^32, as NumPy does.
    pub fn new(rng: RngName, seed: u64) -> Result<Self> {
        let notebook = match rng {
            RngName::Chacha => None,
            RngName::Notebook => Some(NotebookRng::new(seed).ok_or_else(|| big_seed(seed))?),
        };
        Ok(RunRng { seed, notebook })
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Draws `n` points of `target`: with NumPy's generator as the notebook does, for the
    /// notebook's 1D mixture and checkerboard under `--rng notebook`; otherwise from the seed's
    /// `Data` stream.
    pub fn draw_pool(&mut self, target: &dyn Target, n: usize) -> Vec<f64> {
        let numpy = self.notebook.as_mut().map(|notebook| &mut notebook.numpy);
        numpy
            .and_then(|numpy| target.sample_like_numpy(n, numpy))
            .unwrap_or_else(|| target.sample(n, &mut stream(self.seed, Stream::Data)))
    }
}

/// The usage error of a seed the notebook's generators cannot take.
fn big_seed(seed: u64) -> anyhow::Error {
    bad_flag(format!(
        "invalid --seed = {seed}: the notebook's generators take seeds below 2^32 (NumPy's \
         limit); use --rng chacha for larger seeds"
    ))
}

/// Sampling noise: PyTorch's generator or a ChaCha8 stream.
#[derive(Clone)]
pub enum SampleNoise {
    /// A `torch.randn` of its own for each draw.
    Torch(TorchGenerator),
    /// One `torch.randn` of a known total, drawn in pieces.
    TorchPieces(TorchRandn),
    ChaCha(Rng),
}

impl SampleNoise {
    /// The noise of `sample --seed seed --rng rng` for `total` values in all:
    /// `torch.manual_seed(seed); torch.randn(n, d)` or the seed's `Sample` stream; either way
    /// the same whatever pieces the sampler draws it in. PyTorch would take a seed of 2^32 or
    /// more as its low 32 bits; here, as in training, it is refused under `--rng notebook`.
    pub fn for_sample(rng: RngName, seed: u64, total: usize) -> Result<Self> {
        Ok(match rng {
            RngName::Notebook if seed > u64::from(u32::MAX) => return Err(big_seed(seed)),
            RngName::Notebook => {
                SampleNoise::TorchPieces(TorchRandn::new(TorchGenerator::new(seed), total))
            }
            RngName::Chacha => SampleNoise::ChaCha(stream(seed, Stream::Sample)),
        })
    }
}

impl NoiseRng for SampleNoise {
    fn standard_normals(&mut self, out: &mut [f64]) {
        match self {
            SampleNoise::Torch(torch) => torch.standard_normals(out),
            SampleNoise::TorchPieces(pieces) => pieces.standard_normals(out),
            SampleNoise::ChaCha(rng) => rng.standard_normals(out),
        }
    }
}

/// Draws the notebook's data pool from the 1D mixture and trains on it; see [`train_pool`].
pub fn train_on_mixture(
    mixture: &GaussianMixture1d,
    net: &NetArgs,
    optim: &OptimArgs,
    seed: u64,
    ui: &Ui,
) -> Result<Trained> {
    train_on_mixture_with(mixture, net, optim, seed, ui, |_| {})
}

/// [`train_on_mixture`], also handing every step's loss to `on_step`.
pub fn train_on_mixture_with(
    mixture: &GaussianMixture1d,
    net: &NetArgs,
    optim: &OptimArgs,
    seed: u64,
    ui: &Ui,
    on_step: impl FnMut(StepInfo) + Send,
) -> Result<Trained> {
    super::train_config(optim)?;
    let mut rng = RunRng::new(optim.rng, seed)?;
    let pool = rng.draw_pool(mixture, optim.pool);
    let data = TrainData {
        values: &pool,
        standardizer: Standardizer::identity(1),
        name: mixture.name(),
        columns: default_columns(1),
    };
    train_pool(data, net, optim, rng, ui, on_step)
}

/// The training points and what the checkpoint should remember of them.
pub struct TrainData<'a> {
    /// The points in data units, row-major with `standardizer.dim()` columns.
    pub values: &'a [f64],
    /// The transform the network learns in.
    pub standardizer: Standardizer,
    /// A built-in target's name or a file name.
    pub name: String,
    /// Column names, one per coordinate.
    pub columns: Vec<String>,
}

/// Initialises the network and trains it on `data` seen through its standardizer, with a
/// progress bar, handing every step's loss to `on_step`.
///
/// Under `--rng notebook` the run draws what the notebook draws after its data: in 1D the batch
/// of 1024 it shows as a table (dropped here; its 2D run, `ref_2d.py`, shows none), then the
/// network's initial weights, then the batches.
pub fn train_pool(
    data: TrainData,
    net: &NetArgs,
    optim: &OptimArgs,
    rng: RunRng,
    ui: &Ui,
    mut on_step: impl FnMut(StepInfo) + Send,
) -> Result<Trained> {
    let d = data.standardizer.dim();
    let train_config = super::train_config(optim)?;
    let path = PathSpec::parse(&optim.path).map_err(|e| flag_error("--path", &optim.path, e))?;
    let net_config = super::net_config(net, d)?;

    if path.coupling == Coupling::ExactOt && d > 1 && train_config.batch > 256 {
        super::ode::warn(format!(
            "--path {path} pairs every batch by an exact {b} x {b} assignment, whose cost grows \
             as batch^3: on a 2-core machine about 25 ms a step at batch 256, 0.15 s at 512 and \
             1 s at 1024 (2D); --batch 256 keeps OT training fast",
            b = train_config.batch
        ));
    }
    let pool = DataPool::from_f64(d, &data.standardizer.forward(data.values)?)?;
    let seed = rng.seed;
    let rng_name = if rng.notebook.is_some() { "notebook" } else { "chacha" };
    let mut notebook = rng.notebook;
    let mut network = match &mut notebook {
        Some(notebook) => {
            if d == 1 {
                notebook.skip_preview_batch(pool.len(), d);
            }
            VelocityNet::new_like_torch(net_config, &mut notebook.torch)?
        }
        None => VelocityNet::new(net_config, &mut stream(seed, Stream::Init))?,
    };
    super::debug(format!(
        "path {path}; network {:?} with {} parameters; {:?}; {} training points",
        network.config(),
        network.num_params(),
        train_config,
        pool.len()
    ));

    let bar = ui.progress(train_config.steps as u64, "training");
    let (mut first, mut last) = (None, 0.0);
    let on_step = |info: StepInfo| {
        on_step(info);
        first.get_or_insert(info.loss);
        last = info.loss;
        if info.step % 50 == 0 || info.step == train_config.steps {
            bar.set_position(info.step as u64);
            bar.set_message(format!("loss {:.4}", info.loss));
        }
    };
    let (log, noise) = match notebook {
        Some(mut notebook) => {
            let log =
                train_loop(&mut network, &pool, &path, &train_config, &mut notebook, on_step)?;
            (log, SampleNoise::Torch(notebook.torch))
        }
        None => {
            let mut rng = stream(seed, Stream::Train);
            let log = train_loop(&mut network, &pool, &path, &train_config, &mut rng, on_step)?;
            (log, SampleNoise::ChaCha(stream(seed, Stream::Sample)))
        }
    };
    bar.finish_and_clear();
    if let Some(first) = first.filter(|&first| last > 10.0 * first) {
        super::ode::warn(format!(
            "the loss rose from {} at step 1 to {} at step {}: training diverged; try a smaller \
             --lr",
            fmt_num(first, 4),
            fmt_num(last, 4),
            train_config.steps
        ));
    }

    let info = FlowInfo {
        rng: rng_name.to_string(),
        path: path.to_string(),
        data: data.name,
        columns: data.columns,
        seed,
        train_steps: train_config.steps,
    };
    let flow = Flow::new(network, data.standardizer, info)?;
    Ok(Trained { flow, log, pool, noise })
}

/// `flowmatching train`: on the 1D mixture, a built-in 2D dataset, a mixture spec or a file.
pub fn train(args: &TrainArgs, ui: &Ui) -> Result<()> {
    super::train_config(&args.optim)?;
    super::check_output_file("--out", &args.out, false)?;
    if !args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors")) {
        super::ode::warn(format!(
            "--out {}: the checkpoint is a safetensors file whatever its name; name it \
             .safetensors to say so",
            args.out.display()
        ));
    }
    for (flag, path) in [("--loss-csv", &args.loss_csv), ("--held-out", &args.held_out)] {
        if let Some(path) = path {
            super::check_output_file(flag, path, true)?;
        }
    }
    let dash = |p: &Option<std::path::PathBuf>| p.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if dash(&args.loss_csv) && dash(&args.held_out) {
        return Err(bad_flag(
            "--loss-csv and --held-out cannot both be standard output (-): name a file for one",
        ));
    }
    let data = Source::new(args.dataset, &args.data, &args.mixture)?;
    let mut rng = RunRng::new(args.optim.rng, args.seed)?;
    let data = data.prepare(&args.data, args.optim.pool, &mut rng, ui)?;
    let train_data = data.train_data(args.data.standardize)?;
    let trained = train_pool(train_data, &args.net, &args.optim, rng, ui, |_| {})?;

    trained.flow.save(&args.out)?;
    if let Some(held_out) = &args.held_out {
        data.write_held_out(held_out)?;
    }
    if let Some(loss_csv) = &args.loss_csv {
        write_losses(loss_csv, &trained.log)?;
    }
    let mut steps = String::new();
    for (step, loss) in &trained.log.losses {
        steps += &format!("step {step}: loss {loss:.6}\n");
    }
    super::report(&steps, dash(&args.loss_csv) || dash(&args.held_out))?;
    ui.status(format!(
        "trained {} steps in {:.2} s; checkpoint written to {}",
        trained.flow.info().train_steps,
        trained.log.seconds,
        args.out.display()
    ));
    Ok(())
}

/// Writes `step,loss,mean_loss` rows: the batch loss at each logged step and the mean batch
/// loss since the previous one.
pub fn write_losses(path: &std::path::Path, log: &TrainLog) -> Result<()> {
    if super::is_npy(path) {
        let header = ["step", "loss", "mean_loss"].map(String::from);
        let rows = log.losses.iter().zip(&log.mean_losses);
        let values: Vec<f64> =
            rows.flat_map(|(&(step, loss), &(_, mean))| [step as f64, loss, mean]).collect();
        return super::write_table(path, &header, &values);
    }
    let mut text = String::from("step,loss,mean_loss\n");
    for ((step, loss), (_, mean)) in log.losses.iter().zip(&log.mean_losses) {
        text.push_str(&format!("{step},{loss:?},{mean:?}\n"));
    }
    if path.as_os_str() == "-" {
        return super::report(&text, false);
    }
    Ok(flowmatching::report::write_atomic(path, text.as_bytes())?)
}

/// `flowmatching sample`.
pub fn sample(args: &SampleArgs, ui: &Ui) -> Result<()> {
    let options = super::solve_options(&args.solver)?;
    super::check_output_file("--out", &args.out, true)?;
    if let Some(trajectory) = &args.trajectory.trajectory {
        super::check_output_file("--trajectory", trajectory, true)?;
    }
    if args.samples == 0 {
        return Err(bad_flag("invalid --samples = 0: ask for at least one sample"));
    }
    let trajectory = &args.trajectory;
    if args.out.as_os_str() == "-" && trajectory.trajectory.as_deref() == Some("-".as_ref()) {
        return Err(bad_flag(
            "--out and --trajectory cannot both be standard output (-): --out writes to \
             standard output unless it names a file, so give one of them a file name",
        ));
    }
    let record_times = super::ode::record_times(trajectory, &options)?;
    let options = options.with_record_times(record_times);
    if args.chunk == 0 {
        return Err(bad_flag("invalid --chunk = 0: integrate at least one row at a time"));
    }
    let flow = Flow::load(super::named_file("--checkpoint", &args.checkpoint)?)?;

    let started = std::time::Instant::now();
    let bar = ui.progress(args.samples as u64, "sampling");
    let mut rng = SampleNoise::for_sample(args.rng, args.seed, args.samples * flow.dim())?;
    let solution = flow.sample_chunked(args.samples, args.chunk, &options, &mut rng, |done| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    let columns = match flow.info().columns.len() {
        d if d == flow.dim() => flow.info().columns.clone(),
        _ => default_columns(flow.dim()),
    };
    super::write_table(&args.out, &columns, &solution.x)?;
    if let Some(path) = &trajectory.trajectory {
        let keep = trajectory.trajectory_samples;
        super::ode::write_trajectory(path, &columns, &solution.trajectory, keep)?;
    }
    let cost = super::ode::solve_cost(&options, &solution);
    let mut outputs = vec![args.out.as_path()];
    outputs.extend(trajectory.trajectory.as_deref());
    super::ode::summary(
        &outputs,
        format!("{} samples with {cost} in {seconds:.2} s", args.samples),
    );
    Ok(())
}

/// Metrics of one sample next to the sampling-noise floor, as written to JSON.
#[derive(Serialize)]
struct EvaluateReport {
    samples: Metrics1d,
    noise_floor: NoiseFloor1d,
    true_weights: Vec<f64>,
}

/// `flowmatching evaluate`.
pub fn evaluate(args: &EvaluateArgs, ui: &Ui) -> Result<()> {
    if super::score::wants_reference(args) {
        return super::score::evaluate(args, ui);
    }
    let mixture = super::mixture(&args.mixture)?;
    if let Some(json) = &args.json {
        super::check_output_file("--json", json, true)?;
    }
    let data = super::read_table("--samples", &args.samples, None)?;
    if data.d != 1 {
        let hint = match args.samples.as_os_str() != "-" && !super::is_npy(&args.samples) {
            true => format!(
                ", e.g. `cut -d, -f2 {} | flowmatching evaluate --samples -` for the second",
                args.samples.display()
            ),
            false => String::new(),
        };
        anyhow::bail!(
            "{}: {} columns ({}); without --reference, --data or --dataset, evaluate scores one \
             column against the 1D mixture: give it one column{hint}",
            super::input_label(&args.samples),
            data.d,
            data.columns.join(", "),
        );
    }

    let metrics = evaluate_1d(&data.values, &mixture)
        .with_context(|| format!("scoring {}", args.samples.display()))?;
    let floor = noise_floor(&mixture, data.n, 20, &mut stream(args.seed, Stream::Eval))?;

    let mut table = metrics_table(&mixture);
    add_metrics_row(&mut table, &super::input_label(&args.samples), &metrics);
    add_metrics_row(&mut table, "true samples (noise floor)", &floor.first_draw);
    let text = format!(
        "{}noise floor over {} draws of {}: W1 {:.4} +- {:.4}, KS {:.4} +- {:.4}\n",
        table.to_text(),
        floor.reps,
        floor.n,
        floor.w1_mean,
        floor.w1_std,
        floor.ks_mean,
        floor.ks_std
    );
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    super::report(&text, json_to_stdout)?;

    if let Some(json) = &args.json {
        let report = EvaluateReport {
            samples: metrics,
            noise_floor: floor,
            true_weights: mixture.weights().to_vec(),
        };
        super::write_json_out(json, &report)?;
    }
    Ok(())
}

/// The header of the 1D metrics table, with the true weights in the mode columns.
pub fn metrics_table(mixture: &GaussianMixture1d) -> Table {
    let mut header = vec!["samples".to_string(), "W1".to_string(), "KS".to_string()];
    for (k, (w, m)) in mixture.weights().iter().zip(mixture.means()).enumerate() {
        header.push(format!("mode {} @{m} ({w:.2})", k + 1));
    }
    header.push("max |err|".to_string());
    Table::new(header)
}

/// One row of the 1D metrics table.
pub fn add_metrics_row(table: &mut Table, label: &str, m: &Metrics1d) {
    let mut row = vec![label.to_string(), format!("{:.4}", m.w1), format!("{:.4}", m.ks)];
    row.extend(m.mode_fractions.iter().map(|f| format!("{f:.4}")));
    row.push(format!("{:.4}", m.mode_fraction_max_abs_err));
    table.row(row);
}

/// `flowmatching velocity`.
pub fn velocity(args: &VelocityArgs) -> Result<()> {
    super::check_output_file("--out", &args.out, true)?;
    let flow = Flow::load(super::named_file("--checkpoint", &args.checkpoint)?)?;
    let d = flow.dim();
    let columns = super::flow_columns(&flow);
    let wanted: Vec<String> = columns.iter().cloned().chain(["t".to_string()]).collect();
    let table = super::read_table("--input", &args.input, Some(&wanted))?;
    let Some(values) = super::values_in_columns(&table, &wanted, &args.input) else {
        anyhow::bail!(
            "dimension mismatch: {} has {}, but checkpoint {} was trained on d = {d}: rows \
             must be ({}), {} columns",
            args.input.display(),
            super::counted(table.d, "column"),
            args.checkpoint.display(),
            wanted.join(", "),
            d + 1
        );
    };

    let mut x = Vec::with_capacity(table.n * d);
    let mut t = Vec::with_capacity(table.n);
    for (i, row) in values.chunks_exact(d + 1).enumerate() {
        if !(0.0..=1.0).contains(&row[d]) {
            let column = match table.columns.iter().any(|c| c == "t") {
                true => "column t".to_string(),
                false => format!("the last of its {} columns, taken as t", d + 1),
            };
            anyhow::bail!(
                "{}: data row {} ({column}): t = {:?} is outside [0, 1], where the flow is \
                 defined (0 = noise, 1 = data); rows are (x..., t)",
                super::input_label(&args.input),
                i + 1,
                row[d]
            );
        }
        x.extend_from_slice(&row[..d]);
        t.push(row[d]);
    }
    let v = flow.velocity(&x, &t)?;

    let header: Vec<String> = columns.iter().map(|c| format!("v_{c}")).collect();
    super::write_table(&args.out, &header, &v)
}
