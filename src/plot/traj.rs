//! Trajectories x(t) of 1D samples against t, from noise (t = 0) to data (t = 1): hundreds of
//! thin translucent lines, one panel per path or solver, side by side on a shared x(t) axis.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{render, set_colour, LABEL_SIZE, TITLE_SIZE};
use super::layout::{draw_mesh, extent, linear_chart, padded, titled, Margins};
use super::{check, Region};
use crate::Result;

/// Width of one panel and height of the image, in pixels.
const PANEL_WIDTH: u32 = 450;
const HEIGHT: u32 = 500;

/// The trajectories of one panel, stored time-major like a solver's snapshots:
/// `x[k * n + i]` is trajectory i at time `t[k]`, so `x.len() = t.len() * n`.
#[derive(Clone, Copy, Debug)]
pub struct Trajectories<'a> {
    /// Panel title (e.g. the path's name).
    pub title: &'a str,
    /// The snapshot times, in order (0 = noise, 1 = data).
    pub t: &'a [f64],
    /// The states, time-major as above.
    pub x: &'a [f64],
}

/// Draws each panel's trajectories as thin translucent lines x(t) against t, panels side by side
/// (the image is `max(900, 450 * panels)` x 500 pixels) under the shared `title`, all on the
/// same x(t) range. Line opacity falls as the number of trajectories grows, so a few hundred
/// still show where the mass goes.
///
/// Errors: no panels, a panel without times or trajectories, `x.len()` not a multiple of
/// `t.len()`, or a NaN or infinity.
pub fn trajectories(path: impl AsRef<Path>, title: &str, panels: &[Trajectories]) -> Result<()> {
    let path = path.as_ref();
    check::non_empty("trajectory panels", panels.len())?;
    let mut counts = Vec::with_capacity(panels.len());
    for p in panels {
        counts.push(check_panel(p)?);
    }

    let x_range = padded(
        extent(panels.iter().flat_map(|p| p.x.iter().copied())).unwrap_or((-1.0, 1.0)),
        0.05,
    );
    let width = (PANEL_WIDTH * panels.len() as u32).max(900);
    let margins = Margins { margin: 12, x_labels: 48, y_labels: 64 };

    render(path, (width, HEIGHT), |root| {
        let root = titled(root, title, TITLE_SIZE)?;
        for (j, (area, panel)) in
            root.split_evenly((1, panels.len())).iter().zip(panels).enumerate()
        {
            let t_range = padded(extent(panel.t.iter().copied()).unwrap_or((0.0, 1.0)), 0.0);
            let region = Region { x: t_range, y: x_range };
            let mut chart = linear_chart(area, panel.title, LABEL_SIZE, &region, margins)?;
            draw_mesh(&mut chart, "t", if j == 0 { "x(t)" } else { "" })?;

            let n = counts[j];
            let style = set_colour(j).mix(opacity(n)).stroke_width(1);
            for i in 0..n {
                let path_i = panel.t.iter().enumerate().map(|(k, &t)| (t, panel.x[k * n + i]));
                chart.draw_series(LineSeries::new(path_i, style))?;
            }
        }
        Ok(())
    })
}

/// Checks one panel and returns its number of trajectories.
fn check_panel(panel: &Trajectories) -> Result<usize> {
    let what = format!("trajectory panel '{}'", panel.title);
    check::non_empty(&format!("{what} times"), panel.t.len())?;
    check::finite(&format!("{what} times"), panel.t)?;
    let n = check::rows(&format!("{what} states"), panel.x, panel.t.len())?;
    check::non_empty(&format!("{what} states"), n)?;
    check::finite(&format!("{what} states"), panel.x)?;
    Ok(n)
}

/// Line opacity for `n` overlaid trajectories: 0.6 for a handful, down to 0.05 for thousands.
fn opacity(n: usize) -> f64 {
    (30.0 / n as f64).clamp(0.05, 0.6)
}
