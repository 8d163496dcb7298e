"""Run directories written by earlier code (tests/data/old_runs, made by its make.py on
2026-12-01) still load, draw the same faces and resume: the networks' layers, weights and
checkpoint keys are a promise to every run directory on a user's disk."""

import json
import os
import shutil

import numpy as np
import pytest

from kerasgan import checkpointing, images, sample_lib, train_lib

OLD_RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "old_runs")
NAMES = ("dcgan16", "seed16_conditional")


def _expected(name):
    return np.load(os.path.join(OLD_RUNS, name, "expected_seeds_0-3.npy"))


def _labels(generator):
    if not sample_lib.attribute_names_of(generator):
        return None
    return np.tile(np.array([[1.0, 0.0]], np.float32), (4, 1))  # Smiling=1, Pale_Skin=0


@pytest.mark.parametrize("name", NAMES)
def test_an_old_generator_file_draws_the_faces_it_drew(name):
    generator = checkpointing.load_generator(os.path.join(OLD_RUNS, name, "generator.keras"))
    drawn = images.to_uint8(sample_lib.generate(generator, [0, 1, 2, 3],
                                                labels=_labels(generator)))
    # Exact up to one level of rounding (float arithmetic may order differently).
    assert np.abs(drawn.astype(int) - _expected(name)).max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_an_old_checkpoint_loads_into_todays_generator(name):
    _, generator, path = checkpointing.load_run_generator(os.path.join(OLD_RUNS, name))
    assert os.path.basename(path) == "ckpt-2"
    drawn = images.to_uint8(sample_lib.generate(generator, [0, 1, 2, 3],
                                                labels=_labels(generator)))
    assert np.abs(drawn.astype(int) - _expected(name)).max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_an_old_run_directory_resumes(name, tmp_path, capsys):
    workdir = str(tmp_path / name)
    shutil.copytree(os.path.join(OLD_RUNS, name), workdir)
    result = train_lib.train_and_evaluate(
        train_lib.resolve_config(overrides={"workdir": workdir, "epochs": 2}))
    assert (result.step, result.epoch) == (4, 2)
    printed = capsys.readouterr().out
    assert "resum" in printed.lower() and "was written without" not in printed
    with open(os.path.join(workdir, "config.json")) as file:
        assert json.load(file)["epochs"] == 2
    assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-4.index"))
