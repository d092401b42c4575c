#!/usr/bin/env bash
# Every bad-input class of the driver: each must exit non-zero with exactly one line on stderr that names the
# problem (a word we grep for) and carries no source location (that is for --debug / JETPINN_DEBUG=1), and must
# not touch an existing run folder's checkpoint.
# Usage: bad_input.sh JETPINN_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 cases=0
unset JETPINN_DEBUG
source_path='[A-Za-z0-9_]\.(cpp|cc|h|hpp|cu|cuh):[0-9]'  # "file.cpp:123", as __FILE__:__LINE__ would print
tiny=(--set net.depth=1 --set net.width=4 --set points.collocation=16 --set points.boundary=8 --set train.eval_every=0
      --set train.log_every=1 --quiet)

expect_error() {  # expect_error WORD COMMAND...
  local word=$1; shift
  cases=$((cases + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ] || ! grep -qi -- "$word" "$tmp/err" || grep -qE "$source_path" "$tmp/err"; then
    echo "FAIL: '$*' -> rc=$rc, $lines stderr lines, expected one line with '$word' and no source location:"
    cat "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok: $(cat "$tmp/err")"
  fi
}

expect_error "unknown problem" "$bin" train no-such-problem
expect_error "unknown preset" "$bin" train helmholtz --preset nope
expect_error "unknown key" "$bin" train helmholtz --set net.widht=3
expect_error "needs an integer" "$bin" train helmholtz --set net.width='"wide"'
expect_error "needs a boolean" "$bin" train helmholtz --set net.modified=3
expect_error "net.width" "$bin" train helmholtz --set net.width=0
expect_error "net.widths" "$bin" train helmholtz --set 'net.widths=[8,0]'
expect_error "net.widths" "$bin" train helmholtz --set 'net.widths=[8,2.5]'
expect_error "net.widths" "$bin" train helmholtz --set net.widths=8
expect_error "equally wide" "$bin" train helmholtz --set net.modified=true --set 'net.widths=[8,4]' "${tiny[@]}" --out "$tmp/mod"
expect_error "train.iters" "$bin" train helmholtz --iters -5
expect_error "nu" "$bin" train burgers --set pde.nu=-0.1 "${tiny[@]}" --out "$tmp/nu"
expect_error "cannot read config" "$bin" train helmholtz --config "$tmp/missing.json"
printf '{"net": {"width": 8,}' >"$tmp/bad.json"
expect_error "malformed JSON" "$bin" train helmholtz --config "$tmp/bad.json"
printf '[1, 2]' >"$tmp/array.json"
expect_error "object" "$bin" train helmholtz --config "$tmp/array.json"
# The CUDA backend where it cannot run (no backend in this build, or no device here), and TF32 on the CPU.
# On a machine with a GPU, or in a build on the emulated device, the first case trains instead: skipped there.
if [ "${JETPINN_EMULATED_DEVICE:-0}" != 1 ] && { ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; }; then
  expect_error "use backend 'cpu'" "$bin" train helmholtz --backend cuda "${tiny[@]}" --out "$tmp/cuda"
  [ -e "$tmp/cuda" ] && { echo "FAIL: --backend cuda made a run folder"; fails=$((fails + 1)); }
fi
expect_error "train.backend=cuda" "$bin" train helmholtz --precision tf32 "${tiny[@]}" --out "$tmp/tf32"
expect_error "train.gemm" "$bin" train helmholtz --set train.gemm='"tf16"' "${tiny[@]}" --out "$tmp/tf16"
# Dense quasi-Newton methods: an unknown name, float32, a network above optim.dense_max_params, the CUDA backend;
# no run folder.
expect_error "optim.quasi_newton" "$bin" train helmholtz --set optim.quasi_newton=newton "${tiny[@]}" --out "$tmp/qn_name"
expect_error "float64 only" "$bin" train helmholtz --set optim.quasi_newton=bfgs --precision f32 "${tiny[@]}" --out "$tmp/qn_f32"
expect_error "use L-BFGS" "$bin" train helmholtz --set optim.quasi_newton=ssbroyden --set optim.dense_max_params=10 \
  "${tiny[@]}" --out "$tmp/qn_size"
expect_error "on the host" "$bin" train helmholtz --set optim.quasi_newton=bfgs --backend cuda "${tiny[@]}" --out "$tmp/qn_cuda"
# The phase-triggered switch: an unknown switch, and the switch without the measurements its detector reads.
expect_error "optim.switch" "$bin" train helmholtz --set optim.switch=never "${tiny[@]}" --out "$tmp/sw_name"
expect_error "optim.switch=phase" "$bin" train helmholtz --set optim.switch=phase --set diagnostics.enabled=false \
  "${tiny[@]}" --out "$tmp/sw_off"
for d in qn_name qn_f32 qn_size qn_cuda sw_name sw_off mod; do
  [ -e "$tmp/$d" ] && { echo "FAIL: a refused optimizer or network setting made the run folder $d"; fails=$((fails + 1)); }
done

# Debug mode: the same one line, with the location of the check that refused it.
expect_located() {  # expect_located WORD COMMAND...
  cases=$((cases + 1))
  "${@:2}" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq 0 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qE -- "$1.*\(at .*$source_path" "$tmp/err"; then
    echo "FAIL: debug mode: '${*:2}' -> rc=$rc, expected one line with '$1' and its source location:"; cat "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok (debug): $(cat "$tmp/err")"
  fi
}
expect_located "unknown preset" env JETPINN_DEBUG=1 "$bin" train helmholtz --preset nope
expect_located "net.width" "$bin" --debug train helmholtz --set net.width=0
expect_located "net.width" "$bin" train helmholtz --set net.width=0 --debug
# --dry-run refuses what the run would refuse, and writes nothing either.
expect_error "unknown key" "$bin" train helmholtz --set net.widht=3 --dry-run --out "$tmp/dry"
[ -e "$tmp/dry" ] && { echo "FAIL: a refused dry run made a run folder"; fails=$((fails + 1)); }

# A good run to resume from and evaluate.
"$bin" train helmholtz "${tiny[@]}" --iters 4 --out "$tmp/run" >/dev/null 2>&1 || { echo "FAIL: tiny run"; exit 1; }
cp "$tmp/run/checkpoint" "$tmp/good_checkpoint"
expect_error "not 'burgers'" "$bin" train burgers --resume "$tmp/run" --iters 8
cp -r "$tmp/run" "$tmp/trunc"
head -c 100 "$tmp/run/checkpoint" >"$tmp/trunc/checkpoint"
expect_error "corrupt or truncated" "$bin" train --resume "$tmp/trunc" --iters 8
cp -r "$tmp/run" "$tmp/flip"
printf '\x01' | dd of="$tmp/flip/checkpoint" bs=1 seek=200 conv=notrunc 2>/dev/null
expect_error "checksum" "$bin" train --resume "$tmp/flip" --iters 8
expect_error "cannot read points" "$bin" eval --run "$tmp/run" --points "$tmp/none.csv"
printf 'x,z\n0.1,0.2\n' >"$tmp/nocol.csv"
expect_error "no column 'y'" "$bin" eval --run "$tmp/run" --points "$tmp/nocol.csv"
printf 'x,y\n0.1,abc\n' >"$tmp/nan.csv"
expect_error "not a finite number" "$bin" eval --run "$tmp/run" --points "$tmp/nan.csv"
printf 'x,y\n0.1\n' >"$tmp/short.csv"
expect_error "fields" "$bin" eval --run "$tmp/run" --points "$tmp/short.csv"
printf 'x,y\n0.1,0.2\n' >"$tmp/ok.csv"
expect_error "unknown quantity" "$bin" eval --run "$tmp/run" --points "$tmp/ok.csv" --derivs u,w
expect_error "order 1 to 3" "$bin" eval --run "$tmp/run" --points "$tmp/ok.csv" --derivs u_xxxx

# A NaN during training: stop at that step, name it, keep the last good checkpoint.
expect_error "stopped at step 6" "$bin" train helmholtz "${tiny[@]}" --set train.checkpoint_every=5 \
  --set debug.inject_nan_step=6 --iters 20 --out "$tmp/nan_run"
"$bin" eval --run "$tmp/nan_run" --points "$tmp/ok.csv" >"$tmp/nan_eval" 2>&1 && grep -qv nan "$tmp/nan_eval" \
  || { echo "FAIL: the checkpoint before the NaN is not usable"; fails=$((fails + 1)); }
cmp -s "$tmp/run/checkpoint" "$tmp/good_checkpoint" || { echo "FAIL: a failed command changed a checkpoint"; fails=$((fails + 1)); }

echo "$((cases - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
