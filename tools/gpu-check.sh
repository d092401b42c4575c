#!/usr/bin/env bash
# GPU check for a lent GPU machine (H100/H200, sm_90), sized for the 15-minute device budget (about 8 minutes
# plus the build; --peers adds up to 3):
#   1. build Release for sm_90: the CUDA backend, the driver, its tests, bench_cuda and bench_cuda_step
#   2. the host-logic tests, then every device test: each kernel and DeviceOps primitive against the CPU, and the
#      device trainer against the host trainer on every built-in problem (tests/cuda/test_device_trainer.cpp)
#   3. compute-sanitizer memcheck on the kernel tests and one short training case, racecheck on the shared-memory
#      kernels, each under a time limit
#   4. a 200-step `jetpinn train --backend cuda` run (progress, result, steps/s)
#   5. bench_cuda (fused vs cuBLAS jet MLP, fused SNR sums) and bench_cuda_step (the full Adam step of the
#      Allen-Cahn paper preset: fp32 / 3xTF32 / TF32 / f64, with and without SNR every step and graphs)
#   6. with --peers: bench/compare_gpu.sh (the same step in PyTorch eager and JAX jit on the same card)
# and print one short table last. Exit status: non-zero when a test or a sanitizer check failed.
#   tools/gpu-check.sh [--peers]   build and run (on the GPU machine)
#   tools/gpu-check.sh --dry-run   build here and list what would run, running nothing that needs a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
dry=0
peers=0
for a in "$@"; do
  case "$a" in --dry-run) dry=1 ;; --peers) peers=1 ;; *) echo "gpu-check: unknown option $a (use --dry-run, --peers)" >&2; exit 2 ;; esac
done
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
BUILD=${JETPINN_GPU_BUILD_DIR:-build-gpu}
LOG="$BUILD/gpu-check"
start=$(date +%s)

# 1. Build. Benchmarks need Google Benchmark; without it the configure skips them (its summary says so) and the
# rest still runs.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DJETPINN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DJETPINN_BENCH=ON >/dev/null
bench=OFF
if cmake --build "$BUILD" --target help 2>/dev/null | grep -w bench_cuda_step >/dev/null; then bench=ON; fi
mkdir -p "$LOG"
targets=(jetpinn_cuda_tests jetpinn_cuda_host_tests jetpinn)
[ "$bench" = ON ] && targets+=(bench_cuda bench_cuda_step)
cmake --build "$BUILD" -j "$(nproc)" --target "${targets[@]}" >"$LOG/build.log" 2>&1 || { tail -40 "$LOG/build.log"; exit 1; }
built=$(( $(date +%s) - start ))

TESTS="$BUILD/tests/jetpinn_cuda_tests"
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
RACE_CASES='*device MLP*,*elementwise*,*batch statistics*'
# memcheck: every kernel test and one short training (the trainer cases are long under the sanitizer)
MEM_EXCLUDE='*every built-in problem*,*paper preset*,*L-BFGS after Adam*'
RUN="$LOG/run"
cmds=(
  "ctest --test-dir $BUILD -L cuda-host --output-on-failure"
  "$TESTS   (every device test; each check prints its share of its tolerance)"
  "timeout 120 $SAN --tool memcheck --leak-check full --error-exitcode 1 $TESTS -tce='$MEM_EXCLUDE'"
  "timeout 60 $SAN --tool racecheck --error-exitcode 1 $TESTS -tc='$RACE_CASES'"
  "timeout 60 $BUILD/tools/jetpinn train allen-cahn --preset paper --backend cuda --precision 3xtf32 --iters 200 --set train.eval_every=100 --out $RUN"
)
[ "$bench" = ON ] && cmds+=("timeout 45 $BUILD/bench/bench_cuda --benchmark_min_time=0.2"
                            "timeout 90 $BUILD/bench/bench_cuda_step --benchmark_min_time=0.2")
