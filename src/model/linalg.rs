//! The engine's linear algebra on column-major chunks.
//!
//! Inside a chunk of `rows` rows, a batch of w-wide vectors (activations, gradients) is stored
//! column-major: column j (feature j of every row) is the contiguous run
//! `buf[j * rows..(j + 1) * rows]`. This is the layout `matrixmultiply` packs fastest as the
//! left operand, and it turns bias, SiLU and bias-gradient passes into runs over contiguous
//! columns.
//!
//! Two products cover every layer:
//! - [`product`]: C = A B, A and C column-major chunks, B a small strided matrix (a weight or
//!   its transpose): forward passes, tangents and backpropagation to a layer's input;
//! - [`cross`]: C = A^T B, A and B column-major chunks, C a row-major weight-shaped matrix:
//!   weight gradients, summed over the chunk's rows.
//!
//! When one side is thin (at most [`THIN`] wide, e.g. the d inputs or d outputs of the
//! network) the product is a handful of vectorised column updates or dot products; otherwise
//! it goes to `matrixmultiply`, whose 16-column kernels would mostly compute padding there.
//!
//! Hot element-wise loops are declared with `simd_kernel!`, which compiles them a second time
//! with AVX2 and FMA and picks that version where the CPU has them. Reductions use eight fixed
//! lanes, so sums do not depend on the instruction set.

use super::scalar::Scalar;

/// Widths up to this use the hand-written loops instead of `matrixmultiply`.
pub(crate) const THIN: usize = 8;

/// A read-only strided matrix: element (i, j) is `data[i * row_stride + j * col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// A row-major `rows x cols` matrix (a weight).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// A column-major `rows x cols` matrix (a chunk of a batch).
    pub fn col_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, row_stride: 1, col_stride: rows }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// The first `rows` rows.
    pub fn first_rows(self, rows: usize) -> Self {
        assert!(rows <= self.rows);
        MatRef { rows, ..self }
    }

    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.row_stride + j * self.col_stride]
    }

    fn fits(&self, len: usize) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < len
    }
}

/// C = A B with A (`rows x k`) and C (`rows x b.cols`) column-major chunks.
pub(crate) fn product<T: Scalar>(a: &[T], rows: usize, b: MatRef<T>, c: &mut [T]) {
    let (k, n) = (b.rows, b.cols);
    let c = &mut c[..rows * n];
    if k <= THIN || n <= THIN {
        product_thin(&a[..rows * k], rows, b, c);
    } else {
        gemm(MatRef::col_major(a, rows, k), b, c, 1, rows);
    }
}

/// C = A^T B with A (`rows x m`) and B (`rows x n`) column-major chunks; C is row-major
/// `m x n`, like the weight whose gradient it is.
pub(crate) fn cross<T: Scalar>(a: &[T], m: usize, b: &[T], n: usize, rows: usize, c: &mut [T]) {
    let c = &mut c[..m * n];
    if m <= THIN || n <= THIN {
        cross_thin(a, b, rows, n, c);
    } else {
        gemm(MatRef::col_major(a, rows, m).t(), MatRef::col_major(b, rows, n), c, n, 1);
    }
}

simd_kernel! {
    /// Column j of C is sum_k B[k, j] * (column k of A), built one column update at a time.
    fn product_thin<T: Scalar>(a: &[T], rows: usize, b: MatRef<T>, c: &mut [T]) {
        for (j, c_col) in c.chunks_exact_mut(rows).enumerate() {
            c_col.fill(T::ZERO);
            for (kk, a_col) in a.chunks_exact(rows).enumerate() {
                let b_kj = b.at(kk, j);
                for (c_i, a_i) in c_col.iter_mut().zip(a_col) {
                    *c_i += b_kj * *a_i;
                }
            }
        }
    }
}

