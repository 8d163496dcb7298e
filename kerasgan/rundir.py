"""The run directory's one home: its file names, config.json I/O, moving a run aside, the lock.

A run directory is the run's identity (config.json first; resume, sample, evaluate and plots
rebuild everything from what it holds). Every module that reads or writes one takes the names
from here, so the layout is written down once:

    RUN/config.json  attributes.json  checkpoints/  samples/epoch_NNNN.png  history.csv  plots/
        tensorboard/  model_summary.txt  generator.keras  metrics.jsonl  kerasgan_stats/
        generated/  .lock
        generator_best.keras  generator_best.json  (--holdout runs that evaluate in training)
        attribute_classifier.keras  attribute_classifier.json  (evaluate's attribute_accuracy)

A low module: it imports only config, errors, fileio and labels.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import shutil
import socket
import time
from typing import Optional

from kerasgan.config import TrainConfig
from kerasgan.errors import ConfigError, RunError
from kerasgan.fileio import write_atomic
from kerasgan.labels import check_combinations

CONFIG_FILE = "config.json"
ATTRIBUTES_FILE = "attributes.json"  # a conditional run's attributes, their shares and combinations
CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
HISTORY_FILE = "history.csv"
PLOTS_DIR = "plots"
TENSORBOARD_DIR = "tensorboard"
MODEL_SUMMARY_FILE = "model_summary.txt"
GENERATOR_FILE = "generator.keras"
# --holdout runs that evaluate during training: the inference generator of the evaluation with the
# lowest swd_avg on the held-out images so far, and which one it was (step, epoch, kimg, swd_avg).
GENERATOR_BEST_FILE = "generator_best.keras"
GENERATOR_BEST_INFO_FILE = "generator_best.json"
METRICS_FILE = "metrics.jsonl"
STATS_FOLDER = "kerasgan_stats"  # Inception statistics of the real data (evaluate)
GENERATED_DIR = "generated"  # sample's default output folder
# evaluate's attribute_accuracy: the classifier trained on the run's real images, and what it was
# trained on with its held-out accuracy (the ceiling); retrained when that no longer matches.
ATTRIBUTE_CLASSIFIER_FILE = "attribute_classifier.keras"
ATTRIBUTE_CLASSIFIER_INFO_FILE = "attribute_classifier.json"
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


def no_checkpoint(workdir: str) -> RunError:
    """The error for a run that has not saved a checkpoint yet."""
    return RunError(f"{workdir} has no checkpoint yet: train it first "
                    f"(python -m kerasgan.train --workdir={workdir})")


def check_trained(workdir: str) -> TrainConfig:
    """The config of a run that has saved a checkpoint; RunError when workdir is not a run or
    has none yet. It reads files only, so an entry point refuses a wrong --workdir before it
    loads TensorFlow."""
    config = read_config(workdir)
    if not os.path.isfile(path(workdir, CHECKPOINT_DIR, "checkpoint")):
        raise no_checkpoint(workdir)
    return config


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


def write_attributes(workdir: str, names, frequencies, combinations=()) -> None:
    """Writes RUN/attributes.json atomically: a conditional run's attribute names (in the order of
    its label columns), the share of its training images that have each, and the combinations
    in which they occur (labels.label_combinations: [[code, share], ...])."""
    names, frequencies = [str(n) for n in names], [float(f) for f in frequencies]
    if len(names) != len(frequencies):
        raise ValueError(f"{len(frequencies)} frequencies for {len(names)} attributes")
    combinations = [list(pair) for pair in check_combinations(combinations, len(names))]
    write_atomic(os.path.join(workdir, ATTRIBUTES_FILE),
                 json.dumps({"names": names, "frequencies": frequencies,
                             "combinations": combinations}, indent=2) + "\n")


def has_attributes(workdir: str) -> bool:
    """Whether workdir holds attributes.json (a conditional run does)."""
    return os.path.isfile(os.path.join(workdir, ATTRIBUTES_FILE))


def read_attributes(workdir: str, config: Optional[TrainConfig] = None
                    ) -> tuple[tuple[str, ...], tuple[float, ...], tuple[tuple[str, float], ...]]:
    """(names, frequencies, combinations) of a conditional run (combinations () for a run saved
    before they were kept); RunError when attributes.json is missing or damaged, or, given the
    run's config, names other attributes than its conditional_attributes."""
    attributes_path = os.path.join(workdir, ATTRIBUTES_FILE)
    if not os.path.isfile(attributes_path):
        raise RunError(f"{attributes_path} is missing: a conditional run keeps its attribute "
                       "names and frequencies there (the trainer writes it when it starts)")
    try:
        with open(attributes_path, encoding="utf-8") as f:
            stored = json.load(f)
        names = tuple(str(n) for n in stored["names"])
        frequencies = tuple(float(f) for f in stored["frequencies"])
        if len(names) != len(frequencies) or not all(0.0 <= f <= 1.0 for f in frequencies):
            raise ValueError("one frequency in [0, 1] per name is needed")
        combinations = check_combinations(stored.get("combinations", ()), len(names))
    except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise RunError(f"{attributes_path} is not a valid attributes file: {error}") from error
    if config is not None and names != config.attribute_names:
        raise RunError(f"{attributes_path} names {','.join(names) or 'no attributes'}, but the "
                       f"run's config.json has conditional_attributes="
                       f"{config.conditional_attributes}")
    return names, frequencies, combinations


