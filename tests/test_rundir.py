"""The run directory: one trainer at a time (the lock), readers always allowed, failed starts
leave nothing behind."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from kerasgan import data, rundir, sample_lib, train_lib
from kerasgan.errors import ConfigError, DataError, RunError

ARGS = ["--dataset=synthetic", "--image_size=16", "--latent_dim=8", "--batch_size=8",
        "--epochs=2", "--steps_per_epoch=4", "--num_synthetic=32", "--num_grid_samples=4",
        "--log_every=1"]


def _start(workdir, *extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "kerasgan.train", *ARGS,
                             f"--workdir={workdir}", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(proc, marker):
    """Reads proc's stdout until a line holds marker; returns the lines read."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never printed: {''.join(seen)}{proc.stderr.read()}")


def _tree(root):
    """{relative path: bytes} of every file under root."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


# ---------------------------------------------------------------------------------------------
# The lock.

def test_a_second_lock_on_a_run_is_refused_naming_the_holder(tmp_path):
    workdir = str(tmp_path / "run")
    with rundir.RunLock(workdir):
        holder = rundir.RunLock(workdir).holder()
        assert holder["pid"] == os.getpid() and holder["host"] and holder["since"]
        with pytest.raises(RunError, match=rf"being trained by process {os.getpid()} on "):
            rundir.RunLock(workdir).acquire()
        with pytest.raises(RunError, match=rf"being trained by process {os.getpid()} on "):
            rundir.RunLock(workdir).check_free()
    assert os.listdir(workdir) == []  # released: the lock file goes with it
    rundir.RunLock(workdir).check_free()
    rundir.RunLock(str(tmp_path / "nowhere")).check_free()
    assert os.listdir(workdir) == [] and not os.path.exists(tmp_path / "nowhere")
    with rundir.RunLock(workdir):  # and the next trainer takes it at once
        assert os.listdir(workdir) == [rundir.LOCK_FILE]


def test_a_lock_file_left_by_a_dead_holder_is_not_a_lock(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / rundir.LOCK_FILE).write_text('{"pid": 999999, "host": "gone", "since": "x"}\n')
    rundir.RunLock(str(workdir)).check_free()
    with rundir.RunLock(str(workdir)) as lock:
        assert lock.holder()["pid"] == os.getpid()


def test_release_removes_only_a_directory_the_lock_created_and_that_holds_no_run(tmp_path):
    created = str(tmp_path / "new" / "run")
    rundir.RunLock(created).acquire().release(remove_created=True)
    assert not os.path.exists(created)
    existing = tmp_path / "existing"
    existing.mkdir()
    rundir.RunLock(str(existing)).acquire().release(remove_created=True)
    assert existing.is_dir() and not os.listdir(existing)
    lock = rundir.RunLock(created).acquire()
    rundir.write_config(train_lib.make_config(), created)
    lock.release(remove_created=True)
    assert os.listdir(created) == ["config.json"]


def test_sample_reads_a_run_while_a_trainer_holds_it(tmp_path, tiny_config):
    train_lib.train_and_evaluate(tiny_config)
    with rundir.RunLock(tiny_config.workdir):
        paths = sample_lib.sample(tiny_config.workdir, num_images=2, outdir=str(tmp_path / "out"))
        with pytest.raises(RunError, match="being trained by"):
            train_lib.train_and_evaluate(tiny_config.replace(epochs=2))
    assert len(paths) == 2


def test_two_trainers_on_one_directory_the_second_stops_at_once(tmp_path):
    """The first holds the run (paused by SIGSTOP, so it is surely still training); the second
    exits 2 within seconds naming its pid, before opening data; the first then finishes alone."""
    workdir = str(tmp_path / "run")
    first = _start(workdir)
    try:
        _wait_for(first, "[E01 | B2]")
        first.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        second = _start(workdir)
        out, err = second.communicate(timeout=120)
        elapsed = time.monotonic() - started
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"process {first.pid} on " in errors[0], err
    assert "images:" not in out  # refused before the data was opened
    assert elapsed < 60
    first.communicate(timeout=300)
    assert first.returncode == 0
    with open(os.path.join(workdir, rundir.HISTORY_FILE)) as f:
        assert [int(row["step"]) for row in csv.DictReader(f)] == list(range(1, 9))
    latest = tf.train.latest_checkpoint(os.path.join(workdir, rundir.CHECKPOINT_DIR))
    assert latest.endswith("ckpt-8")
    assert not os.path.exists(os.path.join(workdir, rundir.LOCK_FILE))


def test_a_trainer_on_a_held_run_stops_before_tensorflow_loads(cli_without_tensorflow, tmp_path):
    workdir = str(tmp_path / "run")
    with rundir.RunLock(workdir):
        proc = cli_without_tensorflow("kerasgan.train", *ARGS, f"--workdir={workdir}")
    assert proc.returncode == 2, proc.stderr
    assert f"being trained by process {os.getpid()} on " in proc.stderr
    assert os.listdir(workdir) == []


def test_after_kill_9_of_a_trainer_a_new_one_starts_at_once(tmp_path):
    workdir = str(tmp_path / "run")
    first = _start(workdir, "--checkpoint_every_steps=1")
    _wait_for(first, "[E01 | B2]")
    first.kill()
    first.communicate(timeout=60)
    assert os.path.exists(os.path.join(workdir, rundir.LOCK_FILE))  # stale file, no lock
    second = _start(workdir)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "resumed from" in out and "finished 2 epochs" in out


# ---------------------------------------------------------------------------------------------
# A failed start leaves nothing behind.

def test_a_train_whose_data_cannot_be_opened_leaves_no_run_directory(cli, tmp_path):
    workdir = tmp_path / "runs" / "run"
    proc = cli("kerasgan.train", "--dataset=folder", f"--data_dir={tmp_path / 'missing'}",
               "--image_size=16", f"--workdir={workdir}")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not (tmp_path / "runs").exists()  # nor the parent it had to create


def test_a_failed_start_leaves_an_existing_run_byte_identical(tmp_path, tiny_config,
                                                              monkeypatch):
    train_lib.train_and_evaluate(tiny_config)
    before = _tree(tiny_config.workdir)

    def unreadable(config):
        raise DataError("cannot read the images")
    monkeypatch.setattr(data, "open_source", unreadable)
    for overwrite in (False, True):  # --overwrite must not move it aside for a failed start
        with pytest.raises(DataError):
            train_lib.train_and_evaluate(tiny_config.replace(epochs=2, g_lr=1e-3),
                                         overwrite=overwrite)
        assert _tree(tiny_config.workdir) == before
    assert sorted(os.listdir(os.path.dirname(tiny_config.workdir))) == ["run"]


def test_a_refused_setting_of_a_new_run_leaves_no_directory(tmp_path, tiny_config):
    with pytest.raises(ConfigError, match="steps_per_epoch"):
        train_lib.train_and_evaluate(tiny_config.replace(steps_per_epoch=99))
    assert os.listdir(tmp_path) == []


def test_attributes_json_round_trips_and_a_damaged_one_is_one_line(tmp_path):
    workdir = str(tmp_path)
    assert not rundir.has_attributes(workdir)
    combinations = (("00", 0.4), ("11", 0.32), ("10", 0.16), ("01", 0.1))
    rundir.write_attributes(workdir, ("Smiling", "Male"), [0.48, 0.42], combinations)
    assert rundir.has_attributes(workdir)
    assert rundir.read_attributes(workdir) == (("Smiling", "Male"), (0.48, 0.42), combinations)
    # A run saved before combinations were kept reads as having none.
    with open(os.path.join(workdir, rundir.ATTRIBUTES_FILE), "w") as f:
        f.write('{"names": ["Smiling"], "frequencies": [0.5]}')
    assert rundir.read_attributes(workdir) == (("Smiling",), (0.5,), ())
    for content in ('{"names": ["Smiling"], "frequencies": [0.5, 0.5]}',
                    '{"names": ["Smiling"], "frequencies": [1.5]}', '{"names": ["Smiling"]}',
                    '{"names": ["Smiling"], "frequencies": [0.5], "combinations": [["01", 1.0]]}',
                    '{"names": ["Smiling"], "frequencies": [0.5], "combinations": 3}',
                    "not json"):
        with open(os.path.join(workdir, rundir.ATTRIBUTES_FILE), "w") as f:
            f.write(content)
        with pytest.raises(RunError, match=r"attributes.json is not a valid attributes file: ") \
                as error:
            rundir.read_attributes(workdir)
        assert "\n" not in str(error.value)
