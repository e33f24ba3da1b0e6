//! The machinery every plot shares: the embedded font, colours, text sizes, rendering into
//! memory and the atomic PNG write.
//!
//! A plot is drawn into an RGB buffer in memory, encoded as PNG into a temporary file beside the
//! destination, and renamed over it. A failed plot therefore never leaves a half-written file
//! where the user's old one was.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::{Error, Result};

/// A drawing area over the in-memory bitmap, in pixel coordinates.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What drawing code returns: any plotters error, mapped to [`Error::Plot`] by [`render`].
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// The font family every text uses. DejaVu Sans is registered under plotters' default family
/// name, so plotters' own defaults (tick labels, legends) find it too.
pub(crate) const FONT: &str = "sans-serif";

/// Text sizes in pixels.
pub(crate) const TITLE_SIZE: f64 = 24.0;
/// Axis descriptions and panel titles.
pub(crate) const LABEL_SIZE: f64 = 18.0;
/// Tick labels and legend entries.
pub(crate) const TICK_SIZE: f64 = 14.0;

/// Size of a single chart.
pub(crate) const CHART_SIZE: (u32, u32) = (900, 500);

/// The colour of exact densities and of the truth in general.
pub(crate) const TRUTH: RGBColor = RGBColor(0, 0, 0);

/// Ten distinguishable colours for labelled sets, in order (no black: black is the truth).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th labelled set; the palette repeats after ten.
pub(crate) fn set_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Anchors of the viridis colour map at 0, 1/4, 1/2, 3/4 and 1.
const VIRIDIS: [(f64, f64, f64); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];

/// Viridis at `u` in [0, 1] (clamped), linearly interpolated between its anchors.
pub(crate) fn viridis(u: f64) -> RGBColor {
    let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
    let s = u * (VIRIDIS.len() - 1) as f64;
    let i = (s.floor() as usize).min(VIRIDIS.len() - 2);
    let f = s - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: f64, q: f64| (p + f * (q - p)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A text style in the embedded font.
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// Registers DejaVu Sans (regular and bold) with plotters, once per process.
fn ensure_font(path: &Path) -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        let regular = register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok();
        let bold = register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok();
        regular && bold
    });
    if ok {
        Ok(())
    } else {
        Err(plot_error(path, "the embedded DejaVu Sans font could not be loaded"))
    }
}

/// The label of a tick on a linear axis: whole numbers without a decimal point (`400`, not
/// `400.0`), others with the decimals they need (up to six; the float noise of tick arithmetic
/// is rounded off), and a short exponent form below 1e-6 or from 1e6 up.
pub(crate) fn tick_label(value: &f64) -> String {
    let v = *value;
    let magnitude = v.abs();
    if magnitude != 0.0 && !(1e-6..1e6).contains(&magnitude) {
        let exponent = magnitude.log10().floor();
        let mantissa = v / 10f64.powf(exponent);
        return format!("{}e{}", trimmed(format!("{mantissa:.3}")), exponent as i32);
    }
    trimmed(format!("{v:.6}"))
}

/// A fixed-point number without trailing zeros, its point dropped when nothing follows, and
/// `-0` written as `0`.
fn trimmed(fixed: String) -> String {
    let text = if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        fixed
    };
    if text == "-0" {
        "0".to_string()
    } else {
        text
    }
}

/// An [`Error::Plot`] for `path`.
pub(crate) fn plot_error(path: &Path, message: impl ToString) -> Error {
    Error::Plot { path: path.to_path_buf(), message: message.to_string() }
}

/// Draws an image of `size` pixels on a white background with `draw`, then writes it as PNG
/// to `path` atomically.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<()> {
    ensure_font(path)?;

    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
        draw(&root).map_err(|e| plot_error(path, e))?;
        root.present().map_err(|e| plot_error(path, e))?;
    }

    write_png_atomic(path, size, &rgb)
}

/// Encodes `rgb` (row-major, 3 bytes a pixel) as PNG into a temporary file in the directory of
/// `path`, then renames it to `path`. On failure the temporary file is removed and `path` is
/// untouched; the error names `path`.
fn write_png_atomic(path: &Path, size: (u32, u32), rgb: &[u8]) -> Result<()> {
    let png = encode_png(size, rgb).map_err(|e| Error::io(path, e))?;
    crate::atomic::write(path, &png).map_err(|e| Error::io(path, e))
}

/// Encodes an 8-bit RGB image as PNG bytes.
fn encode_png((width, height): (u32, u32), rgb: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(into_io)?;
    writer.write_image_data(rgb).map_err(into_io)?;
    writer.finish().map_err(into_io)?;
    Ok(out)
}

/// Keeps an I/O error as it is; wraps an encoder error as an I/O error.
fn into_io(e: png::EncodingError) -> std::io::Error {
    match e {
        png::EncodingError::IoError(e) => e,
        other => std::io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_written_numbers() {
        let label = |v: f64| tick_label(&v);
        assert_eq!(label(400.0), "400");
        assert_eq!(label(-10.0), "-10");
        assert_eq!(label(0.0), "0");
        assert_eq!(label(-0.0), "0");
        assert_eq!(label(2.5), "2.5");
        assert_eq!(label(0.1 + 0.2), "0.3");
        assert_eq!(label(0.0125), "0.0125");
        assert_eq!(label(-0.000_25), "-0.00025");
        assert_eq!(label(2_500_000.0), "2.5e6");
        assert_eq!(label(3e-9), "3e-9");
    }

    #[test]
    fn viridis_hits_its_anchors_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(0.5), RGBColor(33, 145, 140));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(0.125), RGBColor(64, 42, 112)); // halfway between the first two
    }
}
