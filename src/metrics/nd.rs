//! Two-sample metrics in d dimensions: how far a generated sample x is from a reference
//! sample y when no exact density is at hand (user data, 2D toys).
//!
//! Samples are row-major `n * d` f64 slices: row i is `x[i * d..(i + 1) * d]`.
//!
//! **Energy distance.** With |.| the Euclidean norm,
//! `D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'|`, zero exactly when the laws agree. Two estimators
//! come from one pass over the pairs:
//! - the V-statistic averages every pair, the diagonal included (`/ n^2`, `/ m^2`); it is the
//!   energy distance between the two empirical measures: never negative, exactly 0 for
//!   identical samples, biased upward by O(1/n);
//! - the U-statistic averages the within-sample terms over distinct pairs (`/ n (n - 1)`); it
//!   is unbiased for D^2 and may dip below 0.
//!
//! **MMD.** With the Gaussian (RBF) kernel `k(a, b) = exp(-|a - b|^2 / (2 h^2))`, the unbiased
//! estimator is
//!
//! ```text
//! MMD^2_u = sum_{i != j} k(x_i, x_j) / (n (n - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
//!         - 2 sum_{i, j} k(x_i, y_j) / (n m).
//! ```
//!
//! The median heuristic sets h to the median of the Euclidean distances |z_i - z_j|, i < j, over
//! the pooled rows z = (x; y) (the mean of the two middle values when their count is even). Above
//! [`MEDIAN_ROWS`] pooled rows it uses the rows at indices floor(k N / MEDIAN_ROWS),
//! k = 0..MEDIAN_ROWS. Should the median be 0 (more than half the pairs coincide) it is taken
//! over the pairs at positive distance instead, and h = 1 when every row coincides.
//!
//! **Sliced W1.** The mean over K random unit directions theta (normalised standard normal
//! vectors, so uniform on the sphere) of the 1D two-sample W1 between the projections
//! theta . x_i and theta . y_j. For a pure shift y = x + mu it tends to
//! |mu| Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)).
//!
//! **Per dimension.** The 1D two-sample W1 and KS of every coordinate.
//!
//! **Cost and determinism.** Energy distance and MMD cost O((n + m)^2 d); [`evaluate_nd`] first
//! subsamples each sample without replacement to at most [`NdOptions::max_points`] rows
//! (default [`DEFAULT_MAX_POINTS`]) with the caller's generator. Pair sums run over rows with
//! rayon, each row summed sequentially and the row totals added in order, so results are the
//! same bit for bit whatever the number of threads.

use rand::seq::index;
use rand::Rng as _;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::metrics::one_d::{check_finite, ks_two_sorted, w1_two_sorted};
use crate::rng::Rng;
use crate::{Error, Result};

/// Rows kept from each sample for the O(n^2) metrics in [`evaluate_nd`] by default.
pub const DEFAULT_MAX_POINTS: usize = 5000;

/// Random directions for sliced W1 in [`evaluate_nd`] by default.
pub const DEFAULT_DIRECTIONS: usize = 128;

/// Pooled rows over which the median-heuristic bandwidth is taken at most.
pub const MEDIAN_ROWS: usize = 1000;

/// How the RBF kernel's bandwidth h is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Bandwidth {
    /// The median heuristic over the pooled sample (see the module docs).
    Median,
    /// A given h > 0.
    Fixed(f64),
}

/// Settings of [`evaluate_nd`].
#[derive(Debug, Clone, PartialEq)]
pub struct NdOptions {
    /// Each sample is subsampled to at most this many rows for energy distance and MMD.
    pub max_points: usize,
    /// Number K of random directions for sliced W1.
    pub n_directions: usize,
    /// Kernel bandwidth for MMD.
    pub bandwidth: Bandwidth,
}

impl Default for NdOptions {
    fn default() -> Self {
        Self {
            max_points: DEFAULT_MAX_POINTS,
            n_directions: DEFAULT_DIRECTIONS,
            bandwidth: Bandwidth::Median,
        }
    }
}

/// Both estimators of the squared energy distance D^2 (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnergyDistance {
    /// V-statistic: the energy distance of the empirical measures (>= 0, biased).
    pub v_statistic: f64,
    /// U-statistic: unbiased for D^2 (may be slightly negative).
    pub u_statistic: f64,
}

/// The unbiased RBF MMD^2 and the bandwidth it used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mmd2 {
    /// Unbiased estimate of MMD^2 (may be slightly negative).
    pub unbiased: f64,
    /// The kernel bandwidth h.
    pub bandwidth: f64,
}

