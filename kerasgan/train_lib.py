"""train_and_evaluate(config, workdir): the training loop and its schedule, nothing else.

The CLI, the notebooks and the tests all call this one function. It owns the run directory for
its whole life (rundir.RunLock: a second trainer on it stops at once): config.json first, then
checkpoints, samples, history, plots, TensorBoard events and the exported generator. Calling it
again on the same directory resumes where the last run stopped. A start that fails (no data, a
bad setting) leaves nothing behind: the directory is written only once the data has opened and
the networks are built, and an existing run is left as it was.

A conditional run (--conditional_attributes) checks the names against the data source, trains on
its (images, labels) batches, keeps the names and the data's attribute frequencies in
attributes.json (a resumed run keeps the frequencies it started with) and draws its fixed-noise
grid with labels drawn once from those frequencies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import shutil
import sys
import time
from typing import Any, Optional

import numpy as np
import tensorflow as tf
from tqdm import tqdm  # text bars everywhere: tqdm.auto needs ipywidgets in notebooks

from kerasgan import (checkpointing, data, distribute, evaluate_lib, monitoring, plots, rundir,
                      schedule)
from kerasgan.config import PRESETS, TrainConfig, make_config
from kerasgan.errors import ConfigError, DataError, RunError
from kerasgan.gan import GAN, fixed_labels, fixed_noise
from kerasgan.interrupts import GracefulStop


# What --checkpoint_every_minutes measures: a monotonic clock in seconds (tests put a fake here).
clock = time.monotonic
# --holdout: D's sign is watched on at most this many training and as many held-out images.
SIGN_IMAGES = 256


class TrainingDiverged(RunError):
    """A loss became NaN or Inf; the message names the step and what to try."""


@dataclasses.dataclass
class TrainResult:
    """What a call of train_and_evaluate did: where it stopped and with which exit code, and the
    trained GAN (`result.gan.generate(z)`, `result.gan.generator`) for sampling without
    reloading."""

    workdir: str
    step: int
    epoch: int
    status: str  # "finished", "already_finished" or "stopped" (SIGTERM/SIGINT)
    exit_code: int = 0
    skipped_steps: int = 0
    gan: Optional[GAN] = dataclasses.field(default=None, repr=False, compare=False)


def resolve_config(preset: str = "", overrides: Optional[dict[str, Any]] = None,
                   fresh: bool = False) -> TrainConfig:
    """The config a train command means: a new run's from preset + overrides; for an existing run
    directory (unless fresh), its stored config.json with only the given preset/overrides changed,
    so that a run resumes without repeating its flags."""
    overrides = dict(overrides or {})
    new = make_config(preset, **overrides)
    workdir = new.resolved_workdir()
    if fresh or not rundir.has_config(workdir):
        return new
    values = rundir.read_config(workdir).to_dict()
    if preset:
        values.update(PRESETS[preset], preset=preset)
    values.update(overrides, workdir=overrides.get("workdir", values["workdir"]))
    return TrainConfig.from_dict(values)


def _write_config(config: TrainConfig, workdir: str, gan: GAN) -> None:
    """config.json, and a conditional run's attributes.json."""
    try:
        rundir.write_config(config, workdir)
        if gan.conditional:
            rundir.write_attributes(workdir, gan.attribute_names, gan.attribute_frequencies,
                                    gan.attribute_combinations)
    except OSError as error:
        raise RunError(f"cannot write the run directory {workdir}: {error.strerror}") from error


def _attribute_shares(config: TrainConfig, source, run_dir: str, overwrite: bool):
    """A conditional run's (attribute frequencies, combinations); (None, ()) for an unconditional
    one. The names are checked against the data source first (DataError naming the valid ones).
    A resumed run keeps the shares it started with (attributes.json; a run saved before
    combinations were kept goes on without them, so its labels are drawn as before); a new one
    takes the source's."""
    names = config.attribute_names
    if not names:
        return None, ()
    source.check_attributes(names)
    if not overwrite and rundir.has_attributes(run_dir):
        return rundir.read_attributes(run_dir, config)[1:]
    return source.attribute_frequencies(names), source.attribute_combinations(names)


