//! Arbitrary bytes through the checkpoint loader (safetensors tensors, our JSON metadata, the
//! standardisation): it must return a flow or an error, never panic, and a flow it returns must
//! evaluate to finite velocities.
#![no_main]

use std::path::Path;

use flowmatching::flow::Flow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(flow) = Flow::from_bytes(data, Path::new("fuzz.safetensors")) {
        let d = flow.dim();
        assert!(d >= 1);
        if d <= 64 && flow.net().num_params() <= 1 << 20 {
            let x = vec![0.5; d];
            if let Ok(v) = flow.velocity(&x, &[0.5]) {
                assert!(v.iter().all(|v| v.is_finite()));
            }
        }
    }
});
