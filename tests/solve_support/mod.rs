//! ODEs with closed-form solutions, shared by the solver tests.

#![allow(dead_code)]

use flowmatching::solve::{FnField, VelocityField};

/// dx/dt = v(x, t) for one point, with its exact flow x(t) from x(t0) = x_0.
pub struct Problem {
    pub name: &'static str,
    pub dim: usize,
    pub v: fn(f64, &[f64], &mut [f64]),
    pub exact: fn(f64, &[f64], f64) -> Vec<f64>,
}

/// x' = t x: x(t) = x_0 exp((t^2 - t0^2) / 2).
pub const GROWTH: Problem = Problem {
    name: "x' = t x",
    dim: 1,
    v: |t, x, v| v[0] = t * x[0],
    exact: |t0, x_0, t| vec![x_0[0] * ((t * t - t0 * t0) / 2.0).exp()],
};

/// x' = x cos t: x(t) = x_0 exp(sin t - sin t0).
pub const COSINE: Problem = Problem {
    name: "x' = x cos t",
    dim: 1,
    v: |t, x, v| v[0] = x[0] * t.cos(),
    exact: |t0, x_0, t| vec![x_0[0] * (t.sin() - t0.sin()).exp()],
};

/// x' = -x + sin t: x(t) = (x_0 - s(t0)) exp(-(t - t0)) + s(t), s(t) = (sin t - cos t) / 2.
pub const FORCED: Problem = Problem {
    name: "x' = -x + sin t",
    dim: 1,
    v: |t, x, v| v[0] = -x[0] + t.sin(),
    exact: |t0, x_0, t| {
        let s = |t: f64| (t.sin() - t.cos()) / 2.0;
        vec![(x_0[0] - s(t0)) * (-(t - t0)).exp() + s(t)]
    },
};

/// A rotation at angular speed 2: (x, y)' = 2 (-y, x), rotating by 2 (t - t0).
pub const ROTATION: Problem = Problem {
    name: "2D rotation",
    dim: 2,
    v: |_t, x, v| {
        v[0] = -2.0 * x[1];
        v[1] = 2.0 * x[0];
    },
    exact: |t0, x_0, t| {
        let (sin, cos) = (2.0 * (t - t0)).sin_cos();
        vec![cos * x_0[0] - sin * x_0[1], sin * x_0[0] + cos * x_0[1]]
    },
};

pub const PROBLEMS: [Problem; 4] = [GROWTH, COSINE, FORCED, ROTATION];

impl Problem {
    /// The field on a batch.
    pub fn field(&self) -> impl VelocityField {
        let (dim, v) = (self.dim, self.v);
        FnField::new(dim, move |t: f64, x: &[f64], out: &mut [f64]| {
            for (x_i, out_i) in x.chunks(dim).zip(out.chunks_mut(dim)) {
                v(t, x_i, out_i);
            }
        })
    }

    /// A batch of three points.
    pub fn batch(&self) -> Vec<f64> {
        match self.dim {
            1 => vec![0.5, -1.2, 2.0],
            _ => vec![1.0, 0.0, -0.3, 0.8, 1.5, -2.0],
        }
    }

    /// The exact flow of a whole batch.
    pub fn exact_batch(&self, t0: f64, x_0: &[f64], t: f64) -> Vec<f64> {
        x_0.chunks(self.dim).flat_map(|x_i| (self.exact)(t0, x_i, t)).collect()
    }
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

/// A field that records every time it is evaluated at, around dx/dt = -x + sin t.
pub fn time_logging_field(times: &mut Vec<f64>) -> impl VelocityField + '_ {
    FnField::new(1, move |t: f64, x: &[f64], v: &mut [f64]| {
        times.push(t);
        for (x_i, v_i) in x.iter().zip(v.iter_mut()) {
            *v_i = -x_i + t.sin();
        }
    })
}
