//! Layout shared by the plots: legends in a column beside the chart (so they never hide data),
//! panels side by side, padded data ranges and the usual linear chart with its mesh.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{text, tick_label, Area, DrawResult, LABEL_SIZE, TICK_SIZE};
use super::Region;

/// A chart with linear f64 axes on the in-memory bitmap.
pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Height of one legend row, width of a swatch and the padding around them, in pixels.
const ROW: i32 = 26;
const SWATCH: i32 = 28;
const PAD: i32 = 12;

/// How a legend entry shows its series.
#[derive(Clone, Copy)]
pub(crate) enum Swatch {
    /// A line of this colour.
    Line(RGBColor),
    /// A translucent bar with a solid outline (histograms).
    Bar(RGBColor),
    /// A filled dot (scatters).
    Dot(RGBColor),
}

/// One row of a legend.
pub(crate) struct Entry {
    pub label: String,
    pub swatch: Swatch,
}

/// Splits `area` into the chart on the left and, when there are entries, a legend column on the
/// right just wide enough for the longest label (at most a third of the width).
pub(crate) fn split_for_legend<'b>(
    area: &Area<'b>,
    entries: &[Entry],
) -> Result<(Area<'b>, Option<Area<'b>>), Box<dyn std::error::Error>> {
    if entries.is_empty() {
        return Ok((area.clone(), None));
    }
    let style = text(TICK_SIZE);
    let mut widest = 0;
    for entry in entries {
        widest = widest.max(area.estimate_text_size(&entry.label, &style)?.0 as i32);
    }

    let total = area.dim_in_pixel().0 as i32;
    let width = (widest + SWATCH + 3 * PAD).min(total / 3);
    let (chart, legend) = area.split_horizontally(total - width);
    Ok((chart, Some(legend)))
}

/// Draws `entries` top-down in `area`, the first row `top` pixels below its top edge.
pub(crate) fn draw_legend(area: &Area, entries: &[Entry], top: i32) -> DrawResult {
    let label_style = text(TICK_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, entry) in entries.iter().enumerate() {
        let y = top + i as i32 * ROW;
        let (x0, x1) = (PAD / 2, PAD / 2 + SWATCH);
        match entry.swatch {
            Swatch::Line(c) => {
                area.draw(&PathElement::new([(x0, y), (x1, y)], c.stroke_width(3)))?
            }
            Swatch::Bar(c) => {
                area.draw(&Rectangle::new([(x0, y - 7), (x1, y + 7)], c.mix(0.3).filled()))?;
                area.draw(&Rectangle::new([(x0, y - 7), (x1, y + 7)], c.stroke_width(2)))?;
            }
            Swatch::Dot(c) => area.draw(&Circle::new(((x0 + x1) / 2, y), 5, c.filled()))?,
        }
        area.draw_text(&entry.label, &label_style, (x1 + PAD / 2, y))?;
    }
    Ok(())
}

/// Draws `title` centred at the top of `area` (nothing when empty) and returns the rest. A
/// title wider than the area is set in a smaller font, down to two thirds of `size`, so that
/// it stays inside the image.
pub(crate) fn titled<'b>(
    area: &Area<'b>,
    title: &str,
    size: f64,
) -> Result<Area<'b>, Box<dyn std::error::Error>> {
    if title.is_empty() {
        return Ok(area.clone());
    }
    let room = f64::from(area.dim_in_pixel().0) - 2.0 * f64::from(PAD);
    let width = f64::from(area.estimate_text_size(title, &text(size))?.0);
    let size = if width > room { (size * room / width).max(size * 2.0 / 3.0) } else { size };
    Ok(area.titled(title, text(size))?)
}

/// The parts of the polyline `points` inside `region`: every segment is cut where it crosses
/// the region's edge (Liang-Barsky), and a new part starts where the line comes back in.
pub(crate) fn clip_polyline(
    points: impl IntoIterator<Item = (f64, f64)>,
    region: &Region,
) -> Vec<Vec<(f64, f64)>> {
    let mut parts: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut previous: Option<(f64, f64)> = None;
    for p in points {
        if let Some(q) = previous {
            match clip_segment(q, p, region) {
                Some((a, b)) => {
                    if current.last() != Some(&a) {
                        if current.len() > 1 {
                            parts.push(std::mem::take(&mut current));
                        }
                        current = vec![a];
                    }
                    current.push(b);
                }
                None => {
                    if current.len() > 1 {
                        parts.push(std::mem::take(&mut current));
                    }
                    current.clear();
                }
            }
        }
        previous = Some(p);
    }
    if current.len() > 1 {
        parts.push(current);
    }
    parts
}

