//! 2D velocity fields as arrows (a quiver plot), one panel per time t.
//!
//! An arrow starts at a grid point x and ends at `x + s v(x, t)`, in data coordinates, so it
//! points where the flow goes on the chart. One scale s serves every panel: the longest velocity
//! over all panels is drawn 0.9 of a grid cell long, where a cell is `sqrt(area / n)` for a panel
//! of n points over the shown region. Arrow heads are drawn in pixels, so they keep their shape
//! whatever the axes' scales.

use std::path::Path;

use plotters::prelude::*;

use super::canvas::{render, Area, DrawResult, LABEL_SIZE, TITLE_SIZE};
use super::layout::{draw_mesh, linear_chart, region_of, titled, Chart};
use super::panels::{figure_size, PANEL_MARGINS};
use super::{check, Region};
use crate::Result;

/// Colour of the arrows.
const ARROW: RGBColor = RGBColor(31, 80, 160);

/// One panel: velocities at grid points, both row-major `(x, y)` pairs of the same length.
#[derive(Clone, Copy, Debug)]
pub struct VectorField<'a> {
    /// Panel title (e.g. "t = 0.5").
    pub title: &'a str,
    /// The grid points.
    pub points: &'a [f64],
    /// The velocity at each grid point.
    pub velocities: &'a [f64],
}

/// Draws each field as arrows, panels side by side under `title`, all over the same `region`
/// (by default the grid points of all panels, with room for the arrows) and on one arrow scale
/// (see the module docs). A zero velocity is drawn as a dot. Grid points outside a given
/// `region` are not drawn; arrows from points near its edge may reach past it.
///
/// The image is `460 * panels` x 500 pixels (plus 40 for a title).
///
/// Errors: no panels, an empty panel, an odd number of coordinates, velocities and points of
/// different lengths, a NaN or infinity, or an empty `region`.
pub fn quiver(
    path: impl AsRef<Path>,
    title: &str,
    panels: &[VectorField],
    region: Option<Region>,
) -> Result<()> {
    let path = path.as_ref();
    check_panels(panels)?;
    let region = match region {
        Some(r) => check::region("region", &r).map(|()| r)?,
        None => {
            room_for_arrows(region_of(&panels.iter().map(|p| p.points).collect::<Vec<_>>()), panels)
        }
    };
    let scale = arrow_scale(panels, &region);

    render(path, figure_size(panels.len(), title, 0), |root| {
        let root = titled(root, title, TITLE_SIZE)?;
        for (area, panel) in root.split_evenly((1, panels.len())).iter().zip(panels) {
            let mut chart = linear_chart(area, panel.title, LABEL_SIZE, &region, PANEL_MARGINS)?;
            draw_mesh(&mut chart, "", "")?;
            draw_arrows(&root, &chart, panel, scale)?;
        }
        Ok(())
    })
}

fn check_panels(panels: &[VectorField]) -> Result<()> {
    check::non_empty("vector field panels", panels.len())?;
    for p in panels {
        let what = format!("vector field '{}'", p.title);
        let n = check::rows(&format!("{what} points"), p.points, 2)?;
        check::non_empty(&format!("{what} points"), n)?;
        check::length(&format!("{what} velocities"), p.points.len(), p.velocities.len())?;
        check::finite(&format!("{what} points"), p.points)?;
        check::finite(&format!("{what} velocities"), p.velocities)?;
    }
    Ok(())
}

/// `region` widened by most of a grid cell on each side, so the arrows at the edge fit.
fn room_for_arrows(region: Region, panels: &[VectorField]) -> Region {
    let pad = 0.9 * cell_side(panels, &region);
    Region { x: (region.x.0 - pad, region.x.1 + pad), y: (region.y.0 - pad, region.y.1 + pad) }
}

/// The side `sqrt(area / n)` of a grid cell of the densest panel over `region`.
fn cell_side(panels: &[VectorField], region: &Region) -> f64 {
    let area = (region.x.1 - region.x.0) * (region.y.1 - region.y.0);
    (panels.iter().map(|p| area / (p.points.len() / 2) as f64)).fold(f64::INFINITY, f64::min).sqrt()
}

/// The factor s turning a velocity into an arrow in data units (see the module docs).
fn arrow_scale(panels: &[VectorField], region: &Region) -> f64 {
    let cell = cell_side(panels, region);
    let longest = panels
        .iter()
        .flat_map(|p| p.velocities.chunks_exact(2))
        .map(|v| v[0].hypot(v[1]))
        .fold(0.0f64, f64::max);
    if longest > 0.0 {
        0.9 * cell / longest
    } else {
        0.0
    }
}

/// Draws the panel's arrows in pixels on `root`, mapped through `chart`'s axes.
fn draw_arrows(root: &Area, chart: &Chart, panel: &VectorField, scale: f64) -> DrawResult {
    let base = root.get_base_pixel();
    let to_root = |(x, y): (i32, i32)| (x - base.0, y - base.1);
    let inside = |x: f64, y: f64| {
        let (xr, yr) = (chart.x_range(), chart.y_range());
        xr.contains(&x) && yr.contains(&y)
    };

    for (p, v) in panel.points.chunks_exact(2).zip(panel.velocities.chunks_exact(2)) {
        if !inside(p[0], p[1]) {
            continue;
        }
        let start = to_root(chart.backend_coord(&(p[0], p[1])));
        let end = to_root(chart.backend_coord(&(p[0] + scale * v[0], p[1] + scale * v[1])));
        if start == end {
            root.draw(&Circle::new(start, 1, ARROW.filled()))?;
            continue;
        }
        root.draw(&PathElement::new([start, end], ARROW.stroke_width(1)))?;
        root.draw(&Polygon::new(arrow_head(start, end), ARROW.filled()))?;
    }
    Ok(())
}

/// The triangle of an arrow head at `end`, pointing away from `start`: a third of the arrow long,
/// at most 7 pixels, with a half-angle of about 25 degrees.
fn arrow_head(start: (i32, i32), end: (i32, i32)) -> Vec<(i32, i32)> {
    let (dx, dy) = ((end.0 - start.0) as f64, (end.1 - start.1) as f64);
    let length = dx.hypot(dy);
    let head = (length / 3.0).min(7.0);
    let (ux, uy) = (dx / length, dy / length);
    let (back_x, back_y) = (end.0 as f64 - head * ux, end.1 as f64 - head * uy);
    let half_width = 0.47 * head;
    let corner = |sign: f64| {
        (
            (back_x - sign * half_width * uy).round() as i32,
            (back_y + sign * half_width * ux).round() as i32,
        )
    };
    vec![end, corner(1.0), corner(-1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_arrow_spans_nine_tenths_of_a_cell() {
        // 4 points over a 2 x 2 region: cells of side 1.
        let points = [0.5, 0.5, 1.5, 0.5, 0.5, 1.5, 1.5, 1.5];
        let velocities = [3.0, 4.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0];
        let field = VectorField { title: "", points: &points, velocities: &velocities };
        let region = Region { x: (0.0, 2.0), y: (0.0, 2.0) };
        let s = arrow_scale(&[field], &region);
        assert!((s * 5.0 - 0.9).abs() < 1e-12, "{s}");
    }

    #[test]
    fn arrow_head_is_symmetric_about_the_shaft() {
        let head = arrow_head((0, 0), (30, 0));
        assert_eq!(head[0], (30, 0));
        assert_eq!(head[1].0, 23);
        assert_eq!(head[1].0, head[2].0);
        assert_eq!(head[1].1, -head[2].1);
        assert!(head[1].1.abs() >= 3);
    }
}
