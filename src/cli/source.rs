//! Where the data comes from: a built-in distribution (the notebook's 1D mixture, the 2D toys,
//! a Gaussian mixture spec in any dimension) or the rows of a user's CSV or `.npy` file.
//!
//! A built-in distribution gives `--pool` points (for the 1D mixture and the checkerboard
//! under `--rng notebook` drawn with NumPy's generator as the notebook draws them, otherwise
//! from the seed's `Data` stream), and fresh true samples for evaluation. A file (or CSV on
//! standard input) is read whole, cut down to the chosen columns and split by the seed's
//! `Split` stream into training rows and held-out rows
//! (`--holdout`). The split depends only on the file, the columns, the fraction and the seed,
//! so `evaluate --data` recomputes exactly the rows a training run held out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use super::args::{DataArgs, DatasetName, Header, MixtureArgs, Standardize};
use super::bad_flag;
use super::steps::{RunRng, TrainData};
use super::{default_columns, Ui};
use flowmatching::data::loader::{self, Dataset, HeaderMode, LoadOptions};
use flowmatching::data::standardize::Standardizer;
use flowmatching::data::toy::{self, Checkerboard, GaussianMixture};
use flowmatching::data::Target;
use flowmatching::rng::{stream, Stream};

/// The data named on the command line, before anything is drawn or split.
pub enum Source {
    /// A distribution that can be sampled afresh.
    Target {
        /// The distribution.
        target: Box<dyn Target>,
        /// The checkerboard's geometry, when the target is the checkerboard.
        board: Option<Checkerboard>,
    },
    /// A user's data file.
    File(PathBuf),
}

/// What the truth is, for evaluation.
pub enum Truth {
    /// A built-in distribution: fresh samples, and an exact density where one is known.
    Target(Box<dyn Target>),
    /// A file's held-out rows (data units, row-major), or `None` when nothing was held out.
    HeldOut(Option<Vec<f64>>),
}

/// Training data in data units, with what is known of the truth behind it.
pub struct Prepared {
    /// A short name: the target's or the file's.
    pub name: String,
    /// Column names, one per coordinate.
    pub columns: Vec<String>,
    /// Dimension d.
    pub d: usize,
    /// The training rows, row-major `n * d`.
    pub train: Vec<f64>,
    /// The truth to evaluate against.
    pub truth: Truth,
    /// The checkerboard's geometry, when the data is the checkerboard.
    pub board: Option<Checkerboard>,
}

impl Source {
    /// The source the flags name: `--data`, else `--mixture-spec`, else `--dataset`.
    pub fn new(dataset: DatasetName, data: &DataArgs, mixture: &MixtureArgs) -> Result<Self> {
        let other = data.data.is_some() || data.mixture_spec.is_some();
        if mixture.is_changed() && (other || dataset != DatasetName::Mixture) {
            super::ode::warn(
                "--weights/--means/--stds describe the 1D mixture and are ignored with --data, \
                 --mixture-spec or another --dataset",
            );
        }
        if let Some(path) = &data.data {
            return Ok(Source::File(path.clone()));
        }
        if let Some(spec) = &data.mixture_spec {
            // The library's errors name the spec file (and the line and column of a JSON slip).
            let spec = super::named_file("--mixture-spec", spec)?;
            let target = GaussianMixture::from_json_file(spec)?;
            return Ok(Source::Target { target: Box::new(target), board: None });
        }
        built_in(dataset, mixture)
    }

    /// Draws `pool` training points (a built-in target) or reads and splits the file.
    pub fn prepare(
        self,
        data: &DataArgs,
        pool: usize,
        rng: &mut RunRng,
        ui: &Ui,
    ) -> Result<Prepared> {
        match self {
            Source::Target { target, board } => {
                let d = target.dim();
                let train = rng.draw_pool(target.as_ref(), pool);
                let columns = default_columns(d);
                Ok(Prepared {
                    name: target.name(),
                    columns,
                    d,
                    train,
                    truth: Truth::Target(target),
                    board,
                })
            }
            Source::File(path) => prepare_file(&path, data, rng.seed(), ui),
        }
    }
}

fn built_in(dataset: DatasetName, mixture: &MixtureArgs) -> Result<Source> {
    let target: Box<dyn Target> = match dataset {
        DatasetName::Mixture => Box::new(super::mixture(mixture)?),
        DatasetName::Checkerboard => {
            let board = Checkerboard::default();
            return Ok(Source::Target { target: Box::new(board.clone()), board: Some(board) });
        }
        DatasetName::Moons => toy::by_name("moons")?,
        DatasetName::EightGaussians => toy::by_name("8gaussians")?,
        DatasetName::Rings => toy::by_name("rings")?,
        DatasetName::Spiral => toy::by_name("spiral")?,
    };
    Ok(Source::Target { target, board: None })
}

