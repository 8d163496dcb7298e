"""Save, restore and export a run: tf.train.CheckpointManager over the whole training state.

A checkpoint holds the whole training state that `GAN.checkpoint_items()` lists: G, D, both
optimizers (slots included), the step/epoch/batch counters, the tf.random.Generator behind the
training noise and the augmentations, the Keras SeedGenerator states of the Dropout layers (which
tf.train.Checkpoint does not find by itself), G's moving average and the augmentation probability
when they are on, and under mixed_float16 the loss scalers' state: a restored run draws the same
noise and the same dropout masks, and scales its losses the same, as one that never stopped.

A checkpoint written before an option existed (G's average, say) lacks that item. It is not
damaged: the items it has are restored, the missing ones start afresh, and a line says so.
"""

from __future__ import annotations

import os
import zipfile
from typing import TYPE_CHECKING, Optional

import keras
import tensorflow as tf

from kerasgan import rundir
from kerasgan.config import TrainConfig
from kerasgan.errors import ConfigError, RunError
from kerasgan.fileio import atomic_target
from kerasgan.networks import Generator, build_generator

if TYPE_CHECKING:  # the training state is only passed in: reading a run never imports it
    from kerasgan.gan import GAN


class RunCheckpoint:
    """The checkpoints of one run directory.

    Args:
        gan: the training state to save and restore.
        workdir: the run directory; checkpoints go to workdir/checkpoints.
        max_to_keep: how many checkpoints stay on disk.
    """

    def __init__(self, gan: "GAN", workdir: str, max_to_keep: int = 3):
        self.gan = gan
        self.items = gan.checkpoint_items()
        self.checkpoint = tf.train.Checkpoint(**self.items)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, rundir.path(workdir, rundir.CHECKPOINT_DIR), max_to_keep=max_to_keep)

    def save(self) -> str:
        # G's average is saved with batch-norm statistics of its own (the ones sample will use).
        self.gan.inference_generator  # noqa: B018
        return self.manager.save(checkpoint_number=int(self.gan.step))

    def restore_latest(self) -> Optional[str]:
        """Restores the newest readable checkpoint (older ones if it is damaged); None if none.

        Items the checkpoint predates are initialised by the GAN, with a line saying so.
        """
        missing: list[str] = []

        def restore(path: str):
            present = checkpoint_items_in(path)
            missing[:] = [name for name in self.items if name not in present]
            kept = {name: item for name, item in self.items.items() if name in present}
            status = tf.train.Checkpoint(**kept).restore(path)
            unused = sorted(present - set(self.items)
                            - {"save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"})
            if unused:  # e.g. a mixed_float16 run's loss scale, resumed in float32
                print(f"note: {path} holds {', '.join(unused)}, which this run does not use")
                status.expect_partial()
            return status

        path = _restore_newest_readable(self.manager, restore, partial=False)
        if path is not None:
            for line in self.gan.initialise_missing(missing):
                print(f"note: {path} was written without it: {line}")
        return path


def checkpoint_items_in(path: str) -> set[str]:
    """The top-level item names a checkpoint holds (generator, g_ema, ...)."""
    return {name.split("/", 1)[0] for name, _ in tf.train.list_variables(path)}


def _restore_newest_readable(manager: tf.train.CheckpointManager, restore, partial: bool
                             ) -> Optional[str]:
    """Restores, with restore(path) -> status, the newest checkpoint that reads cleanly; None if
    there is none.

    A checkpoint that cannot be read (cut off while being written, corrupted on disk) is
    reported and the one before it is tried, so one bad file never costs the whole run.
    `choose(path)`, when given, says which tf.train.Checkpoint to restore it into and whether
    partially (values of the file that the run lacks are then not an error).
    """
    failures = []
    for path in reversed(manager.checkpoints):
        try:
            status = restore(path)
            (status.expect_partial() if partial else status).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            failures.append(f"{path}: {reason}")
            continue
        for failure in failures:
            print(f"warning: skipped unreadable checkpoint {failure}")
        return path
    if failures:
        raise RunError("no readable checkpoint: " + "; ".join(failures))
    return None


def export_generator(generator: Generator, path: str) -> None:
    """Saves the generator as a .keras file, atomically (a crash never leaves half a file). A
    conditional generator's attribute names and frequencies are in its config, so in the file."""
    with atomic_target(path) as tmp:
        generator.save(tmp)


def load_generator(path: str) -> Generator:
    """Loads an exported generator with Keras safe_mode on: nothing in the file is executed."""
    if not os.path.isfile(path):
        raise RunError(f"generator file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise RunError(f"{path} is not a Keras model file (.keras is a zip archive; "
                       "export one with kerasgan.train)")
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive.
        raise RunError(f"{path} could not be loaded as a kerasgan generator: "
                       f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
                       ) from error
    if not isinstance(model, Generator):
        raise RunError(f"{path} holds a {type(model).__name__}, not a kerasgan Generator")
    return model


def load_run_generator(workdir: str, raw: bool = False, step: Optional[int] = None
                       ) -> tuple[TrainConfig, Generator, str]:
    """The inference generator of a run's latest checkpoint, or of its kept checkpoint of `step`
    (G's moving average when the run keeps one and the checkpoint has it; G itself with raw),
    without building D or the optimizers. A conditional run's generator is rebuilt from
    config.json and attributes.json. Only reads the run directory: no lock, nothing written."""
    config, generator = build_run_generator(workdir)
    if step is not None:
        path = kept_checkpoint_path(workdir, step)
        restore_generator(generator, config, path, raw)
        return config, generator, path
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(generator=generator),
                                         rundir.path(workdir, rundir.CHECKPOINT_DIR),
                                         max_to_keep=None)
    path = _restore_newest_readable(manager, lambda p: _restore_status(generator, config, p, raw),
                                    partial=True)
    if path is None:
        raise rundir.no_checkpoint(workdir)
    return config, generator, path


