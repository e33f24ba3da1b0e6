//! The library's one error type.
//!
//! Every variant carries what a user needs to fix the problem: the file, the line and column,
//! the flag or setting, and the offending value. The binary wraps these with `anyhow` context;
//! the library itself never panics on bad input and never prints.

use std::path::PathBuf;

/// Convenient alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in flowmatching.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error while reading or writing a file.
    #[error("{path}: {cause}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// A data file could not be parsed. `line` and `column` are 1-based; 0 means "not known".
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// 1-based line (for CSV) or 0.
        line: usize,
        /// 1-based column (field) or 0.
        column: usize,
        /// What was wrong.
        message: String,
    },

    /// A checkpoint could not be read, written or used.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },

    /// A setting (a flag, a config field, a function argument) has a value that cannot be used.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidSetting {
        /// Name of the setting, as the user knows it (e.g. `--steps`, `weights`).
        name: String,
        /// The value that was given.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// Two things that must agree in dimension do not.
    #[error("dimension mismatch in {context}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// Where the mismatch was found.
        context: String,
        /// The dimension that was expected.
        expected: usize,
        /// The dimension that was found.
        found: usize,
    },

    /// A computation produced a NaN or an infinity.
    #[error("non-finite value in {context}")]
    NonFinite {
        /// What was being computed.
        context: String,
    },

    /// An adaptive ODE solve needed more steps than allowed.
    #[error(
        "ODE solver hit its cap of {max_steps} steps at t = {t} (raise --max-steps or loosen \
         --rtol/--atol)"
    )]
    StepLimit {
        /// The cap that was hit.
        max_steps: usize,
        /// The time reached when the cap was hit.
        t: f64,
    },

    /// A plot could not be drawn (the drawing library failed; file errors are [`Error::Io`]).
    #[error("plot {path}: {message}")]
    Plot {
        /// The image file being drawn.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// A data file is unusable as a whole, or at a place that has no line and column (an empty
    /// file, a truncated `.npy`, a bad value at a numpy index given in the message).
    #[error("{path}: {message}")]
    DataFile {
        /// The file being read.
        path: PathBuf,
        /// What was wrong, with the place in the file when there is one.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidSetting`].
    pub fn setting(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidSetting { name: name.into(), value: value.to_string(), reason: reason.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), cause: source }
    }
}
