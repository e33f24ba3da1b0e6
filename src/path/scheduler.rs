//! Schedulers: the two scalar functions that define an affine Gaussian probability path.
//!
//! An affine path joins a noise sample x_0 ~ N(0, I) (at t = 0) to a data sample x_1 (at t = 1):
//!
//! ```text
//! x_t = alpha_t x_1 + sigma_t x_0,        u_t = dx_t/dt = d_alpha_t x_1 + d_sigma_t x_0
//! ```
//!
//! with alpha_0 = 0, sigma_0 = 1 (pure noise) and alpha_1 = 1, sigma_1 = 0 (pure data), up to the
//! deviations each scheduler states (sigma_min on the linear path, alpha_0 > 0 on the variance
//! preserving path). A scheduler returns the four values in f64 at one time t; the path applies
//! them to batches.
//!
//! Every scheduler is defined for t in its [`Scheduler::time_range`]; [`Scheduler::eval`]
//! clamps t into that range first, so it never returns a NaN or an infinity for t in [0, 1].

use std::f64::consts::FRAC_PI_2;

/// The scheduler's four values at one time t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleValues {
    /// Weight of the data sample x_1 in x_t.
    pub alpha_t: f64,
    /// Weight of the noise sample x_0 in x_t.
    pub sigma_t: f64,
    /// d alpha_t / dt.
    pub d_alpha_t: f64,
    /// d sigma_t / dt.
    pub d_sigma_t: f64,
}

/// The time-dependent weights of an affine path x_t = alpha_t x_1 + sigma_t x_0.
pub trait Scheduler {
    /// alpha_t, sigma_t and their time derivatives at `t`, after clamping `t` into
    /// [`Scheduler::time_range`].
    fn eval(&self, t: f64) -> ScheduleValues;

    /// The closed interval of times on which the scheduler is smooth and finite. Training should
    /// draw t from it; `eval` clamps into it. (0, 1) unless the scheduler says otherwise.
    fn time_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
}

/// The linear (conditional optimal transport) path, optionally with a noise floor sigma_min:
///
/// ```text
/// alpha_t = t,   sigma_t = 1 - (1 - sigma_min) t,   d_alpha_t = 1,   d_sigma_t = -(1 - sigma_min)
/// ```
///
/// With sigma_min = 0 (the default and the reference notebook's path) x_t = (1 - t) x_0 + t x_1
/// and u_t = x_1 - x_0. With sigma_min > 0, x_0 is reached exactly at t = 0 but at t = 1 the path
/// ends at x_1 + sigma_min x_0, a Gaussian of width sigma_min around the data point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    /// The noise level left at t = 1, in [0, 1).
    pub sigma_min: f64,
}

impl Linear {
    /// The plain linear path, sigma_min = 0.
    pub fn new() -> Self {
        Linear { sigma_min: 0.0 }
    }

    /// The linear path ending at width `sigma_min`, which must lie in [0, 1).
    pub fn with_sigma_min(sigma_min: f64) -> crate::Result<Self> {
        if !(0.0..1.0).contains(&sigma_min) {
            return Err(crate::Error::setting("sigma_min", sigma_min, "must lie in [0, 1)"));
        }
        Ok(Linear { sigma_min })
    }
}

impl Default for Linear {
    fn default() -> Self {
        Linear::new()
    }
}

impl Scheduler for Linear {
    fn eval(&self, t: f64) -> ScheduleValues {
        let t = t.clamp(0.0, 1.0);
        let slope = 1.0 - self.sigma_min;
        ScheduleValues { alpha_t: t, sigma_t: 1.0 - slope * t, d_alpha_t: 1.0, d_sigma_t: -slope }
    }
}

/// The polynomial path of degree n >= 1:
///
/// ```text
/// sigma_t = (1 - t)^n,   alpha_t = 1 - (1 - t)^n,
/// d_alpha_t = n (1 - t)^(n - 1),   d_sigma_t = -n (1 - t)^(n - 1)
/// ```
///
/// so u_t = n (1 - t)^(n - 1) (x_1 - x_0). n = 1 is the linear path; n = 2 is the reference
/// notebook's quadratic path x_t = (1 - t)^2 x_0 + (1 - (1 - t)^2) x_1 with target
/// 2 (1 - t) (x_1 - x_0). Higher n moves away from the noise faster and arrives at the data
/// with zero velocity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polynomial {
    /// The degree n, at least 1.
    pub n: u32,
}

