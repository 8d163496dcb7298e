"""Pictures of a run: image grids, loss curves, discriminator-output histograms, progression strip.

Everything here reads or writes files in the run directory and nothing else, so it works the same
during training and afterwards (`python -m kerasgan.plots --workdir=RUN` redraws from the files).
Every file is written atomically: a reader never sees half a PNG or half a CSV.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import os
import re
import struct
import zlib
from typing import Any, Iterable, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kerasgan import cli, rundir  # noqa: E402
from kerasgan.errors import RunError  # noqa: E402
from kerasgan.fileio import write_atomic  # noqa: E402

GRID_PADDING = 2
GRID_PAD_VALUE = 0
# The grid layout travels inside the PNG (a standard tEXt chunk) so progression.png can cut the
# tiles back out of any saved grid, whatever its tile size or column count.
_GRID_KEY = b"kerasgan:grid"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EPOCH_FILE = re.compile(r"epoch_(\d+)\.png$")


# ---------------------------------------------------------------------------------------------
# Files.

def parse_value(text: str) -> int | float | str | None:
    """A CSV cell back as a number: int when it looks like one, float otherwise, None if blank."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_history(path: str) -> list[dict[str, Any]]:
    """The rows of a history.csv, with numbers parsed back (blank cells are None)."""
    with open(path, newline="", encoding="utf-8") as file:
        return [{key: parse_value(value or "") for key, value in row.items()}
                for row in csv.DictReader(file)]


# ---------------------------------------------------------------------------------------------
# Image grids.

