#!/usr/bin/env bash
# The training results of bench/RESULTS.md: each problem's quick preset (error at step 0 and at the end, wall
# time), and Adam alone against Adam followed by L-BFGS on Helmholtz (a1 = 1, a2 = 4, float64) at the same
# wall-time budget. Usage: bench/training_runs.sh [BUILD_DIR] [OUT_DIR]; prints a markdown table.
set -euo pipefail
build=${1:-build}
out=${2:-runs/results}
bin="$build/tools/jetpinn"
budget=${JETPINN_BUDGET_SECONDS:-150}
mkdir -p "$out"

summary() {  # summary RUN_DIR: first rel_l2, final rel_l2, steps, wall seconds
  python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
first = next(json.loads(l)["rel_l2"] for l in open(d + "/metrics.jsonl") if "rel_l2" in json.loads(l))
s = json.load(open(d + "/summary.json"))
print(f"{first:.3e} | {s['rel_l2']:.3e} | {first / s['rel_l2']:.0f}x | {s['steps']} | {s['wall_seconds']:.0f} s")
PY
}

rows=()
for p in helmholtz allen-cahn burgers cavity; do
  "$bin" train "$p" --preset quick --out "$out/$p-quick" --quiet
  rows+=("| \`jetpinn train $p --preset quick\` | $(summary "$out/$p-quick") |")
done
"$bin" train helmholtz --preset quick --set train.max_seconds="$budget" --iters 1000000 --out "$out/adam" --quiet
"$bin" train helmholtz --preset quick --set train.max_seconds="$budget" --iters 1000000 --set optim.lbfgs_from=5000 \
  --out "$out/adam-lbfgs" --quiet
rows+=("| Adam alone, ${budget} s budget | $(summary "$out/adam") |")
rows+=("| Adam, then L-BFGS from step 5,000, ${budget} s budget | $(summary "$out/adam-lbfgs") |")

echo "| run | rel. L2 at step 0 | final rel. L2 | fall | steps | wall |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
