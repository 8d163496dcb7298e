"""Shared fixtures: tiny configs and deterministic TensorFlow (kerasgan keeps its start quiet)."""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import pytest  # noqa: E402

from kerasgan import config as config_lib  # noqa: E402


@pytest.fixture
def tiny_config(tmp_path):
    """A 16 px synthetic run small enough to train a few steps in seconds."""
    return config_lib.make_config(
        image_size=16, latent_dim=8, batch_size=8, epochs=1, steps_per_epoch=2,
        dataset="synthetic", num_synthetic=32, num_grid_samples=4, log_every=1,
        workdir=str(tmp_path / "run"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A finished two-step 16 px synthetic run (one per test process), for sample, evaluate and
    CLI tests, which only read it: they write what they make to folders of their own."""
    from kerasgan import train_lib
    workdir = str(tmp_path_factory.mktemp("trained") / "run")
    config = config_lib.make_config(image_size=16, latent_dim=8, batch_size=8, epochs=1,
                                    steps_per_epoch=2, dataset="synthetic", num_synthetic=16,
                                    num_grid_samples=4, workdir=workdir)
    train_lib.train_and_evaluate(config)
    return workdir


def train_in_two_runs(config, workdir):
    """Trains a 2-epoch, 2-steps-per-epoch config in workdir as two runs, the second resuming the
    first from its run directory alone (the command line's resume); checks where each ends."""
    from kerasgan import train_lib
    first = train_lib.train_and_evaluate(config.replace(workdir=workdir, epochs=1))
    assert (first.step, first.epoch) == (2, 1)
    second = train_lib.train_and_evaluate(
        train_lib.resolve_config(overrides={"workdir": workdir, "epochs": 2}))
    assert (second.step, second.epoch) == (4, 2)


def run_module(module, *args, cwd=None, timeout=300, path_first=None):
    """Runs `python -m module args` in a subprocess; returns the CompletedProcess (text mode).
    path_first: a folder searched before every other for imports."""
    import subprocess
    import sys
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if path_first:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path_first),
                                                          env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


@pytest.fixture
def cli():
    return run_module


@pytest.fixture(scope="session")
def cli_without_tensorflow(tmp_path_factory):
    """run_module where `import tensorflow` fails: for the refusals an entry point must make
    before it loads TensorFlow (seconds of start-up for a mistyped value otherwise)."""
    blocker = tmp_path_factory.mktemp("no_tensorflow")
    (blocker / "tensorflow").mkdir()
    (blocker / "tensorflow" / "__init__.py").write_text(
        'raise ImportError("TensorFlow was loaded before the value was checked")\n')

    def run(module, *args, cwd=None):
        return run_module(module, *args, cwd=cwd, path_first=blocker)
    return run