impl Polynomial {
    /// The polynomial path of degree `n`, which must be at least 1.
    pub fn new(n: u32) -> crate::Result<Self> {
        if n == 0 {
            return Err(crate::Error::setting("n", n, "(the degree) must be at least 1"));
        }
        Ok(Polynomial { n })
    }

    /// The reference notebook's quadratic path, n = 2.
    pub fn quadratic() -> Self {
        Polynomial { n: 2 }
    }
}

impl Scheduler for Polynomial {
    fn eval(&self, t: f64) -> ScheduleValues {
        let s = 1.0 - t.clamp(0.0, 1.0);
        let n = self.n as i32;
        let s_pow_n = s.powi(n);
        let d = n as f64 * s.powi(n - 1);
        ScheduleValues { alpha_t: 1.0 - s_pow_n, sigma_t: s_pow_n, d_alpha_t: d, d_sigma_t: -d }
    }
}

/// The cosine path, a quarter turn from noise to data:
///
/// ```text
/// alpha_t = sin(pi t / 2),   sigma_t = cos(pi t / 2),
/// d_alpha_t = (pi / 2) cos(pi t / 2),   d_sigma_t = -(pi / 2) sin(pi t / 2)
/// ```
///
/// alpha_t^2 + sigma_t^2 = 1, so x_t keeps unit variance when the data has it. The cosine is
/// computed as sin(pi (1 - t) / 2) so that both endpoints are exact in floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cosine;

impl Scheduler for Cosine {
    fn eval(&self, t: f64) -> ScheduleValues {
        let t = t.clamp(0.0, 1.0);
        let sin = (FRAC_PI_2 * t).sin();
        let cos = (FRAC_PI_2 * (1.0 - t)).sin();
        ScheduleValues {
            alpha_t: sin,
            sigma_t: cos,
            d_alpha_t: FRAC_PI_2 * cos,
            d_sigma_t: -FRAC_PI_2 * sin,
        }
    }
}

/// The variance preserving (diffusion) path of score-based SDEs, with time reversed into this
/// crate's convention (t = 0 noise, t = 1 data). With s = 1 - t and the integrated noise rate
///
/// ```text
/// T(s) = beta_min s + (beta_max - beta_min) s^2 / 2,
/// alpha_t = exp(-T(1 - t) / 2),   sigma_t = sqrt(1 - alpha_t^2),
/// d_alpha_t = alpha_t T'(1 - t) / 2 with T'(s) = beta_min + (beta_max - beta_min) s,
/// d_sigma_t = -alpha_t d_alpha_t / sigma_t.
/// ```
///
/// Limits, stated plainly:
/// - at t = 0 the path is only approximately noise: alpha_0 = exp(-T(1) / 2) is small but not
///   zero (about 6.6e-3 for the default beta_min = 0.1, beta_max = 20), so x_0 carries a trace
///   of x_1;
/// - at t = 1, sigma_t = 0 and d_sigma_t is infinite (sigma_t ~ sqrt(beta_min (1 - t))), so the
///   scheduler is defined on [0, 1 - eps] with eps = [`VariancePreserving::T_EPS`] and `eval`
///   clamps t into that range; there sigma_t is about 1e-3 and d_sigma_t about -50 for the
///   defaults.
///
/// 1 - alpha_t^2 is computed as -expm1(-T) to keep sigma_t accurate near the data end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariancePreserving {
    /// Noise rate at the data end (t = 1), > 0.
    pub beta_min: f64,
    /// Noise rate at the noise end (t = 0), >= beta_min.
    pub beta_max: f64,
}

impl VariancePreserving {
    /// The distance from t = 1 at which the scheduler stops: t is clamped to [0, 1 - T_EPS].
    pub const T_EPS: f64 = 1e-5;

    /// The default rates of the score-SDE and flow matching papers.
    pub const DEFAULT_BETA_MIN: f64 = 0.1;
    /// The default rates of the score-SDE and flow matching papers.
    pub const DEFAULT_BETA_MAX: f64 = 20.0;

    /// The path with rates `beta_min` and `beta_max`: both finite, 0 < beta_min <= beta_max.
    pub fn new(beta_min: f64, beta_max: f64) -> crate::Result<Self> {
        if !(beta_min.is_finite() && beta_min > 0.0) {
            return Err(crate::Error::setting("beta_min", beta_min, "must be finite and > 0"));
        }
        if !(beta_max.is_finite() && beta_max >= beta_min) {
            return Err(crate::Error::setting(
                "beta_max",
                beta_max,
                format!("must be finite and >= beta_min = {beta_min}"),
            ));
        }
        Ok(VariancePreserving { beta_min, beta_max })
    }

