//! Forward, forward-mode tangent and backward passes over batches, in parallel chunks.
//!
//! Callers' buffers are batch-first and row-major: `x` is `n x d`, `t` is `n`. Inside, a layer
//! is z = h W^T + b, one product per chunk of rows (column-major, see `linalg`), followed for
//! hidden layers by the fused bias + SiLU pass a = z s(z), s(z) = 1 / (1 + e^{-z}); training
//! and tangents keep z and s(z), since SiLU'(z) = s(z) (1 + z (1 - s(z))).
//!
//! Rows are cut into chunks of [`CHUNK_ROWS`]; consecutive chunks form groups, one rayon task
//! and one [`Workspace`] scratch slot per group. Every chunk writes its own output rows and, in
//! training, its own gradient buffer; these are then summed chunk 0, 1, 2, ... So results are
//! bit-identical whatever the number of threads. Once a workspace has grown to the largest
//! batch seen, our passes allocate nothing (matrixmultiply still takes its small packing
//! buffers for each product).

use rayon::prelude::*;

use super::embedding::{embed, embed_columns};
use super::kernels::{
    add_bias_columns, bias_silu, bias_silu_keep, column_sums, output_to_loss_grad, silu_chain,
    sum_chunks_in_order, transpose,
};
use super::linalg::{cross, product, MatRef};
use super::net::{Grads, LayerShape, VelocityNet};
use super::scalar::Scalar;
use crate::{Error, Result};

/// Rows per chunk: the unit of parallel work and of the fixed gradient summation order.
pub const CHUNK_ROWS: usize = 128;

/// Reusable buffers for the network passes. Create once and pass to every call; it resizes
/// itself when the batch grows or the network's shape changes.
#[derive(Debug, Clone, Default)]
pub struct Workspace<T> {
    shape: Option<(usize, usize, usize, usize)>,
    slots: Vec<Scratch<T>>,
    chunk_grads: Vec<T>,
    chunk_sq_err: Vec<T>,
    emb: Vec<T>,
    first_bias: Vec<T>,
    /// Every layer's W^T, row-major `[inputs, outputs]` at the weight's offset, refreshed at
    /// the start of each pass: as the right factor of a product it is then read row by row.
    weights_t: Vec<T>,
}

impl<T: Scalar> Workspace<T> {
    /// An empty workspace; it grows on first use.
    pub fn new() -> Self {
        Workspace {
            shape: None,
            slots: Vec::new(),
            chunk_grads: Vec::new(),
            chunk_sq_err: Vec::new(),
            emb: Vec::new(),
            first_bias: Vec::new(),
            weights_t: Vec::new(),
        }
    }

    /// Sizes the workspace for `net` and a batch of `n` rows and transposes the weights;
    /// returns how rows are split.
    fn prepare(&mut self, net: &VelocityNet<T>, n: usize) -> Plan {
        let c = net.config();
        let shape = (c.dim, c.hidden, c.depth, c.t_dim);
        if self.shape != Some(shape) {
            self.slots.clear();
            self.shape = Some(shape);
            self.emb = vec![T::ZERO; c.t_dim];
            self.first_bias = vec![T::ZERO; c.hidden];
        }
        self.weights_t.resize(net.num_params(), T::ZERO);
        for (l, layer) in net.layers().iter().enumerate() {
            let w_t = &mut self.weights_t[layer.weight_offset..layer.bias_offset];
            transpose(net.weight(l), layer.inputs, w_t);
        }

        let plan = Plan::new(n);
        while self.slots.len() < plan.groups {
            self.slots.push(Scratch::new(net));
        }
        plan
    }
}

/// How a batch is cut: `chunks` chunks of [`CHUNK_ROWS`] rows (the last may be shorter),
/// `chunks_per_group` consecutive chunks per rayon task.
#[derive(Debug, Clone, Copy)]
struct Plan {
    chunks: usize,
    groups: usize,
    chunks_per_group: usize,
}

