//! The machine a benchmark runs on: what the CPU is, how fast it can multiply-add, how busy the
//! rest of the machine was meanwhile, and how much memory this process held.
//!
//! Peak: a loop of independent fused multiply-adds on the widest vectors the CPU has (AVX-512,
//! else AVX2 + FMA, else plain code), run on 1 thread and on every worker thread at once. That
//! measured figure is the denominator of every "fraction of peak". The nominal figure beside it
//! assumes two FMA units of the detected width at the clock /proc/cpuinfo reports: AMD Zen 4
//! splits each 512-bit operation in two 256-bit halves and hypervisors may give two vCPUs one
//! physical core, so the nominal figure can be too high by 2x or more; the measured one is not.
//!
//! Load: the busy jiffies of /proc/stat minus this process's own CPU time (/proc/self/stat)
//! over a timed section, divided by its wall time: 0 means nothing else ran, 1 means another
//! program kept one CPU busy throughout.
//!
//! Memory: peak resident set size (VmHWM of /proc/self/status), which Linux resets when "5" is
//! written to /proc/self/clear_refs, so each configuration of a sweep gets its own peak.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What the CPU is and can do.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `model name` of /proc/cpuinfo.
    pub cpu_model: String,
    /// Logical CPUs the process may use.
    pub logical_cpus: usize,
    /// Mean `cpu MHz` of /proc/cpuinfo (the nominal clock under a hypervisor).
    pub cpu_mhz: Option<f64>,
    /// Instruction sets detected at run time.
    pub avx2: bool,
    /// Fused multiply-add (FMA3).
    pub fma: bool,
    /// AVX-512 Foundation.
    pub avx512f: bool,
    /// The kernel of the peak measurement: `avx512`, `avx2+fma` or `portable`.
    pub peak_kernel: String,
    /// f32 lanes of that kernel's vectors.
    pub lanes: usize,
    /// Nominal f32 GFLOP/s of one core: MHz x lanes x 2 flops x 2 FMA units (an assumption).
    pub nominal_gflops_per_core: Option<f64>,
    /// Measured f32 FMA GFLOP/s on one thread.
    pub peak_gflops_1_thread: f64,
    /// Measured f32 FMA GFLOP/s on all worker threads together.
    pub peak_gflops_all_threads: f64,
    /// Measured f32 FMA GFLOP/s of the AVX2 + FMA loop on all worker threads, when the widest
    /// kernel is AVX-512 (the engine's own kernels use AVX2 + FMA); `None` otherwise.
    pub avx2_gflops_all_threads: Option<f64>,
    /// Measured f32 GFLOP/s of `matrixmultiply`'s sgemm on the engine's hidden-layer shape
    /// (a 128-row chunk times a 64 x 64 weight), all worker threads: what the engine's own
    /// product routine can reach on this network.
    pub sgemm_gflops_all_threads: f64,
    /// Worker threads of the measurement (rayon's pool size).
    pub threads: usize,
    /// /proc/loadavg when the machine was described.
    pub loadavg: String,
}

/// Describes the machine and measures its FMA peak for `seconds` per measurement (best of 3).
pub fn describe(threads: usize, seconds: f64) -> Machine {
    let kernel = Kernel::detect();
    let best_of_3 = |measure: &dyn Fn() -> f64| (0..3).map(|_| measure()).fold(0.0, f64::max);
    let peak = |kernel: Kernel, n: usize| best_of_3(&|| fma_peak(kernel, n, seconds));
    let mhz = cpu_mhz();
    Machine {
        cpu_model: cpuinfo_field("model name").unwrap_or_else(|| "unknown".into()),
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_mhz: mhz,
        avx2: has("avx2"),
        fma: has("fma"),
        avx512f: has("avx512f"),
        peak_kernel: kernel.name().into(),
        lanes: kernel.lanes(),
        nominal_gflops_per_core: mhz.map(|m| m * 1e-3 * kernel.lanes() as f64 * 2.0 * 2.0),
        peak_gflops_1_thread: peak(kernel, 1),
        peak_gflops_all_threads: peak(kernel, threads),
        avx2_gflops_all_threads: matches!(kernel, Kernel::Avx512)
            .then(|| peak(Kernel::Avx2, threads)),
        sgemm_gflops_all_threads: best_of_3(&|| sgemm_peak(threads, seconds)),
        threads,
        loadavg: loadavg(),
    }
}

fn has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

fn cpuinfo_field(name: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_string())
}

fn cpu_mhz() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let values: Vec<f64> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim() == "cpu MHz")
        .filter_map(|(_, value)| value.trim().parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The first three fields of /proc/loadavg (1, 5 and 15 minute load), or "unknown".
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The vector width of the peak loop.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    Avx512,
    Avx2,
    Portable,
}

