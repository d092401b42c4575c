#!/usr/bin/env python3
"""Napkin math per problem preset: FLOPs and bytes of one training step, and the roofline floor on this CPU
(its GEMM rate and memory bandwidth measured by jetpinn_step --gemm --bandwidth) and on an H100 (67 TFLOP/s
FP32 dense without tensor cores, 3.35 TB/s HBM3), beside the measured step time.

FLOPs: the affine products of one loss evaluation (jetpinn_step's gemm_flops: per loss term, rows = streams x
points; forward, weight gradient, input gradient except the first layer; 2 flops per multiply-add).
Bytes (a model: every jet tensor makes a round trip to memory, nothing stays in cache): per hidden layer of
width w on R jet rows, 16 passes over an R x w tensor of the step's precision: forward GEMM reads H and writes
Z, the jet rule reads Z and writes Y (4); the reverse sweep zeroes dZ and dY (2), the rule's adjoint reads Z,
Y, dY and reads and writes dZ (5), dW reads dZ and H (2), dH reads dZ and reads and writes dH (3). Weights
(< 1 MB) are ignored. The floor is max(FLOPs / GEMM rate, bytes / bandwidth); a fused GPU kernel that keeps
the jets on chip would cut the bytes, so the H100 floor is that of this unfused design.
Usage: bench/napkin.py BUILD/bench/jetpinn_step [--steps K]"""
import json
import subprocess
import sys

H100_FLOPS, H100_BW = 67e12, 3.35e12
PRESETS = [("allen-cahn", "paper", "f32"), ("allen-cahn", "paper", "f64"), ("helmholtz", "paper", "f32"),
           ("burgers", "paper", "f32"), ("cavity", "re100", "f32")]


def main():
    exe = sys.argv[1]
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 5
    bw = None
    print("| preset | precision | jet rows | GFLOP/step | GB/step (model) | arithmetic intensity | "
          "CPU floor | measured step | measured / floor | H100 floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for problem, preset, prec in PRESETS:
        cmd = [exe, problem, "--preset", preset, "--precision", prec, "--steps", str(steps), "--warmup", "2", "--gemm"]
        if bw is None:
            cmd.append("--bandwidth")
        info = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        if bw is None:
            bw = info["memory"]["triad_gbs"] * 1e9
        size = 4 if prec == "f32" else 8
        hidden = [w for w in info["weights"] if w[1] == w[2]]  # square (width x width) layers: the hidden ones
        width = hidden[0][1] if hidden else info["weights"][0][1]
        layers = len(info["weights"]) - 1  # every weight but the output layer's produces a jet tensor of width w
        bytes_ = 16 * info["jet_rows"] * width * size * layers
        flops = info["gemm_flops"]
        gemm = max(info["gemm"]["blas_gflops"], info["gemm"]["eigen_fwd_gflops"]) * 1e9
        cpu = max(flops / gemm, bytes_ / bw)
        gpu = max(flops / H100_FLOPS, bytes_ / H100_BW)
        t = info["median_s"]
        print(f"| {problem} {preset} | {prec} | {info['jet_rows']:,.0f} | {flops * 1e-9:.1f} | {bytes_ * 1e-9:.2f} | "
              f"{flops / bytes_:.1f} flop/B | {cpu * 1e3:.0f} ms | {t * 1e3:.0f} ms | {t / cpu:.2f} | "
              f"{gpu * 1e3:.2f} ms ({'memory' if bytes_ / H100_BW > flops / H100_FLOPS else 'compute'}) |")
    print(f"\nCPU: GEMM rate per preset from jetpinn_step --gemm (best of the linked BLAS and Eigen on the hidden-layer "
          f"shapes); memory bandwidth {bw * 1e-9:.1f} GB/s (triad). H100: {H100_FLOPS * 1e-12:.0f} TFLOP/s, "
          f"{H100_BW * 1e-12:.2f} TB/s.")


if __name__ == "__main__":
    main()