def _check_free_space(gan: GAN, workdir: str, max_to_keep: int) -> None:
    variables = (gan.generator.variables + gan.discriminator.variables
                 + gan.g_optimizer.variables + gan.d_optimizer.variables
                 + (gan.averaged.model.variables if gan.averaged else []))
    checkpoint_bytes = sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size for v in variables)
    needed = (max_to_keep + 1) * checkpoint_bytes + 2 * gan.generator.count_params() * 4
    free = shutil.disk_usage(workdir).free
    if free < needed:
        raise RunError(f"not enough free space in {workdir}: checkpoints need about "
                       f"{needed / 2**20:,.0f} MiB, {free / 2**20:,.0f} MiB are free")


def train_and_evaluate(config: TrainConfig, workdir: Optional[str] = None, *,
                       overwrite: bool = False) -> TrainResult:
    """Trains (or resumes) the run in workdir until config.epochs; returns where it stopped."""
    run_dir = workdir or config.resolved_workdir()
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    # The strategy comes first (multi_worker must exist before other ops); only the chief writes
    # the run directory, other workers write into a temporary one that is removed at the end.
    strategy = distribute.make_strategy(config.strategy)
    workdir = distribute.worker_dir(run_dir, strategy)
    # The chief owns the shared run directory: it locks it before anything else, so a second
    # trainer stops before building anything. Other workers write into their own temporary one.
    lock = rundir.RunLock(workdir).acquire() if workdir == run_dir else None
    try:
        return _train(config, run_dir, workdir, strategy, overwrite, lock)
    finally:
        if lock is not None:
            lock.release(remove_created=True)  # a failed start's new directory goes too
        distribute.remove_worker_dir(workdir, strategy)


def _train(config: TrainConfig, run_dir: str, workdir: str, strategy, overwrite: bool,
           lock: Optional[rundir.RunLock]) -> TrainResult:
    # Everything that can fail on a user's setting runs before the run directory is written.
    if not overwrite:
        rundir.check_compatible(config, workdir)
    source = data.open_source(config)
    print(source.report())
    source, heldout = _hold_out(config, source)
    steps_per_epoch = _steps_per_epoch(config, source.num_examples)
    config = _epochs_from_kimg(config, steps_per_epoch)
    frequencies, combinations = _attribute_shares(config, source, run_dir, overwrite)
    gan = GAN(config, strategy, attribute_frequencies=frequencies,
              attribute_combinations=combinations)
    _check_free_space(gan, workdir, config.max_to_keep)
    if overwrite and rundir.has_config(workdir):
        lock.move_aside() if lock is not None else rundir.move_aside(workdir)
        os.makedirs(workdir, exist_ok=True)

    checkpoint = checkpointing.RunCheckpoint(gan, workdir, config.max_to_keep)
    # Every worker resumes from the chief's checkpoints.
    restored = (checkpoint if workdir == run_dir
                else checkpointing.RunCheckpoint(gan, run_dir)).restore_latest()
    _write_config(config, workdir, gan)
    # The checkpoint holds the old learning rates; a resumed run must train with the ones asked
    # for now (lowering them is the first remedy for a diverged run).
    gan.g_optimizer.learning_rate = config.g_lr
    gan.d_optimizer.learning_rate = config.d_lr
    start_epoch, step = int(gan.epoch), int(gan.step)
    if restored:
        print(f"resumed from {restored}: epoch {start_epoch + 1}, step {step}")
    generator_path = rundir.path(workdir, rundir.GENERATOR_FILE)
    if start_epoch >= config.epochs:
        if not os.path.isfile(generator_path):
            checkpointing.export_generator(gan.inference_generator, generator_path)
        print(f"{workdir} already finished: {start_epoch} of {config.epochs} epochs, step {step}. "
              f"Raise --{'kimg' if config.kimg else 'epochs'} to train further.")
        return TrainResult(workdir, step, start_epoch, "already_finished", gan=gan)

    try:
        loop = _Loop(config, workdir, gan, checkpoint, source, steps_per_epoch, heldout)
        with GracefulStop() as stop:
            result = loop.run(stop)
    except OSError as error:  # a full disk or an I/O error while writing the run's files
        raise _write_failed(workdir, checkpoint, error) from error
    if result.status == "finished":
        print(f"finished {config.epochs} epochs ({result.step} steps); generator: {generator_path}")
    return dataclasses.replace(result, gan=gan)