impl Plan {
    fn new(n: usize) -> Self {
        let chunks = n.div_ceil(CHUNK_ROWS);
        // A few tasks per thread lets rayon balance uneven cores; the split never changes
        // results, only which scratch slot a chunk borrows.
        let target_groups = 4 * rayon::current_num_threads().max(1);
        let chunks_per_group = chunks.div_ceil(target_groups).max(1);
        Plan { chunks, groups: chunks.div_ceil(chunks_per_group), chunks_per_group }
    }

    fn group_rows(&self) -> usize {
        self.chunks_per_group * CHUNK_ROWS
    }
}

/// Per-task buffers, each sized for [`CHUNK_ROWS`] rows and laid out column-major (see
/// `linalg`): a w-wide buffer of a chunk with `rows` rows holds w contiguous columns.
#[derive(Debug, Clone, Default)]
struct Scratch<T> {
    /// First-layer input [x, emb(t)], `d + t_dim` columns.
    h0: Vec<T>,
    /// x or a tangent dx of the chunk, d columns.
    x: Vec<T>,
    /// Pre-activations z, sigmoids s(z) and activations a of each hidden layer.
    z: Vec<Vec<T>>,
    s: Vec<Vec<T>>,
    a: Vec<Vec<T>>,
    /// Gradients or tangents flowing between hidden layers (two, to ping-pong).
    g: Vec<T>,
    g_next: Vec<T>,
    /// Network output, d columns; in training overwritten by dL/d(output).
    out: Vec<T>,
}

impl<T: Scalar> Scratch<T> {
    fn new(net: &VelocityNet<T>) -> Self {
        let c = net.config();
        let layer = || vec![T::ZERO; CHUNK_ROWS * c.hidden];
        Scratch {
            h0: vec![T::ZERO; CHUNK_ROWS * c.input_dim()],
            x: vec![T::ZERO; CHUNK_ROWS * c.dim],
            z: (0..c.depth).map(|_| layer()).collect(),
            s: (0..c.depth).map(|_| layer()).collect(),
            a: (0..c.depth).map(|_| layer()).collect(),
            g: layer(),
            g_next: layer(),
            out: vec![T::ZERO; CHUNK_ROWS * c.dim],
        }
    }
}

/// What feeds the first layer.
#[derive(Clone, Copy)]
enum FirstLayer<'a, T> {
    /// Each row has its own time: build [x, emb(t_i)] and use the full first layer.
    PerRow(&'a [T]),
    /// All rows share one time, whose embedding is already folded into this bias
    /// b_0 + W_0[:, d..] emb(t); only the x columns of W_0 remain.
    Shared(&'a [T]),
}

/// Whether a forward pass keeps z and s(z) for a backward or tangent pass.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Activations,
    Nothing,
}

impl<T: Scalar> VelocityNet<T> {
    /// v(x_i, t_i) for every row: `x` is `n x d`, `t` has the n times, `out` is `n x d`.
    pub fn forward(&self, x: &[T], t: &[T], out: &mut [T], ws: &mut Workspace<T>) -> Result<()> {
        let n = t.len();
        let d = self.dim();
        check_len("forward: x", x.len(), n * d)?;
        check_len("forward: out", out.len(), n * d)?;

        let plan = ws.prepare(self, n);
        let w_t = &ws.weights_t;
        for_each_chunk(&plan, &mut ws.slots, out, d, |r0, scratch, out_c| {
            let rows = out_c.len() / d;
            let (x_c, t_c) = (&x[r0 * d..(r0 + rows) * d], &t[r0..r0 + rows]);
            let first = FirstLayer::PerRow(t_c);
            self.chunk_forward(w_t, first, x_c, rows, scratch, Keep::Nothing);
            transpose(&scratch.out[..rows * d], rows, out_c);
        });
        Ok(())
    }