/// Independent accumulator chains: enough to cover FMA latency times FMA units.
const CHAINS: usize = 12;

impl Kernel {
    fn detect() -> Self {
        if has("avx512f") {
            Kernel::Avx512
        } else if has("avx2") && has("fma") {
            Kernel::Avx2
        } else {
            Kernel::Portable
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2+fma",
            Kernel::Portable => "portable",
        }
    }

    fn lanes(self) -> usize {
        match self {
            Kernel::Avx512 => 16,
            Kernel::Avx2 => 8,
            Kernel::Portable => 4,
        }
    }

    /// Runs `iters` rounds of CHAINS vector FMAs; returns a value that depends on all of them.
    fn run(self, iters: u64) -> f32 {
        #[cfg(target_arch = "x86_64")]
        match self {
            Kernel::Avx512 => return fma_avx512(iters),
            // SAFETY: chosen only when `detect` found AVX2 and FMA.
            Kernel::Avx2 => return unsafe { fma_avx2(iters) },
            Kernel::Portable => {}
        }
        fma_portable(iters)
    }

    fn flops_per_iter(self) -> f64 {
        (CHAINS * self.lanes() * 2) as f64
    }
}

/// The AVX-512 loop, written in assembly because the crate's minimum Rust (1.85) predates
/// stable AVX-512 intrinsics. It works in zmm16..zmm29 (12 chains, a, b), which the block
/// saves on entry and restores on exit, so every register leaves as it came.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn fma_avx512(iters: u64) -> f32 {
    if iters == 0 {
        return 0.0;
    }
    const REGS: usize = CHAINS + 2;
    let mut init = [0.0f32; 16 * REGS];
    for (k, chain) in init.chunks_exact_mut(16).take(CHAINS).enumerate() {
        chain.fill(black_box(1.0 + k as f32 * 1e-3));
    }
    init[16 * CHAINS..16 * (CHAINS + 1)].fill(black_box(0.999_9));
    init[16 * (CHAINS + 1)..].fill(black_box(1e-4));
    let mut save = [0.0f32; 16 * REGS];
    let mut sum = [0.0f32; 16];
    // SAFETY: only called when the CPU has AVX-512F (checked by `Kernel::detect`); the block
    // reads `init` and writes `save` and `sum`, each 64-byte rows within its array; zmm16..29
    // are saved before use and restored after, and `n` counts down from iters >= 1 to 0.
    unsafe {
        std::arch::asm!(
            "vmovups [{save} + 0], zmm16",
            "vmovups [{save} + 64], zmm17",
            "vmovups [{save} + 128], zmm18",
            "vmovups [{save} + 192], zmm19",
            "vmovups [{save} + 256], zmm20",
            "vmovups [{save} + 320], zmm21",
            "vmovups [{save} + 384], zmm22",
            "vmovups [{save} + 448], zmm23",
            "vmovups [{save} + 512], zmm24",
            "vmovups [{save} + 576], zmm25",
            "vmovups [{save} + 640], zmm26",
            "vmovups [{save} + 704], zmm27",
            "vmovups [{save} + 768], zmm28",
            "vmovups [{save} + 832], zmm29",
            "vmovups zmm16, [{init} + 0]",
            "vmovups zmm17, [{init} + 64]",
            "vmovups zmm18, [{init} + 128]",
            "vmovups zmm19, [{init} + 192]",
            "vmovups zmm20, [{init} + 256]",
            "vmovups zmm21, [{init} + 320]",
            "vmovups zmm22, [{init} + 384]",
            "vmovups zmm23, [{init} + 448]",
            "vmovups zmm24, [{init} + 512]",
            "vmovups zmm25, [{init} + 576]",
            "vmovups zmm26, [{init} + 640]",
            "vmovups zmm27, [{init} + 704]",
            "vmovups zmm28, [{init} + 768]",
            "vmovups zmm29, [{init} + 832]",
            "2:",
            "vfmadd213ps zmm16, zmm28, zmm29",
            "vfmadd213ps zmm17, zmm28, zmm29",
            "vfmadd213ps zmm18, zmm28, zmm29",
            "vfmadd213ps zmm19, zmm28, zmm29",
            "vfmadd213ps zmm20, zmm28, zmm29",
            "vfmadd213ps zmm21, zmm28, zmm29",
            "vfmadd213ps zmm22, zmm28, zmm29",
            "vfmadd213ps zmm23, zmm28, zmm29",
            "vfmadd213ps zmm24, zmm28, zmm29",
            "vfmadd213ps zmm25, zmm28, zmm29",
            "vfmadd213ps zmm26, zmm28, zmm29",
            "vfmadd213ps zmm27, zmm28, zmm29",
            "dec {n}",
            "jnz 2b",
            "vaddps zmm16, zmm16, zmm17",
            "vaddps zmm16, zmm16, zmm18",
            "vaddps zmm16, zmm16, zmm19",
            "vaddps zmm16, zmm16, zmm20",
            "vaddps zmm16, zmm16, zmm21",
            "vaddps zmm16, zmm16, zmm22",
            "vaddps zmm16, zmm16, zmm23",
            "vaddps zmm16, zmm16, zmm24",
            "vaddps zmm16, zmm16, zmm25",
            "vaddps zmm16, zmm16, zmm26",
            "vaddps zmm16, zmm16, zmm27",
            "vmovups [{sum}], zmm16",
            "vmovups zmm16, [{save} + 0]",
            "vmovups zmm17, [{save} + 64]",
            "vmovups zmm18, [{save} + 128]",
            "vmovups zmm19, [{save} + 192]",
            "vmovups zmm20, [{save} + 256]",
            "vmovups zmm21, [{save} + 320]",
            "vmovups zmm22, [{save} + 384]",
            "vmovups zmm23, [{save} + 448]",
            "vmovups zmm24, [{save} + 512]",
            "vmovups zmm25, [{save} + 576]",
            "vmovups zmm26, [{save} + 640]",
            "vmovups zmm27, [{save} + 704]",
            "vmovups zmm28, [{save} + 768]",
            "vmovups zmm29, [{save} + 832]",
            save = in(reg) save.as_mut_ptr(),
            init = in(reg) init.as_ptr(),
            sum = in(reg) sum.as_mut_ptr(),
            n = inout(reg) iters => _,
            options(nostack),
        );
    }
    sum.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_avx2(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let (a, b) = (_mm256_set1_ps(black_box(0.999_9)), _mm256_set1_ps(black_box(1e-4)));
    let mut acc = [_mm256_set1_ps(1.0); CHAINS];
    for (k, chain) in acc.iter_mut().enumerate() {
        *chain = _mm256_set1_ps(black_box(1.0 + k as f32 * 1e-3));
    }
    for _ in 0..iters {
        for chain in acc.iter_mut() {
            *chain = _mm256_fmadd_ps(*chain, a, b);
        }
    }
    let mut lanes = [0.0f32; 8];
    acc.iter().fold(0.0, |sum, v| {
        // SAFETY: `lanes` holds exactly one 256-bit vector.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *v) };
        sum + lanes.iter().sum::<f32>()
    })
}

