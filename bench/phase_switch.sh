#!/usr/bin/env bash
# optim.switch=phase against fixed switch steps, on one problem and preset: one run per step S of the sweep
# (optim.lbfgs_from = S) and one with optim.switch=phase (optim.lbfgs_from = CAP, the latest step it may come),
# all on one thread with the preset's seed, ITERS steps in all and a metrics line every step. Prints a markdown
# table: the switch, the step at which the quasi-Newton method took over (the first metrics line with
# lbfgs_evals), the total diffusion step as the detector dates it (summary.json; it confirms a few measurements
# later), the final and the best relative L2 error, and the wall time (each run's summary.json).
# Usage: bench/phase_switch.sh PROBLEM PRESET ITERS CAP S...   e.g. helmholtz accurate 4000 2000 250 500 1000 2000
# Runs go to runs/phase_switch/PROBLEM-PRESET/; BUILD names the build folder (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 5 ] || { echo "usage: bench/phase_switch.sh PROBLEM PRESET ITERS CAP STEP..." >&2; exit 2; }
problem=$1 preset=$2 iters=$3 cap=$4
shift 4
bin=${BUILD:-build}/tools/jetpinn
out=runs/phase_switch/$problem-$preset
mkdir -p "$out"

run() {  # run NAME SETTINGS...
  local name=$1
  shift
  rm -rf "${out:?}/$name"
  "$bin" train "$problem" --preset "$preset" --iters "$iters" --threads 1 --set train.log_every=1 --quiet \
    --out "$out/$name" "$@" >/dev/null
}
for s in "$@"; do run "step_$s" --set "optim.lbfgs_from=$s"; done
run phase --set optim.switch=phase --set "optim.lbfgs_from=$cap"

echo "$problem --preset $preset, $iters steps, 1 thread ($(git rev-parse --short HEAD))"
echo
echo "| switch | quasi-Newton from step | total diffusion at | final rel. L2 | best rel. L2 | wall (s) |"
echo "|---|---|---|---|---|---|"
for name in $(printf 'step_%s ' "$@") phase; do
  python3 - "$out/$name" "$name" "$cap" <<'PY'
import json, sys
run, name, cap = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(run + "/summary.json"))
first = next((json.loads(l)["step"] - 1 for l in open(run + "/metrics.jsonl") if '"lbfgs_evals"' in l), None)
label = f"phase (cap {cap})" if name == "phase" else f"step {name[5:]}"
total = s.get("total_diffusion_step", -1)
print(f"| {label} | {first if first is not None else 'never'} | {total if total >= 0 else 'not seen'} | "
      f"{s['rel_l2']:.3e} | {s['rel_l2_best']:.3e} | {s['wall_seconds']:.1f} |")
PY
done
