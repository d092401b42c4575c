#!/usr/bin/env python3
"""PyTorch eager peer: one PINN training step written the way users write it, with nested
torch.autograd.grad(..., create_graph=True) for the input derivatives, loss.backward() and torch.optim.Adam.
Problems, network and loss as in common.py (jetpinn's `paper` presets). Prints median seconds per step after
warm-up, or serves step counts on stdin (--serve, for bench/compare.py).
With --device cuda the tensors live on the GPU, float32 matmuls stay FP32 (TF32 off: what jetpinn's fp32 and 3xtf32
steps compute), and each step ends with torch.cuda.synchronize() so the timer sees the finished step.
Usage: .venv/bin/python bench/peers/torch_step.py allen-cahn --precision f32 --points 4096 [--export DIR] [--device cuda]"""
import sys

import common
import torch


class Mlp(torch.nn.Module):
    def __init__(self, layers, dtype):
        super().__init__()
        self.linears = torch.nn.ModuleList()
        for w, b in layers:
            lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            self.linears.append(lin)

    def forward(self, z):
        for lin in self.linears[:-1]:
            z = torch.tanh(lin(z))
        return self.linears[-1](z)


def sync_for(device):
    """What waits for queued work on `device` (nothing to wait for on the CPU)."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def gemm_rate(rows, width, dtype, device=torch.device("cpu")):
    """GFLOP/s of torch's matmul on the three hidden-layer shapes of a jet step (rows = streams x points),
    combined as total flops over total time, each checked against float64 on one row first."""
    import time
    sync = sync_for(device)
    x, w, dy = (torch.randn(rows, width, dtype=dtype, device=device), torch.randn(width, width, dtype=dtype, device=device),
                torch.randn(rows, width, dtype=dtype, device=device))
    ops = [lambda: x @ w.T, lambda: dy.T @ x, lambda: dy @ w]
    ref = (x[7].double() @ w.double().T, dy.double().T @ x[:, 3].double(), dy[7].double() @ w.double())
    got = (ops[0]()[7], ops[1]()[:, 3], ops[2]()[7])
    for r, g in zip(ref, got):
        assert torch.allclose(g.double(), r, rtol=1e-3, atol=1e-2 * float(r.abs().max())), "torch GEMM check failed"
    total = 0.0
    for op in ops:
        best = float("inf")
        for _ in range(5):
            sync()
            t0 = time.perf_counter()
            op()
            sync()
            best = min(best, time.perf_counter() - t0)
        total += best
    return {"torch_gflops": 3 * 2.0 * rows * width * width / total * 1e-9}


def main():
    args = common.parse_args("torch_step")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.precision == "f32" else torch.float64
    device = torch.device(args.device)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print(f"torch {torch.__version__}: no CUDA device (built for CUDA {torch.version.cuda})", file=sys.stderr)
            sys.exit(1)
        # float32 GEMMs in FP32 ("ieee", no TF32), like jetpinn's fp32 / 3xtf32 (the pre-2.9 switch otherwise)
        if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
            torch.backends.cuda.matmul.fp32_precision = "ieee"
        else:
            torch.backends.cuda.matmul.allow_tf32 = False
    sync = sync_for(device)
    data = common.make_data(args)
    net = Mlp(data["layers"], dtype).to(device)
    t = {k: (torch.tensor(p, dtype=dtype, device=device), None if d is None else torch.tensor(d, dtype=dtype, device=device), w)
         for k, (p, d, w) in data["terms"].items()}
    args.points = t["residual"][0].shape[0]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)

    def grad(y, x):
        return torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)

    if args.problem == "allen-cahn":
        pts, _, _ = t["residual"]
        ic_pts, ic_val, w_ic = t["ic"]

        def loss_fn():
            tt = pts[:, 0:1].clone().requires_grad_(True)
            xx = pts[:, 1:2].clone().requires_grad_(True)
            u = net(torch.cat([tt, xx], dim=1))
            u_t, u_x = grad(u, (tt, xx))
            u_xx = grad(u_x, xx)[0]
            r = u_t - common.AC_EPS * u_xx + common.AC_A * u ** 3 - common.AC_A * u
            return torch.mean(r ** 2) + w_ic * torch.mean((net(ic_pts) - ic_val) ** 2)
    else:
        pts, q, _ = t["residual"]
        bc_pts, _, w_bc = t["bc"]

        def loss_fn():
            x = pts[:, 0:1].clone().requires_grad_(True)
            y = pts[:, 1:2].clone().requires_grad_(True)
            u = net(torch.cat([x, y], dim=1))
            u_x, u_y = grad(u, (x, y))
            u_xx, u_yy = grad(u_x, x)[0], grad(u_y, y)[0]
            r = u_xx + u_yy + common.HH_K ** 2 * u - q
            return torch.mean(r ** 2) + w_bc * torch.mean(net(bc_pts) ** 2)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        sync()

    first = float(loss_fn().detach())
    info = {"peer": "torch", "version": torch.__version__, "threads": torch.get_num_threads(), "loss0_ref": data["loss0"]}
    if args.device == "cuda":
        info["device"] = "cuda: " + torch.cuda.get_device_name(device)
    if args.gemm:
        info["gemm"] = gemm_rate(4 * args.points, common.WIDTH, dtype, device)
    common.serve(args, info, first, step)


if __name__ == "__main__":
    main()