def load_best_generator(workdir: str) -> tuple[TrainConfig, Generator, dict]:
    """A run's generator_best.keras (--best) with its record (rundir.read_best): the inference
    generator that scored the lowest swd_avg on the held-out images during training. RunError,
    one line, when the run has none and why."""
    config = rundir.read_config(workdir)
    path = rundir.path(workdir, rundir.GENERATOR_BEST_FILE)
    info = rundir.read_best(workdir)
    if not os.path.isfile(path) or info is None:
        if not config.holdout:
            why = "it was trained without held-out images (--holdout=0)"
        elif not (config.eval_every_kimg or config.eval_every_epochs):
            why = ("it does not evaluate during training (--eval_every_kimg=0, "
                   "--eval_every_epochs=0)")
        elif "swd" not in config.eval_metric_names:
            why = f"its --eval_metrics={config.eval_metrics} has no swd"
        else:
            why = "it has not been evaluated yet"
        raise RunError(f"--best: {workdir} has no {rundir.GENERATOR_BEST_FILE} (kept by runs that "
                       f"evaluate against held-out images while training): {why}; leave out "
                       "--best to use its latest checkpoint")
    return config, load_generator(path), info


def build_run_generator(workdir: str) -> tuple[TrainConfig, Generator]:
    """A run's generator as config.json (and attributes.json) describe it, weights not loaded."""
    config = rundir.read_config(workdir)
    frequencies, combinations = (), ()
    if config.attribute_names:
        frequencies, combinations = rundir.read_attributes(workdir, config)[1:]
    return config, build_generator(config, attribute_frequencies=frequencies,
                                   attribute_combinations=combinations)


def _restore_status(generator: Generator, config: TrainConfig, path: str, raw: bool):
    use_average = (config.g_ema and not raw) and "g_ema" in checkpoint_items_in(path)
    item = "g_ema" if use_average else "generator"
    return tf.train.Checkpoint(**{item: generator}).restore(path)


def restore_generator(generator: Generator, config: TrainConfig, path: str,
                      raw: bool = False) -> None:
    """Fills a run's generator (build_run_generator) from the checkpoint at path: its inference
    generator, or G with raw. RunError when the checkpoint is gone or cannot be read (training
    deletes all but the newest --max_to_keep)."""
    try:
        _restore_status(generator, config, path, raw).expect_partial() \
            .assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
        gone = not tf.io.gfile.exists(path + ".index")
        raise RunError(f"checkpoint {os.path.basename(path)} "
                       + ("is gone: training keeps only its newest checkpoints (--max_to_keep)"
                          if gone else "could not be read: "
                          + (str(error).splitlines()[0] if str(error) else type(error).__name__))
                       ) from error


def kept_checkpoints(workdir: str) -> list[tuple[int, str]]:
    """(step, path) of the checkpoints a run keeps now, oldest first ([] before the first one).
    Read afresh on every call, so a run that is still training shows its new ones."""
    folder = rundir.path(workdir, rundir.CHECKPOINT_DIR)
    state = tf.train.get_checkpoint_state(folder)
    kept = []
    # A CheckpointManager's checkpoints live in its folder, whatever the state file's paths say
    # (relative ones come back joined to the folder, absolute ones name where the run was).
    for name in (os.path.basename(p) for p in (state.all_model_checkpoint_paths if state else ())):
        path = os.path.join(folder, name)
        step = checkpoint_step(path)
        if step is not None and tf.io.gfile.exists(path + ".index"):
            kept.append((step, path))
    return kept


def checkpoint_step(path: str) -> Optional[int]:
    """The step a RunCheckpoint names its file by (RUN/checkpoints/ckpt-STEP); None for a name
    of another form."""
    number = os.path.basename(path).rsplit("-", 1)[-1]
    return int(number) if number.isdigit() else None


def kept_checkpoint_path(workdir: str, step: int) -> str:
    """The path of the run's kept checkpoint of `step`; ConfigError listing the kept steps when
    there is none (never a path built from the caller's text)."""
    kept = kept_checkpoints(workdir)
    for number, path in kept:
        if number == step:
            return path
    if not kept:
        raise rundir.no_checkpoint(workdir)
    raise ConfigError(f"--checkpoint={step} is not allowed: {workdir} keeps the checkpoints of "
                      f"steps {', '.join(str(number) for number, _ in kept)}")


def read_counters(checkpoint_path: str) -> tuple[int, int, int]:
    """(step, epochs done, batch_in_epoch) saved in a RunCheckpoint, read without building a GAN."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    return tuple(int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))
                 for name in ("step", "epoch", "batch_in_epoch"))


