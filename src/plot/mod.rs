//! PNG plots of data, samples, losses, trajectories and velocity fields.
//!
//! Pictures are how a person checks that a flow learned the right thing: a histogram of samples
//! under the exact density, W1 falling with the number of function evaluations, trajectories
//! bending from noise to data. This module only draws: it reads plain data (slices of f64,
//! points row-major as everywhere in the crate) and knows nothing of training, models or
//! solvers. The caller computes, the plot shows.
//!
//! **Time convention, as everywhere in flowmatching: t = 0 is noise, t = 1 is data.**
//!
//! Every function here:
//! - takes the output path first and writes one PNG of a fixed size (900 x 500 for a single
//!   chart; panels side by side grow the width);
//! - writes atomically: the image is drawn in memory, encoded into a hidden temporary file in
//!   the destination's directory and renamed over the destination, so an existing file is never
//!   left half-written; a directory that cannot be written gives [`crate::Error::Io`] naming
//!   the destination;
//! - rejects, before drawing, empty data ([`crate::Error::InvalidSetting`]), NaN and infinities
//!   ([`crate::Error::NonFinite`], naming the set and index), lengths that do not agree
//!   ([`crate::Error::DimensionMismatch`]) and empty ranges; nothing is skipped silently. Points
//!   outside an explicitly given range are simply outside the picture (histograms do not count
//!   them, but still normalise by the full sample size);
//! - renders text with DejaVu Sans embedded in the binary (no system fonts, no fontconfig);
//! - keeps legends in a column to the right of the chart, so they never hide data; exact
//!   densities are drawn in black, labelled sets in a fixed ten-colour palette, in order.
//!
//! The plots: [`histogram_1d`], [`line_chart`], [`velocity_slices`], [`trajectories`],
//! [`scatter_2d`] (optionally with shaded regions, e.g. the valid cells of a checkerboard),
//! [`heatmap_2d`], [`quiver`], [`paths_2d`] (trajectories in the plane), [`corner`] and
//! [`image_grid`].

mod canvas;
mod check;
mod corner;
mod hist;
mod images;
mod layout;
mod line;
mod panels;
mod paths;
mod quiver;
mod traj;

pub use corner::{corner, CornerSet};
pub use hist::{histogram_1d, Bins, Density, Samples1d};
pub use images::{image_grid, ImageGrid};
pub use line::{line_chart, velocity_slices, Axes, Series, VelocitySlice};
pub use panels::{heatmap_2d, scatter_2d, PointPanel};
pub use paths::{paths_2d, Paths2d};
pub use quiver::{quiver, VectorField};
pub use traj::{trajectories, Trajectories};

/// The title and axis descriptions of a chart; an empty string leaves that text out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Labels<'a> {
    /// Title above the chart.
    pub title: &'a str,
    /// Description under the x axis.
    pub x: &'a str,
    /// Description beside the y axis.
    pub y: &'a str,
}

/// An axis-aligned rectangle `[x.0, x.1] x [y.0, y.1]` in data coordinates: a view window
/// shared by panels, or a region to shade.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// Low and high x.
    pub x: (f64, f64),
    /// Low and high y.
    pub y: (f64, f64),
}
