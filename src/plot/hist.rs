//! Density-normalised histograms of 1D samples, overlaid, with the exact density in black.
//!
//! With `B` bins of width `w = (hi - lo) / B` over `[lo, hi]`, bin `b` of a set of `n` samples
//! has height `count_b / (n w)`: the histogram estimates the density p(x) itself, comparable
//! with the exact curve. Samples outside `[lo, hi]` are not counted but still count in `n`, so
//! the bars show how much of the mass fell inside the window. A sample equal to `hi` belongs to
//! the last bin.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{render, set_colour, CHART_SIZE, TITLE_SIZE, TRUTH};
use super::layout::{draw_legend, draw_mesh, linear_chart, split_for_legend, Entry, Swatch, FULL};
use super::{check, Labels, Region};
use crate::{Error, Result};

/// Points at which an exact density is evaluated across the bin range.
const CURVE_POINTS: usize = 400;

/// One labelled set of 1D samples (e.g. "Euler, 8 steps" or "data").
#[derive(Clone, Copy, Debug)]
pub struct Samples1d<'a> {
    /// Legend label.
    pub label: &'a str,
    /// The samples.
    pub values: &'a [f64],
}

/// An exact density p(x), drawn in black over the histograms.
#[derive(Clone, Copy)]
pub struct Density<'a> {
    /// Legend label (e.g. "exact density").
    pub label: &'a str,
    /// The density; it must be finite on the bin range.
    pub p: &'a dyn Fn(f64) -> f64,
}

/// How to bin: `count` equal bins over `range`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bins {
    /// Number of bins, at least 1.
    pub count: usize,
    /// Low and high edge of the binned window.
    pub range: (f64, f64),
}

/// Draws density-normalised histograms of `sets` (translucent bars with a solid step outline,
/// one palette colour each) and, optionally, the exact `density` in black, with a legend.
///
/// Errors: no sets, an empty or non-finite set, no bins, an empty range, or a density that is
/// not finite somewhere on the range.
pub fn histogram_1d(
    path: impl AsRef<Path>,
    labels: &Labels,
    sets: &[Samples1d],
    bins: &Bins,
    density: Option<&Density>,
) -> Result<()> {
    let path = path.as_ref();
    check_inputs(sets, bins)?;

    let heights: Vec<Vec<f64>> = sets.iter().map(|s| density_histogram(s.values, bins)).collect();
    let curve = density.map(|d| density_curve(d, bins.range)).transpose()?;
    let tallest = heights.iter().flatten().chain(curve.iter().flatten().map(|(_, p)| p));
    let y_max = tallest.fold(0.0f64, |m, &h| m.max(h));
    let region = Region { x: bins.range, y: (0.0, if y_max > 0.0 { 1.08 * y_max } else { 1.0 }) };

    let mut entries: Vec<Entry> = (sets.iter().enumerate())
        .map(|(i, s)| Entry { label: s.label.to_string(), swatch: Swatch::Bar(set_colour(i)) })
        .collect();
    if let Some(d) = density {
        entries.push(Entry { label: d.label.to_string(), swatch: Swatch::Line(TRUTH) });
    }

    render(path, CHART_SIZE, |root| {
        let (area, legend) = split_for_legend(root, &entries)?;
        let mut chart = linear_chart(&area, labels.title, TITLE_SIZE, &region, FULL)?;
        draw_mesh(&mut chart, labels.x, labels.y)?;

        let (lo, width) = (bins.range.0, bin_width(bins));
        for (i, h) in heights.iter().enumerate() {
            let colour = set_colour(i);
            let bar = |(b, &d): (usize, &f64)| {
                let x0 = lo + b as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, d)], colour.mix(0.25).filled())
            };
            chart.draw_series(h.iter().enumerate().map(bar))?;
            chart.draw_series(LineSeries::new(step_outline(h, bins), colour.stroke_width(2)))?;
        }
        if let Some(curve) = &curve {
            chart.draw_series(LineSeries::new(curve.iter().copied(), TRUTH.stroke_width(2)))?;
        }

        if let Some(legend) = legend {
            draw_legend(&legend, &entries, 60)?;
        }
        Ok(())
    })
}