def to_uint8(images: Any) -> np.ndarray:
    """NHWC images as uint8 with 3 channels; floats are taken to be in [-1, 1]."""
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(f"expected a non-empty NHWC batch of images, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.nan_to_num(array.astype(np.float32), nan=0.0)
        array = np.clip(np.round((array + 1.0) * 127.5), 0, 255).astype(np.uint8)
    channels = array.shape[-1]
    if channels == 1:
        array = np.repeat(array, 3, axis=-1)
    elif channels == 4:
        array = array[..., :3]
    elif channels != 3:
        raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")
    return array


def grid_columns(count: int) -> int:
    """The default column count: the smallest square that holds `count` tiles."""
    return max(1, math.ceil(math.sqrt(count)))


def image_grid(images: Any, ncols: int | None = None) -> np.ndarray:
    """Tiles a batch into one uint8 HxWx3 image, GRID_PADDING pixels around and between tiles."""
    tiles = to_uint8(images)
    count, height, width, _ = tiles.shape
    ncols = min(ncols or grid_columns(count), count)
    nrows = math.ceil(count / ncols)
    pad = GRID_PADDING
    grid = np.full((pad + nrows * (height + pad), pad + ncols * (width + pad), 3),
                   GRID_PAD_VALUE, dtype=np.uint8)
    for index, tile in enumerate(tiles):
        top = pad + (index // ncols) * (height + pad)
        left = pad + (index % ncols) * (width + pad)
        grid[top:top + height, left:left + width] = tile
    return grid


def save_image_grid(images: Any, path: str, ncols: int | None = None) -> None:
    """Saves image_grid(images) as a PNG that remembers its layout (see load_grid_tiles)."""
    tiles = to_uint8(images)
    count, height, width, _ = tiles.shape
    ncols = min(ncols or grid_columns(count), count)
    png = tf.io.encode_png(image_grid(tiles, ncols)).numpy()
    layout = {"count": count, "ncols": ncols, "tile_height": height, "tile_width": width,
              "padding": GRID_PADDING}
    write_atomic(path, _with_text_chunk(png, _GRID_KEY, json.dumps(layout).encode("latin-1")))


def load_grid_tiles(path: str) -> np.ndarray:
    """Cuts a grid PNG written by save_image_grid back into its NHWC uint8 tiles."""
    with open(path, "rb") as file:
        png = file.read()
    grid = tf.io.decode_png(png, channels=3).numpy()
    text = _read_text_chunk(png, _GRID_KEY)
    layout = json.loads(text) if text is not None else _guess_layout(grid)
    pad, height, width = layout["padding"], layout["tile_height"], layout["tile_width"]
    ncols = layout["ncols"]
    tiles = []
    for index in range(layout["count"]):
        top = pad + (index // ncols) * (height + pad)
        left = pad + (index % ncols) * (width + pad)
        tiles.append(grid[top:top + height, left:left + width])
    return np.stack(tiles)


def _with_text_chunk(png: bytes, key: bytes, text: bytes) -> bytes:
    body = key + b"\0" + text
    chunk = (struct.pack(">I", len(body)) + b"tEXt" + body
             + struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF))
    end_of_header = len(_PNG_SIGNATURE) + 8 + 13 + 4
    return png[:end_of_header] + chunk + png[end_of_header:]


def _read_text_chunk(png: bytes, key: bytes) -> str | None:
    offset = len(_PNG_SIGNATURE)
    while offset + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        if kind == b"IDAT":
            return None
        body = png[offset + 8:offset + 8 + length]
        if kind == b"tEXt" and body.startswith(key + b"\0"):
            return body[len(key) + 1:].decode("latin-1")
        offset += 12 + length
    return None


def _guess_layout(grid: np.ndarray) -> dict[str, int]:
    """For grids saved elsewhere: the smallest square tile whose padding lines are all padding.

    Smaller candidates would put padding lines through real tiles, which are rarely all padding.
    """
    pad = GRID_PADDING
    rows_h, cols_w = grid.shape[0] - pad, grid.shape[1] - pad
    for side in range(2, min(rows_h, cols_w) - pad + 1):
        step = side + pad
        if rows_h % step or cols_w % step:
            continue
        lines_r = np.concatenate([np.arange(r, r + pad) for r in range(0, grid.shape[0], step)])
        lines_c = np.concatenate([np.arange(c, c + pad) for c in range(0, grid.shape[1], step)])
        if (grid[lines_r] == GRID_PAD_VALUE).all() and (grid[:, lines_c] == GRID_PAD_VALUE).all():
            ncols, nrows = cols_w // step, rows_h // step
            return {"count": ncols * nrows, "ncols": ncols, "tile_height": side,
                    "tile_width": side, "padding": pad}
    return {"count": 1, "ncols": 1, "tile_height": grid.shape[0], "tile_width": grid.shape[1],
            "padding": 0}


# ---------------------------------------------------------------------------------------------
# Plots. Figures are built without pyplot, so nothing global is left open between epochs.

D_COLOR, G_COLOR = "tab:blue", "tab:orange"


def save_figure(figure: Figure, path: str, dpi: int = 100) -> None:
    """Renders `figure` as PNG into memory, then writes it atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    write_atomic(path, buffer.getvalue())


def smooth(values: Sequence[float], weight: float) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard's smoothing); NaNs are skipped."""
    out = np.full(len(values), np.nan)
    mean, norm = 0.0, 0.0
    for index, value in enumerate(values):
        if np.isfinite(value):
            mean = weight * mean + (1.0 - weight) * value
            norm = weight * norm + (1.0 - weight)
        if norm > 0:
            out[index] = mean / norm
    return out


def smoothing_weight(count: int) -> float:
    """More smoothing for longer runs: none under 10 points, at most 0.98."""
    return min(0.98, max(0.0, 1.0 - 10.0 / max(count, 1)))


def _column(rows: Sequence[dict[str, Any]], name: str) -> np.ndarray:
    return np.array([np.nan if row.get(name) is None else float(row[name]) for row in rows])


def _epoch_means(rows: Sequence[dict[str, Any]], name: str) -> tuple[list[int], list[float]]:
    by_epoch: dict[int, list[float]] = {}
    for row in rows:
        value = row.get(name)
        if row.get("epoch") is not None and value is not None and math.isfinite(value):
            by_epoch.setdefault(int(row["epoch"]), []).append(float(value))
    epochs = sorted(by_epoch)
    return epochs, [float(np.mean(by_epoch[epoch])) for epoch in epochs]


def plot_losses(history_rows: Sequence[dict[str, Any]], path: str) -> None:
    """D and G loss per step (raw, faint, and smoothed) and their per-epoch means, side by side."""
    rows = [row for row in history_rows if row.get("step") is not None]
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    per_step, per_epoch = figure.subplots(1, 2)
    steps = _column(rows, "step")
    for name, label, color in (("d_loss", "D", D_COLOR), ("g_loss", "G", G_COLOR)):
        values = _column(rows, name)
        per_step.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
        per_step.plot(steps, smooth(values, smoothing_weight(len(values))), color=color,
                      label=f"{label} loss (smoothed)")
        epochs, means = _epoch_means(rows, name)
        per_epoch.plot(epochs, means, color=color, marker="o", markersize=3,
                       label=f"{label} loss")
    per_step.set(title="Loss per step", xlabel="step", ylabel="loss")
    per_epoch.set(title="Mean loss per epoch", xlabel="epoch", ylabel="loss")
    for axes in (per_step, per_epoch):
        axes.grid(alpha=0.3)
        if rows:
            axes.legend()
        else:
            axes.text(0.5, 0.5, "no history rows yet", ha="center", transform=axes.transAxes)
    save_figure(figure, path)


def save_d_outputs(real_probs: Any, fake_probs: Any, epoch: int, workdir: str) -> str:
    """Keeps an epoch's D outputs (a few KB) under plots/ so `redraw` can rebuild its histogram."""
    buffer = io.BytesIO()
    np.savez(buffer, real=np.asarray(real_probs, np.float32), fake=np.asarray(fake_probs, np.float32))
    path = rundir.d_outputs_path(workdir, epoch)
    write_atomic(path, buffer.getvalue())
    return path


def plot_d_output_hist(real_probs: Any, fake_probs: Any, epoch: int, path: str) -> None:
    """Overlaid histograms of D's probability on real and on generated images, bins in [0, 1]."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    bins = np.linspace(0.0, 1.0, 41)
    for values, label, color in ((real_probs, "real", D_COLOR), (fake_probs, "generated", G_COLOR)):
        array = np.asarray(values, np.float64).ravel()
        array = np.clip(array[np.isfinite(array)], 0.0, 1.0)
        mean = f"{array.mean():.3f}" if array.size else "n/a"
        axes.hist(array, bins=bins, alpha=0.55, color=color, label=f"{label} (mean {mean})")
    axes.set(xlim=(0.0, 1.0), xlabel="D(x): probability the discriminator says real",
             ylabel="images", title=f"Discriminator output, epoch {epoch}")
    axes.legend()
    save_figure(figure, path)


def epoch_of(path: str) -> int | None:
    """The epoch number in a samples/epoch_NNNN.png name, None for other names."""
    match = _EPOCH_FILE.search(os.path.basename(path))
    return int(match.group(1)) if match else None


def choose_evenly(count: int, max_items: int) -> list[int]:
    """At most max_items indices into range(count), evenly spaced, first and last included."""
    if count <= 0 or max_items <= 0:
        return []
    return sorted({int(i) for i in np.round(np.linspace(0, count - 1, min(count, max_items)))})


def progression_picture(sample_paths: Sequence[str], max_rows: int = 8, num_samples: int = 8
                        ) -> tuple[np.ndarray, list[float], list[str]]:
    """The progression strip as pixels: (uint8 image, row centres, row labels).

    Rows are evenly chosen epochs (first and last included), each the first `num_samples` tiles
    of that epoch's saved grid, laid out as image_grid does.
    """
    if not sample_paths:
        raise ValueError("plot_progression needs at least one saved sample grid")
    ordered = sorted(sample_paths, key=lambda p: (epoch_of(p) is None, epoch_of(p) or 0, p))
    chosen = [ordered[i] for i in choose_evenly(len(ordered), max_rows)]
    strips = [image_grid(load_grid_tiles(p)[:num_samples], ncols=num_samples) for p in chosen]
    width = max(strip.shape[1] for strip in strips)
    strips = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0)), constant_values=GRID_PAD_VALUE)
              for s in strips]
    heights = np.array([strip.shape[0] for strip in strips], dtype=np.float64)
    centers = [float(c) for c in np.cumsum(heights) - heights / 2]
    labels = [f"epoch {epoch_of(p)}" if epoch_of(p) is not None else os.path.basename(p)
              for p in chosen]
    return np.concatenate(strips, axis=0), centers, labels


def plot_progression(sample_paths: Sequence[str], path: str, max_rows: int = 8,
                     num_samples: int = 8) -> None:
    """The same fixed-noise samples across epochs: one row per chosen epoch, labelled on the left."""
    picture, centers, labels = progression_picture(sample_paths, max_rows, num_samples)
    save_figure(_image_figure(picture, centers, labels), path)


def _image_figure(picture: np.ndarray, centers: Iterable[float], labels: list[str]) -> Figure:
    """A figure showing `picture` pixel-sharp (small tiles enlarged), with row labels at left."""
    dpi, label_inches = 100, 1.0
    tile_scale = max(1, 400 // max(picture.shape[1], 1))
    width, height = (picture.shape[1] * tile_scale / dpi, picture.shape[0] * tile_scale / dpi)
    figure = Figure(figsize=(width + label_inches + 0.1, height + 0.2), dpi=dpi)
    axes = figure.add_axes((label_inches / (width + label_inches + 0.1), 0.1 / (height + 0.2),
                            width / (width + label_inches + 0.1), height / (height + 0.2)))
    axes.imshow(picture, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks(list(centers), labels)
    axes.tick_params(axis="y", length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    return figure


# ---------------------------------------------------------------------------------------------
# Redraw from a run directory.

def redraw(workdir: str, histograms: bool = True) -> list[str]:
    """Rebuilds plots/losses.png, plots/progression.png and (with histograms) every epoch's
    D-output histogram from the plots/d_outputs_epoch_NNNN.npz the run kept; returns the paths."""
    history_path = rundir.path(workdir, rundir.HISTORY_FILE)
    if not os.path.isfile(history_path):
        raise RunError(f"{history_path} not found: --workdir must be a kerasgan run directory "
                       f"(one that holds history.csv)")
    written = [rundir.path(workdir, rundir.PLOTS_DIR, "losses.png")]
    plot_losses(read_history(history_path), written[0])
    samples = glob.glob(rundir.sample_grid_path(workdir, "*"))
    if samples:
        written.append(rundir.path(workdir, rundir.PLOTS_DIR, "progression.png"))
        plot_progression(samples, written[-1])
    kept = glob.glob(rundir.d_outputs_path(workdir, "*")) if histograms else []
    for outputs in sorted(kept):
        epoch = int(re.search(r"(\d+)\.npz$", outputs).group(1))
        with np.load(outputs, allow_pickle=False) as arrays:
            written.append(rundir.d_output_hist_path(workdir, epoch))
            plot_d_output_hist(arrays["real"], arrays["fake"], epoch, written[-1])
    return written


def main(argv: Sequence[str]) -> None:
    del argv
    for path in redraw(flags.FLAGS.workdir):
        print(path)


def _define_flags() -> None:
    flags.DEFINE_string("workdir", None, "run directory to redraw (holds history.csv, samples/)")
    flags.mark_flag_as_required("workdir")


if __name__ == "__main__":
    _define_flags()
    cli.run(main)
