//! # flowmatching
//!
//! Flow matching generative models, from the maths to the command line.
//!
//! Flow matching trains a network v_theta(x, t) to regress the velocity of a chosen probability
//! path between a base distribution p_0 (standard Gaussian noise) and the data distribution p_1;
//! sampling integrates dx/dt = v_theta(x, t) from noise to data.
//!
//! **Time convention, everywhere in this crate: t = 0 is noise, t = 1 is data.**
//!
//! Modules, one concept each:
//! - [`data`]: target distributions (with exact densities where they exist) and data loading;
//! - [`path`]: probability paths (schedulers) and couplings of noise with data;
//! - [`model`]: the velocity network, its hand-written forward/backward, AdamW and checkpoints;
//! - [`train`]: the conditional flow matching training loop;
//! - [`solve`]: ODE solvers that turn a velocity field into samples;
//! - [`likelihood`]: exact log-densities through the instantaneous change of variables;
//! - [`metrics`]: sample quality against an exact target or a reference sample;
//! - [`plot`] and [`report`]: pictures and tables of results.
#![deny(missing_docs)]

pub mod atomic;
pub mod data;
pub mod error;
pub mod flow;
pub mod likelihood;
pub mod metrics;
pub mod model;
pub mod path;
pub mod plot;
pub mod report;
pub mod rng;
pub mod solve;
pub mod train;

pub use error::{Error, Result};
