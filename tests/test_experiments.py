"""The scripts under experiments/ still run and print what docs quote; each recipe folder's README
command is one the command line takes, and the folder recipe's trains end to end (tests named
*recipe*, so `pytest -k recipe` runs those)."""

import json
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from kerasgan import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", script), *args],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_train_quick_ends_with_the_summary_line():
    out = _run("bench_train.py", "--quick")
    assert re.search(r"\| kerasgan step \(--jit_compile=auto, --mixed_precision=auto: XLA False, "
                     r"float32\) \| [0-9.]+ \|", out), out
    last = out.strip().splitlines()[-1]
    values = re.fullmatch(r"speedup_vs_kerasio=([0-9.]+) speedup_vs_tutorial=([0-9.]+) "
                          r"peak_fraction=([0-9.]+)", last)
    assert values and all(float(v) > 0 for v in values.groups()), last


def test_profile_step_splits_the_op_time_by_kind():
    out = _run("profile_step.py", "--image_size=16", "--batch_size=8", "--steps=2")
    shares = [float(x) for x in re.findall(r"^  (?:conv|batch norm|activation|other)\s+"
                                           r"[0-9.]+ ms\s+([0-9.]+)%", out, re.M)]
    assert len(shares) == 4 and abs(sum(shares) - 100) < 0.5, out
    ratio = float(re.search(r"\(ratio ([0-9.]+)\)", out).group(1))
    assert 1.0 < ratio < 1.5


def test_bench_conv_layers_times_every_discriminator_convolution():
    out = _run("bench_conv_layers.py", "--image_size=16", "--batch_size=4", "--repeats=1")
    rows = re.findall(r"^\s+(\d+)x\d+\s+(\d+) -> (\d+)\s+forward\s+[0-9.]+\s+input grad\s+[0-9.]+"
                      r"\s+filter grad\s+[0-9.]+$", out, re.M)
    assert [(int(s), int(a), int(b)) for s, a, b in rows] == [(16, 3, 64), (8, 64, 128)], out
    assert "sub-pixel" in out and "padded to 16 channels" in out


def test_bench_checkpoint_times_saves_and_the_share_of_a_run():
    out = _run("bench_checkpoint.py", "--image_size=16", "--arch=dcgan", "--batch_size=4",
               "--saves=2", "--steps=1")
    assert re.search(r"^dcgan 16px: checkpoint [0-9.]+ MiB, first save [0-9.]+ s, median of 2 "
                     r"later saves [0-9.]+ s", out, re.M), out
    assert re.search(r"^train step \(batch 4\): [0-9.]+ s; defaults save every \d+ s", out, re.M)
    assert re.search(r"^GPU step of 30 ms: defaults save every 15 s: [0-9.]+ % of the run$", out,
                     re.M), out


def test_gpu_check_smoke_runs_the_four_modes_and_they_agree():
    out = _run("gpu_check.py", "--smoke")
    rows = re.findall(r"^\| quick32 \| (on|off) \| (on|off) \| [0-9.]+ \| [0-9.]+ \| \d+ \| "
                      r"[0-9.]+× \| [^|]+ \| (—|yes|\*\*no\*\*) \|$", out, re.M)
    assert rows == [("off", "off", "—"), ("on", "off", "yes"), ("off", "on", "yes"),
                    ("on", "on", "yes")], out


# ------------------------------------------------------------------------------------------------
# The recipe folders: each README's command is parsed by the train command's own flags; the CelebA
# recipes' commands are `--preset=NAME --data_dir=...`, and every preset trains (XLA, float16)
# in test_gpu_path, so only the folder recipe's command is run, for two steps at 16 px.

RECIPES = ("seed128", "keras32", "dcgan64", "own_faces")
TINY = ("--image_size=16", "--batch_size=8", "--steps_per_epoch=2", "--epochs=1",
        "--num_grid_samples=4", "--log_every=1")


def recipe_command(recipe):
    """The first `python -m kerasgan.train` line in the ```-block under the README's ## Command."""
    with open(os.path.join(ROOT, "experiments", recipe, "README.md"), encoding="utf-8") as file:
        section = file.read().split("## Command", 1)[1]
    block = section.split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.startswith("python -m kerasgan.train")]
    assert lines, f"experiments/{recipe}/README.md has no python -m kerasgan.train command"
    return shlex.split(lines[0])


def _parsed_config(command):
    """The TrainConfig that `python -m kerasgan.train ARGS` would start from: its flags parse
    ARGS (an unknown flag or a bad value raises), then preset and flags make the config."""
    from absl import flags
    from kerasgan import cli
    values = flags.FlagValues()
    cli.define_config_flags(flag_values=values)
    values(["train", *command[3:]])
    return cli.config_from_flags(values)


def _faces_folder(folder, count=16):
    """`count` small PNG faces in a folder, as a user's own face folder would hold (JPEG or PNG)."""
    from kerasgan import data, plots
    os.makedirs(folder)
    for index, face in enumerate(plots.to_uint8(data.synthetic_faces(np.arange(count), 32, 0))):
        Image.fromarray(face).save(os.path.join(folder, f"face_{index:03d}.png"))


