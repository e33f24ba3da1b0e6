//! Scores of d-dimensional samples against the truth, next to the sampling-noise floor, and
//! `flowmatching evaluate` for any dimension.
//!
//! The truth is a reference sample: fresh true samples of a built-in distribution, or the rows
//! a training run held out of a file. The noise floor is a second true sample scored the same
//! way: another fresh draw, or the training rows against the held-out ones. A model is as good
//! as the metrics can tell when its scores reach the floor's.
//!
//! Joint metrics (energy distance, MMD^2, sliced W1) of file data are computed in standardised
//! units (the mean and std of the training rows, or of a `--reference` file), so every column
//! counts alike; built-in distributions are scored in their own units. Per-column W1 is reported
//! in data units (W1 scales with the column: W1(m + s x, m + s y) = s W1(x, y)) and KS does not
//! depend on units. Every score of one run uses the same random directions and subsamples.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;

use super::args::{DatasetName, EvaluateArgs, RngName};
use super::source::{Prepared, Source, Truth};
use super::steps::RunRng;
use super::Ui;
use flowmatching::data::loader::LoadOptions;
use flowmatching::data::standardize::Standardizer;
use flowmatching::data::toy::Checkerboard;
use flowmatching::data::Target;
use flowmatching::flow::Flow;
use flowmatching::likelihood::{LikelihoodOptions, Probe};
use flowmatching::metrics::nd::{evaluate_nd, MetricsNd, NdOptions};
use flowmatching::report::Table;
use flowmatching::rng::{stream, Rng, Stream};
use flowmatching::solve::Solver;

/// Above this dimension the NLL uses Hutchinson's divergence estimate instead of the exact one.
const EXACT_DIVERGENCE_MAX_DIM: usize = 8;

/// Points whose NLL is computed (the first rows of the reference).
const NLL_POINTS: usize = 2000;

/// A reference sample and, when there is one, a second true sample as the noise floor.
pub struct Reference {
    /// What the reference is, for reports.
    pub label: String,
    /// Its rows, data units, row-major.
    pub rows: Vec<f64>,
    /// The noise floor's sample: its label and rows.
    pub floor: Option<(String, Vec<f64>)>,
}

impl Reference {
    /// The truth behind `data`: `n` fresh samples of a target (and `n` more for the floor),
    /// drawn from the seed's `Eval` stream, or a file's held-out rows (with the training rows
    /// as the floor).
    pub fn from_truth(data: &Prepared, n: usize, seed: u64) -> Result<Self> {
        match &data.truth {
            Truth::Target(target) => {
                if n < 2 {
                    bail!("scoring needs at least 2 fresh true samples, not {n}");
                }
                let mut rng = stream(seed, Stream::Eval);
                let rows = target.sample(n, &mut rng);
                let floor = target.sample(n, &mut rng);
                Ok(Reference {
                    label: format!("{n} fresh true samples"),
                    rows,
                    floor: Some((format!("true samples ({n}, noise floor)"), floor)),
                })
            }
            Truth::HeldOut(Some(rows)) => Ok(Reference {
                label: format!("{} held-out rows of {}", rows.len() / data.d, data.name),
                rows: rows.clone(),
                floor: Some((
                    format!("training rows ({}, noise floor)", data.train.len() / data.d),
                    data.train.clone(),
                )),
            }),
            Truth::HeldOut(None) => Ok(Reference {
                label: format!(
                    "the {} training rows of {} (none held out)",
                    data.train.len() / data.d,
                    data.name
                ),
                rows: data.train.clone(),
                floor: None,
            }),
        }
    }
}

/// Scores samples against one reference, all with the same random draws.
pub struct Scorer {
    d: usize,
    reference: Reference,
    standardizer: Standardizer,
    board: Option<Checkerboard>,
    metrics_seed: u64,
}

