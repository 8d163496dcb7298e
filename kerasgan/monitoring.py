"""Watching a run learn: history.csv, log lines, TensorBoard events, collapse warnings.

Losses alone do not say whether a GAN learns or collapses, so a run keeps every signal in its
run directory: per-step metrics in history.csv (what `plots` draws), TensorBoard events under
RUN/tensorboard, and a one-time warning when D wins outright or the samples stop differing.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from kerasgan import plots

HISTORY_COLUMNS = ("epoch", "step", "d_loss", "g_loss", "d_real_loss", "d_fake_loss",
                   "d_real_acc", "d_fake_acc", "g_acc", "d_real_prob", "d_fake_prob",
                   "images_per_sec")


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
            plots.write_atomic(path, self._to_csv([]))
        self._file = open(path, "a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)

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
        plots.write_atomic(self.path, self._to_csv(kept))
        self._file = open(self.path, "a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)

    def rows(self) -> list[dict[str, Any]]:
        """All rows in the file, numbers parsed back (blank cells are None)."""
        if not self._file.closed:
            self._file.flush()
        return plots.read_history(self.path)

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

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
        plots.write_atomic(self.path, self._to_csv(rows))


def _metric(metrics: Mapping[str, Any], name: str) -> float:
    value = _scalar(metrics.get(name))
    return math.nan if value is None else float(value)


def format_log_line(epoch: int, batch: int, metrics: Mapping[str, Any]) -> str:
    """One line per logged step: D on real, D on fake and G, loss and accuracy each."""
    parts = [f"{label}: loss={_metric(metrics, loss):.4f}, acc={_metric(metrics, acc):.4f}"
             for label, loss, acc in (("D(real)", "d_real_loss", "d_real_acc"),
                                      ("D(fake)", "d_fake_loss", "d_fake_acc"),
                                      ("G", "g_loss", "g_acc"))]
    return f"[E{epoch:02d} | B{batch}] " + " | ".join(parts)


def progress_postfix(metrics: Mapping[str, Any]) -> dict[str, str]:
    """The tqdm postfix: d_loss and g_loss to 4 significant digits (only those present)."""
    return {name: f"{_metric(metrics, name):.4g}" for name in ("d_loss", "g_loss")
            if metrics.get(name) is not None}
