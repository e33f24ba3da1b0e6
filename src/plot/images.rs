//! A grid of small grey images (e.g. 8 x 8 digits with values 0 to 16), data or samples.
//!
//! A value v is drawn grey level `(v - lo) / (hi - lo)` clamped to [0, 1]: `lo` is black and
//! `hi` white. Each image pixel becomes a square of `s x s` screen pixels, with s chosen so the
//! grid is about 880 pixels wide (at most 40, at least 1, and smaller if the grid would be
//! taller than 1500 pixels).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{render, text, TITLE_SIZE};
use super::check;
use crate::{Error, Result};

/// Blank pixels between tiles and around the grid.
const GAP: u32 = 4;
const BORDER: u32 = 10;

/// Images stored row-major: image j, row r, column c is `pixels[(j * height + r) * width + c]`.
#[derive(Clone, Copy, Debug)]
pub struct ImageGrid<'a> {
    /// All images, `n * height * width` values.
    pub pixels: &'a [f64],
    /// Rows of one image.
    pub height: usize,
    /// Columns of one image.
    pub width: usize,
    /// Tiles a row of the grid (fewer when there are fewer images).
    pub columns: usize,
    /// The values drawn black and white.
    pub range: (f64, f64),
}

/// Draws the images as tiles, left to right and top to bottom, under `title`.
///
/// Errors: a zero image size or column count, no images, a pixel count that is not a multiple
/// of `height * width`, a NaN or infinity, or an empty range.
pub fn image_grid(path: impl AsRef<Path>, title: &str, grid: &ImageGrid) -> Result<()> {
    let path = path.as_ref();
    let n = check_grid(grid)?;

    let columns = grid.columns.min(n);
    let rows = n.div_ceil(columns);
    let s = tile_scale(grid, columns, rows);
    let (tile_w, tile_h) = (grid.width as u32 * s, grid.height as u32 * s);
    let title_height = if title.is_empty() { 0 } else { 44 };
    let size = (
        2 * BORDER + columns as u32 * (tile_w + GAP) - GAP,
        title_height + 2 * BORDER + rows as u32 * (tile_h + GAP) - GAP,
    );

    render(path, size, |root| {
        if !title.is_empty() {
            let style = text(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw_text(title, &style, (size.0 as i32 / 2, 8))?;
        }
        let top = (title_height + BORDER) as i32;
        for (j, image) in grid.pixels.chunks_exact(grid.height * grid.width).enumerate() {
            let x0 = (BORDER + (j % columns) as u32 * (tile_w + GAP)) as i32;
            let y0 = top + ((j / columns) as u32 * (tile_h + GAP)) as i32;
            for (p, &v) in image.iter().enumerate() {
                let x = x0 + ((p % grid.width) as u32 * s) as i32;
                let y = y0 + ((p / grid.width) as u32 * s) as i32;
                let g = grey(v, grid.range);
                let square = [(x, y), (x + s as i32, y + s as i32)];
                root.draw(&Rectangle::new(square, RGBColor(g, g, g).filled()))?;
            }
        }
        Ok(())
    })
}

/// Validates the grid and returns the number of images.
fn check_grid(grid: &ImageGrid) -> Result<usize> {
    if grid.height == 0 || grid.width == 0 {
        let size = format!("{} x {}", grid.height, grid.width);
        return Err(Error::setting("image size", size, "an image needs at least one pixel"));
    }
    if grid.columns == 0 {
        return Err(Error::setting("columns", 0, "the grid needs at least one column"));
    }
    let n = check::rows("images", grid.pixels, grid.height * grid.width)?;
    check::non_empty("images", n)?;
    check::finite("image pixels", grid.pixels)?;
    check::range("image value range", grid.range)?;
    Ok(n)
}

/// Screen pixels per image pixel (see the module docs).
fn tile_scale(grid: &ImageGrid, columns: usize, rows: usize) -> u32 {
    let across = 880 / (columns * (grid.width + 1)).max(1);
    let down = 1500 / (rows * (grid.height + 1)).max(1);
    across.min(down).clamp(1, 40) as u32
}

/// The grey level of `v` on a scale from `lo` (0, black) to `hi` (255, white).
fn grey(v: f64, (lo, hi): (f64, f64)) -> u8 {
    (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_maps_the_range_onto_black_to_white_and_clamps() {
        assert_eq!(grey(0.0, (0.0, 16.0)), 0);
        assert_eq!(grey(16.0, (0.0, 16.0)), 255);
        assert_eq!(grey(8.0, (0.0, 16.0)), 128);
        assert_eq!(grey(-3.0, (0.0, 16.0)), 0);
        assert_eq!(grey(99.0, (0.0, 16.0)), 255);
    }

    #[test]
    fn tiles_fit_the_width_and_the_height() {
        let grid = ImageGrid { pixels: &[], height: 8, width: 8, columns: 10, range: (0.0, 1.0) };
        assert_eq!(tile_scale(&grid, 10, 1), 9); // 880 / 90
        assert_eq!(tile_scale(&grid, 10, 30), 5); // 1500 / 270
        assert_eq!(tile_scale(&grid, 1, 1), 40);
    }
}
