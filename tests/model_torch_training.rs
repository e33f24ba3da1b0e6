//! Forty steps of the notebook's training loop, replayed batch for batch: our engine and AdamW
//! must follow PyTorch's trajectory (fixture and script in tests/fixtures/torch/).

use flowmatching::model::{AdamW, AdamWConfig, Grads, NetConfig, VelocityNet, Workspace};
use safetensors::SafeTensors;

const FIXTURE: &[u8] = include_bytes!("fixtures/torch/training.safetensors");
const NAMES: [&str; 6] =
    ["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight", "net.4.bias"];

fn floats(tensors: &SafeTensors, name: &str) -> Vec<f32> {
    let view = tensors.tensor(name).unwrap_or_else(|_| panic!("fixture lacks {name}"));
    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn params(tensors: &SafeTensors, prefix: &str) -> Vec<f32> {
    NAMES.iter().flat_map(|n| floats(tensors, &format!("{prefix}.{n}"))).collect()
}

#[test]
fn forty_training_steps_follow_pytorch() {
    let tensors = SafeTensors::deserialize(FIXTURE).unwrap();
    let (x_t, t, target) =
        (floats(&tensors, "x_t"), floats(&tensors, "t"), floats(&tensors, "target"));
    let torch_losses = floats(&tensors, "loss");
    let steps = torch_losses.len();
    let batch = t.len() / steps;

    let mut net = VelocityNet::from_params(NetConfig::default(), params(&tensors, "init")).unwrap();
    let mut optimizer = AdamW::new(AdamWConfig::default(), net.num_params()).unwrap();
    let mut grads = Grads::new(&net);
    let mut workspace = Workspace::new();

    for (step, &torch_loss) in torch_losses.iter().enumerate() {
        let rows = step * batch..(step + 1) * batch;
        let loss = net
            .loss_and_grad(
                &x_t[rows.clone()],
                &t[rows.clone()],
                &target[rows],
                &mut grads,
                &mut workspace,
            )
            .unwrap();
        let rel = ((loss - torch_loss) / torch_loss).abs();
        assert!(rel < 1e-4, "step {step}: loss {loss} vs PyTorch {torch_loss}");
        optimizer.step(&mut net, &grads).unwrap();
    }

    // Observed: 4.5e-8. Rounding differences grow slowly over the steps; a wrong bias
    // correction, decay or moment update would move weights by a fraction of lr * steps = 0.08.
    let expected = params(&tensors, "final");
    let worst = net.params().iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-6, "largest weight difference after {steps} steps: {worst}");
}
