"""train_and_evaluate(config, workdir): the training loop and its schedule, nothing else.

The CLI, the notebooks and the tests all call this one function. It owns the run directory:
config.json first, then checkpoints, samples, history, plots, TensorBoard events and the
exported generator. Calling it again on the same directory resumes where the last run stopped.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from typing import Any, Optional

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from kerasgan import checkpointing, data, distribute, evaluate_lib, monitoring, plots
from kerasgan.config import PRESETS, TrainConfig, make_config
from kerasgan.errors import ConfigError, DataError, RunError
from kerasgan.gan import GAN, fixed_noise
from kerasgan.interrupts import GracefulStop


class TrainingDiverged(RunError):
    """A loss became NaN or Inf; the message names the step and what to try."""


@dataclasses.dataclass
class TrainResult:
    """What a call of train_and_evaluate did: where it stopped and with which exit code, and the
    trained GAN (`result.gan.generate(z)`, `result.gan.generator`) for sampling without reloading."""

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
    if fresh or not os.path.isfile(os.path.join(workdir, checkpointing.CONFIG_FILE)):
        return new
    values = checkpointing.read_config(workdir).to_dict()
    if preset:
        values.update(PRESETS[preset], preset=preset)
    values.update(overrides, workdir=overrides.get("workdir", values["workdir"]))
    return TrainConfig.from_dict(values)


def prepare_workdir(config: TrainConfig, workdir: str, overwrite: bool = False) -> None:
    """Checks the run directory against config and writes config.json.

    A directory trained with a different model or data (IDENTITY_FIELDS) is refused with the
    differing fields listed; with overwrite it is moved aside (never deleted) and a new run starts.
    """
    config_path = os.path.join(workdir, checkpointing.CONFIG_FILE)
    if os.path.isfile(config_path):
        if overwrite:
            aside = f"{workdir.rstrip(os.sep)}.old-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(workdir, aside)
            print(f"moved the previous run aside to {aside}")
        else:
            stored = checkpointing.read_config(workdir)
            diff = stored.identity_diff(config)
            if diff:
                fields = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in diff.items())
                raise RunError(f"{workdir} holds a run with a different model or data ({fields}); "
                               "use another --workdir, or --overwrite to move it aside and "
                               "start afresh")
    try:
        os.makedirs(workdir, exist_ok=True)
        checkpointing.write_config(config, workdir)
    except OSError as error:
        raise RunError(f"cannot write the run directory {workdir}: {error.strerror}") from error


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
    try:
        return _train(config, run_dir, workdir, strategy, overwrite)
    finally:
        distribute.remove_worker_dir(workdir, strategy)


def _train(config: TrainConfig, run_dir: str, workdir: str, strategy, overwrite: bool
           ) -> TrainResult:
    prepare_workdir(config, workdir, overwrite)
    source = data.open_source(config)
    print(source.report())
    steps_per_epoch = _steps_per_epoch(config, source.num_examples)

    gan = GAN(config, strategy)
    checkpoint = checkpointing.RunCheckpoint(gan, workdir, config.max_to_keep)
    # Every worker resumes from the chief's checkpoints.
    restored = (checkpoint if workdir == run_dir
                else checkpointing.RunCheckpoint(gan, run_dir)).restore_latest()
    # The checkpoint holds the old learning rates; a resumed run must train with the ones asked
    # for now (lowering them is the first remedy for a diverged run).
    gan.g_optimizer.learning_rate = config.g_lr
    gan.d_optimizer.learning_rate = config.d_lr
    _check_free_space(gan, workdir, config.max_to_keep)
    start_epoch, step = int(gan.epoch), int(gan.step)
    if restored:
        print(f"resumed from {restored}: epoch {start_epoch + 1}, step {step}")
    generator_path = os.path.join(workdir, checkpointing.GENERATOR_FILE)
    if start_epoch >= config.epochs:
        if not os.path.isfile(generator_path):
            checkpointing.export_generator(gan.inference_generator, generator_path)
        print(f"{workdir} already finished: {start_epoch} of {config.epochs} epochs, step {step}. "
              f"Raise --epochs to train further.")
        return TrainResult(workdir, step, start_epoch, "already_finished", gan=gan)

    loop = _Loop(config, workdir, gan, checkpoint, source, steps_per_epoch)
    with GracefulStop() as stop:
        result = loop.run(stop)
    if result.status == "finished":
        print(f"finished {config.epochs} epochs ({result.step} steps); generator: {generator_path}")
    return dataclasses.replace(result, gan=gan)


def _steps_per_epoch(config: TrainConfig, num_examples: int) -> int:
    available = num_examples // config.batch_size
    if available == 0:
        raise DataError(f"only {num_examples} usable images, fewer than one batch of "
                        f"--batch_size={config.batch_size}")
    if config.steps_per_epoch > available:
        raise ConfigError(f"--steps_per_epoch={config.steps_per_epoch} is not allowed: the data "
                          f"has {available} batches of {config.batch_size}; use at most {available}")
    return config.steps_per_epoch or available


class _Loop:
    """The per-step and per-epoch schedule of one train_and_evaluate call."""

    def __init__(self, config, workdir, gan, checkpoint, source, steps_per_epoch):
        self.config, self.workdir, self.gan = config, workdir, gan
        self.checkpoint, self.source, self.steps_per_epoch = checkpoint, source, steps_per_epoch
        self.history = monitoring.History(
            os.path.join(workdir, "history.csv"),
            monitoring.history_columns(gan.metric_names) + evaluate_lib.HISTORY_METRICS)
        self.history.truncate_after(int(gan.step))
        self.summaries = monitoring.SummaryWriter(os.path.join(workdir, "tensorboard"))
        self.collapse = monitoring.CollapseDetector()
        first_grid = os.path.join(workdir, "samples", "epoch_0001.png")
        if os.path.isfile(first_grid):  # resumed: diversity is judged against epoch 1, as before
            self.collapse.first_diversity = monitoring.sample_diversity(
                plots.load_grid_tiles(first_grid))
        self.fixed_noise = fixed_noise(config)
        self.bad_steps = 0
        self.skipped_steps = 0
        # With several workers a stop waits for the step's all-reduce to say that some worker
        # received a signal, so that all of them stop (and save together) after the same step.
        self.coordinate_stop = distribute.num_workers(gan.strategy) > 1
        self.stop_agreed = False
        self.epoch_end_row: Optional[dict[str, Any]] = None
        # The per-epoch work (checkpoint, grid, plots, export) is skipped at an epoch end while
        # the training since the last one took less than (1 - share) / share times its cost.
        self.work_seconds = 0.0
        self.trained_seconds = 0.0
        self.total_seconds = {"training": 0.0, "epoch work": 0.0}
        # Built once, at start: missing Inception weights fail now, not after the first epoch.
        self.feature_extractor = (evaluate_lib.make_feature_extractor(
            config.eval_metrics, config.inception_weights or None)
            if config.eval_every_epochs else None)
        summary_path = os.path.join(workdir, "model_summary.txt")
        if not os.path.isfile(summary_path):
            monitoring.write_model_summary(
                {"generator": gan.generator, "discriminator": gan.discriminator}, summary_path)

    def run(self, stop: GracefulStop) -> TrainResult:
        try:
            for epoch in range(int(self.gan.epoch), self.config.epochs):
                start = time.perf_counter()
                finished = self._run_epoch(epoch, stop)
                self.trained_seconds += time.perf_counter() - start
                self.total_seconds["training"] += time.perf_counter() - start
                if not finished:
                    self.checkpoint.save()
                    return self._stopped(f"at epoch {epoch + 1}", epoch, stop)
                self._end_epoch(epoch, last=epoch + 1 == self.config.epochs or self._must_stop(stop))
                if self._must_stop(stop) and epoch + 1 < self.config.epochs:
                    return self._stopped(f"after epoch {epoch + 1}", epoch + 1, stop)
        finally:
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
        dataset = self.source.dataset(config.batch_size, epoch=epoch, start_batch=start_batch)
        dataset = dataset.take(self.steps_per_epoch - start_batch)
        # k steps per call, the global batch split across replicas.
        dataset = distribute.distribute_dataset(
            distribute.group_steps(dataset, config.steps_per_call, int(gan.step)), gan.strategy)
        self.last_batch = None
        window_start, window_steps = time.perf_counter(), 0
        with tqdm(total=self.steps_per_epoch, initial=start_batch, unit="step", leave=False,
                  desc=f"epoch {epoch + 1}/{config.epochs}", dynamic_ncols=True) as bar:
            for batch in dataset:
                if self._must_stop(stop):
                    return False
                previous_step = int(gan.step)
                metrics = gan.train_steps(batch, stop=stop.requested)
                self.stop_agreed |= float(metrics.pop("stop_votes")) > 0
                self.last_batch = batch
                step = int(gan.step)
                window_steps += step - previous_step
                losses = {name: float(metrics[name]) for name in ("d_loss", "g_loss")}
                self._check_finite(step, losses)
                bar.update(step - previous_step)
                if step % config.log_every == 0 or int(gan.batch_in_epoch) == self.steps_per_epoch:
                    elapsed = time.perf_counter() - window_start
                    values = {k: float(v) for k, v in metrics.items()}
                    values["images_per_sec"] = window_steps * config.batch_size / max(elapsed, 1e-9)
                    self._log(epoch, step, values, bar)
                    window_start, window_steps = time.perf_counter(), 0
                if step % config.checkpoint_every_steps == 0:
                    self.checkpoint.save()
        return not self._must_stop(stop) or int(gan.batch_in_epoch) == self.steps_per_epoch

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
        results = self._evaluate(epoch)
        if self.epoch_end_row is not None:
            self.history.append({**self.epoch_end_row, **{
                r["metric"]: r["value"] for r in results
                if r["metric"] in evaluate_lib.HISTORY_METRICS}})
            self.epoch_end_row = None
        self.history.flush()
        if last or results or self._epoch_work_due():
            start = time.perf_counter()
            self._epoch_work(epoch, results)
            self.work_seconds = time.perf_counter() - start
            self.total_seconds["epoch work"] += self.work_seconds
            self.trained_seconds = 0.0
        tqdm.write(f"epoch {epoch + 1}/{self.config.epochs} done (step {int(gan.step)})")

    def _epoch_work_due(self) -> bool:
        """Whether the per-epoch work fits its share of the run's time (config.epoch_work_share):
        always with long epochs, every few epochs when an epoch trains in a few seconds."""
        share = self.config.epoch_work_share
        return share >= 1.0 or self.trained_seconds * share >= self.work_seconds * (1.0 - share)

    def _epoch_work(self, epoch: int, results: list[dict[str, Any]]) -> None:
        """Checkpoint, fixed-noise grid, D-output histogram, plots, collapse check, export."""
        gan, workdir = self.gan, self.workdir
        step = int(gan.step)
        checkpoint_path = self.checkpoint.save()
        if results:
            evaluate_lib.append_results(workdir, results, step, epoch + 1, checkpoint_path)
        samples = gan.generate(self.fixed_noise)
        plots.save_image_grid(samples, os.path.join(workdir, "samples", f"epoch_{epoch + 1:04d}.png"))
        self.summaries.image(step, "fixed_noise_samples", samples)
        if self.last_batch is not None:
            real_probs = gan.d_probabilities(gan.last_batch(self.last_batch))
            fake_probs = gan.d_probabilities(samples)
            self.summaries.histogram(step, "d_output/real", real_probs)
            self.summaries.histogram(step, "d_output/fake", fake_probs)
            plots.save_d_outputs(real_probs, fake_probs, epoch + 1, workdir)
            plots.plot_d_output_hist(real_probs, fake_probs, epoch + 1, os.path.join(
                workdir, "plots", f"d_output_hist_epoch_{epoch + 1:04d}.png"))
        self.summaries.flush()
        plots.redraw(workdir, histograms=False)
        warning = self.collapse.end_epoch(epoch + 1, samples)
        if warning:
            tqdm.write(f"warning: {warning}")
        checkpointing.export_generator(gan.inference_generator,
                                       os.path.join(workdir, checkpointing.GENERATOR_FILE))

    def _evaluate(self, epoch: int) -> list[dict[str, Any]]:
        """The --eval_metrics results when an evaluation is due after this epoch, else []."""
        config = self.config
        if not config.eval_every_epochs or (epoch + 1) % config.eval_every_epochs:
            return []
        results = evaluate_lib.evaluate_generator(
            self.gan.inference_generator, config, config.eval_metrics, config.eval_num_samples,
            inception_weights=config.inception_weights or None,
            feature_extractor=self.feature_extractor,
            cache_dir=os.path.join(self.workdir, evaluate_lib.STATS_FOLDER), seed=0,
            source=self.source)
        values = {r["metric"]: r["value"] for r in results}
        self.summaries.scalars(int(self.gan.step), {f"eval/{k}": v for k, v in values.items()})
        tqdm.write("evaluation: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items()))
        return results
