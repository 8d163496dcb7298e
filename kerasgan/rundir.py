"""The run directory's one home: its file names, config.json I/O, moving a run aside, the lock.

A run directory is the run's identity (config.json first; resume, sample, evaluate and plots
rebuild everything from what it holds). Every module that reads or writes one takes the names
from here, so the layout is written down once:

    RUN/config.json  checkpoints/  samples/epoch_NNNN.png  history.csv  plots/  tensorboard/
        model_summary.txt  generator.keras  metrics.jsonl  kerasgan_stats/  generated/

A low module: it imports only config, errors and fileio.
"""

from __future__ import annotations

import json
import os
import time

from kerasgan.config import TrainConfig
from kerasgan.errors import ConfigError, RunError
from kerasgan.fileio import write_atomic

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
HISTORY_FILE = "history.csv"
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "tensorboard"
MODEL_SUMMARY_FILE = "model_summary.txt"
GENERATOR_FILE = "generator.keras"
METRICS_FILE = "metrics.jsonl"
STATS_FOLDER = "kerasgan_stats"  # Inception statistics of the real data (evaluate)
GENERATED_DIR = "generated"  # sample's default output folder
LOCK_FILE = ".lock"


def path(workdir: str, *parts: str) -> str:
    """workdir/parts...: one spelling of every run-directory path."""
    return os.path.join(workdir, *parts)


def _epoch(epoch: int | str) -> str:
    return epoch if isinstance(epoch, str) else f"{epoch:04d}"


def sample_grid_path(workdir: str, epoch: int | str) -> str:
    """samples/epoch_NNNN.png: the fixed-noise grid drawn after `epoch` (1-based); "*" gives
    the glob pattern of all of them."""
    return os.path.join(workdir, SAMPLES_DIR, f"epoch_{_epoch(epoch)}.png")


def d_outputs_path(workdir: str, epoch: int | str) -> str:
    """plots/d_outputs_epoch_NNNN.npz: an epoch's D outputs, kept so plots can redraw them."""
    return os.path.join(workdir, PLOTS_DIR, f"d_outputs_epoch_{_epoch(epoch)}.npz")


def d_output_hist_path(workdir: str, epoch: int | str) -> str:
    """plots/d_output_hist_epoch_NNNN.png: the histogram of an epoch's D outputs."""
    return os.path.join(workdir, PLOTS_DIR, f"d_output_hist_epoch_{_epoch(epoch)}.png")


def has_config(workdir: str) -> bool:
    """Whether workdir holds a run (its config.json)."""
    return os.path.isfile(os.path.join(workdir, CONFIG_FILE))


def write_config(config: TrainConfig, workdir: str) -> None:
    """Writes RUN/config.json atomically: a reader sees the old config or the new one."""
    write_atomic(os.path.join(workdir, CONFIG_FILE), config.to_json())


def read_config(workdir: str) -> TrainConfig:
    """The config a run was started with; RunError when the directory is not a run."""
    config_path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise RunError(f"{workdir} is not a kerasgan run directory: {config_path} is missing")
    try:
        with open(config_path) as f:
            return TrainConfig.from_json(f.read())
    except (json.JSONDecodeError, ConfigError, TypeError) as error:
        raise RunError(f"{config_path} is not a valid kerasgan config: {error}") from error


def check_compatible(config: TrainConfig, workdir: str) -> None:
    """Refuses a run directory whose config.json differs from config on the model or the data
    (config.IDENTITY_FIELDS), listing the differing fields; nothing when there is no run yet."""
    if not has_config(workdir):
        return
    diff = read_config(workdir).identity_diff(config)
    if diff:
        fields = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in diff.items())
        raise RunError(f"{workdir} holds a run with a different model or data ({fields}); "
                       "use another --workdir, or --overwrite to move it aside and start afresh")


def move_aside(workdir: str) -> str:
    """Renames a run directory to NAME.old-DATE (never deletes it); returns the new name."""
    aside = f"{workdir.rstrip(os.sep)}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    os.rename(workdir, aside)
    print(f"moved the previous run aside to {aside}")
    return aside
