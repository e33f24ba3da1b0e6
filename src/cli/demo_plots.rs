//! The pictures of `demo` in any dimension. They only draw what the demo computed.
//!
//! - every d: `loss.png`;
//! - d = 1: `histogram.png` (training data and samples) and `trajectories.png`;
//! - d = 2: `scatter.png` and `density.png` (training data and Heun samples side by side, the
//!   checkerboard's valid cells shaded), `velocity.png` (arrows of v(x, t) at several t) and
//!   `trajectories.png` (paths in the plane from noise to data);
//! - d > 2: `corner.png` (pairs of up to 5 columns, reference against samples), and for square
//!   images (d = s^2, s >= 4, e.g. 8 x 8 digits) `images.png` and `images_data.png`.

use std::path::Path;

use anyhow::Result;

use super::score::Reference;
use super::source::Prepared;
use super::steps::Trained;
use flowmatching::flow::Flow;
use flowmatching::plot::{self, Bins, CornerSet, ImageGrid, Labels, Paths2d, PointPanel, Region};
use flowmatching::plot::{Samples1d, Series, Trajectories, VectorField};
use flowmatching::train::TrainLog;

/// Points drawn in one scatter panel or corner set, at most.
const MAX_POINTS: usize = 5000;

/// Times at which the velocity field is drawn.
const VELOCITY_TIMES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Arrows along each side of the velocity grid.
const GRID: usize = 17;

/// Columns of a corner plot, at most.
const CORNER_DIMS: usize = 5;

/// Generated images shown, and per row.
const IMAGES: usize = 48;
const IMAGE_COLUMNS: usize = 12;

