#!/usr/bin/env python3
"""The cross-problem summary of bench/paper_runs.sh: tables of the measured dynamics and one figure.

For each run folder (metrics.jsonl, summary.json written by `jetpinn train`): the detected transition steps, the
batch-gradient SNR in each detected phase, the homogeneity of the RBA multipliers (phi of lambda) and of |r|
before and after total diffusion, the relative L2 error at fixed fractions of the run, and saturation/entropy per
hidden layer at the start, at the total-diffusion transition and at the end. The tables replace the part of
OUT/README.md between the markers below (or print to stdout when there are no markers); the figure, test error
against the step divided by the run's step budget with the transitions marked, goes to OUT/error_vs_step.png, and
OUT/index.html links it and the per-problem reports (OUT/<problem>/index.html).
Usage: paper_summary.py RUN_DIR [RUN_DIR ...] --out DIR
"""
import argparse
import json
import os
import sys

import numpy as np
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import load_run, save, series  # noqa: E402

BEGIN, END = "<!-- paper_summary: begin -->", "<!-- paper_summary: end -->"
FRACTIONS = (0.01, 0.1, 0.25, 0.5, 1.0)
PHASES = ("fitting", "diffusion", "total_diffusion")


def label(run):
    s = run["summary"]
    rba = run["config"]["loss"]["rba"]["enabled"]
    return f"{s['problem']} {'RBA' if rba else 'vanilla'}"


def budget(run):
    return run["config"]["train"]["iters"]


def step_or_dash(v):
    return f"{v:,}" if v is not None and v > 0 else "not reached"


def measurements(run, key):
    """(step, value, phase) of every metrics line with key (the phase as detected at that line)."""
    return [(m["step"], m[key], m.get("phase")) for m in run["metrics"] if key in m and m["step"] > 0]


def at_fraction(run, key, f):
    """The last logged value of key at or before step f * budget."""
    rows = [(s, v) for s, v, _ in measurements(run, key) if s <= f * budget(run) + 0.5]
    return rows[-1][1] if rows else None


def nearest(run, key, step):
    rows = measurements(run, key)
    if not rows:
        return None
    return min(rows, key=lambda r: abs(r[0] - step))[1]


def fmt(v, spec=".2e"):
    return "–" if v is None else format(v, spec)


def table_transitions(runs):
    out = ["| run | steps | fitting → diffusion | diffusion → total diffusion | same, as a share of the run |",
           "|---|---|---|---|---|"]
    for r in runs:
        s = r["summary"]
        t = s.get("total_diffusion_step", -1)
        share = f"{t / budget(r):.1%}" if t and t > 0 else "–"
        out.append(f"| {label(r)} | {s['steps']:,} | {step_or_dash(s.get('diffusion_step'))} | "
                   f"{step_or_dash(t)} | {share} |")
    return out


def table_snr(runs):
    out = ["| run | " + " | ".join(f"SNR in {p.replace('_', ' ')} (median; 10th–90th pct.; n)" for p in PHASES) + " |",
           "|---|---|---|---|"]
    for r in runs:
        cells = []
        for p in PHASES:
            v = np.array([x for _, x, ph in measurements(r, "snr") if ph == p], dtype=float)
            cells.append("–" if not len(v) else
                         f"{np.median(v):.3g}; {np.percentile(v, 10):.3g}–{np.percentile(v, 90):.3g}; {len(v)}")
        out.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    return out


def table_homogeneity(runs):
    out = ["| run | φ of λ: mean before / after total diffusion, end | φ of \\|r\\|: mean before / after, end |",
           "|---|---|---|"]
    for r in runs:
        t = r["summary"].get("total_diffusion_step", -1)
        cells = []
        for key in ("phi_rba", "phi_res"):
            rows = measurements(r, key)
            before = [v for s, v, _ in rows if t is None or t <= 0 or s < t]
            after = [v for s, v, _ in rows if t and t > 0 and s >= t]
            cells.append(f"{fmt(np.mean(before) if before else None, '.3f')} / "
                         f"{fmt(np.mean(after) if after else None, '.3f')}, {fmt(rows[-1][1] if rows else None, '.3f')}")
        out.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    return out


def table_error(runs):
    out = ["| run | " + " | ".join(f"rel. L2 at {f:.0%}" for f in FRACTIONS) + " | best | at total diffusion |",
           "|---|" + "---|" * (len(FRACTIONS) + 2)]
    for r in runs:
        t = r["summary"].get("total_diffusion_step", -1)
        cells = [fmt(at_fraction(r, "rel_l2", f)) for f in FRACTIONS]
        cells.append(fmt(r["summary"].get("rel_l2_best")))
        cells.append(fmt(nearest(r, "rel_l2", t)) if t and t > 0 else "–")
        out.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    return out


