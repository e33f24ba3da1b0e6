//! Conditional flow matching training.
//!
//! Each step draws a batch of triples and regresses the network onto the path's conditional
//! velocity (time convention: t = 0 is noise, t = 1 is data):
//!
//! 1. sample: x_0 ~ N(0, I), x_1 resampled with replacement from the data pool, t ~ U[0, 1);
//! 2. couple: optionally re-pair x_0 with x_1 inside the batch (e.g. minibatch OT);
//! 3. interpolate: x_t and the target u_t from the probability path;
//! 4. predict and score: L = mean over the batch and dimensions of (v_theta(x_t, t) - u_t)^2;
//! 5. update: one AdamW step, at the learning rate of the run's [`LrSchedule`].
//!
//! This is the reference notebook's loop (which uses the linear path x_t = (1 - t) x_0 + t x_1,
//! u_t = x_1 - x_0) with the path and coupling made pluggable. The loop reports progress through
//! a callback and never prints.

use serde::{Deserialize, Serialize};

use crate::model::{AdamW, AdamWConfig, Grads, VelocityNet, Workspace};
use crate::path::{ConditionalPath as _, PathSpec};
use crate::rng::BatchRng;
use crate::{Error, Result};

/// Settings of one training run; `Default` is the reference notebook's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Number of optimisation steps.
    pub steps: usize,
    /// Triples (x_0, x_1, t) per step.
    pub batch: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay (PyTorch's default 0.01).
    pub weight_decay: f64,
    /// Keep the batch loss every `log_every` steps (and at the last step).
    pub log_every: usize,
    /// Decay of the exponential moving average of the weights that the run returns; 0 returns
    /// the last iterate (the notebook's choice). See [`WeightAverage`].
    pub ema_decay: f64,
    /// How the learning rate moves over the run (the notebook keeps it constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Steps of linear warm-up from lr / warmup to lr before the schedule starts.
    #[serde(default)]
    pub warmup_steps: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 2500,
            batch: 1024,
            lr: 2e-3,
            weight_decay: 0.01,
            log_every: 250,
            ema_decay: 0.0,
            lr_schedule: LrSchedule::Constant,
            warmup_steps: 0,
        }
    }
}

impl TrainConfig {
    /// Checks every setting, naming the field that is wrong and its value.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 {
            return Err(Error::setting("steps", self.steps, "must be at least 1"));
        }
        if self.batch == 0 {
            return Err(Error::setting("batch", self.batch, "must be at least 1"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::setting("lr", self.lr, "must be a positive number"));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::setting("weight_decay", self.weight_decay, "must be >= 0"));
        }
        if self.log_every == 0 {
            return Err(Error::setting("log_every", self.log_every, "must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return Err(Error::setting("ema_decay", self.ema_decay, "must be in [0, 1)"));
        }
        if self.warmup_steps >= self.steps {
            return Err(Error::setting(
                "warmup_steps",
                self.warmup_steps,
                format!("must be fewer than the {} training steps", self.steps),
            ));
        }
        Ok(())
    }

    /// The learning rate of step `step` (counted from 1), from the base rate, the warm-up and
    /// the schedule.
    pub fn lr_at(&self, step: usize) -> f64 {
        let warmup = self.warmup_steps;
        if step <= warmup {
            return self.lr * step as f64 / warmup as f64;
        }
        self.lr * self.lr_schedule.factor(step - warmup - 1, self.steps - warmup)
    }
}

/// The shape of the learning rate over the steps that follow the warm-up.
///
/// With `n` such steps, step i = 0, 1, ..., n - 1 runs at lr times
/// - `Constant`: 1 (the notebook's choice);
/// - `Cosine`: (1 + cos(pi i / n)) / 2, from 1 down towards 0 (PyTorch's `CosineAnnealingLR`
///   with `T_max = n` and `eta_min = 0`);
/// - `Linear`: 1 - i / n (PyTorch's `LinearLR` from 1 to 0 over n steps).
///
/// Neither decaying schedule reaches 0 within the run, so no step is wasted. Decaying the rate
/// lets the last iterates settle instead of jittering at the constant rate's noise level,
/// which sharpens what the network learns for the same number of steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate at every step.
    #[default]
    Constant,
    /// Half a cosine period from the base rate towards 0.
    Cosine,
    /// A straight line from the base rate towards 0.
    Linear,
}

