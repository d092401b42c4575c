#!/usr/bin/env bash
# The same-seed promise at a fixed thread count: N runs of one training job, each in a fresh run folder, and the
# SHA-256 of each final checkpoint. One distinct hash means every run ended with the same bits (parameters,
# optimizer state, RBA multipliers, counters).
# Usage: bench/same_seed.sh BUILD_DIR N THREADS [jetpinn train arguments...]
#   e.g. bench/same_seed.sh build 20 2 helmholtz --preset accurate --iters 4000   (the default job, on 2 threads)
set -euo pipefail
build=${1:?build directory}
runs=${2:?number of runs}
threads=${3:?thread count}
shift 3
[ $# -gt 0 ] || set -- helmholtz --preset accurate --iters 4000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$runs"); do
  "$build/tools/jetpinn" train "$@" --threads "$threads" --out "$tmp/run$i" >"$tmp/log$i" 2>&1
  sha256sum "$tmp/run$i/checkpoint" | cut -d' ' -f1
done | sort | uniq -c
echo "($runs runs of: jetpinn train $* --threads $threads)"
