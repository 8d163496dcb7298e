"""Drawing images from a trained generator by seed: parse seeds, generate, write PNGs or a grid;
walk between two seeds' noise vectors (slerp) into a strip and a GIF.

A conditional generator (one with attribute_names) also takes labels: attributes asked for on the
command line (--attributes=Smiling=1,Eyeglasses=-1) are set, the others drawn per seed as the
training faces that have the asked values have them (labels.draw_labels); an attribute sweep
draws each seed twice, the attribute off then on. An unconditional generator is sampled exactly
as before.
"""

from __future__ import annotations

import os
import time
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from kerasgan import checkpointing, images as images_lib, inference, rundir
from kerasgan.errors import ConfigError, RunError
from kerasgan.labels import draw_labels, matching_share
from kerasgan.noise import check_truncation, seeded_truncated_noise
from kerasgan.sample_args import (MAX_FRAMES, check_best, check_frames,  # noqa: F401 (its API)
                                  check_source, parse_interpolate, parse_seeds)


def sample(workdir: str = "", generator_path: str = "", num_images: int = 16,
           seeds: Optional[Sequence[int]] = None, grid: bool = False, outdir: str = "",
           batch_size: int = 64, raw: bool = False, attributes: str = "",
           truncation: float = 1.0, checkpoint: Optional[int] = None,
           best: bool = False) -> list[str]:
    """Writes seedNNNN.png per seed (or grid.png) from a run's latest checkpoint or a .keras file.

    A run is sampled through its inference generator (G's moving average when it keeps one), or
    G itself with raw. Returns the paths written. Exactly one of workdir and generator_path must
    be given. attributes ("Smiling=1,Eyeglasses=-1", conditional generators only) sets those
    attributes for every seed; a conditional generator draws the rest (all, without it) from the
    training data's frequencies. truncation ψ (noise.truncate) pulls each seed's noise toward
    the mean; checkpoint (a kept checkpoint's step) samples that one instead of the latest, best
    the run's generator_best.keras (a --holdout run's best evaluation on held-out images).
    """
    check_source(workdir, generator_path)
    check_truncation(truncation)
    seeds = list(_seeds_or_range(seeds, num_images))
    generator, outdir = _load(workdir, generator_path, outdir, raw, checkpoint, best)
    labels = generator_labels(generator, attributes, seeds)
    images = generate(generator, seeds, batch_size, report=True, labels=labels,
                      truncation=truncation)
    if grid:
        path = os.path.join(outdir, "grid.png")
        images_lib.save_image_grid(images, path)
        return [path]
    paths = []
    for seed, image in zip(seeds, images_lib.to_uint8(images)):
        path = os.path.join(outdir, f"seed{seed:04d}.png")
        tf.io.write_file(path, tf.io.encode_png(image))
        paths.append(path)
    return paths


def _seeds_or_range(seeds: Optional[Sequence[int]], num_images: int) -> Sequence[int]:
    if seeds is not None:
        return seeds
    if num_images <= 0:
        raise ConfigError(f"--num_images={num_images} is not allowed: it must be greater than 0")
    return range(num_images)


def _load(workdir: str, generator_path: str, outdir: str, raw: bool = False,
          checkpoint: Optional[int] = None, best: bool = False):
    """(generator, output folder): a run's latest checkpoint, or the kept one of step
    `checkpoint` (its inference generator, or G with raw), or its generator_best.keras (best),
    or an exported .keras file; the folder (default RUN/generated or ./generated) is created."""
    check_best(best, checkpoint, generator_path, raw)
    if best:
        _, generator, _ = checkpointing.load_best_generator(workdir)
        outdir = outdir or rundir.path(workdir, rundir.GENERATED_DIR)
    elif generator_path:
        if checkpoint is not None:
            raise ConfigError("--checkpoint picks one of a run's checkpoints: give --workdir, "
                              "not --generator")
        generator = checkpointing.load_generator(generator_path)
        outdir = outdir or "generated"
    else:
        _, generator, _ = checkpointing.load_run_generator(workdir, raw=raw, step=checkpoint)
        outdir = outdir or rundir.path(workdir, rundir.GENERATED_DIR)
    os.makedirs(outdir, exist_ok=True)
    return generator, outdir


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
                raw: bool = False, attributes: str = "", truncation: float = 1.0,
                checkpoint: Optional[int] = None, best: bool = False) -> list[str]:
    """Writes interpolate_A_B.png (the frames in one row) and interpolate_A_B.gif (frames images,
    100 ms each, looping) for the slerp between seeds A and B's noise; returns both paths.

    A conditional generator keeps seed A's labels (attributes as in sample) along the walk."""
    check_source(workdir, generator_path)
    check_frames(frames)
    check_truncation(truncation)
    generator, outdir = _load(workdir, generator_path, outdir, raw, checkpoint, best)
    labels = generator_labels(generator, attributes, [seeds[0]])
    tiles = interpolation_tiles(generator, seeds, frames, labels, truncation, batch_size)
    stem = os.path.join(outdir, f"interpolate_{seeds[0]}_{seeds[1]}")
    images_lib.save_image_grid(tiles, stem + ".png", ncols=frames)
    save_interpolation_gif(tiles, stem + ".gif")
    return [stem + ".png", stem + ".gif"]