def _write_failed(workdir: str, checkpoint, error: Exception, what: str = "a file") -> RunError:
    """The one line for a write that failed mid-run (ENOSPC, EIO): what, why, and that every
    file written before, the last checkpoint included, is intact (all writes are atomic)."""
    name = os.path.basename(getattr(error, "filename", None) or "")
    reason = getattr(error, "strerror", None) or (str(error).splitlines() or [""])[0]
    return RunError(f"cannot write {name or what} in {workdir} ({reason or type(error).__name__}"
                    f"): training stopped; the last checkpoint ("
                    f"{checkpoint.manager.latest_checkpoint or 'none yet'}) and the files written "
                    f"before are intact. Free some space and resume with the same command")


def _steps_per_epoch(config: TrainConfig, num_examples: int) -> int:
    available = num_examples // config.batch_size
    if available == 0:
        raise DataError(f"only {num_examples} usable images, fewer than one batch of "
                        f"--batch_size={config.batch_size}")
    if config.steps_per_epoch > available:
        raise ConfigError(f"--steps_per_epoch={config.steps_per_epoch} is not allowed: the data "
                          f"has {available} batches of {config.batch_size}; "
                          f"use at most {available}")
    return config.steps_per_epoch or available


def _hold_out(config: TrainConfig, source):
    """(training source, held-out source or None) for --holdout: two views of the source, the
    split a pure function of the seed and the image count (ImageSource.split_holdout)."""
    if not config.holdout:
        return source, None
    train, heldout = source.split_holdout(config.holdout, config.batch_size)
    print(f"held out {heldout.num_examples:,} of {source.num_examples:,} images "
          f"(--holdout={config.holdout:g}), training on {train.num_examples:,}"
          + (f"; evaluations measure {config.eval_num_samples:,} generated images against them"
             if config.eval_every_kimg or config.eval_every_epochs else ""))
    return train, heldout


def epochs_for_kimg(kimg: float, steps_per_epoch: int, batch_size: int) -> int:
    """The epochs that show at least kimg thousand images: ceil(kimg * 1000 / images per epoch)."""
    return max(1, math.ceil(round(kimg * 1000.0, 6) / (steps_per_epoch * batch_size)))


def _epochs_from_kimg(config: TrainConfig, steps_per_epoch: int) -> TrainConfig:
    """config with --kimg turned into epochs of this data (config itself when --kimg=0): the
    same folder always gives the same count, so a resumed run stops where it would have."""
    if not config.kimg:
        return config
    epochs = epochs_for_kimg(config.kimg, steps_per_epoch, config.batch_size)
    per_epoch = steps_per_epoch * config.batch_size
    print(f"--kimg={config.kimg:g}: {epochs:,} epochs of {steps_per_epoch:,} steps of "
          f"{config.batch_size} ({per_epoch:,} images each, {epochs * per_epoch:,} in all; "
          f"--epochs is not used)")
    return config.replace(epochs=epochs)


def evaluation_due(config: TrainConfig, epoch: int, step: int, steps_per_epoch: int) -> bool:
    """Whether training evaluates after epoch `epoch` (0-based) ending at `step`: with
    --eval_every_kimg, at the first epoch end after each multiple of that many thousand images
    and at the run's last epoch; else every --eval_every_epochs epochs (0: never)."""
    if config.eval_every_kimg:
        every = config.eval_every_kimg * 1000.0
        seen = step * config.batch_size
        before = max(0, step - steps_per_epoch) * config.batch_size
        return (math.floor(seen / every + 1e-9) > math.floor(before / every + 1e-9)
                or epoch + 1 == config.epochs)
    return bool(config.eval_every_epochs) and (epoch + 1) % config.eval_every_epochs == 0


def epoch_work_due(share: float, trained_s: float, work_s: float, last_work_s: float) -> bool:
    """Whether one more round of per-epoch work keeps it within `share` of the run's time, a round
    kept in reserve for the run's end (always done): every epoch when epochs are long, every few
    epochs when one trains in a few seconds. `trained_s` and `work_s` are this process's totals,
    `last_work_s` what the last round cost (0 before the first, which is then always due)."""
    if share >= 1.0:
        return True
    return (work_s + 2.0 * last_work_s) * (1.0 - share) <= share * trained_s


