"""Preemption, crashes and bad files: nothing lost, nothing silent (subprocesses, 16 px runs)."""

import csv
import errno
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import checkpointing, gan as gan_lib, monitoring, networks, rundir, train_lib
from kerasgan.errors import RunError

from conftest import train_in_two_runs

ARGS = ["--dataset=synthetic", "--image_size=16", "--latent_dim=8", "--batch_size=8",
        "--epochs=2", "--steps_per_epoch=6", "--num_synthetic=64", "--num_grid_samples=4",
        "--log_every=1", "--deterministic"]


def _train(workdir, *extra, env=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "kerasgan.train", *ARGS, f"--workdir={workdir}",
                           *extra], capture_output=True, text=True, env=env, timeout=300)


def _interrupt(workdir, signum, marker, *extra, env=None):
    """Starts training, sends `signum` once `marker` is printed; returns (returncode, stdout)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "kerasgan.train", *ARGS,
                             f"--workdir={workdir}", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            proc.send_signal(signum)
            break
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, "".join(seen) + out


def _history(workdir):
    """history.csv without the timing column, which no two runs share."""
    with open(os.path.join(workdir, "history.csv")) as f:
        return [{k: v for k, v in row.items() if k != "images_per_sec"}
                for row in csv.DictReader(f)]


def _checkpoint_values(workdir):
    path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(path)
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and not name.startswith("save_counter")}


def _assert_same_run(a, b):
    assert _history(a) == _history(b)
    values_a, values_b = _checkpoint_values(a), _checkpoint_values(b)
    assert values_a.keys() == values_b.keys()
    for name in values_a:
        np.testing.assert_array_equal(values_a[name], values_b[name], err_msg=name)


# Every stateful stabiliser, so that an interrupted run must restore each one's state exactly:
# ADA's probability (it moves at once with this target), lazy R1's phase, spectral norm's power
# iteration, G's moving average.
STABILISERS = ["--augment=color,translation,cutout", "--augment_p=auto", "--augment_kimg=0.05",
               "--augment_target=0.01",
               "--r1_gamma=1", "--r1_interval=2", "--d_norm=spectral", "--g_ema_kimg=0.05"]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """The uninterrupted run, with every stabiliser on, that interrupted ones must equal."""
    workdir = str(tmp_path_factory.mktemp("straight") / "run")
    proc = _train(workdir, *STABILISERS)
    assert proc.returncode == 0, proc.stderr
    return workdir


def test_sigterm_mid_epoch_then_resume_equals_an_uninterrupted_run(straight_run, tmp_path):
    workdir = str(tmp_path / "run")
    code, out = _interrupt(workdir, signal.SIGTERM, "[E01 | B3]", *STABILISERS)
    assert code == 0
    assert "SIGTERM received" in out and "Resume with the same command" in out
    stopped_at = len(_history(workdir))
    assert 3 <= stopped_at < 12  # mid-run, with a checkpoint at the very step it stopped on
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")).endswith(
        f"ckpt-{stopped_at}")
    proc = _train(workdir, *STABILISERS)
    assert proc.returncode == 0, proc.stderr
    assert "resumed from" in proc.stdout
    values = _checkpoint_values(straight_run)
    assert any(name.startswith("g_ema/") for name in values)
    assert any(name.startswith("augment_p/") for name in values)
    assert float(values["augment_p/.ATTRIBUTES/VARIABLE_VALUE"]) > 0  # it moved, and resumed
    _assert_same_run(straight_run, workdir)


def test_sigint_saves_and_exits_130(tmp_path):
    workdir = str(tmp_path / "run")
    code, out = _interrupt(workdir, signal.SIGINT, "[E01 | B2]")
    assert code == 130
    assert "SIGINT received" in out and "checkpoint saved" in out
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")) is not None


def test_kill_9_loses_at_most_the_steps_since_the_last_checkpoint(straight_run, tmp_path):
    workdir = str(tmp_path / "run")
    code, _ = _interrupt(workdir, signal.SIGKILL, "[E01 | B5]", "--checkpoint_every_steps=2",
                         *STABILISERS)
    assert code == -signal.SIGKILL
    latest = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    assert int(latest.rsplit("-", 1)[1]) >= 4
    proc = _train(workdir, "--checkpoint_every_steps=2", *STABILISERS)
    assert proc.returncode == 0, proc.stderr
    _assert_same_run(straight_run, workdir)  # rows after the restored step were dropped


def test_a_diverging_run_stops_with_the_step_and_keeps_its_checkpoint(tmp_path, tiny_config):
    config = tiny_config.replace(epochs=3, steps_per_epoch=2, checkpoint_every_steps=2)
    train_lib.train_and_evaluate(config.replace(epochs=1))
    with pytest.raises(train_lib.TrainingDiverged,
                       match=r"non-finite loss at step \d+ .*ckpt-2.*--g_lr, --d_lr"):
        train_lib.train_and_evaluate(config.replace(g_lr=1e30, d_lr=1e30))
    assert tf.train.latest_checkpoint(os.path.join(config.workdir, "checkpoints")).endswith(
        "ckpt-2")


def _nan_at(steps):
    """A GAN.train_steps that reports a NaN loss at the given steps, as a diverged step does."""
    original = gan_lib.GAN.train_steps

    def train_steps(gan, group, stop=False):
        metrics = original(gan, group, stop)
        if int(gan.step) in steps:
            metrics = dict(metrics, d_loss=tf.constant(float("nan")))
        return metrics
    return train_steps


def test_skip_batch_policy_skips_then_stops_after_too_many_in_a_row(monkeypatch, tiny_config):
    config = tiny_config.replace(epochs=1, steps_per_epoch=4, nan_policy="skip_batch",
                                 max_bad_steps=1)
    monkeypatch.setattr(gan_lib.GAN, "train_steps", _nan_at({2}))
    result = train_lib.train_and_evaluate(config)
    assert (result.status, result.skipped_steps) == ("finished", 1)
    monkeypatch.setattr(gan_lib.GAN, "train_steps", _nan_at({2, 3}))
    with pytest.raises(train_lib.TrainingDiverged, match="non-finite loss at step 3"):
        train_lib.train_and_evaluate(config.replace(workdir=config.workdir + "2"))


def test_the_stop_policy_stops_at_the_first_nan(monkeypatch, tiny_config):
    monkeypatch.setattr(gan_lib.GAN, "train_steps", _nan_at({1}))
    with pytest.raises(train_lib.TrainingDiverged, match="non-finite loss at step 1 "):
        train_lib.train_and_evaluate(tiny_config)


def test_a_signal_in_an_epochs_last_step_ends_that_epoch_then_stops(monkeypatch, tiny_config,
                                                                     capsys):
    """SIGTERM while the epoch's last step runs: the epoch ends as usual (grid, history row,
    checkpoint), the run stops before the next one, and a resume finishes the rest."""
    original = gan_lib.GAN.train_steps

    def train_steps(gan, group, stop=False):
        metrics = original(gan, group, stop)
        if int(gan.step) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return metrics
    monkeypatch.setattr(gan_lib.GAN, "train_steps", train_steps)
    config = tiny_config.replace(epochs=2, steps_per_epoch=2)
    result = train_lib.train_and_evaluate(config)
    assert (result.status, result.step, result.epoch, result.exit_code) == ("stopped", 2, 1, 0)
    assert "stopped after epoch 1, step 2; checkpoint saved" in capsys.readouterr().out
    assert os.path.isfile(os.path.join(config.workdir, "samples", "epoch_0001.png"))
    assert [row["step"] for row in _history(config.workdir)] == ["1", "2"]
    assert tf.train.latest_checkpoint(os.path.join(config.workdir, "checkpoints")).endswith(
        "ckpt-2")
    monkeypatch.setattr(gan_lib.GAN, "train_steps", original)
    result = train_lib.train_and_evaluate(config)
    assert (result.status, result.step, result.epoch) == ("finished", 4, 2)


def test_config_mismatch_is_refused_by_the_cli_listing_the_fields(tmp_path):
    workdir = str(tmp_path / "run")
    rundir.write_config(train_lib.resolve_config(overrides=dict(
        dataset="synthetic", image_size=16, workdir=workdir)), workdir)
    proc = _train(workdir, "--image_size=32", "--arch=dcgan")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "image_size: 16 -> 32" in proc.stderr and "arch: seed -> dcgan" in proc.stderr


@pytest.mark.parametrize("content", [
    b"", b"\x00\x01random bytes" * 50, pickle.dumps({"weights": [1, 2, 3]}),
])
def test_a_file_that_is_not_a_keras_model_is_refused(tmp_path, content):
    path = tmp_path / "generator.keras"
    path.write_bytes(content)
    with pytest.raises(RunError, match="is not a Keras model file"):
        checkpointing.load_generator(str(path))


def test_a_truncated_keras_file_is_refused(tmp_path, tiny_config):
    from kerasgan import networks
    generator, _ = networks.build_networks(16, 8, "seed")
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(RunError, match="generator"):
        checkpointing.load_generator(path)


def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path, tiny_config, capsys):
    config = tiny_config.replace(epochs=2, steps_per_epoch=2, checkpoint_every_steps=1)
    train_lib.train_and_evaluate(config)
    latest = tf.train.latest_checkpoint(os.path.join(config.workdir, "checkpoints"))
    with open(latest + ".data-00000-of-00001", "r+b") as f:
        f.truncate(10)
    gan = gan_lib.GAN(config)
    restored = checkpointing.RunCheckpoint(gan, config.workdir).restore_latest()
    assert restored.endswith("ckpt-3") and int(gan.step) == 3
    assert "skipped unreadable checkpoint" in capsys.readouterr().out


def test_an_unwritable_run_directory_fails_before_training(tmp_path, tiny_config):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match="cannot write the run directory"):
        train_lib.train_and_evaluate(tiny_config.replace(workdir=str(blocker / "run")))


def test_a_full_disk_fails_before_training(monkeypatch, tiny_config):
    import collections
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(train_lib.shutil, "disk_usage", lambda path: usage(1, 1, 1024))
    with pytest.raises(RunError, match="not enough free space"):
        train_lib.train_and_evaluate(tiny_config)
    assert not os.path.exists(os.path.join(tiny_config.workdir, "checkpoints", "checkpoint"))


def test_atomic_writes_leave_ordinary_permissions_and_no_temporary_files(tmp_path):
    from kerasgan import fileio
    path = tmp_path / "config.json"
    fileio.write_atomic(str(path), "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["config.json"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path):
    from kerasgan import fileio
    path = tmp_path / "history.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with fileio.atomic_target(str(path)) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["history.csv"]


# ---------------------------------------------------------------------------------------------
# Checkpoints by time, mixed precision, failed writes.

def _checkpoint_steps(workdir):
    state = tf.train.get_checkpoint_state(os.path.join(workdir, "checkpoints"))
    return [int(path.rsplit("-", 1)[1]) for path in state.all_model_checkpoint_paths]


@pytest.mark.parametrize("every_steps,expected", [(0, [3, 6, 8]), (5, [3, 5, 8])])
def test_checkpoints_by_time_or_steps_whichever_comes_first(monkeypatch, tiny_config,
                                                            every_steps, expected):
    """A fake clock that advances 4 minutes per step: with --checkpoint_every_minutes=10 a
    save is due 12 minutes after the last one (step 3, then 6); steps (every 5) restart the
    clock too; the epoch's end (step 8) always saves."""
    now = [0.0]
    monkeypatch.setattr(train_lib, "clock", lambda: now[0])
    original = gan_lib.GAN.train_steps

    def train_steps(gan, group, stop=False):
        now[0] += 4 * 60.0
        return original(gan, group, stop)
    monkeypatch.setattr(gan_lib.GAN, "train_steps", train_steps)
    config = tiny_config.replace(steps_per_epoch=8, num_synthetic=64, max_to_keep=10,
                                 checkpoint_every_minutes=10.0,
                                 checkpoint_every_steps=every_steps)
    train_lib.train_and_evaluate(config)
    assert _checkpoint_steps(config.workdir) == expected


