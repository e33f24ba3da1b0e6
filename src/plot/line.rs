//! Line charts of labelled (x, y) series, on linear or logarithmic axes: loss curves, W1 against
//! the number of function evaluations, scaling curves, and slices v(x, t) of a velocity field.

use std::path::Path;

use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{AsRangedCoord, KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::prelude::*;

use super::canvas::{render, set_colour, text, Area, DrawResult, CHART_SIZE, LABEL_SIZE};
use super::canvas::{tick_label, TICK_SIZE, TITLE_SIZE};
use super::layout::{draw_legend, extent, padded, split_for_legend, Entry, Swatch, FULL};
use super::{check, Labels};
use crate::{Error, Result};

/// One labelled series of (x, y) points, joined in the order given.
#[derive(Clone, Copy, Debug)]
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// The points.
    pub points: &'a [(f64, f64)],
}

/// Axis scales and markers of a line chart. The default is linear axes without markers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Axes {
    /// Logarithmic x axis (every x must then be positive).
    pub log_x: bool,
    /// Logarithmic y axis (every y must then be positive).
    pub log_y: bool,
    /// Draw a dot at every point as well as the line.
    pub markers: bool,
}

/// Draws every series as a line in its palette colour, with a legend.
///
/// Linear axes span the x values with 2 % padding and the y values with 5 %; logarithmic axes
/// pad by a factor 1.25 on each side. Logarithmic ticks are labelled at 1, 2 and 5 times a
/// power of ten.
///
/// Errors: no series, an empty series, a NaN or infinity, or a value that is not positive on a
/// logarithmic axis.
pub fn line_chart(
    path: impl AsRef<Path>,
    labels: &Labels,
    series: &[Series],
    axes: Axes,
) -> Result<()> {
    let path = path.as_ref();
    check_series(series, axes)?;

    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let x = axis_range(extent(xs).unwrap_or((1.0, 1.0)), axes.log_x, 0.02);
    let y = axis_range(extent(ys).unwrap_or((1.0, 1.0)), axes.log_y, 0.05);

    let entries: Vec<Entry> = (series.iter().enumerate())
        .map(|(i, s)| Entry { label: s.label.to_string(), swatch: Swatch::Line(set_colour(i)) })
        .collect();

    render(path, CHART_SIZE, |root| {
        let (area, legend) = split_for_legend(root, &entries)?;
        match (axes.log_x, axes.log_y) {
            (false, false) => draw_lines(&area, labels, series, axes, x.0..x.1, y.0..y.1)?,
            (true, false) => draw_lines(&area, labels, series, axes, log(x), y.0..y.1)?,
            (false, true) => draw_lines(&area, labels, series, axes, x.0..x.1, log(y))?,
            (true, true) => draw_lines(&area, labels, series, axes, log(x), log(y))?,
        }
        if let Some(legend) = legend {
            draw_legend(&legend, &entries, 60)?;
        }
        Ok(())
    })
}

/// One slice of a velocity field at time `t`: `v[i] = v(x[i], t)` on a shared grid `x`.
#[derive(Clone, Copy, Debug)]
pub struct VelocitySlice<'a> {
    /// The time of the slice (0 = noise, 1 = data).
    pub t: f64,
    /// The velocity at each grid point.
    pub v: &'a [f64],
}

/// Draws v(x, t) against x for each slice, labelled "t = 0.25" and so on: a [`line_chart`] on
/// linear axes with "x" and "v(x, t)" as axis descriptions.
///
/// Errors: an empty grid or no slices, a slice whose length differs from the grid, or any
/// NaN or infinity (in the grid, a time or a velocity).
pub fn velocity_slices(
    path: impl AsRef<Path>,
    title: &str,
    x: &[f64],
    slices: &[VelocitySlice],
) -> Result<()> {
    check::non_empty("velocity grid x", x.len())?;
    check::finite("velocity grid x", x)?;
    check::non_empty("velocity slices", slices.len())?;
    for s in slices {
        check::finite(&format!("time of the slice at t = {}", s.t), &[s.t])?;
        check::length(&format!("velocity slice at t = {}", s.t), x.len(), s.v.len())?;
    }

    let labels: Vec<String> = slices.iter().map(|s| format!("t = {}", s.t)).collect();
    let points: Vec<Vec<(f64, f64)>> =
        slices.iter().map(|s| x.iter().copied().zip(s.v.iter().copied()).collect()).collect();
    let series: Vec<Series> =
        (labels.iter().zip(&points)).map(|(label, points)| Series { label, points }).collect();

    let labels = Labels { title, x: "x", y: "v(x, t)" };
    line_chart(path, &labels, &series, Axes::default())
}

/// Validates every series against the axis scales.
fn check_series(series: &[Series], axes: Axes) -> Result<()> {
    check::non_empty("line series", series.len())?;
    for s in series {
        let what = format!("line series '{}'", s.label);
        check::non_empty(&what, s.points.len())?;
        for (i, &(x, y)) in s.points.iter().enumerate() {
            check::finite(&format!("{what} point {i} (x, y)"), &[x, y])?;
            if (axes.log_x && x <= 0.0) || (axes.log_y && y <= 0.0) {
                let value = format!("({x}, {y})");
                let reason = "a logarithmic axis needs positive values";
                return Err(Error::setting(format!("{what} point {i}"), value, reason));
            }
        }
    }
    Ok(())
}

