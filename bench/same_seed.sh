#!/usr/bin/env bash
# The same-seed promise at a fixed thread count: N runs of one training job, each in a fresh run folder, and the
# SHA-256 of each final checkpoint with the number of steps the run took. One distinct line means every run ended
# with the same bits (parameters, optimizer state, RBA multipliers, counters). The wall-time budget is switched
# off (train.max_seconds=0): a run slowed by a busy machine would otherwise stop at an earlier step than the
# others, with different bits for that reason alone.
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
  "$build/tools/jetpinn" train "$@" --set train.max_seconds=0 --threads "$threads" --out "$tmp/run$i" >"$tmp/log$i" 2>&1
  steps=$(sed -n 's/^ *"steps": \([0-9]*\),*$/\1/p' "$tmp/run$i/summary.json")
  echo "$(sha256sum "$tmp/run$i/checkpoint" | cut -d' ' -f1)  steps $steps"
done | sort | uniq -c
echo "($runs runs of: jetpinn train $* --set train.max_seconds=0 --threads $threads)"
