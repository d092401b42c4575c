#!/usr/bin/env bash
# The driver's commands on good input: list names every problem, reference writes its files with the stated
# layout, train writes the run folder, eval writes the inputs then one column per requested quantity, and its
# values are right: u on the reference grid equals the run's saved prediction, u_x and u_lap equal central
# differences of its own u.
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

# eval's values, not just its layout. Byte offsets below follow write_npy / write_npz (formats/npy.cpp): a .npy is
# 10 bytes, then a header whose length is the uint16 at byte 8, then the float64 values; an .npz is STORED zip
# entries, each a 30-byte local header (compression at +8, size at +18, name and extra lengths at +26 and +28),
# the name, then the .npy bytes. od (coreutils 9) prints each float64 in a form that reads back to the same value.
npy_data_offset() { echo $(($2 + 10 + $(od -An -tu2 -j $(($2 + 8)) -N2 "$1"))); }  # FILE, START OF THE .NPY
f8_at() { od -An -v -tf8 -j $(($2 + 8 * $3)) -N8 "$1" | tr -d ' '; }               # FILE, DATA OFFSET, INDEX
npz_data_offset() {                                                                # FILE, ENTRY (no .npy)
  local off=0 nlen xlen
  while [ "$(od -An -tx4 -j $off -N4 "$1" | tr -d ' ')" = 04034b50 ]; do
    [ "$(od -An -tu2 -j $((off + 8)) -N2 "$1" | tr -d ' ')" = 0 ] || return 1  # compressed: not what write_npz writes
    nlen=$(od -An -tu2 -j $((off + 26)) -N2 "$1")
    xlen=$(od -An -tu2 -j $((off + 28)) -N2 "$1")
    if [ "$(dd if="$1" bs=1 skip=$((off + 30)) count=$((nlen)) status=none)" = "$2.npy" ]; then
      npy_data_offset "$1" $((off + 30 + nlen + xlen))
      return
    fi
    off=$((off + 30 + nlen + xlen + $(od -An -tu4 -j $((off + 18)) -N4 "$1")))
  done
  return 1
}
abs_awk='function abs(v) { return v < 0 ? -v : v }'

# (1) u at points of the Helmholtz reference grid (axes [x, y] from h_grid.npz, 256 x 256) against the
# prediction train wrote for the same network (prediction_u.npy, [x, y] row-major). Both are float64 evaluations
# of the same weights (the checkpoint holds their bits); only the order in which the GEMMs sum over the 8 hidden
# units differs with the batch size, a few ulps of u. TOL_GRID = 1e-12 of the largest |u| compared is ~1e3 x
# that, and a wrong row, column, point or scale is off by far more. The (i, j) are interior (hard_bc makes u = 0
# on the boundary) and asymmetric (a transposed read fails); the CSV lists y before x (columns matched by name).
TOL_GRID=1e-12
pred=$tmp/run/prediction_u.npy
head -c 128 "$pred" | grep -q "'descr': '<f8'.*'shape': (256, 256)" || fail "prediction_u.npy is not float64 (256, 256)"
pred_off=$(npy_data_offset "$pred" 0)
gx_off=$(npz_data_offset "$tmp/h_grid.npz" x) || fail "h_grid.npz: no STORED entry x.npy"
gy_off=$(npz_data_offset "$tmp/h_grid.npz" y) || fail "h_grid.npz: no STORED entry y.npy"
echo "y,x" >"$tmp/grid.csv"
: >"$tmp/grid_expected"
for ij in "17 200" "128 3" "200 77" "93 164" "240 31" "61 250"; do
  set -- $ij
  x=$(f8_at "$tmp/h_grid.npz" "$gx_off" "$1")
  y=$(f8_at "$tmp/h_grid.npz" "$gy_off" "$2")
  echo "$y,$x" >>"$tmp/grid.csv"
  echo "$x,$y,$(f8_at "$pred" "$pred_off" $(($1 * 256 + $2)))" >>"$tmp/grid_expected"
done
"$bin" eval --run "$tmp/run" --points "$tmp/grid.csv" --derivs u --out "$tmp/grid_eval.csv"
awk -F, -v tol="$TOL_GRID" "$abs_awk"'
  NR == FNR { ex[FNR] = $1; ey[FNR] = $2; eu[FNR] = $3; if (abs($3) > scale) scale = abs($3); n = FNR; next }
  FNR == 1 { next }
  { r = FNR - 1
    if ($1 != ex[r] || $2 != ey[r]) { printf "row %d: eval echoed (%s, %s), the grid point is (%s, %s)\n", r, $1, $2, ex[r], ey[r]; bad = 1 }
    d = abs($3 - eu[r]); if (d > worst) worst = d
    if (d > tol * scale) { printf "at (x, y) = (%s, %s): eval u = %s, prediction_u.npy = %s, |diff| = %.3g > %.3g\n", $1, $2, $3, eu[r], d, tol * scale; bad = 1 } }
  END { if (FNR - 1 != n) { printf "eval wrote %d rows for %d grid points\n", FNR - 1, n; exit 1 }
        if (bad) exit 1
        printf "eval u at %d grid points = prediction_u.npy: max |diff| %.2g (%.2g%% of TOL_GRID x max|u| = %.2g)\n", n, worst, 100 * worst / (tol * scale), tol * scale }