class _Loop:
    """The per-step and per-epoch schedule of one train_and_evaluate call."""

    def __init__(self, config, workdir, gan, checkpoint, source, steps_per_epoch, heldout=None):
        self.config, self.workdir, self.gan = config, workdir, gan
        self.checkpoint, self.source, self.steps_per_epoch = checkpoint, source, steps_per_epoch
        self.heldout = heldout
        self.history = monitoring.History(
            rundir.path(workdir, rundir.HISTORY_FILE),
            monitoring.history_columns(gan.metric_names, heldout=heldout is not None)
            + evaluate_lib.HISTORY_METRICS)
        self.history.truncate_after(int(gan.step))
        self.summaries = monitoring.SummaryWriter(rundir.path(workdir, rundir.TENSORBOARD_DIR))
        self.fixed_noise = fixed_noise(config)
        real = source.images(min(len(self.fixed_noise), source.num_examples))
        self.collapse = monitoring.CollapseDetector(
            real_diversity=monitoring.coarse_diversity(real) if len(real) > 1 else None,
            real_mean=monitoring.coarse_mean(real) if len(real) > 1 else None)
        first_grid = rundir.sample_grid_path(workdir, 1)
        if os.path.isfile(first_grid):  # resumed: diversity is judged against epoch 1, as before
            self.collapse.first_diversity = monitoring.sample_diversity(
                plots.load_grid_tiles(first_grid))
        self.fixed_labels = fixed_labels(config, gan.attribute_frequencies,  # None: unconditional
                                         combinations=gan.attribute_combinations)
        self.last_save = clock()
        self.bad_steps = 0
        self.skipped_steps = 0
        self._rate_scale = None  # the --lr_decay share last given to the optimisers
        # With several workers a stop waits for the step's all-reduce to say that some worker
        # received a signal, so that all of them stop (and save together) after the same step.
        self.coordinate_stop = distribute.num_workers(gan.strategy) > 1
        self.stop_agreed = False
        self.epoch_end_row: Optional[dict[str, Any]] = None
        # The run's batch iterator (one pipeline over all epochs) and where it stands.
        self.run_batches, self.run_batches_at = None, None
        # The cost of the last round of per-epoch work (checkpoint, grid, plots, export).
        self.work_seconds = 0.0
        self.total_seconds = {"training": 0.0, "epoch work": 0.0}
        # Built once, at start: missing Inception weights fail now, not after the first epoch.
        self.feature_extractor = (evaluate_lib.make_feature_extractor(
            config.eval_metric_names, config.inception_weights or None)
            if config.eval_every_epochs or config.eval_every_kimg else None)
        # --holdout: the fixed image sets D's sign is watched on (as many of each), and the best
        # evaluation so far (a resumed run goes on from its record).
        count = min(SIGN_IMAGES, heldout.num_examples, source.num_examples) if heldout else 0
        self.sign_images = (source.images(count), heldout.images(count)) if heldout else None
        self.best = rundir.read_best(workdir) if heldout else None
        summary_path = rundir.path(workdir, rundir.MODEL_SUMMARY_FILE)
        if not os.path.isfile(summary_path):
            monitoring.write_model_summary(
                {"generator": gan.generator, "discriminator": gan.discriminator}, summary_path)

    def run(self, stop: GracefulStop) -> TrainResult:
        try:
            for epoch in range(int(self.gan.epoch), self.config.epochs):
                start = time.perf_counter()
                finished = self._run_epoch(epoch, stop)
                self.total_seconds["training"] += time.perf_counter() - start
                if not finished:
                    self._save()
                    return self._stopped(f"at epoch {epoch + 1}", epoch, stop)
                self._end_epoch(epoch,
                                last=epoch + 1 == self.config.epochs or self._must_stop(stop))
                if self._must_stop(stop) and epoch + 1 < self.config.epochs:
                    return self._stopped(f"after epoch {epoch + 1}", epoch + 1, stop)
        finally:
            # After a failed write, closing may fail the same way: the first error is the one.
            failing = sys.exc_info()[0] is not None
            with contextlib.suppress(OSError) if failing else contextlib.nullcontext():
                self.history.close()
            self.summaries.close()
            trained, work = self.total_seconds["training"], self.total_seconds["epoch work"]
            print(f"time: training {trained:.1f} s, per-epoch work (checkpoints, grids, plots, "
                  f"export) {work:.1f} s = {100 * work / max(trained + work, 1e-9):.1f} % "
                  f"(--epoch_work_share={self.config.epoch_work_share:g})")
        return TrainResult(self.workdir, int(self.gan.step), int(self.gan.epoch), "finished",
                           0, self.skipped_steps)

    def _must_stop(self, stop: GracefulStop) -> bool:
        """Whether to stop now: on this worker's own signal, or, with several workers, once a
        step's all-reduce has reported a signal on any of them (the same step on all)."""
        return self.stop_agreed if self.coordinate_stop else stop.requested

    def _stopped(self, where: str, epoch: int, stop: GracefulStop) -> TrainResult:
        step = int(self.gan.step)
        print(f"stopped {where}, step {step}; checkpoint saved. Resume with the same command "
              f"(python -m kerasgan.train --workdir={self.workdir}).")
        return TrainResult(self.workdir, step, epoch, "stopped", stop.exit_code,
                           self.skipped_steps)

    def _run_epoch(self, epoch: int, stop: GracefulStop) -> bool:
        """Trains the rest of one epoch; False when the run must stop first (a stop signal)."""
        config, gan = self.config, self.gan
        start_batch = int(gan.batch_in_epoch)
        dataset = self._batches(epoch, start_batch)
        self.last_batch = None
        window_start, window_steps = time.perf_counter(), 0
        with tqdm(total=self.steps_per_epoch, initial=start_batch, unit="step", leave=False,
                  desc=f"epoch {epoch + 1}/{config.epochs}", dynamic_ncols=True) as bar:
            for batch in dataset:
                if self._must_stop(stop):
                    return False
                previous_step = int(gan.step)
                if config.lr_decay != "none":
                    self._set_learning_rates(previous_step)
                metrics = gan.train_steps(batch, stop=stop.requested)
                self.stop_agreed |= float(metrics.pop("stop_votes")) > 0
                self.last_batch = batch
                step = int(gan.step)
                window_steps += step - previous_step
                losses = {name: float(metrics[name]) for name in ("d_loss", "g_loss")}
                self._check_finite(step, losses)
                bar.update(step - previous_step)
                if step % config.log_every == 0 or (int(gan.batch_in_epoch) == self.steps_per_epoch
                                                    and self._row_at_epoch_end(epoch, step)):
                    elapsed = time.perf_counter() - window_start
                    values = {k: float(v) for k, v in metrics.items()}
                    values["images_per_sec"] = window_steps * config.batch_size / max(elapsed, 1e-9)
                    self._log(epoch, step, values, bar)
                    window_start, window_steps = time.perf_counter(), 0
                if self._checkpoint_due(step):
                    self._save()
        return not self._must_stop(stop) or int(gan.batch_in_epoch) == self.steps_per_epoch

    def _row_at_epoch_end(self, epoch: int, step: int) -> bool:
        """Whether an epoch's last step gets a history row (and log line) of its own: when epochs
        are at least --log_every steps long, when an evaluation is due after it (its row holds
        the results) and after the last epoch. A small folder's few-step epochs are thus logged
        every --log_every steps, not at every epoch end."""
        config = self.config
        return (self.steps_per_epoch >= config.log_every or epoch + 1 == config.epochs
                or evaluation_due(config, epoch, step, self.steps_per_epoch))

    def _set_learning_rates(self, step: int) -> None:
        """--lr_decay: the rates for the next update, from the steps done of the whole run."""
        scale = schedule.learning_rate_scale(self.config.lr_decay, step,
                                             self.config.epochs * self.steps_per_epoch,
                                             self.config.lr_decay_start)
        if scale != self._rate_scale:  # an assignment costs a fraction of a 32 px CPU step
            self.gan.g_optimizer.learning_rate.assign(self.config.g_lr * scale)
            self.gan.d_optimizer.learning_rate.assign(self.config.d_lr * scale)
            self._rate_scale = scale

    def _batches(self, epoch: int, start_batch: int):
        """The epoch's batches from start_batch on, grouped k steps per call and split across
        replicas: images, or (images, labels) when conditional.

        One step per call (the default) draws them from one pipeline over the rest of the run,
        started once (ImageSource.epochs_dataset; the same batches as one pipeline per epoch):
        a small folder's few-step epochs would otherwise spend a third of their time starting
        pipelines. Several steps per call keep one per epoch, so that no call spans two epochs.
        """
        config, gan = self.config, self.gan
        count = self.steps_per_epoch - start_batch
        if config.steps_per_call == 1:
            if self.run_batches is None or self.run_batches_at != (epoch, start_batch):
                self.run_batches = iter(distribute.distribute_dataset(
                    distribute.group_steps(self.source.epochs_dataset(
                        config.batch_size, epoch, config.epochs, start_batch,
                        self.steps_per_epoch, gan.attribute_names), 1, int(gan.step)),
                    gan.strategy))
            self.run_batches_at = (epoch + 1, 0)
            return itertools.islice(self.run_batches, count)
        dataset = self.source.dataset(config.batch_size, epoch=epoch, start_batch=start_batch,
                                      attributes=gan.attribute_names).take(count)
        return distribute.distribute_dataset(
            distribute.group_steps(dataset, config.steps_per_call, int(gan.step)), gan.strategy)

    def _checkpoint_due(self, step: int, epoch_end: bool = False) -> bool:
        """Every --checkpoint_every_steps steps or --checkpoint_every_minutes since the last save,
        whichever comes first (0 turns either off); an epoch's last step is judged by _end_epoch
        (epoch_end), which saves with the per-epoch work or, when that is skipped, if due."""
        if not epoch_end and int(self.gan.batch_in_epoch) == self.steps_per_epoch:
            return False
        every, minutes = self.config.checkpoint_every_steps, self.config.checkpoint_every_minutes
        return bool((every and step % every == 0)
                    or (minutes and clock() - self.last_save >= 60.0 * minutes))

    def _save(self) -> str:
        try:
            path = self.checkpoint.save()
        except (OSError, tf.errors.OpError) as error:  # TensorFlow reports ENOSPC as an OpError
            raise _write_failed(self.workdir, self.checkpoint, error, "a checkpoint") from error
        self.last_save = clock()
        return path

    def _check_finite(self, step: int, losses: dict[str, float]) -> None:
        if all(math.isfinite(v) for v in losses.values()):
            self.bad_steps = 0
            return
        self.bad_steps += 1
        self.skipped_steps += 1
        shown = ", ".join(f"{k}={v}" for k, v in losses.items())
        if self.config.nan_policy == "skip_batch" and self.bad_steps <= self.config.max_bad_steps:
            tqdm.write(f"warning: non-finite loss at step {step} ({shown}): update skipped "
                       f"({self.bad_steps} in a row, at most {self.config.max_bad_steps})")
            return
        self.history.flush()
        kept = self.checkpoint.manager.latest_checkpoint or "none yet"
        raise TrainingDiverged(
            f"non-finite loss at step {step} ({shown}); training stopped, the last good checkpoint "
            f"is kept ({kept}). Try lower learning rates (--g_lr, --d_lr), another --loss "
            f"(wgan-gp, hinge), or turn mixed precision off.")

    def _log(self, epoch: int, step: int, values: dict[str, float], bar) -> None:
        if self.sign_images is not None:
            train, heldout = self.sign_images
            values.update(d_sign_train=self.gan.d_sign(train),
                          d_sign_heldout=self.gan.d_sign(heldout))
        batch = int(self.gan.batch_in_epoch)
        row = {"epoch": epoch + 1, "step": step, **values}
        if batch == self.steps_per_epoch:
            self.epoch_end_row = row  # written by _end_epoch, with the evaluation if one is due
        else:
            self.history.append(row)
        self.summaries.scalars(step, values)
        self.collapse.update(values)
        bar.set_postfix(monitoring.progress_postfix(values))
        tqdm.write(monitoring.format_log_line(epoch + 1, batch, values))

    def _end_epoch(self, epoch: int, last: bool) -> None:
        gan = self.gan
        gan.epoch.assign(epoch + 1)
        gan.batch_in_epoch.assign(0)
        logged = self.epoch_end_row is not None
        results = self._evaluate(epoch)
        if self.epoch_end_row is not None:
            self.history.append({**self.epoch_end_row, **{
                r["metric"]: r["value"] for r in results
                if r["metric"] in evaluate_lib.HISTORY_METRICS}})
            self.epoch_end_row = None
        self.history.flush()
        if last or results or epoch_work_due(
                self.config.epoch_work_share, self.total_seconds["training"],
                self.total_seconds["epoch work"], self.work_seconds):
            start = time.perf_counter()
            self._epoch_work(epoch, results)
            self.work_seconds = time.perf_counter() - start
            self.total_seconds["epoch work"] += self.work_seconds
        elif self._checkpoint_due(int(gan.step), epoch_end=True):
            self._save()
        if logged or results or last:
            tqdm.write(f"epoch {epoch + 1}/{self.config.epochs} done (step {int(gan.step)})")

    def _epoch_work(self, epoch: int, results: list[dict[str, Any]]) -> None:
        """Checkpoint, fixed-noise grid, D-output histogram, plots, collapse check, export."""
        gan, workdir = self.gan, self.workdir
        step = int(gan.step)
        checkpoint_path = self._save()
        if results:
            evaluate_lib.append_results(workdir, results, step, epoch + 1, checkpoint_path)
            self._keep_best(results, step, epoch)
        samples = gan.generate(self.fixed_noise, self.fixed_labels)
        plots.save_image_grid(samples, rundir.sample_grid_path(workdir, epoch + 1))
        self.summaries.image(step, "fixed_noise_samples", samples)
        if self.last_batch is not None:
            real = gan.last_batch(self.last_batch)
            real_probs = (gan.d_probabilities(*real) if gan.conditional
                          else gan.d_probabilities(real))
            fake_probs = gan.d_probabilities(samples, self.fixed_labels)
            self.summaries.histogram(step, "d_output/real", real_probs)
            self.summaries.histogram(step, "d_output/fake", fake_probs)
            plots.save_d_outputs(real_probs, fake_probs, epoch + 1, workdir)
            plots.plot_d_output_hist(real_probs, fake_probs, epoch + 1,
                                     rundir.d_output_hist_path(workdir, epoch + 1),
                                     self.config.loss)
        self.summaries.flush()
        plots.redraw(workdir, histograms=False)
        warning = self.collapse.end_epoch(epoch + 1, samples)
        if warning:
            tqdm.write(f"warning: {warning}")
        checkpointing.export_generator(gan.inference_generator,
                                       rundir.path(workdir, rundir.GENERATOR_FILE))

    def _evaluate(self, epoch: int) -> list[dict[str, Any]]:
        """The --eval_metrics results when an evaluation is due after this epoch, else []: of
        the held-out images in a --holdout run, of the training images otherwise."""
        config = self.config
        if not evaluation_due(config, epoch, int(self.gan.step), self.steps_per_epoch):
            return []
        real = self.heldout or self.source
        results = evaluate_lib.evaluate_generator(
            self.gan.inference_generator, config, config.eval_metric_names,
            config.eval_num_samples,
            inception_weights=config.inception_weights or None,
            feature_extractor=self.feature_extractor,
            cache_dir=rundir.path(self.workdir, rundir.STATS_FOLDER), seed=0, source=real)
        values = {r["metric"]: r["value"] for r in results}
        self.summaries.scalars(int(self.gan.step), {f"eval/{k}": v for k, v in values.items()})
        tqdm.write("evaluation: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items()))
        warning = self.collapse.evaluated(epoch + 1, values.get("swd_avg", math.nan))
        if warning:
            tqdm.write(f"warning: {warning}")
        return results

    def _keep_best(self, results: list[dict[str, Any]], step: int, epoch: int) -> None:
        """In a --holdout run, exports the inference generator to generator_best.keras (and its
        record to generator_best.json) when this evaluation's swd_avg is the lowest so far."""
        value = next((r["value"] for r in results if r["metric"] == "swd_avg"), None)
        if self.heldout is None or value is None or not math.isfinite(value):
            return
        if self.best is not None and value >= self.best["swd_avg"]:
            return
        path = rundir.path(self.workdir, rundir.GENERATOR_BEST_FILE)
        checkpointing.export_generator(self.gan.inference_generator, path)
        kimg = step * self.config.batch_size / 1000.0
        self.best = {"step": step, "epoch": epoch + 1, "kimg": kimg, "swd_avg": value}
        rundir.write_best(self.workdir, self.best)
        tqdm.write(f"best so far: swd_avg={value:.4g} on the held-out images at step {step} "
                   f"(epoch {epoch + 1}, {kimg:g} kimg), kept in {path}")
