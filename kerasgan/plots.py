"""Pictures of a run: loss curves, D's memorisation (--holdout), discriminator-output histograms,
progression strip and GIF.

Everything here reads or writes files in the run directory and nothing else, so it works the same
during training and afterwards (`python -m kerasgan.plots --workdir=RUN` redraws from the files).
Every file is written atomically: a reader never sees half a PNG or half a CSV. The image-grid
functions live in `images` and are re-exported here (plots.save_image_grid, plots.image_grid, ...).
"""

from __future__ import annotations

import glob
import io
import math
import os
import re
from typing import Any, Iterable, Sequence

import numpy as np
# Figures are matplotlib.figure.Figure objects rendered by savefig (Agg for PNG), never pyplot, so
# importing this module leaves matplotlib's backend alone (a notebook's inline plots keep working).
from matplotlib.figure import Figure

from kerasgan import rundir
from kerasgan.errors import RunError
from kerasgan.fileio import write_atomic
from kerasgan.images import (GRID_PAD_VALUE, GRID_PADDING, grid_columns,  # noqa: F401
                             image_grid, load_grid_tiles, resize_tiles, save_gif,
                             save_image_grid, to_uint8)
from kerasgan.monitoring import MEMORISATION_GAP, read_history

_EPOCH_FILE = re.compile(r"epoch_(\d+)\.png$")


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


HELDOUT_COLOR, GAP_COLOR = "tab:green", "tab:red"


def plot_d_memorisation(history_rows: Sequence[dict[str, Any]], path: str) -> None:
    """A --holdout run's D sign on its fixed training and held-out images per step (raw, faint,
    and smoothed), with their gap: a gap that opens and stays is D memorising the training set."""
    rows = [row for row in history_rows if row.get("step") is not None
            and row.get("d_sign_train") is not None and row.get("d_sign_heldout") is not None]
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    steps = _column(rows, "step")
    train, heldout = _column(rows, "d_sign_train"), _column(rows, "d_sign_heldout")
    gap = train - heldout
    weight = smoothing_weight(len(rows))
    for values, label, color in ((train, "training images", D_COLOR),
                                 (heldout, "held-out images", HELDOUT_COLOR),
                                 (gap, "gap: training - held-out", GAP_COLOR)):
        axes.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
        axes.plot(steps, smooth(values, weight), color=color, label=f"{label} (smoothed)")
    axes.fill_between(steps, smooth(heldout, weight), smooth(train, weight), color=GAP_COLOR,
                      alpha=0.1, linewidth=0)
    axes.axhline(0.0, color="gray", linewidth=0.8)
    axes.axhline(MEMORISATION_GAP, color=GAP_COLOR, linewidth=0.8, linestyle="--",
                 label="gap that warns of memorisation")
    low, high = (np.nanmin(gap), np.nanmax(gap)) if np.isfinite(gap).any() else (0.0, 0.0)
    axes.set(ylim=(min(-1.05, low - 0.05), max(1.05, high + 0.05)), xlabel="step",
             title="D's mean sign on training vs held-out images", ylabel="mean sign(D(x))")
    axes.grid(alpha=0.3)
    if rows:
        axes.legend(loc="lower left")
    else:
        axes.text(0.5, 0.5, "no held-out rows yet", ha="center", transform=axes.transAxes)
    save_figure(figure, path)


def save_d_outputs(real_probs: Any, fake_probs: Any, epoch: int, workdir: str) -> str:
    """Keeps an epoch's D outputs (a few KB) under plots/ so `redraw` can rebuild its histogram."""
    buffer = io.BytesIO()
    np.savez(buffer, real=np.asarray(real_probs, np.float32),
             fake=np.asarray(fake_probs, np.float32))
    path = rundir.d_outputs_path(workdir, epoch)
    write_atomic(path, buffer.getvalue())
    return path


def d_output_label(loss: str | None) -> str:
    """What sigmoid(D's logit) is: a probability of "real" only where D is trained as a
    classifier (the non-saturating loss); a squashed score under lsgan, wgan-gp and hinge."""
    if loss in (None, "nonsaturating"):
        return "D(x) = sigmoid(logit): the probability D gives \"real\""
    return f"sigmoid(D's {loss} score): above 0.5, D leans \"real\" (not a probability)"


