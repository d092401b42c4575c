#!/usr/bin/env bash
# GPU check for a lent GPU machine: build Release for sm_90 with the CUDA backend, run the CUDA tests (ctest
# label "cuda"), and print a short table last. Today the CUDA backend holds device discovery only, so the
# table has the device and the test result; kernels and their benchmarks join as the backend grows.
#   tools/gpu-check.sh            build and run (on the GPU machine)
#   tools/gpu-check.sh --dry-run  build here and list what would run, running nothing that needs a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
dry=0
[ "${1:-}" = "--dry-run" ] && dry=1
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
BUILD=${JETPINN_GPU_BUILD_DIR:-build-gpu}
start=$(date +%s)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJETPINN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DJETPINN_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target jetpinn_cuda_tests >/dev/null
built=$(( $(date +%s) - start ))
if [ "$dry" -eq 1 ]; then
  echo "dry run: built $BUILD in ${built}s; would run: ctest --test-dir $BUILD -L cuda --output-on-failure"
  exit 0
fi
set +e
ctest --test-dir "$BUILD" -L cuda --output-on-failure >"$BUILD/gpu-tests.log" 2>&1
rc=$?
set -e
device=$(grep -m1 "CUDA device 0:" "$BUILD/gpu-tests.log" | sed 's/.*CUDA device 0: //' || true)
cat "$BUILD/gpu-tests.log"
echo
echo "| item | result |"
echo "|---|---|"
echo "| commit | $(git rev-parse --short HEAD) |"
echo "| device | ${device:-none found} |"
echo "| build (s) | $built |"
echo "| CUDA tests | $(grep -E 'tests passed|tests failed' "$BUILD/gpu-tests.log" | tail -1) |"
exit $rc
