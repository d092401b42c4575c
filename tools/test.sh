#!/usr/bin/env bash
# jetpinn tests: make sure everything is installed and built (tools/setup.sh --no-run), then run the whole
# suite with ctest. GPU tests report "skipped" on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --no-run
ctest --test-dir "${JETPINN_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