fn fma_portable(iters: u64) -> f32 {
    let (a, b) = (black_box(0.999_9f32), black_box(1e-4f32));
    let mut acc = [[1.0f32; 4]; CHAINS];
    for (k, chain) in acc.iter_mut().enumerate() {
        *chain = [black_box(1.0 + k as f32 * 1e-3); 4];
    }
    for _ in 0..iters {
        for chain in acc.iter_mut() {
            for x in chain.iter_mut() {
                *x = *x * a + b;
            }
        }
    }
    acc.iter().flatten().sum()
}

/// GFLOP/s of `threads` threads each running the FMA loop for about `seconds`.
fn fma_peak(kernel: Kernel, threads: usize, seconds: f64) -> f64 {
    let per_thread = |_: usize| {
        let (started, mut iters, block) = (Instant::now(), 0u64, 1u64 << 16);
        while started.elapsed().as_secs_f64() < seconds {
            black_box(kernel.run(black_box(block)));
            iters += block;
        }
        iters
    };
    let started = Instant::now();
    let iters: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|i| s.spawn(move || per_thread(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    iters as f64 * kernel.flops_per_iter() / started.elapsed().as_secs_f64() / 1e9
}

/// Rows, inner size and columns of the sgemm measurement: one chunk of the engine's hidden
/// layer.
const SGEMM_SHAPE: (usize, usize, usize) = (128, 64, 64);

/// GFLOP/s of `threads` threads each multiplying column-major 128 x 64 blocks by a 64 x 64
/// matrix with `matrixmultiply::sgemm` for about `seconds`.
fn sgemm_peak(threads: usize, seconds: f64) -> f64 {
    let (m, k, n) = SGEMM_SHAPE;
    let per_thread = |_: usize| {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; m * n];
        let (started, mut calls) = (Instant::now(), 0u64);
        while started.elapsed().as_secs_f64() < seconds {
            for _ in 0..64 {
                // SAFETY: a is m x k column-major (strides 1, m), b is k x n row-major
                // (strides n, 1), c is m x n column-major (strides 1, m); all lie within
                // their vectors, and c does not alias a or b.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        1,
                        m as isize,
                        b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        c.as_mut_ptr(),
                        1,
                        m as isize,
                    )
                };
            }
            black_box(&mut c);
            calls += 64;
        }
        calls
    };
    let started = Instant::now();
    let calls: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|i| s.spawn(move || per_thread(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    calls as f64 * (2 * m * k * n) as f64 / started.elapsed().as_secs_f64() / 1e9
}

/// CPU seconds (busy, total) of the whole machine since boot, from /proc/stat.
fn machine_cpu_seconds() -> Option<(f64, f64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let ticks: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    Some(((total - idle) / CLOCK_TICKS, total / CLOCK_TICKS))
}

/// Linux reports /proc times in USER_HZ, 100 per second on every common platform.
const CLOCK_TICKS: f64 = 100.0;

/// CPU seconds (user + system, all threads) this process has used, from /proc/self/stat.
fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((ticks(11)? + ticks(12)?) / CLOCK_TICKS)
}

