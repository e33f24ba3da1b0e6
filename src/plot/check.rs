//! Validation of plot inputs: every plot rejects empty data, NaN and infinities, mismatched
//! lengths and empty ranges before it draws anything.

use super::Region;
use crate::{Error, Result};

/// Fails when a list that must hold something is empty.
pub(crate) fn non_empty(name: &str, len: usize) -> Result<()> {
    if len == 0 {
        return Err(Error::setting(name, "[]", "nothing to plot"));
    }
    Ok(())
}

/// Fails on the first NaN or infinity in `values`, naming `what` and the index.
pub(crate) fn finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite { context: format!("{what}[{i}] = {}", values[i]) }),
    }
}

/// Fails unless `range` is finite with `range.0 < range.1`.
pub(crate) fn range(name: &str, range: (f64, f64)) -> Result<()> {
    let (lo, hi) = range;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(Error::setting(
            name,
            format!("({lo}, {hi})"),
            "a range needs finite ends with low < high",
        ));
    }
    Ok(())
}

/// Fails unless both sides of `region` are valid ranges.
pub(crate) fn region(name: &str, region: &Region) -> Result<()> {
    range(&format!("{name}.x"), region.x)?;
    range(&format!("{name}.y"), region.y)
}

/// Fails unless `found == expected`.
pub(crate) fn length(context: &str, expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::DimensionMismatch { context: context.to_string(), expected, found });
    }
    Ok(())
}

/// Checks that `values` holds whole rows of `dim` values and returns the number of rows.
pub(crate) fn rows(what: &str, values: &[f64], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(Error::setting("dim", 0, "a point needs at least one coordinate"));
    }
    let n = values.len() / dim;
    if values.len() % dim != 0 {
        let context = format!("{what}: length must be a multiple of d = {dim}");
        return Err(Error::DimensionMismatch {
            context,
            expected: (n + 1) * dim,
            found: values.len(),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_names_the_first_bad_index() {
        let err = finite("set 'a'", &[1.0, f64::NAN, f64::INFINITY]).unwrap_err();
        assert_eq!(err.to_string(), "non-finite value in set 'a'[1] = NaN");
        assert!(finite("x", &[0.0, -1e300]).is_ok());
    }

    #[test]
    fn rows_counts_whole_rows_and_rejects_ragged_data() {
        assert_eq!(rows("p", &[0.0; 6], 2).unwrap(), 3);
        assert_eq!(rows("p", &[], 2).unwrap(), 0);
        assert!(matches!(rows("p", &[0.0; 5], 2), Err(Error::DimensionMismatch { .. })));
        assert!(rows("p", &[0.0; 4], 0).is_err());
    }

    #[test]
    fn ranges_need_finite_increasing_ends() {
        assert!(range("r", (0.0, 1.0)).is_ok());
        assert!(range("r", (1.0, 1.0)).is_err());
        assert!(range("r", (0.0, f64::NAN)).is_err());
        assert!(range("r", (2.0, 1.0)).is_err());
    }
}