def plot_d_output_hist(real_probs: Any, fake_probs: Any, epoch: int, path: str,
                       loss: str | None = None) -> None:
    """Overlaid histograms of sigmoid(D's logit) on real and on generated images, bins in
    [0, 1]; the axis says what that is under the run's loss (d_output_label)."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    bins = np.linspace(0.0, 1.0, 41)
    for values, label, color in ((real_probs, "real", D_COLOR), (fake_probs, "generated", G_COLOR)):
        array = np.asarray(values, np.float64).ravel()
        array = np.clip(array[np.isfinite(array)], 0.0, 1.0)
        mean = f"{array.mean():.3f}" if array.size else "n/a"
        axes.hist(array, bins=bins, alpha=0.55, color=color, label=f"{label} (mean {mean})")
    axes.set(xlim=(0.0, 1.0), xlabel=d_output_label(loss),
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
    """The same fixed-noise samples across epochs:
    one row per chosen epoch, labelled on the left."""
    picture, centers, labels = progression_picture(sample_paths, max_rows, num_samples)
    save_figure(_image_figure(picture, centers, labels), path)


def progression_frames(sample_paths: Sequence[str], max_frames: int = 64, num_samples: int = 16,
                       max_tile: int = 48) -> list[np.ndarray]:
    """The frames of progression.gif: for at most max_frames evenly chosen epochs (first and last
    included), the first num_samples tiles of that epoch's grid, shrunk by an integer factor to
    at most max_tile pixels (128 px faces become 43 px), in a square-ish grid: about 20-40 KB a
    frame, so a 64-frame GIF stays within 1-3 MB."""
    if not sample_paths:
        raise ValueError("the progression GIF needs at least one saved sample grid")
    ordered = sorted(sample_paths, key=lambda p: (epoch_of(p) is None, epoch_of(p) or 0, p))
    chosen = [ordered[i] for i in choose_evenly(len(ordered), max_frames)]
    tiles = [resize_tiles(load_grid_tiles(p)[:num_samples], max_side=max_tile) for p in chosen]
    count = min(len(t) for t in tiles)  # grids of a resumed run may differ in size
    return [image_grid(t[:count]) for t in tiles]


def save_progression_gif(sample_paths: Sequence[str], path: str, max_frames: int = 64,
                         num_samples: int = 16, max_tile: int = 48) -> None:
    """The fixed-noise samples epoch by epoch as an animated GIF (as the TensorFlow DCGAN tutorial
    makes): 200 ms per epoch, the last epoch held for 2 s, looping."""
    frames = progression_frames(sample_paths, max_frames, num_samples, max_tile)
    save_gif(frames, path, frame_ms=200, last_frame_ms=2000)


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
    """Rebuilds plots/losses.png, plots/d_memorisation.png (--holdout runs), plots/progression.png,
    plots/progression.gif and (with histograms) every epoch's D-output histogram from the
    plots/d_outputs_epoch_NNNN.npz the run kept; returns the paths."""
    history_path = rundir.path(workdir, rundir.HISTORY_FILE)
    if not os.path.isfile(history_path):
        raise RunError(f"{history_path} not found: --workdir must be a kerasgan run directory "
                       f"(one that holds history.csv)")
    written = [rundir.path(workdir, rundir.PLOTS_DIR, "losses.png")]
    history = read_history(history_path)
    plot_losses(history, written[0])
    if any(row.get("d_sign_heldout") is not None for row in history):
        written.append(rundir.path(workdir, rundir.PLOTS_DIR, "d_memorisation.png"))
        plot_d_memorisation(history, written[-1])
    samples = glob.glob(rundir.sample_grid_path(workdir, "*"))
    if samples:
        written.append(rundir.path(workdir, rundir.PLOTS_DIR, "progression.png"))
        plot_progression(samples, written[-1])
        written.append(rundir.path(workdir, rundir.PLOTS_DIR, "progression.gif"))
        save_progression_gif(samples, written[-1])
    kept = glob.glob(rundir.d_outputs_path(workdir, "*")) if histograms else []
    loss = rundir.read_config(workdir).loss if kept and rundir.has_config(workdir) else None
    for outputs in sorted(kept):
        epoch = int(re.search(r"(\d+)\.npz$", outputs).group(1))
        with np.load(outputs, allow_pickle=False) as arrays:
            written.append(rundir.d_output_hist_path(workdir, epoch))
            plot_d_output_hist(arrays["real"], arrays["fake"], epoch, written[-1], loss)
    return written


if __name__ == "__main__":
    # `python -m kerasgan.plots --workdir=RUN`: the command line lives in the entry-point module
    # plots_main, imported only here, so this library never loads the CLI or its flags.
    from kerasgan import plots_main

    plots_main.run()
