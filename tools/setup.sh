#!/usr/bin/env bash
# jetpinn setup: install what is missing (Debian packages; idempotent, a no-op when all are there), configure
# and build in build/ (Release; CUDA backend when nvcc is found), then run the default job.
#   tools/setup.sh            install, build, run the default job
#   tools/setup.sh --no-run   install and build only (the test script uses this)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake libeigen3-dev doctest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
          libopenblas-openmp-dev python3 python3-venv clang libclang-rt-dev  # clang: libFuzzer (tools/fuzz.sh)
          libboost-context-dev)  # the emulated CUDA device's fibers (-DJETPINN_CUDA=EMULATE, kernels/emu)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The project's Python venv (.venv): numpy and matplotlib for `jetpinn report`. Peers (torch, jax) are added by
# bench/peers/setup.sh; the tests need none of this.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import numpy, matplotlib" 2>/dev/null; then
  echo "setup: creating the Python venv .venv (numpy, matplotlib)"
  # Not fatal: without it only `jetpinn report` is unavailable (and its test reports itself skipped).
  { python3 -m venv .venv && .venv/bin/pip install -q --disable-pip-version-check numpy matplotlib; } ||
    echo "setup: warning: could not make the Python venv; \`jetpinn report\` will not work"
fi

# nvcc is usually not on PATH; the CUDA backend is built when it is found here.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi

BUILD=${JETPINN_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release ${JETPINN_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD" -j "$(nproc)"

if [ "${1:-}" != "--no-run" ]; then
  echo
  # Helmholtz (a1 = 1, a2 = 4), 3 x 20 tanh in float64: 1,000 Adam steps, then self-scaled Broyden (README).
  echo "== default job: jetpinn train helmholtz --preset accurate --iters 4000 --threads 1 (run folder runs/default) =="
  "$BUILD/tools/jetpinn" train helmholtz --preset accurate --iters 4000 --threads 1 --out runs/default
fi
