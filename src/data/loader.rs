//! User data: CSV and `.npy` files read into an n x d matrix of f64.
//!
//! Flow matching learns p_1 (t = 1 is data, t = 0 is noise) from samples; when the samples are
//! the user's own, this module turns a file into a [`Dataset`]: `n` rows (points) by `d` columns
//! (coordinates), stored row-major, so point `i` is `values[i * d..(i + 1) * d]`.
//!
//! - [`load`] picks the reader from the extension (`.csv` or `.npy`, any case);
//! - [`read_csv`] and [`read_npy`] read from any [`std::io::Read`], so tests and fuzzers can feed
//!   bytes; the `source` path they take is only used in error messages;
//! - [`split`] makes a seeded held-out split; [`write_csv`] and [`write_npy`] write samples
//!   atomically.
//!
//! Every value is checked: a NaN or an infinity is an error, never passed on. Errors name the
//! file and the place: for CSV the 1-based line and field ([`Error::Parse`]); for `.npy` the
//! 0-based numpy index `[row, column]` in the message ([`Error::DataFile`]).
//!
//! Column selection ([`LoadOptions::columns`]) is by header name when the file has a header, and
//! by 0-based index otherwise. Columns without a header are named `x0, x1, ...`, names that are
//! not numbers, so a file written by [`write_csv`] reads back with its header detected.

mod csv_reader;
mod npy_reader;

use std::fs::File;
use std::path::Path;

use rand::seq::SliceRandom;

pub use csv_reader::read_csv;
pub use npy_reader::read_npy;

use crate::rng::Rng;
use crate::{Error, Result};

/// An n x d matrix of finite f64 values with a name for each column.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Column names, length `d`.
    pub columns: Vec<String>,
    /// Number of rows (points).
    pub n: usize,
    /// Number of columns (the dimension of one point).
    pub d: usize,
    /// Row-major values, length `n * d`.
    pub values: Vec<f64>,
}

impl Dataset {
    /// A dataset from column names and row-major values; checks that `values.len()` is a
    /// multiple of `columns.len()` and that every value is finite.
    pub fn new(columns: Vec<String>, values: Vec<f64>) -> Result<Self> {
        let d = columns.len();
        if d == 0 {
            return Err(Error::setting("columns", "[]", "a dataset needs at least one column"));
        }
        if values.len() % d != 0 {
            return Err(Error::DimensionMismatch {
                context: format!("dataset values ({} values for {d} columns)", values.len()),
                expected: d * values.len().div_ceil(d),
                found: values.len(),
            });
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                context: format!("dataset value at row {}, column '{}'", k / d, columns[k % d]),
            });
        }
        Ok(Dataset { n: values.len() / d, d, columns, values })
    }

    /// Point `i` (length `d`).
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }

    /// Column `j` as a new vector (length `n`).
    pub fn column(&self, j: usize) -> Vec<f64> {
        self.values.iter().skip(j).step_by(self.d).copied().collect()
    }

    /// The rows at `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Dataset {
        let values = indices.iter().flat_map(|&i| self.row(i).iter().copied()).collect();
        Dataset { columns: self.columns.clone(), n: indices.len(), d: self.d, values }
    }
}

/// Whether the first CSV row is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMode {
    /// A header when any field of the first row is not a number (so a header made only of
    /// numbers, such as `1,2`, is taken as data: say [`HeaderMode::Present`] then).
    #[default]
    Auto,
    /// The first row is a header.
    Present,
    /// There is no header; every row is data.
    Absent,
}

/// How to read a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Header handling for CSV (ignored for `.npy`).
    pub header: HeaderMode,
    /// Columns to keep, in this order: header names, or 0-based indices (`"2"`) or generated
    /// names (`"x2"`) for files without a header. `None` keeps every column.
    pub columns: Option<Vec<String>>,
    /// Columns to leave out when `columns` is `None`: header names or 0-based indices. Columns
    /// left out are never parsed, so they may hold text (a class label).
    pub drop: Vec<String>,
    /// Columns to take by name, in this order, when the header names every one of them (and
    /// neither `columns` nor `drop` is given); otherwise every column is kept. For a reader
    /// that matches columns by name and falls back to position, so that other columns of a
    /// file with a header (a text label) are never parsed.
    pub prefer: Option<Vec<String>>,
    /// CSV field separator (default `b','`).
    pub delimiter: u8,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            header: HeaderMode::Auto,
            columns: None,
            drop: Vec::new(),
            prefer: None,
            delimiter: b',',
        }
    }
}