/// Every d-dimensional metric of a sample x against a reference sample y.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsNd {
    /// Dimension d.
    pub d: usize,
    /// Rows of x given.
    pub n_x: usize,
    /// Rows of y given.
    pub n_y: usize,
    /// Rows of x used for energy distance and MMD (after subsampling).
    pub n_x_used: usize,
    /// Rows of y used for energy distance and MMD (after subsampling).
    pub n_y_used: usize,
    /// Squared energy distance, V-statistic.
    pub energy_v: f64,
    /// Squared energy distance, U-statistic.
    pub energy_u: f64,
    /// Unbiased RBF MMD^2.
    pub mmd2: f64,
    /// Bandwidth h of the MMD kernel.
    pub mmd_bandwidth: f64,
    /// Sliced W1 over all rows.
    pub sliced_w1: f64,
    /// Number of directions behind `sliced_w1`.
    pub n_directions: usize,
    /// Two-sample W1 of each coordinate, over all rows.
    pub w1_per_dim: Vec<f64>,
    /// Two-sample KS of each coordinate, over all rows.
    pub ks_per_dim: Vec<f64>,
}

/// All metrics of x against y (row-major, dimension d).
///
/// Draws from `rng` in this order: the subsample of x (only if it has more than
/// `max_points` rows), that of y (likewise), then the sliced-W1 directions. Errors:
/// [`Error::InvalidSetting`] for bad shapes or options, [`Error::NonFinite`] for NaN or
/// infinite entries.
pub fn evaluate_nd(
    x: &[f64],
    y: &[f64],
    d: usize,
    options: &NdOptions,
    rng: &mut Rng,
) -> Result<MetricsNd> {
    let (n_x, n_y) = check_pair(x, y, d, 2)?;
    if options.max_points < 2 {
        return Err(Error::setting("max_points", options.max_points, "must be at least 2"));
    }
    if options.n_directions == 0 {
        return Err(Error::setting("n_directions", 0, "sliced W1 needs at least one direction"));
    }

    let x_used = subsample_rows(x, d, options.max_points, rng);
    let y_used = subsample_rows(y, d, options.max_points, rng);

    let h = resolve_bandwidth(&x_used, &y_used, d, options.bandwidth)?;
    let pairs = AllPairs::new(&x_used, &y_used, d, Some(rbf_gamma(h)));
    let energy = pairs.energy();
    let sliced_w1 = sliced_w1(x, y, d, options.n_directions, rng)?;

    Ok(MetricsNd {
        d,
        n_x,
        n_y,
        n_x_used: x_used.len() / d,
        n_y_used: y_used.len() / d,
        energy_v: energy.v_statistic,
        energy_u: energy.u_statistic,
        mmd2: pairs.mmd2(),
        mmd_bandwidth: h,
        sliced_w1,
        n_directions: options.n_directions,
        w1_per_dim: w1_per_dim(x, y, d)?,
        ks_per_dim: ks_per_dim(x, y, d)?,
    })
}

/// Squared energy distance of x and y over all pairs, both estimators. Needs at least two
/// rows in each sample.
pub fn energy_distance(x: &[f64], y: &[f64], d: usize) -> Result<EnergyDistance> {
    check_pair(x, y, d, 2)?;
    Ok(AllPairs::new(x, y, d, None).energy())
}

/// Unbiased MMD^2 of x and y with the RBF kernel over all pairs. Needs at least two rows in
/// each sample.
pub fn mmd2_rbf(x: &[f64], y: &[f64], d: usize, bandwidth: Bandwidth) -> Result<Mmd2> {
    check_pair(x, y, d, 2)?;
    let h = resolve_bandwidth(x, y, d, bandwidth)?;
    let unbiased = AllPairs::new(x, y, d, Some(rbf_gamma(h))).mmd2();
    Ok(Mmd2 { unbiased, bandwidth: h })
}

/// The median-heuristic bandwidth of the pooled rows of x and y (see the module docs).
pub fn median_bandwidth(x: &[f64], y: &[f64], d: usize) -> Result<f64> {
    check_pair(x, y, d, 1)?;
    Ok(median_heuristic(x, y, d))
}

/// Sliced W1: the mean over `n_directions` random unit directions, drawn from `rng`, of the
/// 1D two-sample W1 of the projections of x and y.
pub fn sliced_w1(
    x: &[f64],
    y: &[f64],
    d: usize,
    n_directions: usize,
    rng: &mut Rng,
) -> Result<f64> {
    check_pair(x, y, d, 1)?;
    if n_directions == 0 {
        return Err(Error::setting("n_directions", 0, "sliced W1 needs at least one direction"));
    }

    let directions: Vec<Vec<f64>> = (0..n_directions).map(|_| unit_direction(d, rng)).collect();
    let per_direction: Vec<f64> = directions
        .par_iter()
        .map(|theta| w1_two_sorted(&sorted_projection(x, theta), &sorted_projection(y, theta)))
        .collect();
    Ok(per_direction.iter().sum::<f64>() / n_directions as f64)
}

