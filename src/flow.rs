//! A trained flow: the velocity network together with the data transform it was trained in.
//!
//! The network never sees data units: it learns in standardised coordinates z = (x - m) / s
//! (the identity for built-in targets). This module is the one place that knows both, so
//! samples, velocities and log-densities come back in the data's own units:
//!
//! ```text
//! sample:     z(0) ~ N(0, I),  dz/dt = v_theta(z, t) from t = 0 to 1,  x = m + s z(1)
//! velocity:   dx/dt = s * v_theta((x - m) / s, t)
//! likelihood: log p_x(x) = log p_z(z) - sum_j ln s_j
//! ```
//!
//! It also adapts the f32 network to the f64 [`VelocityField`] interface of the solvers.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::standardize::Standardizer;
use crate::likelihood::{log_likelihood, LikelihoodOptions, LogLikelihood};
use crate::model::{checkpoint, VelocityNet, Workspace};
use crate::rng::{NoiseRng, Rng};
use crate::solve::{solve, JvpField, Solution, SolveOptions, VelocityField};
use crate::{Error, Result};

/// Checkpoint metadata key of the standardisation, as JSON.
pub const STANDARDIZER_KEY: &str = "flowmatching.standardizer";
/// Checkpoint metadata key of the [`FlowInfo`], as JSON.
pub const INFO_KEY: &str = "flowmatching.info";

/// What a checkpoint remembers about how its network was trained: free text for people
/// reading the checkpoint; nothing here changes how the flow computes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowInfo {
    /// The probability path spec, e.g. `linear` or `quadratic+ot`.
    pub path: String,
    /// What the data was, e.g. `checkerboard` (the command line's dataset names) or a file
    /// name.
    pub data: String,
    /// Column names of the data, when known.
    pub columns: Vec<String>,
    /// The seed of the training run.
    pub seed: u64,
    /// How the seed became random numbers: `notebook` (the notebook's generators,
    /// [`crate::rng::notebook`]) or `chacha` (the streams of [`crate::rng::stream`]); empty
    /// when unknown, as in checkpoints written before this was recorded.
    #[serde(default)]
    pub rng: String,
    /// Training steps taken.
    pub train_steps: usize,
}

/// A trained network with its standardisation and provenance.
#[derive(Debug, Clone)]
pub struct Flow {
    net: VelocityNet<f32>,
    standardizer: Standardizer,
    info: FlowInfo,
}

impl Flow {
    /// A network trained on the data as it is (no standardisation), with empty provenance:
    /// the shortest way from [`crate::train::train`] to sampling.
    pub fn from_net(net: VelocityNet<f32>) -> Self {
        let standardizer = Standardizer::identity(net.dim());
        Flow { net, standardizer, info: FlowInfo::default() }
    }

    /// Bundles a network with the transform it was trained in; their dimensions must agree.
    pub fn new(net: VelocityNet<f32>, standardizer: Standardizer, info: FlowInfo) -> Result<Self> {
        if standardizer.dim() != net.dim() {
            return Err(Error::DimensionMismatch {
                context: "standardizer vs network".into(),
                expected: net.dim(),
                found: standardizer.dim(),
            });
        }
        Ok(Flow { net, standardizer, info })
    }

    /// Dimension d of the data.
    pub fn dim(&self) -> usize {
        self.net.dim()
    }

    /// The network (in standardised units).
    pub fn net(&self) -> &VelocityNet<f32> {
        &self.net
    }

    /// The data transform.
    pub fn standardizer(&self) -> &Standardizer {
        &self.standardizer
    }

    /// Provenance of the training run.
    pub fn info(&self) -> &FlowInfo {
        &self.info
    }

