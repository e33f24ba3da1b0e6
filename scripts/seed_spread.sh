#!/usr/bin/env bash
# The notebook's 1D recipe over many seeds, in flowmatching and in the PyTorch reference
# (ref_1d.py), compared seed by seed.
#
# flowmatching's default `--rng notebook` draws every random number the notebook draws, from
# the same generators in the same order, so seed N here is the notebook's seed N: the two runs
# differ only by float rounding. Each side runs its default (2500 AdamW steps of batch 1024,
# 33-64-64-1 network, 20 000 Heun samples of 200 steps) once per seed, one thread each, and is
# scored on the same metrics (exact W1 to the mixture, largest mode-share error). The script
# prints both per seed and the largest differences. With `RNG=chacha` flowmatching draws from
# its own ChaCha8 streams instead, and only the spread over seeds can be compared.
#
# Usage:  scripts/seed_spread.sh [PYTHON]
#   PYTHON     interpreter with torch, numpy, scipy, matplotlib, safetensors, pandas
#              (first argument, else $PYTHON, else /work/venv/bin/python)
# Environment:
#   SEEDS="0 1 ... 29"   seeds to run on both sides
#   RNG=notebook         flowmatching's --rng
#   OUT=out/seed-spread  where both sides' reports and the summary JSON go
#   REF=../shared/reference/ref_1d.py
#   SKIP_TORCH=1         reuse the torch reports already in $OUT/torch
#   TORCH_FROM=FILE      take PyTorch's per-seed figures from an earlier summary JSON instead
#                        (docs/seeds/seed_spread_1d.json holds seeds 0-29), running no torch
#   SKIP_OURS=1          reuse flowmatching's reports already in $OUT/ours
#
# Run from the repository root. Writes $OUT/seed_spread_1d.json and prints a table.
set -euo pipefail

PYTHON=${1:-${PYTHON:-/work/venv/bin/python}}
SEEDS=${SEEDS:-$(seq 0 29)}
RNG=${RNG:-notebook}
OUT=${OUT:-out/seed-spread}
REF=${REF:-../shared/reference/ref_1d.py}
BIN=${CARGO_TARGET_DIR:-target}/release/flowmatching

cargo build --release --quiet
mkdir -p "$OUT/ours" "$OUT/torch"
for seed in $SEEDS; do
    echo "== seed $seed" >&2
    if [[ -z "${SKIP_OURS:-}" ]]; then
        RAYON_NUM_THREADS=1 "$BIN" demo --quiet --seed "$seed" --rng "$RNG" \
            --out "$OUT/ours/$seed" >/dev/null
    fi
    if [[ -z "${SKIP_TORCH:-}" && -z "${TORCH_FROM:-}" ]]; then
        "$PYTHON" "$REF" --seed "$seed" --threads 1 --timing-runs 1 --max-idle-wait 0 \
            --out "$OUT/torch" >/dev/null
    fi
done

SEEDS="$SEEDS" OUT="$OUT" RNG="$RNG" TORCH_FROM="${TORCH_FROM:-}" "$PYTHON" - <<'PY'
import json, os, statistics

out, seeds = os.environ["OUT"], [int(s) for s in os.environ["SEEDS"].split()]
earlier = {}
if os.environ["TORCH_FROM"]:
    with open(os.environ["TORCH_FROM"]) as f:
        earlier = {r["seed"]: r for r in json.load(f)["runs"]["pytorch"]}
rows = {"flowmatching": [], "pytorch": []}
for seed in seeds:
    with open(f"{out}/ours/{seed}/metrics.json") as f:
        heun = next(s for s in json.load(f)["solvers"] if s["solver"] == "heun")["metrics"]
    rows["flowmatching"].append(
        {"seed": seed, "w1": heun["w1"], "max_mode_err": heun["mode_fraction_max_abs_err"]})
    if earlier:
        rows["pytorch"].append(earlier[seed])
        continue
    with open(f"{out}/torch/ref_1d_linear_seed{seed}.json") as f:
        heun = json.load(f)["metrics"]["heun"]
    rows["pytorch"].append(
        {"seed": seed, "w1": heun["w1_exact"], "max_mode_err": heun["mode_fraction_max_abs_err"]})

print("| seed | W1 flowmatching | W1 PyTorch | mode err flowmatching | mode err PyTorch |")
print("| --: | --: | --: | --: | --: |")
for ours, torch in zip(rows["flowmatching"], rows["pytorch"]):
    print(f"| {ours['seed']} | {ours['w1']:.4f} | {torch['w1']:.4f} | "
          f"{ours['max_mode_err']:.4f} | {torch['max_mode_err']:.4f} |")

summary = {}
for name, runs in rows.items():
    w1 = [r["w1"] for r in runs]
    err = [r["max_mode_err"] for r in runs]
    summary[name] = {"w1_median": statistics.median(w1), "w1_mean": statistics.mean(w1),
                     "w1_min": min(w1), "w1_max": max(w1),
                     "mode_err_median": statistics.median(err),
                     "mode_err_within_0_03": sum(e <= 0.03 for e in err)}
    s = summary[name]
    print(f"{name}: W1 median {s['w1_median']:.3f}, mean {s['w1_mean']:.3f}, range "
          f"{s['w1_min']:.3f}-{s['w1_max']:.3f}; every mode within 0.03 in "
          f"{s['mode_err_within_0_03']} of {len(runs)} runs")
pairs = list(zip(rows["flowmatching"], rows["pytorch"]))
summary["largest_difference"] = {
    "w1": max(abs(a["w1"] - b["w1"]) for a, b in pairs),
    "max_mode_err": max(abs(a["max_mode_err"] - b["max_mode_err"]) for a, b in pairs),
}
d = summary["largest_difference"]
print(f"largest difference seed by seed (--rng {os.environ['RNG']}): W1 {d['w1']:.2e}, "
      f"max mode error {d['max_mode_err']:.2e}")
with open(f"{out}/seed_spread_1d.json", "w") as f:
    json.dump({"seeds": seeds, "rng": os.environ["RNG"], "runs": rows, "summary": summary},
              f, indent=1)
PY
