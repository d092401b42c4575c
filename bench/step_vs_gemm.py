#!/usr/bin/env python3
"""Run bench_core and print the Allen-Cahn step's GEMM throughput as a share of the plain GEMM throughput of the
same shapes, measured in the same run. The plain figure combines the three shapes a layer runs (forward, weight
gradient, input gradient; one each per layer and step) as total flops over total time.
Usage: bench/step_vs_gemm.py BUILD/bench/bench_core [extra benchmark flags]"""
import json
import subprocess
import sys

binary, extra = sys.argv[1], sys.argv[2:]
out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=1", *extra],
                     check=True, capture_output=True, text=True).stdout
runs = json.loads(out)["benchmarks"]
rate = {r["name"]: r["GFLOP/s"] for r in runs if "GFLOP/s" in r and r.get("run_type", "iteration") == "iteration"}
print(f"{'precision':9} {'N':>6} {'step GFLOP/s':>13} {'GEMM GFLOP/s':>13} {'step / GEMM':>12}   (GEMM: fwd, dW, dX)")
for prec in ("float", "double"):
    for n in (4096, 25600):
        step = rate.get(f"BM_AllenCahnStep<{prec}>/{n}/real_time")
        shapes = [rate.get(f"BM_Gemm<{prec}>/{4 * n}/128/128/{s}/real_time") for s in range(3)]
        if step is None or None in shapes:
            continue
        gemm = 3 / sum(1 / g for g in shapes)  # equal flops per shape: total flops / total time
        detail = ", ".join(f"{g:.1f}" for g in shapes)
        print(f"{prec:9} {n:>6} {step:13.1f} {gemm:13.1f} {100 * step / gemm:11.0f}%   ({detail})")
