#!/usr/bin/env bash
# `jetpinn train --backend cuda` on the emulated device (-DJETPINN_CUDA=EMULATE) follows the CPU trainer: the
# Helmholtz quick preset for 50 steps (512 collocation points, so the emulated kernels finish in a minute or
# two), the loss of every step within 1e-10 relative in float64 and 2e-4 in float32, and the emulated run says
# on stderr that it is not a GPU.
# Usage: emulated_train.sh JETPINN_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
common=(train helmholtz --preset quick --iters 50 --seed 3 --set train.log_every=1 --set train.eval_every=0
        --set points.collocation=512)
for precision in f64 f32; do
  "$bin" "${common[@]}" --set train.precision=$precision --out "$tmp/cpu_$precision" >"$tmp/cpu_$precision.log" 2>&1 ||
    { cat "$tmp/cpu_$precision.log"; echo "FAIL: CPU run ($precision)"; exit 1; }
  "$bin" "${common[@]}" --set train.precision=$precision --backend cuda --out "$tmp/emu_$precision" \
    >"$tmp/emu_$precision.log" 2>"$tmp/emu_$precision.err" ||
    { cat "$tmp/emu_$precision.log" "$tmp/emu_$precision.err"; echo "FAIL: emulated run ($precision)"; exit 1; }
  grep -q "emulated device" "$tmp/emu_$precision.err" ||
    { echo "FAIL: the emulated run did not say it runs on the emulated device"; exit 1; }
  ! grep -q "jetpinn-emu:" "$tmp/emu_$precision.err" || { cat "$tmp/emu_$precision.err"; echo "FAIL: findings"; exit 1; }
done
python3 - "$tmp" <<'PY' || exit 1
import json, sys
tmp = sys.argv[1]
def losses(path):
    return {d["step"]: d["loss"] for d in map(json.loads, open(path)) if "loss" in d}
worst = {}
for precision, tol in (("f64", 1e-10), ("f32", 2e-4)):
    cpu, emu = losses(f"{tmp}/cpu_{precision}/metrics.jsonl"), losses(f"{tmp}/emu_{precision}/metrics.jsonl")
    if sorted(cpu) != sorted(emu) or len(cpu) < 50:
        sys.exit(f"FAIL: {precision}: logged steps differ ({len(cpu)} on the CPU, {len(emu)} emulated)")
    err = max(abs(emu[k] - cpu[k]) / abs(cpu[k]) for k in cpu)
    print(f"{precision}: {len(cpu)} steps, largest relative loss difference {err:.3g} (tolerance {tol:g})")
    if not err <= tol:
        sys.exit(f"FAIL: {precision}: emulated losses differ from the CPU trainer's by {err:.3g} > {tol:g}")
PY
echo "PASS: the emulated device trains as the CPU does"
