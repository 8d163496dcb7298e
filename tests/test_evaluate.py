"""Evaluation: metric parsing, SWD/FID/KID of a generator, the stats cache, metrics.jsonl, the CLI.

FID/KID run end to end through a tiny random CNN in place of Inception: test values, not FID.
"""

import json
import math
import os
import re

import keras
import numpy as np
import pytest

from kerasgan import config as config_lib, data, evaluate_lib, metrics, networks, train_lib
from kerasgan.errors import ConfigError
from test_cli import _one_line_error

REQUIRED_KEYS = {"metric", "value", "step", "epoch", "num_samples", "protocol"}


class CountingExtractor:
    """A tiny random CNN behind InceptionFeatures, counting the images it sees."""

    def __init__(self):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Input((None, None, 3)),
                                  keras.layers.Conv2D(8, 5, strides=4, activation="relu"),
                                  keras.layers.GlobalAveragePooling2D()], name="tiny_cnn")
        self.features = metrics.InceptionFeatures(model=model, batch_size=64)
        self.id = self.features.id
        self.calls = []

    def __call__(self, images):
        self.calls.append(len(images))
        return self.features(images)


@pytest.fixture(scope="module")
def config32(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("eval") / "run")
    return config_lib.make_config(image_size=32, latent_dim=8, batch_size=8, epochs=1,
                                  steps_per_epoch=2, dataset="synthetic", num_synthetic=48,
                                  num_grid_samples=4, log_every=1, workdir=workdir)


@pytest.fixture(scope="module")
def generator32(config32):
    keras.utils.set_random_seed(0)
    generator = networks.Generator(image_size=32, latent_dim=8)
    generator(np.zeros((1, 8), "float32"))
    return generator


@pytest.fixture(scope="module")
def trained_run(config32):
    train_lib.train_and_evaluate(config32)
    return config32.workdir


@pytest.mark.parametrize("text,parsed", [("swd", ("swd",)), ("swd,fid,kid", ("swd", "fid", "kid")),
                                         (" KID, swd,kid ", ("kid", "swd"))])
def test_parse_metrics(text, parsed):
    assert evaluate_lib.parse_metrics(text) == parsed


@pytest.mark.parametrize("text", ["", "is", "swd,fdi", ",,"])
def test_bad_metrics_name_the_flag_and_the_allowed_values(text):
    with pytest.raises(ConfigError, match=f"--metrics={text} is not allowed: .*swd, fid, kid"):
        evaluate_lib.parse_metrics(text)


@pytest.mark.parametrize("field,value", [("eval_metrics", "fdi"), ("eval_every_epochs", -1),
                                         ("eval_num_samples", 1)])
def test_bad_eval_config_names_the_flag(field, value):
    with pytest.raises(ConfigError, match=f"--{field}={value}"):
        config_lib.make_config(**{field: value})


def test_swd_of_a_generator_is_finite_per_level_and_repeatable(generator32, config32):
    first = evaluate_lib.evaluate_generator(generator32, config32, "swd", num_samples=32)
    again = evaluate_lib.evaluate_generator(generator32, config32, "swd", num_samples=32)
    assert [r["metric"] for r in first] == ["swd_avg", "swd_32", "swd_16"]
    assert all(math.isfinite(r["value"]) and r["value"] > 0 for r in first)
    assert all(r["num_samples"] == 32 for r in first)
    assert [r["value"] for r in first] == [r["value"] for r in again]


def test_fid_and_kid_run_end_to_end_with_an_injected_extractor(generator32, config32, tmp_path):
    results = evaluate_lib.evaluate_generator(generator32, config32, "fid,kid", num_samples=32,
                                              feature_extractor=CountingExtractor(),
                                              cache_dir=str(tmp_path))
    values = {r["metric"]: r["value"] for r in results}
    assert set(values) == {"fid", "kid", "kid_std"}
    assert all(math.isfinite(v) for v in values.values()) and values["fid"] > 0
    assert all(r["protocol"]["test_only"] for r in results)
    assert results[0]["protocol"]["extractor"] == "custom-model:tiny_cnn"


def test_real_statistics_come_from_the_cache_the_second_time(generator32, config32, tmp_path,
                                                             monkeypatch):
    extractor = CountingExtractor()
    kwargs = dict(num_samples=32, feature_extractor=extractor, cache_dir=str(tmp_path))
    first = evaluate_lib.evaluate_generator(generator32, config32, "fid", **kwargs)
    assert extractor.calls == [32, 32]  # real, then generated
    assert first[0]["protocol"]["real_stats"] == "computed"

    def no_data(config):
        raise AssertionError("the real data was read again")

    monkeypatch.setattr(data, "open_source", no_data)
    second = evaluate_lib.evaluate_generator(generator32, config32, "fid", **kwargs)
    assert extractor.calls == [32, 32, 32]  # generated only
    assert second[0]["protocol"]["real_stats"] == "cached"
    assert second[0]["value"] == first[0]["value"]


def test_more_samples_than_real_images_uses_what_there_is_and_says_so(generator32, config32,
                                                                      capsys):
    results = evaluate_lib.evaluate_generator(generator32, config32, "swd", num_samples=100)
    assert {r["num_samples"] for r in results} == {48}
    assert "only 48 usable images" in capsys.readouterr().out


