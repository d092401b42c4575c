#!/usr/bin/env bash
# Resource limits. (1) A run whose tape cannot fit in the free memory (1e8 collocation points) is refused up
# front with one line giving the estimate, before it allocates (run under a 4 GiB address-space limit, so
# an attempt to allocate would show as a different error). (2) A full disk during a checkpoint write (a
# file-size limit, SIGXFSZ ignored, so write() fails with EFBIG) stops the run with one line naming the file,
# leaves the previous checkpoint byte-for-byte intact and readable, and leaves no temporary file behind.
# Usage: resources.sh JETPINN_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMP_NUM_THREADS=1

# (ASan reserves terabytes of shadow address space, so a sanitizer build runs without the limit.)
vlimit=$((4 * 1024 * 1024))
grep -qa __asan_init "$bin" && vlimit=unlimited
(ulimit -v "$vlimit"; exec "$bin" train helmholtz --preset quick --set points.collocation=100000000 \
  --quiet --out "$tmp/huge") >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "GiB" "$tmp/err" && grep -q "points.collocation" "$tmp/err" \
  || fail "1e8 points: rc $rc, expected one line with the estimate in GiB: $(cat "$tmp/err")"
[ -e "$tmp/huge" ] && fail "the refused run created its folder"
echo "ok: $(cat "$tmp/err")"

tiny=(--set net.depth=2 --set net.width=8 --set points.collocation=64 --set train.eval_every=0
      --set train.log_every=100 --set train.checkpoint_every=4 --quiet)
"$bin" train helmholtz --preset quick "${tiny[@]}" --iters 4 --out "$tmp/run" >/dev/null || fail "tiny run"
cp "$tmp/run/checkpoint" "$tmp/before"
size=$(stat -c %s "$tmp/before")
# Limit files to half a checkpoint (ulimit -f counts 1024-byte blocks); config.json and metrics fit under it.
# The checkpoint at step 8 is the first file past the limit (snapshots come at the last step, 12).
(trap '' XFSZ; ulimit -f $((size / 2048)); exec "$bin" train --resume "$tmp/run" --iters 12 --quiet) \
  >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "checkpoint" "$tmp/err" \
  || fail "disk full: rc $rc, expected one line naming the checkpoint: $(cat "$tmp/err")"
cmp -s "$tmp/before" "$tmp/run/checkpoint" || fail "disk full: the previous checkpoint changed"
ls "$tmp/run" | grep -q '\.tmp-' && fail "disk full: a temporary file was left behind"
printf 'x,y\n0.25,0.5\n' >"$tmp/p.csv"
"$bin" eval --run "$tmp/run" --points "$tmp/p.csv" >/dev/null || fail "disk full: the previous checkpoint is unreadable"
echo "ok: $(cat "$tmp/err")"
echo "2 passed, 0 failed"
