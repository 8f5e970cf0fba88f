#!/usr/bin/python3
"""The memory figure in the manner of the QZO paper's Figure 1, from committed memory records.

    experiments/plot_memory.py docs/results/memory/records --out docs/results/memory/memory.png

One panel per model shape (Llama-2 7B, 13B): for FT-AdamW, FT-SGD, MeZO, QLoRA and QZO the
memory `qzo memory` predicts for one training step (hatched, stacked by component) and,
beside it where bench/bench_memory_at_scale ran the step on this machine, the measured peak
RSS of the step (solid). The records are bench_memory_at_scale's JSON (docs/memory.md); the
table with every number is `qzo memory --report`'s report.md. This script only draws.
Needs Debian's python3-matplotlib (launch/setup.sh installs it).
"""
import argparse
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHODS = ("ft-adamw", "ft-sgd", "mezo", "qlora", "qzo")
COMPONENTS = ("weights", "trainable", "optimizer", "gradients", "activations", "workspace")
COLORS = ("#4c72b0", "#dd8452", "#c44e52", "#8172b3", "#55a868", "#937860")


def method_label(method, run):
    storage = {"f32": "fp32"}.get(run["storage"], run["storage"])
    return {"ft-adamw": "FT-AdamW\n(fp32)", "ft-sgd": "FT-SGD\n(fp32)", "mezo": "MeZO\n(" + storage + ")",
            "qlora": "QLoRA\n(nf4, r %d)" % run["lora"]["rank"], "qzo": "QZO\n(int4)"}[method]


def read_records(folder):
    paths = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not paths:
        sys.exit("plot_memory.py: no records (*.json) in " + folder)
    shapes = {}
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        if r.get("record") != "qzo-memory/1":
            sys.exit("plot_memory.py: %s: key 'record' is not qzo-memory/1" % path)
        shape = shapes.setdefault(r["shape"]["name"], {"predicted": r["predicted"], "run": r["run"], "measured": {}})
        shape["measured"][r["run"]["method"]] = r["measured"]
    return shapes


def draw_shape(ax, name, shape, memory_gb):
    width = 0.38
    for i, method in enumerate(METHODS):
        bottom = 0.0
        for component, color in zip(COMPONENTS, COLORS):
            gb = shape["predicted"][method][component] / 1e9
            ax.bar(i - width / 2, gb, width, bottom=bottom, color=color, hatch="//", edgecolor="white",
                   linewidth=0)
            bottom += gb
        ax.text(i - width / 2, bottom, "%.1f" % bottom, ha="center", va="bottom", fontsize=7)
        if method in shape["measured"]:
            rss = shape["measured"][method]["peak_rss_bytes"] / 1e9
            ax.bar(i + width / 2, rss, width, color="#222222")
            ax.text(i + width / 2, rss, "%.2f" % rss, ha="center", va="bottom", fontsize=7, fontweight="bold")
        else:
            why = "exceeds\nthis\nmachine" if bottom > memory_gb else "predicted\nonly"
            ax.text(i + width / 2, 0.5, why, ha="center", va="bottom", fontsize=6, color="#666666")
    ax.axhline(memory_gb, color="#999999", linestyle="--", linewidth=0.8)
    ax.text(len(METHODS) - 0.5, memory_gb, "this machine: %.1f GB" % memory_gb, ha="right", va="bottom",
            fontsize=7, color="#666666")
    ax.set_xticks(range(len(METHODS)))
    ax.set_xticklabels([method_label(m, shape["run"]) for m in METHODS], fontsize=8)
    ax.set_title(name)
    ax.set_ylabel("memory of one training step (GB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", help="folder of bench_memory_at_scale records (*.json)")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()
    shapes = read_records(args.records)
    first = next(iter(shapes.values()))
    memory_gb = 0.0
    for path in glob.glob(os.path.join(args.records, "*.json")):
        with open(path) as f:
            memory_gb = json.load(f)["machine"]["memory_bytes"] / 1e9
    fig, axes = plt.subplots(1, len(shapes), figsize=(5.2 * len(shapes), 4.2), sharey=False, squeeze=False)
    by_size = sorted(shapes.items(), key=lambda kv: kv[1]["predicted"]["ft-sgd"]["trainable"])
    for ax, (name, shape) in zip(axes[0], by_size):
        draw_shape(ax, name, shape, memory_gb)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, hatch="//", ec="white") for c in COLORS]
    handles.append(plt.Rectangle((0, 0), 1, 1, color="#222222"))
    labels = ["predicted: " + c for c in COMPONENTS] + ["measured: peak RSS of the step"]
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    run = first["run"]
    fig.suptitle("One training step, batch %d x %d tokens: predicted (hatched) and measured on a 2-core CPU (solid)"
                 % (run["batch"], run["seq"]), fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    fig.savefig(args.out, dpi=130)
    print("wrote " + args.out)


if __name__ == "__main__":
    main()