/// Reads `path` as CSV or `.npy`, chosen by its extension (case-insensitive).
pub fn load(path: &Path, options: &LoadOptions) -> Result<Dataset> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("csv") => read_csv(open(path)?, path, options),
        Some("npy") => read_npy(open(path)?, path, options),
        other => Err(Error::setting(
            "data file",
            path.display(),
            format!(
                "unknown extension {}; expected .csv or .npy",
                other.map_or("(none)".to_string(), |e| format!(".{e}"))
            ),
        )),
    }
}

fn open(path: &Path) -> Result<std::io::BufReader<File>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(std::io::BufReader::new(file))
}

/// Generated names `x0, x1, ...` for columns of a file without a header.
pub fn default_column_names(d: usize) -> Vec<String> {
    (0..d).map(|j| format!("x{j}")).collect()
}

/// Resolves the column choice of `options` ([`LoadOptions::columns`], then
/// [`LoadOptions::drop`], then [`LoadOptions::prefer`]) against the file's column names into
/// the indices to read, in order.
///
/// `has_header` says whether `names` came from the file (selection by name) or were generated
/// (selection by 0-based index or generated name).
pub(crate) fn select_columns(
    names: &[String],
    options: &LoadOptions,
    has_header: bool,
    source: &Path,
) -> Result<Vec<usize>> {
    let Some(wanted) = options.columns.as_deref() else {
        if !options.drop.is_empty() {
            return drop_columns(names, &options.drop, source);
        }
        if let (true, Some(prefer)) = (has_header, options.prefer.as_deref()) {
            let by_name: Option<Vec<usize>> =
                prefer.iter().map(|w| names.iter().position(|c| c == w)).collect();
            if let Some(indices) = by_name {
                return Ok(indices);
            }
        }
        return Ok((0..names.len()).collect());
    };
    if wanted.is_empty() {
        return Err(Error::setting("--columns", "", "select at least one column"));
    }

    let mut indices = Vec::with_capacity(wanted.len());
    for name in wanted {
        let j = find_column(names, name, has_header, source)?;
        if indices.contains(&j) {
            return Err(Error::setting("--columns", name, "column selected twice"));
        }
        indices.push(j);
    }
    Ok(indices)
}

/// Every column but those named in `drop` (header names, or 0-based indices).
fn drop_columns(names: &[String], drop: &[String], source: &Path) -> Result<Vec<usize>> {
    let mut dropped = Vec::with_capacity(drop.len());
    for name in drop {
        let name = name.trim();
        let by_name = names.iter().position(|c| c == name);
        let by_index = name.parse::<usize>().ok().filter(|&j| j < names.len());
        let Some(j) = by_name.or(by_index) else {
            let reason =
                format!("no such column in {}; available: {}", source.display(), names.join(", "));
            return Err(Error::setting("--drop", name, reason));
        };
        dropped.push(j);
    }
    let kept: Vec<usize> = (0..names.len()).filter(|j| !dropped.contains(j)).collect();
    if kept.is_empty() {
        let reason = format!("it leaves no column of {}", source.display());
        return Err(Error::setting("--drop", drop.join(","), reason));
    }
    Ok(kept)
}

