#!/usr/bin/env bash
# Crash safety: a training run killed with SIGKILL at random moments (checkpoint written every step, so many
# kills land inside a checkpoint write) and resumed each time must (1) find a readable checkpoint after every
# kill (or none yet, before the first), (2) finish with a checkpoint and prediction bit-identical to an
# uninterrupted run with the same seed, and (3) leave metrics.jsonl with each step once, equal to the
# uninterrupted run's apart from elapsed times. Two configurations: the default diagnostics of a 64-point run
# (one point per SNR batch), and a network of hidden widths 16 and 10 whose diagnostics are measured over batches
# of 16 points with compression statistics every 5 steps, past step 300 where the measurement cadence changes.
# Usage: crash_resume.sh JETPINN_BINARY [MIN_KILLS]   (MIN_KILLS, default 25: kill at least this many times in the
# first configuration; the second gets a third as many)
set -u
bin=$1 min_kills=${2:-25}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=1
printf 'x,y\n0.25,0.5\n' >"$tmp/p.csv"
RANDOM=12345  # the kill times are random but repeatable

# crash_run NAME KILLS TRAIN_ARGS...: the uninterrupted run, then the killed and resumed one, compared.
crash_run() {
  local name=$1 min=$2
  shift 2
  local args=("$@" --set train.log_every=1 --set train.checkpoint_every=1 --quiet)
  local ref="$tmp/$name-ref" run="$tmp/$name-run" kills=0 fresh=0 torn=0 readable=0 pid
  "$bin" "${args[@]}" --out "$ref" >/dev/null || fail "$name: uninterrupted run"
  while :; do
    if [ -s "$run/checkpoint" ]; then
      "$bin" train --resume "$run" --quiet >/dev/null 2>"$tmp/err" &
    else
      [ "$kills" -gt 0 ] && fresh=$((fresh + 1))  # killed before the first checkpoint: start again
      "$bin" "${args[@]}" --out "$run" >/dev/null 2>"$tmp/err" &
    fi
    pid=$!
    # After `min` kills let one attempt run to the end; before that, kill 5 to 300 ms in.
    if [ "$kills" -lt "$min" ]; then
      sleep "0.$(printf '%03d' $((5 + RANDOM % 296)))"
      if kill -KILL "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        kills=$((kills + 1))
        ls "$run" 2>/dev/null | grep -q '\.tmp-' && torn=$((torn + 1))  # killed inside an atomic write
        if [ -e "$run/checkpoint" ]; then
          "$bin" eval --run "$run" --points "$tmp/p.csv" >/dev/null 2>"$tmp/eval_err" \
            || fail "$name: checkpoint unreadable after kill $kills: $(cat "$tmp/eval_err")"
          readable=$((readable + 1))
        fi
        continue
      fi
    fi
    wait "$pid" || fail "$name: a resumed run failed: $(cat "$tmp/err")"
    [ "$kills" -ge "$min" ] && break
  done

  cmp -s "$ref/checkpoint" "$run/checkpoint" || fail "$name: final checkpoint differs from the uninterrupted run"
  cmp -s "$ref/prediction_u.npy" "$run/prediction_u.npy" || fail "$name: final prediction differs from the uninterrupted run"
  python3 - "$ref/metrics.jsonl" "$run/metrics.jsonl" <<'PY' || fail "$name: metrics.jsonl differs from the uninterrupted run"
import json, sys
def rows(p):
    out = [json.loads(l) for l in open(p)]
    for r in out: r.pop("elapsed", None)
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
steps = [r["step"] for r in b]
if steps != sorted(set(steps)): sys.exit(f"\nsteps repeated or out of order: {len(steps)} lines, {len(set(steps))} steps")
if a != b: sys.exit(f"\n{len(a)} reference lines, {len(b)} after the kills; first difference at line "
                    f"{next(i for i in range(min(len(a), len(b)) + 1) if i >= min(len(a), len(b)) or a[i] != b[i])}")
PY
  echo "$name: $kills SIGKILLs ($torn inside an atomic write, $fresh before the first checkpoint), checkpoint readable" \
       "after all $readable kills that followed one; final checkpoint, prediction and metrics identical to the" \
       "uninterrupted run"
}

iters=$((min_kills * 60 > 1500 ? min_kills * 60 : 1500))  # about 60 steps per kill, so kills spread over the run
crash_run tiny "$min_kills" train helmholtz --preset quick --iters "$iters" --seed 7 --set net.depth=2 \
  --set net.width=8 --set points.collocation=64 --set train.eval_every=0
crash_run measured $(((min_kills + 2) / 3)) train helmholtz --preset quick --iters 400 --seed 7 \
  --set 'net.widths=[16,10]' --set points.collocation=256 --set diagnostics.snr_batches=16 \
  --set diagnostics.compression_every=5 --set train.eval_every=50
echo "2 passed, 0 failed"
