"""Small folders: the folder32 recipe on 256, 1,024 and 4,096 synthetic faces, with and without
augmentation, each for the same wall time; how swd_avg moves, and whether D memorises.

    PYTHONPATH=. python experiments/own_faces/small_data.py [--sizes=256,1024,4096] [--minutes=15]

Each run is `python -m kerasgan.train --preset=folder32 --dataset=synthetic --num_synthetic=N`
(the recipe holds out 5 %, at least 16 faces, and keeps generator_best.keras by swd_avg against
them), stopped at the time limit unless it ends by itself (experiments/time_to_faces/run.py
trains and times it). "no augmentation" adds `--augment=`. Every kept checkpoint's inference
generator is then measured with time_to_faces' protocol: 1,024 faces from
seeded_noise(range(1024)) against 1,024 other synthetic faces (indices 100000+, in no training
set), multi-scale SWD, seed 0. history.csv gives ADA's signal E[sign(D(x))] on training images
and the same on the held-out ones. Prints the table and writes small_data.png (the curves).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "time_to_faces"))

from run import HELD_OUT, checkpoint_generator, measure, run_recipe  # noqa: E402


def history(workdir):
    with open(os.path.join(workdir, "history.csv"), newline="") as file:
        rows = [row for row in csv.DictReader(file) if row.get("d_sign_heldout")]
    return [(int(r["step"]), float(r["d_sign_train"]), float(r["d_sign_heldout"]),
             float(r.get("augment_p") or "nan")) for r in rows]


def best_generator_score(workdir, held_out):
    path = os.path.join(workdir, "generator_best.json")
    if not os.path.isfile(path):
        return None, float("nan")
    import keras

    from kerasgan import metrics, sample_lib
    with open(path) as file:
        best = json.load(file)
    generator = keras.models.load_model(os.path.join(workdir, "generator_best.keras"),
                                        compile=False)
    fakes = sample_lib.generate(generator, range(len(held_out)))
    return best, metrics.sliced_wasserstein_distance(fakes, held_out, seed=0)["swd_avg"]


def plot(results, path, minutes):
    from matplotlib.figure import Figure
    figure = Figure(figsize=(12, 4.5))
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    colours = {}
    for name, r in results.items():
        size = name.split("_")[0]
        colour = colours.setdefault(size, f"C{len(colours)}")
        style = "-" if name.endswith("_augment") else "--"
        left.plot([t / 60 for t, _ in r["curve"]], [v for _, v in r["curve"]], style,
                  color=colour, label=name)
        steps = dict(r["checkpoints"])
        gap = [(steps.get(step), train - heldout) for step, train, heldout, _ in r["history"]]
        gap = [(t / 60, g) for t, g in gap if t is not None]
        right.plot([t for t, _ in gap], [g for _, g in gap], style, color=colour, label=name)
    left.axhline(next(iter(results.values()))["floor"], color="grey", linestyle=":",
                 label="floor (real vs real)")
    left.set_yscale("log")
    left.set_xlabel("wall time, minutes (start-up included)")
    left.set_ylabel("swd_avg x1e3 vs 1,024 other faces (lower is better)")
    right.set_xlabel("wall time, minutes")
    right.set_ylabel("E[sign D(train)] - E[sign D(held-out)]")
    right.axhline(0, color="grey", linewidth=0.8)
    for axes in (left, right):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=7)
    figure.suptitle(f"folder32 on N synthetic faces, {minutes:g} minutes each; solid: augmented, "
                    "dashed: not")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="256,1024,4096")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--checkpoint_every", type=int, default=500)
    parser.add_argument("--outdir", default="/tmp/small_data")
    parser.add_argument("--extra", default="", help="flags added to every run")
    parser.add_argument("--variants", default="augment,plain")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    args.num_samples = 1024
    runs = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        for variant in args.variants.split(","):
            flags = ["--preset=folder32", "--dataset=synthetic", f"--num_synthetic={size}",
                     *args.extra.split()]
            if variant == "plain":
                flags.append("--augment=")
            runs[f"{size}_{variant}"] = run_recipe(f"{size}_{variant}", flags, args)

    from kerasgan import data, metrics
    held_out = data.synthetic_faces(np.arange(HELD_OUT, HELD_OUT + 1024), 32)
    other = data.synthetic_faces(np.arange(200_000, 201_024), 32)
    floor = metrics.sliced_wasserstein_distance(other, held_out, seed=0)["swd_avg"]
    results = {}
    for name, run in runs.items():
        curve = [(t, measure(checkpoint_generator(run["workdir"], step), held_out))
                 for step, t in run["checkpoints"]]
        best, best_score = best_generator_score(run["workdir"], held_out)
        results[name] = dict(run, curve=curve, floor=floor, history=history(run["workdir"]),
                             best=best, best_score=best_score)
    print(f"\nswd_avg x1e3 of the inference G, 1,024 generated vs 1,024 other synthetic 32 px "
          f"faces, seed 0; floor (real vs real) {floor:.1f}; limit {args.minutes:g} min")
    print("| faces | augmentation | ended | wall s | steps | swd at 5 / 10 / 15 min | final | "
          "best checkpoint | generator_best.keras (its step) | train-heldout sign gap, last | "
          "augment_p, last |")
    print("|---:|---|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        size, variant = name.split("_")
        curve = r["curve"]
        at = []
        for mark in (5, 10, 15):
            before = [v for t, v in curve if t <= mark * 60]
            at.append(f"{before[-1]:.1f}" if before else "-")
        final = curve[-1][1] if curve else float("nan")
        best_point = min(curve, key=lambda p: p[1]) if curve else (0, float("nan"))
        last = r["history"][-1] if r["history"] else (0, float("nan"), float("nan"), float("nan"))
        ended = "at the limit" if r["stopped"] else "by itself"
        steps = r["checkpoints"][-1][0] if r["checkpoints"] else 0
        kept = (f"{r['best_score']:.1f} ({r['best']['step']})" if r["best"] else "none")
        print(f"| {size} | {'on' if variant == 'augment' else 'off'} | {ended} | "
              f"{r['elapsed']:.0f} | {steps} | {' / '.join(at)} | {final:.1f} | "
              f"{best_point[1]:.1f} at {best_point[0] / 60:.1f} min | {kept} | "
              f"{last[1] - last[2]:.2f} | {last[3]:.2f} |")
    print("\nswd_avg against elapsed seconds:")
    for name, r in results.items():
        print(f"{name}: " + ", ".join(f"{t:.0f}s {v:.1f}" for t, v in r["curve"]))
    print("\nstep: sign on training images / held-out images (augment_p):")
    for name, r in results.items():
        print(f"{name}: " + ", ".join(f"{s} {a:.2f}/{b:.2f} ({p:.2f})"
                                      for s, a, b, p in r["history"][::4]))
    with open(os.path.join(args.outdir, "results.json"), "w") as file:
        json.dump(results, file, indent=1, default=str)
    plot(results, os.path.join(args.outdir, "small_data.png"), args.minutes)
    print(f"\nplot: {os.path.join(args.outdir, 'small_data.png')}")


if __name__ == "__main__":
    main()