/// One solver's samples (data units) and cost.
pub struct Run {
    /// The samples, row-major `n * d`.
    pub x: Vec<f64>,
    /// Network evaluations.
    pub nfe: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// What the demo generated.
pub struct Generated {
    /// Euler samples.
    pub euler: Run,
    /// Heun samples.
    pub heun: Run,
    /// Times of the recorded paths.
    pub path_times: Vec<f64>,
    /// The paths of the first Heun samples, time-major: snapshot k holds n points.
    pub path_states: Vec<f64>,
}

/// Draws every picture for `data`'s dimension into `out`.
pub fn plot_all(
    out: &Path,
    trained: &Trained,
    data: &Prepared,
    reference: &Reference,
    generated: &Generated,
) -> Result<()> {
    plot_loss(out, &trained.log)?;
    match data.d {
        1 => plots_1d(out, data, generated),
        2 => plots_2d(out, &trained.flow, data, generated),
        _ => plots_nd(out, data, reference, generated),
    }
}

/// `loss.png`: the logged batch losses (the notebook's curve) and, under their noise, the mean
/// batch loss of each logging window.
pub(super) fn plot_loss(out: &Path, log: &TrainLog) -> Result<()> {
    let points = |log: &[(usize, f64)]| -> Vec<(f64, f64)> {
        log.iter().map(|&(s, l)| (s as f64, l)).collect()
    };
    let (batch, mean) = (points(&log.losses), points(&log.mean_losses));
    let window = log.losses.first().map_or(0, |&(step, _)| step);
    let mean_label = format!("mean over each {window} steps");
    let labels = Labels { title: "Training loss (MSE)", x: "step", y: "loss" };
    let mut series = vec![Series { label: "batch loss", points: &batch }];
    if !mean.is_empty() {
        series.push(Series { label: &mean_label, points: &mean });
    }
    let axes = plot::Axes { markers: true, ..plot::Axes::default() };
    plot::line_chart(out.join("loss.png"), &labels, &series, axes)?;
    Ok(())
}

fn plots_1d(out: &Path, data: &Prepared, generated: &Generated) -> Result<()> {
    let (lo, hi) = extent(&data.train, 1, 0);
    let pad = 0.1 * (hi - lo).max(1e-9);
    let bins = Bins { count: 100, range: (lo - pad, hi + pad) };
    let labels = Labels { title: "Training data and samples", x: &data.columns[0], y: "density" };
    let sets = [
        Samples1d { label: "training data", values: &data.train },
        Samples1d { label: "heun", values: &generated.heun.x },
    ];
    plot::histogram_1d(out.join("histogram.png"), &labels, &sets, &bins, None)?;

    let panel = Trajectories { title: "heun", t: &generated.path_times, x: &generated.path_states };
    plot::trajectories(out.join("trajectories.png"), "Paths from noise to data", &[panel])?;
    Ok(())
}

fn plots_2d(out: &Path, flow: &Flow, data: &Prepared, generated: &Generated) -> Result<()> {
    let region = data_region(&data.train);
    let shaded: Vec<Region> = data.board.as_ref().map_or_else(Vec::new, |board| {
        let (h, w) = (board.half_width(), board.cell_width());
        let span = |k: usize| (-h + k as f64 * w, -h + (k + 1) as f64 * w);
        board.valid_cells().into_iter().map(|(i, j)| Region { x: span(i), y: span(j) }).collect()
    });

    let heun_title = format!("samples, heun ({} NFE)", generated.heun.nfe);
    let panels = [
        PointPanel { title: "training data", points: head(&data.train, 2) },
        PointPanel { title: &heun_title, points: head(&generated.heun.x, 2) },
    ];
    let axes = format!("{} across, {} up", data.columns[0], data.columns[1]);
    let title = format!("{}: data and samples ({axes})", data.name);
    plot::scatter_2d(out.join("scatter.png"), &title, &panels, Some(region), &shaded)?;
    let title = format!("{}: 2D histograms ({axes})", data.name);
    let bins = ((data.train.len() / 2) as f64).sqrt().clamp(20.0, 60.0) as usize;
    plot::heatmap_2d(out.join("density.png"), &title, &panels, bins, Some(region))?;

    plot_velocity_2d(out, flow, region)?;
    let paths = Paths2d { title: "heun", t: &generated.path_times, x: &generated.path_states };
    let title = "Paths from noise (grey, t = 0) to data (t = 1)";
    plot::paths_2d(out.join("trajectories.png"), title, &[paths], Some(region))?;
    Ok(())
}

/// Arrows of the network's field v_theta(z, t) in the units it learnt in (z = (x - m) / s, the
/// data's own units when nothing was standardised), where arrows of columns of different
/// scales stay comparable.
fn plot_velocity_2d(out: &Path, flow: &Flow, region: Region) -> Result<()> {
    let standardizer = flow.standardizer();
    let (m, s) = (standardizer.mean(), standardizer.scale());
    let region = Region {
        x: ((region.x.0 - m[0]) / s[0], (region.x.1 - m[0]) / s[0]),
        y: ((region.y.0 - m[1]) / s[1], (region.y.1 - m[1]) / s[1]),
    };
    let at = |(lo, hi): (f64, f64), k: usize| lo + (hi - lo) * (k as f64 + 0.5) / GRID as f64;
    let z: Vec<f64> =
        (0..GRID * GRID).flat_map(|c| [at(region.x, c % GRID), at(region.y, c / GRID)]).collect();
    let x = standardizer.inverse(&z)?;

    let mut fields = Vec::new();
    for &t in &VELOCITY_TIMES {
        let v_x = flow.velocity(&x, &vec![t; GRID * GRID])?;
        fields.push(v_x.iter().enumerate().map(|(k, v)| v / s[k % 2]).collect::<Vec<f64>>());
    }
    let titles: Vec<String> = VELOCITY_TIMES.iter().map(|t| format!("t = {t}")).collect();
    let panels: Vec<VectorField> = titles
        .iter()
        .zip(&fields)
        .map(|(title, v)| VectorField { title, points: &z, velocities: v })
        .collect();
    let units = if s == [1.0, 1.0] && m == [0.0, 0.0] { "" } else { ", standardised units" };
    let title = format!("Learned velocity v(x, t) (t = 0 noise, t = 1 data{units})");
    plot::quiver(out.join("velocity.png"), &title, &panels, Some(region))?;
    Ok(())
}

fn plots_nd(
    out: &Path,
    data: &Prepared,
    reference: &Reference,
    generated: &Generated,
) -> Result<()> {
    let d = data.d;
    let shown = corner_columns(&data.train, d);
    let pick = |x: &[f64]| -> Vec<f64> {
        head(x, d).chunks_exact(d).flat_map(|row| shown.iter().map(|&j| row[j])).collect()
    };
    let (truth, samples) = (pick(&reference.rows), pick(&generated.heun.x));
    let sets = [
        CornerSet { label: "reference", points: &truth },
        CornerSet { label: "heun", points: &samples },
    ];
    // The panels are labelled x1, x2, ...; the title says which data column each one is,
    // unless the columns already have those names.
    let names: Vec<String> = shown
        .iter()
        .enumerate()
        .filter(|&(k, &j)| data.columns[j] != format!("x{}", k + 1))
        .map(|(k, &j)| format!("x{} = {}", k + 1, data.columns[j]))
        .collect();
    let k = shown.len();
    plot::corner(out.join("corner.png"), &names.join(", "), &sets, k, k, 30)?;

    let side = (d as f64).sqrt().round() as usize;
    if side >= 4 && side * side == d {
        let range = extent_all(&data.train);
        let images = |x: &[f64], file: &str, title: &str| -> Result<()> {
            let n = (x.len() / d).min(IMAGES);
            let grid = ImageGrid {
                pixels: &x[..n * d],
                height: side,
                width: side,
                columns: IMAGE_COLUMNS,
                range,
            };
            Ok(plot::image_grid(out.join(file), title, &grid)?)
        };
        images(&generated.heun.x, "images.png", "Generated images (heun)")?;
        let title = format!("Reference images: {}", reference.label);
        images(&reference.rows, "images_data.png", &title)?;
    }
    Ok(())
}

/// All columns when there are few; otherwise the most spread-out non-constant ones, in order.
fn corner_columns(x: &[f64], d: usize) -> Vec<usize> {
    if d <= CORNER_DIMS {
        return (0..d).collect();
    }
    let spread = |j: usize| {
        let (lo, hi) = extent(x, d, j);
        hi - lo
    };
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)).then(a.cmp(&b)));
    let mut shown: Vec<usize> = order.into_iter().take(CORNER_DIMS).collect();
    shown.sort_unstable();
    shown
}

/// The first rows of `x`, at most [`MAX_POINTS`].
fn head(x: &[f64], d: usize) -> &[f64] {
    &x[..x.len().min(MAX_POINTS * d)]
}

/// Min and max of column `j`.
fn extent(x: &[f64], d: usize, j: usize) -> (f64, f64) {
    x.iter()
        .skip(j)
        .step_by(d)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// Min and max over every value, widened when they coincide.
fn extent_all(x: &[f64]) -> (f64, f64) {
    let (lo, hi) = extent(x, 1, 0);
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    }
}

/// The training data's bounding box, 10 % wider on each side.
fn data_region(train: &[f64]) -> Region {
    let widen = |(lo, hi): (f64, f64)| {
        let pad = 0.1 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    };
    Region { x: widen(extent(train, 2, 0)), y: widen(extent(train, 2, 1)) }
}