/// Two-sample W1 of each coordinate j = 0..d.
pub fn w1_per_dim(x: &[f64], y: &[f64], d: usize) -> Result<Vec<f64>> {
    check_pair(x, y, d, 1)?;
    Ok((0..d).map(|j| w1_two_sorted(&sorted_column(x, d, j), &sorted_column(y, d, j))).collect())
}

/// Two-sample KS of each coordinate j = 0..d.
pub fn ks_per_dim(x: &[f64], y: &[f64], d: usize) -> Result<Vec<f64>> {
    check_pair(x, y, d, 1)?;
    Ok((0..d).map(|j| ks_two_sorted(&sorted_column(x, d, j), &sorted_column(y, d, j))).collect())
}

/// At most `max_rows` rows of x (row-major, dimension d), drawn without replacement with
/// `rng` and kept in their original order. A sample that already fits is copied whole and
/// `rng` is not touched.
pub fn subsample_rows(x: &[f64], d: usize, max_rows: usize, rng: &mut Rng) -> Vec<f64> {
    let n = x.len() / d.max(1);
    if n <= max_rows {
        return x.to_vec();
    }
    let mut rows = index::sample(rng, n, max_rows).into_vec();
    rows.sort_unstable();
    rows.iter().flat_map(|&i| x[i * d..(i + 1) * d].iter().copied()).collect()
}

/// Sums over pairs of rows of a with rows of b: of |a_i - b_j|, and of the RBF kernel when a
/// bandwidth is given.
#[derive(Debug, Clone, Copy, Default)]
struct PairSums {
    distance: f64,
    kernel: f64,
}

/// The three pair sums of x (n rows) and y (m rows): within x and within y over i < j, and
/// across over all (i, j).
struct AllPairs {
    n: f64,
    m: f64,
    xx: PairSums,
    yy: PairSums,
    xy: PairSums,
}

impl AllPairs {
    /// One pass over all pairs; kernel sums only when `gamma` = 1 / (2 h^2) is given.
    fn new(x: &[f64], y: &[f64], d: usize, gamma: Option<f64>) -> Self {
        Self {
            n: (x.len() / d) as f64,
            m: (y.len() / d) as f64,
            xx: pair_sums(x, x, d, gamma, true),
            yy: pair_sums(y, y, d, gamma, true),
            xy: pair_sums(x, y, d, gamma, false),
        }
    }

    /// Both energy-distance estimators. A within-sample double sum is twice the i < j sum.
    fn energy(&self) -> EnergyDistance {
        let (n, m) = (self.n, self.m);
        let cross = 2.0 * self.xy.distance / (n * m);
        let (within_x, within_y) = (2.0 * self.xx.distance, 2.0 * self.yy.distance);
        EnergyDistance {
            v_statistic: cross - within_x / (n * n) - within_y / (m * m),
            u_statistic: cross - within_x / (n * (n - 1.0)) - within_y / (m * (m - 1.0)),
        }
    }

    /// The unbiased MMD^2 (the kernel sums must have been computed).
    fn mmd2(&self) -> f64 {
        let (n, m) = (self.n, self.m);
        2.0 * self.xx.kernel / (n * (n - 1.0)) + 2.0 * self.yy.kernel / (m * (m - 1.0))
            - 2.0 * self.xy.kernel / (n * m)
    }
}

/// 1 / (2 h^2), the RBF kernel's rate.
fn rbf_gamma(h: f64) -> f64 {
    1.0 / (2.0 * h * h)
}

/// Pair sums of rows of a against rows of b; with `upper`, a and b are the same sample and
/// only pairs i < j are visited. Rows run in parallel; the total is added in row order.
fn pair_sums(a: &[f64], b: &[f64], d: usize, gamma: Option<f64>, upper: bool) -> PairSums {
    let n_b = b.len() / d;
    let rows: Vec<PairSums> = a
        .par_chunks(d)
        .enumerate()
        .map(|(i, a_i)| {
            let start = if upper { i + 1 } else { 0 };
            let mut sums = PairSums::default();
            for b_j in b[start * d..n_b * d].chunks(d) {
                let sq = squared_distance(a_i, b_j);
                sums.distance += sq.sqrt();
                if let Some(gamma) = gamma {
                    sums.kernel += (-gamma * sq).exp();
                }
            }
            sums
        })
        .collect();

    rows.iter().fold(PairSums::default(), |total, row| PairSums {
        distance: total.distance + row.distance,
        kernel: total.kernel + row.kernel,
    })
}

