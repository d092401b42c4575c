#!/usr/bin/env bash
# Weights by name: `jetpinn export` writes a run's weights (layer0.W out x in, layer0.b, ...), `--set
# net.init_from=FILE` starts a run from them (exported again unchanged), bad files and paths are one line and
# exit 1 with nothing written. Then, with torch in the project's venv (or JETPINN_TORCH_PYTHON), the weights go
# both ways through PyTorch nn.Linear layers: u and u_xx from `jetpinn eval` match torch autograd at the same
# points. Without torch the test reports itself skipped (exit 77) after the first half.
# Usage: torch_weights.sh JETPINN_BINARY SOURCE_DIR
set -eu
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Hidden layers of unequal widths (8 then 5), so a transposed or misplaced tensor cannot pass.
net=(--preset quick --set net.hard_bc=false --set 'net.widths=[8,5]' --set points.collocation=64
     --set points.boundary=16 --quiet)

"$bin" train helmholtz "${net[@]}" --iters 5 --out "$tmp/a" >/dev/null
"$bin" export --run "$tmp/a" --out "$tmp/a.npz" >/dev/null
"$bin" train helmholtz "${net[@]}" --iters 0 --seed 7 --set "net.init_from=$tmp/a.npz" --out "$tmp/b" >/dev/null
"$bin" export --run "$tmp/b" --out "$tmp/b.npz" >/dev/null
cmp -s "$tmp/a.npz" "$tmp/b.npz" || fail "a run started from exported weights exports other weights"

# Bad input: one line, exit 1, nothing written.
bad() {  # bad EXPECTED_TEXT PATH_THAT_MUST_NOT_EXIST COMMAND...
  local want=$1 path=$2
  shift 2
  set +e
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  set -e
  [ $rc -eq 1 ] || fail "$* exited $rc, expected 1"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$*: not one line: $(cat "$tmp/err")"
  grep -qF -- "$want" "$tmp/err" || fail "$*: '$(cat "$tmp/err")' lacks '$want'"
  [ ! -e "$path" ] || fail "$*: wrote $path"
}
bad "--out: name an .npz file" "$tmp/w.txt" "$bin" export --run "$tmp/a" --out "$tmp/w.txt"
bad "cannot read config file" "$tmp/x.npz" "$bin" export --run "$tmp/none" --out "$tmp/x.npz"
bad "tensor 'layer1.W' has shape [5, 8]; this network's is [8, 8]" "$tmp/c" \
  "$bin" train helmholtz "${net[@]}" --set 'net.widths=[8,8]' --set "net.init_from=$tmp/a.npz" --out "$tmp/c"
bad "net.init_from: cannot open $tmp/none.npz" "$tmp/d" \
  "$bin" train helmholtz "${net[@]}" --set "net.init_from=$tmp/none.npz" --out "$tmp/d"

py=${JETPINN_TORCH_PYTHON:-$src/.venv/bin/python}
if ! [ -x "$py" ] || ! "$py" -c "import torch, numpy" 2>/dev/null; then
  echo "SKIP: no torch in $py (the PyTorch half needs it: pip install torch into the venv)"
  exit 77
fi

# jetpinn -> torch: the run's weights in nn.Linear layers; torch -> jetpinn: torch's own initial weights as
# net.init_from, evaluated by jetpinn.
"$py" - "$tmp" <<'PY' || fail "could not write the points or torch's weights"
import sys, numpy as np, torch
tmp = sys.argv[1]
rng = np.random.default_rng(0)
np.savetxt(tmp + "/points.csv", rng.uniform(-1, 1, (50, 2)), delimiter=",", header="x,y", comments="")
torch.manual_seed(0)
layers = [torch.nn.Linear(2, 8), torch.nn.Linear(8, 5), torch.nn.Linear(5, 1)]
np.savez(tmp + "/torch.npz", **{f"layer{i}.{k}": getattr(l, w).detach().double().numpy()
                                for i, l in enumerate(layers) for k, w in (("W", "weight"), ("b", "bias"))})
PY
"$bin" train helmholtz "${net[@]}" --iters 0 --set "net.init_from=$tmp/torch.npz" --out "$tmp/t" >/dev/null
for run in a t; do
  "$bin" eval --run "$tmp/$run" --points "$tmp/points.csv" --derivs u,u_xx --out "$tmp/$run.csv"
done
"$py" - "$tmp" <<'PY' || fail "jetpinn and torch autograd disagree"
import sys, numpy as np, torch
tmp = sys.argv[1]
def torch_u(npz, pts):
    w = np.load(npz)
    layers = []
    for i in range(3):
        lin = torch.nn.Linear(*w[f"layer{i}.W"].shape[::-1]).double()
        lin.load_state_dict({"weight": torch.from_numpy(w[f"layer{i}.W"]), "bias": torch.from_numpy(w[f"layer{i}.b"])})
        layers += [lin, torch.nn.Tanh()] if i < 2 else [lin]
    net = torch.nn.Sequential(*layers)
    x = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    u = net(x)[:, 0]
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g[:, 0].sum(), x)
    return u.detach().numpy(), gg[:, 0].numpy()
# Both float64 with the same weights and points: differences are rounding in different summation orders, a few
# ulps of the values (|u| and |u_xx| are O(1) here); 1e-12 relative to each column's largest value.
TOL = 1e-12
worst = 0.0
for run, npz in (("a", "a.npz"), ("t", "torch.npz")):
    d = np.genfromtxt(f"{tmp}/{run}.csv", delimiter=",", names=True)
    pts = np.stack([d["x"], d["y"]], axis=1)
    u, u_xx = torch_u(f"{tmp}/{npz}", pts)
    for name, ours, theirs in (("u", d["u"], u), ("u_xx", d["u_xx"], u_xx)):
        assert np.all(np.isfinite(ours)) and np.all(np.isfinite(theirs)), (run, name)
        err = np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300)
        worst = max(worst, err / TOL)
        assert err <= TOL, (run, name, err)
print(f"jetpinn vs torch autograd: {100 * worst:.2f}% of the tolerance used")
PY
