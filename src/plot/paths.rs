//! Trajectories of 2D samples in the plane, from noise (t = 0) to data (t = 1): each point's
//! path as a thin translucent line, its start as a grey dot and its end as a coloured dot, so
//! one picture shows where every bit of noise is carried.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{render, set_colour, LABEL_SIZE, TITLE_SIZE};
use super::layout::{clip_polyline, draw_mesh, linear_chart, region_of, titled};
use super::panels::{contains, figure_size, PANEL_MARGINS};
use super::{check, Region};
use crate::Result;

/// Colour of the starting points (the noise).
const START: RGBColor = RGBColor(150, 150, 150);

/// The paths of one panel, stored time-major like a solver's snapshots: snapshot k holds n
/// row-major `(x, y)` pairs, so point i at time `t[k]` is `x[2 (k n + i)..2 (k n + i) + 2]`
/// and `x.len() = 2 n t.len()`.
#[derive(Clone, Copy, Debug)]
pub struct Paths2d<'a> {
    /// Panel title (e.g. "Heun, 200 steps").
    pub title: &'a str,
    /// The snapshot times, in order (0 = noise, 1 = data).
    pub t: &'a [f64],
    /// The states, time-major as above.
    pub x: &'a [f64],
}

/// Draws each panel's paths in the plane, panels side by side under `title`, all over the same
/// `region` (by default every state of every panel with 5 % padding; segments leaving a given
/// region are clipped). Line opacity falls as the number of paths grows.
///
/// The image is `460 * panels` x 500 pixels (plus 40 for a title).
///
/// Errors: no panels, a panel without times or points, a length that is not `2 n t.len()`,
/// a NaN or infinity, or an empty `region`.
pub fn paths_2d(
    path: impl AsRef<Path>,
    title: &str,
    panels: &[Paths2d],
    region: Option<Region>,
) -> Result<()> {
    let path = path.as_ref();
    check::non_empty("path panels", panels.len())?;
    let mut counts = Vec::with_capacity(panels.len());
    for p in panels {
        counts.push(check_panel(p)?);
    }
    let region = match region {
        Some(r) => check::region("region", &r).map(|()| r)?,
        None => region_of(&panels.iter().map(|p| p.x).collect::<Vec<_>>()),
    };

    render(path, figure_size(panels.len(), title, 0), |root| {
        let root = titled(root, title, TITLE_SIZE)?;
        for (j, (area, panel)) in
            root.split_evenly((1, panels.len())).iter().zip(panels).enumerate()
        {
            let mut chart = linear_chart(area, panel.title, LABEL_SIZE, &region, PANEL_MARGINS)?;
            draw_mesh(&mut chart, "", "")?;

            let n = counts[j];
            let point =
                |k: usize, i: usize| (panel.x[2 * (k * n + i)], panel.x[2 * (k * n + i) + 1]);
            let line = set_colour(j).mix(opacity(n)).stroke_width(1);
            for i in 0..n {
                let path_i = (0..panel.t.len()).map(|k| point(k, i));
                for part in clip_polyline(path_i, &region) {
                    chart.draw_series(LineSeries::new(part, line))?;
                }
            }

            let last = panel.t.len() - 1;
            let dots = |k: usize, colour: RGBColor| {
                (0..n)
                    .map(move |i| point(k, i))
                    .filter(|&(x, y)| contains(&region, x, y))
                    .map(move |p| Circle::new(p, 2, colour.filled()))
            };
            chart.draw_series(dots(0, START))?;
            chart.draw_series(dots(last, set_colour(j)))?;
        }
        Ok(())
    })
}

/// Checks one panel and returns its number of paths.
fn check_panel(panel: &Paths2d) -> Result<usize> {
    let what = format!("path panel '{}'", panel.title);
    check::non_empty(&format!("{what} times"), panel.t.len())?;
    check::finite(&format!("{what} times"), panel.t)?;
    let n = check::rows(&format!("{what} states"), panel.x, 2 * panel.t.len())?;
    check::non_empty(&format!("{what} states"), n)?;
    check::finite(&format!("{what} states"), panel.x)?;
    Ok(n)
}

/// Line opacity for `n` overlaid paths: 0.7 for a handful, down to 0.08 for thousands.
fn opacity(n: usize) -> f64 {
    (80.0 / n as f64).clamp(0.08, 0.7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_and_non_finite_paths_are_rejected_before_drawing() {
        let dir = std::env::temp_dir();
        let file = dir.join(format!("fm-paths-{}.png", std::process::id()));
        let t = [0.0, 1.0];
        let ragged = [Paths2d { title: "a", t: &t, x: &[0.0, 0.0, 1.0] }];
        assert!(paths_2d(&file, "", &ragged, None).is_err());
        let nan = [Paths2d { title: "a", t: &t, x: &[0.0, 0.0, f64::NAN, 1.0] }];
        assert!(paths_2d(&file, "", &nan, None).is_err());
        assert!(paths_2d(&file, "", &[], None).is_err());
        assert!(!file.exists());

        let good = [Paths2d { title: "a", t: &t, x: &[0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.5] }];
        paths_2d(&file, "two paths", &good, None).unwrap();
        assert!(std::fs::metadata(&file).unwrap().len() > 0);
        std::fs::remove_file(&file).unwrap();
    }
}