def interpolation_tiles(generator, seeds: tuple[int, int], frames: int,
                        labels: Optional[np.ndarray] = None, truncation: float = 1.0,
                        batch_size: int = 64) -> np.ndarray:
    """uint8 [frames, H, W, 3]: the faces along the slerp from seed A's (truncated) noise to seed
    B's, both ends included; labels [1, A] (a conditional generator's) are kept along the walk.
    Truncation scales both ends, and slerp(ψ a, ψ b) = ψ slerp(a, b)."""
    z0, z1 = seeded_truncated_noise(seeds, generator.latent_dim, truncation)
    z = slerp(z0, z1, np.linspace(0.0, 1.0, frames)).astype(np.float32)
    if labels is not None:
        labels = np.repeat(labels, frames, axis=0)
    return images_lib.to_uint8(_generate_z(generator, z, batch_size, labels))


def save_interpolation_gif(tiles: np.ndarray, path: str) -> None:
    """The frames as a looping GIF, 100 ms each, tiles enlarged to at least 128 px."""
    images_lib.save_gif(list(images_lib.resize_tiles(tiles, min_side=128)), path, frame_ms=100)


def generate(generator, seeds: Sequence[int], batch_size: int = 64,
             report: bool = False, labels: Optional[np.ndarray] = None,
             truncation: float = 1.0) -> np.ndarray:
    """Images in [-1, 1] for the given seeds, in inference mode (inference.generate: compiled
    once per generator); with report, prints how long it took and the images/s (the first call
    of a generator includes its tracing). labels [len(seeds), A]: a conditional generator's;
    truncation: ψ of noise.truncate (1 leaves the noise as drawn)."""
    start = time.perf_counter()
    z = seeded_truncated_noise(seeds, generator.latent_dim, truncation)
    images = _generate_z(generator, z, batch_size, labels)
    if report:
        elapsed = time.perf_counter() - start
        print(f"generated {len(images):,} images in {elapsed:.2f} s "
              f"({len(images) / elapsed:,.1f} images/s, batches of {batch_size})")
    return images


def _generate_z(generator, z: np.ndarray, batch_size: int,
                labels: Optional[np.ndarray]) -> np.ndarray:
    """inference.generate, with the labels only for a conditional generator."""
    if labels is None:
        return inference.generate(generator, z, batch_size)
    return inference.generate(generator, z, batch_size, labels=labels)


# ---------------------------------------------------------------------------------------------
# Attributes on request (conditional generators).

def attribute_names_of(generator) -> tuple[str, ...]:
    """The attributes a conditional generator was trained on; () for an unconditional one."""
    return tuple(str(name) for name in (getattr(generator, "attribute_names", ()) or ()))


def attribute_frequencies_of(generator) -> np.ndarray:
    """float32 [A]: the share of the training faces with each of the generator's attributes."""
    names = attribute_names_of(generator)
    shares = np.asarray(getattr(generator, "attribute_frequencies", ()) or (), np.float32)
    if shares.shape != (len(names),):
        raise RunError(f"the generator has {len(names)} attribute(s) but {shares.size} attribute "
                       "frequencies: it was saved incompletely")
    return shares


def attribute_combinations_of(generator) -> tuple[tuple[str, float], ...]:
    """The attribute combinations of the training faces a conditional generator keeps, with
    their shares; () for one saved without them (its labels are drawn attribute by attribute)."""
    return tuple(getattr(generator, "attribute_combinations", ()) or ())


def _unconditional(flag: str, text: str) -> ConfigError:
    return ConfigError(f"--{flag}={text} is not allowed: this generator is unconditional (it "
                       "was trained without --conditional_attributes)")


