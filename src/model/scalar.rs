//! The floating-point types the network engine runs in, and the few kernels it needs from them.
//!
//! The engine is written once over [`Scalar`]: `f32` is the working precision (as in PyTorch),
//! `f64` lets tests check gradients against finite differences without rounding noise.
//!
//! Besides arithmetic, a scalar type provides:
//! - a matrix product C <- alpha A B + beta C over strided matrices, dispatched to
//!   `matrixmultiply::sgemm` / `dgemm` (called through the checked wrapper in `linalg`);
//! - the logistic sigmoid s(z) = 1 / (1 + exp(-z)), written so that a loop over a slice
//!   vectorises: for `f32` it uses a branch-free exponential accurate to about one unit in the
//!   last place, for `f64` the standard library's `exp`.
//!
//! The f32 exponential's polynomial is evaluated with fused multiply-adds where the CPU has
//! FMA instructions (the engine's AVX2+FMA kernels) and with separate multiplies and adds
//! elsewhere, never with a slow software fma. So f32 results may differ in the last bit
//! between CPUs; on one machine they are fixed, whatever the number of threads.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point type the velocity network can run in (`f32` or `f64`).
pub trait Scalar:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + Sum
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;

    /// Nearest value of this type to `x` (rounds for `f32`).
    fn from_f64(x: f64) -> Self;
    /// The value as `f64` (exact).
    fn to_f64(self) -> f64;
    /// Exponential.
    fn exp(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Sine and cosine of `self` (radians).
    fn sin_cos(self) -> (Self, Self);
    /// Sine and cosine of `self` for |self| <= 1 only, branch-free so that loops vectorise:
    /// Taylor polynomials for `f32` (within about one unit in the last place), the standard
    /// library for `f64`. Callers check the range.
    fn sin_cos_unit(self) -> (Self, Self);
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// Logistic sigmoid 1 / (1 + exp(-z)), branch-free so that loops over slices vectorise.
    /// `FUSED` selects fused multiply-adds inside the f32 exponential; pass `true` only in code
    /// compiled for FMA hardware.
    fn sigmoid<const FUSED: bool>(self) -> Self;

    /// C <- alpha A B + beta C for raw strided matrices. The engine calls it only through
    /// `linalg::gemm`, which checks that every index lies inside the slices.
    ///
    /// # Safety
    /// All `m x k`, `k x n` and `m x n` elements addressed through the strides must lie inside
    /// the allocations behind `a`, `b` and `c`, and `c` must not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

impl Scalar for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;

    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f32::exp(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn sin_cos(self) -> (Self, Self) {
        f32::sin_cos(self)
    }
    #[inline(always)]
    fn sin_cos_unit(self) -> (Self, Self) {
        sin_cos_unit_f32(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f32::ln(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[inline(always)]
    fn sigmoid<const FUSED: bool>(self) -> Self {
        1.0 / (1.0 + exp_f32_branchless::<FUSED>(-self))
    }

    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

impl Scalar for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;

    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn sin_cos(self) -> (Self, Self) {
        f64::sin_cos(self)
    }
    #[inline(always)]
    fn sin_cos_unit(self) -> (Self, Self) {
        f64::sin_cos(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    #[inline(always)]
    fn sigmoid<const FUSED: bool>(self) -> Self {
        1.0 / (1.0 + f64::exp(-self))
    }

    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
}

/// exp(x) for f32 without branches, so loops over it vectorise.
///
/// x is clamped to [-87.3, 88.3], so results stay normal and finite; NaN stays NaN.
/// Then exp(x) = 2^n exp(r) with n = round(x / ln 2) and |r| <= ln 2 / 2; exp(r) is its Taylor
/// polynomial of degree 7 (truncation error below 1e-8 relative), by Horner's rule with fused
/// or separate multiply-adds (`FUSED`), and 2^n is built from its exponent bits. Rounding to n
/// uses the 1.5 * 2^23 trick, which needs no rounding instruction.
#[inline(always)]
fn exp_f32_branchless<const FUSED: bool>(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_145_75; // ln 2 split so that n * LN2_HI is exact
    const LN2_LO: f32 = 1.428_606_8e-6;

    let x = x.clamp(-87.3, 88.3);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;

    let mut p: f32 = 1.0 / 5040.0;
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = if FUSED { p.mul_add(r, c) } else { p * r + c };
    }

    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let two_n = f32::from_bits(((n_int + 127) as u32) << 23);
    p * two_n
}

/// (sin x, cos x) for |x| <= 1 without branches, so loops over it vectorise.
///
/// sin x = x + x^3 P(x^2) and cos x = 1 + x^2 Q(x^2), with P and Q the Taylor series up to the
/// x^13 and x^14 terms of sin and cos (truncation error below 1e-11 on [-1, 1]), by Horner's
/// rule with separate multiplies and adds, so the result is the same on every CPU.
#[inline(always)]
fn sin_cos_unit_f32(x: f32) -> (f32, f32) {
    let x2 = x * x;

    let mut p: f32 = 1.0 / 6_227_020_800.0;
    for c in [-1.0 / 39_916_800.0, 1.0 / 362_880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0] {
        p = p * x2 + c;
    }
    let sin = x + x * x2 * p;

    let mut q: f32 = -1.0 / 87_178_291_200.0;
    for c in [1.0 / 479_001_600.0, -1.0 / 3_628_800.0, 1.0 / 40_320.0, -1.0 / 720.0, 1.0 / 24.0] {
        q = q * x2 + c;
    }
    let cos = 1.0 + x2 * (q * x2 - 0.5);
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branchless_exp_is_within_two_ulps_of_libm() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let exact = (x as f64).exp();
            for ours in [exp_f32_branchless::<true>(x), exp_f32_branchless::<false>(x)] {
                worst = worst.max(((ours as f64 - exact) / exact).abs());
            }
        }
        assert!(worst < 2.5 * f32::EPSILON as f64, "worst relative error {worst:e}");
    }

    #[test]
    fn unit_sin_cos_is_within_one_and_a_half_ulps_of_the_f64_values() {
        let (mut worst_sin, mut worst_cos) = (0.0f64, 0.0f64);
        for i in -100_000..=100_000 {
            let x = i as f32 / 100_000.0;
            let (sin, cos) = sin_cos_unit_f32(x);
            let (exact_sin, exact_cos) = (x as f64).sin_cos();
            let ulp = |v: f64| (v.abs() as f32).max(f32::MIN_POSITIVE) as f64 * f32::EPSILON as f64;
            worst_sin = worst_sin.max((sin as f64 - exact_sin).abs() / ulp(exact_sin));
            worst_cos = worst_cos.max((cos as f64 - exact_cos).abs() / ulp(exact_cos));
        }
        assert!(worst_sin < 1.5, "sin: {worst_sin} ulp");
        assert!(worst_cos < 1.5, "cos: {worst_cos} ulp");
    }

    #[test]
    fn sigmoid_saturates_and_keeps_nan_in_silu() {
        assert_eq!(1000.0f32.sigmoid::<false>(), 1.0);
        assert!((-1000.0f32).sigmoid::<true>() < 1e-37);
        assert!(f32::NAN.sigmoid::<false>().is_nan());
        let exact = 1.0 / (1.0 + (-0.3f64).exp());
        assert!(((0.3f32).sigmoid::<true>() as f64 - exact).abs() < 1e-7);
    }
}
