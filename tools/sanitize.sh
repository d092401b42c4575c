#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer: configures build-asan
# (JETPINN_SANITIZE=address,undefined, -O1, no benchmarks, the CUDA backend on the emulated device), builds it
# and runs ctest there without the cuda label; then, with JETPINN_EMU_SEED=2 (a second thread and block
# order; tools/emulate.sh runs seed 1), everything labelled cuda: the emulator's self-tests, every device test
# in its five parts and the emulated `jetpinn train --backend cuda`. There ASan and UBSan check the host
# code (the backend's drivers, the trainer, the host references) while the kernels keep the emulator's own
# checks (the two instrumentations cannot share a translation unit) and UBSan without its null and
# object-size checks (kernels/CMakeLists.txt says why). Those run without ASan's fake stacks
# (detect_stack_use_after_return=0): with a fiber per emulated thread they cost six times the run time, in
# system calls. Any ASan, LeakSanitizer or UBSan report aborts the process under test, so the test fails.
# By default it leaves out what is slow under ASan and adds no code coverage the rest lacks: the examples that
# train to an accuracy target (example_*; training, resume and eval run under ASan in the cli_* tests), the
# Re = 1000 cavity reference and the 513² Re = 100 one (the 257² cases run the same solver; 144 s there against
# 19 s) and the install test (external_project);
# the examples are not built there by default either (cmake --build build-asan --target example_... builds one).
# Usage: tools/sanitize.sh [ctest arguments...]   (any arguments replace the default selection; e.g. -R cli_)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${JETPINN_ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$build" -DJETPINN_SANITIZE=address,undefined -DJETPINN_BENCH=OFF -DJETPINN_CUDA=EMULATE \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
[ $# -eq 0 ] && set -- -E '^example_|Re = 1000|extrapolated from 513|^external_project$'
ctest --test-dir "$build" -LE cuda --no-tests=error --output-on-failure -j "$(nproc)" "$@"
if [ "${JETPINN_EMULATE:-1}" != 0 ]; then
  ASAN_OPTIONS=${ASAN_OPTIONS/detect_stack_use_after_return=1/detect_stack_use_after_return=0} JETPINN_EMU_SEED=2 \
    ctest --test-dir "$build" -L cuda --output-on-failure -j "$(nproc)"
fi