def test_evaluate_run_appends_one_json_line_per_value(trained_run):
    evaluate_lib.evaluate_run(trained_run, "swd", num_samples=16)
    evaluate_lib.evaluate_run(trained_run, "swd", num_samples=16, seed=1)
    with open(os.path.join(trained_run, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert len(lines) == 6
    assert all(REQUIRED_KEYS <= set(line) for line in lines)
    assert {(line["step"], line["epoch"], line["num_samples"]) for line in lines} == {(2, 1, 16)}
    assert lines[0]["metric"] == "swd_avg" and lines[0]["value"] != lines[3]["value"]


def test_real_synthetic_heldout_reproduces_the_readme_protocol(trained_run):
    """Seeds 0..N-1 against built-in faces from 100,000 on, SWD seed 0: what
    experiments/time_to_faces measures and the README quotes."""
    from kerasgan import checkpointing, sample_lib

    record = evaluate_lib.evaluate_run(trained_run, "swd", num_samples=64,
                                       real="synthetic_heldout")[0]
    config, generator, _ = checkpointing.load_run_generator(trained_run)
    held_out = data.synthetic_faces(np.arange(100_000, 100_064), config.image_size)
    expected = metrics.sliced_wasserstein_distance(sample_lib.generate(generator, range(64)),
                                                   held_out, seed=0)["swd_avg"]
    assert record["metric"] == "swd_avg" and record["value"] == pytest.approx(expected, rel=1e-6)
    assert record["protocol"]["real"]["part"] == {"part": "synthetic_heldout", "first": 100_000}


def test_real_synthetic_heldout_is_refused_where_it_cannot_apply(trained_run, tmp_path):
    with pytest.raises(ConfigError, match="--real=training is not allowed: use one of run, "
                                          "synthetic_heldout"):
        evaluate_lib.evaluate_run(trained_run, "swd", real="training")
    with pytest.raises(ConfigError, match="names the real images itself"):
        evaluate_lib.evaluate_run(trained_run, "swd", real="synthetic_heldout", split="test")
    folder_run = str(tmp_path / "folder_run")
    os.makedirs(folder_run)
    config = config_lib.make_config(dataset="folder", data_dir=str(tmp_path), image_size=16)
    with pytest.raises(ConfigError, match="trained on --dataset=folder"):
        data.open_synthetic_heldout(config, 4)
    with pytest.raises(ConfigError, match="reaches the held-out faces"):
        data.open_synthetic_heldout(config.replace(dataset="synthetic", num_synthetic=100_001), 4)


def test_cli_prints_a_table_and_writes_metrics_jsonl(cli, trained_run, tmp_path):
    stats = tmp_path / "stats"
    proc = cli("kerasgan.evaluate", f"--workdir={trained_run}", "--metrics=swd",
               "--num_samples=24", "--seed=7", f"--stats_dir={stats}")
    assert proc.returncode == 0, proc.stderr
    assert "swd_avg" in proc.stdout and "swd_16" in proc.stdout and "step 2, epoch 1" in proc.stdout
    assert re.search(r"generated 24 images in [0-9.]+ s \([0-9,.]+ images/s, batches of 64\)",
                     proc.stdout)
    with open(os.path.join(trained_run, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert any(line["num_samples"] == 24 and line["protocol"]["seed"] == 7 for line in lines)


def test_cli_rejects_a_bad_metric_in_one_line(cli, trained_run):
    _one_line_error(cli("kerasgan.evaluate", f"--workdir={trained_run}", "--metrics=swd,isc"),
                    "--metrics=swd,isc", "swd, fid, kid")


def test_cli_on_a_missing_run_says_so(cli_without_tensorflow, tmp_path):
    _one_line_error(cli_without_tensorflow("kerasgan.evaluate",
                                           f"--workdir={tmp_path / 'nowhere'}"),
                    "not a kerasgan run directory")


def test_cli_fid_without_the_inception_weights_says_what_to_pass(cli_without_tensorflow,
                                                                 trained_run):
    proc = cli_without_tensorflow("kerasgan.evaluate", f"--workdir={trained_run}", "--metrics=fid",
               "--inception_weights=/nonexistent.h5")
    _one_line_error(proc, "Inception weights file not found: /nonexistent.h5")
    assert proc.returncode == 2


def test_cli_with_a_missing_data_folder_says_so(cli, trained_run, tmp_path):
    proc = cli("kerasgan.evaluate", f"--workdir={trained_run}", "--dataset=folder",
               f"--data_dir={tmp_path / 'no_images'}")
    _one_line_error(proc, str(tmp_path / "no_images"))
    assert proc.returncode == 2


def test_attribute_accuracy_of_an_unconditional_run_is_refused_by_the_library(trained_run):
    with pytest.raises(ConfigError, match="--metrics=attribute_accuracy needs a conditional run"):
        evaluate_lib.evaluate_run(trained_run, ("swd", "attribute_accuracy"), num_samples=8)


def test_cli_attribute_accuracy_of_an_unconditional_run_is_one_line(cli_without_tensorflow,
                                                                    trained_run):
    _one_line_error(cli_without_tensorflow("kerasgan.evaluate", f"--workdir={trained_run}",
                        "--metrics=swd,attribute_accuracy"),
                    "--metrics=attribute_accuracy needs a conditional run", trained_run,
                    "without --conditional_attributes")
