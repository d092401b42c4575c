"""Shared set-up of the peer steps (torch_step.py, jax_step.py): the problem data and the serve loop.

The problems are jetpinn's `paper` presets (pdes/allen_cahn.cpp, pdes/helmholtz.cpp), 6 x 128 tanh MLP on raw
inputs, Adam at lr 1e-3:
  allen-cahn: inputs (t, x); r = u_t - 1e-4 u_xx + 5u^3 - 5u on N Latin-hypercube points of [0,1] x [-1,1];
              initial condition on 512 evenly spaced x in [-1, 1), u(0, x) = x^2 cos(pi x), weight 1;
              loss = mean(r^2) + mean((u(0, x) - u0)^2).
  helmholtz:  inputs (x, y); r = u_xx + u_yy + k^2 u - q, a1 = a2 = 6, k = 1, q = (k^2 - pi^2 (a1^2 + a2^2))
              sin(a1 pi x) sin(a2 pi y) on N points of [-1,1]^2; boundary u = 0 on 400 points, weight 1.
With --export DIR (written by build/bench/jetpinn_step --export DIR, or on a GPU by bench_cuda_step --peer-step
--export DIR) the weights and points are jetpinn's own, and the peer checks its loss at those weights against
jetpinn's (`loss0` in DIR/step.json). --device cuda runs the peer on the GPU (bench/compare_gpu.sh).
"""
import argparse
import json
import math
import sys
import time

import numpy as np

DEPTH, WIDTH = 6, 128
AC_EPS, AC_A = 1e-4, 5.0
HH_A1, HH_A2, HH_K = 6.0, 6.0, 1.0


def parse_args(name):
    p = argparse.ArgumentParser(description=f"{name}: median seconds per training step of a PINN preset")
    p.add_argument("problem", choices=["allen-cahn", "helmholtz"])
    p.add_argument("--precision", choices=["f32", "f64"], default="f32")
    p.add_argument("--points", type=int, default=25600)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: the library's default)")
    p.add_argument("--export", default="", help="jetpinn_step --export folder: its weights, points and loss")
    p.add_argument("--serve", action="store_true", help="after set-up, run K steps per stdin line K")
    p.add_argument("--gemm", action="store_true", help="also time the library's GEMM on the step's layer shapes")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cpu (default) or cuda: the library's GPU, float32 GEMMs in full FP32 (no TF32), each "
                        "timed step waited for (torch.cuda.synchronize / block_until_ready)")
    return p.parse_args()


def helmholtz_source(x, y):
    return (HH_K ** 2 - math.pi ** 2 * (HH_A1 ** 2 + HH_A2 ** 2)) * np.sin(HH_A1 * math.pi * x) * np.sin(HH_A2 * math.pi * y)


def latin_hypercube(lo, hi, n, rng):
    cols = [lo[d] + (rng.permutation(n) + rng.random(n)) * (hi[d] - lo[d]) / n for d in range(len(lo))]
    return np.stack(cols, axis=1)


def make_data(args):
    """Dict with 'layers' [(W out x in, b out)], 'terms' {name: (points, data or None, weight)}, 'loss0' or None."""
    if args.export:
        z = np.load(f"{args.export}/step.npz")
        meta = json.load(open(f"{args.export}/step.json"))
        assert meta["problem"] == args.problem, f"export is for {meta['problem']}, not {args.problem}"
        layers = [(z[f"param.layer{l}.W"], z[f"param.layer{l}.b"].reshape(-1)) for l in range(DEPTH + 1)]
        terms = {}
        for t in meta["terms"]:
            data = z[f"term.{t['name']}.data"] if f"term.{t['name']}.data" in z.files else None
            terms[t["name"]] = (z[f"term.{t['name']}.points"], data, float(t["weight"]))
        return {"layers": layers, "terms": terms, "loss0": float(meta["loss0"])}
    rng = np.random.default_rng(0)
    sizes = [2] + [WIDTH] * DEPTH + [1]
    layers = [(rng.normal(0, math.sqrt(2 / (i + o)), (o, i)), np.zeros(o)) for i, o in zip(sizes[:-1], sizes[1:])]
    if args.problem == "allen-cahn":
        pts = latin_hypercube([0, -1], [1, 1], args.points, rng)
        x0 = -1 + 2 * np.arange(512) / 512
        ic = np.stack([np.zeros(512), x0], axis=1)
        terms = {"residual": (pts, None, 1.0), "ic": (ic, (x0 ** 2 * np.cos(math.pi * x0)).reshape(-1, 1), 1.0)}
    else:
        pts = latin_hypercube([-1, -1], [1, 1], args.points, rng)
        side, s = np.arange(400) % 4, rng.uniform(-1, 1, 400)
        v = np.where(side % 2 == 1, 1.0, -1.0)
        bc = np.stack([np.where(side < 2, v, s), np.where(side < 2, s, v)], axis=1)
        terms = {"residual": (pts, helmholtz_source(pts[:, 0], pts[:, 1]).reshape(-1, 1), 1.0), "bc": (bc, None, 1.0)}
    return {"layers": layers, "terms": terms, "loss0": None}


def serve(args, info, first_loss, step):
    """Checks the first loss, warms up, then times steps. step() runs one training step and waits for it."""
    ref = info.pop("loss0_ref", None)
    info.update({"loss0": first_loss, "precision": args.precision, "points": args.points, "problem": args.problem})
    info.setdefault("device", args.device)
    if ref is not None:
        rel = abs(first_loss - ref) / abs(ref)
        info["loss0_jetpinn"], info["loss0_rel_diff"] = ref, rel
        tol = 1e-4 if args.precision == "f32" else 1e-10  # f32: sums of 25,600 squares in a different order
        if not rel <= tol:
            print(f"loss at jetpinn's weights differs: {first_loss!r} vs jetpinn {ref!r} (rel {rel:.2e} > {tol:g})",
                  file=sys.stderr)
            sys.exit(1)
    if not math.isfinite(first_loss):
        print(f"non-finite loss {first_loss}", file=sys.stderr)
        sys.exit(1)
    for _ in range(args.warmup):
        step()

    def run(k):
        times = []
        for _ in range(k):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        return times

    if args.serve:
        print(json.dumps({"ready": info}), flush=True)
        for line in sys.stdin:
            if line.strip():
                print(json.dumps({"times": run(int(line))}), flush=True)
    else:
        times = run(args.steps)
        info["median_s"] = float(np.median(times))
        info["times"] = times
        print(json.dumps(info), flush=True)