def _canonical_names(flag: str, text: str, asked: Sequence[str],
                     names: Sequence[str]) -> list[str]:
    """The generator's spelling of each asked name (case aside); ConfigError listing the
    unknown ones and the generator's attributes."""
    by_lower = {name.lower(): name for name in names}
    unknown = [name for name in asked if name.lower() not in by_lower]
    if unknown:
        raise ConfigError(f"--{flag}={text} is not allowed: {', '.join(unknown)} "
                          f"{'is' if len(unknown) == 1 else 'are'} not among this generator's "
                          f"attributes: {', '.join(names)}")
    return [by_lower[name.lower()] for name in asked]


def parse_attribute_request(text: str, names: Sequence[str]) -> dict[str, float]:
    """"Smiling=1,Eyeglasses=-1" -> {"Smiling": 1.0, "Eyeglasses": 0.0}: label values (1 = has
    it) for attributes written as CelebA does (1 has it, -1 has it not; 0 is also taken as not).

    Names are matched without regard to case and returned as the generator spells them.
    ConfigError naming --attributes for an unconditional generator (names empty), an unknown
    name (listing the generator's attributes), a repeated name or anything else.
    """
    if not names:
        raise _unconditional("attributes", text)
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    pairs = [tuple(item.strip() for item in part.split("=", 1)) for part in parts]
    if not pairs or any(len(pair) != 2 or not pair[0] or pair[1] not in ("1", "+1", "-1", "0")
                        for pair in pairs):
        raise ConfigError(f"--attributes={text} is not allowed: write NAME=1 (has it) or "
                          "NAME=-1 (has it not), comma-separated, e.g. Smiling=1,Eyeglasses=-1")
    canonical = _canonical_names("attributes", text, [pair[0] for pair in pairs], names)
    repeated = sorted({name for name in canonical if canonical.count(name) > 1})
    if repeated:
        raise ConfigError(f"--attributes={text} is not allowed: {', '.join(repeated)} is given "
                          "more than once")
    return {name: 1.0 if value in ("1", "+1") else 0.0
            for name, (_, value) in zip(canonical, pairs)}


def check_sweep_attribute(text: str, names: Sequence[str]) -> str:
    """The generator's spelling of the one attribute --attribute_sweep names; ConfigError for an
    unconditional generator, an unknown name (listing the attributes) or more than one name."""
    if not names:
        raise _unconditional("attribute_sweep", text)
    name = str(text).strip()
    if not name or "," in name or "=" in name:
        raise ConfigError(f"--attribute_sweep={text} is not allowed: name one attribute, e.g. "
                          f"--attribute_sweep={names[0]}")
    return _canonical_names("attribute_sweep", text, [name], names)[0]


def request_labels(request: dict[str, float], names: Sequence[str],
                   frequencies: Sequence[float], seeds: Sequence[int],
                   combinations=()) -> np.ndarray:
    """float32 [len(seeds), A] 0/1: the requested attributes set, the others drawn per seed
    (labels.draw_labels: a seed keeps its draw however many seeds are asked) from the training
    faces' combinations that have the requested values, so that they come as they do in the
    data; from the frequencies one by one when there are no combinations, or when no training
    face has the requested values (then a note says so)."""
    names = list(names)
    unknown = sorted(set(request) - set(names))
    if unknown or len(np.ravel(frequencies)) != len(names):
        raise ValueError(f"request {sorted(request)} and {len(np.ravel(frequencies))} "
                         f"frequencies do not fit the attributes {names}")
    asked = {names.index(name): value for name, value in request.items()}
    if combinations and asked and not matching_share(combinations, asked):
        wanted = ", ".join(f"{name}={1 if value else -1}" for name, value in request.items())
        print(f"note: no training face has {wanted}; the other attributes are drawn one by one "
              "from their shares")
    return draw_labels(frequencies, seeds, combinations, asked)