/// A running measurement of wall time, own CPU time and other programs' CPU time.
pub struct Watch {
    started: Instant,
    own: Option<f64>,
    machine: Option<(f64, f64)>,
}

/// What a [`Watch`] saw.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Load {
    /// Wall seconds.
    pub wall_s: f64,
    /// CPU seconds of this process (all threads).
    pub own_cpu_s: Option<f64>,
    /// CPU seconds of everything else on the machine.
    pub other_cpu_s: Option<f64>,
    /// other_cpu_s / wall_s: 0 = the machine was otherwise idle, 1 = one CPU busy elsewhere.
    pub other_cpu_frac: Option<f64>,
}

impl Watch {
    /// Starts measuring.
    pub fn start() -> Self {
        Watch { own: own_cpu_seconds(), machine: machine_cpu_seconds(), started: Instant::now() }
    }

    /// Stops measuring.
    pub fn stop(&self) -> Load {
        let wall_s = self.started.elapsed().as_secs_f64();
        let own_cpu_s = own_cpu_seconds().zip(self.own).map(|(b, a)| b - a);
        let busy = machine_cpu_seconds().zip(self.machine).map(|(b, a)| b.0 - a.0);
        let other_cpu_s = busy.zip(own_cpu_s).map(|(busy, own)| (busy - own).max(0.0));
        let other_cpu_frac = other_cpu_s.map(|o| o / wall_s.max(1e-9));
        Load { wall_s, own_cpu_s, other_cpu_s, other_cpu_frac }
    }
}

/// Waits until the machine looks idle (under 10 % of all CPUs busy for two 1-second windows in
/// a row) or `max_wait` has passed; returns the seconds waited.
pub fn wait_idle(max_wait: f64) -> f64 {
    let started = Instant::now();
    let mut quiet_windows = 0;
    while started.elapsed().as_secs_f64() < max_wait && quiet_windows < 2 {
        let before = machine_cpu_seconds();
        std::thread::sleep(Duration::from_secs(1));
        let busy_frac = machine_cpu_seconds()
            .zip(before)
            .map(|(b, a)| (b.0 - a.0) / (b.1 - a.1).max(1e-9))
            .unwrap_or(0.0);
        quiet_windows = if busy_frac < 0.1 { quiet_windows + 1 } else { 0 };
    }
    started.elapsed().as_secs_f64()
}

/// Peak resident set size of this process in MiB (VmHWM), if the kernel reports it.
pub fn peak_rss_mib() -> Option<f64> {
    status_kib("VmHWM:").map(|kib| kib / 1024.0)
}

fn status_kib(key: &str) -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Resets the peak resident set size to the current one; false where the kernel refuses.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The minimum and the median of some timings.
pub fn min_median(values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
    (sorted[0], median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_median_of_odd_and_even_counts() {
        assert_eq!(min_median(&[3.0, 1.0, 2.0]), (1.0, 2.0));
        assert_eq!(min_median(&[4.0, 1.0, 3.0, 2.0]), (1.0, 2.5));
    }

    #[test]
    fn every_kernel_computes_the_recurrence_it_is_credited_for() {
        // x <- a x + b with a = 0.9999, b = 1e-4 has its fixed point at 1: after k rounds
        // x = 1 + (x_0 - 1) a^k. Chain c starts at 1 + c / 1000, so the mean over chains and
        // lanes is 1 + 0.0055 a^k.
        let expected = 1.0 + 0.0055 * 0.9999f64.powi(1000);
        let kernel = Kernel::detect();
        let mean = f64::from(kernel.run(1000)) / (CHAINS * kernel.lanes()) as f64;
        let portable = f64::from(fma_portable(1000)) / (CHAINS * 4) as f64;
        assert!((mean - expected).abs() < 1e-4, "{} gives {mean}, not {expected}", kernel.name());
        assert!((portable - expected).abs() < 1e-4, "portable gives {portable}");
    }
}
