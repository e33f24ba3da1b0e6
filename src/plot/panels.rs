//! 2D point sets side by side on shared axes: scatters (e.g. data beside samples, optionally
//! over shaded regions such as the valid cells of a checkerboard) and density heatmaps.
//!
//! Points are row-major `(x, y)` pairs, `points.len() = 2 n`. The heatmap of a set of n points
//! on a `B x B` grid over a region shows `count_cell / (n * cell area)`, an estimate of the
//! density; all panels share one colour scale (viridis, 0 to the largest cell over all panels).

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{render, set_colour, text, viridis, Area, DrawResult, LABEL_SIZE};
use super::canvas::{tick_label, TICK_SIZE, TITLE_SIZE};
use super::layout::{draw_mesh, linear_chart, region_of, titled, Margins};
use super::{check, Region};
use crate::{Error, Result};

/// Size of one panel, in pixels.
pub(crate) const PANEL_SIZE: (u32, u32) = (460, 500);

/// Margins of a panel: tick labels but no axis descriptions.
pub(crate) const PANEL_MARGINS: Margins = Margins { margin: 12, x_labels: 36, y_labels: 52 };

/// Width of the colour bar beside heatmaps.
const COLOUR_BAR_WIDTH: u32 = 110;

/// One panel of 2D points.
#[derive(Clone, Copy, Debug)]
pub struct PointPanel<'a> {
    /// Panel title (e.g. "data" or "samples, Heun 16 steps").
    pub title: &'a str,
    /// Row-major `(x, y)` pairs.
    pub points: &'a [f64],
}

/// Draws each panel's points as small translucent dots (one palette colour per panel), panels
/// side by side under `title`, every panel over the same `region` (by default, all points of
/// all panels with 5 % padding; points outside a given region are not drawn). Each region in
/// `shaded` is filled light grey under the points of every panel, e.g. the cells a checkerboard
/// puts its mass on.
///
/// The image is `460 * panels` x 500 pixels (plus 40 for a title).
///
/// Errors: no panels, an empty panel, an odd number of coordinates, a NaN or infinity, or an
/// empty `region` or shaded region.
pub fn scatter_2d(
    path: impl AsRef<Path>,
    title: &str,
    panels: &[PointPanel],
    region: Option<Region>,
    shaded: &[Region],
) -> Result<()> {
    let path = path.as_ref();
    let region = check_panels(panels, region)?;
    for (i, s) in shaded.iter().enumerate() {
        check::region(&format!("shaded region {i}"), s)?;
    }

    render(path, figure_size(panels.len(), title, 0), |root| {
        let root = titled(root, title, TITLE_SIZE)?;
        for (j, (area, panel)) in
            root.split_evenly((1, panels.len())).iter().zip(panels).enumerate()
        {
            let mut chart = linear_chart(area, panel.title, LABEL_SIZE, &region, PANEL_MARGINS)?;
            draw_mesh(&mut chart, "", "")?;

            let shade = |r: &Region| {
                let clip = |(lo, hi): (f64, f64), (a, b): (f64, f64)| (lo.max(a), hi.min(b));
                let (x, y) = (clip(r.x, region.x), clip(r.y, region.y));
                Rectangle::new([(x.0, y.0), (x.1, y.1)], RGBColor(200, 200, 200).mix(0.6).filled())
            };
            chart.draw_series(shaded.iter().filter(|r| overlaps(r, &region)).map(shade))?;

            let style = set_colour(j).mix(dot_opacity(panel.points.len() / 2)).filled();
            let inside = panel.points.chunks_exact(2).filter(|p| contains(&region, p[0], p[1]));
            chart.draw_series(inside.map(|p| Circle::new((p[0], p[1]), 1, style)))?;
        }
        Ok(())
    })
}

/// Draws each panel as a `bins x bins` density heatmap over the shared `region` (by default,
/// all points with 5 % padding; points outside it are not counted, but every point counts in
/// n), with one colour bar for all panels on the right.
///
/// Errors: as [`scatter_2d`], and no bins.
pub fn heatmap_2d(
    path: impl AsRef<Path>,
    title: &str,
    panels: &[PointPanel],
    bins: usize,
    region: Option<Region>,
) -> Result<()> {
    let path = path.as_ref();
    let region = check_panels(panels, region)?;
    if bins == 0 {
        return Err(Error::setting("bins", 0, "a heatmap needs at least one bin a side"));
    }

    let grids: Vec<Vec<f64>> =
        panels.iter().map(|p| density_grid(p.points, bins, &region)).collect();
    let top = grids.iter().flatten().fold(0.0f64, |m, &d| m.max(d));
    let top = if top > 0.0 { top } else { 1.0 };

    render(path, figure_size(panels.len(), title, COLOUR_BAR_WIDTH), |root| {
        let root = titled(root, title, TITLE_SIZE)?;
        let width = root.dim_in_pixel().0;
        let (maps, bar) = root.split_horizontally(width - COLOUR_BAR_WIDTH);
        for (area, (panel, grid)) in
            maps.split_evenly((1, panels.len())).iter().zip(panels.iter().zip(&grids))
        {
            let mut chart = linear_chart(area, panel.title, LABEL_SIZE, &region, PANEL_MARGINS)?;
            let (dx, dy) = cell_size(&region, bins);
            let cell = |(c, &d): (usize, &f64)| {
                let (x0, y0) =
                    (region.x.0 + (c % bins) as f64 * dx, region.y.0 + (c / bins) as f64 * dy);
                Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], viridis(d / top).filled())
            };
            chart.draw_series(grid.iter().enumerate().map(cell))?;
            draw_mesh(&mut chart, "", "")?;
        }
        draw_colour_bar(&bar, top)
    })
}