    /// Writes a safetensors checkpoint (PyTorch's tensor names and layout) with our metadata.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut extra = BTreeMap::new();
        extra.insert(STANDARDIZER_KEY.to_string(), to_json(path, &self.standardizer)?);
        extra.insert(INFO_KEY.to_string(), to_json(path, &self.info)?);
        checkpoint::save(path, &self.net, &extra)
    }

    /// Reads a checkpoint written by [`Flow::save`], or a bare PyTorch state dict of the
    /// notebook's network (then the standardisation is the identity).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        Flow::from_bytes(&bytes, path)
    }

    /// Decodes a checkpoint held in memory, as [`Flow::load`] does; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let ckpt = checkpoint::from_bytes::<f32>(bytes, path)?;
        let d = ckpt.net.dim();
        let bad = |key: &str, e: serde_json::Error| Error::Checkpoint {
            path: path.to_path_buf(),
            message: format!("metadata {key} is not valid: {e}"),
        };

        let standardizer = match ckpt.extra.get(STANDARDIZER_KEY) {
            Some(text) => serde_json::from_str(text).map_err(|e| bad(STANDARDIZER_KEY, e))?,
            None => Standardizer::identity(d),
        };
        let info = match ckpt.extra.get(INFO_KEY) {
            Some(text) => serde_json::from_str(text).map_err(|e| bad(INFO_KEY, e))?,
            None => FlowInfo::default(),
        };
        Flow::new(ckpt.net, standardizer, info)
            .map_err(|e| Error::Checkpoint { path: path.to_path_buf(), message: e.to_string() })
    }

    /// The network as an ODE field in standardised units.
    pub fn field(&self) -> NetField<'_> {
        NetField::new(&self.net)
    }

    /// Draws `n` noise points z(0) ~ N(0, I) from `rng`, row-major `n * d`.
    pub fn noise(&self, n: usize, rng: &mut impl NoiseRng) -> Vec<f64> {
        let mut z = vec![0.0; n * self.dim()];
        rng.standard_normals(&mut z);
        z
    }

    /// Integrates from noise `z_0` (standardised units) at t = 0 to t = 1 and returns the
    /// solution with `x` (and any recorded trajectory) mapped to data units.
    ///
    /// A column that was constant in the training data comes back exactly at that constant in
    /// `x` (the network only approximately collapses its noise to a point; a point mass is what
    /// the data showed). Recorded trajectories are left as integrated.
    pub fn generate(&self, z_0: &[f64], options: &SolveOptions) -> Result<Solution> {
        self.generate_with(&mut self.field(), z_0, options)
    }

    /// Draws `n` noise points from `rng` and integrates them to data; see [`Flow::generate`].
    pub fn sample(
        &self,
        n: usize,
        options: &SolveOptions,
        rng: &mut impl NoiseRng,
    ) -> Result<Solution> {
        let z_0 = self.noise(n, rng);
        self.generate(&z_0, options)
    }

    /// Draws `n` samples in chunks of at most `chunk` rows, so that the solver's buffers hold
    /// one chunk at a time; the samples of all chunks are returned together.
    ///
    /// Noise is drawn from `rng` chunk by chunk, in row order, so the chunks together use
    /// exactly the draws [`Flow::sample`] would. Each row is integrated on its own (the
    /// network evaluates rows independently), so with a fixed-step solver the samples are
    /// identical to [`Flow::sample`]'s for the same seed, whatever `chunk` is. Dopri5 picks
    /// its steps per chunk (every point's local error still within tolerance), so its samples
    /// depend on `chunk`.
    ///
    /// `on_chunk` is told the number of rows finished after each chunk (for a progress bar).
    /// In the returned solution, `nfe`, `steps` and `rejected` are the largest over chunks
    /// (what one point went through), and each snapshot of the trajectory holds all rows.
    pub fn sample_chunked(
        &self,
        n: usize,
        chunk: usize,
        options: &SolveOptions,
        rng: &mut impl NoiseRng,
        mut on_chunk: impl FnMut(usize),
    ) -> Result<Solution> {
        let mut all = Solution { x: Vec::new(), nfe: 0, steps: 0, rejected: 0, trajectory: vec![] };
        all.x.reserve_exact(n * self.dim());
        self.sample_each_chunk(n, chunk, options, rng, |rows_done, part| {
            append_chunk(&mut all, part);
            on_chunk(rows_done);
            Ok(())
        })?;
        Ok(all)
    }

    /// Draws `n` samples in chunks of at most `chunk` rows and hands each chunk's solution to
    /// `on_chunk` together with the number of rows finished, keeping nothing: memory stays
    /// bounded by one chunk whatever `n` is. Noise and results are those of
    /// [`Flow::sample_chunked`]; an error from `on_chunk` stops the sampling and is returned.
    pub fn sample_each_chunk(
        &self,
        n: usize,
        chunk: usize,
        options: &SolveOptions,
        rng: &mut impl NoiseRng,
        mut on_chunk: impl FnMut(usize, Solution) -> Result<()>,
    ) -> Result<()> {
        if chunk == 0 {
            return Err(Error::setting("sampling chunk", chunk, "must be at least 1 row"));
        }
        let mut field = self.field();
        let mut rows_done = 0;
        while rows_done < n {
            let rows = chunk.min(n - rows_done);
            let z_0 = self.noise(rows, rng);
            let solution = self.generate_with(&mut field, &z_0, options)?;
            rows_done += rows;
            on_chunk(rows_done, solution)?;
        }
        Ok(())
    }

    /// [`Flow::generate`] on a field that keeps its buffers from one call to the next.
    fn generate_with(
        &self,
        field: &mut NetField<'_>,
        z_0: &[f64],
        options: &SolveOptions,
    ) -> Result<Solution> {
        let mut solution = solve(field, z_0, 0.0, 1.0, options)?;
        let constant = self.standardizer.constant_columns();
        for row in solution.x.chunks_exact_mut(self.dim()) {
            for &j in &constant {
                row[j] = 0.0;
            }
        }
        self.standardizer.inverse_in_place(&mut solution.x)?;
        for snapshot in &mut solution.trajectory {
            self.standardizer.inverse_in_place(&mut snapshot.x)?;
        }
        Ok(solution)
    }

    /// Integrates data points `x_1` (data units) back from t = 1 to t = 0: their noise codes.
    pub fn encode(&self, x_1: &[f64], options: &SolveOptions) -> Result<Solution> {
        let z_1 = self.standardizer.forward(x_1)?;
        solve(&mut self.field(), &z_1, 1.0, 0.0, options)
    }

    /// dx/dt at data-unit points `x` (row-major `n * d`) and per-row times `t`.
    pub fn velocity(&self, x: &[f64], t: &[f64]) -> Result<Vec<f64>> {
        let d = self.dim();
        if x.len() != t.len() * d {
            return Err(Error::DimensionMismatch {
                context: "velocity: points vs times".into(),
                expected: t.len() * d,
                found: x.len(),
            });
        }
        let z: Vec<f32> = self.standardizer.forward(x)?.iter().map(|&v| v as f32).collect();
        let t: Vec<f32> = t.iter().map(|&v| v as f32).collect();
        let mut v = vec![0.0f32; z.len()];
        self.net.forward(&z, &t, &mut v, &mut Workspace::new())?;

        let scale = self.standardizer.scale();
        let v: Vec<f64> = v.iter().enumerate().map(|(i, &v)| f64::from(v) * scale[i % d]).collect();
        if v.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite { context: "network velocity".into() });
        }
        Ok(v)
    }

    /// log p_1(x) in data units for each row of `x_1`, by the instantaneous change of variables
    /// (see [`crate::likelihood`]).
    ///
    /// Errors with [`Error::InvalidSetting`] when the training data had a constant column: the
    /// flow keeps such a column at its value, a point mass, which has no density.
    pub fn log_likelihood(
        &self,
        x_1: &[f64],
        options: &LikelihoodOptions,
        rng: &mut Rng,
    ) -> Result<LogLikelihood> {
        let constant = self.standardizer.constant_columns();
        if !constant.is_empty() {
            return Err(Error::setting(
                "columns of the flow's data",
                format!("{constant:?} (0-based)"),
                "constant in the training data: the flow is a point mass in them, which has no \
                 density",
            ));
        }
        let z_1 = self.standardizer.forward(x_1)?;
        let mut result = log_likelihood(&mut self.field(), &z_1, options, rng)?;
        for log_p in &mut result.log_p_1 {
            *log_p = self.standardizer.log_density_in_data_units(*log_p);
        }
        Ok(result)
    }
}

