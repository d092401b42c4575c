#!/usr/bin/env bash
# Fuzz the input parsers with libFuzzer: configures build-fuzz with clang (JETPINN_FUZZ=ON: ASan + UBSan +
# coverage), builds tests/fuzz, and runs each target for SECONDS over its corpus in tests/fuzz/corpus/TARGET
# (the committed seeds and regression inputs, read only; new inputs go to build-fuzz/corpus/TARGET).
# A crash, sanitizer report, leak, >512 MB allocation or >10 s input fails the target; its input is saved
# as build-fuzz/artifacts/TARGET-*. Without clang++ or libFuzzer it prints "skipped" and exits 0.
# Usage: tools/fuzz.sh [SECONDS=20] [TARGET...]   (targets: config points checkpoint npy)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(config points checkpoint npy)
build=${JETPINN_FUZZ_BUILD_DIR:-build-fuzz}

cxx=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$cxx" ] || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
    | "$cxx" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "fuzz: skipped (no clang++ with libFuzzer)"
  exit 0
fi
# A cache made with another compiler path would be wiped by cmake together with the options below.
cached=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
if [ -n "$cached" ] && [ "$cached" != "$cxx" ]; then rm -f "$build/CMakeCache.txt"; fi
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DJETPINN_FUZZ=ON -DJETPINN_TESTS=OFF -DJETPINN_BENCH=OFF \
  -DJETPINN_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

failed=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts"
  log="$build/fuzz_$t.log"
  if ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
      -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
      "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz $t: ok, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions" \
         "in ${seconds}s, corpus $(ls "$build/corpus/$t" | wc -l) new inputs"
  else
    echo "fuzz $t: FAILED (log $log)"; grep -m5 -E 'ERROR|SUMMARY|Test unit written' "$log" || true
    failed=1
  fi
done
exit "$failed"
