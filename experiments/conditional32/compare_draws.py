"""How the other attributes are drawn changes what a conditional run is measured to do: the same
generator and classifier, the attributes not under test drawn one by one from their shares
(kerasgan before it kept the data's combinations) and from the data's combinations (now).

    PYTHONPATH=. python experiments/conditional32/compare_draws.py --workdir=runs/conditional32

Run it after run.py, on its run directory (it reads the classifier run.py's evaluate trained).
Drawn one by one, a face asked to have black hair is asked to be blond as well as often as a
fifth of the faces are blond, which no training face is; from the combinations it never is.
Prints per attribute the balanced accuracy (asked on / asked off) both ways, next to the
classifier's ceiling, and swd_avg both ways as experiments/time_to_faces measures it (1,024
faces from seeded_noise(range(1024)) against 1,024 held-out synthetic faces, seed 0;
--num_seeds changes both counts).
"""

from __future__ import annotations

import argparse
import json

import keras
import numpy as np

from kerasgan import attribute_accuracy, checkpointing, inference, metrics, rundir
from kerasgan.data import synthetic_faces
from kerasgan.labels import draw_labels
from kerasgan.noise import seeded_noise

HELD_OUT = 100000  # the first of the time_to_faces protocol's held-out synthetic faces


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", default="runs/conditional32")
    parser.add_argument("--num_seeds", type=int, default=1024)
    args = parser.parse_args()
    seeds = range(args.num_seeds)
    config, generator, path = checkpointing.load_run_generator(args.workdir)
    names = generator.attribute_names
    combinations = generator.attribute_combinations
    if not combinations:
        raise SystemExit("this run keeps no attribute combinations: train it again")
    classifier = keras.models.load_model(
        rundir.path(args.workdir, rundir.ATTRIBUTE_CLASSIFIER_FILE), compile=False)
    with open(rundir.path(args.workdir, rundir.ATTRIBUTE_CLASSIFIER_INFO_FILE)) as f:
        ceiling = json.load(f)["ceiling"]
    frequencies = generator.attribute_frequencies

    def generate(z, labels):
        return inference.generate(generator, z, 256, labels=labels)

    held_out = synthetic_faces(range(HELD_OUT, HELD_OUT + len(seeds)), config.image_size)
    held_out = held_out.astype(np.float32) / 127.5 - 1.0
    z = seeded_noise(seeds, generator.latent_dim)
    draws = {"one by one": (), "combinations": combinations}
    accuracy, swd = {}, {}
    for draw, kept in draws.items():
        accuracy[draw] = attribute_accuracy.attribute_accuracy(
            classifier, generate, generator.latent_dim, names, frequencies, seeds,
            combinations=kept)
        fakes = generate(z, draw_labels(frequencies, seeds, kept))
        swd[draw] = metrics.sliced_wasserstein_distance(fakes, held_out, seed=0)["swd_avg"]

    print(f"{args.workdir} ({path}): balanced attribute accuracy (asked on / asked off), "
          f"{len(seeds):,} seeds each way")
    print(f"{'attribute':<12} {'ceiling':>8} {'one by one':>22} {'combinations':>22}")
    for name in names:
        cells = [f"{r[name]['mean']:.3f} ({r[name]['on']:.3f}/{r[name]['off']:.3f})"
                 for r in accuracy.values()]
        print(f"{name:<12} {ceiling[name]['mean']:>8.3f} {cells[0]:>22} {cells[1]:>22}")
    print(f"{'swd_avg':<12} {'':>8} {swd['one by one']:>22.1f} {swd['combinations']:>22.1f}")


if __name__ == "__main__":
    main()
