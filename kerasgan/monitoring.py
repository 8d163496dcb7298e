"""Watching a run learn: history.csv, log lines, TensorBoard events, collapse and memorisation
warnings.

Losses alone do not say whether a GAN learns or collapses, so a run keeps every signal in its
run directory: per-step metrics in history.csv (what `plots` draws), TensorBoard events under
RUN/tensorboard, and a one-time warning when D wins outright or the samples stop differing, and
another when D tells its training images from held-out ones (--holdout).
History writes history.csv and read_history reads it back (for `plots` and notebooks).
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf
from scipy.spatial import distance
from tensorflow.core.framework import summary_pb2

from kerasgan.gan import METRIC_NAMES
from kerasgan.fileio import write_atomic
from kerasgan.images import image_grid



# --holdout runs: mean(sign(D(x))) on a fixed set of training images and on as many held-out
# ones, D in inference mode. The gap between them is D memorising its training images.
MEMORISATION_COLUMNS = ("d_sign_train", "d_sign_heldout")
# The gap (d_sign_train - d_sign_heldout) above which D counts as memorising (CollapseDetector).
MEMORISATION_GAP = 0.5


def history_columns(metric_names: Sequence[str], heldout: bool = False) -> tuple[str, ...]:
    """history.csv's columns for a train step that returns metric_names; with heldout (a
    --holdout run) the memorisation columns too."""
    return ("epoch", "step", *metric_names, *(MEMORISATION_COLUMNS if heldout else ()),
            "images_per_sec")


HISTORY_COLUMNS = history_columns(METRIC_NAMES)


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


def _scalar(value: Any) -> Any:
    """A Python number from a tensor, numpy scalar or number (other values pass through)."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray | np.generic):
        value = value.item()
    return value


