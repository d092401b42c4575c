#!/usr/bin/env python3
"""jetpinn's device step against PyTorch eager and JAX jit on the same GPU (run through bench/compare_gpu.sh).

One job for every column: the Allen-Cahn `paper` network (6 x 128 tanh, inputs (t, x)), 25,600 collocation
points plus 512 initial-condition points, loss mean(r^2) + mean((u(0, x) - u0)^2), one Adam step (lr 1e-3).
 1. jetpinn: `bench_cuda_step --peer-step` per GEMM mode (default fp32 and 3xtf32), graph replay on. The first
    one exports its initial weights and points (the peers' format, bench/peers/common.py) and its first-step loss
    on the device, after checking that loss against the host trainer in float64; the other must start from the
    same loss.
 2. torch_step.py and jax_step.py with --device cuda load that export and check their loss at those weights
    against jetpinn's before timing (float32 GEMMs in full FP32 in both: TF32 off in torch, "highest" in JAX).
 3. Interleaved rounds: each peer runs K steps in turn (order rotated every round; K sized so that one turn
    takes about --turn-seconds), every step waited for; the table reports the median over all timed steps.
All peers hold the GPU at once but only one computes at a time (each waits for its own step). GFLOP/s is one
nominal count for all: the GEMM flops of jetpinn's jet formulation (50.77 GFLOP per step).
Targets: jetpinn >= 10x over torch eager, >= 3x over JAX.
--host-check runs the same harness with no GPU (jetpinn's host trainer, the peers on the CPU, --points small):
a check of this script, the export and the loss checks, not a measurement.
"""
import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")
TARGETS = {"torch": 10.0, "jax": 3.0}


class Server:
    """A peer in --serve mode (compare.py's protocol): one JSON line when ready, then one per request. stderr goes
    to a file (XLA and CUDA can log more than a pipe holds), whose tail is quoted when the peer fails."""

    def __init__(self, label, cmd, env, log):
        self.label, self.log, self.times = label, log, []
        t0 = time.time()
        self.err = open(log, "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
                                  env={**os.environ, **env})
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{label} failed to start (rc {self.p.wait()}): {self.tail()}")
        self.info = json.loads(line)["ready"]
        self.start_s = time.time() - t0

    def tail(self):
        self.err.flush()
        with open(self.log) as f:
            return f.read().strip()[-1500:]

    def run(self, k):
        self.p.stdin.write(f"{k}\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label} died: {self.tail()}")
        return json.loads(line)["times"]

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()
        self.err.close()


def steps_for(seconds_per_step, budget):
    return max(2, min(200, int(math.ceil(budget / max(seconds_per_step, 1e-6)))))


