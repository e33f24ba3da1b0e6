//! Corner plots for d > 2: every pair of the first k coordinates as a scatter below the
//! diagonal, each coordinate's density histogram on the diagonal, sets overlaid in their colours.
//!
//! Cell (row r, column c) of the k x k grid shows coordinate c across and coordinate r up when
//! r > c, the histogram of coordinate r when r = c, and nothing above the diagonal except the
//! legend in the top-right corner. Coordinate i spans all sets' values with 5 % padding, the same
//! in every cell, so columns line up.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{render, set_colour, text, tick_label, DrawResult};
use super::canvas::{LABEL_SIZE, TICK_SIZE, TITLE_SIZE};
use super::hist::{density_histogram, step_outline};
use super::layout::{draw_legend, extent, padded, titled, Chart, Entry, Swatch};
use super::panels::dot_opacity;
use super::{check, Bins, Region};
use crate::{Error, Result};

/// Side of one cell, in pixels.
const CELL: u32 = 200;

/// The largest k drawn.
const MAX_CORNER_DIMS: usize = 5;

/// One labelled set of d-dimensional points, row-major `n * d`.
#[derive(Clone, Copy, Debug)]
pub struct CornerSet<'a> {
    /// Legend label (e.g. "data" or "samples").
    pub label: &'a str,
    /// The points, row-major.
    pub points: &'a [f64],
}

/// Draws the corner plot of the first `k` of `dim` coordinates of `sets` (see the module docs),
/// with `bins` histogram bins on the diagonal and "x1" to "xk" as axis descriptions. The image
/// is `200 k + 80` pixels square (plus 40 for a title).
///
/// Errors: `k` outside `2..=5` or above `dim`, no sets, an empty set, a length that is not a
/// multiple of `dim`, a NaN or infinity, or no bins.
pub fn corner(
    path: impl AsRef<Path>,
    title: &str,
    sets: &[CornerSet],
    dim: usize,
    k: usize,
    bins: usize,
) -> Result<()> {
    let path = path.as_ref();
    check_inputs(sets, dim, k, bins)?;

    let ranges: Vec<(f64, f64)> = (0..k).map(|i| coordinate_range(sets, dim, i)).collect();
    let entries: Vec<Entry> = (sets.iter().enumerate())
        .map(|(i, s)| Entry { label: s.label.to_string(), swatch: Swatch::Dot(set_colour(i)) })
        .collect();
    let side = CELL * k as u32 + 80;
    let title_height = if title.is_empty() { 0 } else { 40 };

    render(path, (side, side + title_height), |root| {
        let root = titled(root, title, TITLE_SIZE)?;
        let grid = root.margin(0, 0, 0, 10).split_evenly((k, k));
        for r in 0..k {
            for c in 0..k {
                let area = &grid[r * k + c];
                if r == c {
                    draw_diagonal(area, sets, dim, c, bins, ranges[c], k)?;
                } else if r > c {
                    draw_pair(area, sets, dim, (c, r), (ranges[c], ranges[r]), k)?;
                } else if (r, c) == (0, k - 1) {
                    draw_legend(area, &entries, 20)?;
                }
            }
        }
        Ok(())
    })
}

fn check_inputs(sets: &[CornerSet], dim: usize, k: usize, bins: usize) -> Result<()> {
    if !(2..=MAX_CORNER_DIMS).contains(&k) {
        return Err(Error::setting("k", k, "a corner plot shows 2 to 5 coordinates"));
    }
    if k > dim {
        return Err(Error::setting("k", k, format!("the points have only d = {dim} coordinates")));
    }
    if bins == 0 {
        return Err(Error::setting("bins", 0, "a histogram needs at least one bin"));
    }
    check::non_empty("corner sets", sets.len())?;
    for s in sets {
        let what = format!("corner set '{}'", s.label);
        let n = check::rows(&what, s.points, dim)?;
        check::non_empty(&what, n)?;
        check::finite(&what, s.points)?;
    }
    Ok(())
}

/// The padded range of coordinate `i` over all sets.
fn coordinate_range(sets: &[CornerSet], dim: usize, i: usize) -> (f64, f64) {
    let values = sets.iter().flat_map(|s| s.points.iter().skip(i).step_by(dim).copied());
    padded(extent(values).unwrap_or((-1.0, 1.0)), 0.05)
}

/// Coordinate `i` of every point of `points`.
fn coordinate(points: &[f64], dim: usize, i: usize) -> Vec<f64> {
    points.iter().skip(i).step_by(dim).copied().collect()
}

/// Builds the chart of one cell. Tick labels and descriptions only on the outer edges: x on the
/// bottom row, y on the left column (not on a diagonal cell, whose y is a density).
fn cell_chart<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    region: &Region,
    (c, r): (usize, usize),
    k: usize,
) -> std::result::Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin(4)
        .x_label_area_size(if r == k - 1 { 44 } else { 0 })
        .y_label_area_size(if c == 0 { 56 } else { 0 })
        .build_cartesian_2d(region.x.0..region.x.1, region.y.0..region.y.1)?;

    let mut mesh = chart.configure_mesh();
    mesh.label_style(text(TICK_SIZE - 2.0))
        .axis_desc_style(text(LABEL_SIZE - 2.0))
        .light_line_style(WHITE.mix(0.0))
        .x_labels(4)
        .y_labels(5)
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label);
    if r == k - 1 {
        mesh.x_desc(format!("x{}", c + 1));
    }
    if c == 0 && r != c {
        mesh.y_desc(format!("x{}", r + 1));
    }
    let blank = |_: &f64| String::new();
    if r == c {
        mesh.y_label_formatter(&blank);
    }
    mesh.draw()?;
    Ok(chart)
}

/// The histograms of coordinate `i`, one step outline per set.
fn draw_diagonal(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    sets: &[CornerSet],
    dim: usize,
    i: usize,
    bins: usize,
    range: (f64, f64),
    k: usize,
) -> DrawResult {
    let bins = Bins { count: bins, range };
    let heights: Vec<Vec<f64>> =
        sets.iter().map(|s| density_histogram(&coordinate(s.points, dim, i), &bins)).collect();
    let top = heights.iter().flatten().fold(0.0f64, |m, &h| m.max(h));
    let region = Region { x: range, y: (0.0, if top > 0.0 { 1.1 * top } else { 1.0 }) };

    let mut chart = cell_chart(area, &region, (i, i), k)?;
    for (j, h) in heights.iter().enumerate() {
        let colour = set_colour(j);
        let outline = step_outline(h, &bins);
        chart.draw_series(AreaSeries::new(outline.iter().copied(), 0.0, colour.mix(0.2)))?;
        chart.draw_series(LineSeries::new(outline, colour.stroke_width(2)))?;
    }
    Ok(())
}

/// The scatter of coordinate `x` across against coordinate `y` up, sets in order.
fn draw_pair(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    sets: &[CornerSet],
    dim: usize,
    (x, y): (usize, usize),
    (x_range, y_range): ((f64, f64), (f64, f64)),
    k: usize,
) -> DrawResult {
    let mut chart = cell_chart(area, &Region { x: x_range, y: y_range }, (x, y), k)?;
    for (j, s) in sets.iter().enumerate() {
        let style = set_colour(j).mix(dot_opacity(s.points.len() / dim)).filled();
        let dots = s.points.chunks_exact(dim).map(|p| Circle::new((p[x], p[y]), 1, style));
        chart.draw_series(dots)?;
    }
    Ok(())
}
