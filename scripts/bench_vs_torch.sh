#!/usr/bin/env bash
# Runs the PyTorch reference notebook (ref_1d.py) and `flowmatching bench` on the same workload,
# one after the other, and prints their timings and sample quality side by side.
#
# The workload is the notebook's: 2500 AdamW steps of batch 1024 on the 33-64-64-1 network
# (data pool of 50 000 mixture draws), then 20 000 points with Euler and with Heun, 200 steps
# each. Both sides use the same number of threads and time each section several times; the
# table compares minima (the least disturbed runs) and shows the medians too.
#
# Usage:  scripts/bench_vs_torch.sh [PYTHON]
#   PYTHON          interpreter with torch, numpy, scipy, matplotlib, safetensors, pandas
#                   (first argument, else $PYTHON, else /work/venv/bin/python)
# Environment:
#   THREADS=2       threads of both (torch.set_num_threads and RAYON_NUM_THREADS)
#   REPEATS=3       timed runs per section on both sides
#   MAX_IDLE_WAIT=30  seconds each side may wait for an idle machine before a timed section
#   OUT=out/bench-vs-torch  where the JSON reports, the table and torch's plots go
#   REF=../shared/reference/ref_1d.py  the reference script
#   SKIP_TORCH=1    reuse $OUT/torch/ref_1d_linear_seed0.json from an earlier run
#   TORCH_MALLOC_TUNED=1  run torch with glibc's mmap and trim thresholds at 1 GiB (default 1):
#                   with glibc's defaults, torch's sampling loop can fall into a regime where
#                   each step maps and unmaps its 5 MB activations, about a million page faults
#                   per Euler run, which triples its time; the tuning keeps torch at its best
#   AUTOGROUP_NICE=N  first write N (e.g. -20) to /proc/self/autogroup: on a machine shared by
#                   other sessions, the kernel then gives this run's session priority (root
#                   only; other sessions merely wait a little)
#   CARGO_TARGET_DIR  honoured when building and finding the binary
#
# Run from the repository root. Exit status: 0, or the first failing step's.
set -euo pipefail

PYTHON=${1:-${PYTHON:-/work/venv/bin/python}}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
MAX_IDLE_WAIT=${MAX_IDLE_WAIT:-30}
OUT=${OUT:-out/bench-vs-torch}
REF=${REF:-../shared/reference/ref_1d.py}
TARGET=${CARGO_TARGET_DIR:-target}

if [[ ! -x "$PYTHON" ]] && ! command -v "$PYTHON" >/dev/null; then
    echo "error: python interpreter '$PYTHON' not found (pass it as the first argument)" >&2
    exit 1
fi
if [[ ! -f "$REF" ]]; then
    echo "error: reference script '$REF' not found (set REF)" >&2
    exit 1
fi
mkdir -p "$OUT/torch"
if [[ -n "${AUTOGROUP_NICE:-}" ]]; then
    echo "$AUTOGROUP_NICE" >/proc/self/autogroup
    echo "== scheduling: $(cat /proc/self/autogroup)" >&2
fi
TORCH_ENV=()
if [[ "${TORCH_MALLOC_TUNED:-1}" == 1 ]]; then
    TORCH_ENV=(MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824)
fi

echo "== building flowmatching (release)" >&2
cargo build --release --quiet
BIN="$TARGET/release/flowmatching"

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
TORCH_JSON="$OUT/torch/ref_1d_linear_seed0.json"
if [[ "${SKIP_TORCH:-0}" != 1 ]]; then
    echo "== PyTorch reference ($THREADS threads, $REPEATS timed runs per section)" >&2
    env "${TORCH_ENV[@]}" "$PYTHON" "$REF" --path linear --seed 0 --threads "$THREADS" --timing-runs "$REPEATS" \
        --max-idle-wait "$MAX_IDLE_WAIT" --out "$OUT/torch" >"$OUT/torch/stdout.txt"
fi

echo "== flowmatching bench ($THREADS threads, $REPEATS timed runs per section)" >&2
RAYON_NUM_THREADS=$THREADS "$BIN" bench --threads "$THREADS" --repeats "$REPEATS" \
    --max-idle-wait "$MAX_IDLE_WAIT" --json "$OUT/ours.json" --quiet | tee "$OUT/ours.txt"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PYTHON" - "$TORCH_JSON" "$OUT/ours.json" "$OUT/side_by_side.md" <<'PY'
"""Side-by-side table of the two JSON reports, printed and written as Markdown."""
import json
import os
import sys

torch_path, ours_path, md_path = sys.argv[1:4]
torch = json.load(open(torch_path))
ours = json.load(open(ours_path))
detail = torch["timing_detail"]


def torch_runs(section):
    return [r["wall_s"] for r in detail[section]["all_runs"]]


def torch_other(section):
    return max(r["other_cpu_frac"] for r in detail[section]["all_runs"])


def ours_other(section):
    return max((l["other_cpu_frac"] or 0.0) for l in ours[section]["loads"])


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


steps = ours["workload"]["train_steps"]
rows = []
for label, t_key, o_key in [("training 2500 steps", "training", "training"),
                            ("Euler 200 x 20 000", "euler", "euler"),
                            ("Heun 200 x 20 000", "heun", "heun")]:
    t_runs = torch_runs(t_key)
    o = ours[o_key]
    rows.append([label,
                 f"{min(t_runs):.3f}", f"{median(t_runs):.3f}",
                 f"{o['min_s']:.3f}", f"{o['median_s']:.3f}",
                 f"{min(t_runs) / o['min_s']:.1f}x",
                 f"{o['gflops_at_min']:.1f}", f"{o['times_floor']:.1f}",
                 f"{torch_other(t_key):.2f} / {ours_other(o_key):.2f}"])
t_step = 1e3 * min(torch_runs("training")) / steps
rows.append(["ms per training step", f"{t_step:.3f}", "", f"{ours['training']['ms_per_step_min']:.3f}",
             "", f"{t_step / ours['training']['ms_per_step_min']:.1f}x", "", "", ""])
for solver in ["euler", "heun"]:
    t_w1 = torch["metrics"][solver]["w1_exact"]
    rows.append([f"W1 to the mixture, {solver}", f"{t_w1:.4f}", "", f"{ours[solver]['w1']:.4f}",
                 "", "", "", "", ""])

header = ["", "PyTorch min s", "PyTorch median s", "ours min s", "ours median s",
          "speed-up (min)", "ours GFLOP/s", "ours x floor", "other CPU (torch / ours)"]
m = ours["machine"]
lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
lines += ["| " + " | ".join(r) + " |" for r in rows]
peak = (f"measured FMA peak {m['peak_gflops_all_threads']:.1f} GFLOP/s on {m['threads']} threads "
        f"({m['peak_kernel']}), sgemm 128x64x64 {m['sgemm_gflops_all_threads']:.1f}; "
        f"torch {torch['torch']} with {torch['threads']} threads, glibc malloc thresholds "
        f"{'at 1 GiB' if os.environ.get('TORCH_MALLOC_TUNED', '1') == '1' else 'default'}")
text = "\n".join(lines) + "\n\n" + peak + "\n"
open(md_path, "w").write(text)

widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
print()
for r in [header] + rows:
    print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
print()
print(peak)
PY
echo "== wrote $OUT/side_by_side.md, $OUT/ours.json and $TORCH_JSON" >&2
