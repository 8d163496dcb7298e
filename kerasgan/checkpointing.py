"""Save, restore and export a run: tf.train.CheckpointManager over the whole training state.

A checkpoint holds G, D, both optimizers (slots included), the step/epoch/batch counters, the
tf.random.Generator behind the training noise, the Keras SeedGenerator states of the Dropout
layers (which tf.train.Checkpoint does not find by itself) and, under mixed_float16, the loss
scalers' state: a restored run draws the same noise and the same dropout masks, and scales its
losses the same, as one that never stopped.
"""

from __future__ import annotations

import os
import zipfile
from typing import Optional

import keras
import tensorflow as tf

from kerasgan import rundir
from kerasgan.config import TrainConfig
from kerasgan.errors import RunError
from kerasgan.fileio import atomic_target
from kerasgan.gan import GAN
from kerasgan.networks import Generator

LOSS_SCALE = "loss_scale"  # the checkpoint's key for GAN.loss_scale_variables()


class RunCheckpoint:
    """The checkpoints of one run directory.

    Args:
        gan: the training state to save and restore.
        workdir: the run directory; checkpoints go to workdir/checkpoints.
        max_to_keep: how many checkpoints stay on disk.
    """

    def __init__(self, gan: GAN, workdir: str, max_to_keep: int = 3):
        self.gan = gan
        seed_states = {f"state_{i}": v for i, v in enumerate(gan.seed_generator_states())}
        items = dict(
            generator=gan.generator, discriminator=gan.discriminator,
            g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
            step=gan.step, epoch=gan.epoch, batch_in_epoch=gan.batch_in_epoch,
            noise=gan.noise, seed_generators=seed_states)
        # mixed_float16 adds the loss scalers' state; a checkpoint of the other precision still
        # restores everything else (restore_latest), so a run can change precision on resume.
        self.loss_scale = gan.loss_scale_variables()
        self.checkpoint = tf.train.Checkpoint(
            **items, **({LOSS_SCALE: self.loss_scale} if self.loss_scale else {}))
        self._without_loss_scale = tf.train.Checkpoint(**items)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, rundir.path(workdir, rundir.CHECKPOINT_DIR), max_to_keep=max_to_keep)

    def save(self) -> str:
        return self.manager.save(checkpoint_number=int(self.gan.step))

    def restore_latest(self) -> Optional[str]:
        """Restores the newest readable checkpoint (older ones if it is damaged); None if none."""
        return _restore_newest_readable(self.manager, partial=False, choose=self._for_precision)

    def _for_precision(self, path: str) -> tuple[tf.train.Checkpoint, bool]:
        """What to restore `path` into, and whether partially: the loss-scale state is restored
        when both sides have it, started afresh when only this run has it (a float32
        checkpoint) and left unread when only the checkpoint has it (resumed in float32)."""
        saved = any(name.startswith(LOSS_SCALE + "/") for name, _ in tf.train.list_variables(path))
        if saved == bool(self.loss_scale):
            return self.checkpoint, False
        if self.loss_scale:
            print(f"{os.path.basename(path)} was written without mixed_float16: the loss scale "
                  f"starts afresh")
            return self._without_loss_scale, False
        print(f"{os.path.basename(path)} was written under mixed_float16: its loss scale is not "
              f"used in {self.gan.precision}")
        return self.checkpoint, True


def _restore_newest_readable(manager: tf.train.CheckpointManager, partial: bool,
                             choose=None) -> Optional[str]:
    """Restores manager.checkpoint from the newest checkpoint that reads cleanly; None if none.

    A checkpoint that cannot be read (cut off while being written, corrupted on disk) is
    reported and the one before it is tried, so one bad file never costs the whole run.
    `choose(path)`, when given, says which tf.train.Checkpoint to restore it into and whether
    partially (values of the file that the run lacks are then not an error).
    """
    failures = []
    for path in reversed(manager.checkpoints):
        try:
            checkpoint, partial_here = (choose(path) if choose else (manager.checkpoint, partial))
            status = checkpoint.restore(path)
            (status.expect_partial() if partial_here else status).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
            failures.append(f"{path}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
            continue
        for failure in failures:
            print(f"warning: skipped unreadable checkpoint {failure}")
        return path
    if failures:
        raise RunError("no readable checkpoint: " + "; ".join(failures))
    return None


def export_generator(generator: Generator, path: str) -> None:
    """Saves the generator as a .keras file, atomically (a crash never leaves half a file)."""
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


def load_run_generator(workdir: str) -> tuple[TrainConfig, Generator, str]:
    """The generator of a run's latest checkpoint, without building D or the optimizers."""
    config = rundir.read_config(workdir)
    generator = Generator(image_size=config.image_size, latent_dim=config.latent_dim,
                          arch=config.arch, name="generator")
    generator(tf.zeros((1, config.latent_dim)))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(generator=generator),
                                         rundir.path(workdir, rundir.CHECKPOINT_DIR), max_to_keep=None)
    path = _restore_newest_readable(manager, partial=True)
    if path is None:
        raise _no_checkpoint(workdir)
    return config, generator, path


def read_counters(checkpoint_path: str) -> tuple[int, int, int]:
    """(step, epochs done, batch_in_epoch) saved in a RunCheckpoint, read without building a GAN."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    return tuple(int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))
                 for name in ("step", "epoch", "batch_in_epoch"))


def _no_checkpoint(workdir: str) -> RunError:
    return RunError(f"{workdir} has no checkpoint yet: train it first "
                    f"(python -m kerasgan.train --workdir={workdir})")
