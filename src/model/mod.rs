//! The velocity network v_theta(x, t): a small MLP with a sinusoidal time embedding, and the
//! hand-written engine that evaluates, differentiates and trains it.
//!
//! Time convention, as everywhere in flowmatching: t = 0 is noise, t = 1 is data.
//!
//! The network is the notebook's `VelocityNet`, for points x in R^d and times t:
//!
//! ```text
//! emb(t) = [sin(t f_k), cos(t f_k)]_k, f_k = exp(-ln(max_period) k / half), half = t_dim / 2
//! h_0    = [x, emb(t)]                                   (d + t_dim values)
//! h_l    = SiLU(W_{l-1} h_{l-1} + b_{l-1}),  l = 1..=depth   (hidden values each)
//! v      = W_depth h_depth + b_depth                     (d values)
//! ```
//!
//! with SiLU(z) = z / (1 + e^{-z}) and PyTorch's `Linear` layout (weights `[out, in]`).
//!
//! Everything works on batches stored batch-first and row-major (`x` is `n x d`):
//! - [`VelocityNet::forward`]: per-row times (training, probes);
//! - [`VelocityNet::forward_shared_t`]: one time for all rows (ODE sampling), with the time's
//!   contribution folded into the first bias;
//! - [`VelocityNet::forward_jvp`]: the tangent J_x v dx, for exact and Hutchinson divergences;
//! - [`VelocityNet::loss_and_grad`]: mean squared error and its gradient by backpropagation;
//! - [`AdamW`]: PyTorch's AdamW update;
//! - [`checkpoint`]: safetensors files that PyTorch's `load_state_dict` accepts.
//!
//! The engine is generic over [`Scalar`]: `f32` for real use, `f64` for gradient checks.
//! Work is split into fixed chunks of rows run on rayon threads, and gradients are summed over
//! chunks in a fixed order, so results do not depend on the number of threads.
//!
//! Limits: an exact divergence costs d tangent passes (one per coordinate); above a handful of
//! dimensions, Hutchinson probes are cheaper. In f32, results can differ in the last bit
//! between CPUs with and without AVX2+FMA; on one machine they are fixed.
//!
//! ```
//! use flowmatching::model::{AdamW, AdamWConfig, Grads, NetConfig, VelocityNet, Workspace};
//! use flowmatching::rng::{stream, Stream};
//!
//! let mut net = VelocityNet::<f32>::new(NetConfig::default(), &mut stream(0, Stream::Init))?;
//! let mut opt = AdamW::new(AdamWConfig::default(), net.num_params())?;
//! let (mut grads, mut ws) = (Grads::new(&net), Workspace::new());
//!
//! // One training step on a batch of (x_t, t, target velocity) rows, d = 1.
//! let (x_t, t, target) = (vec![0.5, -1.0], vec![0.25, 0.75], vec![1.0, 2.0]);
//! let loss = net.loss_and_grad(&x_t, &t, &target, &mut grads, &mut ws)?;
//! opt.step(&mut net, &grads)?;
//!
//! // One Euler step of dx/dt = v(x, t) for all rows at t = 0.
//! let mut x = vec![0.1f32, -0.3, 1.2];
//! let mut v = vec![0.0; x.len()];
//! net.forward_shared_t(&x, 0.0, &mut v, &mut ws)?;
//! x.iter_mut().zip(&v).for_each(|(x, v)| *x += 0.01 * v);
//! assert!(loss.is_finite() && x.iter().all(|x| x.is_finite()));
//! # Ok::<(), flowmatching::Error>(())
//! ```

mod adamw;
pub mod checkpoint;
mod embedding;
mod engine;
mod kernels;
mod linalg;
mod net;
mod scalar;

pub use adamw::{AdamW, AdamWConfig};
pub use checkpoint::Checkpoint;
pub use embedding::{embed as time_embedding, frequencies as time_frequencies};
pub use engine::{Workspace, CHUNK_ROWS};
pub use net::{Grads, LayerShape, NetConfig, VelocityNet};
pub use scalar::Scalar;