/// |a - b|^2.
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
}

/// The bandwidth h to use: the median heuristic or a checked fixed value.
fn resolve_bandwidth(x: &[f64], y: &[f64], d: usize, bandwidth: Bandwidth) -> Result<f64> {
    match bandwidth {
        Bandwidth::Median => Ok(median_heuristic(x, y, d)),
        Bandwidth::Fixed(h) if h.is_finite() && h > 0.0 => Ok(h),
        Bandwidth::Fixed(h) => Err(Error::setting("bandwidth", h, "must be finite and positive")),
    }
}

/// Median pairwise distance over (a strided subset of) the pooled rows; see the module docs.
fn median_heuristic(x: &[f64], y: &[f64], d: usize) -> f64 {
    let pooled: Vec<&[f64]> = x.chunks(d).chain(y.chunks(d)).collect();
    let n = pooled.len();
    let rows: Vec<&[f64]> = if n > MEDIAN_ROWS {
        (0..MEDIAN_ROWS).map(|k| pooled[k * n / MEDIAN_ROWS]).collect()
    } else {
        pooled
    };

    let mut distances: Vec<f64> = Vec::with_capacity(rows.len() * rows.len() / 2);
    for (i, a) in rows.iter().enumerate() {
        distances.extend(rows[i + 1..].iter().map(|b| squared_distance(a, b).sqrt()));
    }
    let median = median_of(&mut distances);
    if median > 0.0 {
        return median;
    }
    distances.retain(|&v| v > 0.0);
    if distances.is_empty() {
        1.0
    } else {
        median_of(&mut distances)
    }
}

/// Median of v (mean of the two middle values for an even count); 0 for an empty v.
fn median_of(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let (len, mid) = (v.len(), v.len() / 2);
    let (below, upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if len % 2 == 1 {
        return upper;
    }
    let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    0.5 * (lower + upper)
}

/// A direction uniform on the unit sphere S^{d-1}: a normalised standard normal vector.
fn unit_direction(d: usize, rng: &mut Rng) -> Vec<f64> {
    loop {
        let theta: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
        let norm = theta.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            return theta.iter().map(|v| v / norm).collect();
        }
    }
}

/// The projections theta . x_i of every row, sorted.
fn sorted_projection(x: &[f64], theta: &[f64]) -> Vec<f64> {
    let mut p: Vec<f64> =
        x.chunks(theta.len()).map(|row| row.iter().zip(theta).map(|(u, v)| u * v).sum()).collect();
    p.sort_by(f64::total_cmp);
    p
}

/// Column j of x (row-major, dimension d), sorted.
fn sorted_column(x: &[f64], d: usize, j: usize) -> Vec<f64> {
    let mut c: Vec<f64> = x.chunks(d).map(|row| row[j]).collect();
    c.sort_by(f64::total_cmp);
    c
}

