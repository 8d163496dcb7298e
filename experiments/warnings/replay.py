"""Replays a finished run's fixed-noise grids (RUN/samples/epoch_*.png) through the collapse
detector the trainer uses, with the training images' spread of a synthetic run, and prints the
warnings it would give. Results: experiments/warnings/README.md.

    python experiments/warnings/replay.py RUN [RUN ...]
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from kerasgan import data, monitoring, plots, rundir  # noqa: E402


def replay(workdir: str) -> list[str]:
    config = rundir.read_config(workdir)
    grids = sorted(glob.glob(os.path.join(workdir, "samples", "epoch_*.png")))
    first = plots.load_grid_tiles(grids[0])
    real = data.synthetic_faces(np.arange(len(first)), config.image_size, config.seed)
    detector = monitoring.CollapseDetector(real_diversity=monitoring.coarse_diversity(real),
                                           real_mean=monitoring.coarse_mean(real))
    said = []
    for path in grids:
        epoch = int(os.path.basename(path)[len("epoch_"):-len(".png")])
        message = detector.end_epoch(epoch, plots.load_grid_tiles(path))
        if message:
            said.append(message)
    return said


def main():
    for workdir in sys.argv[1:]:
        said = replay(workdir)
        print(f"{workdir}: " + ("; ".join(said) if said else "no warning"))


if __name__ == "__main__":
    main()