[ "$peers" -eq 1 ] && cmds+=("timeout 180 bash bench/compare_gpu.sh --build $BUILD --json $LOG/compare_gpu.json")
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
timeout 120 "$SAN" --tool memcheck --leak-check full --error-exitcode 1 "$TESTS" -tce="$MEM_EXCLUDE" >"$LOG/memcheck.log" 2>&1
rc_mem=$?
timeout 60 "$SAN" --tool racecheck --error-exitcode 1 "$TESTS" -tc="$RACE_CASES" >"$LOG/racecheck.log" 2>&1
rc_race=$?
# 4. The driver on the device.
rm -rf "$RUN"
timeout 60 "$BUILD/tools/jetpinn" train allen-cahn --preset paper --backend cuda --precision 3xtf32 --iters 200 \
  --set train.eval_every=100 --out "$RUN" >"$LOG/train.log" 2>&1
rc_train=$?
# 5. Benchmarks; 6. peers.
rc_bench=skipped
rc_step=skipped
rc_cmp=skipped
if [ "$bench" = ON ]; then
  timeout 45 "$BUILD/bench/bench_cuda" --benchmark_min_time=0.2 >"$LOG/bench.log" 2>&1
  rc_bench=$?
  timeout 90 "$BUILD/bench/bench_cuda_step" --benchmark_min_time=0.2 >"$LOG/bench_step.log" 2>&1
  rc_step=$?
fi
if [ "$peers" -eq 1 ]; then
  timeout 180 bash bench/compare_gpu.sh --build "$BUILD" --json "$LOG/compare_gpu.json" >"$LOG/compare_gpu.log" 2>"$LOG/compare_gpu.err"
  rc_cmp=$?
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
[ -s "$LOG/bench_step.log" ] && cat "$LOG/bench_step.log"
[ -s "$LOG/compare_gpu.log" ] && cat "$LOG/compare_gpu.log"
[ "$rc_cmp" != 0 ] && [ "$rc_cmp" != skipped ] && tail -20 "$LOG/compare_gpu.err"
echo "--- jetpinn train --backend cuda (last lines) ---"
tail -4 "$LOG/train.log" 2>/dev/null || true
device=$(grep -hm1 "CUDA device 0:" "$LOG/tests.log" "$LOG/bench.log" 2>/dev/null | head -1 | sed 's/.*CUDA device 0: //' || true)
echo
echo "| item | result |"
echo "|---|---|"
echo "| commit | $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core kernels tests bench tools || echo ' (+ local changes)') |"
echo "| device | ${device:-none found} |"
echo "| build (s) | $built |"
echo "| host-logic tests | $(verdict $rc_host) |"
echo "| CUDA tests | $(verdict $rc_tests): $(grep -E '^\[doctest\] test cases' "$LOG/tests.log" | tail -1 | sed 's/\[doctest\] //') |"
echo "| memcheck | $(verdict $rc_mem): $(sanitizer_summary "$LOG/memcheck.log") |"
echo "| racecheck | $(verdict $rc_race): $(sanitizer_summary "$LOG/racecheck.log") |"
echo "| jetpinn train --backend cuda, 200 steps | $(verdict $rc_train): $(grep -o '[0-9.]* steps/s' "$LOG/train.log" | tail -1), $(grep -o 'relative L2 error [0-9.e+-]*' "$LOG/train.log" | tail -1) |"
echo "| benchmarks (bench_cuda) | $(verdict $rc_bench) |"
echo "| device step (bench_cuda_step) | $(verdict $rc_step) |"
echo "| GPU peers (compare_gpu.sh) | $(verdict $rc_cmp) |"
if [ -s "$LOG/bench.log" ]; then
  grep -E "^BM_" "$LOG/bench.log" | awk '{ printf "| %s | %s %s, %s |\n", $1, $2, $3, $NF }'
fi
echo "| total (s) | $(( $(date +%s) - start )) |"
rc=0
[ "$rc_host" -ne 0 ] && rc=1
[ "$rc_tests" -ne 0 ] && rc=1
[ "$rc_mem" -ne 0 ] && rc=1
[ "$rc_race" -ne 0 ] && rc=1
[ "$rc_train" -ne 0 ] && rc=1
exit $rc
