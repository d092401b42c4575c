#!/usr/bin/env bash
# `jetpinn train --dry-run`: writes nothing (no run folder, nothing in the working directory, a resumed run's
# folder unchanged); prints the configuration the run then writes to config.json, the parameter count its
# summary.json reports, each term's points and jet streams, the memory estimate; and its projected wall time for
# 100 steps is within 2x of the wall time of the real 100-step run (the whole command, diagnostics included).
# Usage: dry_run.sh JETPINN_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir "$tmp/work" && cd "$tmp/work" || exit 1
args=(helmholtz --preset quick --iters 100 --threads 1 --set train.log_every=10)

"$bin" train "${args[@]}" --dry-run >"$tmp/dry" 2>"$tmp/err" || { cat "$tmp/err"; fail "dry run exited $?"; }
"$bin" train "${args[@]}" --dry-run --out "$tmp/work/x" >/dev/null 2>&1 || fail "dry run with --out exited $?"
[ -z "$(ls -A "$tmp/work")" ] || fail "the dry run wrote into the working directory: $(ls -A "$tmp/work")"
for word in "network:" "parameters" "points:" "memory: about" "GiB" "per Adam step" "measurement step" "projected:"; do
  grep -q -- "$word" "$tmp/dry" || fail "dry run output lacks '$word'"
done
grep -qE '^  residual: [0-9]+ x [0-9]+ \(' "$tmp/dry" || fail "dry run output lacks the residual term's points x streams"

start=$(date +%s%N)
"$bin" train "${args[@]}" --quiet --out "$tmp/work/real" >/dev/null 2>&1 || fail "real run exited $?"
real_ns=$(($(date +%s%N) - start))

# The printed configuration is the run's config.json; the parameter count its summary's.
sed -n '/^resolved configuration/,/^network:/p' "$tmp/dry" | sed '1d;$d' >"$tmp/dry.json"
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
  "$tmp/dry.json" "$tmp/work/real/config.json" || fail "the dry run's configuration differs from config.json"
params=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["parameters"])' "$tmp/work/real/summary.json")
grep -q "^network: .*, $params parameters$" "$tmp/dry" || fail "parameter count: summary says $params: $(grep ^network: "$tmp/dry")"

projected=$(sed -n 's/^projected: .*(\([0-9.e+-]*\) s).*/\1/p' "$tmp/dry")
[ -n "$projected" ] || fail "no projected time in: $(grep projected "$tmp/dry")"
python3 - "${projected:-0}" "$real_ns" <<'PY' || fail "projection off by more than 2x"
import sys
projected, real = float(sys.argv[1]), int(sys.argv[2]) * 1e-9
ratio = projected / real
print(f"projected {projected:.2f} s, real {real:.2f} s (whole command), ratio {ratio:.2f} (allowed 0.5 to 2)")
sys.exit(not 0.5 <= ratio <= 2)
PY

# A dry run of a resume: the steps left, and the run folder untouched.
(cd "$tmp/work/real" && find . -type f -exec md5sum {} + | sort) >"$tmp/before"
"$bin" train --resume "$tmp/work/real" --iters 150 --dry-run >"$tmp/dry_resume" 2>&1 || fail "resume dry run exited $?"
grep -q "^projected: steps 100 to 150: " "$tmp/dry_resume" || fail "resume dry run: $(grep projected "$tmp/dry_resume")"
(cd "$tmp/work/real" && find . -type f -exec md5sum {} + | sort) >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "the resume dry run changed the run folder"
[ "$(ls -A "$tmp/work")" = real ] || fail "the resume dry run wrote into the working directory: $(ls -A "$tmp/work")"

[ "$fails" -eq 0 ] && echo "dry run: nothing written, configuration and cost as the run's" || { echo "$fails failed"; exit 1; }