simd_kernel! {
    /// C[i, j] = (column i of A) . (column j of B), C row-major with n columns.
    fn cross_thin<T: Scalar>(a: &[T], b: &[T], rows: usize, n: usize, c: &mut [T]) {
        for (i, c_row) in c.chunks_exact_mut(n).enumerate() {
            let a_col = &a[i * rows..(i + 1) * rows];
            for (j, c_ij) in c_row.iter_mut().enumerate() {
                *c_ij = dot_lanes(a_col, &b[j * rows..(j + 1) * rows]);
            }
        }
    }
}

/// C <- A B through `matrixmultiply`, C written with strides (`c_row_stride`, `c_col_stride`).
///
/// Panics if a view addresses an element outside its slice or the shapes do not chain; both
/// are programming errors inside the engine, never consequences of user input.
fn gemm<T: Scalar>(
    a: MatRef<T>,
    b: MatRef<T>,
    c: &mut [T],
    c_row_stride: usize,
    c_col_stride: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions differ");
    assert!(a.fits(a.data.len()) && b.fits(b.data.len()), "gemm: view outside its slice");
    let c_view = MatRef {
        data: &[] as &[T],
        rows: m,
        cols: n,
        row_stride: c_row_stride,
        col_stride: c_col_stride,
    };
    assert!(c_view.fits(c.len()), "gemm: output too small");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the assertions above keep every addressed element inside its slice; `c` is a
    // unique borrow, so it cannot alias `a` or `b`.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            T::ONE,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            T::ZERO,
            c.as_mut_ptr(),
            c_row_stride as isize,
            c_col_stride as isize,
        )
    }
}

const LANES: usize = 8;

/// sum_i a_i b_i with eight running partial sums (lane i % 8), added pairwise at the end.
#[inline(always)]
pub(crate) fn dot_lanes<T: Scalar>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let (a_main, a_tail) = a.split_at(a.len() - a.len() % LANES);
    for (a8, b8) in a_main.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for lane in 0..LANES {
            acc[lane] += a8[lane] * b8[lane];
        }
    }
    for (lane, (a_i, b_i)) in a_tail.iter().zip(&b[a_main.len()..]).enumerate() {
        acc[lane] += *a_i * *b_i;
    }
    combine_lanes(acc)
}

/// sum_i a_i with eight running partial sums, added pairwise at the end.
#[inline(always)]
pub(crate) fn sum_lanes<T: Scalar>(a: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let (main, tail) = a.split_at(a.len() - a.len() % LANES);
    for a8 in main.chunks_exact(LANES) {
        for lane in 0..LANES {
            acc[lane] += a8[lane];
        }
    }
    for (lane, a_i) in tail.iter().enumerate() {
        acc[lane] += *a_i;
    }
    combine_lanes(acc)
}

#[inline(always)]
fn combine_lanes<T: Scalar>(acc: [T; LANES]) -> T {
    let quads = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
    (quads[0] + quads[2]) + (quads[1] + quads[3])
}