fn find_column(names: &[String], name: &str, has_header: bool, source: &Path) -> Result<usize> {
    let name = name.trim();
    let matches: Vec<usize> = (0..names.len()).filter(|&j| names[j] == name).collect();
    match matches.as_slice() {
        [j] => return Ok(*j),
        [_, _, ..] => {
            let reason = format!("{} has {} columns of that name", source.display(), matches.len());
            return Err(Error::setting("--columns", name, reason));
        }
        [] => {}
    }

    if !has_header {
        if let Ok(j) = name.parse::<usize>() {
            if j < names.len() {
                return Ok(j);
            }
        }
    }

    let reason = if has_header && name.parse::<usize>().is_ok() {
        format!(
            "no such column in {}, whose header names its columns: select them by name (0-based \
             indices are for files without a header); available: {}",
            source.display(),
            names.join(", ")
        )
    } else if has_header {
        format!("no such column in {}; available: {}", source.display(), names.join(", "))
    } else {
        format!(
            "{} has no header, so select by 0-based index 0..{} (or x0..x{})",
            source.display(),
            names.len() - 1,
            names.len() - 1
        )
    };
    Err(Error::setting("--columns", name, reason))
}

/// A seeded held-out split into `(train, test)`.
///
/// `round(holdout_fraction * n)` rows, at least 1 and at most `n - 1`, chosen uniformly by a
/// shuffle with `rng`, go to `test`; both parts keep the file's row order. Needs `n >= 2` and
/// `0 < holdout_fraction < 1`.
pub fn split(
    dataset: &Dataset,
    holdout_fraction: f64,
    rng: &mut Rng,
) -> Result<(Dataset, Dataset)> {
    if !(holdout_fraction > 0.0 && holdout_fraction < 1.0) {
        return Err(Error::setting(
            "holdout fraction",
            holdout_fraction,
            "must lie strictly between 0 and 1",
        ));
    }
    if dataset.n < 2 {
        return Err(Error::setting("holdout fraction", holdout_fraction, "needs at least 2 rows"));
    }

    let n_test = ((holdout_fraction * dataset.n as f64).round() as usize).clamp(1, dataset.n - 1);
    let mut order: Vec<usize> = (0..dataset.n).collect();
    order.shuffle(rng);

    let (test, train) = order.split_at_mut(n_test);
    test.sort_unstable();
    train.sort_unstable();
    Ok((dataset.select_rows(train), dataset.select_rows(test)))
}

/// Writes `values` (row-major, `header.len()` columns) as CSV with a header row.
///
/// The file is written to a temporary file in the same directory, flushed to disk and then
/// renamed over `path`, so `path` is never left half-written. Values are written in Rust's
/// shortest round-trip form; a non-finite value is an error and nothing is written.
pub fn write_csv<S: AsRef<str>>(path: &Path, header: &[S], values: &[f64]) -> Result<()> {
    let bytes = csv_bytes(path, header, values)?;
    crate::atomic::write(path, &bytes).map_err(|e| Error::io(path, e))
}

/// The CSV text of a header and row-major values, as [`write_csv`] writes it (each value in
/// its shortest round-trip form, with an exponent for very large or small magnitudes). The
/// same checks as [`write_csv`]; errors name `path`.
pub fn csv_bytes<S: AsRef<str>>(path: &Path, header: &[S], values: &[f64]) -> Result<Vec<u8>> {
    check_rows(path, header.len(), values)?;
    let csv_error = |e: csv::Error| Error::io(path, std::io::Error::other(e));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header.iter().map(|h| h.as_ref())).map_err(csv_error)?;
    for row in values.chunks(header.len()) {
        writer.write_record(row.iter().map(|v| format!("{v:?}"))).map_err(csv_error)?;
    }
    writer.into_inner().map_err(|e| Error::io(path, e.into_error()))
}

/// Writes `values` (row-major, `d` columns) as a float64 `.npy` array of shape `(n, d)`, which
/// [`read_npy`] and `numpy.load` read back exactly; atomically and with the checks of
/// [`write_csv`].
pub fn write_npy(path: &Path, d: usize, values: &[f64]) -> Result<()> {
    let bytes = npy_bytes(path, d, values)?;
    crate::atomic::write(path, &bytes).map_err(|e| Error::io(path, e))
}

/// The bytes of the `.npy` file [`write_npy`] writes; errors name `path`.
pub fn npy_bytes(path: &Path, d: usize, values: &[f64]) -> Result<Vec<u8>> {
    use npyz::WriterBuilder as _;
    check_rows(path, d, values)?;
    let shape = [(values.len() / d) as u64, d as u64];
    let mut bytes = Vec::new();
    let io_error = |e| Error::io(path, e);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut bytes)
        .begin_nd()
        .map_err(io_error)?;
    writer.extend(values.iter().copied()).map_err(io_error)?;
    writer.finish().map_err(io_error)?;
    Ok(bytes)
}

