"""The sample command's values, checked without TensorFlow: seeds, the interpolation's two seeds
and frame count, and the choice of generator.

TensorFlow takes seconds to import (ten on a slow 2-core machine), so `python -m kerasgan.sample`
refuses a mistyped value with these before it loads; sample_lib (which needs TensorFlow) uses
the same functions.
"""

from __future__ import annotations

import re
from typing import Optional

from kerasgan.errors import ConfigError

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


def check_source(workdir: str, generator_path: str) -> None:
    """ConfigError unless exactly one of a run directory and a .keras file is given."""
    if bool(workdir) == bool(generator_path):
        raise ConfigError("give exactly one of --workdir (a run directory) and --generator "
                          "(an exported .keras file)")


def check_best(best: bool, checkpoint: Optional[int] = None, generator_path: str = "",
               raw: bool = False) -> None:
    """ConfigError, one line, when --best (a run's generator_best.keras) is given with another
    choice of generator: --checkpoint, --generator or --raw_g."""
    if not best:
        return
    for flag, given in (("--checkpoint", checkpoint is not None), ("--generator", generator_path),
                        ("--raw_g", raw)):
        if given:
            raise ConfigError(f"--best and {flag} each pick a generator: give one of them "
                              "(--best is the run's generator_best.keras)")
