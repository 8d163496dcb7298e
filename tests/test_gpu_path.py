"""The GPU defaults on the CPU: every preset, and every stabiliser and conditioning option, trains
with XLA (--jit_compile=true) and in float16 (--mixed_precision=mixed_float16).

On a GPU --jit_compile=auto and --mixed_precision=auto turn both on. XLA compiles the same graph
for the CPU as for a GPU, so a step XLA refuses fails here, and float16's dtype mistakes fail on
any device. Compiling a step takes seconds, so each run is one preset with options added, two
steps of a tiny run (16 px, 8 channels, batch 4, built-in synthetic faces), and two processes
(tests/_gpu_path_runs.py) train half of the runs each, one core apiece. A preset whose tiny run is
another's with only the preset's name changed (celeba128 is celeba64 at 16 px, folder64 is
folder32) is covered by that run, and a test checks that the two configs still agree.
"""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kerasgan import config as config_lib, monitoring, rundir

XLA = dict(jit_compile="true")
FLOAT16 = dict(mixed_precision="mixed_float16")
GPU_DEFAULTS = {**XLA, **FLOAT16}
TINY = dict(image_size=16, channels=8, latent_dim=8, batch_size=4, epochs=1, steps_per_epoch=2,
            dataset="synthetic", num_synthetic=32, num_grid_samples=4, log_every=2, kimg=0.0,
            eval_every_kimg=0.0)
ATTRIBUTES = "Smiling,Pale_Skin"
# preset -> its run's modes and added options. The runs under the GPU defaults hold every option
# of OPTIONS; the others check XLA alone (GPUs before compute capability 7.0) and float16 alone
# (--jit_compile=false).
RUNS = {
    "folder32": dict(GPU_DEFAULTS, r1_gamma=1.0, r1_interval=2),
    "seed128": dict(GPU_DEFAULTS, conditional_attributes=ATTRIBUTES, g_conditioning="concat",
                    steps_per_call=2),
    "dcgan64": dict(GPU_DEFAULTS, conditional_attributes=ATTRIBUTES, g_conditioning="cbn",
                    loss="wgan-gp", d_steps=2, r1_gamma=1.0, r1_interval=1),
    "keras32": dict(XLA),
    "quick32": dict(FLOAT16, r1_gamma=1.0, r1_interval=2, steps_per_call=2),
    "celeba64": dict(GPU_DEFAULTS),
    "quick64": dict(XLA),
}
# preset -> the preset of RUNS whose run covers it: at 16 px they differ only in the image size
# that TINY replaces.
SAME_RUN = {"celeba128": "celeba64", "folder64": "folder32"}
# The two processes' shares, of about equal cost.
HALVES = (("folder32", "keras32", "celeba64"), ("dcgan64", "seed128", "quick32", "quick64"))
OPTIONS = {
    "augment with every operation": lambda c: c.augment == "color,translation,cutout",
    "lazy R1": lambda c: c.r1_gamma > 0 and c.r1_interval > 1,
    "per-step R1": lambda c: c.r1_gamma > 0 and c.r1_interval == 1,
    "spectral norm": lambda c: c.d_norm == "spectral",
    "wgan-gp": lambda c: c.loss == "wgan-gp" and c.d_steps > 1,
    "hinge": lambda c: c.loss == "hinge",
    "conditional, concat": lambda c: c.conditional_attributes and c.g_conditioning == "concat",
    "conditional, cbn": lambda c: c.conditional_attributes and c.g_conditioning == "cbn",
    "G's average": lambda c: c.g_ema,
    "steps_per_call > 1": lambda c: c.steps_per_call > 1,
    "seed networks": lambda c: c.arch == "seed",
    "resnet networks": lambda c: c.arch == "resnet",
    "held-out images": lambda c: c.holdout > 0,
}
# XLA's CPU code generation without LLVM's costly optimisations (a quarter less compile time): the
# graphs XLA takes or refuses are the same, and these runs execute two steps.
CHEAP_CODEGEN = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
LOSS_COLUMNS = ("d_loss", "g_loss", "d_real_loss", "d_fake_loss")