/// Defines a kernel `fn name<T: Scalar>(args) { body }` that runs its body compiled with
/// AVX-512 or with AVX2 and FMA when the CPU has them (the same arithmetic in wider registers),
/// and as portable code otherwise.
///
/// A kernel declared `fn name<T: Scalar, const FUSED: bool>` is called as `name::<T>(..)`;
/// its body sees `FUSED = true` in the AVX-512 and AVX2+FMA versions and `false` in the
/// portable one, and passes it on to [`Scalar::sigmoid`].
macro_rules! simd_kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<T: Scalar>($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name<T: Scalar>($($arg: $ty),*) {
            #[inline(always)]
            fn portable<T: Scalar>($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                unsafe fn avx512<T: Scalar>($($arg: $ty),*) {
                    portable::<T>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2_fma<T: Scalar>($($arg: $ty),*) {
                    portable::<T>($($arg),*)
                }
                if $crate::model::linalg::has_avx512() {
                    // SAFETY: the CPU supports AVX-512F/VL, AVX2 and FMA, checked just above.
                    return unsafe { avx512::<T>($($arg),*) };
                }
                if $crate::model::linalg::has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { avx2_fma::<T>($($arg),*) };
                }
            }
            portable::<T>($($arg),*)
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<T: Scalar, const $fused:ident: bool>($($arg:ident: $ty:ty),* $(,)?)
            $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name<T: Scalar>($($arg: $ty),*) {
            #[inline(always)]
            fn portable<T: Scalar, const $fused: bool>($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                unsafe fn avx512<T: Scalar>($($arg: $ty),*) {
                    portable::<T, true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2_fma<T: Scalar>($($arg: $ty),*) {
                    portable::<T, true>($($arg),*)
                }
                if $crate::model::linalg::has_avx512() {
                    // SAFETY: the CPU supports AVX-512F/VL, AVX2 and FMA, checked just above.
                    return unsafe { avx512::<T>($($arg),*) };
                }
                if $crate::model::linalg::has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { avx2_fma::<T>($($arg),*) };
                }
            }
            portable::<T, false>($($arg),*)
        }
    };
}
pub(crate) use simd_kernel;

/// Whether the kernels may use their AVX-512 versions (tests turn it off to compare them with
/// the AVX2 versions).
#[cfg(target_arch = "x86_64")]
static AVX512_ALLOWED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Whether this CPU runs the AVX-512 versions of the kernels: 512-bit vectors doing the same
/// element-wise arithmetic as the AVX2 versions, so giving the same bits twice as wide.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512() -> bool {
    AVX512_ALLOWED.load(std::sync::atomic::Ordering::Relaxed)
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && has_avx2_fma()
}

/// Allows or forbids the AVX-512 kernels (for tests: other threads see the change too).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn allow_avx512(allowed: bool) {
    AVX512_ALLOWED.store(allowed, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this CPU runs the AVX2+FMA versions of the kernels.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive C = A B on row-major matrices, the yardstick.
    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    fn to_col_major(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        (0..rows * cols).map(|p| a[(p % rows) * cols + p / rows]).collect()
    }

    fn values(len: usize, seed: f64) -> Vec<f64> {
        (0..len).map(|i| ((i as f64 + seed) * 0.7).sin()).collect()
    }

    #[test]
    fn products_match_the_naive_product_on_both_paths() {
        // (rows, k, n): thin k, thin n, and wide both ways (matrixmultiply).
        for (rows, k, n) in [(13, 2, 11), (13, 11, 3), (13, 11, 12), (20, 9, 9)] {
            let a = values(rows * k, 1.0);
            let b = values(k * n, 2.0);
            let expected = naive(&a, &b, rows, k, n);

            let a_cm = to_col_major(&a, rows, k);
            let mut c_cm = vec![0.0; rows * n];
            product(&a_cm, rows, MatRef::row_major(&b, k, n), &mut c_cm);
            for (x, y) in c_cm.iter().zip(&to_col_major(&expected, rows, n)) {
                assert!((x - y).abs() < 1e-13, "product {rows}x{k}x{n}");
            }

            // cross: C = A^T B. The column-major storage of A is the row-major storage of A^T.
            let b2 = values(rows * n, 3.0);
            let mut c = vec![0.0; k * n];
            cross(&a_cm, k, &to_col_major(&b2, rows, n), n, rows, &mut c);
            let expected = naive(&a_cm, &b2, k, rows, n);
            for (x, y) in c.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-13, "cross {rows}x{k}x{n}");
            }
        }
    }

    #[test]
    fn lane_sums_match_plain_sums() {
        for len in [0, 1, 7, 8, 9, 31] {
            let a = values(len, 0.5);
            let b = values(len, 1.5);
            let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot_lanes(&a, &b) - dot).abs() < 1e-14);
            assert!((sum_lanes(&a) - a.iter().sum::<f64>()).abs() < 1e-14);
        }
    }
}
