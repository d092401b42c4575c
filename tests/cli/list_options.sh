#!/usr/bin/env bash
# `jetpinn list`: every option key has a description and its allowed values; the keys listed are exactly the keys
# of a resolved configuration; `list PROBLEM --preset P` works for every preset of every problem, its pde and loss
# weight keys described too, and marks what the preset changed with the value before it.
# Usage: list_options.sh JETPINN_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# An option line: "[* ]key = value<spaces>description [allowed]". Prints the lines that are not of that form.
bad_lines() { grep -E '^[* ] [a-z_]+(\.[a-z0-9_]+)* = ' "$1" | grep -vE '^[* ] \S+ = .*\S  +\S.* \[.+\]$'; }

"$bin" list >"$tmp/list" || fail "list exited $?"
sed -n '/^options/,$p' "$tmp/list" | grep -E '^  [a-z]' >"$tmp/opts"
[ "$(wc -l <"$tmp/opts")" -ge 60 ] || fail "list shows $(wc -l <"$tmp/opts") options, expected 60 or more"
bad=$(bad_lines "$tmp/opts")
[ -z "$bad" ] || fail "option lines without a description or allowed values:"$'\n'"$bad"
grep -q '^  net.activation = "tanh" .*activation.* \[tanh | sin | cos | exp | sigmoid | softplus\]$' "$tmp/opts" \
  || fail "net.activation lacks its choices: $(grep net.activation "$tmp/opts")"
grep -q '^  optim.beta1 = 0.9 .* \[number in \[0, 1)\]$' "$tmp/opts" || fail "optim.beta1 lacks its range"

# The keys `list` shows are the keys of config.json (pde and loss.weights are objects filled by the problem).
"$bin" train helmholtz --set net.depth=1 --set net.width=4 --set points.collocation=16 --set train.eval_every=0 \
  --iters 1 --quiet --out "$tmp/run" >/dev/null 2>&1 || fail "tiny run"
python3 - "$tmp/run/config.json" <<'PY' | sort >"$tmp/config_keys"
import json, sys
def leaves(j, prefix):
    if prefix in ("pde", "loss.weights") or not isinstance(j, dict):  # the problem's own objects, and values
        print(prefix)
        return
    for k, v in j.items():
        leaves(v, prefix + "." + k if prefix else k)
leaves(json.load(open(sys.argv[1])), "")
PY
awk '{print $1}' "$tmp/opts" | sort >"$tmp/list_keys"
diff "$tmp/config_keys" "$tmp/list_keys" >"$tmp/diff" || fail "keys of config.json and of list differ:"$'\n'"$(cat "$tmp/diff")"

# Every preset of every problem: all keys described (pde.* by the problem, loss.weights.* by the term name).
for p in $(grep -E '^[a-z-]+: ' "$tmp/list" | cut -d: -f1); do
  for preset in "" $(grep -A3 "^$p: " "$tmp/list" | sed -n 's/^  presets://p'); do
    out="$tmp/$p${preset:+-$preset}"
    if ! "$bin" list "$p" ${preset:+--preset "$preset"} >"$out" 2>"$tmp/err"; then
      fail "list $p --preset $preset: $(cat "$tmp/err")"; continue
    fi
    bad=$(bad_lines "$out")
    [ -z "$bad" ] || fail "list $p ${preset:+--preset $preset}: lines without a description or allowed values:"$'\n'"$bad"
    grep -q '(no description)' "$out" && fail "list $p ${preset:+--preset $preset}: $(grep '(no description)' "$out")"
    grep -qE '^[* ] pde\.' "$out" || fail "list $p shows no pde keys"
    if [ -z "$preset" ]; then
      grep -q '^\* ' "$out" && fail "list $p without a preset marks changes: $(grep '^\* ' "$out" | head -1)"
    fi
  done
done
# The preset's changes are marked with the value before it; unchanged keys are not.
grep -q '^\* pde.a1 = 6.0 (was 1.0) ' "$tmp/helmholtz-paper" || fail "helmholtz paper: pde.a1 not marked: $(grep 'pde.a1' "$tmp/helmholtz-paper")"
grep -q '^  net.activation = "tanh" ' "$tmp/helmholtz-paper" || fail "helmholtz paper: an unchanged key is marked"
grep -q '^  loss.weights.bc = ' "$tmp/helmholtz" || fail "helmholtz: loss.weights.bc not listed"

# Bad input: one line, non-zero exit.
for args in "no-such-problem" "helmholtz --preset nope" "--preset quick"; do
  # shellcheck disable=SC2086
  if "$bin" list $args >/dev/null 2>"$tmp/err" || [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
    fail "list $args: expected one error line and a non-zero exit, got: $(cat "$tmp/err")"
  fi
done

[ "$fails" -eq 0 ] && echo "list: every key described" || { echo "$fails failed"; exit 1; }