def _format_cell(value: Any) -> str:
    value = _scalar(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class History:
    """history.csv: one row per logged step, appended as training goes, durable on flush.

    Args:
        path: the CSV file; created with a header, or appended to when it exists (resume).
        columns: the column names. Rows may leave any out; keys outside them are refused.
    """

    def __init__(self, path: str, columns: Sequence[str] = HISTORY_COLUMNS):
        self.path = path
        self.columns = tuple(columns)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if os.path.exists(path) and os.path.getsize(path) > 0:
            self._repair_existing()
        else:
            write_atomic(path, self._to_csv([]))
        self._open_for_append()

    def append(self, row: Mapping[str, Any]) -> None:
        """Adds one row; absent columns stay blank, floats are written with 6 significant digits."""
        unknown = sorted(set(row) - set(self.columns))
        if unknown:
            raise ValueError(f"{self.path}: unknown history column(s) {', '.join(unknown)}; "
                             f"declare them in `columns`")
        self._writer.writerow([_format_cell(row.get(name)) for name in self.columns])
        self._file.flush()

    def flush(self) -> None:
        """Makes the rows written so far survive a crash (flush + fsync)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def truncate_after(self, step: int) -> None:
        """Drops rows logged after `step` (resuming from a checkpoint there), so no step repeats."""
        kept = [row for row in self.rows() if row.get("step") is None or row["step"] <= step]
        self._file.close()
        write_atomic(self.path, self._to_csv(kept))
        self._open_for_append()

    def rows(self) -> list[dict[str, Any]]:
        """All rows in the file, numbers parsed back (blank cells are None)."""
        if not self._file.closed:
            self._file.flush()
        return read_history(self.path)

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _open_for_append(self) -> None:
        self._file = open(self.path, "a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)

    def _to_csv(self, rows: Iterable[Mapping[str, Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.columns)
        for row in rows:
            writer.writerow([_format_cell(row.get(name)) for name in self.columns])
        return buffer.getvalue()

    def _repair_existing(self) -> None:
        """Keeps an existing file appendable: drops a torn last line, adopts a changed header.

        Columns the file has but `columns` lacks are kept at the end, so nothing logged is lost.
        """
        with open(self.path, newline="", encoding="utf-8") as file:
            text = file.read()
        header = next(csv.reader([text.split("\n", 1)[0]]))
        torn = not text.endswith("\n")
        if header == list(self.columns) and not torn:
            return
        self.columns += tuple(name for name in header if name not in self.columns)
        complete = text[:text.rfind("\n") + 1] if torn else text
        rows = [{key: value for key, value in row.items() if key is not None}
                for row in csv.DictReader(io.StringIO(complete))]
        write_atomic(self.path, self._to_csv(rows))


def _metric(metrics: Mapping[str, Any], name: str) -> float:
    value = _scalar(metrics.get(name))
    return math.nan if value is None else float(value)


def format_log_line(epoch: int, batch: int, metrics: Mapping[str, Any]) -> str:
    """One line per logged step: D on real, D on fake and G, loss and accuracy each."""
    parts = [f"{label}: loss={_metric(metrics, loss):.4f}, acc={_metric(metrics, acc):.4f}"
             for label, loss, acc in (("D(real)", "d_real_loss", "d_real_acc"),
                                      ("D(fake)", "d_fake_loss", "d_fake_acc"),
                                      ("G", "g_loss", "g_acc"))]
    if metrics.get("d_sign_train") is not None:
        parts.append(f"D sign: train={_metric(metrics, 'd_sign_train'):.3f}, "
                     f"held-out={_metric(metrics, 'd_sign_heldout'):.3f}")
    return f"[E{epoch:02d} | B{batch}] " + " | ".join(parts)


def progress_postfix(metrics: Mapping[str, Any]) -> dict[str, str]:
    """The tqdm postfix: d_loss and g_loss to 4 significant digits (only those present)."""
    return {name: f"{_metric(metrics, name):.4g}" for name in ("d_loss", "g_loss")
            if metrics.get(name) is not None}


HISTOGRAM_BINS = 30


def _summary_metadata(plugin: str, data_class: int) -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin),
        data_class=data_class)


# The layouts TensorBoard's scalar, image and histogram plugins read. tf.summary.scalar/image/
# histogram live in the tensorboard package, which is optional, so the records are built here
# and written with TensorFlow's own tf.summary.write.
_SCALAR = _summary_metadata("scalars", summary_pb2.DATA_CLASS_SCALAR)
_IMAGE = _summary_metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
_HISTOGRAM = _summary_metadata("histograms", summary_pb2.DATA_CLASS_TENSOR)


class SummaryWriter:
    """TensorBoard events (scalars, sample grids, histograms) written with TensorFlow alone.

    Args:
        logdir: the events folder, RUN/tensorboard; created when missing.
    """

    def __init__(self, logdir: str):
        self.logdir = logdir
        self._writer = tf.summary.create_file_writer(logdir)

    def scalars(self, step: int, values: Mapping[str, Any]) -> None:
        """One scalar per key; None values are skipped."""
        with self._writer.as_default():
            for name, value in values.items():
                value = _scalar(value)
                if value is not None:
                    tf.summary.write(name, tf.constant(float(value), tf.float32), step=int(step),
                                     metadata=_SCALAR)

    def image(self, step: int, name: str, images: Any) -> None:
        """A batch (float [-1, 1] or uint8, NHWC) as one grid image, as in samples/."""
        grid = image_grid(images)
        png = tf.io.encode_png(grid).numpy()
        tensor = tf.constant([str(grid.shape[1]).encode(), str(grid.shape[0]).encode(), png])
        with self._writer.as_default():
            tf.summary.write(name, tensor, step=int(step), metadata=_IMAGE)

    def histogram(self, step: int, name: str, values: Any) -> None:
        """The distribution of `values` in HISTOGRAM_BINS buckets (rows: left, right, count)."""
        array = np.asarray(values, np.float64).ravel()
        array = array[np.isfinite(array)]
        if array.size:
            counts, edges = np.histogram(array, bins=HISTOGRAM_BINS)
            buckets = np.stack([edges[:-1], edges[1:], counts.astype(np.float64)], axis=1)
        else:
            buckets = np.zeros((0, 3), np.float64)
        with self._writer.as_default():
            tf.summary.write(name, tf.constant(buckets), step=int(step), metadata=_HISTOGRAM)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _as_signed(samples: Any) -> np.ndarray:
    """float64 images on [-1, 1], from uint8 or float [-1, 1] samples."""
    array = np.asarray(samples)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 127.5 - 1.0
    return array.astype(np.float64)


def _coarse(samples: Any, side: int) -> np.ndarray:
    """The images on [-1, 1] averaged down to side x side, float64 [N, side, side, C]."""
    array = _as_signed(samples)
    count, height, width, channels = array.shape
    if height % side or width % side:
        raise ValueError(f"images of {height}x{width} do not average down to {side}x{side}")
    return array.reshape(count, side, height // side, side, width // side,
                         channels).mean(axis=(2, 4))


def coarse_diversity(samples: Any, side: int = 8) -> float:
    """sample_diversity of the images averaged down to side x side: how much their layout and
    colours differ. Pixel noise, which makes a collapsed generator's garbage look diverse at
    full size, averages out."""
    return sample_diversity(_coarse(samples, side))


def coarse_mean(samples: Any, side: int = 8) -> np.ndarray:
    """The images' mean, averaged down to side x side (float64 [side, side, C]): their average
    layout and colours, which a generator drawing the training images shares with them."""
    return _coarse(samples, side).mean(axis=0)


def sample_diversity(samples: Any) -> float:
    """Mean L2 distance over all pairs of samples (uint8 is first mapped to [-1, 1]).

    Collapsed generators draw near-identical images from different noise, so this falls.
    """
    array = _as_signed(samples)
    flat = array.reshape(array.shape[0], -1)
    if flat.shape[0] < 2:
        return 0.0
    return float(distance.pdist(flat).mean())


class CollapseDetector:
    """Warns once when the run looks collapsed, once when it stops improving and once when D
    memorises.

    Judged by what G draws and how it measures, never by D's accuracy: under the hinge and
    non-saturating losses a D that tells every image apart still gives G a gradient (quick32's D
    does for most of a healthy run), so a pinned accuracy is no sign of trouble.
    - collapsed: the fixed-noise samples' diversity (see sample_diversity) below
      diversity_fraction of its first measured value, or after the first epoch their coarse
      diversity (see coarse_diversity) below real_fraction of the training images' own;
    - drawing something else (collapsed or diverged to a texture unlike the data): after the
      first epoch the samples' coarse_mean is further from the training images' than
      far_fraction of the training images' coarse diversity (healthy runs: under 0.2;
      experiments/warnings/README.md);
    - not improving (runs that evaluate during training): swd_avg has not come below its best so
      far at any of the last `patience` evaluations;
    - memorising (--holdout runs): D's mean sign on training images above its mean sign on
      held-out ones (d_sign_train - d_sign_heldout) by more than gap_threshold at each of the
      last min_gap_rows logged steps.

    Args:
        diversity_fraction: share of the first diversity below which the samples count as collapsed.
        real_diversity: coarse_diversity of as many training images (None: not judged so).
        real_fraction: share of real_diversity below which the samples count as collapsed.
        real_mean: coarse_mean of the training images (None: not judged so; needs
            real_diversity).
        far_fraction: share of real_diversity beyond which the samples' coarse_mean counts as
            far from real_mean.
        patience: evaluations in a row without a new best swd_avg before it is said.
        gap_threshold: train-minus-held-out sign gap that counts as memorising.
        min_gap_rows: logged steps in a row the gap must last before it counts.
    """

    def __init__(self, diversity_fraction: float = 0.2, real_diversity: float | None = None,
                 real_fraction: float = 0.35, real_mean: np.ndarray | None = None,
                 far_fraction: float = 0.6, patience: int = 4,
                 gap_threshold: float = MEMORISATION_GAP, min_gap_rows: int = 3):
        self.diversity_fraction = diversity_fraction
        self.real_diversity = real_diversity
        self.real_fraction = real_fraction
        self.real_mean = real_mean
        self.far_fraction = far_fraction
        self.patience = patience
        self.gap_threshold = gap_threshold
        self.min_gap_rows = min_gap_rows
        self.first_diversity: float | None = None
        self.warned = False
        self.warned_memorising = False
        self.warned_stalled = False
        self._best: tuple[float, int] | None = None  # (swd_avg, epoch)
        self._since_best = 0
        self._gaps: list[float] = []  # the gaps of the logged steps in a row above the threshold

    def update(self, metrics: Mapping[str, Any]) -> None:
        """Records one logged step's metrics."""
        gap = _metric(metrics, "d_sign_train") - _metric(metrics, "d_sign_heldout")
        self._gaps = self._gaps + [gap] if gap > self.gap_threshold else []

    def evaluated(self, epoch: int, swd_avg: float) -> str | None:
        """Records an evaluation during training; returns the not-improving warning the first
        time it applies."""
        if not math.isfinite(swd_avg):
            return None
        if self._best is None or swd_avg < self._best[0]:
            self._best, self._since_best = (swd_avg, epoch), 0
            return None
        self._since_best += 1
        if self._since_best < self.patience or self.warned_stalled:
            return None
        self.warned_stalled = True
        return (f"epoch {epoch}: swd_avg has not improved on its best ({self._best[0]:.4g}, "
                f"epoch {self._best[1]}) at any of the last {self._since_best} evaluations: "
                f"more training is unlikely to make better faces. In a --holdout run "
                f"generator_best.keras keeps the best (sample --best); otherwise stop here, or "
                f"try lower learning rates or --augment against memorisation.")

    def end_epoch(self, epoch: int, fixed_samples: Any = None) -> str | None:
        """Checks the epoch just ended; returns a warning the first time it is found only (the
        trainer prints it, once): collapse first, memorisation once on its own."""
        message = self._diversity_message(epoch, fixed_samples)
        if message is not None and not self.warned:
            self.warned = True
            return message
        message = self._memorising_message(epoch)
        if message is None or self.warned_memorising:
            return None
        self.warned_memorising = True
        return message

    def _memorising_message(self, epoch: int) -> str | None:
        if len(self._gaps) < self.min_gap_rows:
            return None
        return (f"epoch {epoch}: D's mean sign on the training images exceeded that on the "
                f"held-out ones by more than {self.gap_threshold:g} (by {min(self._gaps):.2f} "
                f"or more) at each of the last {len(self._gaps)} logged steps: D tells the "
                f"training images from held-out ones, so it is memorising the folder. Try "
                f"--augment=color,translation,cutout --augment_p=auto, more images, or the "
                f"generator that scored best on the held-out images (generator_best.keras, "
                f"sample --best).")

    def _diversity_message(self, epoch: int, fixed_samples: Any) -> str | None:
        if fixed_samples is None:
            return None
        hint = ("Check samples/ and plots/progression.png; try a lower --g_lr or "
                "--loss=wgan-gp.")
        if self.real_diversity and epoch > 1:
            coarse = coarse_diversity(fixed_samples)
            if coarse < self.real_fraction * self.real_diversity:
                return (f"epoch {epoch}: the fixed-noise samples, averaged down to 8x8, differ "
                        f"from each other by {coarse:.3g} (mean pairwise distance), under "
                        f"{self.real_fraction:g} of the training images' "
                        f"{self.real_diversity:.3g}: the generator looks collapsed to a few "
                        f"images. {hint}")
            if self.real_mean is not None:
                shift = float(np.linalg.norm(coarse_mean(fixed_samples) - self.real_mean))
                if shift > self.far_fraction * self.real_diversity:
                    return (f"epoch {epoch}: the fixed-noise samples' mean, averaged down to "
                            f"8x8, is {shift:.3g} away from the training images' (over "
                            f"{self.far_fraction:g} of their own mean pairwise distance, "
                            f"{self.real_diversity:.3g}): the generator draws something other "
                            f"than the training images, collapsed or diverged. {hint}")
        diversity = sample_diversity(fixed_samples)
        if self.first_diversity is None:
            self.first_diversity = diversity
            return None
        if diversity >= self.diversity_fraction * self.first_diversity:
            return None
        return (f"epoch {epoch}: the fixed-noise samples' diversity (mean pairwise distance "
                f"{diversity:.4g}) fell below {self.diversity_fraction:g} of its first value "
                f"({self.first_diversity:.4g}): the generator looks collapsed to a few images. "
                f"{hint}")


def write_model_summary(models: Mapping[str, Any], path: str) -> None:
    """Writes each Keras model's layer table and parameter counts to one text file, atomically."""
    sections = [_model_section(name, model) for name, model in models.items()]
    write_atomic(path, "\n\n".join(sections) + "\n")


def _model_section(name: str, model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=100)
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    frozen = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)
    counts = (f"{name}: {trainable + frozen:,} parameters "
              f"({trainable:,} trainable, {frozen:,} non-trainable)")
    return "\n".join([f"== {name} ==", counts, *lines]).rstrip()