fn prepare_file(path: &Path, data: &DataArgs, seed: u64, ui: &Ui) -> Result<Prepared> {
    check_holdout(data.holdout)?;
    let dataset = read_data(path, data)?;
    let label = super::input_label(path);
    let (train, held_out) = split(&dataset, data.holdout, seed).with_context(|| label.clone())?;
    ui.status(format!(
        "{label}: {} of {} ({}); {} for training, {} held out",
        super::counted(dataset.n, "row"),
        super::counted(dataset.d, "column"),
        short_list(&dataset.columns),
        train.n,
        held_out.as_ref().map_or(0, |h| h.n)
    ));

    let name = match path.file_name() {
        Some(name) if path.as_os_str() != "-" => name.to_string_lossy().into(),
        _ => label,
    };
    Ok(Prepared {
        name,
        columns: dataset.columns,
        d: dataset.d,
        train: train.values,
        truth: Truth::HeldOut(held_out.map(|h| h.values)),
        board: None,
    })
}

/// The names, or the first and last few of a long list.
fn short_list(names: &[String]) -> String {
    if names.len() <= 8 {
        return names.join(", ");
    }
    format!("{}, ..., {}", names[..4].join(", "), names[names.len() - 2..].join(", "))
}

/// Reads `--data` with `--header`, keeping `--columns` or leaving out `--drop`.
pub fn read_data(path: &Path, data: &DataArgs) -> Result<Dataset> {
    let header = match data.header {
        Header::Auto => HeaderMode::Auto,
        Header::Yes => HeaderMode::Present,
        Header::No => HeaderMode::Absent,
    };
    let options = LoadOptions {
        header,
        columns: data.columns.clone(),
        drop: data.drop.clone(),
        ..LoadOptions::default()
    };
    super::load_data("--data", path, &options)
}

/// Checks `--holdout`: 0 (no split) or a fraction strictly between 0 and 1.
fn check_holdout(holdout: f64) -> Result<()> {
    if holdout == 0.0 || (holdout > 0.0 && holdout < 1.0) {
        return Ok(());
    }
    Err(bad_flag(format!("invalid --holdout = {holdout}: must be 0 (no split) or between 0 and 1")))
}

/// The seeded split into training and held-out rows; `holdout = 0` holds nothing out.
pub fn split(dataset: &Dataset, holdout: f64, seed: u64) -> Result<(Dataset, Option<Dataset>)> {
    if holdout == 0.0 {
        return Ok((dataset.clone(), None));
    }
    check_holdout(holdout)?;
    if dataset.n < 2 {
        bail!(
            "the data has {} row: holding rows out for scoring (--holdout {holdout}) needs at \
             least 2; pass --holdout 0 to train on every row",
            dataset.n
        );
    }
    let (train, held_out) = loader::split(dataset, holdout, &mut stream(seed, Stream::Split))?;
    Ok((train, Some(held_out)))
}

impl Prepared {
    /// Whether the data came from a file.
    pub fn is_file(&self) -> bool {
        matches!(self.truth, Truth::HeldOut(_))
    }

    /// The transform the network learns in: fitted on the training rows (`--standardize yes`,
    /// or `auto` for a file) or the identity.
    pub fn standardizer(&self, mode: Standardize) -> Result<Standardizer> {
        let fit = match mode {
            Standardize::Yes => true,
            Standardize::No => false,
            Standardize::Auto => self.is_file(),
        };
        if !fit {
            return Ok(Standardizer::identity(self.d));
        }
        Standardizer::fit_values(&self.train, self.d)
            .with_context(|| format!("standardising the training rows of {}", self.name))
    }

    /// The units joint metrics are computed in: standardised by the training rows for a file
    /// (whatever `--standardize` says, so runs stay comparable), the data's own otherwise.
    pub fn metric_units(&self) -> Result<Standardizer> {
        self.standardizer(Standardize::Auto)
    }

    /// The training rows, seen through [`Prepared::standardizer`], as the training loop takes
    /// them.
    pub fn train_data(&self, mode: Standardize) -> Result<TrainData<'_>> {
        Ok(TrainData {
            values: &self.train,
            standardizer: self.standardizer(mode)?,
            name: self.name.clone(),
            columns: self.columns.clone(),
        })
    }

    /// Writes the held-out rows as CSV with the data's column names.
    pub fn write_held_out(&self, path: &Path) -> Result<()> {
        match &self.truth {
            Truth::HeldOut(Some(rows)) => super::write_table(path, &self.columns, rows),
            Truth::HeldOut(None) => Err(bad_flag(format!(
                "nothing to write to {}: --holdout 0 keeps every row for training",
                path.display()
            ))),
            Truth::Target(_) => Err(bad_flag("--held-out needs --data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Dataset {
        let columns = ["a", "label", "b"].map(String::from).to_vec();
        Dataset::new(columns, vec![1.0, 7.0, 2.0, 3.0, 8.0, 4.0]).unwrap()
    }

    #[test]
    fn holdout_zero_keeps_every_row_and_bad_fractions_are_named() {
        let (train, held_out) = split(&table(), 0.0, 1).unwrap();
        assert_eq!((train.n, held_out), (2, None));
        let message = split(&table(), 1.0, 1).unwrap_err().to_string();
        assert!(message.contains("--holdout = 1"), "{message}");
    }
}