/// Checks that `values` fill whole rows of `d >= 1` columns and are all finite.
fn check_rows(path: &Path, d: usize, values: &[f64]) -> Result<()> {
    if d == 0 || values.len() % d != 0 {
        return Err(Error::DimensionMismatch {
            context: format!("rows for {} ({} values)", path.display(), values.len()),
            expected: d,
            found: values.len(),
        });
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            context: format!(
                "row {}, column {} of the samples for {}",
                k / d,
                k % d,
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Stream};

    fn grid(n: usize, d: usize) -> Dataset {
        let values = (0..n * d).map(|k| k as f64).collect();
        Dataset::new(default_column_names(d), values).unwrap()
    }

    #[test]
    fn csv_values_round_trip_and_extreme_ones_get_an_exponent() {
        let values = [1.0, -0.25, 1e308, -2.5e-300, 0.1 + 0.2, 123456.5];
        let text = String::from_utf8(csv_bytes(Path::new("x.csv"), &["a", "b"], &values).unwrap())
            .unwrap();
        assert_eq!(text, "a,b\n1.0,-0.25\n1e308,-2.5e-300\n0.30000000000000004,123456.5\n");
        let parsed: Vec<f64> =
            text.lines().skip(1).flat_map(|l| l.split(',')).map(|v| v.parse().unwrap()).collect();
        assert_eq!(parsed, values);
    }

    #[test]
    fn npy_bytes_read_back_exactly_with_numpys_header() {
        let values = [1.0, -0.25, 1e308, -2.5e-300, 0.1 + 0.2, 123456.5];
        let bytes = npy_bytes(Path::new("x.npy"), 2, &values).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(
            header.contains("'descr': '<f8'") && header.contains("'shape': (3, 2,"),
            "{header}"
        );
        assert_eq!((10 + header_len) % 64, 0, "numpy aligns the data to 64 bytes");
        let back = read_npy(&bytes[..], Path::new("x.npy"), &LoadOptions::default()).unwrap();
        assert_eq!((back.n, back.d), (3, 2));
        assert_eq!(back.values, values);
        assert!(npy_bytes(Path::new("x.npy"), 2, &[1.0, f64::NAN]).is_err());
        assert!(npy_bytes(Path::new("x.npy"), 2, &[1.0]).is_err());
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let data = grid(50, 2);
        let (train_a, test_a) = split(&data, 0.2, &mut stream(3, Stream::Split)).unwrap();
        let (train_b, test_b) = split(&data, 0.2, &mut stream(3, Stream::Split)).unwrap();
        let (_, test_c) = split(&data, 0.2, &mut stream(4, Stream::Split)).unwrap();
        assert_eq!((train_a.n, test_a.n), (40, 10));
        assert_eq!(test_a, test_b);
        assert_eq!(train_a, train_b);
        assert_ne!(test_a, test_c);

        let mut firsts: Vec<f64> = train_a.column(0);
        firsts.extend(test_a.column(0));
        firsts.sort_by(f64::total_cmp);
        assert_eq!(firsts, data.column(0));
    }

    #[test]
    fn split_rejects_bad_fractions() {
        let data = grid(5, 1);
        let mut rng = stream(0, Stream::Split);
        for f in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(split(&data, f, &mut rng).is_err(), "fraction {f}");
        }
        assert!(split(&grid(1, 1), 0.5, &mut rng).is_err());
        let (train, test) = split(&data, 0.01, &mut rng).unwrap();
        assert_eq!((train.n, test.n), (4, 1));
    }

    #[test]
    fn dataset_new_rejects_ragged_and_non_finite() {
        assert!(Dataset::new(default_column_names(2), vec![1.0, 2.0, 3.0]).is_err());
        assert!(Dataset::new(default_column_names(2), vec![1.0, f64::NAN]).is_err());
        assert!(Dataset::new(vec![], vec![]).is_err());
    }
}