/// Validates the sets and the binning.
fn check_inputs(sets: &[Samples1d], bins: &Bins) -> Result<()> {
    check::non_empty("histogram sets", sets.len())?;
    for s in sets {
        check::non_empty(&format!("histogram set '{}'", s.label), s.values.len())?;
        check::finite(&format!("histogram set '{}'", s.label), s.values)?;
    }
    if bins.count == 0 {
        return Err(Error::setting("bins", 0, "a histogram needs at least one bin"));
    }
    check::range("bin range", bins.range)
}

fn bin_width(bins: &Bins) -> f64 {
    (bins.range.1 - bins.range.0) / bins.count as f64
}

/// Bin heights `count_b / (n w)` of finite `values` (see the module docs).
pub(crate) fn density_histogram(values: &[f64], bins: &Bins) -> Vec<f64> {
    let (lo, hi) = bins.range;
    let width = bin_width(bins);
    let mut counts = vec![0usize; bins.count];
    for &v in values.iter().filter(|&&v| (lo..=hi).contains(&v)) {
        let b = (((v - lo) / width) as usize).min(bins.count - 1);
        counts[b] += 1;
    }

    let scale = 1.0 / (values.len() as f64 * width);
    counts.iter().map(|&c| c as f64 * scale).collect()
}

/// The outline of the bars: up from 0 at `lo`, across each bin, down to 0 at `hi`.
pub(crate) fn step_outline(heights: &[f64], bins: &Bins) -> Vec<(f64, f64)> {
    let (lo, width) = (bins.range.0, bin_width(bins));
    let mut points = Vec::with_capacity(2 * heights.len() + 2);
    points.push((lo, 0.0));
    for (b, &h) in heights.iter().enumerate() {
        points.push((lo + b as f64 * width, h));
        points.push((lo + (b + 1) as f64 * width, h));
    }
    points.push((bins.range.1, 0.0));
    points
}

/// The density evaluated on `CURVE_POINTS` evenly spaced points of `range`.
fn density_curve(density: &Density, (lo, hi): (f64, f64)) -> Result<Vec<(f64, f64)>> {
    let step = (hi - lo) / (CURVE_POINTS - 1) as f64;
    let mut curve = Vec::with_capacity(CURVE_POINTS);
    for i in 0..CURVE_POINTS {
        let x = lo + i as f64 * step;
        let p = (density.p)(x);
        if !p.is_finite() {
            let context = format!("density '{}' at x = {x}: p = {p}", density.label);
            return Err(Error::NonFinite { context });
        }
        curve.push((x, p));
    }
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_integrates_to_the_fraction_inside_the_window() {
        let bins = Bins { count: 4, range: (0.0, 2.0) };
        let values = [0.1, 0.6, 0.7, 1.9, 2.0, 5.0, -1.0, 1.2];
        let h = density_histogram(&values, &bins);
        // Widths 0.5, n = 8: bins hold {0.1}, {0.6, 0.7}, {1.2}, {1.9, 2.0}.
        assert_eq!(h, vec![0.25, 0.5, 0.25, 0.5]);
        let mass: f64 = h.iter().map(|d| d * 0.5).sum();
        assert!((mass - 6.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn outline_steps_over_every_bin() {
        let bins = Bins { count: 2, range: (-1.0, 1.0) };
        let outline = step_outline(&[0.5, 2.0], &bins);
        let expected = [(-1.0, 0.0), (-1.0, 0.5), (0.0, 0.5), (0.0, 2.0), (1.0, 2.0), (1.0, 0.0)];
        assert_eq!(outline, expected);
    }
}
