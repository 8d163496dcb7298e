"""What the explorer page draws, without the page: a generator loaded once, faces by seed.

`Explorer(workdir=RUN)` (or `generator_path=FILE.keras`) loads the generator that
`python -m kerasgan.sample` would use and answers the page's questions with uint8 images:
`face`, `grid`, `interpolation`, `sweep`, and `history_face` for any kept checkpoint. Each goes
through sample_lib's own functions (the same noise, truncation, label draws and compiled
inference call), so a face here is pixel for pixel the one `sample_command` re-makes.

It only reads the run directory: no run lock, nothing written there (the GIFs it makes go to its
own temporary folder), so a run that is still training can be explored. Values from the page
are checked here (seeds, ψ, frames, attribute choices, checkpoint steps) and refused with a
KerasganError whose one-line message the page shows; none is ever used as a file path.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import threading
from typing import Mapping, Optional, Sequence

import numpy as np

from kerasgan import checkpointing, images as images_lib, rundir, sample_lib
from kerasgan.errors import ConfigError, RunError
from kerasgan.noise import check_truncation

MAX_SEED = 2**31 - 1  # what a browser's number box and every NumPy seed handle alike
MAX_GRID = 64
MAX_FRAMES = 64
MAX_SWEEP_ROWS = 16
# An attribute's three choices on the page; "data" draws it as the training faces have it.
ON, OFF, AS_IN_DATA = "on", "off", "data"
ATTRIBUTE_CHOICES = (AS_IN_DATA, ON, OFF)


def check_count(value, low: int, high: int, name: str) -> int:
    """value as an int in [low, high]; ConfigError naming `name` and the range otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number == number and number == int(number) and low <= number <= high):
        raise ConfigError(f"{name} {value} is not allowed: use a whole number from {low:,} to "
                          f"{high:,}")
    return int(number)


def check_seed(seed, name: str = "seed") -> int:
    """seed as an int in [0, MAX_SEED]; ConfigError naming `name` otherwise."""
    return check_count(seed, 0, MAX_SEED, name)


def _seed_range(start, count, most: int, count_name: str) -> list[int]:
    """Seeds start .. start+count-1, each checked: 1 <= count <= most, all within the seed range."""
    start = check_seed(start, "start seed")
    seeds = list(range(start, start + check_count(count, 1, most, count_name)))
    check_seed(seeds[-1], "last seed")
    return seeds


def attribute_request(choices: Optional[Mapping[str, str]], names: Sequence[str]) -> str:
    """The --attributes text for the page's choices ({NAME: "on" | "off" | "data"}): "on" is
    NAME=1, "off" NAME=-1, "data" left out (drawn as in the data). ConfigError for choices made
    of an unconditional generator, an unknown name or an unknown choice."""
    choices = {name: choice for name, choice in (choices or {}).items()
               if choice not in (None, "", AS_IN_DATA)}
    if choices and not names:
        raise ConfigError("this generator is unconditional (trained without "
                          "--conditional_attributes): it takes no attributes")
    parts = []
    for name, choice in choices.items():
        if name not in names:
            raise ConfigError(f"{name} is not among this generator's attributes: "
                              f"{', '.join(names)}")
        if choice not in (ON, OFF):
            raise ConfigError(f"{name}={choice} is not allowed: choose "
                              f"{', '.join(ATTRIBUTE_CHOICES)}")
        parts.append(f"{name}={1 if choice == ON else -1}")
    return ",".join(parts)