    /// T(s), the integrated noise rate over the last s of diffusion time.
    fn integrated_rate(&self, s: f64) -> f64 {
        self.beta_min * s + 0.5 * (self.beta_max - self.beta_min) * s * s
    }

    /// T'(s), the noise rate.
    fn rate(&self, s: f64) -> f64 {
        self.beta_min + (self.beta_max - self.beta_min) * s
    }
}

impl Default for VariancePreserving {
    fn default() -> Self {
        VariancePreserving { beta_min: Self::DEFAULT_BETA_MIN, beta_max: Self::DEFAULT_BETA_MAX }
    }
}

impl Scheduler for VariancePreserving {
    fn eval(&self, t: f64) -> ScheduleValues {
        let (lo, hi) = self.time_range();
        let s = 1.0 - t.clamp(lo, hi);

        let integrated = self.integrated_rate(s);
        let alpha_t = (-0.5 * integrated).exp();
        let sigma_t = (-(-integrated).exp_m1()).sqrt();

        let d_alpha_t = 0.5 * alpha_t * self.rate(s);
        let d_sigma_t = -alpha_t * d_alpha_t / sigma_t;
        ScheduleValues { alpha_t, sigma_t, d_alpha_t, d_sigma_t }
    }

    fn time_range(&self) -> (f64, f64) {
        (0.0, 1.0 - Self::T_EPS)
    }
}

/// Any of the built-in schedulers, as one concrete type (what the path-name parser builds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// See [`Linear`].
    Linear(Linear),
    /// See [`Polynomial`].
    Polynomial(Polynomial),
    /// See [`Cosine`].
    Cosine(Cosine),
    /// See [`VariancePreserving`].
    VariancePreserving(VariancePreserving),
}

impl Scheduler for Schedule {
    fn eval(&self, t: f64) -> ScheduleValues {
        match self {
            Schedule::Linear(s) => s.eval(t),
            Schedule::Polynomial(s) => s.eval(t),
            Schedule::Cosine(s) => s.eval(t),
            Schedule::VariancePreserving(s) => s.eval(t),
        }
    }

    fn time_range(&self) -> (f64, f64) {
        match self {
            Schedule::Linear(s) => s.time_range(),
            Schedule::Polynomial(s) => s.time_range(),
            Schedule::Cosine(s) => s.time_range(),
            Schedule::VariancePreserving(s) => s.time_range(),
        }
    }
}

impl From<Linear> for Schedule {
    fn from(s: Linear) -> Self {
        Schedule::Linear(s)
    }
}

impl From<Polynomial> for Schedule {
    fn from(s: Polynomial) -> Self {
        Schedule::Polynomial(s)
    }
}

impl From<Cosine> for Schedule {
    fn from(s: Cosine) -> Self {
        Schedule::Cosine(s)
    }
}