def run_config(preset, workdir):
    """The tiny run of a preset, with its RUNS modes and options."""
    return config_lib.make_config(preset, **{**TINY, **RUNS[preset], "workdir": str(workdir)})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Trains every run of RUNS, half in each of two processes; their directory."""
    out = tmp_path_factory.mktemp("gpu_path")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_gpu_path_runs.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               XLA_FLAGS=CHEAP_CODEGEN)
    logs = [open(out / f"worker{i}.log", "w+") for i in range(len(HALVES))]
    workers = [subprocess.Popen([sys.executable, script, str(out), *half], env=env, stdout=log,
                                stderr=subprocess.STDOUT) for half, log in zip(HALVES, logs)]
    try:
        for worker, log in zip(workers, logs):
            code = worker.wait(timeout=600)
            log.seek(0)
            assert code == 0, log.read()[-3000:]
    finally:
        for worker, log in zip(workers, logs):
            if worker.poll() is None:
                worker.kill()
            log.close()
    return out


def test_the_runs_cover_every_preset_and_option_under_the_gpu_defaults(tmp_path):
    assert set(RUNS) | set(SAME_RUN) == set(config_lib.PRESETS)
    assert set(RUNS) == {p for half in HALVES for p in half} and not set(RUNS) & set(SAME_RUN)
    configs = [run_config(preset, tmp_path) for preset in RUNS]
    gpu_defaults = [c for c in configs if (c.jit_compile, c.mixed_precision) == ("true",
                                                                                  "mixed_float16")]
    assert [name for name, used in OPTIONS.items() if not any(map(used, gpu_defaults))] == []
    assert {(c.jit_compile, c.mixed_precision) for c in configs} == {
        ("true", "mixed_float16"), ("true", "auto"), ("auto", "mixed_float16")}


@pytest.mark.parametrize("preset,covered_by", sorted(SAME_RUN.items()))
def test_a_preset_without_its_own_run_has_the_tiny_config_of_the_run_covering_it(preset,
                                                                                 covered_by):
    def tiny(name, **modes):
        return dataclasses.asdict(config_lib.make_config(name, **{**TINY, **modes,
                                                                  "workdir": "run"}))
    own, other = tiny(preset, **RUNS[covered_by]), tiny(covered_by, **RUNS[covered_by])
    assert {k: (own[k], other[k]) for k in own if own[k] != other[k]} == {
        "preset": (preset, covered_by)}
    assert config_lib.make_config(preset).image_size != config_lib.make_config(
        covered_by).image_size


@pytest.mark.parametrize("preset", sorted(RUNS))
def test_a_preset_trains_with_xla_and_float16(preset, runs):
    with open(runs / f"{preset}.json") as f:
        report = json.load(f)
    assert "error" not in report, report.get("error")
    config = run_config(preset, runs / preset)
    float16 = config.mixed_precision == "mixed_float16"
    assert (report["status"], report["step"], report["epoch"]) == ("finished", 2, 1)
    assert report["jit_compile"] == (config.jit_compile == "true")
    assert report["precision"] == ("mixed_float16" if float16 else "float32")
    assert report["compute_dtype"] == ("float16" if float16 else "float32")
    assert report["loss_scaled"] == float16
    assert report["images_dtype"] == "float32" and report["images_finite"]
    assert -1.0 <= report["images_range"][0] < report["images_range"][1] <= 1.0
    rows = monitoring.read_history(os.path.join(config.workdir, rundir.HISTORY_FILE))
    assert [row["step"] for row in rows] == [2]
    assert np.isfinite([rows[0][name] for name in LOSS_COLUMNS]).all(), rows[0]
    assert (rows[0].get("augment_p") is not None) == bool(config.augment)
    assert (rows[0].get("d_sign_heldout") is not None) == (config.holdout > 0)
    for path in (os.path.join(config.workdir, rundir.GENERATOR_FILE),
                 rundir.sample_grid_path(config.workdir, 1)):
        assert os.path.isfile(path), path