def write_best(workdir: str, info: dict) -> None:
    """Writes RUN/generator_best.json atomically: which evaluation generator_best.keras is."""
    write_atomic(os.path.join(workdir, GENERATOR_BEST_INFO_FILE),
                 json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_best(workdir: str) -> Optional[dict]:
    """generator_best.json ({"step", "epoch", "kimg", "swd_avg"}); None when the run has kept
    no best generator yet; RunError when the file is damaged."""
    info_path = os.path.join(workdir, GENERATOR_BEST_INFO_FILE)
    if not os.path.isfile(info_path):
        return None
    try:
        with open(info_path, encoding="utf-8") as f:
            info = json.load(f)
        info = {"step": int(info["step"]), "epoch": int(info["epoch"]),
                "kimg": float(info["kimg"]), "swd_avg": float(info["swd_avg"])}
    except (ValueError, KeyError, TypeError) as error:
        raise RunError(f"{info_path} is not a valid best-generator record: {error}") from error
    return info


def check_compatible(config: TrainConfig, workdir: str) -> None:
    """Refuses a run directory whose config.json differs from config on the model or the data
    (config.IDENTITY_FIELDS), listing the differing fields; nothing when there is no run yet."""
    if not has_config(workdir):
        return
    diff = read_config(workdir).identity_diff(config)
    if diff:
        fields = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in diff.items())
        raise RunError(f"{workdir} holds a run with a different model or data ({fields}); "
                       "to go on with it as it was, give --workdir alone (its config.json has "
                       "the rest); otherwise use another --workdir, or --overwrite to move it "
                       "aside and start afresh")


def move_aside(workdir: str) -> str:
    """Renames a run directory to NAME.old-DATE (never deletes it); returns the new name."""
    aside = f"{workdir.rstrip(os.sep)}.old-{time.strftime('%Y%m%d-%H%M%S')}"
    os.rename(workdir, aside)
    print(f"moved the previous run aside to {aside}")
    return aside


class RunLock:
    """An exclusive, OS-level advisory lock (flock) on RUN/.lock, held by one training process.

    The kernel drops a flock when its holder exits, however it exits (kill -9 included), so a
    lock is never stale: a later trainer finds the file unlocked and takes it. The file holds
    the holder's pid, host and start time, only for the message a second trainer prints. The
    holder removes the file when it lets go, so a finished run carries no trace of the lock.
    Readers (sample, evaluate, plots) never take it.

    Args:
        workdir: the run directory; created (with its parents) when it does not exist, and
            removed again by `release(remove_created=True)` if nothing else was written there.
    """

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.path = os.path.join(workdir, LOCK_FILE)
        self.created_dir = False
        self._created_root = ""  # the outermost folder acquire created (workdir or a parent)
        self._fd: Optional[int] = None

    def acquire(self) -> "RunLock":
        """Takes the lock at once or raises RunError naming the holder; OSError -> RunError."""
        try:
            if not os.path.isdir(self.workdir):
                root = os.path.abspath(self.workdir)
                while not os.path.exists(os.path.dirname(root)):
                    root = os.path.dirname(root)
                with contextlib.suppress(FileExistsError):  # another process was quicker
                    os.makedirs(self.workdir)
                    self.created_dir, self._created_root = True, root
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as error:
                    os.close(fd)
                    if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise RunError(self._busy_message()) from None
                    raise
                # The previous holder may have removed the file between our open and our flock:
                # a lock on a deleted file protects nothing, so try again on the new one.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)
            since = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "since": since}).encode() + b"\n")
        except OSError as error:
            self._remove_created()
            raise RunError(f"cannot write the run directory {self.workdir}: "
                           f"{error.strerror or error}") from error
        self._fd = fd
        return self

    def release(self, remove_created: bool = False) -> None:
        """Lets go of the lock and removes the lock file; with remove_created, also the directory
        when this lock created it (a start that failed before config.json was written)."""
        if self._fd is None:
            return
        try:
            if remove_created and self.created_dir and not has_config(self.workdir):
                self._remove_created()
            else:
                with contextlib.suppress(OSError):  # the lock itself goes with the descriptor
                    os.remove(self.path)
        finally:
            os.close(self._fd)
            self._fd = None

    def move_aside(self) -> str:
        """Moves the locked run aside (move_aside) and locks a fresh, empty directory in its
        place before letting go of the old one, so no second trainer can slip in between."""
        old_fd = self._fd
        aside = move_aside(self.workdir)
        self._fd = None
        try:
            self.acquire()
        finally:
            if old_fd is not None:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(aside, LOCK_FILE))
                os.close(old_fd)
        return aside

    def _remove_created(self) -> None:
        """Removes the directory acquire created, and the empty parents it created with it."""
        if not self.created_dir:
            return
        shutil.rmtree(self.workdir, ignore_errors=True)
        folder = os.path.dirname(os.path.abspath(self.workdir))
        while len(folder) >= len(self._created_root):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)

    def check_free(self) -> None:
        """RunError naming the holder when another process holds the lock now; takes nothing.

        The train command asks before it loads TensorFlow, so a second trainer stops within a
        second instead of after TensorFlow's start-up; acquire() still decides.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return  # no lock file, or no directory: nobody holds it
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunError(self._busy_message()) from None
        finally:
            os.close(fd)

    def holder(self) -> dict:
        """What the lock file says about its holder ({} if unreadable)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                return json.loads(f.read() or "{}")
        except (OSError, ValueError):
            return {}

    def _busy_message(self) -> str:
        info = self.holder()
        who = (f"process {info.get('pid', '?')} on {info.get('host', '?')} since "
               f"{info.get('since', '?')}" if info else "another process")
        return (f"{self.workdir} is being trained by {who}: one trainer per run directory. "
                f"Wait for it to finish or stop it, or use another --workdir")

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()
