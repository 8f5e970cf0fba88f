#!/usr/bin/python3
"""Plots of a qzo HDF5 run log (docs/hdf5-log.md) to PNG files.

    experiments/plot.py runs/ddc-ablation.h5 --out docs/results/ddc-ablation

Writes, where the log has the data: loss.png (training loss curves), d-hist.png (|d|
histograms), clip-rate.png (clip rate over steps), acc-vs-clip.png (final metric against the
clip threshold C, one line per lr), acc-vs-memory.png (final metric against stored weights and
the allocator's peak) and acc-vs-compute.png (the eval.curve scores against forward passes and
training seconds). Runs are grouped the way `qzo report` groups them: method / quantizer plus
any swept key other than the seed; error bars are 95% confidence intervals of the mean over
seeds (Student's t). Tables come from `qzo report`; this script only draws.
Needs Debian's python3-h5py, python3-matplotlib and python3-yaml (launch/setup.sh installs them).
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
import yaml  # noqa: E402

FOLDED = ("seed", "method.name", "model.dtype")
# Student's t, 0.975 quantile, for 1..30 degrees of freedom, then the lower end of each bracket:
# the same values as framework/report/stats.cpp, so bars and tables agree.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def student_t_975(dof):
    if dof <= 30:
        return T975[dof - 1]
    return 2.042 if dof <= 40 else 2.021 if dof <= 60 else 2.000 if dof <= 120 else 1.980


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def is_task_file(value):
    return "/" in value or value.endswith(".yaml")


BACKPROP = ("qlora", "ft")
BACKPROP_KEYS = {"method.activation_checkpointing", "optim.optimizer", "optim.max_grad_norm", "optim.beta1",
                 "optim.beta2", "optim.weight_decay"}
ZO_KEYS = {"method.update", "method.eps", "method.n_perturbations", "method.clip_threshold", "method.scale_floor"}


def acts_on(key, method):
    """report_rows.cpp's rule: a swept key stays out of the label of a method it does not act on."""
    if key.startswith("method.lora_"):
        return method == "qlora"
    if key in BACKPROP_KEYS:
        return method in BACKPROP
    if key in ZO_KEYS:
        return method not in BACKPROP
    if key == "method.perturbation":
        return method == "qzo"
    return True


def row_label(run):
    """The row of `qzo report` (framework/report/report_rows.cpp): the same keys, same order."""
    label = f"{run['method']} / {run['quantizer']}"
    for key, value in sorted(run["labels"].items()):  # nlohmann::json objects iterate sorted
        if key in FOLDED or key.startswith("quant.") or not acts_on(key, run["method"]):
            continue
        if key == "task.name":
            if isinstance(value, str) and is_task_file(value):
                label += f", prompt={os.path.splitext(os.path.basename(value))[0]}"
            continue
        label += f", {key.rsplit('.', 1)[-1]}={value if isinstance(value, str) else json.dumps(value)}"
    return label


