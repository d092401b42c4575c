#!/usr/bin/env python3
"""jetpinn report: paper-style figures of one or more run folders (written by `jetpinn train`).

Reads each run's metrics.jsonl, summary.json, snapshots/*.npz and fields.npz and writes PNG files plus an
index.html into the output folder. Several runs overlay (e.g. vanilla against RBA).
Usage: report.py RUN_DIR [RUN_DIR ...] --out DIR [--labels a,b]
"""
import argparse
import glob
import html
import json
import os
import sys

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 80
PHASE_COLORS = {"fitting": "#fde0c5", "diffusion": "#d6e6f5", "total_diffusion": "#d9f0d3"}


def save(fig, out):
    """PNG with a 256-colour palette: the report stays small enough to commit."""
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    from PIL import Image

    Image.open(out).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def load_run(path):
    metrics = []
    with open(os.path.join(path, "metrics.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                metrics.append(json.loads(line))
    summary = {}
    sp = os.path.join(path, "summary.json")
    if os.path.exists(sp):
        with open(sp) as f:
            summary = json.load(f)
    snaps = []
    for p in sorted(glob.glob(os.path.join(path, "snapshots", "step_*.npz"))):
        z = np.load(p)
        snaps.append({k: z[k] for k in z.files})
    fields = None
    fp = os.path.join(path, "fields.npz")
    if os.path.exists(fp):
        z = np.load(fp)
        fields = {k: z[k] for k in z.files}
    return {"path": path, "metrics": metrics, "summary": summary, "snaps": snaps, "fields": fields}


def series(run, key):
    xs, ys = [], []
    for m in run["metrics"]:
        if key in m and m["step"] > 0 and m[key] is not None:
            xs.append(m["step"])
            ys.append(m[key])
    return np.array(xs), np.array(ys, dtype=object if ys and isinstance(ys[0], list) else float)


def shade_phases(ax, run, alpha=0.5):
    s = run["summary"]
    last = max([m["step"] for m in run["metrics"]] + [1])
    d, t = s.get("diffusion_step", -1), s.get("total_diffusion_step", -1)
    spans = [("fitting", 1, d if d and d > 0 else last)]
    if d and d > 0:
        spans.append(("diffusion", d, t if t and t > 0 else last))
    if t and t > 0:
        spans.append(("total_diffusion", t, last))
    for name, a, b in spans:
        if b > a:
            ax.axvspan(max(a, 1), b, color=PHASE_COLORS[name], alpha=alpha, lw=0)


def mark_transitions(ax, run, color):
    s = run["summary"]
    for key, ls in (("diffusion_step", ":"), ("total_diffusion_step", "--")):
        v = s.get(key, -1)
        if v and v > 0:
            ax.axvline(v, color=color, ls=ls, lw=1)


def fig_snr(runs, labels, colors, out):
    fig, axes = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    if len(runs) == 1:
        shade_phases(axes[0], runs[0])
    for run, lab, c in zip(runs, labels, colors):
        x, y = series(run, "snr")
        axes[0].loglog(x, y, color=c, lw=0.8, label=lab)
        x, y = series(run, "phi_grad")
        axes[1].semilogx(x, y, color=c, lw=0.8, label=lab)
        x, y = series(run, "rel_l2")
        axes[2].loglog(x, y, "o-", color=c, ms=2, lw=0.8, label=lab)
        for ax in axes:
            mark_transitions(ax, run, c)
    axes[0].set_ylabel("batch-gradient SNR")
    axes[0].axhline(1, color="gray", lw=0.5)
    axes[1].set_ylabel("phi = |mu| / |RMS|")
    axes[2].set_ylabel("relative L2 error")
    axes[2].set_xlabel("step  (dotted: diffusion starts, dashed: total diffusion)")
    axes[0].legend(fontsize=8)
    save(fig, out)


def fig_layers(runs, labels, out):
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.5), squeeze=False)
    for ax, run, lab in zip(axes[0], runs, labels):
        x, y = series(run, "snr_layer")
        if len(x):
            arr = np.array([list(v) for v in y], dtype=float)
            cmap = plt.get_cmap("viridis")
            for l in range(arr.shape[1]):
                ax.loglog(x, arr[:, l], color=cmap(l / max(1, arr.shape[1] - 1)), lw=0.7, label=f"layer {l}")
        mark_transitions(ax, run, "k")
        ax.set_title(f"per-layer SNR: {lab}", fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=6)
    save(fig, out)


