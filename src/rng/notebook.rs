//! The reference notebook's two random number generators, reproduced draw for draw.
//!
//! The notebook seeds PyTorch's CPU generator (`torch.manual_seed(seed)`) and NumPy's legacy
//! global generator (`np.random.seed(seed)`). PyTorch draws the network's initial weights, the
//! noise x_0 and the times t; NumPy draws the data pool and picks each batch's x_1 from it.
//! Both are the 32-bit Mersenne Twister MT19937 seeded the same way; they differ in how they
//! turn its 32-bit words into numbers, and that is what [`TorchGenerator`] and
//! [`NumpyRandomState`] reproduce:
//!
//! - `torch.rand` (float32): the low 24 bits of one word, times 2^-24;
//! - `torch.randn` of 16 or more float32 values: all the uniforms first, then Box-Muller on
//!   blocks of 16 (the first eight uniforms of a block give the radii, the last eight the
//!   angles); when the count is not a multiple of 16 the last 16 values are drawn again;
//! - `torch.randn` of fewer than 16 values: Box-Muller in double precision on 53-bit uniforms
//!   made of two words, the sine half kept for the next call;
//! - `nn.Linear`'s default initialisation: `uniform_(-b, b)` on the weight, then on the bias;
//! - NumPy's `random_sample`: 53 bits from two words; `normal`: the polar method with its
//!   second value cached; `choice` with `p`: a search of the cumulative weights; `choice`
//!   and `randint` without `p`: masked rejection sampling on one word.
//!
//! tests/fixtures/notebook_rng/ holds the numbers PyTorch 2.15 and NumPy 2.4 give for these
//! calls and the script that wrote them. Uniforms, indices and initial weights match bit for
//! bit; the normals go through the C library's `log`, `cos` and `sin`, so they match to the
//! last bit where both use the same library and to an ulp or so elsewhere.

use std::f64::consts::PI;

use super::{stream, BatchRng, NoiseRng, Rng, Stream};

const N: usize = 624;
const M: usize = 397;

/// The 32-bit Mersenne Twister (Matsumoto and Nishimura, 1998) with its standard seeding.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    next: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937").field("next", &self.next).finish_non_exhaustive()
    }
}

