//! Analytic floating-point operation counts of the network's passes: the yardstick that turns a
//! time into GFLOP/s and a peak into a time floor.
//!
//! Only the products of the Linear layers are counted ("model FLOPs"), two flops per
//! multiply-add. For a layer with `inputs` inputs and `outputs` outputs and one row:
//!
//! ```text
//! forward               z = h W^T                  2 inputs outputs
//! backward, weights     dW += g^T h                2 inputs outputs
//! backward, input       dh = g W                   2 inputs outputs   (not for layer 0:
//!                                                                      dL/dx is never needed)
//! ```
//!
//! so a training row costs forward + backward = 3 * 2 sum_l in_l out_l minus the first layer's
//! input gradient. At sampling time every row of a call shares one t, so the engine folds the
//! time embedding's part of the first layer into a bias once per call (2 t_dim hidden flops)
//! and each row's first layer reads only its d coordinates (2 d hidden instead of
//! 2 (d + t_dim) hidden).
//!
//! Not counted: biases, SiLU and its derivative (an exponential and a division each), the
//! loss, the sin/cos of the embedding, AdamW (about a dozen flops per parameter per step, once
//! per batch) and the drawing of noise and data. They grow like the width, the products like
//! its square: for the notebook's 64-wide network they are a few per cent of the arithmetic,
//! though the exponentials cost more time than their count suggests.

use flowmatching::model::NetConfig;

/// Forward flops of one row with its own time (training): 2 sum_l in_l out_l.
pub fn forward_per_row(config: &NetConfig) -> u64 {
    config.layer_dims().iter().map(|&(outputs, inputs)| 2 * (inputs * outputs) as u64).sum()
}

/// Backward flops of one row: weight gradients of every layer, input gradients of every layer
/// but the first.
pub fn backward_per_row(config: &NetConfig) -> u64 {
    let dims = config.layer_dims();
    let weights: u64 = dims.iter().map(|&(outputs, inputs)| 2 * (inputs * outputs) as u64).sum();
    let inputs: u64 =
        dims.iter().skip(1).map(|&(outputs, inputs)| 2 * (inputs * outputs) as u64).sum();
    weights + inputs
}

/// Flops of one training step on `batch` rows (forward and backward).
pub fn train_step(config: &NetConfig, batch: usize) -> u64 {
    batch as u64 * (forward_per_row(config) + backward_per_row(config))
}

/// Forward flops of one row at a time shared by the whole call: the first layer reads only the
/// d coordinates.
pub fn shared_t_forward_per_row(config: &NetConfig) -> u64 {
    let t_part = 2 * (config.t_dim * config.hidden) as u64;
    forward_per_row(config) - t_part
}

/// Flops spent once per shared-time call to fold the time embedding into the first bias.
pub fn time_fold_per_call(config: &NetConfig) -> u64 {
    2 * (config.t_dim * config.hidden) as u64
}

/// Flops of sampling `n` points with `evals` network evaluations (e.g. 2 per Heun step).
pub fn sampling(config: &NetConfig, n: usize, evals: usize) -> u64 {
    evals as u64 * (n as u64 * shared_t_forward_per_row(config) + time_fold_per_call(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// d = 2, hidden = 3, depth = 2, t_dim = 4: layers 6 -> 3, 3 -> 3, 3 -> 2.
    fn tiny() -> NetConfig {
        NetConfig { dim: 2, hidden: 3, depth: 2, t_dim: 4, ..NetConfig::default() }
    }

    #[test]
    fn tiny_net_matches_a_hand_count() {
        let c = tiny();
        // Multiply-adds per row: 6*3 + 3*3 + 3*2 = 18 + 9 + 6 = 33, two flops each.
        assert_eq!(forward_per_row(&c), 66);
        // Weight gradients again 33 multiply-adds; input gradients of layers 1 and 2: 9 + 6.
        assert_eq!(backward_per_row(&c), 66 + 30);
        // Five rows: 5 * (66 + 96).
        assert_eq!(train_step(&c, 5), 810);
        // Shared time: the first layer reads 2 of its 6 inputs, 2*3 + 9 + 6 = 21 multiply-adds;
        // folding the 4 embedding values into 3 biases is 12 multiply-adds once per call.
        assert_eq!(shared_t_forward_per_row(&c), 42);
        assert_eq!(time_fold_per_call(&c), 24);
        // Ten points, four evaluations: 4 * (10 * 42 + 24).
        assert_eq!(sampling(&c, 10, 4), 1776);
    }

    #[test]
    fn notebook_workload_by_hand() {
        let c = NetConfig::default();
        // 33*64 + 64*64 + 64*1 = 2112 + 4096 + 64 = 6272 multiply-adds forward.
        assert_eq!(forward_per_row(&c), 12_544);
        // + (4096 + 64) multiply-adds of input gradients.
        assert_eq!(backward_per_row(&c), 12_544 + 8_320);
        // 2500 steps of 1024 rows: 85.5 GFLOP.
        assert_eq!(2500 * train_step(&c, 1024), 85_524_480_000);
        // Heun, 200 steps, 20 000 points: (64 + 4096 + 64) * 2 flops a row, 400 evaluations,
        // plus 32 * 64 * 2 per evaluation for the time fold: 67.6 GFLOP.
        assert_eq!(sampling(&c, 20_000, 400), 400 * (20_000 * 8_448 + 4_096));
    }
}