/// One sample's scores.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    /// What was scored.
    pub label: String,
    /// The d-dimensional metrics (joint ones standardised for file data, per-column W1 in data
    /// units).
    pub metrics: MetricsNd,
    /// Checkerboard only: the fraction of points in valid cells (1 for the truth).
    pub valid_fraction: Option<f64>,
    /// Checkerboard only: the fraction of points in each valid cell (1/8 each for the truth).
    pub cell_fractions: Option<Vec<f64>>,
    /// Checkerboard only: the largest |cell fraction - 1 / cells|.
    pub cell_max_abs_err: Option<f64>,
}

impl Scorer {
    /// A scorer of `d`-dimensional samples against `reference`, computing joint metrics in the
    /// units of `standardizer`. The subsamples and sliced-W1 directions come from a generator
    /// seeded by the first draw of `seed`'s `Eval` stream, the same for every score.
    pub fn new(
        d: usize,
        reference: Reference,
        standardizer: Standardizer,
        board: Option<Checkerboard>,
        seed: u64,
    ) -> Self {
        let metrics_seed = stream(seed, Stream::Eval).random::<u64>();
        Scorer { d, reference, standardizer, board, metrics_seed }
    }

    /// The reference.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Scores `x` (data units, row-major `n * d`).
    pub fn score(&self, label: &str, x: &[f64]) -> Result<Score> {
        let z_x = self.standardizer.forward(x)?;
        let z_y = self.standardizer.forward(&self.reference.rows)?;
        let mut rng = Rng::seed_from_u64(self.metrics_seed);
        let mut metrics = evaluate_nd(&z_x, &z_y, self.d, &NdOptions::default(), &mut rng)
            .with_context(|| format!("scoring {label}"))?;
        for (w1, s) in metrics.w1_per_dim.iter_mut().zip(self.standardizer.scale()) {
            *w1 *= s;
        }

        let mut score = Score {
            label: label.to_string(),
            metrics,
            valid_fraction: None,
            cell_fractions: None,
            cell_max_abs_err: None,
        };
        if let Some(board) = &self.board {
            let n = (x.len() / 2) as f64;
            let cells: Vec<f64> =
                board.valid_cell_counts(x).iter().map(|&c| c as f64 / n).collect();
            let share = 1.0 / cells.len() as f64;
            score.cell_max_abs_err =
                Some(cells.iter().map(|f| (f - share).abs()).fold(0.0, f64::max));
            score.valid_fraction = Some(board.valid_fraction(x));
            score.cell_fractions = Some(cells);
        }
        Ok(score)
    }

    /// The noise floor's scores, when the reference has a second true sample.
    pub fn floor(&self) -> Result<Option<Score>> {
        let Some((label, rows)) = &self.reference.floor else {
            return Ok(None);
        };
        self.score(label, rows).map(Some)
    }
}

/// The scores as an aligned table: joint metrics, the worst column, and the checkerboard's
/// cell fractions when known.
pub fn table(scores: &[Score], columns: &[String]) -> Table {
    let board = scores.iter().any(|s| s.valid_fraction.is_some());
    let mut header = vec!["samples", "n", "energy D^2", "MMD^2", "sliced W1", "max W1 (col)"];
    header.push("max KS (col)");
    if board {
        header.extend(["valid cells", "max cell err"]);
    }
    let mut table = Table::new(header);

    for s in scores {
        let m = &s.metrics;
        // Energy distance and MMD use at most a few thousand points of each set (their cost
        // grows with the square); n says so when that is fewer than all.
        let n = if m.n_x_used < m.n_x {
            format!("{} ({} for D^2, MMD)", m.n_x, m.n_x_used)
        } else {
            m.n_x.to_string()
        };
        let mut row = vec![
            s.label.clone(),
            n,
            format!("{:.3e}", m.energy_u),
            format!("{:.3e}", m.mmd2),
            format!("{:.4}", m.sliced_w1),
            worst(&m.w1_per_dim, columns),
            worst(&m.ks_per_dim, columns),
        ];
        if let (Some(valid), Some(err)) = (s.valid_fraction, s.cell_max_abs_err) {
            row.extend([format!("{valid:.4}"), format!("{err:.4}")]);
        }
        table.row(row);
    }
    table
}