def fig_pair(runs, labels, colors, keys, ylabels, out, logy=(True, False)):
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for ax, key, yl, ly in zip(axes[0], keys, ylabels, logy):
        for run, lab, c in zip(runs, labels, colors):
            x, y = series(run, key)
            if len(x):
                (ax.loglog if ly else ax.semilogx)(x, y, color=c, lw=0.8, label=lab)
            mark_transitions(ax, run, c)
        ax.set_ylabel(yl)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    save(fig, out)


def cell_means(x, y, v, cells=40):
    """Mean of v over a cells x cells grid of (x, y) (rows: x); empty cells are NaN. Small, clear PNGs."""
    sums, xe, ye = np.histogram2d(x, y, bins=cells, weights=v)
    counts, _, _ = np.histogram2d(x, y, bins=[xe, ye])
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def fig_maps(runs, labels, out):
    rows = []
    for run, lab in zip(runs, labels):
        snaps = run["snaps"][-3:]
        if snaps:
            rows.append((run, lab, snaps))
    if not rows:
        return False
    ncol = max(len(s) for _, _, s in rows)
    fig, axes = plt.subplots(2 * len(rows), ncol, figsize=(2.6 * ncol, 2.4 * 2 * len(rows)), squeeze=False)
    for r, (run, lab, snaps) in enumerate(rows):
        for c in range(ncol):
            for k, (key, name) in enumerate((("lambda", "RBA lambda"), ("residual", "|r|"))):
                ax = axes[2 * r + k][c]
                if c >= len(snaps):
                    ax.axis("off")
                    continue
                s = snaps[c]
                p, v = s["points"], np.abs(s[key]).mean(axis=1)
                y = p[:, 1] if p.shape[1] > 1 else np.zeros(len(p))
                im = ax.imshow(cell_means(p[:, 0], y, v), origin="lower", aspect="auto", cmap="jet", interpolation="nearest",
                               extent=[y.min(), y.max(), p[:, 0].min(), p[:, 0].max()])
                fig.colorbar(im, ax=ax, fraction=0.046)
                ax.set_title(f"{lab}: {name}, step {int(s['step'][()] if s['step'].ndim == 0 else s['step'][0])}",
                             fontsize=7)
                ax.tick_params(labelsize=6)
    save(fig, out)
    return True