/// Validates the panels and returns the region to draw: the given one, or all points padded.
fn check_panels(panels: &[PointPanel], region: Option<Region>) -> Result<Region> {
    check::non_empty("point panels", panels.len())?;
    for p in panels {
        let what = format!("point panel '{}'", p.title);
        let n = check::rows(&what, p.points, 2)?;
        check::non_empty(&what, n)?;
        check::finite(&what, p.points)?;
    }
    match region {
        Some(r) => check::region("region", &r).map(|()| r),
        None => Ok(region_of(&panels.iter().map(|p| p.points).collect::<Vec<_>>())),
    }
}

/// Image size for `n` panels, a title if any, and `extra` pixels on the right.
pub(crate) fn figure_size(n: usize, title: &str, extra: u32) -> (u32, u32) {
    let title_height = if title.is_empty() { 0 } else { 40 };
    (PANEL_SIZE.0 * n as u32 + extra, PANEL_SIZE.1 + title_height)
}

/// Dot opacity for `n` points: 0.8 for a few hundred, down to 0.15 for tens of thousands.
pub(crate) fn dot_opacity(n: usize) -> f64 {
    (400.0 / n as f64).clamp(0.15, 0.8)
}

pub(crate) fn contains(region: &Region, x: f64, y: f64) -> bool {
    (region.x.0..=region.x.1).contains(&x) && (region.y.0..=region.y.1).contains(&y)
}

fn overlaps(a: &Region, b: &Region) -> bool {
    a.x.0 < b.x.1 && b.x.0 < a.x.1 && a.y.0 < b.y.1 && b.y.0 < a.y.1
}

fn cell_size(region: &Region, bins: usize) -> (f64, f64) {
    ((region.x.1 - region.x.0) / bins as f64, (region.y.1 - region.y.0) / bins as f64)
}

/// Densities `count / (n * cell area)` on a `bins x bins` grid, row-major from the bottom-left
/// cell: cell `(row, column)` is at index `row * bins + column`.
fn density_grid(points: &[f64], bins: usize, region: &Region) -> Vec<f64> {
    let (dx, dy) = cell_size(region, bins);
    let mut counts = vec![0usize; bins * bins];
    for p in points.chunks_exact(2).filter(|p| contains(region, p[0], p[1])) {
        let column = (((p[0] - region.x.0) / dx) as usize).min(bins - 1);
        let row = (((p[1] - region.y.0) / dy) as usize).min(bins - 1);
        counts[row * bins + column] += 1;
    }

    let n = (points.len() / 2) as f64;
    counts.iter().map(|&c| c as f64 / (n * dx * dy)).collect()
}

/// A vertical viridis bar from 0 to `top` with its scale, titled "density".
fn draw_colour_bar(area: &Area, top: f64) -> DrawResult {
    let area = area.margin(36, 50, 0, 30);
    let mut chart = ChartBuilder::on(&area)
        .caption("density", text(TICK_SIZE))
        .y_label_area_size(0)
        .right_y_label_area_size(56)
        .build_cartesian_2d(0.0..1.0, 0.0..top)?;
    let steps = 100;
    let band = |i: usize| {
        let (lo, hi) = (top * i as f64 / steps as f64, top * (i + 1) as f64 / steps as f64);
        Rectangle::new([(0.0, lo), (1.0, hi)], viridis((i as f64 + 0.5) / steps as f64).filled())
    };
    chart.draw_series((0..steps).map(band))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&tick_label)
        .set_all_tick_mark_size(6)
        .label_style(text(TICK_SIZE))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_grid_counts_cells_from_the_bottom_left() {
        let region = Region { x: (0.0, 2.0), y: (0.0, 2.0) };
        // Two points bottom-left, one top-left, one bottom-right, one outside.
        let points = [0.5, 0.5, 0.2, 0.9, 0.5, 1.5, 1.5, 0.5, 9.0, 9.0];
        let grid = density_grid(&points, 2, &region);
        // n = 5 points, cell area 1.
        assert_eq!(grid, vec![2.0 / 5.0, 1.0 / 5.0, 1.0 / 5.0, 0.0]);
    }
}
