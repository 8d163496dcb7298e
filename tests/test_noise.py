"""noise: seed -> z, and truncation ψ (z pulled toward the mean) in sample and evaluate."""

import math

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import checkpointing, evaluate_lib, noise, sample_lib
from kerasgan.errors import ConfigError
from test_cli import _one_line_error


def test_a_seed_gives_its_vector_however_many_are_drawn():
    alone = noise.seeded_noise([7], 16)
    among = noise.seeded_noise([3, 7, 11], 16)
    assert alone.dtype == np.float32 and alone.shape == (1, 16)
    np.testing.assert_array_equal(alone[0], among[1])
    np.testing.assert_array_equal(alone[0], np.random.default_rng(7).standard_normal(16)
                                  .astype(np.float32))


@pytest.mark.parametrize("psi", [1.0, 0.8, 0.5, 0.05])
def test_truncation_scales_z_toward_the_mean_keeping_its_direction(psi):
    z = noise.seeded_noise(range(4), 32)
    truncated = noise.truncate(z, psi)
    np.testing.assert_allclose(truncated, psi * z.astype(np.float64), rtol=1e-6)
    norms = np.linalg.norm(z, axis=1)
    np.testing.assert_allclose(np.linalg.norm(truncated, axis=1), psi * norms, rtol=1e-5)
    cosine = np.sum(z * truncated, axis=1) / (norms * np.linalg.norm(truncated, axis=1))
    np.testing.assert_allclose(cosine, 1.0, rtol=1e-6)


def test_no_truncation_leaves_the_noise_as_drawn():
    z = noise.seeded_noise(range(3), 8)
    np.testing.assert_array_equal(noise.truncate(z, 1.0), z)
    np.testing.assert_array_equal(noise.seeded_truncated_noise(range(3), 8, 1.0), z)


@pytest.mark.parametrize("psi", [0, -0.5, 1.01, 2, math.nan, "abc", None])
def test_truncation_outside_zero_one_is_refused_naming_the_flag(psi):
    with pytest.raises(ConfigError, match=r"--truncation=.* is not allowed: truncation ψ must "
                                          r"be in \(0, 1\]"):
        noise.check_truncation(psi)


def _png(path):
    return tf.io.decode_png(tf.io.read_file(path)).numpy().astype(int)


def test_sample_draws_truncated_faces_closer_to_the_average_face(trained_run, tmp_path):
    seeds = list(range(8))
    plain = [_png(p) for p in sample_lib.sample(workdir=trained_run, seeds=seeds,
                                                outdir=str(tmp_path / "plain"))]
    default = [_png(p) for p in sample_lib.sample(workdir=trained_run, seeds=seeds,
                                                  outdir=str(tmp_path / "one"), truncation=1.0)]
    low = [_png(p) for p in sample_lib.sample(workdir=trained_run, seeds=seeds,
                                              outdir=str(tmp_path / "low"), truncation=0.05)]
    assert all(np.array_equal(a, b) for a, b in zip(plain, default))
    assert not all(np.array_equal(a, b) for a, b in zip(plain, low))
    # Near ψ = 0 every seed draws nearly G(0): the faces spread far less than untruncated ones.
    assert np.std(np.stack(low), axis=0).mean() < 0.5 * np.std(np.stack(plain), axis=0).mean()


def test_sample_cli_refuses_a_bad_truncation_in_one_line(cli, trained_run, tmp_path):
    result = cli("kerasgan.sample", f"--workdir={trained_run}", "--truncation=0",
                 f"--outdir={tmp_path}")
    assert result.returncode == 2
    _one_line_error(result, "--truncation=0.0 is not allowed")


def test_evaluate_records_the_truncation_in_its_protocol(trained_run):
    config, generator, _ = checkpointing.load_run_generator(trained_run)
    plain = evaluate_lib.evaluate_generator(generator, config, "swd", num_samples=8)
    truncated = evaluate_lib.evaluate_generator(generator, config, "swd", num_samples=8,
                                                truncation=0.5)
    assert {r["protocol"]["truncation"] for r in plain} == {1.0}
    assert {r["protocol"]["truncation"] for r in truncated} == {0.5}
    by_metric = {r["metric"]: r["value"] for r in plain}
    assert {r["metric"]: r["value"] for r in truncated} != by_metric


def test_evaluate_refuses_truncation_with_attribute_accuracy(trained_run):
    with pytest.raises(ConfigError, match="truncation applies to swd, fid and kid"):
        evaluate_lib.evaluate_run(trained_run, "attribute_accuracy", truncation=0.7)