impl LrSchedule {
    /// The multiplier of the base rate at step `i` (from 0) of `n`.
    pub fn factor(self, i: usize, n: usize) -> f64 {
        let progress = i as f64 / n.max(1) as f64;
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
            LrSchedule::Linear => 1.0 - progress,
        }
    }
}

/// What a training run leaves behind besides the trained weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainLog {
    /// `(step, batch loss)` every `log_every` steps, steps counted from 1.
    pub losses: Vec<(usize, f64)>,
    /// `(step, mean of the batch losses since the previous entry)` at the same steps: the trend
    /// under the batch-to-batch noise of `losses`.
    #[serde(default)]
    pub mean_losses: Vec<(usize, f64)>,
    /// Wall-clock seconds spent in the loop.
    pub seconds: f64,
}

/// One step's report to the progress callback.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// Step just finished, counted from 1.
    pub step: usize,
    /// The batch loss of that step.
    pub loss: f64,
}

/// The data the network learns: `n` points of dimension `dim`, row-major f32.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPool {
    dim: usize,
    values: Vec<f32>,
}

impl DataPool {
    /// Wraps row-major values; fails on an empty pool, a ragged length or a non-finite value.
    pub fn new(dim: usize, values: Vec<f32>) -> Result<Self> {
        if dim == 0 || values.is_empty() || values.len() % dim != 0 {
            return Err(Error::setting(
                "data pool",
                format!("{} values in dimension {dim}", values.len()),
                "needs at least one whole row",
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { context: format!("data pool row {}", i / dim) });
        }
        Ok(DataPool { dim, values })
    }

    /// Converts f64 rows (as drawn from a target or loaded from a file).
    pub fn from_f64(dim: usize, values: &[f64]) -> Result<Self> {
        Self::new(dim, values.iter().map(|&v| v as f32).collect())
    }

    /// Dimension of one point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.values.len() / self.dim
    }

    /// Whether the pool has no points (never true for a constructed pool).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Row-major values.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
}

/// Reusable buffers of one training batch.
struct Batch {
    x_0: Vec<f32>,
    x_1: Vec<f32>,
    t: Vec<f32>,
    x_t: Vec<f32>,
    u_t: Vec<f32>,
}

impl Batch {
    fn new(batch: usize, dim: usize) -> Self {
        Batch {
            x_0: vec![0.0; batch * dim],
            x_1: vec![0.0; batch * dim],
            t: vec![0.0; batch],
            x_t: vec![0.0; batch * dim],
            u_t: vec![0.0; batch * dim],
        }
    }

    /// Draws x_0 ~ N(0, I), x_1 from the pool with replacement, then t from the path's range.
    fn draw(&mut self, pool: &DataPool, path: &PathSpec, rng: &mut impl BatchRng) {
        rng.normals(&mut self.x_0);

        let d = pool.dim();
        let n_pool = pool.len();
        let values = pool.values();
        for row in self.x_1.chunks_exact_mut(d) {
            let j = rng.row(n_pool);
            // An element loop, not copy_from_slice: for the small d of most runs a memmove call
            // per row costs more than the copy.
            for (x, v) in row.iter_mut().zip(&values[j * d..(j + 1) * d]) {
                *x = *v;
            }
        }

        path.path.sample_times(rng, &mut self.t);
    }

    /// Draws a batch, pairs x_0 with x_1 by the path's coupling and computes (x_t, u_t).
    fn prepare(&mut self, pool: &DataPool, path: &PathSpec, rng: &mut impl BatchRng) -> Result<()> {
        self.draw(pool, path, rng);
        path.coupling.pair(&mut self.x_0, &self.x_1, pool.dim())?;
        let (x_0, x_1, t) = (&self.x_0, &self.x_1, &self.t);
        let noise = rng.other();
        path.path.sample_conditional(x_0, x_1, t, noise, &mut self.x_t, &mut self.u_t)
    }
}