/// Appends one chunk's solution to the running total of [`Flow::sample_chunked`].
fn append_chunk(all: &mut Solution, part: Solution) {
    all.x.extend_from_slice(&part.x);
    all.nfe = all.nfe.max(part.nfe);
    all.steps = all.steps.max(part.steps);
    all.rejected = all.rejected.max(part.rejected);
    if all.trajectory.is_empty() {
        all.trajectory = part.trajectory;
        return;
    }
    for (snapshot, part_snapshot) in all.trajectory.iter_mut().zip(part.trajectory) {
        snapshot.x.extend_from_slice(&part_snapshot.x);
    }
}

fn to_json<T: Serialize>(path: &Path, value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Checkpoint { path: path.to_path_buf(), message: e.to_string() })
}

/// The f32 network seen as an f64 [`VelocityField`] with all rows at one time.
///
/// Holds its own buffers, so repeated evaluations allocate nothing after the first.
pub struct NetField<'a> {
    net: &'a VelocityNet<f32>,
    workspace: Workspace<f32>,
    x: Vec<f32>,
    v: Vec<f32>,
    dx: Vec<f32>,
    dv: Vec<f32>,
}

impl<'a> NetField<'a> {
    /// Wraps `net`.
    pub fn new(net: &'a VelocityNet<f32>) -> Self {
        NetField {
            net,
            workspace: Workspace::new(),
            x: Vec::new(),
            v: Vec::new(),
            dx: Vec::new(),
            dv: Vec::new(),
        }
    }
}

fn load_f32(buffer: &mut Vec<f32>, values: &[f64]) {
    buffer.clear();
    buffer.extend(values.iter().map(|&v| v as f32));
}

fn store_f64(out: &mut [f64], values: &[f32]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = f64::from(v);
    }
}

impl VelocityField for NetField<'_> {
    fn dim(&self) -> usize {
        self.net.dim()
    }

    fn eval(&mut self, t: f64, x: &[f64], v: &mut [f64]) {
        load_f32(&mut self.x, x);
        self.v.resize(x.len(), 0.0);
        // The solvers pass whole rows, so the shapes always agree; a mismatch is a bug here.
        self.net
            .forward_shared_t(&self.x, t as f32, &mut self.v, &mut self.workspace)
            .expect("solver passed a batch of whole rows");
        store_f64(v, &self.v);
    }
}

impl JvpField for NetField<'_> {
    fn eval_jvp(&mut self, t: f64, x: &[f64], dx: &[f64], v: &mut [f64], dv: &mut [f64]) {
        load_f32(&mut self.x, x);
        load_f32(&mut self.dx, dx);
        self.v.resize(x.len(), 0.0);
        self.dv.resize(x.len(), 0.0);
        self.net
            .forward_jvp(
                &self.x,
                t as f32,
                &self.dx,
                &mut self.v,
                &mut self.dv,
                &mut self.workspace,
            )
            .expect("solver passed a batch of whole rows");
        store_f64(v, &self.v);
        store_f64(dv, &self.dv);
    }
}
