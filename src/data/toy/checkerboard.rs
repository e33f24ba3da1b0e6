//! The reference notebook's checkerboard: uniform on alternate cells of a square board.
//!
//! The board [-h, h]^2 is cut into `cells x cells` squares of side w = 2h / cells. A point
//! (x, y) lies in column i = floor((x + h) / w) and row j = floor((y + h) / w) (cells are
//! half-open, [a, a + w)). The valid cells are those with **i + j odd**: the notebook's
//! `checkerboard[j, i] == 1` with `checkerboard = np.indices((4, 4)).sum(axis=0) % 2`, where i
//! comes from x and j from y. With the defaults (4 x 4 on [-4, 4]^2) the cell at the lower left,
//! [-4, -2) x [-4, -2), is empty and its right neighbour [-2, 0) x [-4, -2) is full.
//!
//! The density is uniform on the valid cells: p(x) = 1 / (number of valid cells * w^2), which
//! is 1/32 for the default board (8 cells of area 4), and 0 elsewhere.

use crate::data::toy::uniform;
use crate::data::Target;
use crate::rng::notebook::NumpyRandomState;
use crate::rng::Rng;
use crate::{Error, Result};
use rand::Rng as _;

/// Uniform points on the cells (i, j) of a square board with i + j odd.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkerboard {
    cells: usize,
    half_width: f64,
}

impl Default for Checkerboard {
    /// The notebook's board: 4 x 4 cells on [-4, 4]^2.
    fn default() -> Self {
        Checkerboard { cells: 4, half_width: 4.0 }
    }
}

impl Checkerboard {
    /// A board of `cells x cells` squares (at least 2) on [-half_width, half_width]^2.
    pub fn new(cells: usize, half_width: f64) -> Result<Self> {
        if cells < 2 {
            return Err(Error::setting("checkerboard cells", cells, "must be at least 2"));
        }
        super::check_positive("checkerboard half width", half_width, false)?;
        Ok(Checkerboard { cells, half_width })
    }

    /// Number of cells along each side.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// Half the side of the board, h.
    pub fn half_width(&self) -> f64 {
        self.half_width
    }

    /// Side of one cell, w = 2h / cells.
    pub fn cell_width(&self) -> f64 {
        2.0 * self.half_width / self.cells as f64
    }

    /// The cell (i, j) (column from x, row from y) holding (x, y), or `None` off the board or
    /// for a non-finite coordinate.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let index = |v: f64| {
            let k = ((v + self.half_width) / self.cell_width()).floor();
            (k >= 0.0 && k < self.cells as f64).then_some(k as usize)
        };
        Some((index(x)?, index(y)?))
    }

    /// Whether (x, y) lies in a valid cell (i + j odd).
    pub fn in_valid_cell(&self, x: f64, y: f64) -> bool {
        self.cell_of(x, y).is_some_and(|(i, j)| (i + j) % 2 == 1)
    }

    /// The valid cells (i, j), ordered by row j, then column i.
    pub fn valid_cells(&self) -> Vec<(usize, usize)> {
        let all = (0..self.cells).flat_map(|j| (0..self.cells).map(move |i| (i, j)));
        all.filter(|(i, j)| (i + j) % 2 == 1).collect()
    }

    /// The density on a valid cell: 1 / (number of valid cells * w^2).
    pub fn density(&self) -> f64 {
        1.0 / (self.valid_cells().len() as f64 * self.cell_width().powi(2))
    }

    /// Fraction of the 2D points in `samples` (row-major pairs) that lie in a valid cell; 0 for
    /// no points. Non-finite points count as invalid.
    pub fn valid_fraction(&self, samples: &[f64]) -> f64 {
        let n = samples.len() / 2;
        if n == 0 {
            return 0.0;
        }
        let valid = samples.chunks_exact(2).filter(|p| self.in_valid_cell(p[0], p[1])).count();
        valid as f64 / n as f64
    }

    /// How many of the points in `samples` fall in each valid cell, in [`Self::valid_cells`]
    /// order (for the per-cell fractions, 1/8 each under the true default board).
    pub fn valid_cell_counts(&self, samples: &[f64]) -> Vec<usize> {
        let cells = self.valid_cells();
        let mut counts = vec![0; cells.len()];
        for p in samples.chunks_exact(2) {
            if let Some(cell) = self.cell_of(p[0], p[1]) {
                if let Some(k) = cells.iter().position(|&c| c == cell) {
                    counts[k] += 1;
                }
            }
        }
        counts
    }
}