def table_compression(runs):
    out = ["| run | saturation per layer: first / at total diffusion / end | entropy (bits) per layer: first / at "
           "total diffusion / end |", "|---|---|---|"]
    for r in runs:
        t = r["summary"].get("total_diffusion_step", -1)
        cells = []
        for key, spec in (("saturation", ".2f"), ("entropy", ".1f")):
            rows = measurements(r, key)
            if not rows:
                cells.append("–")
                continue
            mid = nearest(r, key, t) if t and t > 0 else None

            def layers(v):
                return "–" if v is None else " ".join(format(x, spec) for x in v)

            cells.append(f"{layers(rows[0][1])} / {layers(mid)} / {layers(rows[-1][1])}")
        out.append(f"| {label(r)} | " + " | ".join(cells) + " |")
    return out


def fig_error(runs, out):
    """One panel: test error against step / budget for every run, transitions marked on each curve."""
    fig, ax = plt.subplots(figsize=(8, 5))
    problems = sorted({r["summary"]["problem"] for r in runs})
    colors = {p: plt.get_cmap("tab10")(i) for i, p in enumerate(problems)}
    for r in runs:
        x, y = series(r, "rel_l2")
        x = x / budget(r)
        rba = r["config"]["loss"]["rba"]["enabled"]
        c = colors[r["summary"]["problem"]]
        ax.loglog(x, y, "-" if rba else "--", color=c, lw=1.2 if rba else 0.9, label=label(r))
        for key, marker in (("diffusion_step", "o"), ("total_diffusion_step", "*")):
            step = r["summary"].get(key, -1)
            if step and step > 0:
                ax.plot(step / budget(r), nearest(r, "rel_l2", step), marker, color=c, ms=6 if marker == "o" else 12,
                        mec="k", mew=0.6)
    ax.set_xlabel("step / step budget   (o: diffusion begins, *: total diffusion begins)")
    ax.set_ylabel("relative L2 error")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", lw=0.3)
    save(fig, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = []
    for p in a.runs:
        if not os.path.exists(os.path.join(p, "summary.json")):
            print(f"paper_summary: {p} is not a finished run folder (no summary.json)", file=sys.stderr)
            return 1
        run = load_run(p)
        with open(os.path.join(p, "config.json")) as f:
            run["config"] = json.load(f)
        runs.append(run)
    os.makedirs(a.out, exist_ok=True)
    fig_error(runs, os.path.join(a.out, "error_vs_step.png"))
    lines = [BEGIN, "", "Transitions as the detector dates them (summary.json):", ""] + table_transitions(runs)
    lines += ["", "Batch-gradient SNR in each detected phase (every measurement of the run):", ""] + table_snr(runs)
    lines += ["", "Homogeneity (1 = homogeneous over a 10 × 10 grid of cells):", ""] + table_homogeneity(runs)
    lines += ["", "Test error (relative L2 against the reference) at fixed shares of the step budget:", ""]
    lines += table_error(runs)
    lines += ["", "Compression of the hidden layers on the probe set (layers 1 to 4, left to right):", ""]
    lines += table_compression(runs) + ["", END]
    text = "\n".join(lines) + "\n"
    readme = os.path.join(a.out, "README.md")
    if os.path.exists(readme) and BEGIN in open(readme).read():
        old = open(readme).read()
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1] if END in rest else ""
        with open(readme, "w") as f:
            f.write(head + text.rstrip("\n") + tail)
        print(f"paper_summary: tables in {readme}")
    else:
        sys.stdout.write(text)
    problems = sorted({r["summary"]["problem"] for r in runs})
    with open(os.path.join(a.out, "index.html"), "w") as f:
        f.write("<!doctype html><meta charset=utf-8><title>jetpinn: the paper's findings at CPU scale</title>"
                "<h1>Training dynamics at CPU scale, vanilla against RBA</h1>"
                "<p>Tables and the claim-by-claim comparison: README.md in this folder.</p>"
                "<h3>Test error against the normalised step</h3><img src=\"error_vs_step.png\"><ul>" +
                "".join(f"<li><a href=\"{p}/index.html\">{p}</a></li>" for p in problems) + "</ul>")
    print(f"paper_summary: error_vs_step.png and index.html in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