def _run_recipe(recipe, tmp_path):
    command = recipe_command(recipe)
    assert command[:3] == ["python", "-m", "kerasgan.train"], command
    args = [arg for arg in command[3:] if not arg.startswith(("--data_dir=", "--dataset=",
                                                              "--workdir="))]
    if "--dataset=folder" in command or "--preset=folder32" in command:  # a user's folder
        _faces_folder(str(tmp_path / "faces"), count=40)  # 16 held out, 24 to train on
        data = ["--dataset=folder", f"--data_dir={tmp_path / 'faces'}",
                f"--cache_dir={tmp_path / 'cache'}", "--kimg=0.016"]  # two steps of 8
    else:  # CelebA is not here: the built-in synthetic faces instead
        data = ["--dataset=synthetic", "--num_synthetic=16"]
    workdir = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "kerasgan.train", *args, *data, *TINY,
                           f"--workdir={workdir}"], capture_output=True, text=True, env=env,
                          timeout=300, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("config.json", "checkpoints/checkpoint", "history.csv", "generator.keras",
                 "samples/epoch_0001.png", "plots/losses.png", "plots/progression.gif"):
        assert (workdir / name).is_file(), name
    with open(workdir / "config.json", encoding="utf-8") as file:
        return command, json.load(file)


@pytest.mark.parametrize("recipe,preset", [("seed128", "seed128"), ("keras32", "keras32"),
                                           ("dcgan64", "dcgan64")])
def test_recipe_celeba_command_is_its_preset_on_the_data_given(recipe, preset):
    command = recipe_command(recipe)
    assert command[:3] == ["python", "-m", "kerasgan.train"], command
    config = _parsed_config(command)
    assert config == config_lib.make_config(preset, data_dir="PATH_TO_CELEBA")
    assert config.dataset == "celeba" and config.preset == preset


def test_recipe_own_faces_command_trains_on_a_folder_of_images(tmp_path):
    command, config = _run_recipe("own_faces", tmp_path)
    assert "--preset=folder32" in command and config["dataset"] == "folder"
    assert config["data_dir"] == str(tmp_path / "faces") and config["holdout"] == 0.05
    assert (tmp_path / "run" / "generator_best.keras").is_file()


def test_recipe_readmes_mark_unrun_celeba_rows_and_quote_bench_train():
    for recipe in RECIPES:
        with open(os.path.join(ROOT, "experiments", recipe, "README.md"), encoding="utf-8") as f:
            text = f.read()
        assert "experiments/bench_train.py" in text and "experiments/recipe_costs.py" in text
        assert "not run yet" in text, recipe


def test_recipe_costs_prints_a_row_per_preset():
    out = _run("recipe_costs.py", "--presets=dcgan64,keras32", "--tflops=10", "--utilisation=0.5")
    rows = re.findall(r"^\| (dcgan64|keras32) \| (\d+) \|.*\| ([0-9.]+) GiB \| ([0-9,]+) \| "
                      r"([0-9.]+) \|$", out, re.M)
    assert [(name, int(size)) for name, size, *_ in rows] == [("dcgan64", 64), ("keras32", 32)]
    assert all(float(gib) > 1.0 and float(hours) > 0 for *_, gib, _, hours in rows)


def test_compare_draws_prints_both_ways_of_drawing_the_other_attributes(tmp_path):
    from kerasgan import config as config_lib, evaluate_lib, train_lib
    workdir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config_lib.make_config(
        dataset="synthetic", num_synthetic=200, image_size=16, latent_dim=8, batch_size=8,
        arch="dcgan", channels=16, epochs=1, steps_per_epoch=2, num_grid_samples=4,
        conditional_attributes="Black_Hair,Blond_Hair", workdir=workdir))
    evaluate_lib.evaluate_run(workdir, "attribute_accuracy", num_samples=8)
    out = _run("conditional32/compare_draws.py", f"--workdir={workdir}", "--num_seeds=16")
    assert "16 seeds each way" in out, out
    for name in ("Black_Hair", "Blond_Hair"):
        row = re.search(rf"^{name}\s+([0-9.]+)(\s+[0-9.]+ \([0-9.]+/[0-9.]+\)){{2}}$", out, re.M)
        assert row and 0.0 <= float(row.group(1)) <= 1.0, out
    assert re.search(r"^swd_avg\s+[0-9.]+\s+[0-9.]+$", out, re.M), out


def test_explore_truncation_prints_swd_and_diversity_per_psi(trained_run, tmp_path):
    grid = tmp_path / "truncation.png"
    out = _run("explore/truncation.py", f"--workdir={trained_run}", "--psi=1.0,0.5",
               "--num_samples=16", f"--grid={grid}")
    rows = re.findall(r"^\| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$", out, re.M)
    assert [psi for psi, _, _ in rows] == ["1", "0.5"], out
    assert float(rows[1][2]) < float(rows[0][2])  # truncated faces spread less
    assert Image.open(grid).size[1] > Image.open(grid).size[0] / 8  # two rows of eight


def test_explore_latency_times_the_served_page(trained_run):
    out = _run("explore/latency.py", f"--workdir={trained_run}", "--repeats=1", "--no_browser")
    assert re.search(r"^first load after the address: page HTML \d+ ms$", out, re.M), out
    assert re.search(r"^one face over Gradio's direct HTTP route .*: \d+ ms median, \d+ ms "
                     r"slowest; the generator alone: \d+ ms median", out, re.M), out
    assert re.search(r"^64-face grid over the direct HTTP route .*: \d+ ms median", out,
                     re.M), out
