"""The entry points as a user runs them: one-line errors, sampling by seed, exported generators."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import rundir, sample_lib
from kerasgan.errors import ConfigError


def _one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    # TensorFlow's own start-up lines (C++ logging) may precede ours; ours is exactly one line.
    error = [line for line in proc.stderr.splitlines()
             if line.startswith("error: ") or "Flags parsing error" in line]
    assert len(error) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in error[0], proc.stderr


@pytest.mark.parametrize("flag,fragments", [
    ("--image_size=100", ("--image_size=100", "16, 32, 64, 128, 256")),
    ("--loss=foo", ("--loss=foo", "nonsaturating, lsgan, wgan-gp, hinge")),
    ("--epochs=0", ("--epochs=0", "greater than 0")),
    ("--batch_size=-1", ("--batch_size=-1", "greater than 0")),
    ("--preset=huge", ("--preset=huge", "seed128, dcgan64, keras32")),
    ("--conditional_attributes=Smiling,,Male", ("--conditional_attributes=Smiling,,Male",
                                                "a name is empty")),
])
def test_train_rejects_a_bad_flag_in_one_line(cli, tmp_path, flag, fragments):
    proc = cli("kerasgan.train", "--dataset=synthetic", f"--workdir={tmp_path / 'run'}", flag)
    _one_line_error(proc, *fragments)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def train_help():
    from conftest import run_module
    proc = run_module("kerasgan.train", "--help")  # absl's --help exits 1 after printing
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_train_help_lists_every_config_flag(train_help):
    import dataclasses

    from kerasgan.config import TrainConfig
    listed = {line.split(":")[0].strip().replace("[no]", "") for line in train_help.splitlines()
              if line.startswith("  --")}
    wanted = {f"--{field.name}" for field in dataclasses.fields(TrainConfig)} | {"--overwrite"}
    assert wanted <= listed
    assert "--conditional_attributes: train G and D on the data's attributes" in train_help


def test_presets_in_help_readme_and_config_agree(train_help):
    """--preset's help, the README's preset table and config.PRESETS name the same recipes."""
    import re

    from kerasgan.config import PRESETS
    help_text = " ".join(train_help.split("  --preset:", 1)[1].split("  --")[0].split())
    in_help = set(re.findall(r"\b[a-z]+\d+\b", help_text))
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"),
                  encoding="utf-8").read()
    table = readme.split("| preset | size |", 1)[1].split("\n\n", 1)[0]
    in_readme = set(re.findall(r"^\| `(\w+)`", table, flags=re.MULTILINE))
    assert in_help == in_readme == set(PRESETS), (in_help, in_readme, sorted(PRESETS))


def test_train_rejects_a_non_numeric_flag(cli, tmp_path):
    proc = cli("kerasgan.train", "--epochs=two", f"--workdir={tmp_path / 'run'}")
    _one_line_error(proc, "--epochs=two")


def test_sample_on_a_run_without_checkpoint_says_so(cli_without_tensorflow, tmp_path,
                                                    tiny_config):
    workdir = str(tmp_path / "run")
    rundir.write_config(tiny_config, workdir)
    proc = cli_without_tensorflow("kerasgan.sample", f"--workdir={workdir}")
    _one_line_error(proc, "has no checkpoint yet")


def test_sample_on_a_missing_run_says_so(cli_without_tensorflow, tmp_path):
    proc = cli_without_tensorflow("kerasgan.sample", f"--workdir={tmp_path / 'nowhere'}")
    _one_line_error(proc, "not a kerasgan run directory")


@pytest.mark.parametrize("text,seeds", [("0-3", [0, 1, 2, 3]), ("7", [7]),
                                        ("1,5,9-10", [1, 5, 9, 10])])
def test_parse_seeds(text, seeds):
    assert sample_lib.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["a-b", "3-1", "1,,2", "-4"])
def test_bad_seeds_name_the_flag(text):
    with pytest.raises(ConfigError, match="--seeds="):
        sample_lib.parse_seeds(text)


def _read_png(path):
    return tf.io.decode_png(tf.io.read_file(path)).numpy()


def test_sample_cli_writes_one_png_per_seed_named_by_seed(cli, trained_run, tmp_path):
    out = tmp_path / "out"
    proc = cli("kerasgan.sample", f"--workdir={trained_run}", "--num_images=3", f"--outdir={out}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["seed0000.png", "seed0001.png", "seed0002.png"]
    assert _read_png(str(out / "seed0001.png")).shape == (16, 16, 3)
    assert "images/s" in proc.stdout


def test_the_same_seed_gives_the_same_face(trained_run, tmp_path):
    first = sample_lib.sample(workdir=trained_run, seeds=[5, 6], outdir=str(tmp_path / "a"))
    again = sample_lib.sample(workdir=trained_run, seeds=[6], outdir=str(tmp_path / "b"))
    np.testing.assert_array_equal(_read_png(first[1]), _read_png(again[0]))
    assert not np.array_equal(_read_png(first[0]), _read_png(first[1]))


def test_grid_writes_one_image(trained_run, tmp_path):
    paths = sample_lib.sample(workdir=trained_run, seeds=range(4), grid=True,
                              outdir=str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ["grid.png"]
    assert _read_png(paths[0]).shape[0] > 16


def test_exported_generator_samples_like_its_run(trained_run, tmp_path):
    from_run = sample_lib.sample(workdir=trained_run, seeds=[2], outdir=str(tmp_path / "run"))
    exported = os.path.join(trained_run, "generator.keras")
    from_file = sample_lib.sample(generator_path=exported, seeds=[2], outdir=str(tmp_path / "file"))
    np.testing.assert_array_equal(_read_png(from_run[0]), _read_png(from_file[0]))


def test_sample_needs_exactly_one_source():
    with pytest.raises(ConfigError, match="exactly one of --workdir"):
        sample_lib.sample()
