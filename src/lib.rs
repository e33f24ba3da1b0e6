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
//! - [`flow`]: a trained network with its data transform, the object to sample, encode and
//!   score likelihoods with, in the data's units; saved and loaded as a checkpoint;
//! - [`rng`]: seeded randomness, as ChaCha8 streams named by purpose or as the reference
//!   notebook's PyTorch and NumPy generators reproduced draw for draw;
//! - [`plot`] and [`report`]: pictures and tables of results; [`atomic`]: file writes that
//!   never leave a half-written file.
//!
//! The notebook's experiment in brief (a shorter run; `examples/mixture_1d.rs` is the whole
//! one, with the notebook's own random draws):
//!
//! ```
//! use flowmatching::data::mixture::GaussianMixture1d;
//! use flowmatching::flow::Flow;
//! use flowmatching::metrics::one_d::evaluate_1d;
//! use flowmatching::model::{NetConfig, VelocityNet};
//! use flowmatching::path::PathSpec;
//! use flowmatching::rng::{stream, Stream};
//! use flowmatching::solve::{SolveOptions, Solver};
//! use flowmatching::train::{train, DataPool, TrainConfig};
//!
//! # fn main() -> flowmatching::Result<()> {
//! let seed = 0;
//! let mixture = GaussianMixture1d::notebook(); // weights .2 .3 .1 .4 at -6, -2, 2, 6
//! let x_1 = mixture.sample(50_000, &mut stream(seed, Stream::Data));
//! let pool = DataPool::from_f64(1, &x_1)?;
//!
//! let mut net = VelocityNet::new(NetConfig::default(), &mut stream(seed, Stream::Init))?;
//! let path = PathSpec::parse("linear")?; // x_t = (1 - t) x_0 + t x_1, u_t = x_1 - x_0
//! let config = TrainConfig { steps: 1000, batch: 256, ..TrainConfig::default() };
//! train(&mut net, &pool, &path, &config, &mut stream(seed, Stream::Train), |_| {})?;
//!
//! let flow = Flow::from_net(net);
//! let heun = SolveOptions::new(Solver::Heun, 50); // from t = 0 (noise) to t = 1 (data)
//! let samples = flow.sample(5_000, &heun, &mut stream(seed, Stream::Sample))?;
//! assert_eq!(samples.nfe, 100);
//!
//! let metrics = evaluate_1d(&samples.x, &mixture)?;
//! // Every mode found, each holding its weight's share of the samples to within 0.1.
//! assert!(metrics.mode_fraction_max_abs_err < 0.1, "{:?}", metrics.mode_fractions);
//! # Ok(())
//! # }
//! ```
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
