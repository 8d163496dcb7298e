"""Drawing images from a trained generator by seed: parse seeds, generate, write PNGs or a grid."""

from __future__ import annotations

import os
import re
import time
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from kerasgan import checkpointing, plots, rundir
from kerasgan.errors import ConfigError
from kerasgan.gan import seeded_noise

_SEEDS = re.compile(r"^\d+(-\d+)?$")


def parse_seeds(text: str) -> list[int]:
    """"0-3,7,10-11" -> [0, 1, 2, 3, 7, 10, 11]; ConfigError naming --seeds on anything else."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not _SEEDS.match(part):
            raise ConfigError(f"--seeds={text} is not allowed: use integers and ranges like "
                              "0-15 or 3,7,20-23")
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise ConfigError(f"--seeds={text} is not allowed: range {part} runs backwards")
        seeds.extend(range(first, last + 1))
    return seeds


def sample(workdir: str = "", generator_path: str = "", num_images: int = 16,
           seeds: Optional[Sequence[int]] = None, grid: bool = False, outdir: str = "",
           batch_size: int = 64) -> list[str]:
    """Writes seedNNNN.png per seed (or grid.png) from a run's latest checkpoint or a .keras file.

    Returns the paths written. Exactly one of workdir and generator_path must be given.
    """
    if bool(workdir) == bool(generator_path):
        raise ConfigError("give exactly one of --workdir (a run directory) and --generator "
                          "(an exported .keras file)")
    if seeds is None:
        if num_images <= 0:
            raise ConfigError(f"--num_images={num_images} is not allowed: it must be greater than 0")
        seeds = range(num_images)
    if generator_path:
        generator = checkpointing.load_generator(generator_path)
        outdir = outdir or "generated"
    else:
        _, generator, _ = checkpointing.load_run_generator(workdir)
        outdir = outdir or rundir.path(workdir, rundir.GENERATED_DIR)
    images = generate(generator, list(seeds), batch_size, report=True)
    os.makedirs(outdir, exist_ok=True)
    if grid:
        path = os.path.join(outdir, "grid.png")
        plots.save_image_grid(images, path)
        return [path]
    paths = []
    for seed, image in zip(seeds, plots.to_uint8(images)):
        path = os.path.join(outdir, f"seed{seed:04d}.png")
        tf.io.write_file(path, tf.io.encode_png(image))
        paths.append(path)
    return paths


def generate(generator, seeds: Sequence[int], batch_size: int = 64,
             report: bool = False) -> np.ndarray:
    """Images in [-1, 1] for the given seeds, in inference mode, batch by batch through one
    compiled function; with report, prints how long it took and the images/s (tracing included)."""
    start = time.perf_counter()
    z = seeded_noise(seeds, generator.latent_dim)
    predict = tf.function(lambda batch: generator(batch, training=False))
    images = np.concatenate([predict(z[i:i + batch_size]).numpy()
                             for i in range(0, len(z), batch_size)])
    if report:
        elapsed = time.perf_counter() - start
        print(f"generated {len(images):,} images in {elapsed:.2f} s "
              f"({len(images) / elapsed:,.1f} images/s, batches of {batch_size})")
    return images
