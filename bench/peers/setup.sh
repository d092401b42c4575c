#!/usr/bin/env bash
# Installs the benchmark peers into the project venv (.venv, made by tools/setup.sh): PyTorch and jax[cpu].
# Not needed by the build or the tests; bench/compare.sh uses them. Idempotent: a package that imports is kept.
# PyTorch comes from the pip's configured index (PyPI); its Linux wheel carries CUDA libraries it does not use
# here (a few GB). To take the smaller CPU-only build instead, point PEERS_TORCH_INDEX at PyTorch's CPU wheel
# index (the index URL its install page gives for "CPU"), when this machine can reach it.
# Usage: bash bench/peers/setup.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -x .venv/bin/python ]]; then
  echo "bench/peers/setup.sh: no .venv; run 'bash tools/setup.sh' first (it makes .venv)" >&2
  exit 1
fi
py=.venv/bin/python
if ! $py -c "import torch" 2>/dev/null; then
  if [[ -n "${PEERS_TORCH_INDEX:-}" ]]; then
    $py -m pip install --quiet torch --index-url "$PEERS_TORCH_INDEX"
  else
    $py -m pip install --quiet torch
  fi
fi
if ! $py -c "import jax" 2>/dev/null; then
  $py -m pip install --quiet "jax[cpu]"
fi
$py -c "import torch, jax; print('peers: torch', torch.__version__, '| jax', jax.__version__)"