    /// v(x_i, t) for every row at one shared time `t` (ODE sampling).
    ///
    /// The time embedding and its first-layer product are computed once per call and folded
    /// into the first bias, so each row costs only a d-wide first layer. Agrees with
    /// [`forward`](Self::forward) up to float rounding (sums are taken in another order).
    pub fn forward_shared_t(
        &self,
        x: &[T],
        t: T,
        out: &mut [T],
        ws: &mut Workspace<T>,
    ) -> Result<()> {
        let d = self.dim();
        check_len("forward_shared_t: out", out.len(), x.len())?;
        let n = rows_of("forward_shared_t: x", x.len(), d)?;

        let plan = ws.prepare(self, n);
        self.fold_time_into_bias(t, &mut ws.emb, &mut ws.first_bias);
        let (first_bias, w_t) = (&ws.first_bias, &ws.weights_t);
        for_each_chunk(&plan, &mut ws.slots, out, d, |r0, scratch, out_c| {
            let rows = out_c.len() / d;
            let x_c = &x[r0 * d..(r0 + rows) * d];
            let first = FirstLayer::Shared(first_bias);
            self.chunk_forward(w_t, first, x_c, rows, scratch, Keep::Nothing);
            transpose(&scratch.out[..rows * d], rows, out_c);
        });
        Ok(())
    }

    /// v(x_i, t) and the Jacobian-vector product J_x v(x_i, t) dx_i for every row, at one
    /// shared time (the tangent of t is zero). `x`, `dx`, `out`, `dout` are all `n x d`.
    ///
    /// d calls with the unit vectors give the exact divergence; random `dx` give Hutchinson
    /// estimates.
    pub fn forward_jvp(
        &self,
        x: &[T],
        t: T,
        dx: &[T],
        out: &mut [T],
        dout: &mut [T],
        ws: &mut Workspace<T>,
    ) -> Result<()> {
        let d = self.dim();
        let n = rows_of("forward_jvp: x", x.len(), d)?;
        check_len("forward_jvp: dx", dx.len(), x.len())?;
        check_len("forward_jvp: out", out.len(), x.len())?;
        check_len("forward_jvp: dout", dout.len(), x.len())?;

        let plan = ws.prepare(self, n);
        self.fold_time_into_bias(t, &mut ws.emb, &mut ws.first_bias);
        let (first_bias, w_t) = (&ws.first_bias, &ws.weights_t);
        let group_len = plan.group_rows() * d;
        ws.slots[..plan.groups]
            .par_iter_mut()
            .zip(out.par_chunks_mut(group_len).zip(dout.par_chunks_mut(group_len)))
            .enumerate()
            .for_each(|(g, (scratch, (out_g, dout_g)))| {
                let chunks =
                    out_g.chunks_mut(CHUNK_ROWS * d).zip(dout_g.chunks_mut(CHUNK_ROWS * d));
                for (c, (out_c, dout_c)) in chunks.enumerate() {
                    let r0 = g * plan.group_rows() + c * CHUNK_ROWS;
                    let rows = out_c.len() / d;
                    let (x_c, dx_c) = (&x[r0 * d..(r0 + rows) * d], &dx[r0 * d..(r0 + rows) * d]);
                    let first = FirstLayer::Shared(first_bias);
                    self.chunk_forward(w_t, first, x_c, rows, scratch, Keep::Activations);
                    transpose(&scratch.out[..rows * d], rows, out_c);
                    self.chunk_tangent(w_t, dx_c, rows, scratch, dout_c);
                }
            });
        Ok(())
    }

