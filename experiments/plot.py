#!/usr/bin/python3
"""Plots of a qzo HDF5 run log (docs/hdf5-log.md) to PNG files.

    experiments/plot.py runs/ddc-ablation.h5 --out docs/results/ddc-ablation

Writes, where the log has the data: loss.png (training loss curves), d-hist.png (|d|
histograms), clip-rate.png (clip rate over steps), acc-vs-clip.png (final metric against the
clip threshold C) and acc-vs-memory.png (final metric against stored weights and peak RSS).
Runs are grouped the way `qzo report` groups them: method / quantizer plus any swept key other
than the seed, averaged over seeds. Tables come from `qzo report`; this script only draws.
Needs Debian's python3-h5py and python3-matplotlib (launch/setup.sh installs them).
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FOLDED = ("seed", "method.name", "task.name", "model.dtype")


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def row_label(run):
    label = f"{run['method']} / {run['quantizer']}"
    for key in sorted(run["labels"]):
        if key in FOLDED or key.startswith("quant."):
            continue
        label += f", {key.rsplit('.', 1)[-1]}={run['labels'][key]}"
    return label


def read_runs(path):
    runs = []
    with h5py.File(path, "r", swmr=True) as f:
        for name, group in f["runs"].items():
            if group is None:  # an index link whose run file is gone (docs/hdf5-log.md)
                print(f"plot.py: {path}: run {name} has no file, left out", file=sys.stderr)
                continue
            attrs = group.attrs
            status = text(attrs.get("status", ""))
            if status != "finished":
                print(f"plot.py: {path}: run {name} is {status!r}, left out", file=sys.stderr)
                continue
            steps = {k: np.asarray(group["steps"][k]) for k in group["steps"]}
            runs.append({
                "name": name,
                "method": text(attrs["method"]),
                "quantizer": text(attrs["quantizer"]),
                "task": text(attrs["task"]),
                "metric": text(attrs["metric"]),
                "labels": json.loads(text(attrs.get("labels", "{}")) or "{}"),
                "sweep_index": int(attrs.get("sweep_index", -1)),
                "summary": json.loads(text(attrs.get("summary", "{}")) or "{}"),
                "steps": steps,
            })
    runs.sort(key=lambda r: r["sweep_index"] if r["sweep_index"] >= 0 else 1 << 30)
    return runs


def group_rows(runs):
    rows = OrderedDict()
    for run in runs:
        rows.setdefault(row_label(run), []).append(run)
    return rows


def smooth(values, window):
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def mean_curve(runs, column, window):
    curves = [smooth(r["steps"][column].astype(float), window) for r in runs if len(r["steps"]["step"]) > 0]
    if not curves:
        return None
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)


def plot_loss(rows, out_dir, window):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    drawn = False
    for label, runs in rows.items():
        for r in runs:
            s = r["steps"]
            s["loss"] = 0.5 * (s["loss_plus"] + s["loss_minus"]) if len(s["step"]) else s["loss_plus"]
        curve = mean_curve(runs, "loss", window)
        if curve is None:
            continue
        ax.plot(np.arange(len(curve)) + window, curve, label=f"{label} (n={len(runs)})")
        drawn = True
    if not drawn:
        plt.close(fig)
        return
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss, (L+ + L-)/2, {window}-step mean")
    ax.set_title("Training loss (mean over seeds)")
    ax.legend(fontsize=7)
    save(fig, out_dir, "loss.png")


def plot_d_hist(rows, out_dir):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    drawn = False
    all_d = [np.abs(r["steps"]["proj_grad_raw"]) for runs in rows.values() for r in runs]
    all_d = np.concatenate(all_d) if all_d else np.array([])
    all_d = all_d[np.isfinite(all_d) & (all_d > 0)]
    if all_d.size == 0:
        plt.close(fig)
        return
    bins = np.logspace(np.log10(all_d.min()), np.log10(all_d.max()), 40)
    for label, runs in rows.items():
        d = np.concatenate([np.abs(r["steps"]["proj_grad_raw"]) for r in runs])
        d = d[np.isfinite(d) & (d > 0)]
        if d.size == 0:
            continue
        ax.hist(d, bins=bins, histtype="step", label=label)
        drawn = True
    if not drawn:
        plt.close(fig)
        return
    ax.set_xscale("log")
    ax.set_xlabel("|d| = |(L+ - L-) / 2eps| before clipping")
    ax.set_ylabel("steps")
    ax.set_title("Projected-gradient magnitudes")
    ax.legend(fontsize=7)
    save(fig, out_dir, "d-hist.png")


def plot_clip_rate(rows, out_dir, window):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    drawn = False
    for label, runs in rows.items():
        curve = mean_curve(runs, "clipped", window)
        if curve is None or not np.any(curve > 0):
            continue
        ax.plot(np.arange(len(curve)) + window, 100 * curve, label=label)
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no step was clipped", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("step")
    ax.set_ylabel(f"clipped steps (%), {window}-step window")
    ax.set_title("Clip rate over training")
    if drawn:
        ax.legend(fontsize=7)
    save(fig, out_dir, "clip-rate.png")


def metric_scale(metric):
    return 100.0 if metric in ("accuracy", "em") or metric.startswith("f1") else 1.0


def plot_acc_vs_clip(runs, out_dir):
    points = OrderedDict()
    for r in runs:
        c = r["labels"].get("method.clip_threshold")
        if c is None or "final" not in r["summary"]:
            continue
        points.setdefault((r["method"], r["quantizer"], r["task"]), {}).setdefault(c, []).append(
            r["summary"]["final"] * metric_scale(r["metric"]))
    if not points:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for (method, quantizer, task), by_c in points.items():
        numeric = sorted((float(c), v) for c, v in by_c.items() if c != "none")
        xs = [c for c, _ in numeric]
        ys = [np.mean(v) for _, v in numeric]
        es = [np.std(v, ddof=1) if len(v) > 1 else 0 for _, v in numeric]
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=f"{method} / {quantizer} ({task})")
        if "none" in by_c:
            v = by_c["none"]
            ax.axhline(np.mean(v), linestyle="--", color="gray", label=f"no clipping ({np.mean(v):.1f})")
    ax.set_xlabel("clip threshold C")
    ax.set_ylabel("final metric (mean ± std over seeds)")
    ax.set_title("Accuracy against the clip threshold")
    ax.legend(fontsize=7)
    save(fig, out_dir, "acc-vs-clip.png")


def plot_acc_vs_memory(rows, out_dir):
    # Two views of memory: the stored weights (MeZO trains them in place, QZO adds only an fp32
    # copy of the scales) and the measured peak RSS of rank 0 (weights + activations + runtime).
    panels = (("weights_bytes", "stored weights (MB)"), ("peak_rss_bytes", "peak RSS of rank 0 (MB)"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    drawn = False
    for ax, (key, xlabel) in zip(axes, panels):
        for label, runs in rows.items():
            finals = [r["summary"]["final"] * metric_scale(r["metric"]) for r in runs if "final" in r["summary"]]
            mem = [r["summary"].get("memory", {}).get(key, 0) / 1e6 for r in runs]
            if not finals:
                continue
            ax.errorbar(np.mean(mem), np.mean(finals), yerr=np.std(finals, ddof=1) if len(finals) > 1 else 0,
                        marker="o", capsize=3, label=label)
            drawn = True
        ax.set_xlabel(xlabel)
    if not drawn:
        plt.close(fig)
        return
    axes[0].set_ylabel("final metric (mean ± std over seeds)")
    axes[0].legend(fontsize=7)
    fig.suptitle("Accuracy against memory")
    save(fig, out_dir, "acc-vs-memory.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="HDF5 run log (qzo sweep / qzo train --log-h5)")
    parser.add_argument("--out", default=".", help="folder for the PNG files")
    parser.add_argument("--window", type=int, default=20, help="steps averaged in curves")
    args = parser.parse_args()
    if not os.path.exists(args.log):
        sys.exit(f"plot.py: {args.log}: no such run log")
    os.makedirs(args.out, exist_ok=True)
    runs = read_runs(args.log)
    if not runs:
        sys.exit(f"plot.py: {args.log}: no finished runs")
    rows = group_rows(runs)
    plot_loss(rows, args.out, args.window)
    plot_d_hist(rows, args.out)
    plot_clip_rate(rows, args.out, args.window)
    plot_acc_vs_clip(runs, args.out)
    plot_acc_vs_memory(rows, args.out)


if __name__ == "__main__":
    main()
