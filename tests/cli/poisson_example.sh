#!/usr/bin/env bash
# The user-PDE example trains through the driver and reaches a relative L2 error below 1e-2; eval reads it back.
set -eu
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" train poisson --preset quick --out "$tmp/run" --quiet
err=$(python3 -c "import json,sys; print(json.load(open('$tmp/run/summary.json'))['rel_l2'])")
echo "poisson quick: relative L2 error $err"
python3 -c "import sys; sys.exit(0 if $err <= 1e-2 else 1)"
printf 'x,y\n0.5,0.5\n0.25,0.75\n' >"$tmp/p.csv"
"$bin" eval --run "$tmp/run" --points "$tmp/p.csv" --derivs u,u_x,u_lap
