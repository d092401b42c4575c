#!/usr/bin/env bash
# The driver's commands on good input: list names every problem, reference writes its files with the stated
# layout, train writes the run folder, eval writes the inputs then one column per requested quantity.
# Usage: commands.sh JETPINN_BINARY
set -eu
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" list >"$tmp/list"
for p in allen-cahn helmholtz burgers cavity; do grep -q "^$p:" "$tmp/list" || fail "list lacks $p"; done
grep -q "optim.lr = 0.001" "$tmp/list" || fail "list lacks option defaults"

"$bin" reference helmholtz --out "$tmp/h.npy" >/dev/null
# 256 x 256 float64 values after a 128-byte .npy header
[ "$(stat -c %s "$tmp/h.npy")" -eq $((128 + 256 * 256 * 8)) ] || fail "helmholtz reference size"
head -c 128 "$tmp/h.npy" | grep -q "'shape': (256, 256)" || fail "helmholtz reference shape"
[ -s "$tmp/h_grid.npz" ] || fail "no grid file"
"$bin" reference burgers --out "$tmp/b.npy" >/dev/null
head -c 128 "$tmp/b.npy" | grep -q "'shape': (100, 256)" || fail "burgers reference is not [t, x] = (100, 256)"
if "$bin" reference burgers --out "$tmp/b.npz" 2>"$tmp/err"; then fail "one-field reference accepted .npz"; fi

"$bin" train helmholtz --preset quick --iters 20 --set net.depth=1 --set net.width=8 --set points.collocation=64 \
  --quiet --out "$tmp/run" >/dev/null
for f in config.json metrics.jsonl checkpoint summary.json prediction_u.npy; do [ -s "$tmp/run/$f" ] || fail "run lacks $f"; done
grep -q '"rel_l2"' "$tmp/run/summary.json" || fail "summary lacks rel_l2"
printf 'y,x\n0.25,0.5\n-0.5,0.125\n' >"$tmp/p.csv"
"$bin" eval --run "$tmp/run" --points "$tmp/p.csv" --derivs u,u_x,u_lap --out "$tmp/e.csv"
[ "$(head -1 "$tmp/e.csv")" = "x,y,u,u_x,u_lap" ] || fail "eval header: $(head -1 "$tmp/e.csv")"
[ "$(wc -l <"$tmp/e.csv")" -eq 3 ] || fail "eval rows"
grep -q "^0.5,0.25," "$tmp/e.csv" || fail "eval did not map columns by name"
echo "1 passed, 0 failed"
