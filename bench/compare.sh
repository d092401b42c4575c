#!/usr/bin/env bash
# One command for the side-by-side step benchmark: jetpinn against PyTorch eager and JAX jit on the Allen-Cahn
# `paper` network (6 x 128 tanh), same weights, points and loss, interleaved rounds; prints a Markdown table
# (median s/step, steps/s, jetpinn's speed-up, GFLOP/s, % of the machine's measured GEMM peak).
# Needs the Release build in build/ (bash tools/setup.sh); installs the peers on first use (bench/peers/setup.sh).
# Usage: bash bench/compare.sh [--full] [--cases allen-cahn:f32:4096,...] [--build DIR] [--json FILE]
# The default run (Allen-Cahn f32 at N = 4,096 and 25,600, f64 at 4,096) takes a few minutes on 2 cores;
# --full adds Helmholtz and float64 at 25,600 (about four times as long).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  [[ "${args[i]}" == "--build" ]] && build="$(cd "${args[i + 1]}" && pwd)"
done
if [[ ! -x "$build/bench/jetpinn_step" ]]; then
  echo "compare.sh: building jetpinn_step in $build" >&2
  [[ -f "$build/CMakeCache.txt" ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target jetpinn_step -j"$(nproc)" >/dev/null
fi
if ! "$root/.venv/bin/python" -c "import torch, jax" 2>/dev/null; then
  bash "$root/bench/peers/setup.sh"
fi
exec "$root/.venv/bin/python" "$root/bench/compare.py" --build "$build" "$@"