/// Trains `net` in place on `pool` along `path` and returns the loss log.
///
/// Randomness comes only from `rng`: [`crate::rng::Stream::Train`] of the user's seed, or the
/// notebook's generators ([`crate::rng::notebook::NotebookRng`]); the same seed gives the same
/// weights whatever the thread count.
pub fn train(
    net: &mut VelocityNet<f32>,
    pool: &DataPool,
    path: &PathSpec,
    config: &TrainConfig,
    rng: &mut (impl BatchRng + Send),
    mut on_step: impl FnMut(StepInfo) + Send,
) -> Result<TrainLog> {
    config.validate()?;
    let d = pool.dim();
    if net.config().dim != d {
        return Err(Error::DimensionMismatch {
            context: "the network's dimension (NetConfig::dim) vs the training data's".into(),
            expected: net.config().dim,
            found: d,
        });
    }

    let mut batch = Batch::new(config.batch, d);
    let mut workspace = Workspace::new();
    let mut grads = Grads::new(net);
    let adamw =
        AdamWConfig { lr: config.lr, weight_decay: config.weight_decay, ..Default::default() };
    let mut optimizer = AdamW::new(adamw, net.num_params())?;
    let mut average = WeightAverage::new(config.ema_decay, net.num_params());
    let mut log = TrainLog::default();
    let started = std::time::Instant::now();

    // The loop runs on one of rayon's worker threads, so each step's parallel pass starts on
    // the calling worker at once and the others steal from it; from outside the pool every
    // step would hand its work to the pool and sleep until it came back (on one thread that
    // costs a tenth of the run). Where the loop runs does not change the results.
    let (mut window_sum, mut window_steps) = (0.0, 0);
    rayon::scope(|_| -> Result<()> {
        for step in 1..=config.steps {
            optimizer.set_lr(config.lr_at(step))?;
            batch.prepare(pool, path, rng)?;
            let loss = net
                .loss_and_grad(&batch.x_t, &batch.t, &batch.u_t, &mut grads, &mut workspace)
                .map_err(|e| match e {
                    Error::NonFinite { .. } => {
                        Error::NonFinite { context: format!("training loss at step {step}") }
                    }
                    other => other,
                })?;
            optimizer.step(net, &grads)?;
            average.update(net.params());

            let loss = f64::from(loss);
            window_sum += loss;
            window_steps += 1;
            if step % config.log_every == 0 || step == config.steps {
                log.losses.push((step, loss));
                log.mean_losses.push((step, window_sum / f64::from(window_steps)));
                (window_sum, window_steps) = (0.0, 0);
            }
            on_step(StepInfo { step, loss });
        }
        Ok(())
    })?;

    average.write_into(net.params_mut());
    log.seconds = started.elapsed().as_secs_f64();
    Ok(log)
}

/// An exponential moving average of the weights over the training iterates.
///
/// With decay beta, after k updates it holds
/// `theta_bar_k = (1 - beta) sum_{s <= k} beta^(k - s) theta_s / (1 - beta^k)`:
/// a weighted mean of the iterates with weights that sum to one (the division is the same bias
/// correction as Adam's, so the zero start leaves no trace). Averaging removes much of the
/// step-to-step noise that a constant learning rate leaves in the last iterate, which is why
/// flow matching practice samples from averaged weights. beta = 0 keeps the last iterate.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    decay: f64,
    steps: i32,
    sum: Vec<f64>,
}

impl WeightAverage {
    /// An empty average of `len` parameters with decay `decay` (0 disables it).
    pub fn new(decay: f64, len: usize) -> Self {
        let sum = if decay > 0.0 { vec![0.0; len] } else { Vec::new() };
        WeightAverage { decay, steps: 0, sum }
    }

    /// Folds in the current iterate.
    pub fn update(&mut self, params: &[f32]) {
        if self.sum.is_empty() {
            return;
        }
        let beta = self.decay;
        for (s, &p) in self.sum.iter_mut().zip(params) {
            *s = beta * *s + (1.0 - beta) * f64::from(p);
        }
        self.steps = self.steps.saturating_add(1);
    }