def test_checkpoints_by_steps_alone_with_the_clock_off(monkeypatch, tiny_config):
    hours = iter(range(0, 10**6, 3600))  # an hour passes at every reading: never due by time
    monkeypatch.setattr(train_lib, "clock", lambda: float(next(hours)))
    config = tiny_config.replace(steps_per_epoch=5, num_synthetic=64, max_to_keep=10,
                                 checkpoint_every_minutes=0.0, checkpoint_every_steps=2)
    train_lib.train_and_evaluate(config)
    assert _checkpoint_steps(config.workdir) == [2, 4, 5]


def test_a_mixed_float16_run_resumed_equals_an_uninterrupted_run(tmp_path, tiny_config):
    """The loss scale (its value and its count of good steps) is checkpointed and restored, so a
    resumed float16 run takes the same steps. In this process, at 8 channels: how the run was
    stopped is the SIGTERM tests' part."""
    config = tiny_config.replace(arch="dcgan", channels=8, mixed_precision="mixed_float16",
                                 epochs=2, steps_per_epoch=2, num_synthetic=64)
    straight = str(tmp_path / "straight")
    train_lib.train_and_evaluate(config.replace(workdir=straight))
    workdir = str(tmp_path / "run")
    train_in_two_runs(config, workdir)
    scale = {k: v for k, v in _checkpoint_values(workdir).items() if k.startswith("loss_scale/")}
    assert any("step_counter" in name for name in scale) and any("scale" in n for n in scale)
    _assert_same_run(straight, workdir)