    /// The mean squared error L = (1 / (n d)) sum_i |v(x_t_i, t_i) - target_i|^2 (PyTorch's
    /// `mse_loss` with mean reduction), returned, and its gradient with respect to every
    /// parameter, written into `grads`. `x_t` and `target` are `n x d`, `t` has n times.
    ///
    /// Fails with [`Error::NonFinite`] if the loss is NaN or infinite.
    pub fn loss_and_grad(
        &self,
        x_t: &[T],
        t: &[T],
        target: &[T],
        grads: &mut Grads<T>,
        ws: &mut Workspace<T>,
    ) -> Result<T> {
        let n = t.len();
        let d = self.dim();
        let p = self.num_params();
        if n == 0 {
            return Err(Error::setting("batch size", 0, "the loss needs at least one row"));
        }
        check_len("loss_and_grad: x_t", x_t.len(), n * d)?;
        check_len("loss_and_grad: target", target.len(), n * d)?;
        check_len("loss_and_grad: grads", grads.values.len(), p)?;

        let plan = ws.prepare(self, n);
        ws.chunk_grads.resize(plan.chunks * p, T::ZERO);
        ws.chunk_sq_err.resize(plan.chunks, T::ZERO);
        let scale = T::from_f64(2.0 / (n * d) as f64);
        let (grads_all, sq_all) =
            (&mut ws.chunk_grads[..plan.chunks * p], &mut ws.chunk_sq_err[..plan.chunks]);
        let w_t = &ws.weights_t;

        ws.slots[..plan.groups]
            .par_iter_mut()
            .zip(grads_all.par_chunks_mut(plan.chunks_per_group * p))
            .zip(sq_all.par_chunks_mut(plan.chunks_per_group))
            .enumerate()
            .for_each(|(g, ((scratch, grads_g), sq_g))| {
                for (c, (grad_c, sq_c)) in grads_g.chunks_mut(p).zip(sq_g).enumerate() {
                    let r0 = (g * plan.chunks_per_group + c) * CHUNK_ROWS;
                    let rows = CHUNK_ROWS.min(n - r0);
                    let range = r0 * d..(r0 + rows) * d;
                    let first = FirstLayer::PerRow(&t[r0..r0 + rows]);
                    let x_c = &x_t[range.clone()];
                    self.chunk_forward(w_t, first, x_c, rows, scratch, Keep::Activations);
                    *sq_c = output_to_loss_grad(
                        &mut scratch.out[..rows * d],
                        &target[range],
                        rows,
                        scale,
                    );
                    self.chunk_backward(rows, scratch, grad_c);
                }
            });

        sum_chunks_in_order(grads_all, p, &mut grads.values);
        let loss = sq_all.iter().copied().sum::<T>() / T::from_f64((n * d) as f64);
        if !loss.is_finite() {
            return Err(Error::NonFinite { context: "training loss (mean squared error)".into() });
        }
        Ok(loss)
    }

    /// Writes the time embedding of `t` (length t_dim) into `out`.
    pub fn time_embedding(&self, t: T, out: &mut [T]) {
        embed(t, &self.freqs, out);
    }

    /// first_bias = b_0 + W_0[:, d..] emb(t): the first layer's response to the time alone.
    fn fold_time_into_bias(&self, t: T, emb: &mut [T], first_bias: &mut [T]) {
        let d = self.dim();
        embed(t, &self.freqs, emb);
        let (w0, b0) = (self.weight(0), self.bias(0));
        let width = self.config.input_dim();
        for (j, fb) in first_bias.iter_mut().enumerate() {
            let w_time = &w0[j * width + d..(j + 1) * width];
            *fb = b0[j] + w_time.iter().zip(emb.iter()).map(|(w, e)| *w * *e).sum::<T>();
        }
    }

    /// Forward pass of one chunk of `rows` rows (`x` row-major); the output lands in
    /// `scratch.out`, column-major.
    fn chunk_forward(
        &self,
        w_t: &[T],
        first: FirstLayer<T>,
        x: &[T],
        rows: usize,
        scratch: &mut Scratch<T>,
        keep: Keep,
    ) {
        let c = &self.config;
        let (d, input_dim) = (c.dim, c.input_dim());

        let z0 = &mut scratch.z[0];
        let bias0 = match first {
            FirstLayer::PerRow(t) => {
                let h0 = &mut scratch.h0[..rows * input_dim];
                let (x_cols, emb_cols) = h0.split_at_mut(rows * d);
                transpose(x, d, x_cols);
                embed_columns(t, &self.freqs, emb_cols);
                product(h0, rows, self.weight_t(w_t, 0), z0);
                self.bias(0)
            }
            FirstLayer::Shared(first_bias) => {
                let x_cols = &mut scratch.x[..rows * d];
                transpose(x, d, x_cols);
                product(x_cols, rows, self.weight_t(w_t, 0).first_rows(d), z0);
                first_bias
            }
        };
        self.activate(0, bias0, rows, scratch, keep);

        for l in 1..c.depth {
            product(&scratch.a[l - 1], rows, self.weight_t(w_t, l), &mut scratch.z[l]);
            self.activate(l, self.bias(l), rows, scratch, keep);
        }

        let last = c.depth;
        product(&scratch.a[last - 1], rows, self.weight_t(w_t, last), &mut scratch.out);
        add_bias_columns(&mut scratch.out[..rows * d], self.bias(last));
    }