/// Checks shapes and values of a pair of samples: d >= 1, whole rows, at least `min_rows` rows
/// each, every entry finite. Returns the row counts (n, m).
fn check_pair(x: &[f64], y: &[f64], d: usize, min_rows: usize) -> Result<(usize, usize)> {
    if d == 0 {
        return Err(Error::setting("d", 0, "the dimension must be at least 1"));
    }
    let mut rows = [0; 2];
    for (k, (name, s)) in [("x", x), ("y", y)].into_iter().enumerate() {
        if s.len() % d != 0 {
            return Err(Error::setting(
                name,
                format!("{} values", s.len()),
                format!("not a whole number of rows of dimension {d}"),
            ));
        }
        rows[k] = s.len() / d;
        if rows[k] < min_rows {
            return Err(Error::setting(
                name,
                format!("{} rows", rows[k]),
                format!("this metric needs at least {min_rows} rows"),
            ));
        }
        check_finite(name, s)?;
    }
    Ok((rows[0], rows[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn normal_rows(n: usize, mu: &[f64], rng: &mut Rng) -> Vec<f64> {
        (0..n)
            .flat_map(|_| {
                mu.iter().map(|m| m + rng.sample::<f64, _>(StandardNormal)).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn energy_by_hand_in_one_dimension() {
        // x = {0, 1}, y = {3}: E|X-Y| = 2.5, sum_{i<j}|x_i - x_j| = 1, y has no pairs.
        // V = 2 (2.5) - 2 (1) / 4 - 0 = 4.5; with two rows in y = {3, 3}: same numbers, and
        // U = 5 - 2 (1) / 2 - 0 = 4.
        let e = energy_distance(&[0.0, 1.0], &[3.0, 3.0], 1).unwrap();
        assert!((e.v_statistic - 4.5).abs() < 1e-15);
        assert!((e.u_statistic - 4.0).abs() < 1e-15);
    }

    #[test]
    fn mmd_by_hand_in_one_dimension() {
        // h = 1: k = exp(-r^2 / 2). x = {0, 1}, y = {0, 2}.
        let k = |r: f64| (-r * r / 2.0).exp();
        let expected = k(1.0) + k(2.0) - 0.5 * (k(0.0) + k(2.0) + k(1.0) + k(1.0));
        let got = mmd2_rbf(&[0.0, 1.0], &[0.0, 2.0], 1, Bandwidth::Fixed(1.0)).unwrap();
        assert!((got.unbiased - expected).abs() < 1e-15);
        assert_eq!(got.bandwidth, 1.0);
    }

    #[test]
    fn median_bandwidth_by_hand() {
        // pooled {0, 1, 3}: distances 1, 3, 2 -> median 2; pooled {0, 1, 3, 7}: 1,3,7,2,6,4
        // -> (3 + 4) / 2.
        assert_eq!(median_bandwidth(&[0.0, 1.0], &[3.0], 1).unwrap(), 2.0);
        assert_eq!(median_bandwidth(&[0.0, 1.0], &[3.0, 7.0], 1).unwrap(), 3.5);
        // {0, 0, 0, 5}: distances 0,0,0,5,5,5 -> median 2.5. {0, 0, 0, 0, 5}: six zeros and
        // four fives -> median 0, so the median of the positive distances, 5. All-equal rows
        // fall back to h = 1.
        assert_eq!(median_bandwidth(&[0.0, 0.0, 0.0], &[5.0], 1).unwrap(), 2.5);
        assert_eq!(median_bandwidth(&[0.0, 0.0, 0.0, 0.0], &[5.0], 1).unwrap(), 5.0);
        assert_eq!(median_bandwidth(&[2.0, 2.0], &[2.0], 1).unwrap(), 1.0);
    }

    #[test]
    fn shapes_and_values_are_checked() {
        assert!(matches!(
            energy_distance(&[0.0; 5], &[0.0; 4], 2),
            Err(Error::InvalidSetting { .. })
        ));
        assert!(matches!(
            energy_distance(&[0.0; 4], &[0.0; 2], 2),
            Err(Error::InvalidSetting { .. })
        ));
        assert!(matches!(
            energy_distance(&[0.0; 4], &[0.0; 4], 0),
            Err(Error::InvalidSetting { .. })
        ));
        assert!(matches!(
            energy_distance(&[0.0, f64::NAN, 1.0, 2.0], &[0.0; 4], 2),
            Err(Error::NonFinite { .. })
        ));
        let mut rng = Rng::seed_from_u64(0);
        assert!(sliced_w1(&[0.0; 4], &[0.0; 4], 2, 0, &mut rng).is_err());
        assert!(mmd2_rbf(&[0.0; 4], &[1.0; 4], 2, Bandwidth::Fixed(-1.0)).is_err());
    }

    #[test]
    fn subsampling_keeps_whole_rows_and_leaves_small_samples_alone() {
        let x: Vec<f64> = (0..20).map(f64::from).collect(); // 10 rows (2k, 2k + 1)
        let mut rng = Rng::seed_from_u64(4);
        assert_eq!(subsample_rows(&x, 2, 10, &mut rng), x);
        let sub = subsample_rows(&x, 2, 4, &mut rng);
        assert_eq!(sub.len(), 8);
        for row in sub.chunks(2) {
            assert_eq!(row[1], row[0] + 1.0);
            assert_eq!(row[0] % 2.0, 0.0);
        }
        assert!(sub.chunks(2).zip(sub.chunks(2).skip(1)).all(|(a, b)| a[0] < b[0]));
    }

    #[test]
    fn per_dim_metrics_of_a_coordinate_shift() {
        let mut rng = Rng::seed_from_u64(2);
        let x = normal_rows(300, &[0.0, 0.0, 0.0], &mut rng);
        let y: Vec<f64> = x.chunks(3).flat_map(|r| [r[0], r[1] + 0.7, r[2]]).collect();
        let w1 = w1_per_dim(&x, &y, 3).unwrap();
        assert_eq!(w1[0], 0.0);
        assert!((w1[1] - 0.7).abs() < 1e-12);
        assert_eq!(ks_per_dim(&x, &y, 3).unwrap()[2], 0.0);
    }
}