def test_a_checkpoint_restores_under_the_other_precision(tiny_config, capsys):
    train_lib.train_and_evaluate(tiny_config)  # float32: ckpt-2 without loss-scale state
    half = gan_lib.GAN(tiny_config.replace(mixed_precision="mixed_float16"))
    checkpoint = checkpointing.RunCheckpoint(half, tiny_config.workdir)
    assert checkpoint.restore_latest().endswith("ckpt-2") and int(half.step) == 2
    assert ("was written without it: the mixed_float16 loss scale starts afresh"
            in capsys.readouterr().out)
    half.step.assign(3)
    checkpoint.save()  # a float16 checkpoint, loss scale included
    full = gan_lib.GAN(tiny_config)
    assert checkpointing.RunCheckpoint(full, tiny_config.workdir).restore_latest().endswith(
        "ckpt-3")
    assert int(full.step) == 3
    assert "holds loss_scale, which this run does not use" in capsys.readouterr().out


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "injected")


@pytest.mark.parametrize("target", ["checkpoint", "history", "generator"])
def test_a_failed_write_stops_training_and_keeps_the_last_checkpoint(monkeypatch, tiny_config,
                                                                     target):
    config = tiny_config.replace(epochs=2, steps_per_epoch=2, checkpoint_every_steps=1,
                                 max_to_keep=10)
    train_lib.train_and_evaluate(config.replace(epochs=1))  # ckpt-1, ckpt-2, generator.keras
    if target == "checkpoint":
        save = tf.train.CheckpointManager.save
        monkeypatch.setattr(tf.train.CheckpointManager, "save", lambda manager, **kw: (
            _enospc() if kw.get("checkpoint_number") == 3 else save(manager, **kw)))
    elif target == "history":
        append = monitoring.History.append
        monkeypatch.setattr(monitoring.History, "append", lambda history, row: (
            _enospc() if row["step"] == 3 else append(history, row)))
    else:
        monkeypatch.setattr(networks.Generator, "save", _enospc)
    with pytest.raises(RunError, match=r"No space left on device\): training stopped; the last "
                                       r"checkpoint \(.*ckpt-\d\) .* are intact"):
        train_lib.train_and_evaluate(config)
    monkeypatch.undo()
    kept = _checkpoint_steps(config.workdir)[-1]
    assert kept == (4 if target == "generator" else 2)
    gan = gan_lib.GAN(config)
    assert checkpointing.RunCheckpoint(gan, config.workdir).restore_latest().endswith(
        f"ckpt-{kept}")
    checkpointing.load_generator(os.path.join(config.workdir, "generator.keras"))
    assert [row["step"] for row in _history(config.workdir)][:2] == ["1", "2"]
    assert not os.path.exists(os.path.join(config.workdir, rundir.LOCK_FILE))
    assert train_lib.train_and_evaluate(config).status in ("finished", "already_finished")
