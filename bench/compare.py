#!/usr/bin/env python3
"""Side-by-side training-step timings: jetpinn against PyTorch eager and JAX jit on the same problem, network,
points, weights and loss (bench/peers/; run through bench/compare.sh).

Per case (problem, precision, N):
 1. jetpinn_step exports its initial weights and points and times the GEMM shapes of the step's hidden layers
    (linked BLAS and Eigen's own); the torch peer times its matmul on the same shapes. The best of these is the
    machine's GEMM peak for the case.
 2. Every peer process loads the export and checks its loss at those weights against jetpinn's before timing.
 3. Thread settings: jetpinn with 2 or 1 OpenMP threads; torch with intra-op threads (torch.set_num_threads) 1 or 2 and BLAS/OpenMP threads
    (OMP_NUM_THREADS = MKL_NUM_THREADS) 1 or 2; JAX with XLA's default (every core) or one thread. Each setting
    runs a few steps; the fastest is kept (its process stays up) and the others are stopped.
 4. Rounds: jetpinn, torch, jax, each running K steps in turn (the order rotates every round), so machine drift
    hits every peer alike. The table reports the median over all timed steps.
GFLOP/s is the same nominal count for every peer: the affine-product flops of jetpinn's formulation of the step
(streams x points rows; forward, weight and input gradients; 2 flops per multiply-add). What a peer really
computes differs (nested reverse mode does more work), so this is the rate at which each gets the same job done.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")


class Server:
    """A peer process in --serve mode: one JSON line when ready, then one JSON line per request."""

    def __init__(self, label, cmd, env=None):
        self.label = label
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=full_env, cwd=PEERS if cmd[0].endswith("python") else None)
        line = self.p.stdout.readline()
        if not line:
            err = self.p.stderr.read()
            raise RuntimeError(f"{label} failed to start: {err.strip()[-2000:]}")
        self.info = json.loads(line)["ready"]
        self.times = []

    def run(self, k):
        self.p.stdin.write(f"{k}\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label} died: {self.p.stderr.read().strip()[-2000:]}")
        t = json.loads(line)["times"]
        return t

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()


def steps_for(seconds_per_step, budget):
    return max(2, min(50, int(math.ceil(budget / max(seconds_per_step, 1e-6)))))


def tune(label, configs, start, budget):
    """Starts each configuration, times a few steps, keeps the fastest server. Returns (server, config, table)."""
    best, tried = None, []
    for cfg in configs:
        s = start(cfg)
        est = s.run(1)[0]
        med = statistics.median(s.run(steps_for(est, budget)))
        tried.append((cfg, med))
        print(f"    {label:6} {cfg['name']:28} {med * 1e3:9.1f} ms/step", file=sys.stderr, flush=True)
        if best is None or med < best[2]:
            if best:
                best[0].close()
            best = (s, cfg, med)
        else:
            s.close()
    return best[0], best[1], tried


def run_case(args, problem, precision, n, work):
    exe = os.path.join(args.build, "bench", "jetpinn_step")
    py = args.python
    export = os.path.join(work, f"{problem}-{precision}-{n}")
    common = [problem, "--precision", precision, "--points", str(n), "--serve"]
    print(f"== {problem} {precision} N={n}", file=sys.stderr, flush=True)
    first_info = {}

    def start_jetpinn(c):
        s = Server("jetpinn", [exe, *common, "--preset", "paper", "--threads", str(c["threads"]), "--export", export]
                   + (["--gemm"] if not first_info else []))
        first_info.setdefault("info", s.info)
        return s
    jp_cfgs = [{"name": f"OpenMP threads {t}", "threads": t} for t in (2, 1)]
    jp, c, tried = tune("jetpinn", jp_cfgs, start_jetpinn, args.tune_seconds)
    tuned = {"jetpinn": (c, tried)}
    flops = jp.info["gemm_flops"]
    gemm = first_info["info"]["gemm"]  # measured with both threads
    peers = [jp]
    if not args.no_torch:
        torch_cfgs = [{"name": f"intra-op {i}, BLAS/OMP {b}", "intra": i, "blas": b} for i in (1, 2) for b in (1, 2)]

        def start_torch(c):
            env = {"OMP_NUM_THREADS": str(c["blas"]), "MKL_NUM_THREADS": str(c["blas"])}
            return Server("torch", [py, "torch_step.py", *common, "--threads", str(c["intra"]), "--export", export,
                                    "--gemm"], env)
        s, c, tried = tune("torch", torch_cfgs, start_torch, args.tune_seconds)
        s.label = "torch"
        tuned["torch"] = (c, tried)
        peers.append(s)
    if not args.no_jax:
        jax_cfgs = [{"name": "XLA default (all cores)", "flags": ""},
                    {"name": "XLA one thread", "flags": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}]

        def start_jax(c):
            env = {"XLA_FLAGS": c["flags"]} if c["flags"] else {}
            return Server("jax", [py, "jax_step.py", *common, "--export", export], env)
        s, c, tried = tune("jax", jax_cfgs, start_jax, args.tune_seconds)
        tuned["jax"] = (c, tried)
        peers.append(s)
    # Interleaved rounds; K per peer from its tuned speed so that each turn takes about --turn-seconds.
    ks = {}
    for p in peers:
        ks[p.label] = steps_for(statistics.median(p.run(2)), args.turn_seconds)
    for r in range(args.rounds):
        order = peers[r % len(peers):] + peers[:r % len(peers)]
        for p in order:
            p.times += p.run(ks[p.label])
        print(f"    round {r + 1}/{args.rounds}: " + ", ".join(f"{p.label} {statistics.median(p.times) * 1e3:.1f} ms"
                                                          for p in peers), file=sys.stderr, flush=True)
    peaks = {f"{gemm['blas']} (jetpinn's BLAS)": gemm["blas_gflops"], "Eigen 3.4 own GEMM (fwd shape)": gemm["eigen_fwd_gflops"]}
    for p in peers:
        if p.label == "torch" and "gemm" in p.info:
            peaks["torch matmul"] = p.info["gemm"]["torch_gflops"]
    peak_name = max(peaks, key=peaks.get)
    rows = []
    jmed = statistics.median(jp.times)
    for p in peers:
        med = statistics.median(p.times)
        cfg = tuned[p.label][0]["name"]
        rows.append({"peer": p.label, "version": p.info.get("version", ""), "config": cfg, "median_s": med,
                     "steps_per_s": 1 / med, "speedup_of_jetpinn": med / jmed, "gflops": flops / med * 1e-9,
                     "pct_peak": 100 * flops / med * 1e-9 / peaks[peak_name], "steps_timed": len(p.times),
                     "loss0": p.info["loss0"], "loss0_rel_diff": p.info.get("loss0_rel_diff", 0.0)})
    for p in peers:
        p.close()
    return {"problem": problem, "precision": precision, "n": n, "gemm_flops": flops, "peaks": peaks,
            "peak_name": peak_name, "rows": rows,
            "tuning": {k: [(c["name"], m) for c, m in v[1]] for k, v in tuned.items()}}


def print_case(c, out):
    print(f"\n{c['problem']}, {c['precision']}, N = {c['n']:,}: {c['gemm_flops'] * 1e-9:.2f} GFLOP per step (nominal); "
          f"GEMM peak {c['peaks'][c['peak_name']]:.1f} GFLOP/s ({c['peak_name']}; "
          + ", ".join(f"{k} {v:.1f}" for k, v in c["peaks"].items()) + ")", file=out)
    print("| peer | setting | median s/step | steps/s | jetpinn speed-up | GFLOP/s | % of GEMM peak | loss0 rel. diff |", file=out)
    print("|---|---|---|---|---|---|---|---|", file=out)
    for r in c["rows"]:
        name = r["peer"] + (f" {r['version']}" if r["version"] else "")
        print(f"| {name} | {r['config']} | {r['median_s']:.4f} | {r['steps_per_s']:.2f} | {r['speedup_of_jetpinn']:.2f}x | "
              f"{r['gflops']:.1f} | {r['pct_peak']:.0f}% | {r['loss0_rel_diff']:.1e} |", file=out)
    for peer, tried in c["tuning"].items():
        print(f"  {peer} settings tried: " + "; ".join(f"{n} {m * 1e3:.1f} ms" for n, m in tried), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    ap.add_argument("--cases", default="allen-cahn:f32:4096,allen-cahn:f32:25600,allen-cahn:f64:4096",
                    help="comma-separated problem:precision:N")
    ap.add_argument("--full", action="store_true",
                    help="every case: allen-cahn and helmholtz, f32 and f64, N = 4096 and 25600")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--turn-seconds", type=float, default=2.0, help="time of one peer's turn in a round")
    ap.add_argument("--tune-seconds", type=float, default=1.5, help="time per thread setting tried")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args()
    cases = [c.split(":") for c in args.cases.split(",")]
    if args.full:
        cases = [(p, pr, n) for p in ("allen-cahn", "helmholtz") for pr in ("f32", "f64") for n in ("4096", "25600")]
    t0 = time.time()
    results = []
    with tempfile.TemporaryDirectory(prefix="jetpinn-compare-") as work:
        for problem, precision, n in cases:
            results.append(run_case(args, problem, precision, int(n), work))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"\n# jetpinn vs peers ({time.time() - t0:.0f} s; load average after: {load})")
    for c in results:
        print_case(c, sys.stdout)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