/// Per-column W1 and KS, for data with a few columns.
pub fn column_table(scores: &[Score], columns: &[String]) -> Table {
    let mut header = vec!["samples".to_string()];
    for c in columns {
        header.extend([format!("W1 {c}"), format!("KS {c}")]);
    }
    let mut table = Table::new(header);
    for s in scores {
        let mut row = vec![s.label.clone()];
        for (w1, ks) in s.metrics.w1_per_dim.iter().zip(&s.metrics.ks_per_dim) {
            row.extend([format!("{w1:.4}"), format!("{ks:.4}")]);
        }
        table.row(row);
    }
    table
}

/// `value (column)` of the largest value.
fn worst(values: &[f64], columns: &[String]) -> String {
    let j = (0..values.len()).max_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap_or(0);
    let name = columns.get(j).map_or("?", String::as_str);
    format!("{:.4} ({name})", values.get(j).copied().unwrap_or(f64::NAN))
}

/// The model's negative log-likelihood on true points, next to the exact one where known.
#[derive(Debug, Clone, Serialize)]
pub struct Nll {
    /// Points it was averaged over.
    pub points: usize,
    /// Mean of -log p_model(x), nats, data units.
    pub model: f64,
    /// Mean of -log p_true(x) on the same points, when the density is known.
    pub exact: Option<f64>,
    /// How the divergence was computed.
    pub divergence: String,
}

/// The NLL of `flow` on the first rows of `points` (data units), with `steps` reverse Heun
/// steps; `None` when the training data had a constant column (a point mass has no density).
pub fn nll(
    flow: &Flow,
    points: &[f64],
    target: Option<&dyn Target>,
    steps: usize,
    seed: u64,
) -> Result<Option<Nll>> {
    if !flow.standardizer().constant_columns().is_empty() {
        return Ok(None);
    }
    let d = flow.dim();
    let n = (points.len() / d).min(NLL_POINTS);
    let x = &points[..n * d];

    let (options, divergence) = if d <= EXACT_DIVERGENCE_MAX_DIM {
        (LikelihoodOptions::exact(Solver::Heun, steps), "exact".to_string())
    } else {
        let probes = 4;
        let options = LikelihoodOptions::hutchinson(Solver::Heun, steps, probes, Probe::Rademacher);
        (options, format!("Hutchinson, {probes} Rademacher probes"))
    };
    let result = flow.log_likelihood(x, &options, &mut stream(seed, Stream::Probe))?;
    let model = -result.log_p_1.iter().sum::<f64>() / n as f64;

    let exact = target.and_then(|t| {
        let log_p: Option<Vec<f64>> = x.chunks_exact(d).map(|p| t.log_density(p)).collect();
        log_p.map(|l| -l.iter().sum::<f64>() / n as f64)
    });
    Ok(Some(Nll { points: n, model, exact, divergence }))
}

/// The metrics file of `evaluate`.
#[derive(Serialize)]
struct EvaluateReport<'a> {
    reference: &'a str,
    /// The units of the joint metrics (energy distance, MMD^2, sliced W1).
    metric_units: &'a str,
    columns: &'a [String],
    samples: Score,
    noise_floor: Option<Score>,
}

/// Whether `evaluate` was asked to score against something other than the 1D mixture.
pub fn wants_reference(args: &EvaluateArgs) -> bool {
    args.reference.is_some()
        || args.dataset.is_some()
        || args.data.data.is_some()
        || args.data.mixture_spec.is_some()
}