' "$tmp/grid_expected" "$tmp/grid_eval.csv" || fail "eval u differs from the run's prediction_u.npy"

# (2) u_x and u_lap against central differences of eval's own u (float64; spacings taken from the coordinates
# eval echoes, so the rounding of x +- h does not count):
#   u_x   ~ (u(x+h) - u(x-h)) / 2h,            truncation h^2/6 |u_xxx|, rounding eps |u| / h,   h = 1e-4
#   u_lap ~ second differences in x and in y,  truncation H^2/12 |u_xxxx + u_yyyy|, rounding 4 eps |u| / H^2, H = 1e-3
# For this net (tanh, width 8, near its initialisation, times the hard-BC factor (x^2-1)(y^2-1)) derivatives up
# to fourth order are O(1..10) and |u| < 1: truncation <~ 2e-8 (u_x) and <~ 2e-6 (u_lap), rounding < 1e-11.
# TOL_UX = 1e-7, TOL_LAP = 5e-6 (absolute) sit above those bounds and far below a wrong column, point or scale.
TOL_UX=1e-7
TOL_LAP=5e-6
awk 'BEGIN { h = 1e-4; H = 1e-3; print "x,y"
  n = split("0.3 -0.2 -0.55 0.41 0.12 0.77 -0.8 -0.6 0.66 0.05", b, " ")
  for (k = 1; k < n; k += 2) {
    x = b[k]; y = b[k + 1]  # rows: centre, x+h, x-h, x+H, x-H, y+H, y-H
    printf "%.17g,%.17g\n%.17g,%.17g\n%.17g,%.17g\n", x, y, x + h, y, x - h, y
    printf "%.17g,%.17g\n%.17g,%.17g\n%.17g,%.17g\n%.17g,%.17g\n", x + H, y, x - H, y, x, y + H, x, y - H } }' >"$tmp/fd.csv"
"$bin" eval --run "$tmp/run" --points "$tmp/fd.csv" --derivs u,u_x,u_lap --out "$tmp/fd_eval.csv"
[ "$(head -1 "$tmp/fd_eval.csv")" = "x,y,u,u_x,u_lap" ] || fail "eval header: $(head -1 "$tmp/fd_eval.csv")"
awk -F, -v tol_ux="$TOL_UX" -v tol_lap="$TOL_LAP" "$abs_awk"'
  function d2(um, u0, up, hm, hp) { return 2 * (up * hm + um * hp - u0 * (hp + hm)) / (hp * hm * (hp + hm)) }
  NR > 1 { r = NR - 2; k = int(r / 7); s = r % 7; x[k, s] = $1; y[k, s] = $2; u[k, s] = $3
           if (s == 0) { ux[k] = $4; ulap[k] = $5 }; nk = k + 1 }
  END {
    if (NR - 1 != 7 * nk || nk == 0) { printf "eval wrote %d rows, not 7 per stencil\n", NR - 1; exit 1 }
    for (k = 0; k < nk; ++k) {
      fd_ux = (u[k, 1] - u[k, 2]) / (x[k, 1] - x[k, 2])
      fd_lap = d2(u[k, 4], u[k, 0], u[k, 3], x[k, 0] - x[k, 4], x[k, 3] - x[k, 0]) \
             + d2(u[k, 6], u[k, 0], u[k, 5], y[k, 0] - y[k, 6], y[k, 5] - y[k, 0])
      e1 = abs(ux[k] - fd_ux); e2 = abs(ulap[k] - fd_lap)
      if (e1 > w1) w1 = e1; if (e2 > w2) w2 = e2
      if (e1 > tol_ux) { printf "at (%s, %s): eval u_x = %.17g, central difference %.17g, |diff| %.3g > TOL_UX %g\n", x[k, 0], y[k, 0], ux[k], fd_ux, e1, tol_ux; bad = 1 }
      if (e2 > tol_lap) { printf "at (%s, %s): eval u_lap = %.17g, central differences %.17g, |diff| %.3g > TOL_LAP %g\n", x[k, 0], y[k, 0], ulap[k], fd_lap, e2, tol_lap; bad = 1 }
    }
    if (bad) exit 1
    printf "eval u_x, u_lap at %d points = central differences of eval u: max |diff| %.2g (%.2g%% of TOL_UX), %.2g (%.2g%% of TOL_LAP)\n", nk, w1, 100 * w1 / tol_ux, w2, 100 * w2 / tol_lap }
' "$tmp/fd_eval.csv" || fail "eval u_x or u_lap disagrees with central differences of its own u"
echo "1 passed, 0 failed"
