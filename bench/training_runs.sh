#!/usr/bin/env bash
# The training results of bench/RESULTS.md: each problem's quick preset (error at step 0 and at the end, wall
# time; all cores), and Adam alone against Adam followed by L-BFGS on Helmholtz (a1 = 1, a2 = 4, float64) at the
# same wall-time budget. Usage: bench/training_runs.sh [BUILD_DIR] [OUT_DIR]; prints a markdown table.
set -euo pipefail
build=${1:-build}
out=${2:-runs/results}
bin="$build/tools/jetpinn"
budget=${JETPINN_BUDGET_SECONDS:-300}  # per run of the Adam / L-BFGS pair
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
# Adam alone against Adam then L-BFGS: the same settings (Helmholtz quick without RBA, 4,096 points), run at
# the same time on one thread each, so both see the same machine, for the same wall-time budget.
pair=(--preset quick --threads 1 --iters 1000000 --set train.max_seconds="$budget" --set loss.rba.enabled=false
      --set points.collocation=4096 --set train.eval_every=1000 --quiet)
"$bin" train helmholtz "${pair[@]}" --out "$out/adam" &
"$bin" train helmholtz "${pair[@]}" --set optim.lbfgs_from=2000 --out "$out/adam-lbfgs" &
wait
rows+=("| Adam alone (helmholtz quick, RBA off, 4,096 points), ${budget} s | $(summary "$out/adam") |")
rows+=("| Adam, then L-BFGS from step 2,000 (same), ${budget} s | $(summary "$out/adam-lbfgs") |")

echo "| run | rel. L2 at step 0 | final rel. L2 | fall | steps | wall |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