impl Target for Checkerboard {
    fn dim(&self) -> usize {
        2
    }

    /// Picks a valid cell uniformly, then a uniform point inside it.
    fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        let cells = self.valid_cells();
        let w = self.cell_width();
        let mut points = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let (i, j) = cells[rng.random_range(0..cells.len())];
            points.push(-self.half_width + (i as f64 + uniform(rng)) * w);
            points.push(-self.half_width + (j as f64 + uniform(rng)) * w);
        }
        points
    }

    /// The notebook's own sampler on NumPy's generator: x = `np.random.uniform(-h, h)`, then
    /// y likewise, kept when the cell `(int((x + h) / 2h * cells), int((y + h) / 2h * cells))`
    /// is valid, until n points are kept; each rounded to f32, as the notebook's training data
    /// is.
    fn sample_like_numpy(&self, n: usize, numpy: &mut NumpyRandomState) -> Option<Vec<f64>> {
        let h = self.half_width;
        let cell = |v: f64| ((v + h) / (2.0 * h) * self.cells as f64) as usize;
        let mut points = Vec::with_capacity(2 * n);
        while points.len() < 2 * n {
            let x = -h + 2.0 * h * numpy.random_sample();
            let y = -h + 2.0 * h * numpy.random_sample();
            if (cell(x) + cell(y)) % 2 == 1 {
                points.extend([f64::from(x as f32), f64::from(y as f32)]);
            }
        }
        Some(points)
    }

    /// ln(1 / (valid cells * w^2)) on a valid cell, -infinity elsewhere. `x` has length 2.
    fn log_density(&self, x: &[f64]) -> Option<f64> {
        let inside = self.in_valid_cell(x[0], x[1]);
        Some(if inside { self.density().ln() } else { f64::NEG_INFINITY })
    }

    fn name(&self) -> String {
        let h = self.half_width;
        format!("checkerboard {0}x{0} on [-{h}, {h}]^2", self.cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notebook_convention_i_from_x_j_from_y_valid_when_odd() {
        let board = Checkerboard::default();
        // checkerboard[j, i] = (i + j) % 2 with i = x cell, j = y cell.
        assert!(!board.in_valid_cell(-3.0, -3.0)); // (0, 0)
        assert!(board.in_valid_cell(-1.0, -3.0)); // (1, 0)
        assert!(board.in_valid_cell(-3.0, -1.0)); // (0, 1)
        assert!(!board.in_valid_cell(3.0, 3.0)); // (3, 3)
        assert!(board.in_valid_cell(3.0, 1.0)); // (3, 2)
        assert!(!board.in_valid_cell(4.0, 1.0)); // off the board (half-open cells)
        assert!(!board.in_valid_cell(f64::NAN, 1.0));
        assert_eq!(board.valid_cells().len(), 8);
        assert_eq!(board.density(), 1.0 / 32.0);
    }

    #[test]
    fn log_density_is_minus_ln_32_inside_and_minus_infinity_outside() {
        let board = Checkerboard::default();
        assert_eq!(board.log_density(&[-1.0, -3.0]), Some(-(32f64.ln())));
        assert_eq!(board.log_density(&[-3.0, -3.0]), Some(f64::NEG_INFINITY));
        assert_eq!(board.log_density(&[9.0, 0.5]), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(Checkerboard::new(1, 4.0).is_err());
        assert!(Checkerboard::new(4, 0.0).is_err());
        assert!(Checkerboard::new(4, f64::INFINITY).is_err());
        assert_eq!(Checkerboard::new(3, 1.5).unwrap().valid_cells().len(), 4);
    }
}
