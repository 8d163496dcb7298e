"""How soon does each recipe draw faces? swd_avg against wall time, recipe by recipe
(README.md here).

    PYTHONPATH=. python experiments/time_to_faces/run.py [--minutes=5] [--recipes=quick32,...]

Each recipe trains through the real command line (`python -m kerasgan.train`, start-up included)
and is stopped by SIGTERM at the time limit unless it ends by itself first. Checkpoints are kept
every --checkpoint_every steps; the time each one appeared on disk, measured from the command's
start, is its elapsed time. After training, every checkpoint's inference generator (G's average
when the run keeps one) is measured with this experiment's protocol: 1,024 faces from
seeded_noise(range(1024)) against 1,024 held-out synthetic faces (indices 100000+, never in a
training set), multi-scale SWD with seed 0. Two disjoint sets of real faces (100000+ against
200000+) give the floor. Measurement runs after training, so it never slows a recipe down.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

RECIPES = {
    # The README's first command.
    "quick32": ["--preset=quick32"],
    "quick32_no_ema": ["--preset=quick32", "--g_ema=false"],
    "readme_before": ["--dataset=synthetic", "--image_size=32"],
    "keras32": ["--preset=keras32", "--dataset=synthetic"],
    "dcgan64_at_32": ["--preset=dcgan64", "--dataset=synthetic", "--image_size=32",
                      "--batch_size=64"],
    # Small data: 256 training faces, with and without augmentation, same wall time.
    "small256": ["--preset=quick32", "--num_synthetic=256", "--epochs=100000"],
    "small256_augment": ["--preset=quick32", "--num_synthetic=256", "--epochs=100000",
                         "--augment=color,translation,cutout", "--augment_p=auto"],
}
HELD_OUT = 100_000
FLOOR_OTHER = 200_000
CHECKPOINT = re.compile(r"ckpt-(\d+)\.index$")


def run_recipe(name, flags, args):
    workdir = os.path.join(args.outdir, name)
    shutil.rmtree(workdir, ignore_errors=True)
    command = [sys.executable, "-m", "kerasgan.train", *flags, f"--workdir={workdir}",
               f"--checkpoint_every_steps={args.checkpoint_every}", "--max_to_keep=200",
               "--log_every=" + str(args.checkpoint_every)]
    print("$", " ".join(["python", *command[1:]]), flush=True)
    log = open(os.path.join(args.outdir, f"{name}.log"), "w")
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    seen = {}
    stopped = False
    while process.poll() is None:
        time.sleep(0.25)
        for path in glob.glob(os.path.join(workdir, "checkpoints", "ckpt-*.index")):
            seen.setdefault(path, time.perf_counter() - start)
        if not stopped and time.perf_counter() - start > args.minutes * 60:
            process.send_signal(signal.SIGTERM)
            stopped = True
    elapsed = time.perf_counter() - start
    for path in glob.glob(os.path.join(workdir, "checkpoints", "ckpt-*.index")):
        seen.setdefault(path, elapsed)
    log.close()
    with open(os.path.join(args.outdir, f"{name}.log")) as file:
        text = file.read()
    # The checkpoints on the --checkpoint_every grid and the last one (epoch ends add others).
    times = sorted((int(CHECKPOINT.search(p).group(1)), t) for p, t in seen.items())
    times = [(step, t) for i, (step, t) in enumerate(times)
             if step % args.checkpoint_every == 0 or i == len(times) - 1]
    return dict(workdir=workdir, elapsed=elapsed, stopped=stopped, returncode=process.returncode,
                checkpoints=times, collapse_warning=("collapsed" in text or "stuck" in text),
                time_line=next((line for line in text.splitlines() if line.startswith("time: ")),
                               ""))


def checkpoint_generator(workdir, step, raw=False):
    import tensorflow as tf

    from kerasgan import networks, rundir
    config = rundir.read_config(workdir)
    generator = networks.build_generator(config)
    path = os.path.join(workdir, "checkpoints", f"ckpt-{step}")
    item = "g_ema" if config.g_ema and not raw else "generator"
    tf.train.Checkpoint(**{item: generator}).restore(path).expect_partial()
    return generator


def measure(generator, held_out):
    from kerasgan import metrics, sample_lib
    fakes = sample_lib.generate(generator, range(len(held_out)))
    return metrics.sliced_wasserstein_distance(fakes, held_out, seed=0)["swd_avg"]


def plot(results, path):
    from matplotlib.figure import Figure
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    for name, result in results.items():
        points = result["curve"]
        if not points:
            continue
        axes.plot([t / 60 for t, _ in points], [v for _, v in points], marker=".", label=name)
    axes.axhline(results[next(iter(results))]["floor"], color="grey", linestyle=":",
                 label="floor (real vs real)")
    axes.set_yscale("log")
    axes.set_xlabel("wall time, minutes (start-up included)")
    axes.set_ylabel("swd_avg x1e3 (lower is better)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", default="quick32,quick32_no_ema,readme_before,keras32,"
                        "dcgan64_at_32,small256,small256_augment")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--checkpoint_every", type=int, default=250)
    parser.add_argument("--outdir", default="/tmp/time_to_faces")
    parser.add_argument("--num_samples", type=int, default=1024)
    parser.add_argument("--image_size", type=int, default=32,
                        help="side of the held-out faces: the recipes' image size")
    parser.add_argument("--custom", action="append", default=[],
                        help="NAME=FLAGS: another recipe, e.g. "
                             "lr1e-4='--preset=quick32 --d_lr=1e-4'")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    recipes = {name: RECIPES[name] for name in args.recipes.split(",") if name}
    for custom in args.custom:
        name, _, flags = custom.partition("=")
        recipes[name] = flags.split()
    runs = {name: run_recipe(name, flags, args) for name, flags in recipes.items()}

    from kerasgan import data
    held_out = data.synthetic_faces(np.arange(HELD_OUT, HELD_OUT + args.num_samples),
                                    args.image_size)
    other = data.synthetic_faces(np.arange(FLOOR_OTHER, FLOOR_OTHER + args.num_samples),
                                 args.image_size)
    from kerasgan import metrics
    floor = metrics.sliced_wasserstein_distance(other, held_out, seed=0)["swd_avg"]
    results = {}
    for name, run in runs.items():
        curve = [(t, measure(checkpoint_generator(run["workdir"], step), held_out))
                 for step, t in run["checkpoints"]]
        final = curve[-1][1] if curve else float("nan")
        raw = (measure(checkpoint_generator(run["workdir"], run["checkpoints"][-1][0], raw=True),
                       held_out) if run["checkpoints"] else float("nan"))
        results[name] = dict(run, curve=curve, final=final, final_raw_g=raw, floor=floor)
    print(f"\nswd_avg x1e3, {args.num_samples} generated vs {args.num_samples} held-out synthetic "
          f"{args.image_size} px faces, seed 0; floor (real vs real) {floor:.1f}; "
          f"limit {args.minutes:g} min")
    print("| recipe | ended | wall s | steps | swd_avg (inference G) | swd_avg (raw G) | "
          "collapse warning |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, r in results.items():
        steps = r["checkpoints"][-1][0] if r["checkpoints"] else 0
        ended = "SIGTERM at limit" if r["stopped"] else f"by itself (exit {r['returncode']})"
        print(f"| {name} | {ended} | {r['elapsed']:.0f} | {steps} | {r['final']:.1f} | "
              f"{r['final_raw_g']:.1f} | {'yes' if r['collapse_warning'] else 'no'} |")
    print("\nper-epoch work, as each run reported it:")
    for name, r in results.items():
        print(f"{name}: {r['time_line'] or '(stopped before the end: no summary)'}")
    print("\nswd_avg against elapsed seconds:")
    for name, r in results.items():
        print(f"{name}: " + ", ".join(f"{t:.0f}s {v:.1f}" for t, v in r["curve"]))
    with open(os.path.join(args.outdir, "results.json"), "w") as file:
        json.dump(results, file, indent=1)
    plot(results, os.path.join(args.outdir, "time_to_faces.png"))
    print(f"\nplot: {os.path.join(args.outdir, 'time_to_faces.png')}")


if __name__ == "__main__":
    main()