def upscale(image: np.ndarray, min_side: int = 256) -> np.ndarray:
    """A uint8 [H, W, 3] image (or [N, H, W, 3] tiles) enlarged by whole-pixel repeats
    (nearest neighbour) to at least min_side, so a 32 px face stays crisp."""
    factor = max(1, -(-min_side // image.shape[-2]))
    return np.repeat(np.repeat(image, factor, axis=-3), factor, axis=-2)


class Explorer:
    """One generator, loaded once, and what the page asks of it.

    Args:
        workdir: a run directory: its latest checkpoint's inference generator (as sample
            --workdir), plus its kept checkpoints, loss plot and progression GIF for the history.
        generator_path: an exported generator (.keras) instead; no history then.
        raw: with workdir, the trained G rather than its moving average (sample --raw_g).
        batch_size: images per forward pass (sample's default).
    """

    def __init__(self, workdir: str = "", generator_path: str = "", raw: bool = False,
                 batch_size: int = 64):
        sample_lib.check_source(workdir, generator_path)
        self.workdir = workdir
        self.generator_path = generator_path
        self.raw = raw
        self.batch_size = batch_size
        if workdir:
            if not os.path.isdir(workdir):
                raise RunError(f"run directory not found: {workdir}")
            self.config, self.generator, path = checkpointing.load_run_generator(workdir, raw)
            self.step = checkpointing.checkpoint_step(path)
        else:
            self.config = None
            self.generator = checkpointing.load_generator(generator_path)
            self.step = None
        self.names = sample_lib.attribute_names_of(self.generator)
        self._history = None  # (config, generator) filled from any kept checkpoint on demand
        self._history_step = None
        self._history_lock = threading.Lock()  # the page may ask from several threads
        self._tempdir = tempfile.mkdtemp(prefix="kerasgan-explore-")
        # Traces the compiled call now, not on the page's first request.
        self.image_size = int(self.face(0).shape[0])

    @property
    def tempdir(self) -> str:
        """The explorer's own folder for the files it makes (GIFs); removed by close()."""
        return self._tempdir

    def close(self) -> None:
        shutil.rmtree(self._tempdir, ignore_errors=True)

    # -- drawing -----------------------------------------------------------------------------

    def _draw(self, generator, seeds: Sequence[int], truncation: float,
              attributes: Optional[Mapping[str, str]]) -> np.ndarray:
        truncation = check_truncation(truncation, "truncation")
        labels = sample_lib.generator_labels(generator, attribute_request(attributes, self.names),
                                             seeds)
        return images_lib.to_uint8(sample_lib.generate(generator, seeds, self.batch_size,
                                                       labels=labels, truncation=truncation))

    def face(self, seed, truncation: float = 1.0,
             attributes: Optional[Mapping[str, str]] = None) -> np.ndarray:
        """uint8 [H, W, 3]: seed's face, as sample --seeds=SEED writes it."""
        return self._draw(self.generator, [check_seed(seed)], truncation, attributes)[0]

    def grid(self, start, count: int = 16, truncation: float = 1.0,
             attributes: Optional[Mapping[str, str]] = None) -> tuple[np.ndarray, list[int]]:
        """(uint8 [count, H, W, 3], the seeds): seeds start .. start+count-1, as sample
        --seeds=START-END draws them (a seed keeps its face whatever the count)."""
        seeds = _seed_range(start, count, MAX_GRID, "grid size")
        return self._draw(self.generator, seeds, truncation, attributes), seeds

    def interpolation(self, seed_a, seed_b, frames: int = 16, truncation: float = 1.0,
                      attributes: Optional[Mapping[str, str]] = None
                      ) -> tuple[np.ndarray, str]:
        """(uint8 [frames, H, W, 3], GIF path): the walk from seed A's face to seed B's, as
        sample --interpolate=A,B --frames=N draws it; the GIF (sample's own) is written in the
        explorer's temporary folder."""
        seeds = (check_seed(seed_a, "seed A"), check_seed(seed_b, "seed B"))
        if seeds[0] == seeds[1]:
            raise ConfigError("the two seeds must differ to interpolate between them")
        frames = check_count(frames, 2, MAX_FRAMES, "frames")
        truncation = check_truncation(truncation, "truncation")
        labels = sample_lib.generator_labels(
            self.generator, attribute_request(attributes, self.names), [seeds[0]])
        tiles = sample_lib.interpolation_tiles(self.generator, seeds, frames, labels, truncation,
                                               self.batch_size)
        # A folder per request, so the file keeps sample's name and earlier downloads stay.
        path = os.path.join(tempfile.mkdtemp(dir=self._tempdir),
                            f"interpolate_{seeds[0]}_{seeds[1]}.gif")
        sample_lib.save_interpolation_gif(tiles, path)
        return tiles, path

    def sweep(self, attribute: str, start, rows: int = 4, truncation: float = 1.0,
              attributes: Optional[Mapping[str, str]] = None) -> np.ndarray:
        """uint8 [2 * rows, H, W, 3]: seeds start .. start+rows-1, each with `attribute` off then
        on, as sample --attribute_sweep=NAME --seeds=... draws them (the others as chosen)."""
        if not self.names:
            raise ConfigError("this generator is unconditional (trained without "
                              "--conditional_attributes): it has no attribute to sweep")
        attribute = sample_lib.check_sweep_attribute(attribute or "", self.names)
        seeds = _seed_range(start, rows, MAX_SWEEP_ROWS, "rows")
        truncation = check_truncation(truncation, "truncation")
        others = dict(attributes or {})
        others.pop(attribute, None)  # the sweep draws it both ways
        request_text = attribute_request(others, self.names)
        request = sample_lib.parse_attribute_request(request_text, self.names) \
            if request_text else {}
        return sample_lib.generator_sweep_tiles(self.generator, attribute, seeds, request,
                                                truncation, self.batch_size)

    # -- the run's history -------------------------------------------------------------------

    def checkpoints(self) -> list[tuple[int, int]]:
        """(step, epoch) of each checkpoint the run keeps now, oldest first; read afresh each
        call ([] for a .keras file). A checkpoint deleted since the listing is left out."""
        if not self.workdir:
            return []
        kept = []
        for step, path in checkpointing.kept_checkpoints(self.workdir):
            try:
                kept.append((step, checkpointing.read_counters(path)[1]))
            except Exception:  # deleted or half-written between listing and reading
                continue
        return kept

    def history_face(self, seed, step, truncation: float = 1.0,
                     attributes: Optional[Mapping[str, str]] = None) -> np.ndarray:
        """uint8 [H, W, 3]: seed's face drawn by the run's kept checkpoint of `step`, as sample
        --checkpoint=STEP draws it. One generator is kept for the history and refilled from the
        chosen checkpoint, so choosing costs one restore, not a new trace."""
        if not self.workdir:
            raise ConfigError("a .keras file has no history: explore a run directory "
                              "(--workdir) to see its checkpoints")
        try:
            step = int(step)
        except (TypeError, ValueError):
            raise ConfigError(f"checkpoint {step!r} is not allowed: choose one of the run's "
                              "kept checkpoints") from None
        seed = check_seed(seed)
        with self._history_lock:
            if self._history_step != step:
                path = checkpointing.kept_checkpoint_path(self.workdir, step)
                if self._history is None:
                    self._history = checkpointing.build_run_generator(self.workdir)
                self._history_step = None
                checkpointing.restore_generator(self._history[1], self._history[0], path,
                                                self.raw)
                self._history_step = step
            return self._draw(self._history[1], [seed], truncation, attributes)[0]

    def history_files(self) -> dict[str, Optional[str]]:
        """The run's loss plot and progression GIF, copied into the explorer's own folder (the
        page never serves from the run directory); None for one not written yet."""
        found: dict[str, Optional[str]] = {"losses": None, "progression": None}
        if not self.workdir:
            return found
        for key, name in (("losses", "losses.png"), ("progression", "progression.gif")):
            source = rundir.path(self.workdir, rundir.PLOTS_DIR, name)
            target = os.path.join(self._tempdir, name)
            try:
                shutil.copyfile(source, target + ".tmp")
                os.replace(target + ".tmp", target)
            except OSError:
                continue
            found[key] = target
        return found

    # -- the command that re-makes a picture ------------------------------------------------------

    def sample_command(self, seed, truncation: float = 1.0,
                       attributes: Optional[Mapping[str, str]] = None,
                       step: Optional[int] = None) -> str:
        """The `python -m kerasgan.sample ...` line that writes this face (seedNNNN.png)."""
        parts = ["python", "-m", "kerasgan.sample"]
        parts.append(f"--workdir={self.workdir}" if self.workdir
                     else f"--generator={self.generator_path}")
        parts.append(f"--seeds={check_seed(seed)}")
        truncation = check_truncation(truncation, "truncation")
        if truncation != 1.0:
            parts.append(f"--truncation={truncation:g}")
        request = attribute_request(attributes, self.names)
        if request:
            parts.append(f"--attributes={request}")
        if step is not None:
            parts.append(f"--checkpoint={int(step)}")
        if self.raw:
            parts.append("--raw_g")
        return " ".join(shlex.quote(part) for part in parts)

    def describe(self) -> str:
        """One line: what is being explored."""
        source = (f"{self.workdir}, checkpoint of step {self.step:,}" if self.workdir
                  else self.generator_path)
        kind = (f"conditional on {', '.join(self.names)}" if self.names else "unconditional")
        which = "G" if self.raw or (self.config is not None and not self.config.g_ema) \
            else "G's average" if self.config is not None else "exported generator"
        return f"{source}: {self.image_size} px, {kind}, {which}"