impl Mt19937 {
    /// The generator after `init_genrand(seed)`, as PyTorch's and NumPy's seeding leave it.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { state, next: N }
    }

    /// The next tempered 32-bit word.
    pub fn next_u32(&mut self) -> u32 {
        if self.next >= N {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Regenerates all 624 words: word i from words i, i + 1 and i + 397 (indices mod 624),
    /// in place and in order, so the last words see the new first ones.
    fn twist(&mut self) {
        let mix = |upper: u32, lower: u32, far: u32| {
            let y = (upper & 0x8000_0000) | (lower & 0x7fff_ffff);
            far ^ (y >> 1) ^ (0u32.wrapping_sub(y & 1) & 0x9908_b0df)
        };
        let s = &mut self.state;
        for i in 0..N - M {
            s[i] = mix(s[i], s[i + 1], s[i + M]);
        }
        for i in N - M..N - 1 {
            s[i] = mix(s[i], s[i + 1], s[i + M - N]);
        }
        s[N - 1] = mix(s[N - 1], s[0], s[M - 1]);
        self.next = 0;
    }
}

/// PyTorch's CPU generator after `torch.manual_seed(seed)`.
#[derive(Debug, Clone)]
pub struct TorchGenerator {
    mt: Mt19937,
    /// The second value of the last double-precision Box-Muller pair, not yet handed out.
    cached_normal: Option<f64>,
}

impl TorchGenerator {
    /// The generator of `torch.manual_seed(seed)`; PyTorch keeps the seed's low 32 bits.
    pub fn new(seed: u64) -> Self {
        TorchGenerator { mt: Mt19937::new(seed as u32), cached_normal: None }
    }

    /// A float32 uniform in [0, 1): one word's low 24 bits over 2^24.
    fn uniform_f32(&mut self) -> f32 {
        (self.mt.next_u32() & 0x00ff_ffff) as f32 / 16_777_216.0
    }

    /// A float64 uniform in [0, 1): the low 53 bits of two words (the first one high).
    fn uniform_f64(&mut self) -> f64 {
        let high = u64::from(self.mt.next_u32());
        let word = (high << 32) | u64::from(self.mt.next_u32());
        (word & ((1 << 53) - 1)) as f64 / 9_007_199_254_740_992.0
    }

    /// `torch.rand(out.len())`.
    pub fn rand(&mut self, out: &mut [f32]) {
        for x in out {
            *x = self.uniform_f32();
        }
    }

    /// `tensor.uniform_(from, to)` on a float32 tensor of `out.len()` values.
    /// The uniform is scaled and shifted in double precision, then rounded, as PyTorch does.
    pub fn uniform(&mut self, from: f32, to: f32, out: &mut [f32]) {
        let (width, from) = (f64::from(to - from), f64::from(from));
        for x in out {
            *x = (f64::from(self.uniform_f32()) * width + from) as f32;
        }
    }

    /// `torch.randn(out.len())` in float32.
    pub fn randn(&mut self, out: &mut [f32]) {
        let n = out.len();
        if n < 16 {
            for x in out {
                *x = self.normal_f64() as f32;
            }
            return;
        }
        self.rand(out);
        for block in out.chunks_exact_mut(16) {
            box_muller_16(block);
        }
        if n % 16 != 0 {
            let tail = &mut out[n - 16..];
            self.rand(tail);
            box_muller_16(tail);
        }
    }

    /// One standard normal by double-precision Box-Muller, caching the pair's other half.
    fn normal_f64(&mut self) -> f64 {
        if let Some(z) = self.cached_normal.take() {
            return z;
        }
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        let radius = (-2.0 * (-u2).ln_1p()).sqrt();
        let theta = 2.0 * PI * u1;
        self.cached_normal = Some(radius * theta.sin());
        radius * theta.cos()
    }
}

/// The values of one `torch.randn(total)`, handed out in pieces of any size.
///
/// Whatever the pieces, together they are exactly `torch.randn(total)` (PyTorch draws the
/// last 16 values again when `total` is not a multiple of 16, so a piece's values depend on
/// the total, not only on the piece). After `total` values a new `torch.randn(total)` begins.
#[derive(Debug, Clone)]
pub struct TorchRandn {
    torch: TorchGenerator,
    total: usize,
    done: usize,
    block: [f32; 16],
    /// Index in `block` of the next value to hand out (16: a new block is needed).
    used: usize,
}

impl TorchRandn {
    /// The values of `torch.randn(total)` from `torch`.
    pub fn new(torch: TorchGenerator, total: usize) -> Self {
        TorchRandn { torch, total, done: 0, block: [0.0; 16], used: 16 }
    }

    /// The next value.
    pub fn next_value(&mut self) -> f32 {
        if self.done == self.total {
            self.done = 0;
            self.used = 16;
        }
        let i = self.done;
        self.done += 1;
        if self.total < 16 {
            return self.torch.normal_f64() as f32;
        }
        let rem = self.total % 16;
        if rem != 0 && i == self.total - 16 {
            // The blocks so far used 16 of the first `total - rem` uniforms each; skip the
            // rest of the first `total`, then draw the replacement block of the last 16.
            for _ in 0..rem {
                self.torch.mt.next_u32();
            }
            self.used = 16;
        }
        if self.used == 16 {
            self.torch.rand(&mut self.block);
            box_muller_16(&mut self.block);
            self.used = 0;
        }
        // Past the replacement point the replacement block is read from its start.
        let value = self.block[self.used];
        self.used += 1;
        value
    }
}

impl NoiseRng for TorchRandn {
    fn standard_normals(&mut self, out: &mut [f64]) {
        for x in out {
            *x = f64::from(self.next_value());
        }
    }
}

/// Box-Muller on one block of 16 float32 uniforms, in place, as PyTorch computes it.
fn box_muller_16(block: &mut [f32]) {
    for j in 0..8 {
        let u1 = 1.0 - block[j];
        let u2 = block[j + 8];
        let radius = (-2.0 * u1.ln()).sqrt();
        let theta = (2.0 * PI) as f32 * u2;
        block[j] = radius * theta.cos();
        block[j + 8] = radius * theta.sin();
    }
}

/// NumPy's legacy global generator (`np.random.seed(seed)`, a `RandomState`).
#[derive(Debug, Clone)]
pub struct NumpyRandomState {
    mt: Mt19937,
    /// The second value of the last polar-method pair, not yet handed out.
    cached_gauss: Option<f64>,
}

impl NumpyRandomState {
    /// The generator of `np.random.seed(seed)`; NumPy takes seeds in [0, 2^32).
    pub fn new(seed: u32) -> Self {
        NumpyRandomState { mt: Mt19937::new(seed), cached_gauss: None }
    }

    /// `random_sample()`: a uniform in [0, 1) from 27 + 26 bits of two words.
    pub fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.mt.next_u32() >> 5);
        let b = f64::from(self.mt.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// One standard normal by the polar method, caching the pair's other half.
    pub fn gauss(&mut self) -> f64 {
        if let Some(z) = self.cached_gauss.take() {
            return z;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)` for one value.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.gauss()
    }

    /// `choice(len(p), size=n, p=p)`: all n uniforms, then each one's place among the
    /// cumulative weights (normalised by their total, as NumPy does).
    pub fn choice_weighted(&mut self, p: &[f64], n: usize) -> Vec<usize> {
        let mut cdf: Vec<f64> = p
            .iter()
            .scan(0.0, |sum, &w| {
                *sum += w;
                Some(*sum)
            })
            .collect();
        let total = cdf.last().copied().unwrap_or(1.0);
        for c in &mut cdf {
            *c /= total;
        }
        let last = p.len().saturating_sub(1);
        let u: Vec<f64> = (0..n).map(|_| self.random_sample()).collect();
        u.iter().map(|&u| cdf.partition_point(|&c| c <= u).min(last)).collect()
    }

    /// `randint(0, high)` (also what `choice(pool, replace=True)` draws): a uniform index below
    /// `high` by masked rejection; 0 without a draw when `high` is 1 (or 0).
    pub fn randint(&mut self, high: usize) -> usize {
        let range = high.saturating_sub(1) as u64;
        if range == 0 {
            return 0;
        }
        let mask = u64::MAX >> range.leading_zeros();
        if range <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.mt.next_u32()) & mask;
                if v <= range {
                    return v as usize;
                }
            }
        }
        loop {
            let high_word = u64::from(self.mt.next_u32());
            let v = ((high_word << 32) | u64::from(self.mt.next_u32())) & mask;
            if v <= range {
                return v as usize;
            }
        }
    }
}

impl NoiseRng for TorchGenerator {
    /// `torch.randn(out.len())`, widened to f64.
    fn standard_normals(&mut self, out: &mut [f64]) {
        let mut noise = vec![0.0f32; out.len()];
        self.randn(&mut noise);
        for (x, z) in out.iter_mut().zip(noise) {
            *x = f64::from(z);
        }
    }
}

/// The notebook's pair of generators for one seed, drawing training batches as its
/// `sample_pairs` does: `x0 = torch.randn(n, d)`, `np.random.choice(pool, n)`,
/// `t = torch.rand(n)`.
///
/// Noise that the notebook never draws (a stochastic path's) comes from the ChaCha8 stream
/// [`Stream::Train`] of the same seed.
#[derive(Debug, Clone)]
pub struct NotebookRng {
    /// `torch.manual_seed(seed)`.
    pub torch: TorchGenerator,
    /// `np.random.seed(seed)`.
    pub numpy: NumpyRandomState,
    other: Rng,
}

impl NotebookRng {
    /// Both generators of `seed`, or `None` when NumPy would refuse it (2^32 or more).
    pub fn new(seed: u64) -> Option<Self> {
        let numpy_seed = u32::try_from(seed).ok()?;
        Some(NotebookRng {
            torch: TorchGenerator::new(seed),
            numpy: NumpyRandomState::new(numpy_seed),
            other: stream(seed, Stream::Train),
        })
    }

    /// Draws and drops the batch of 1024 that the notebook's 1D part shows as a table before it
    /// builds the network, so that what follows sees the notebook's numbers.
    pub fn skip_preview_batch(&mut self, pool_rows: usize, dim: usize) {
        const PREVIEW: usize = 1024;
        let mut x_0 = vec![0.0f32; PREVIEW * dim];
        self.torch.randn(&mut x_0);
        for _ in 0..PREVIEW {
            self.numpy.randint(pool_rows);
        }
        let mut t = vec![0.0f32; PREVIEW];
        self.torch.rand(&mut t);
    }
}

impl BatchRng for NotebookRng {
    fn normals(&mut self, out: &mut [f32]) {
        self.torch.randn(out);
    }

    fn row(&mut self, rows: usize) -> usize {
        self.numpy.randint(rows)
    }

    fn unit(&mut self) -> f64 {
        f64::from(self.torch.uniform_f32())
    }

    fn other(&mut self) -> &mut Rng {
        &mut self.other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mersenne_twister_matches_the_reference_outputs() {
        // init_genrand(5489) is C++'s std::mt19937 default; its 10000th output is specified by
        // the C++ standard as 4123659995.
        let mut mt = Mt19937::new(5489);
        let first = mt.next_u32();
        assert_eq!(first, 3_499_211_612);
        let mut last = first;
        for _ in 1..10_000 {
            last = mt.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn randn_in_pieces_is_randn_of_the_total() {
        for total in [5, 16, 37, 1024, 1000] {
            let mut whole = vec![0.0f32; total];
            TorchGenerator::new(3).randn(&mut whole);
            for piece in [1, 7, 16, 500] {
                let mut stream = TorchRandn::new(TorchGenerator::new(3), total);
                let mut got = Vec::new();
                while got.len() < total {
                    let mut part = vec![0.0; piece.min(total - got.len())];
                    stream.standard_normals(&mut part);
                    got.extend(part.iter().map(|&v| v as f32));
                }
                assert_eq!(got, whole, "total {total} in pieces of {piece}");
            }
        }
    }

    #[test]
    fn randint_masks_to_the_next_power_of_two_and_rejects_above_the_range() {
        // With high = 5 the mask is 7: a word whose low 3 bits exceed 4 is skipped.
        let mut numpy = NumpyRandomState::new(11);
        let mut mt = Mt19937::new(11);
        for _ in 0..200 {
            let expected = loop {
                let v = mt.next_u32() & 7;
                if v <= 4 {
                    break v as usize;
                }
            };
            assert_eq!(numpy.randint(5), expected);
        }
        assert_eq!(numpy.randint(1), 0);
    }
}