    /// Overwrites `params` with the bias-corrected average; leaves them alone when disabled
    /// or before the first update.
    pub fn write_into(&self, params: &mut [f32]) {
        if self.sum.is_empty() || self.steps == 0 {
            return;
        }
        let correction = 1.0 - self.decay.powi(self.steps);
        for (p, &s) in params.iter_mut().zip(&self.sum) {
            *p = (s / correction) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_average_is_the_bias_corrected_geometric_mean_of_iterates() {
        // Iterates theta_s = s for s = 1..=3 with beta = 0.5: weights 1/4, 1/2, 1 (times
        // 1 - beta), normalised by 1 - beta^3 = 7/8, give (1 + 4 + 12) / 14 = 17 / 7.
        let mut average = WeightAverage::new(0.5, 1);
        for s in 1..=3 {
            average.update(&[s as f32]);
        }
        let mut params = [0.0f32];
        average.write_into(&mut params);
        assert!((params[0] - 17.0 / 7.0).abs() < 1e-6, "{}", params[0]);
    }

    #[test]
    fn weight_average_of_a_constant_is_that_constant_and_zero_decay_keeps_the_iterate() {
        let mut average = WeightAverage::new(0.999, 2);
        for _ in 0..5 {
            average.update(&[1.5, -2.0]);
        }
        let mut params = [0.0f32; 2];
        average.write_into(&mut params);
        assert!((params[0] - 1.5).abs() < 1e-5 && (params[1] + 2.0).abs() < 1e-5);

        let mut off = WeightAverage::new(0.0, 1);
        off.update(&[3.0]);
        let mut params = [7.0f32];
        off.write_into(&mut params);
        assert_eq!(params, [7.0]);
    }

    #[test]
    fn schedules_follow_their_closed_forms_and_warm_up_linearly() {
        let at = |lr_schedule, warmup_steps, step| {
            let config = TrainConfig {
                steps: 10,
                lr: 0.5,
                lr_schedule,
                warmup_steps,
                ..TrainConfig::default()
            };
            config.lr_at(step)
        };
        for step in 1..=10 {
            assert_eq!(at(LrSchedule::Constant, 0, step), 0.5);
        }
        // No warm-up: step k is i = k - 1 of n = 10.
        assert_eq!(at(LrSchedule::Cosine, 0, 1), 0.5);
        assert!((at(LrSchedule::Cosine, 0, 6) - 0.25).abs() < 1e-15);
        let last = 0.25 * (1.0 + (0.9 * std::f64::consts::PI).cos());
        assert!((at(LrSchedule::Cosine, 0, 10) - last).abs() < 1e-15);
        assert!((at(LrSchedule::Linear, 0, 10) - 0.05).abs() < 1e-15);
        // Warm-up of 4 steps: 1/4, 2/4, 3/4, 4/4 of lr, then the schedule over the other 6.
        assert_eq!(at(LrSchedule::Cosine, 4, 1), 0.125);
        assert_eq!(at(LrSchedule::Cosine, 4, 4), 0.5);
        assert_eq!(at(LrSchedule::Cosine, 4, 5), 0.5);
        assert!((at(LrSchedule::Linear, 4, 8) - 0.25).abs() < 1e-15);
        for step in 1..=10 {
            assert!(at(LrSchedule::Cosine, 4, step) > 0.0 && at(LrSchedule::Linear, 0, step) > 0.0);
        }
    }

    #[test]
    fn the_log_keeps_every_kth_batch_loss_and_the_mean_of_each_window() {
        use crate::rng::{stream, Stream};

        let net_config = crate::model::NetConfig { hidden: 8, t_dim: 4, ..Default::default() };
        let mut net = VelocityNet::<f32>::new(net_config, &mut stream(2, Stream::Init)).unwrap();
        let pool = DataPool::new(1, (0..50).map(|i| i as f32 / 10.0 - 2.0).collect()).unwrap();
        let path = PathSpec::parse("linear").unwrap();
        let config = TrainConfig { steps: 10, batch: 16, log_every: 4, ..TrainConfig::default() };
        let mut seen = Vec::new();
        let mut rng = stream(2, Stream::Train);
        let log =
            train(&mut net, &pool, &path, &config, &mut rng, |info| seen.push(info.loss)).unwrap();

        let steps: Vec<usize> = log.losses.iter().map(|&(s, _)| s).collect();
        assert_eq!(steps, [4, 8, 10], "every 4th step and the last");
        for (k, &(step, loss)) in log.losses.iter().enumerate() {
            assert_eq!(loss, seen[step - 1]);
            let from = if k == 0 { 0 } else { log.losses[k - 1].0 };
            let window = &seen[from..step];
            let mean = window.iter().sum::<f64>() / window.len() as f64;
            assert_eq!(log.mean_losses[k], (step, mean));
        }
    }

    #[test]
    fn the_loop_runs_each_step_at_the_scheduled_rate() {
        use crate::rng::{stream, Stream};

        let net_config = crate::model::NetConfig { hidden: 8, t_dim: 4, ..Default::default() };
        let net = VelocityNet::<f32>::new(net_config, &mut stream(1, Stream::Init)).unwrap();
        let pool = DataPool::new(1, (0..50).map(|i| i as f32 / 10.0 - 2.0).collect()).unwrap();
        let path = PathSpec::parse("linear").unwrap();
        let config = TrainConfig {
            steps: 4,
            batch: 16,
            lr: 0.05,
            lr_schedule: LrSchedule::Cosine,
            warmup_steps: 1,
            ..TrainConfig::default()
        };

        let mut trained = net.clone();
        let mut rng = stream(1, Stream::Train);
        train(&mut trained, &pool, &path, &config, &mut rng, |_| {}).unwrap();

        // The same steps by hand, each at lr_at(step): 0.05, then (1 + cos(pi i / 3)) / 2
        // of it for i = 0, 1, 2.
        let mut replayed = net.clone();
        let mut rng = stream(1, Stream::Train);
        let mut batch = Batch::new(config.batch, 1);
        let (mut grads, mut workspace) = (Grads::new(&replayed), Workspace::new());
        let adamw = AdamWConfig { lr: config.lr, ..Default::default() };
        let mut optimizer = AdamW::new(adamw, replayed.num_params()).unwrap();
        for (step, lr) in [(1, 0.05), (2, 0.05), (3, 0.0375), (4, 0.0125)] {
            assert!((config.lr_at(step) - lr).abs() < 1e-12);
            batch.draw(&pool, &path, &mut rng);
            let (x_0, x_1, t) = (&batch.x_0, &batch.x_1, &batch.t);
            path.path
                .sample_conditional(x_0, x_1, t, &mut rng, &mut batch.x_t, &mut batch.u_t)
                .unwrap();
            replayed
                .loss_and_grad(&batch.x_t, &batch.t, &batch.u_t, &mut grads, &mut workspace)
                .unwrap();
            optimizer.set_lr(lr).unwrap();
            optimizer.step(&mut replayed, &grads).unwrap();
        }
        for (a, b) in trained.params().iter().zip(replayed.params()) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
        }

        let mut constant = net.clone();
        let flat = TrainConfig { lr_schedule: LrSchedule::Constant, warmup_steps: 0, ..config };
        train(&mut constant, &pool, &path, &flat, &mut stream(1, Stream::Train), |_| {}).unwrap();
        assert_ne!(constant.params(), trained.params(), "the schedule changes the run");
    }

    #[test]
    fn a_warmup_as_long_as_the_run_is_refused() {
        let bad = TrainConfig { steps: 5, warmup_steps: 5, ..TrainConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("invalid warmup_steps = "));
    }

    #[test]
    fn settings_are_checked_with_the_field_name() {
        let bad = TrainConfig { ema_decay: 1.0, ..TrainConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("invalid ema_decay = "));
        let bad = TrainConfig { batch: 0, ..TrainConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("invalid batch = 0"));
    }
}