def ci95(values):
    """Half-width of the 95% confidence interval of the mean (NaN for one value: no bar)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan")
    return student_t_975(len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))


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
            evals = [(int(st), text(sp).rstrip("\x00"), float(v)) for st, sp, v in
                     zip(group["eval"]["step"], group["eval"]["split"], group["eval"]["value"])]
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
                "evals": evals,
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


def save(fig, out_dir, name, bottom=None):
    """bottom: the figure fraction kept free below the panels (a legend placed there)."""
    path = os.path.join(out_dir, name)
    fig.tight_layout(rect=(0, bottom or 0, 1, 1))
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
        key = (r["method"], r["quantizer"], r["task"], r["labels"].get("optim.lr"))
        points.setdefault(key, {}).setdefault(c, []).append(r["summary"]["final"] * metric_scale(r["metric"]))
    if not points:
        return
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for (method, quantizer, task, lr), by_c in points.items():
        numeric = sorted((float(c), v) for c, v in by_c.items() if c != "none")
        xs = [c for c, _ in numeric]
        line = ax.errorbar(xs, [np.mean(v) for _, v in numeric], yerr=[ci95(v) for _, v in numeric], marker="o",
                           capsize=3, label=f"{method} / {quantizer} ({task})" + (f", lr {lr}" if lr else ""))
        if "none" in by_c:
            v = by_c["none"]
            ax.axhline(np.mean(v), linestyle="--", color=line[0].get_color(),
                       label=f"no clipping{f', lr {lr}' if lr else ''} ({np.mean(v):.1f})")
    ax.set_xscale("log")
    ax.set_xlabel("clip threshold C")
    ax.set_ylabel("final metric (mean ± 95% CI over seeds)")
    ax.set_title("Accuracy against the clip threshold")
    ax.legend(fontsize=7)
    save(fig, out_dir, "acc-vs-clip.png")


def plot_acc_vs_memory(rows, out_dir):
    # Two views of memory: the stored weights (MeZO trains them in place, QZO adds only an fp32
    # copy of the scales) and the run's allocator peak over all components (rank 0).
    panels = (("weights_bytes", "stored weights (MB)"), ("peak_total_bytes", "allocator peak, all components (MB)"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    drawn = False
    for ax, (key, xlabel) in zip(axes, panels):
        for label, runs in rows.items():
            finals = [r["summary"]["final"] * metric_scale(r["metric"]) for r in runs if "final" in r["summary"]]
            mem = [r["summary"].get("memory", {}).get(key, 0) / 1e6 for r in runs]
            if not finals:
                continue
            ax.errorbar(np.mean(mem), np.mean(finals), yerr=ci95(finals),
                        marker="o", capsize=3, label=label)
            drawn = True
        ax.set_xlabel(xlabel)
    if not drawn:
        plt.close(fig)
        return
    axes[0].set_ylabel("final metric (mean ± 95% CI over seeds)")
    axes[0].legend(fontsize=7)
    fig.suptitle("Accuracy against memory")
    save(fig, out_dir, "acc-vs-memory.png")


def plot_perturbations(runs, out_dir):
    """Quantizer ablations: final eval metric per quantizer, additive against multiplicative
    (mean ± 95% CI over seeds), with the quantized model's zero-shot score."""
    by = {}
    for r in runs:
        if r["method"] != "qzo" or "final" not in r["summary"]:
            continue
        kind = r["labels"].get("method.perturbation", "additive")
        by.setdefault(r["quantizer"], {}).setdefault(kind, []).append(r)
    if not any("multiplicative" in kinds for kinds in by.values()):
        return
    quantizers = list(by)
    x = np.arange(len(quantizers))
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(quantizers)), 4.5))
    for offset, kind in ((-0.2, "additive"), (0.2, "multiplicative")):
        means, errs = [], []
        for q in quantizers:
            finals = [r["summary"]["final"] * metric_scale(r["metric"]) for r in by[q].get(kind, [])]
            means.append(np.mean(finals) if finals else np.nan)
            errs.append(ci95(finals) if finals else 0)
        ax.bar(x + offset, means, 0.4, yerr=errs, capsize=2, label=kind)
    zero = [np.mean([r["summary"]["zero_shot"] * metric_scale(r["metric"])
                     for kind in by[q].values() for r in kind if "zero_shot" in r["summary"]] or [np.nan])
            for q in quantizers]
    ax.plot(x, zero, "k_", markersize=14, label="zero-shot")
    ax.set_xticks(x)
    ax.set_xticklabels(quantizers, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("eval metric after training (mean ± 95% CI)")
    ax.set_ylim(bottom=max(0, np.nanmin(zero) - 10))  # zero-shot scores set the floor worth showing
    ax.legend(fontsize=8)
    ax.set_title("QZO by quantizer: additive S + εz against multiplicative S·exp(εz)")
    save(fig, out_dir, "perturbation.png")


def curve_points(runs):
    """(forward passes, training seconds, score) per eval_curve step, each a list over the runs."""
    by_step = OrderedDict()
    for r in runs:
        batch = forwards_per_step(r["summary"].get("config", ""))
        for step, split, value in r["evals"]:
            if split != "eval_curve":
                continue
            s = r["steps"]
            before = s["wall_s"][s["step"] < step] if len(s["step"]) else []
            by_step.setdefault(step, []).append((batch * step, before[-1] if len(before) else 0.0,
                                                 value * metric_scale(r["metric"])))
    return by_step


def forwards_per_step(config_yaml):
    """2 x perturbations x batch (ZO), or 3 x batch for a backprop step (4 with activation
    checkpointing), read from the logged resolved config, as the report counts them."""
    try:
        config = yaml.safe_load(config_yaml) or {}
        method = config.get("method", {})
        batch = int(config.get("optim", {}).get("batch_size", 0))
        if method.get("name") in BACKPROP:
            return (4 if method.get("activation_checkpointing") else 3) * batch
        return 2 * int(method.get("n_perturbations", 1)) * batch
    except (yaml.YAMLError, AttributeError, TypeError, ValueError):
        return 0


def plot_acc_vs_compute(rows, out_dir):
    legend_lines = (sum(1 for runs in rows.values() if curve_points(runs)) + 1) // 2
    legend_height = 0.3 + 0.17 * legend_lines  # inches, the legend below both panels
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2 + legend_height), sharey=True)
    for ax in axes:  # up to 20 distinct colours: a methods sweep has more rows than tab10 has
        ax.set_prop_cycle(color=plt.cm.tab20.colors)
    drawn = False
    for label, runs in rows.items():
        by_step = curve_points(runs)
        untrained = [r["summary"]["final"] * metric_scale(r["metric"]) for r in runs
                     if r["summary"].get("steps", 0) == 0 and r["summary"].get("final_split", "eval") == "eval"]
        if untrained:  # zero-shot and ICL cost no training: a level line
            for ax in axes:
                ax.axhline(np.mean(untrained), linestyle="--", color="gray", linewidth=1)
            axes[0].text(0, np.mean(untrained), f" {label}", fontsize=7, va="bottom", color="gray")
        if not by_step:
            continue
        steps = sorted(by_step)
        forwards = [np.mean([p[0] for p in by_step[s]]) / 1e3 for s in steps]
        seconds = [np.mean([p[1] for p in by_step[s]]) for s in steps]
        scores = [np.mean([p[2] for p in by_step[s]]) for s in steps]
        errors = [ci95([p[2] for p in by_step[s]]) for s in steps]
        axes[0].errorbar(forwards, scores, yerr=errors, marker="o", capsize=3, label=label)
        axes[1].errorbar(seconds, scores, yerr=errors, marker="o", capsize=3, label=label)
        drawn = True
    if not drawn:
        plt.close(fig)
        return
    axes[0].set_xlabel("example-forward passes of training (thousands)")
    axes[1].set_xlabel("training seconds (steps only)")
    axes[0].set_ylabel("eval score along training (mean ± 95% CI)")
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="lower center", ncol=2, frameon=False)
    fig.suptitle("Compute-matched: the eval split scored along training (never used to select)")
    save(fig, out_dir, "acc-vs-compute.png", bottom=legend_height / (4.2 + legend_height))


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
    plot_acc_vs_compute(rows, args.out)
    plot_perturbations(runs, args.out)


if __name__ == "__main__":
    main()