def sweep_labels(attribute: str, names: Sequence[str], frequencies: Sequence[float],
                 seeds: Sequence[int], request: Optional[dict[str, float]] = None,
                 combinations=()) -> np.ndarray:
    """float32 [2 * len(seeds), A]: per seed two rows, equal but for `attribute`, 0 then 1; the
    other attributes as request_labels gives them for the request with the attribute on (so a
    Black_Hair row is never also Blond_Hair). The row order of a grid with two columns: each grid
    row one seed, the attribute off on the left, on the right."""
    request = dict(request or {})
    if attribute in request:
        raise ConfigError(f"--attribute_sweep={attribute} is not allowed with "
                          f"--attributes={attribute}=...: the sweep draws it both off and on")
    rows = np.repeat(request_labels({**request, attribute: 1.0}, names, frequencies, seeds,
                                    combinations), 2, axis=0)
    column = list(names).index(attribute)
    rows[0::2, column], rows[1::2, column] = 0.0, 1.0
    return rows


def generator_labels(generator, attributes: str, seeds: Sequence[int]) -> Optional[np.ndarray]:
    """The labels to draw `seeds` with: None for an unconditional generator (ConfigError when
    attributes are asked of it), else request_labels of the parsed --attributes."""
    names = attribute_names_of(generator)
    if not names and not attributes:
        return None
    request = parse_attribute_request(attributes, names) if attributes else {}
    return request_labels(request, names, attribute_frequencies_of(generator), seeds,
                          attribute_combinations_of(generator))


def sweep_tiles(generate_fn, latent_dim: int, attribute: str, names: Sequence[str],
                frequencies: Sequence[float], seeds: Sequence[int],
                request: Optional[dict[str, float]] = None, combinations=(),
                truncation: float = 1.0) -> np.ndarray:
    """uint8 [2 * len(seeds), H, W, 3]: per seed, the seed's (truncated) noise and other
    attributes (sweep_labels) with `attribute` off, then on. generate_fn(z, labels) -> images in
    [-1, 1]."""
    z = np.repeat(seeded_truncated_noise(seeds, latent_dim, truncation), 2, axis=0)
    return images_lib.to_uint8(generate_fn(z, sweep_labels(attribute, names, frequencies, seeds,
                                                           request, combinations)))


def write_sweep(generate_fn, latent_dim: int, attribute: str, names: Sequence[str],
                frequencies: Sequence[float], seeds: Sequence[int], path: str,
                request: Optional[dict[str, float]] = None, combinations=(),
                truncation: float = 1.0) -> np.ndarray:
    """Writes the sweep grid of `attribute` to path and returns its tiles (sweep_tiles).

    The grid has one row per seed and two columns, the attribute off (left) and on (right); the
    layout is stored in the PNG (images.load_grid_tiles cuts it back)."""
    tiles = sweep_tiles(generate_fn, latent_dim, attribute, names, frequencies, seeds, request,
                        combinations, truncation)
    images_lib.save_image_grid(tiles, path, ncols=2)
    return tiles


def attribute_sweep(attribute: str, attributes: str = "", workdir: str = "",
                    generator_path: str = "", num_rows: int = 8,
                    seeds: Optional[Sequence[int]] = None, outdir: str = "",
                    batch_size: int = 64, raw: bool = False, truncation: float = 1.0,
                    checkpoint: Optional[int] = None, best: bool = False) -> list[str]:
    """Writes sweep_NAME.png (generator_sweep_tiles) for a conditional generator: rows are the
    seeds (or 0 .. num_rows-1), the left column without the attribute, the right with it;
    attributes ("Eyeglasses=-1") fixes others for every row. Returns [the path]."""
    check_source(workdir, generator_path)
    check_truncation(truncation)
    seeds = list(_seeds_or_range(seeds, num_rows))
    generator, outdir = _load(workdir, generator_path, outdir, raw, checkpoint, best)
    names = attribute_names_of(generator)
    attribute = check_sweep_attribute(attribute, names)
    request = parse_attribute_request(attributes, names) if attributes else {}
    path = os.path.join(outdir, f"sweep_{attribute}.png")
    tiles = generator_sweep_tiles(generator, attribute, seeds, request, truncation, batch_size)
    images_lib.save_image_grid(tiles, path, ncols=2)
    return [path]


def generator_sweep_tiles(generator, attribute: str, seeds: Sequence[int],
                          request: Optional[dict[str, float]] = None, truncation: float = 1.0,
                          batch_size: int = 64) -> np.ndarray:
    """sweep_tiles of a conditional generator with its own attributes, shares and combinations:
    what attribute_sweep writes (the explorer shows the same tiles)."""
    return sweep_tiles(lambda z, labels: _generate_z(generator, z, batch_size, labels),
                       generator.latent_dim, attribute, attribute_names_of(generator),
                       attribute_frequencies_of(generator), seeds, request,
                       attribute_combinations_of(generator), truncation)
