#!/usr/bin/env python3
"""JAX peer: one PINN training step as jit(value_and_grad(loss)) with the Adam update inside the same jit, the
input derivatives as nested jax.grad of a one-point network vmap-ed over the points. Problems, network and loss
as in common.py (jetpinn's `paper` presets). Prints median seconds per step after warm-up, or serves step
counts on stdin (--serve, for bench/compare.py). Threads: XLA's CPU client uses every core unless XLA_FLAGS
says otherwise (bench/compare.py tries "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").
With --device cuda it runs on JAX's CUDA backend (jax_platforms = "cuda": no silent fall-back to the CPU),
float32 dots at "highest" precision (JAX's GPU default is TF32; jetpinn's fp32 and 3xtf32 steps are FP32-accurate),
no up-front grab of 75% of the GPU memory (other peers share the card); --device cpu pins the CPU backend.
Usage: .venv/bin/python bench/peers/jax_step.py helmholtz --precision f64 --points 4096 [--export DIR] [--device cuda]"""
import os
import sys

import common

args = common.parse_args("jax_step")
if args.device == "cuda":
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
import jax  # noqa: E402  (after parsing: x64 must be set before any array is made)

jax.config.update("jax_platforms", "cuda" if args.device == "cuda" else "cpu")
jax.config.update("jax_enable_x64", args.precision == "f64")
if args.device == "cuda":
    jax.config.update("jax_default_matmul_precision", "highest")
try:
    DEVICE = jax.devices()[0]
except Exception as e:  # jax_platforms names a backend this jax cannot start
    print(f"jax {jax.__version__}: no {args.device} backend ({type(e).__name__}: {e})", file=sys.stderr)
    sys.exit(1)
import jax.numpy as jnp  # noqa: E402


def main():
    dtype = jnp.float32 if args.precision == "f32" else jnp.float64
    data = common.make_data(args)
    params = [(jnp.asarray(w, dtype), jnp.asarray(b, dtype)) for w, b in data["layers"]]
    t = {k: (jnp.asarray(p, dtype), None if d is None else jnp.asarray(d, dtype), w)
         for k, (p, d, w) in data["terms"].items()}
    args.points = int(t["residual"][0].shape[0])

    def u_fn(params, a, b):  # the network at one point (a, b), a scalar
        z = jnp.stack([a, b])
        for w, bias in params[:-1]:
            z = jnp.tanh(w @ z + bias)
        w, bias = params[-1]
        return (w @ z + bias)[0]

    u_a = jax.grad(u_fn, 1)
    u_b = jax.grad(u_fn, 2)
    u_aa = jax.grad(u_a, 1)
    u_bb = jax.grad(u_b, 2)
    batch = lambda f: jax.vmap(f, in_axes=(None, 0, 0))  # noqa: E731

    if args.problem == "allen-cahn":
        pts, _, _ = t["residual"]
        ic_pts, ic_val, w_ic = t["ic"]

        def loss_fn(params):
            tt, xx = pts[:, 0], pts[:, 1]
            u = batch(u_fn)(params, tt, xx)
            r = batch(u_a)(params, tt, xx) - common.AC_EPS * batch(u_bb)(params, tt, xx) + common.AC_A * u ** 3 - common.AC_A * u
            u0 = batch(u_fn)(params, ic_pts[:, 0], ic_pts[:, 1])
            return jnp.mean(r ** 2) + w_ic * jnp.mean((u0 - ic_val[:, 0]) ** 2)
    else:
        pts, q, _ = t["residual"]
        bc_pts, _, w_bc = t["bc"]

        def loss_fn(params):
            x, y = pts[:, 0], pts[:, 1]
            u = batch(u_fn)(params, x, y)
            r = batch(u_aa)(params, x, y) + batch(u_bb)(params, x, y) + common.HH_K ** 2 * u - q[:, 0]
            return jnp.mean(r ** 2) + w_bc * jnp.mean(batch(u_fn)(params, bc_pts[:, 0], bc_pts[:, 1]) ** 2)

    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8

    @jax.jit
    def train_step(params, m, v, k):
        loss, g = jax.value_and_grad(loss_fn)(params)
        k = k + 1
        m = jax.tree_util.tree_map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
        v = jax.tree_util.tree_map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
        mc, vc = 1 - b1 ** k, 1 - b2 ** k
        params = jax.tree_util.tree_map(lambda p, m_, v_: p - lr * (m_ / mc) / (jnp.sqrt(v_ / vc) + eps), params, m, v)
        return params, m, v, k, loss

    state = {"p": params, "m": jax.tree_util.tree_map(jnp.zeros_like, params),
             "v": jax.tree_util.tree_map(jnp.zeros_like, params), "k": jnp.asarray(0, dtype)}

    def step():
        p, m, v, k, loss = train_step(state["p"], state["m"], state["v"], state["k"])
        jax.block_until_ready((p, m, v, k, loss))
        state.update(p=p, m=m, v=v, k=k)

    first = float(jax.jit(loss_fn)(params))
    info = {"peer": "jax", "version": jax.__version__, "loss0_ref": data["loss0"]}
    if args.device == "cuda":
        if DEVICE.platform != "gpu":
            print(f"jax {jax.__version__}: default device is {DEVICE}, not a GPU", file=sys.stderr)
            sys.exit(1)
        info["device"] = f"cuda: {getattr(DEVICE, 'device_kind', DEVICE)}"
    common.serve(args, info, first, step)


if __name__ == "__main__":
    main()