/// `flowmatching evaluate` against `--reference`, `--data` (its held-out rows), `--dataset` or
/// `--mixture-spec`.
pub fn evaluate(args: &EvaluateArgs, ui: &Ui) -> Result<()> {
    if let Some(json) = &args.json {
        super::check_output_file("--json", json, true)?;
    }
    let samples = super::read_table("--samples", &args.samples, None)?;
    let (scorer, columns, what, units) = match &args.reference {
        Some(path) => reference_file(path, &samples.columns, args)?,
        None => truth_of_flags(args, ui)?,
    };
    let Some(values) = super::values_in_columns(&samples, &columns, &args.samples) else {
        bail!(
            "dimension mismatch: the samples {} have {} ({}), but {} has d = {} ({})",
            args.samples.display(),
            super::counted(samples.d, "column"),
            samples.columns.join(","),
            what,
            scorer.d,
            columns.join(",")
        );
    };

    let score = scorer.score(&super::input_label(&args.samples), &values)?;
    let floor = scorer.floor()?;
    let scores: Vec<Score> = std::iter::once(score.clone()).chain(floor.clone()).collect();
    let mut text = format!(
        "against {}; energy D^2, MMD^2 and sliced W1 in {units}:\n",
        scorer.reference().label
    );
    text += &table(&scores, &columns).to_text();
    if columns.len() <= 8 {
        text += &column_table(&scores, &columns).to_text();
    }
    if floor.is_none() {
        text += "no noise floor: give --data (held-out rows) or --dataset for one\n";
    }
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    super::report(&text, json_to_stdout)?;

    if let Some(json) = &args.json {
        let report = EvaluateReport {
            reference: &scorer.reference().label,
            metric_units: &units,
            columns: &columns,
            samples: score,
            noise_floor: floor,
        };
        super::write_json_out(json, &report)?;
    }
    Ok(())
}

/// A scorer, the truth's columns, what the truth is and the units of the joint metrics.
type Against = (Scorer, Vec<String>, String, String);

/// A scorer against every row of `path`, in units standardised by those rows; a reference
/// whose header names every column of the samples is read in just those.
fn reference_file(path: &Path, samples: &[String], args: &EvaluateArgs) -> Result<Against> {
    let options = LoadOptions { prefer: Some(samples.to_vec()), ..LoadOptions::default() };
    let reference = super::load_data("--reference", path, &options)?;
    if reference.n < 2 {
        bail!("{}: a reference needs at least 2 rows", super::input_label(path));
    }
    let standardizer = Standardizer::fit(&reference)?;
    let label = format!("{} of {}", super::counted(reference.n, "row"), super::input_label(path));
    let what = format!("the reference {}", super::input_label(path));
    let columns = reference.columns.clone();
    let d = reference.d;
    let reference = Reference { label, rows: reference.values, floor: None };
    let units = format!("units standardised by the mean and std of {}", super::input_label(path));
    Ok((Scorer::new(d, reference, standardizer, None, args.seed), columns, what, units))
}

/// A scorer against the truth named by `--data`, `--dataset` or `--mixture-spec`.
fn truth_of_flags(args: &EvaluateArgs, ui: &Ui) -> Result<Against> {
    let dataset = args.dataset.unwrap_or(DatasetName::Mixture);
    let source = Source::new(dataset, &args.data, &args.mixture)?;
    // No pool is drawn; a file's held-out rows come from the seed's split stream either way.
    let mut rng = RunRng::new(RngName::Chacha, args.seed)?;
    let data = source.prepare(&args.data, 0, &mut rng, ui)?;
    let standardizer = data.metric_units()?;
    let what = match &args.data.data {
        Some(path) => format!("the data {}", super::input_label(path)),
        None => data.name.clone(),
    };
    let reference = Reference::from_truth(&data, args.reference_samples, args.seed)?;
    let units = match &args.data.data {
        Some(path) => {
            format!(
                "units standardised by the mean and std of {}'s training rows",
                super::input_label(path)
            )
        }
        None => "the data's own units".to_string(),
    };
    let scorer = Scorer::new(data.d, reference, standardizer, data.board.clone(), args.seed);
    Ok((scorer, data.columns, what, units))
}