    /// W_l^T as a row-major `[inputs, outputs]` matrix, from the workspace's transposed copy.
    fn weight_t<'a>(&self, w_t: &'a [T], l: usize) -> MatRef<'a, T> {
        let layer = &self.layers[l];
        MatRef::row_major(&w_t[layer.weight_offset..layer.bias_offset], layer.inputs, layer.outputs)
    }

    /// Fused bias + SiLU of hidden layer `l`: z += b, a = z s(z), keeping z and s(z) if asked.
    fn activate(&self, l: usize, bias: &[T], rows: usize, scratch: &mut Scratch<T>, keep: Keep) {
        let len = rows * self.config.hidden;
        match keep {
            Keep::Nothing => {
                // In place (less data in cache), then z's buffer becomes the activation.
                bias_silu(&mut scratch.z[l][..len], bias);
                std::mem::swap(&mut scratch.z[l], &mut scratch.a[l]);
            }
            Keep::Activations => {
                let (z, s, a) = (&mut scratch.z[l], &mut scratch.s[l], &mut scratch.a[l]);
                bias_silu_keep(&mut z[..len], &mut s[..len], bias, &mut a[..len]);
            }
        }
    }

    /// Tangent pass of one chunk after a kept forward pass at a shared time:
    /// `dout` (row-major) = J_x v dx, row by row.
    fn chunk_tangent(
        &self,
        w_t: &[T],
        dx: &[T],
        rows: usize,
        scratch: &mut Scratch<T>,
        dout: &mut [T],
    ) {
        let c = &self.config;
        let (d, len) = (c.dim, rows * c.hidden);

        let dx_cols = &mut scratch.x[..rows * d];
        transpose(dx, d, dx_cols);
        product(dx_cols, rows, self.weight_t(w_t, 0).first_rows(d), &mut scratch.g);
        silu_chain(&mut scratch.g[..len], &scratch.z[0][..len], &scratch.s[0][..len]);

        for l in 1..c.depth {
            product(&scratch.g, rows, self.weight_t(w_t, l), &mut scratch.g_next);
            std::mem::swap(&mut scratch.g, &mut scratch.g_next);
            silu_chain(&mut scratch.g[..len], &scratch.z[l][..len], &scratch.s[l][..len]);
        }

        let dout_cols = &mut scratch.x[..rows * d];
        product(&scratch.g, rows, self.weight_t(w_t, c.depth), dout_cols);
        transpose(dout_cols, rows, dout);
    }

    /// Backward pass of one chunk after a kept forward pass with per-row times:
    /// `scratch.out` holds dL/d(output); every parameter's gradient is written (not added)
    /// into `grads`, in the parameter layout.
    fn chunk_backward(&self, rows: usize, scratch: &mut Scratch<T>, grads: &mut [T]) {
        let c = &self.config;
        let (d, hidden, len) = (c.dim, c.hidden, rows * c.hidden);

        // Output layer: dW = dout^T a, db = column sums of dout, g = dL/da = dout W.
        let last = &self.layers[c.depth];
        let (dw, db) = weight_and_bias(grads, last);
        let dout = &scratch.out[..rows * d];
        cross(dout, d, &scratch.a[c.depth - 1], hidden, rows, dw);
        column_sums(dout, db);
        let w = MatRef::row_major(self.weight(c.depth), d, hidden);
        product(dout, rows, w, &mut scratch.g);

        // Hidden layers, last to first: g = dL/dz, then dW = g^T input, db, dL/d(input).
        for l in (0..c.depth).rev() {
            silu_chain(&mut scratch.g[..len], &scratch.z[l][..len], &scratch.s[l][..len]);
            let layer = &self.layers[l];
            let input = if l == 0 { &scratch.h0 } else { &scratch.a[l - 1] };
            let (dw, db) = weight_and_bias(grads, layer);
            cross(&scratch.g, hidden, input, layer.inputs, rows, dw);
            column_sums(&scratch.g[..len], db);
            if l > 0 {
                let w = MatRef::row_major(self.weight(l), hidden, hidden);
                product(&scratch.g, rows, w, &mut scratch.g_next);
                std::mem::swap(&mut scratch.g, &mut scratch.g_next);
            }
        }
    }
}

