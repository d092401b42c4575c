#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer: configures build-asan
# (JETPINN_SANITIZE=address,undefined, -O1, no benchmarks, no CUDA), builds it and runs ctest there without the
# cuda label. Any ASan, LeakSanitizer or UBSan report aborts the process under test, so the test fails.
# Usage: tools/sanitize.sh [ctest arguments...]   (e.g. -R cli_ for a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${JETPINN_ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$build" -DJETPINN_SANITIZE=address,undefined -DJETPINN_BENCH=OFF -DJETPINN_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir "$build" -LE cuda --output-on-failure -j "$(nproc)" "$@"