/// The displayed range of an axis holding values in `(lo, hi)`.
fn axis_range((lo, hi): (f64, f64), log: bool, linear_padding: f64) -> (f64, f64) {
    match (log, hi > lo) {
        (true, true) => (lo / 1.25, hi * 1.25),
        (true, false) => (lo / 2.0, hi * 2.0),
        (false, _) => padded((lo, hi), linear_padding),
    }
}

/// The label of a tick on a logarithmic axis: only mantissas 1, 2 and 5 are labelled (plotters
/// puts a tick at every multiple of the decade, too many to read).
fn log_tick(value: &f64) -> String {
    let exponent = value.log10().floor();
    let mantissa = value / 10f64.powf(exponent);
    let rounded = mantissa.round();
    let labelled = [1.0, 2.0, 5.0, 10.0].contains(&rounded) && (mantissa - rounded).abs() < 1e-6;
    if !labelled {
        return String::new();
    }
    let (mantissa, exponent) =
        if rounded == 10.0 { (1.0, exponent + 1.0) } else { (rounded, exponent) };
    match exponent as i32 {
        e @ -4..=-1 => format!("{:.*}", (-e) as usize, mantissa * 10f64.powi(e)),
        e @ 0..=5 => format!("{}", mantissa * 10f64.powi(e)),
        e => format!("{mantissa}e{e}"),
    }
}

/// A base-10 logarithmic axis: plotters' own, with repeated ticks removed and ticks labelled by
/// [`log_tick`].
struct Log10(LogCoord<f64>);

impl Ranged for Log10 {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.0.map(value, limit)
    }

    /// The labelled (bold) ticks are 1, 2 and 5 times each power of ten in the range when
    /// those fit the hint (plotters' own keep only the powers of ten on a narrow axis, such as
    /// NFE from 1 to 128); the light grid lines are plotters' own.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let light = hint.weight().allow_light_points();
        let max = hint.bold_points();
        let mut ticks = self.0.key_points(hint);
        ticks.dedup_by(|a, b| (*a / *b - 1.0).abs() < 1e-9);
        if light {
            return ticks;
        }
        let nice = one_two_five(self.0.range());
        if nice.len() > ticks.len() && nice.len() <= max {
            return nice;
        }
        ticks
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.0.range()
    }
}

impl ValueFormatter<f64> for Log10 {
    fn format(value: &f64) -> String {
        log_tick(value)
    }
}

/// The values 1, 2 and 5 times a power of ten inside `range`, ascending.
fn one_two_five(range: std::ops::Range<f64>) -> Vec<f64> {
    let (lo, hi) = (range.start, range.end);
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let tolerance = 1e-9;
    let mut values = Vec::new();
    for exponent in lo.log10().floor() as i32..=hi.log10().ceil() as i32 {
        for mantissa in [1.0, 2.0, 5.0] {
            let v = mantissa * 10f64.powi(exponent);
            if v >= lo * (1.0 - tolerance) && v <= hi * (1.0 + tolerance) {
                values.push(v);
            }
        }
    }
    values
}

/// A base-10 logarithmic axis over `(lo, hi)`.
fn log((lo, hi): (f64, f64)) -> Log10 {
    Log10((lo..hi).log_scale().into())
}

/// Draws the chart on axes `x` and `y`, whatever their scales.
fn draw_lines<X, Y>(
    area: &Area,
    labels: &Labels,
    series: &[Series],
    axes: Axes,
    x: X,
    y: Y,
) -> DrawResult
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut builder = ChartBuilder::on(area);
    builder.margin(FULL.margin).x_label_area_size(FULL.x_labels).y_label_area_size(FULL.y_labels);
    if !labels.title.is_empty() {
        builder.caption(labels.title, text(TITLE_SIZE));
    }
    let mut chart = builder.build_cartesian_2d(x, y)?;

    let mut mesh = chart.configure_mesh();
    mesh.label_style(text(TICK_SIZE)).axis_desc_style(text(LABEL_SIZE));
    if !axes.log_x {
        mesh.x_label_formatter(&tick_label);
    }
    if !axes.log_y {
        mesh.y_label_formatter(&tick_label);
    }
    mesh.light_line_style(WHITE.mix(0.0)).x_desc(labels.x).y_desc(labels.y).draw()?;

    for (i, s) in series.iter().enumerate() {
        let colour = set_colour(i);
        chart.draw_series(LineSeries::new(s.points.iter().copied(), colour.stroke_width(2)))?;
        if axes.markers {
            let dot = |&(x, y): &(f64, f64)| Circle::new((x, y), 3, colour.filled());
            chart.draw_series(s.points.iter().map(dot))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_two_five_ticks_cover_the_range_and_no_more() {
        assert_eq!(one_two_five(0.8..130.0), vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]);
        assert_eq!(one_two_five(2.0..5.0), vec![2.0, 5.0]);
        assert_eq!(one_two_five(0.03..0.3), vec![0.05, 0.1, 0.2]);
        assert!(one_two_five(0.0..1.0).is_empty());
    }

    #[test]
    fn log_ticks_label_one_two_five_only() {
        let label = |v: f64| log_tick(&v);
        assert_eq!(label(0.01), "0.01");
        assert_eq!(label(0.02), "0.02");
        assert_eq!(label(0.03), "");
        assert_eq!(label(0.5), "0.5");
        assert_eq!(label(1.0), "1");
        assert_eq!(label(200.0), "200");
        assert_eq!(label(7000.0), "");
        assert_eq!(label(1e7), "1e7");
        assert_eq!(label(2e-6), "2e-6");
        assert_eq!(label(0.09999999999999999), "0.1");
    }
}
