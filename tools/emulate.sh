#!/usr/bin/env bash
# The CUDA backend on the emulated device (-DJETPINN_CUDA=EMULATE, kernels/emu): configures build-emu (no nvcc
# needed), builds the device tests, the driver and the device benchmarks, and runs everything labelled cuda
# there: the emulator's self-tests, every device test, bench_cuda and bench_cuda_step in check-only mode and
# an emulated `jetpinn train --backend cuda` against the CPU trainer. JETPINN_EMU_SEED (default 1) picks the
# order of threads and blocks; tools/sanitize.sh runs the same tests under ASan with another seed.
# Usage: tools/emulate.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${JETPINN_EMU_BUILD_DIR:-build-emu}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DJETPINN_CUDA=EMULATE >/dev/null
targets=(jetpinn_emu_tests jetpinn_cuda_tests jetpinn_cuda_host_tests jetpinn bench_cuda bench_cuda_step)
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >/dev/null
export JETPINN_EMU_SEED=${JETPINN_EMU_SEED:-1}
echo "emulated device: ctest -L cuda with JETPINN_EMU_SEED=$JETPINN_EMU_SEED"
ctest --test-dir "$build" -L cuda --no-tests=error --output-on-failure -j "$(nproc)" "$@"
