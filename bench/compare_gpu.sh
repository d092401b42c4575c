#!/usr/bin/env bash
# jetpinn's device training step against PyTorch eager and JAX jit on the same GPU, in one invocation on the GPU
# machine: the Allen-Cahn `paper` step (6 x 128 tanh, 25,600 points) from the same weights and points, every
# peer's first loss checked against jetpinn's before timing, interleaved rounds; prints a Markdown table (median
# ms/step, steps/s, GFLOP/s, speed-ups; targets >= 10x over torch eager, >= 3x over JAX). See bench/compare_gpu.py.
# jetpinn runs as `bench_cuda_step --peer-step` with train.gemm fp32 and 3xtf32 (CUDA graph on).
# Needs bench_cuda_step in the build folder (default: $JETPINN_GPU_BUILD_DIR or build-gpu, as tools/gpu-check.sh);
# when it is missing it is built (several minutes). Python: .venv/bin/python if present, else python3, with torch
# and jax (CUDA builds) installed; a peer that cannot start is reported in the table and the others still run.
# About 1-2 minutes on an H100 (mostly JAX's compile and the peers' start-up).
# Usage: bash bench/compare_gpu.sh [--dry-run] [--build DIR] [--gemms fp32,3xtf32,tf32] [--rounds N] [--json FILE]
#        bash bench/compare_gpu.sh --host-check --build build-step   # no GPU: checks the harness on the CPU
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/${JETPINN_GPU_BUILD_DIR:-build-gpu}"
dry=0
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  case "${args[i]}" in
    --build) build="$(cd "${args[i + 1]}" 2>/dev/null && pwd || echo "${args[i + 1]}")" ;;
    --dry-run) dry=1 ;;
  esac
done
py="$root/.venv/bin/python"
[[ -x "$py" ]] || py=python3
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
configure=(cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DJETPINN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
           -DJETPINN_BENCH=ON)
if [[ ! -x "$build/bench/bench_cuda_step" ]]; then
  if [[ "$dry" -eq 1 ]]; then
    echo "compare_gpu.sh: would build bench_cuda_step: ${configure[*]} && cmake --build $build --target bench_cuda_step"
  else
    echo "compare_gpu.sh: building bench_cuda_step in $build (several minutes)" >&2
    [[ -f "$build/CMakeCache.txt" ]] || "${configure[@]}" >/dev/null
    cmake --build "$build" --target bench_cuda_step -j"$(nproc)" >/dev/null
  fi
fi
exec "$py" "$root/bench/compare_gpu.py" --build "$build" --python "$py" "$@"