/// The part of the segment from `a` to `b` inside `region`, if any.
fn clip_segment(a: (f64, f64), b: (f64, f64), region: &Region) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    let edges = [
        (-dx, a.0 - region.x.0),
        (dx, region.x.1 - a.0),
        (-dy, a.1 - region.y.0),
        (dy, region.y.1 - a.1),
    ];
    for (p, q) in edges {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// `(lo, hi)` widened by `fraction` of its span on each side; a single point gets +-1.
pub(crate) fn padded((lo, hi): (f64, f64), fraction: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * fraction;
        (lo - pad, hi + pad)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// The smallest and largest of `values`, or `None` when there are none.
pub(crate) fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The region holding every point of every set (row-major `(x, y)` pairs), padded by 5 %.
pub(crate) fn region_of(sets: &[&[f64]]) -> Region {
    let xs = sets.iter().flat_map(|s| s.iter().step_by(2).copied());
    let ys = sets.iter().flat_map(|s| s.iter().skip(1).step_by(2).copied());
    let x = extent(xs).unwrap_or((-1.0, 1.0));
    let y = extent(ys).unwrap_or((-1.0, 1.0));
    Region { x: padded(x, 0.05), y: padded(y, 0.05) }
}

/// Sizes of the areas around a chart's plotting area, in pixels.
#[derive(Clone, Copy)]
pub(crate) struct Margins {
    /// Blank border on every side.
    pub margin: u32,
    /// Height of the tick-label area under the x axis.
    pub x_labels: u32,
    /// Width of the tick-label area left of the y axis.
    pub y_labels: u32,
}

/// The margins of a full-size chart with axis descriptions.
pub(crate) const FULL: Margins = Margins { margin: 14, x_labels: 52, y_labels: 76 };

/// Builds a chart with linear axes over `region` in `area`, with `caption` above it.
pub(crate) fn linear_chart<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    caption_size: f64,
    region: &Region,
    margins: Margins,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(margins.margin)
        .x_label_area_size(margins.x_labels)
        .y_label_area_size(margins.y_labels);
    if !caption.is_empty() {
        builder.caption(caption, text(caption_size));
    }
    Ok(builder.build_cartesian_2d(region.x.0..region.x.1, region.y.0..region.y.1)?)
}

/// Draws the grid, the axes, their tick labels and their descriptions (empty ones are left out).
pub(crate) fn draw_mesh(chart: &mut Chart, x_desc: &str, y_desc: &str) -> DrawResult {
    let mut mesh = chart.configure_mesh();
    mesh.label_style(text(TICK_SIZE))
        .axis_desc_style(text(LABEL_SIZE))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label);
    if !x_desc.is_empty() {
        mesh.x_desc(x_desc);
    }
    if !y_desc.is_empty() {
        mesh.y_desc(y_desc);
    }
    mesh.draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_widens_both_sides_and_handles_a_single_point() {
        assert_eq!(padded((0.0, 10.0), 0.1), (-1.0, 11.0));
        assert_eq!(padded((3.0, 3.0), 0.1), (2.0, 4.0));
    }

    #[test]
    fn polylines_are_cut_at_the_region_edge_and_resume_inside() {
        let region = Region { x: (0.0, 10.0), y: (0.0, 10.0) };
        // In, out through x = 10, back in, then along inside.
        let line = [(5.0, 5.0), (15.0, 5.0), (15.0, 8.0), (5.0, 8.0), (5.0, 9.0)];
        let parts = clip_polyline(line, &region);
        assert_eq!(
            parts,
            vec![vec![(5.0, 5.0), (10.0, 5.0)], vec![(10.0, 8.0), (5.0, 8.0), (5.0, 9.0)]]
        );
        // A segment crossing the whole region diagonally keeps only its middle.
        let parts = clip_polyline([(-5.0, -5.0), (15.0, 15.0)], &region);
        assert_eq!(parts, vec![vec![(0.0, 0.0), (10.0, 10.0)]]);
        // Entirely outside: nothing; entirely inside: unchanged.
        assert!(clip_polyline([(11.0, 1.0), (12.0, 2.0)], &region).is_empty());
        let inside = vec![(1.0, 1.0), (2.0, 3.0), (4.0, 4.0)];
        assert_eq!(clip_polyline(inside.clone(), &region), vec![inside]);
    }

    #[test]
    fn region_of_pairs_reads_x_and_y_separately() {
        let a = [0.0, 10.0, 1.0, 20.0];
        let b = [-1.0, 15.0];
        let r = region_of(&[&a, &b]);
        assert_eq!(r.x, padded((-1.0, 1.0), 0.05));
        assert_eq!(r.y, padded((10.0, 20.0), 0.05));
    }
}