impl From<VariancePreserving> for Schedule {
    fn from(s: VariancePreserving) -> Self {
        Schedule::VariancePreserving(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_schedules() -> Vec<Schedule> {
        vec![
            Linear::new().into(),
            Linear::with_sigma_min(0.05).unwrap().into(),
            Polynomial::new(1).unwrap().into(),
            Polynomial::quadratic().into(),
            Polynomial::new(5).unwrap().into(),
            Cosine.into(),
            VariancePreserving::default().into(),
            VariancePreserving::new(0.5, 3.0).unwrap().into(),
        ]
    }

    /// Central difference of `f` at `t` with step `h` (error O(h^2)).
    fn central(f: impl Fn(f64) -> f64, t: f64, h: f64) -> f64 {
        (f(t + h) - f(t - h)) / (2.0 * h)
    }

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for schedule in all_schedules() {
            let (lo, hi) = schedule.time_range();
            for k in 1..200 {
                let t = lo + (hi - lo) * k as f64 / 200.0;
                if t - h < lo || t + h > hi {
                    continue;
                }
                let v = schedule.eval(t);
                let fd_alpha = central(|t| schedule.eval(t).alpha_t, t, h);
                let fd_sigma = central(|t| schedule.eval(t).sigma_t, t, h);
                let tol = |x: f64| 1e-6 * (1.0 + x.abs());
                assert!(
                    (v.d_alpha_t - fd_alpha).abs() < tol(fd_alpha),
                    "{schedule:?} t={t}: d_alpha {} vs fd {fd_alpha}",
                    v.d_alpha_t
                );
                assert!(
                    (v.d_sigma_t - fd_sigma).abs() < tol(fd_sigma),
                    "{schedule:?} t={t}: d_sigma {} vs fd {fd_sigma}",
                    v.d_sigma_t
                );
            }
        }
    }

    #[test]
    fn exact_endpoints() {
        let exact: [Schedule; 4] = [
            Linear::new().into(),
            Polynomial::quadratic().into(),
            Polynomial::new(3).unwrap().into(),
            Cosine.into(),
        ];
        for schedule in exact {
            let v0 = schedule.eval(0.0);
            let v1 = schedule.eval(1.0);
            assert_eq!((v0.alpha_t, v0.sigma_t), (0.0, 1.0), "{schedule:?} at t = 0");
            assert_eq!((v1.alpha_t, v1.sigma_t), (1.0, 0.0), "{schedule:?} at t = 1");
        }
    }

    #[test]
    fn sigma_min_endpoints() {
        let schedule = Linear::with_sigma_min(0.01).unwrap();
        let v0 = schedule.eval(0.0);
        let v1 = schedule.eval(1.0);
        assert_eq!((v0.alpha_t, v0.sigma_t), (0.0, 1.0));
        assert_eq!(v1.alpha_t, 1.0);
        assert!((v1.sigma_t - 0.01).abs() < 1e-15);
    }

    #[test]
    fn variance_preserving_endpoints_are_approximate_and_documented() {
        let vp = VariancePreserving::default();
        let v0 = vp.eval(0.0);
        // alpha_0 = exp(-(0.1 + 19.9 / 2) / 2) = exp(-5.025), computed by hand.
        assert!((v0.alpha_t - (-5.025f64).exp()).abs() < 1e-15);
        assert!(v0.alpha_t > 0.0 && v0.alpha_t < 1e-2);
        assert!((v0.alpha_t.powi(2) + v0.sigma_t.powi(2) - 1.0).abs() < 1e-14);

        let v1 = vp.eval(1.0);
        assert_eq!(v1, vp.eval(1.0 - VariancePreserving::T_EPS));
        assert!(1.0 - v1.alpha_t < 1e-5);
        assert!(v1.sigma_t < 2e-3 && v1.sigma_t > 0.0);
    }

    #[test]
    fn variance_preserving_keeps_unit_variance() {
        let vp = VariancePreserving::default();
        for k in 0..=100 {
            let v = vp.eval(k as f64 / 100.0);
            assert!((v.alpha_t.powi(2) + v.sigma_t.powi(2) - 1.0).abs() < 1e-14);
        }
    }

    #[test]
    fn no_nan_anywhere_in_the_unit_interval() {
        for schedule in all_schedules() {
            let mut ts: Vec<f64> = (0..=1000).map(|k| k as f64 / 1000.0).collect();
            ts.extend([1e-300, 1.0 - 1e-16, 1.0 - f64::EPSILON]);
            for t in ts {
                let v = schedule.eval(t);
                let all = [v.alpha_t, v.sigma_t, v.d_alpha_t, v.d_sigma_t];
                assert!(all.iter().all(|x| x.is_finite()), "{schedule:?} at t = {t}: {v:?}");
            }
        }
    }

    #[test]
    fn quadratic_target_is_two_one_minus_t() {
        let q = Polynomial::quadratic();
        for k in 0..=50 {
            let t = k as f64 / 50.0;
            let v = q.eval(t);
            assert_eq!(v.d_alpha_t, 2.0 * (1.0 - t));
            assert_eq!(v.d_sigma_t, -2.0 * (1.0 - t));
            assert!((v.sigma_t - (1.0 - t) * (1.0 - t)).abs() < 1e-15);
        }
    }

    #[test]
    fn constructors_reject_bad_values() {
        assert!(Linear::with_sigma_min(1.0).is_err());
        assert!(Linear::with_sigma_min(-0.1).is_err());
        assert!(Linear::with_sigma_min(f64::NAN).is_err());
        assert!(Polynomial::new(0).is_err());
        assert!(VariancePreserving::new(0.0, 20.0).is_err());
        assert!(VariancePreserving::new(1.0, 0.5).is_err());
        assert!(VariancePreserving::new(0.1, f64::INFINITY).is_err());
    }
}
