"""G's moving average: the update rule against closed forms, its batch-norm statistics, its use."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import checkpointing, ema, gan as gan_lib, networks, rundir, train_lib
from kerasgan.config import TrainConfig
from kerasgan.labels import draw_labels


def test_beta_is_half_after_one_half_life():
    assert float(ema.ema_beta(32, 10**9, 10.0)) == pytest.approx(0.5 ** (32 / 10_000), rel=1e-6)
    beta = float(ema.ema_beta(1000, 10**9, 1.0))
    assert beta == pytest.approx(0.5, rel=1e-6)


def test_rampup_caps_the_half_life_at_a_share_of_the_images_seen():
    # 1,000 images seen, rampup 0.05: half-life 50 images instead of 10,000.
    assert float(ema.ema_beta(32, 1000, 10.0, rampup=0.05)) == pytest.approx(0.5 ** (32 / 50),
                                                                              rel=1e-6)
    assert float(ema.ema_beta(32, 10**8, 10.0, rampup=0.05)) == pytest.approx(
        0.5 ** (32 / 10_000), rel=1e-6)


def test_update_average_matches_the_closed_form_of_a_known_sequence():
    # a_T = beta^T a_0 + (1 - beta) sum_t beta^(T - t) w_t for weights w_1..w_T.
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((20, 3)).astype("float32")
    beta = 0.8
    average, current = tf.Variable(np.ones(3, "float32")), tf.Variable(np.zeros(3, "float32"))
    for w in weights:
        current.assign(w)
        ema.update_average([average], [current], beta)
    powers = beta ** np.arange(len(weights) - 1, -1, -1)
    expected = beta ** len(weights) * 1.0 + (1 - beta) * (powers[:, None] * weights).sum(0)
    np.testing.assert_allclose(average.numpy(), expected, rtol=1e-5)


def _config(**changes):
    values = dict(image_size=16, latent_dim=8, arch="dcgan", channels=32, batch_size=8)
    values.update(changes)
    return TrainConfig(**values)


def test_refreshed_statistics_are_the_averages_own_batch_statistics():
    config = _config()
    generator = networks.build_generator(config)
    average = networks.build_generator(config, name="average")
    averaged = ema.AveragedGenerator(average, generator, halflife_kimg=1.0, rampup=0.0)
    # Make the average differ from G so G's statistics would be wrong for it.
    for variable in average.trainable_variables:
        variable.assign(variable * 1.5 + 0.1)
    averaged.refresh_batch_statistics()
    z = averaged._noise
    inference = average(z, training=False).numpy()
    batch_stats = average(z, training=True).numpy()  # momentum 0: the same statistics again
    np.testing.assert_allclose(inference, batch_stats, atol=2e-3)
    assert ema.batchnorm_layers(average) and all(
        layer.momentum == 0.0 for layer in ema.batchnorm_layers(average))
    assert all(layer.momentum == 0.9 for layer in ema.batchnorm_layers(generator))


def test_the_average_trails_g_and_draws_the_runs_images():
    gan = gan_lib.GAN(_config(g_ema_kimg=0.1, g_ema_rampup=0.0))
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    start = [v.numpy().copy() for v in gan.generator.trainable_variables]
    for _ in range(3):
        gan.train_step(images)
    beta = 0.5 ** (8 / 100)
    g_now = [v.numpy() for v in gan.generator.trainable_variables]
    averaged = [v.numpy() for v in gan.averaged.model.trainable_variables]
    # Between the starting weights and G's current ones, never equal to G.
    assert any(not np.allclose(a, g) for a, g in zip(averaged, g_now))
    assert gan.inference_generator is gan.averaged.model
    assert 0 < beta < 1
    z = gan_lib.fixed_noise(gan.config, 4)
    expected = gan.averaged.model(z, training=False).numpy()
    np.testing.assert_allclose(gan.generate(z), expected, atol=1e-6)
    assert len(start) == len(averaged)


def test_without_g_ema_the_run_draws_from_g():
    gan = gan_lib.GAN(_config(g_ema=False))
    assert gan.averaged is None and gan.inference_generator is gan.generator
    assert "g_ema" not in gan.checkpoint_items()


def test_sample_uses_the_average_unless_raw(tmp_path):
    config = _config(dataset="synthetic", num_synthetic=32, epochs=1, steps_per_epoch=3,
                     num_grid_samples=4, log_every=1, g_ema_kimg=0.05, g_ema_rampup=0.0,
                     workdir=str(tmp_path / "run"))
    result = train_lib.train_and_evaluate(config)
    _, average, _ = checkpointing.load_run_generator(config.workdir)
    _, raw, _ = checkpointing.load_run_generator(config.workdir, raw=True)
    for mine, theirs in zip(average.trainable_variables,
                            result.gan.averaged.model.trainable_variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for mine, theirs in zip(raw.trainable_variables, result.gan.generator.trainable_variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    exported = checkpointing.load_generator(os.path.join(config.workdir, "generator.keras"))
    z = gan_lib.fixed_noise(config, 4)
    np.testing.assert_allclose(exported(z).numpy(), average(z).numpy(), atol=1e-5)


def test_a_run_from_before_g_ema_resumes_with_the_average_started_from_g(tmp_path, capsys):
    config = _config(dataset="synthetic", num_synthetic=32, epochs=1, steps_per_epoch=2,
                     num_grid_samples=4, log_every=1, g_ema=False, workdir=str(tmp_path / "run"))
    train_lib.train_and_evaluate(config)
    # An old config.json has no g_ema field at all: it must read as the run it was (no average).
    path = os.path.join(config.workdir, "config.json")
    with open(path) as f:
        stored = json.load(f)
    del stored["g_ema"], stored["epoch_work_share"]
    with open(path, "w") as f:
        json.dump(stored, f)
    assert rundir.read_config(config.workdir).g_ema is False
    capsys.readouterr()
    result = train_lib.train_and_evaluate(config.replace(g_ema=True, epochs=2))
    out = capsys.readouterr().out
    assert result.status == "finished" and result.step == 4
    assert "was written without it: G's moving average (--g_ema) starts from the restored G" in out
    assert "unreadable" not in out


def test_the_average_changes_nothing_in_training():
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    runs = []
    for g_ema in (False, True):
        gan = gan_lib.GAN(_config(g_ema=g_ema))
        metrics = [gan.train_step(images) for _ in range(2)][-1]
        runs.append(([v.numpy() for v in gan.generator.variables], float(metrics["g_loss"])))
    for off, on in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(off, on)
    assert runs[0][1] == runs[1][1]


def test_a_conditional_averages_statistics_come_from_fixed_labels_of_the_data_frequencies():
    config = _config(conditional_attributes="Smiling,Male")
    frequencies = (0.8, 0.25)
    generator = networks.build_generator(config, attribute_frequencies=frequencies)
    average = networks.build_generator(config, name="average", attribute_frequencies=frequencies)
    averaged = ema.AveragedGenerator(average, generator, halflife_kimg=1.0, rampup=0.0)
    for variable in average.trainable_variables:
        variable.assign(variable * 1.5 + 0.1)
    averaged.refresh_batch_statistics()
    z, labels = averaged._noise, averaged._labels
    np.testing.assert_array_equal(labels.numpy(), draw_labels(
        frequencies, range(ema.REFRESH_LABEL_SEED, ema.REFRESH_LABEL_SEED + ema.REFRESH_BATCH)))
    assert abs(float(np.mean(labels[:, 0])) - 0.8) < 0.1
    assert abs(float(np.mean(labels[:, 1])) - 0.25) < 0.1
    inference_mode = average((z, labels), training=False).numpy()
    batch_stats = average((z, labels), training=True).numpy()
    np.testing.assert_allclose(inference_mode, batch_stats, atol=2e-3)
