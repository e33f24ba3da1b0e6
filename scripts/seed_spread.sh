#!/usr/bin/env bash
# The notebook's 1D recipe over many seeds, in flowmatching and in the PyTorch reference
# (ref_1d.py), and a rank test of whether the two give the same Heun W1.
#
# The two programs draw different random numbers, so seed N of one has nothing to do with
# seed N of the other; only the spread over many seeds can be compared. Each side runs its
# default (the notebook: 2500 AdamW steps of batch 1024, 33-64-64-1 network, 20 000 Heun
# samples of 200 steps) once per seed, one thread each, and is scored on the same metrics
# (exact W1 to the mixture, largest mode-share error).
#
# Usage:  scripts/seed_spread.sh [PYTHON]
#   PYTHON     interpreter with torch, numpy, scipy, matplotlib, safetensors, pandas
#              (first argument, else $PYTHON, else /work/venv/bin/python)
# Environment:
#   SEEDS="0 1 ... 29"   seeds to run on both sides
#   OUT=out/seed-spread  where both sides' reports and the summary JSON go
#   REF=../shared/reference/ref_1d.py
#   SKIP_TORCH=1         reuse the torch reports already in $OUT/torch
#   SKIP_OURS=1          reuse flowmatching's reports already in $OUT/ours
#
# Run from the repository root. Writes $OUT/seed_spread_1d.json and prints a table.
set -euo pipefail

PYTHON=${1:-${PYTHON:-/work/venv/bin/python}}
SEEDS=${SEEDS:-$(seq 0 29)}
OUT=${OUT:-out/seed-spread}
REF=${REF:-../shared/reference/ref_1d.py}
BIN=${CARGO_TARGET_DIR:-target}/release/flowmatching

cargo build --release --quiet
mkdir -p "$OUT/ours" "$OUT/torch"
for seed in $SEEDS; do
    echo "== seed $seed" >&2
    if [[ -z "${SKIP_OURS:-}" ]]; then
        RAYON_NUM_THREADS=1 "$BIN" demo --quiet --seed "$seed" --out "$OUT/ours/$seed" >/dev/null
    fi
    if [[ -z "${SKIP_TORCH:-}" ]]; then
        "$PYTHON" "$REF" --seed "$seed" --threads 1 --timing-runs 1 --max-idle-wait 0 \
            --out "$OUT/torch" >/dev/null
    fi
done

SEEDS="$SEEDS" OUT="$OUT" "$PYTHON" - <<'PY'
import json, os, statistics
from scipy.stats import mannwhitneyu

out, seeds = os.environ["OUT"], [int(s) for s in os.environ["SEEDS"].split()]
rows = {"flowmatching": [], "pytorch": []}
for seed in seeds:
    with open(f"{out}/ours/{seed}/metrics.json") as f:
        heun = next(s for s in json.load(f)["solvers"] if s["solver"] == "heun")["metrics"]
    rows["flowmatching"].append(
        {"seed": seed, "w1": heun["w1"], "max_mode_err": heun["mode_fraction_max_abs_err"]})
    with open(f"{out}/torch/ref_1d_linear_seed{seed}.json") as f:
        heun = json.load(f)["metrics"]["heun"]
    rows["pytorch"].append(
        {"seed": seed, "w1": heun["w1_exact"], "max_mode_err": heun["mode_fraction_max_abs_err"]})

summary = {}
print("| Heun, 200 steps | runs | W1 median | W1 mean | W1 range | mode err median | mode err <= 0.03 |")
print("| :-- | --: | --: | --: | --: | --: | --: |")
for name, runs in rows.items():
    w1 = [r["w1"] for r in runs]
    err = [r["max_mode_err"] for r in runs]
    summary[name] = {"w1_median": statistics.median(w1), "w1_mean": statistics.mean(w1),
                     "w1_min": min(w1), "w1_max": max(w1),
                     "mode_err_median": statistics.median(err),
                     "mode_err_within_0_03": sum(e <= 0.03 for e in err)}
    s = summary[name]
    print(f"| {name} | {len(runs)} | {s['w1_median']:.3f} | {s['w1_mean']:.3f} | "
          f"{s['w1_min']:.3f}-{s['w1_max']:.3f} | {s['mode_err_median']:.3f} | "
          f"{s['mode_err_within_0_03']} of {len(runs)} |")
test = mannwhitneyu([r["w1"] for r in rows["flowmatching"]], [r["w1"] for r in rows["pytorch"]])
print(f"Mann-Whitney U test of equal W1 distributions: U = {test.statistic:.0f}, p = {test.pvalue:.3f}")
with open(f"{out}/seed_spread_1d.json", "w") as f:
    json.dump({"seeds": seeds, "runs": rows, "summary": summary,
               "mann_whitney": {"u": float(test.statistic), "p": float(test.pvalue)}}, f, indent=1)
PY
