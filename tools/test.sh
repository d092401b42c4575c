#!/usr/bin/env bash
# jetpinn tests: make sure everything is installed and built (tools/setup.sh --no-run), then run the whole
# suite with ctest. GPU tests report "skipped" on a machine without a GPU; then the same CUDA tests run on the
# emulated device (tools/emulate.sh: build-emu, -DJETPINN_CUDA=EMULATE; JETPINN_EMULATE=0 leaves it out). Then
# the hardening steps
# (docs/RELIABILITY.md): the CPU suite again under ASan + UBSan (tools/sanitize.sh, build-asan) and each fuzz
# target for JETPINN_FUZZ_SECONDS (default 20) seconds (tools/fuzz.sh, build-fuzz; "skipped" without clang).
# JETPINN_SANITIZE_TESTS=0 or JETPINN_FUZZ_SECONDS=0 leaves a step out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --no-run
ctest --test-dir "${JETPINN_BUILD_DIR:-build}" --no-tests=error --output-on-failure -j "$(nproc)" "$@"  # no doctest: an error, not a pass
if [ "${JETPINN_EMULATE:-1}" != 0 ]; then bash tools/emulate.sh; fi
if [ "${JETPINN_SANITIZE_TESTS:-1}" != 0 ]; then bash tools/sanitize.sh; fi
if [ "${JETPINN_FUZZ_SECONDS:-20}" != 0 ]; then bash tools/fuzz.sh "${JETPINN_FUZZ_SECONDS:-20}"; fi
