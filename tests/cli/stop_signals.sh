#!/usr/bin/env bash
# SIGINT and SIGTERM stop a training run cleanly: a checkpoint is written at the step reached, exactly one
# stderr line says how to resume, the exit status is 128 + signal (130, 143), and resuming reaches a final
# checkpoint bit-identical to an uninterrupted run.
# Usage: stop_signals.sh JETPINN_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=1
# checkpoint_every is larger than the run: the only checkpoint before the end is the one the signal asks for.
args=(train helmholtz --preset quick --iters 4000 --seed 3 --set net.depth=2 --set net.width=8
      --set points.collocation=64 --set train.eval_every=0 --set train.log_every=50 --set train.checkpoint_every=100000 --quiet)
"$bin" "${args[@]}" --out "$tmp/ref" >/dev/null || fail "uninterrupted run"

for sig in INT TERM; do
  run="$tmp/$sig"
  "$bin" "${args[@]}" --out "$run" >/dev/null 2>"$tmp/err" &
  pid=$!
  for _ in $(seq 100); do [ -s "$run/metrics.jsonl" ] && break; sleep 0.02; done  # the loop has started
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  want=$([ "$sig" = INT ] && echo 130 || echo 143)
  [ "$rc" -eq "$want" ] || fail "SIG$sig: exit status $rc, expected $want; stderr: $(cat "$tmp/err")"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "SIG$sig" "$tmp/err" && grep -q -- "--resume $run" "$tmp/err" \
    || fail "SIG$sig: expected one stderr line naming the signal and '--resume $run', got: $(cat "$tmp/err")"
  [ -s "$run/checkpoint" ] || fail "SIG$sig: no checkpoint written"
  [ -e "$run/summary.json" ] && fail "SIG$sig: the run finished before the signal arrived; make it longer"
  echo "ok: SIG$sig -> rc $rc: $(cat "$tmp/err")"
  "$bin" train --resume "$run" --quiet >/dev/null || fail "SIG$sig: resume failed"
  cmp -s "$tmp/ref/checkpoint" "$run/checkpoint" || fail "SIG$sig: resumed run differs from the uninterrupted one"
done
echo "2 passed, 0 failed"