def fig_fields(runs, labels, out):
    rows = [(r, l) for r, l in zip(runs, labels) if r["fields"] is not None]
    if not rows:
        return False
    fig, axes = plt.subplots(len(rows), 3, figsize=(11, 3.2 * len(rows)), squeeze=False)
    for i, (run, lab) in enumerate(rows):
        f = run["fields"]
        k0, k1 = max(1, len(f["axis0"]) // 128), max(1, len(f["axis1"]) // 128)  # at most ~128 pixels a side
        f = {"axis0": f["axis0"][::k0], "axis1": f["axis1"][::k1], "prediction": f["prediction"][::k0, ::k1],
             "reference": f["reference"][::k0, ::k1]}
        a0, a1 = f["axis0"], f["axis1"]
        ext = [a1[0], a1[-1], a0[0], a0[-1]]
        for j, (arr, name, cmap) in enumerate(((f["prediction"], "prediction", "jet"), (f["reference"], "reference", "jet"),
                                               (np.abs(f["prediction"] - f["reference"]), "|error|", "magma"))):
            im = axes[i][j].imshow(arr, origin="lower", extent=ext, aspect="auto", cmap=cmap, interpolation="nearest")
            fig.colorbar(im, ax=axes[i][j], fraction=0.046)
            axes[i][j].set_title(f"{lab}: {name}", fontsize=8)
            axes[i][j].tick_params(labelsize=6)
    save(fig, out)
    return True


def fig_compression(runs, labels, out):
    have = [(r, l) for r, l in zip(runs, labels) if len(series(r, "entropy")[0])]
    if not have:
        return False
    fig, axes = plt.subplots(len(have), 2, figsize=(10, 3.2 * len(have)), squeeze=False)
    for i, (run, lab) in enumerate(have):
        for j, key in enumerate(("saturation", "entropy")):
            x, y = series(run, key)
            arr = np.array([list(v) for v in y], dtype=float)
            cmap = plt.get_cmap("viridis")
            for l in range(arr.shape[1]):
                axes[i][j].semilogx(x, arr[:, l], "o-", ms=2, lw=0.8, color=cmap(l / max(1, arr.shape[1] - 1)),
                                    label=f"layer {l + 1}")
            mark_transitions(axes[i][j], run, "k")
            axes[i][j].set_title(f"{lab}: {key}" + (" (bits)" if key == "entropy" else ""), fontsize=8)
            axes[i][j].set_xlabel("step")
            axes[i][j].legend(fontsize=6)
    save(fig, out)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--labels", default="")
    a = ap.parse_args()
    runs = []
    for p in a.runs:
        if not os.path.exists(os.path.join(p, "metrics.jsonl")):
            print(f"jetpinn report: {p} is not a run folder (no metrics.jsonl)", file=sys.stderr)
            return 1
        runs.append(load_run(p))
    labels = a.labels.split(",") if a.labels else [os.path.basename(os.path.normpath(p)) for p in a.runs]
    if len(labels) != len(runs):
        print(f"jetpinn report: {len(labels)} labels for {len(runs)} runs", file=sys.stderr)
        return 1
    colors = [plt.get_cmap("tab10")(i) for i in range(len(runs))]
    os.makedirs(a.out, exist_ok=True)
    figs = []

    def add(name, caption, made=True):
        if made:
            figs.append((name, caption))

    fig_snr(runs, labels, colors, os.path.join(a.out, "snr.png"))
    add("snr.png", "Batch-gradient SNR, phi and test error against steps; phases shaded (one run) and transitions marked.")
    fig_layers(runs, labels, os.path.join(a.out, "snr_layers.png"))
    add("snr_layers.png", "SNR of each weight matrix.")
    fig_pair(runs, labels, colors, ["snr_adam", "phi_rba", "phi_res"],
             ["Adam SNR |m|/|sqrt(v)+eps|", "homogeneity of RBA lambda", "homogeneity of |r|"],
             os.path.join(a.out, "adam_homogeneity.png"), logy=(True, False, False))
    add("adam_homogeneity.png", "Adam SNR and residual homogeneity (1 = homogeneous over a 10 x 10 grid of cells).")
    add("maps.png", "RBA multipliers and |r| over the collocation points at the snapshot steps.",
        fig_maps(runs, labels, os.path.join(a.out, "maps.png")))
    add("fields.png", "Prediction, reference and error at the end of each run.",
        fig_fields(runs, labels, os.path.join(a.out, "fields.png")))
    add("compression.png", "Saturation and entropy of each hidden layer on the probe set.",
        fig_compression(runs, labels, os.path.join(a.out, "compression.png")))

    keys = ["problem", "preset", "steps", "rel_l2", "rel_l2_best", "phase", "diffusion_step", "total_diffusion_step",
            "snr_last", "wall_seconds", "steps_per_second", "precision", "threads"]
    rows = "".join(
        "<tr><td>%s</td>%s</tr>" % (html.escape(l), "".join(
            "<td>%s</td>" % html.escape(("%.4g" % r["summary"][k]) if isinstance(r["summary"].get(k), float)
                                        else str(r["summary"].get(k, ""))) for k in keys))
        for r, l in zip(runs, labels))
    body = "".join('<h3>%s</h3><p>%s</p><img src="%s">' % (n, html.escape(c), n) for n, c in figs)
    with open(os.path.join(a.out, "index.html"), "w") as f:
        f.write("<!doctype html><meta charset=utf-8><title>jetpinn report</title><h1>jetpinn report</h1>"
                "<table border=1 cellpadding=3><tr><th>run</th>%s</tr>%s</table>%s" %
                ("".join("<th>%s</th>" % k for k in keys), rows, body))
    print(f"jetpinn report: {len(figs)} figures and index.html in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
