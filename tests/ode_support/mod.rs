//! Flows with closed-form densities, shared by the likelihood and CLI tests of the ODE layer.

#![allow(dead_code)]

use flowmatching::data::standardize::Standardizer;
use flowmatching::flow::{Flow, FlowInfo};
use flowmatching::model::{NetConfig, VelocityNet};

/// A network whose every weight and bias is zero except the last layer's bias `b`: its hidden
/// layers output SiLU(0) = 0, so v(z, t) = b for all z and t, exactly (b is exact in f32).
pub fn constant_net(b: f32) -> VelocityNet<f32> {
    let config = NetConfig { dim: 1, hidden: 8, depth: 2, t_dim: 4, ..NetConfig::default() };
    let zeros = VelocityNet::<f32>::from_params(config.clone(), vec![0.0; config.num_params()])
        .expect("a valid shape");
    let mut params = zeros.params().to_vec();
    params[zeros.layers().last().expect("layers").bias_offset] = b;
    VelocityNet::from_params(config, params).expect("a valid shape")
}

/// The flow of [`constant_net`] in data units x = m + s z, with mean m and scale s.
///
/// In standardised units z(1) = z(0) + b with z(0) ~ N(0, 1), so x ~ N(m + s b, s^2).
pub fn shift_flow(b: f32, m: f64, s: f64) -> Flow {
    // The population std of {m - s, m + s} is s, their mean m.
    let standardizer = Standardizer::fit_values(&[m - s, m + s], 1).expect("two finite values");
    Flow::new(constant_net(b), standardizer, FlowInfo::default()).expect("dimensions agree")
}

/// log p_1(x) of [`shift_flow`]: log N((x - m - s b) / s; 0, 1) - ln s.
pub fn shift_log_p(x: f64, b: f64, m: f64, s: f64) -> f64 {
    let z_0 = (x - m) / s - b;
    -0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * z_0 * z_0 - s.ln()
}
