"""Drawing images from a trained generator by seed: parse seeds, generate, write PNGs or a grid;
walk between two seeds' noise vectors (slerp) into a strip and a GIF."""

from __future__ import annotations

import os
import re
import time
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from kerasgan import checkpointing, images as images_lib, inference, plots
from kerasgan.errors import ConfigError
from kerasgan.gan import seeded_noise

_SEEDS = re.compile(r"^\d+(-\d+)?$")
MAX_FRAMES = 256


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
           batch_size: int = 64, raw: bool = False) -> list[str]:
    """Writes seedNNNN.png per seed (or grid.png) from a run's latest checkpoint or a .keras file.

    A run is sampled through its inference generator (G's moving average when it keeps one), or
    G itself with raw. Returns the paths written. Exactly one of workdir and generator_path must
    be given.
    """
    _check_source(workdir, generator_path)
    if seeds is None:
        if num_images <= 0:
            raise ConfigError(f"--num_images={num_images} is not allowed: it must be greater than 0")
        seeds = range(num_images)
    generator, outdir = _load(workdir, generator_path, outdir, raw)
    images = generate(generator, list(seeds), batch_size, report=True)
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


def _check_source(workdir: str, generator_path: str) -> None:
    if bool(workdir) == bool(generator_path):
        raise ConfigError("give exactly one of --workdir (a run directory) and --generator "
                          "(an exported .keras file)")


def _load(workdir: str, generator_path: str, outdir: str, raw: bool = False):
    """(generator, output folder): a run's latest checkpoint (its inference generator, or G with
    raw) or an exported .keras file; the folder (default RUN/generated or ./generated) is
    created."""
    if generator_path:
        generator = checkpointing.load_generator(generator_path)
        outdir = outdir or "generated"
    else:
        _, generator, _ = checkpointing.load_run_generator(workdir, raw=raw)
        outdir = outdir or os.path.join(workdir, "generated")
    os.makedirs(outdir, exist_ok=True)
    return generator, outdir


def parse_interpolate(text: str) -> tuple[int, int]:
    """"3,7" -> (3, 7): two different seeds; ConfigError naming --interpolate on anything else."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise ConfigError(f"--interpolate={text} is not allowed: give two seeds, e.g. "
                          "--interpolate=3,7")
    first, second = int(parts[0]), int(parts[1])
    if first == second:
        raise ConfigError(f"--interpolate={text} is not allowed: the two seeds must differ")
    return first, second


def check_frames(frames: int) -> int:
    """frames itself when 2 <= frames <= MAX_FRAMES; ConfigError naming --frames otherwise."""
    if not 2 <= frames <= MAX_FRAMES:
        raise ConfigError(f"--frames={frames} is not allowed: use 2 to {MAX_FRAMES} (both "
                          "seeds' images are frames)")
    return frames


def slerp(z0, z1, t) -> np.ndarray:
    """Spherical linear interpolation (Shoemake 1985; for GAN noise, White 2016) from z0 (t=0) to
    z1 (t=1): sin((1-t)w)/sin(w) z0 + sin(tw)/sin(w) z1, w the angle between them. t is a
    number or an array (result [len(t), d]); between vectors of equal norm the norm stays put.

    Gaussian noise lives near a sphere, so this keeps intermediate z typical where a straight
    line would pass through the low-norm middle. (Anti)parallel vectors fall back to a line.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, np.float64)[..., None]
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    omega = np.arccos(np.clip(np.dot(z0, z1) / max(norms, 1e-300), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1.0 - t) * z0 + t * z1
    return (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def interpolate(seeds: tuple[int, int], frames: int = 16, workdir: str = "",
                generator_path: str = "", outdir: str = "", batch_size: int = 64,
                raw: bool = False) -> list[str]:
    """Writes interpolate_A_B.png (the frames in one row) and interpolate_A_B.gif (frames images,
    100 ms each, looping) for the slerp between seeds A and B's noise; returns both paths."""
    _check_source(workdir, generator_path)
    check_frames(frames)
    generator, outdir = _load(workdir, generator_path, outdir, raw)
    z0, z1 = seeded_noise(seeds, generator.latent_dim)
    z = slerp(z0, z1, np.linspace(0.0, 1.0, frames)).astype(np.float32)
    tiles = plots.to_uint8(inference.generate(generator, z, batch_size))
    stem = os.path.join(outdir, f"interpolate_{seeds[0]}_{seeds[1]}")
    images_lib.save_image_grid(tiles, stem + ".png", ncols=frames)
    images_lib.save_gif(list(images_lib.resize_tiles(tiles, min_side=128)), stem + ".gif",
                        frame_ms=100)
    return [stem + ".png", stem + ".gif"]


def generate(generator, seeds: Sequence[int], batch_size: int = 64,
             report: bool = False) -> np.ndarray:
    """Images in [-1, 1] for the given seeds, in inference mode (inference.generate: compiled
    once per generator); with report, prints how long it took and the images/s (the first call
    of a generator includes its tracing)."""
    start = time.perf_counter()
    images = inference.generate(generator, seeded_noise(seeds, generator.latent_dim), batch_size)
    if report:
        elapsed = time.perf_counter() - start
        print(f"generated {len(images):,} images in {elapsed:.2f} s "
              f"({len(images) / elapsed:,.1f} images/s, batches of {batch_size})")
    return images
