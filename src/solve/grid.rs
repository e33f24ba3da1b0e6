//! Time grids: uniform grids that end exactly at t1, validation of user grids and record times,
//! and the merge of record times into a fixed-step grid.

use crate::{Error, Result};

/// Record times closer than this fraction of |t1 - t0| to an interior grid time replace that
/// time instead of splitting its step (so `0.3` lands on a uniform grid time computed as
/// `0.30000000000000004` without an extra, tiny step).
const SNAP_FRACTION: f64 = 1e-12;

/// A fixed-step grid with the indices of its times whose states are recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    /// Strictly monotonic times, first t0, last t1.
    pub times: Vec<f64>,
    /// `record[k]` is true when the state at `times[k]` is recorded.
    pub record: Vec<bool>,
}

/// Checks that t0 and t1 are finite and distinct.
pub(crate) fn validate_span(t0: f64, t1: f64) -> Result<()> {
    if !t0.is_finite() {
        return Err(Error::setting("t0", t0, "must be finite"));
    }
    if !t1.is_finite() {
        return Err(Error::setting("t1", t1, "must be finite"));
    }
    if t0 == t1 {
        return Err(Error::setting("t1", t1, "must differ from t0 (an empty time span)"));
    }
    Ok(())
}

/// t_k = t0 + (t1 - t0) k / steps for k = 0..=steps, with the last time set to exactly t1.
pub(crate) fn uniform(t0: f64, t1: f64, steps: usize) -> Result<Vec<f64>> {
    if steps == 0 {
        return Err(Error::setting("steps", steps, "must be at least 1"));
    }
    let span = t1 - t0;
    let mut times: Vec<f64> =
        (0..=steps).map(|k| t0 + span * (k as f64) / (steps as f64)).collect();
    times[steps] = t1;
    check_monotonic("time grid", &times, t0, t1)?;
    Ok(times)
}

/// Checks a user grid: at least two times, first exactly t0, last exactly t1, strictly
/// monotonic in the direction from t0 to t1, all finite.
pub(crate) fn validate_explicit(times: &[f64], t0: f64, t1: f64) -> Result<()> {
    if times.len() < 2 {
        return Err(Error::setting(
            "time grid",
            format!("{times:?}"),
            "needs at least two times (t0 and t1)",
        ));
    }
    if times[0] != t0 {
        let reason = format!("must start at t0 = {t0}");
        return Err(Error::setting("time grid", format!("first time {}", times[0]), reason));
    }
    let last = times[times.len() - 1];
    if last != t1 {
        let reason = format!("must end at t1 = {t1}");
        return Err(Error::setting("time grid", format!("last time {last}"), reason));
    }
    check_monotonic("time grid", times, t0, t1)
}

/// Checks record times: finite, within [t0, t1], strictly monotonic from t0 towards t1.
pub(crate) fn validate_record_times(times: &[f64], t0: f64, t1: f64) -> Result<()> {
    let (lo, hi) = (t0.min(t1), t0.max(t1));
    for (k, &t) in times.iter().enumerate() {
        if !(t >= lo && t <= hi) {
            let reason = format!("must lie within the solve's span [{lo}, {hi}]");
            return Err(Error::setting(format!("record time #{k}"), t, reason));
        }
    }
    check_monotonic("record times", times, t0, t1)
}

/// Checks that `times` strictly increase if t1 > t0 and strictly decrease if t1 < t0.
fn check_monotonic(name: &str, times: &[f64], t0: f64, t1: f64) -> Result<()> {
    let forward = t1 > t0;
    for (k, pair) in times.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        if !a.is_finite() || !b.is_finite() {
            return Err(Error::setting(format!("{name} #{k}"), format!("{a}, {b}"), "not finite"));
        }
        let ordered = if forward { b > a } else { b < a };
        if !ordered {
            let direction = if forward { "increasing" } else { "decreasing" };
            let reason = format!("must be strictly {direction} from t0 = {t0} to t1 = {t1}");
            let value = format!("{a} then {b} at positions {k}, {}", k + 1);
            return Err(Error::setting(name, value, reason));
        }
    }
    Ok(())
}

