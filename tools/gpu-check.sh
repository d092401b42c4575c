#!/usr/bin/env bash
# GPU check for a lent GPU machine (H100/H200, sm_90), sized to finish well under 8 minutes:
#   1. build Release for sm_90: the CUDA backend, its tests, and bench_cuda (when Google Benchmark is installed)
#   2. ctest -L cuda: the host-logic tests and every device kernel against the CPU backend
#   3. compute-sanitizer memcheck on the device tests, racecheck on the shared-memory kernels (fused MLP,
#      reductions), each under a time limit
#   4. bench_cuda: fused vs cuBLAS jet MLP forward / forward+backward, f32 and f64, GFLOP/s
# and print one short table last. Exit status: non-zero when a test or a sanitizer check failed.
#   tools/gpu-check.sh            build and run (on the GPU machine)
#   tools/gpu-check.sh --dry-run  build here and list what would run, running nothing that needs a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
dry=0
[ "${1:-}" = "--dry-run" ] && dry=1
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
BUILD=${JETPINN_GPU_BUILD_DIR:-build-gpu}
LOG="$BUILD/gpu-check"
start=$(date +%s)

# 1. Build. Benchmarks need Google Benchmark; without it the rest still runs.
bench=ON
if ! cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJETPINN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
     -DJETPINN_BENCH=ON >/dev/null 2>&1; then
  bench=OFF
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJETPINN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DJETPINN_BENCH=OFF >/dev/null
fi
mkdir -p "$LOG"
targets=(jetpinn_cuda_tests jetpinn_cuda_host_tests)
[ "$bench" = ON ] && targets+=(bench_cuda)
cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}" >"$LOG/build.log" 2>&1 || { tail -40 "$LOG/build.log"; exit 1; }
built=$(( $(date +%s) - start ))

TESTS="$BUILD/tests/jetpinn_cuda_tests"
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
RACE_CASES='*device MLP*,*elementwise*,*batch statistics*'
cmds=(
  "ctest --test-dir $BUILD -L cuda-host --output-on-failure"
  "$TESTS   (every device test; each check prints its share of its tolerance)"
  "timeout 150 $SAN --tool memcheck --leak-check full --error-exitcode 1 $TESTS"
  "timeout 90 $SAN --tool racecheck --error-exitcode 1 $TESTS -tc='$RACE_CASES'"
)
[ "$bench" = ON ] && cmds+=("timeout 60 $BUILD/bench/bench_cuda --benchmark_min_time=0.2")
if [ "$dry" -eq 1 ]; then
  echo "dry run: built ${targets[*]} in $BUILD in ${built}s (benchmarks $bench); would run:"
  for c in "${cmds[@]}"; do echo "  $c"; done
  exit 0
fi

set +e
# 2. Tests: the host logic through ctest, the device tests directly (each check prints its share of its tolerance).
ctest --test-dir "$BUILD" -L cuda-host --output-on-failure >"$LOG/host.log" 2>&1
rc_host=$?
"$TESTS" >"$LOG/tests.log" 2>&1
rc_tests=$?
grep -E "relative error" "$LOG/tests.log" | sed -E 's/.*\(([0-9.e+-]+|inf|nan)% of.*/\1 &/' | sort -g -r >"$LOG/tolerances.log" || true
# 3. Sanitizers (a timeout reads as "timed out", not as a pass).
timeout 150 "$SAN" --tool memcheck --leak-check full --error-exitcode 1 "$TESTS" >"$LOG/memcheck.log" 2>&1
rc_mem=$?
timeout 90 "$SAN" --tool racecheck --error-exitcode 1 "$TESTS" -tc="$RACE_CASES" >"$LOG/racecheck.log" 2>&1
rc_race=$?
# 4. Benchmarks.
rc_bench=skipped
if [ "$bench" = ON ]; then
  timeout 60 "$BUILD/bench/bench_cuda" --benchmark_min_time=0.2 >"$LOG/bench.log" 2>&1
  rc_bench=$?
fi
set -e

verdict() {  # exit status -> word
  case "$1" in 0) echo passed ;; 124|137) echo "timed out" ;; skipped) echo skipped ;; *) echo "FAILED (rc $1)" ;; esac
}
sanitizer_summary() {  # "ERROR SUMMARY: n errors" / racecheck's "RACECHECK SUMMARY"
  grep -hE "(ERROR|RACECHECK) SUMMARY" "$1" | tail -1
}
grep -vE "relative error|^MESSAGE|^$|^=+$|tests/cuda/test_.*:[0-9]+:$" "$LOG/tests.log" | tail -40
echo
echo "--- worst shares of tolerance (of $(wc -l <"$LOG/tolerances.log") checks) ---"
head -5 "$LOG/tolerances.log" | cut -d' ' -f2- || true
echo
[ -s "$LOG/bench.log" ] && cat "$LOG/bench.log"
device=$(grep -hm1 "CUDA device 0:" "$LOG/tests.log" "$LOG/bench.log" 2>/dev/null | head -1 | sed 's/.*CUDA device 0: //' || true)
echo
echo "| item | result |"
echo "|---|---|"
echo "| commit | $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- kernels tests/cuda bench/bench_cuda.cpp || echo ' (+ local changes)') |"
echo "| device | ${device:-none found} |"
echo "| build (s) | $built |"
echo "| host-logic tests | $(verdict $rc_host) |"
echo "| CUDA tests | $(verdict $rc_tests): $(grep -E '^\[doctest\] test cases' "$LOG/tests.log" | tail -1 | sed 's/\[doctest\] //') |"
echo "| memcheck | $(verdict $rc_mem): $(sanitizer_summary "$LOG/memcheck.log") |"
echo "| racecheck | $(verdict $rc_race): $(sanitizer_summary "$LOG/racecheck.log") |"
echo "| benchmarks | $(verdict $rc_bench) |"
if [ -s "$LOG/bench.log" ]; then
  grep -E "^BM_" "$LOG/bench.log" | awk '{ printf "| %s | %s %s, %s |\n", $1, $2, $3, $NF }'
fi
echo "| total (s) | $(( $(date +%s) - start )) |"
rc=0
[ "$rc_host" -ne 0 ] && rc=1
[ "$rc_tests" -ne 0 ] && rc=1
[ "$rc_mem" -ne 0 ] && rc=1
[ "$rc_race" -ne 0 ] && rc=1
exit $rc