def commands(args, export):
    """(label, argv, env) of every peer, jetpinn's first (the one that exports)."""
    exe = os.path.join(args.build, "bench", "bench_cuda_step")
    out = []
    for i, g in enumerate(args.gemms):
        cmd = [exe, "--peer-step", "--precision", args.precision, "--gemm", g, "--serve"]
        if args.host_check:
            cmd += ["--host", "--points", str(args.points)]
        if i == 0:
            cmd += ["--export", export]
        out.append((f"jetpinn-{g}" if args.precision == "f32" else "jetpinn-f64", cmd, {}))
    common = ["allen-cahn", "--precision", args.precision, "--export", export, "--device",
              "cpu" if args.host_check else "cuda", "--serve", "--warmup", str(args.warmup)]
    if not args.no_torch:
        out.append(("torch", [args.python, os.path.join(PEERS, "torch_step.py"), *common], {}))
    if not args.no_jax:
        out.append(("jax", [args.python, os.path.join(PEERS, "jax_step.py"), *common],
                    {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-gpu"))
    ap.add_argument("--python", default="")
    ap.add_argument("--precision", choices=["f32", "f64"], default="f32")
    ap.add_argument("--gemms", default="fp32,3xtf32", help="jetpinn's train.gemm modes to run (f32 only)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--turn-seconds", type=float, default=2.0, help="time of one peer's turn in a round")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps of each Python peer after its check")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--json", default="", help="also write the results here")
    ap.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")
    ap.add_argument("--host-check", action="store_true", help="no GPU: the harness on the host (see above)")
    ap.add_argument("--points", type=int, default=1024, help="collocation points of --host-check")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if not args.python:
        venv = os.path.join(ROOT, ".venv", "bin", "python")
        args.python = venv if os.access(venv, os.X_OK) else "python3"
    args.gemms = args.gemms.split(",") if args.precision == "f32" and not args.host_check else ["fp32"]
    for g in args.gemms:
        if g not in ("fp32", "3xtf32", "tf32"):
            ap.error(f"--gemms: unknown mode '{g}' (fp32, 3xtf32, tf32)")

    if args.dry_run:
        export = os.path.join(tempfile.gettempdir(), "jetpinn-compare-gpu-XXXX", "allen-cahn")
        print(f"compare_gpu dry run: {args.rounds} interleaved rounds of ~{args.turn_seconds:g} s per peer; would start:")
        for label, cmd, env in commands(args, export):
            print(f"  {label:14} " + " ".join(f"{k}={v}" for k, v in env.items()) + (" " if env else "") + shlex.join(cmd))
        return 0

    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="jetpinn-compare-gpu-") as work:
        export = os.path.join(work, "allen-cahn")
        peers, failed = [], {}
        try:
            for label, cmd, env in commands(args, export):
                print(f"  starting {label}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
                try:
                    s = Server(label, cmd, env, os.path.join(work, f"{label}.stderr"))
                except RuntimeError as e:
                    if label.startswith("jetpinn"):
                        raise
                    failed[label] = str(e)  # a peer that cannot run here: reported, the rest still timed
                    print(f"    {e}", file=sys.stderr, flush=True)
                    continue
                peers.append(s)
                print(f"    ready in {s.start_s:.1f} s: loss0 {s.info.get('loss0')!r}"
                      + (f" (rel {s.info['loss0_rel_diff']:.1e} from jetpinn's)" if "loss0_rel_diff" in s.info else "")
                      + (f" (rel {s.info['loss0_rel_host_f64']:.1e} from the host in float64)"
                         if "loss0_rel_host_f64" in s.info else ""), file=sys.stderr, flush=True)
            jp = [p for p in peers if p.label.startswith("jetpinn")]
            ref = jp[0].info["loss0"]
            tol = 1e-2 if "tf32" in args.gemms else (1e-5 if args.precision == "f32" else 1e-12)
            for p in jp[1:]:
                rel = abs(p.info["loss0"] - ref) / abs(ref)
                if not rel <= tol:
                    raise RuntimeError(f"{p.label} starts from loss {p.info['loss0']!r}, {jp[0].label} from {ref!r} "
                                       f"(rel {rel:.2e} > {tol:g}): not the same weights and points")
                p.info["loss0_rel_diff"] = rel
            ks = {p.label: steps_for(statistics.median(p.run(3)), args.turn_seconds) for p in peers}
            for r in range(args.rounds):
                order = peers[r % len(peers):] + peers[:r % len(peers)]
                for p in order:
                    p.times += p.run(ks[p.label])
                print(f"    round {r + 1}/{args.rounds}: " + ", ".join(
                    f"{p.label} {statistics.median(p.times) * 1e3:.2f} ms" for p in peers), file=sys.stderr, flush=True)
        finally:
            for p in peers:
                p.close()
    flops = jp[0].info["gemm_flops"]
    rows = []
    for p in peers:
        med = statistics.median(p.times)
        rows.append({"peer": p.label, "version": p.info.get("version", ""), "device": p.info.get("device", ""),
                     "median_ms": med * 1e3, "steps_per_s": 1 / med, "gflops": flops / med * 1e-9,
                     "steps_timed": len(p.times), "start_s": p.start_s, "loss0": p.info["loss0"],
                     "loss0_rel_diff": p.info.get("loss0_rel_diff", 0.0)})
    device = jp[0].info.get("device", "")
    print(f"\n# jetpinn vs PyTorch eager vs JAX jit on the GPU ({time.time() - t0:.0f} s): {device}")
    if args.host_check:
        print("HOST CHECK: jetpinn's host trainer and the peers on the CPU at --points; not a GPU measurement")
    print(f"allen-cahn paper, {args.precision}, {jp[0].info['points']:,} + 512 points: {flops * 1e-9:.2f} GFLOP per step (nominal); "
          f"{args.rounds} interleaved rounds, median over all timed steps\n")
    jrows = [r for r in rows if r["peer"].startswith("jetpinn")]
    head = "| peer | median ms/step | steps/s | GFLOP/s | loss0 rel. diff | " + " | ".join(
        f"{r['peer']} speed-up" for r in jrows) + " |"
    print(head)
    print("|" + "---|" * (5 + len(jrows)))
    for r in rows:
        name = r["peer"] + (f" {r['version']}" if r["version"] and not r["peer"].startswith("jetpinn") else "")
        print(f"| {name} | {r['median_ms']:.3f} | {r['steps_per_s']:.1f} | {r['gflops']:.0f} | {r['loss0_rel_diff']:.1e} | "
              + " | ".join(f"{r['median_ms'] / j['median_ms']:.2f}x" for j in jrows) + " |")
    for label, why in failed.items():
        print(f"| {label} | FAILED: {why.splitlines()[-1] if why else ''} |")
    print()
    for peer, target in TARGETS.items():
        other = next((r for r in rows if r["peer"] == peer), None)
        if other is None:
            continue
        for j in jrows:
            x = other["median_ms"] / j["median_ms"]
            print(f"  {j['peer']} over {peer}: {x:.2f}x (target >= {target:g}x: {'met' if x >= target else 'MISSED'})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "precision": args.precision, "gemm_flops": flops, "rows": rows, "failed": failed},
                      f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
