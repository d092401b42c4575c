#!/usr/bin/env bash
# Diagnostics in a run folder and `jetpinn report`: a short run with the statistics every step logs snr, phi_grad,
# snr_layer, snr_adam, phi_rba, phi_res and phase on every line, saturation/entropy when due, snapshots and
# fields.npz (hidden layers of unequal widths, 8 and 6); the report of two runs writes every figure and index.html.
# Without the project's venv the report half cannot run: the test then reports itself skipped (exit 77) after
# checking the logging half.
# Usage: report.sh JETPINN_BINARY SOURCE_DIR
set -eu
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for rba in true false; do
  "$bin" train helmholtz --preset quick --iters 30 --set 'net.widths=[8,6]' --set points.collocation=256 \
    --set loss.rba.enabled=$rba --set diagnostics.every=1 --set diagnostics.compression_every=10 \
    --set 'diagnostics.snapshots=[10]' --quiet --out "$tmp/run_$rba" >/dev/null
done
run=$tmp/run_true
python3 - "$run" <<'PY' || fail "metrics lack diagnostics"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
steps = [l for l in lines if l["step"] > 0]
assert len(steps) == 30, len(steps)
for l in steps:
    for k in ("snr", "phi_grad", "snr_layer", "snr_adam", "phi_rba", "phi_res", "phase"):
        assert k in l, (k, l["step"])
    assert len(l["snr_layer"]) == 3 and l["snr"] > 0 and 0 < l["phi_grad"] <= 1
    assert abs(l["phi_grad"] - l["snr"] / (1 + l["snr"] ** 2) ** 0.5) < 1e-12
    assert ("entropy" in l) == (l["step"] == 1 or l["step"] % 10 == 0), l["step"]
summary = json.load(open(sys.argv[1] + "/summary.json"))
assert summary["phase"] in ("fitting", "diffusion", "total_diffusion")
assert "diffusion_step" in summary and "total_diffusion_step" in summary
PY
for f in snapshots/step_000000010.npz snapshots/step_000000030.npz fields.npz; do [ -s "$run/$f" ] || fail "run lacks $f"; done

[ -x "$src/.venv/bin/python" ] || { echo "SKIP: no .venv (tools/setup.sh makes it)"; exit 77; }
"$bin" report "$run" "$tmp/run_false" --labels rba,vanilla --out "$tmp/rep" >/dev/null || fail "report failed"
for f in snr.png snr_layers.png adam_homogeneity.png maps.png fields.png compression.png index.html; do
  [ -s "$tmp/rep/$f" ] || fail "report lacks $f"
done
grep -q "total_diffusion_step" "$tmp/rep/index.html" || fail "index.html lacks the summary table"
# tools/paper_summary.py: its tables go between the markers of the README it is given, one row per run, with the
# transition steps of each run's summary.json; the rest of the README is kept.
printf 'head\n<!-- paper_summary: begin -->\nold\n<!-- paper_summary: end -->\ntail\n' >"$tmp/rep/README.md"
"$src/.venv/bin/python" "$src/tools/paper_summary.py" "$run" "$tmp/run_false" --out "$tmp/rep" >/dev/null ||
  fail "paper_summary failed"
[ -s "$tmp/rep/error_vs_step.png" ] || fail "paper_summary wrote no error_vs_step.png"
python3 - "$tmp/rep/README.md" "$run" "$tmp/run_false" <<'PY' || fail "paper_summary tables are wrong"
import json, sys
text = open(sys.argv[1]).read()
assert text.startswith("head\n") and text.endswith("tail\n") and "\nold\n" not in text, text[:200]
for run, label in ((sys.argv[2], "helmholtz RBA"), (sys.argv[3], "helmholtz vanilla")):
    s = json.load(open(run + "/summary.json"))
    row = next(l for l in text.splitlines() if l.startswith(f"| {label} | 30 |"))
    cell = row.split("|")[3].strip()
    want = f"{s['diffusion_step']:,}" if s["diffusion_step"] > 0 else "not reached"
    assert cell == want, (label, cell, want)
PY
if "$src/.venv/bin/python" "$src/tools/paper_summary.py" "$tmp/nothing" --out "$tmp/rep" 2>"$tmp/err"; then
  fail "paper_summary of a missing folder succeeded"
fi
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "paper_summary error is not one line"
if "$bin" report "$tmp/nothing" 2>"$tmp/err"; then fail "report of a missing folder succeeded"; fi
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "report error is not one line"
echo "report: ok"