/// Merges validated record times into a validated grid.
///
/// A record time equal to a grid time marks it; one within `SNAP_FRACTION * |t1 - t0|` of an
/// interior grid time (and strictly between its neighbours) replaces that time; any other is
/// inserted, splitting one step in two.
pub(crate) fn merge(grid: Vec<f64>, record_times: &[f64]) -> Grid {
    let last = grid.len() - 1;
    let tolerance = SNAP_FRACTION * (grid[last] - grid[0]).abs();
    let forward = grid[last] > grid[0];
    let before = |a: f64, b: f64| if forward { a < b } else { a > b };
    let snaps = |k: usize, tau: f64| {
        let interior = k > 0 && k < last;
        interior
            && (grid[k] - tau).abs() <= tolerance
            && before(grid[k - 1], tau)
            && before(tau, grid[k + 1])
    };

    let mut times = Vec::with_capacity(grid.len() + record_times.len());
    let mut record = Vec::with_capacity(grid.len() + record_times.len());
    let mut next = 0;
    for &tau in record_times {
        while next <= last && before(grid[next], tau) && !snaps(next, tau) {
            times.push(grid[next]);
            record.push(false);
            next += 1;
        }
        if next <= last && (grid[next] == tau || snaps(next, tau)) {
            next += 1;
        }
        times.push(tau);
        record.push(true);
    }
    times.extend_from_slice(&grid[next..]);
    record.resize(times.len(), false);
    Grid { times, record }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_grid_ends_exactly_at_t1_in_both_directions() {
        for (t0, t1, steps) in [(0.0, 1.0, 3), (0.1, 0.7, 7), (1.0, 0.0, 10), (0.7, -0.3, 1)] {
            let times = uniform(t0, t1, steps).unwrap();
            assert_eq!(times.len(), steps + 1);
            assert_eq!(times[0], t0);
            assert_eq!(times[steps], t1);
        }
    }

    #[test]
    fn explicit_grids_are_validated() {
        assert!(validate_explicit(&[0.0, 0.5, 1.0], 0.0, 1.0).is_ok());
        assert!(validate_explicit(&[1.0, 0.5, 0.0], 1.0, 0.0).is_ok());
        assert!(validate_explicit(&[0.0], 0.0, 1.0).is_err());
        assert!(validate_explicit(&[0.1, 0.5, 1.0], 0.0, 1.0).is_err());
        assert!(validate_explicit(&[0.0, 0.5, 0.9], 0.0, 1.0).is_err());
        assert!(validate_explicit(&[0.0, 0.5, 0.5, 1.0], 0.0, 1.0).is_err());
        assert!(validate_explicit(&[0.0, 0.6, 0.5, 1.0], 0.0, 1.0).is_err());
        assert!(validate_explicit(&[0.0, f64::NAN, 1.0], 0.0, 1.0).is_err());
        assert!(validate_explicit(&[1.0, 0.2, 0.5, 0.0], 1.0, 0.0).is_err());
    }

    #[test]
    fn record_times_are_validated() {
        assert!(validate_record_times(&[0.0, 0.5, 1.0], 0.0, 1.0).is_ok());
        assert!(validate_record_times(&[0.9, 0.5], 1.0, 0.0).is_ok());
        assert!(validate_record_times(&[0.5, 0.9], 1.0, 0.0).is_err());
        assert!(validate_record_times(&[1.5], 0.0, 1.0).is_err());
        assert!(validate_record_times(&[f64::NAN], 0.0, 1.0).is_err());
        assert!(validate_record_times(&[0.2, 0.2], 0.0, 1.0).is_err());
    }

    #[test]
    fn record_times_on_the_grid_mark_it_and_others_split_a_step() {
        let grid = uniform(0.0, 1.0, 10).unwrap();
        let merged = merge(grid.clone(), &[0.0, 0.3, 0.35, 1.0]);
        assert_eq!(merged.times.len(), 12);
        assert_eq!(merged.times[3], 0.3);
        assert_eq!(merged.times[4], 0.35);
        assert_eq!(merged.times[11], 1.0);
        let marked: Vec<usize> = (0..12).filter(|&k| merged.record[k]).collect();
        assert_eq!(marked, vec![0, 3, 4, 11]);

        let near = 0.3 + 1e-15;
        let snapped = merge(grid, &[near]);
        assert_eq!(snapped.times.len(), 11);
        assert_eq!(snapped.times[3], near);
        assert!(snapped.record[3]);
    }

    #[test]
    fn merged_reverse_grid_stays_strictly_decreasing() {
        let grid = uniform(1.0, 0.0, 4).unwrap();
        let merged = merge(grid, &[0.9, 0.5, 0.1]);
        assert_eq!(merged.times, vec![1.0, 0.9, 0.75, 0.5, 0.25, 0.1, 0.0]);
        assert_eq!(merged.record, vec![false, true, false, true, false, true, false]);
    }
}