/// Runs `body(first_row, scratch, out_rows)` over every chunk of a batch whose output has
/// `width` values per row, groups of chunks in parallel.
fn for_each_chunk<T, F>(plan: &Plan, slots: &mut [Scratch<T>], out: &mut [T], width: usize, body: F)
where
    T: Scalar,
    F: Fn(usize, &mut Scratch<T>, &mut [T]) + Sync,
{
    let group_rows = plan.group_rows();
    slots[..plan.groups]
        .par_iter_mut()
        .zip(out.par_chunks_mut(group_rows * width))
        .enumerate()
        .for_each(|(g, (scratch, out_g))| {
            for (c, out_c) in out_g.chunks_mut(CHUNK_ROWS * width).enumerate() {
                body(g * group_rows + c * CHUNK_ROWS, scratch, out_c);
            }
        });
}

/// The weight and bias gradient slices of one layer inside a flat gradient buffer.
fn weight_and_bias<'a, T>(grads: &'a mut [T], layer: &LayerShape) -> (&'a mut [T], &'a mut [T]) {
    grads[layer.weight_offset..layer.end()].split_at_mut(layer.bias_offset - layer.weight_offset)
}

fn check_len(context: &str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::DimensionMismatch { context: context.into(), expected, found })
    }
}

/// Number of rows of a row-major buffer with `width` columns.
fn rows_of(context: &str, len: usize, width: usize) -> Result<usize> {
    check_len(context, len, len.div_ceil(width) * width)?;
    Ok(len / width)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::model::linalg::allow_avx512;
    use crate::model::net::NetConfig;
    use crate::rng::{stream, Stream};
    use rand::Rng as _;

    /// Every pass of a small network over a batch that is not a multiple of the chunk size.
    fn all_passes(net: &VelocityNet<f32>, x: &[f32], t: &[f32]) -> Vec<Vec<f32>> {
        let mut ws = Workspace::new();
        let mut out = vec![0.0; x.len()];
        net.forward(x, t, &mut out, &mut ws).unwrap();
        let mut shared = vec![0.0; x.len()];
        net.forward_shared_t(x, 0.37, &mut shared, &mut ws).unwrap();
        let (mut jvp_out, mut jvp) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        net.forward_jvp(x, 0.81, &out, &mut jvp_out, &mut jvp, &mut ws).unwrap();
        let mut grads = Grads::new(net);
        let loss = net.loss_and_grad(x, t, &shared, &mut grads, &mut ws).unwrap();
        vec![out, shared, jvp_out, jvp, grads.as_slice().to_vec(), vec![loss]]
    }

    /// The AVX-512 kernels do the AVX2 kernels' arithmetic in wider registers, so every pass
    /// gives the same bits either way (on a CPU without AVX-512 both runs take AVX2).
    #[test]
    fn avx512_and_avx2_kernels_give_the_same_bits() {
        let config = NetConfig { dim: 3, hidden: 48, depth: 3, t_dim: 8, max_period: 1e4 };
        let net = VelocityNet::<f32>::new(config, &mut stream(5, Stream::Init)).unwrap();
        let mut rng = stream(5, Stream::Train);
        let n = 3 * CHUNK_ROWS + 17;
        let x: Vec<f32> = (0..n * 3).map(|_| rng.random_range(-3.0..3.0)).collect();
        let t: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();

        let wide = all_passes(&net, &x, &t);
        allow_avx512(false);
        let narrow = all_passes(&net, &x, &t);
        allow_avx512(true);
        for (pass, (a, b)) in wide.iter().zip(&narrow).enumerate() {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "pass {pass}");
        }
    }
}
