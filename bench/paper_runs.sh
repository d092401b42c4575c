#!/usr/bin/env bash
# The paper's findings at CPU scale: each problem's `dynamics` preset with RBA and without (vanilla), two runs at a
# time, one thread each (one per core), then one report per problem and the cross-problem summary in docs/paper/.
# Every preset has a fixed step budget and no wall-time cap, so the same commit gives the same runs.
# Usage: bench/paper_runs.sh [train|report|all] [PROBLEM...]   (default all, every problem; report reuses the runs
# in runs/paper/ and always covers all three problems)
# BUILD names the build folder (default build). About two hours on 2 cores for train.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:-all}
shift $(($# > 0 ? 1 : 0))
bin=${BUILD:-build}/tools/jetpinn
out=runs/paper
problems=(allen-cahn burgers cavity)
todo=("$@")
[ ${#todo[@]} -gt 0 ] || todo=("${problems[@]}")

train() {  # train PROBLEM VARIANT
  local problem=$1 variant=$2 extra=()
  [ "$variant" = vanilla ] && extra=(--set loss.rba.enabled=false)
  rm -rf "${out:?}/$problem-$variant"
  "$bin" train "$problem" --preset dynamics --threads 1 --quiet --out "$out/$problem-$variant" "${extra[@]}" \
    > "$out/$problem-$variant.log" 2>&1
}

if [ "$stage" = train ] || [ "$stage" = all ]; then
  mkdir -p "$out"
  for p in "${todo[@]}"; do
    train "$p" rba &
    a=$!
    train "$p" vanilla &
    b=$!
    wait "$a"
    wait "$b"
  done
fi

if [ "$stage" = report ] || [ "$stage" = all ]; then
  for p in "${problems[@]}"; do
    "$bin" report "$out/$p-rba" "$out/$p-vanilla" --labels RBA,vanilla --out "docs/paper/$p"
  done
  runs=()
  for p in "${problems[@]}"; do runs+=("$out/$p-rba" "$out/$p-vanilla"); done
  .venv/bin/python tools/paper_summary.py "${runs[@]}" --out docs/paper
fi
