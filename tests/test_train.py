"""End-to-end training: run-directory files, resume equal to an uninterrupted run, refusals."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import checkpointing, gan as gan_lib, rundir, train_lib
from kerasgan.errors import ConfigError, RunError
from conftest import train_in_two_runs


def _weights(workdir):
    _, generator, _ = checkpointing.load_run_generator(workdir)
    return [v.numpy() for v in generator.weights]


def test_one_train_step_gives_finite_metrics_and_moves_both_networks(tiny_config):
    gan = gan_lib.GAN(tiny_config)
    g_before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    metrics = gan.train_step(images)
    assert set(metrics) == set(gan_lib.METRIC_NAMES)
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert 0.0 <= float(metrics["d_real_acc"]) <= 1.0
    assert any(not np.array_equal(a, v.numpy())
               for a, v in zip(g_before, gan.generator.trainable_variables))
    assert any(not np.array_equal(a, v.numpy())
               for a, v in zip(d_before, gan.discriminator.trainable_variables))
    assert int(gan.step) == 1


# One unconditional step's outputs, computed on the code before conditional networks existed
# (commit e65dc3c) with the same configs and seeds: an unconditional run must be unchanged by them.
# Sums of the float variables of G and D (and of their squares) before and after the step, the
# inference generator's images for 4 fixed noise vectors (sum, sum of |x|), D's probabilities on
# the batch, and the checkpoint's variable keys (count, sha256 of the sorted keys).
BEFORE_CONDITIONING = {
    "dcgan_sn_hinge_r1_augment": dict(
        changes=dict(arch="dcgan", channels=16, d_norm="spectral", loss="hinge",
                     augment="color,translation", augment_p="0.5", r1_gamma=1.0, r1_interval=1),
        init=(96.7659893647342, 99.96702641389206), after=(92.57389670326256, 107.28567560849018),
        samples=(-5.015209197998047, 279.32952880859375), d_prob=4.5265607833862305,
        keys=(76, "bbce1acc28f110e2"),
        metrics=dict(d_loss=2.493732, g_loss=-0.2257305, d_real_loss=0.4966492,
                     d_fake_loss=1.2257304, d_real_acc=0.75, d_fake_acc=0.375, g_acc=0.625,
                     d_real_prob=0.6517912, d_fake_prob=0.5535625, d_real_sign=0.5,
                     augment_p=0.5)),
    "seed_wgangp_2dsteps": dict(
        changes=dict(arch="seed", channels=16, loss="wgan-gp", d_steps=2),
        init=(61.759633891284466, 108.29093653625958), after=(53.706219142026384, 94.0505348874979),
        samples=(-203.78244018554688, 1510.6204833984375), d_prob=4.174715042114258,
        keys=(62, "e02c6b353d635060"),
        metrics=dict(d_loss=1.5855354, g_loss=-0.1609918, d_real_loss=-0.0300508,
                     d_fake_loss=0.1113636, d_real_acc=0.25, d_fake_acc=0.5, g_acc=0.75,
                     d_real_prob=0.5064147, d_fake_prob=0.5271597)),
}


@pytest.mark.parametrize("name", sorted(BEFORE_CONDITIONING))
def test_an_unconditional_step_is_what_it_was_before_conditioning(name, tmp_path):
    import hashlib

    from kerasgan import config as config_lib
    want = BEFORE_CONDITIONING[name]
    config = config_lib.make_config(image_size=16, latent_dim=8, batch_size=8, seed=3,
                                    **want["changes"])
    gan = gan_lib.GAN(config)

    def checksums():
        values = [np.asarray(v.numpy(), np.float64)
                  for v in gan.generator.variables + gan.discriminator.variables
                  if "float" in str(v.dtype)]
        return sum(v.sum() for v in values), sum((v ** 2).sum() for v in values)

    np.testing.assert_allclose(checksums(), want["init"], rtol=1e-6)  # the same initial weights
    images = np.random.default_rng(5).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    metrics = {k: float(v) for k, v in gan.train_step(images).items()}
    assert set(metrics) == set(want["metrics"])
    for key, value in want["metrics"].items():
        assert metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
    np.testing.assert_allclose(checksums(), want["after"], rtol=1e-4)
    samples = gan.generate(gan_lib.fixed_noise(config, 4))
    np.testing.assert_allclose((samples.sum(), np.abs(samples).sum()), want["samples"],
                               rtol=1e-4, atol=1e-3)
    assert float(gan.d_probabilities(images).sum()) == pytest.approx(want["d_prob"], rel=1e-4)
    path = tf.train.Checkpoint(**gan.checkpoint_items()).write(str(tmp_path / "ckpt"))
    keys = sorted(key for key, _ in tf.train.list_variables(path))
    assert (len(keys), hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]) == want["keys"]


def test_wgan_gp_with_several_critic_steps_updates_the_critic_each_time(tiny_config):
    gan = gan_lib.GAN(tiny_config.replace(loss="wgan-gp", d_steps=3))
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    metrics = gan.train_step(images)
    assert np.isfinite(float(metrics["d_loss"]))
    assert int(gan.d_optimizer.iterations) == 3 and int(gan.g_optimizer.iterations) == 1


def test_a_non_finite_batch_leaves_the_weights_untouched(tiny_config):
    gan = gan_lib.GAN(tiny_config)
    images = np.zeros((8, 16, 16, 3), "float32")
    images[0, 0, 0, 0] = np.nan
    before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    metrics = gan.train_step(images)
    assert not np.isfinite(float(metrics["d_loss"]))
    assert all(np.array_equal(a, v.numpy())
               for a, v in zip(before, gan.discriminator.trainable_variables))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 2-epoch, 16 px synthetic run shared by the tests that only read its directory."""
    from kerasgan import config as config_lib
    workdir = str(tmp_path_factory.mktemp("finished") / "run")
    config = config_lib.make_config(
        image_size=16, latent_dim=8, batch_size=8, epochs=2, steps_per_epoch=3,
        dataset="synthetic", num_synthetic=32, num_grid_samples=4, log_every=1, workdir=workdir)
    result = train_lib.train_and_evaluate(config)
    return config, workdir, result


def test_two_epoch_run_writes_every_run_directory_file(finished_run):
    _, workdir, result = finished_run
    assert (result.status, result.step, result.epoch) == ("finished", 6, 2)
    for name in ("config.json", "history.csv", "generator.keras", "model_summary.txt",
                 "samples/epoch_0001.png", "samples/epoch_0002.png", "plots/losses.png",
                 "plots/progression.png", "plots/progression.gif",
                 "plots/d_output_hist_epoch_0002.png",
                 "checkpoints/checkpoint"):
        assert os.path.isfile(os.path.join(workdir, name)), name
    assert os.listdir(os.path.join(workdir, "tensorboard"))
    grid = tf.io.decode_png(tf.io.read_file(os.path.join(workdir, "samples/epoch_0002.png")))
    assert grid.shape[-1] == 3


def test_the_result_hands_back_the_trained_gan(finished_run):
    from kerasgan import plots
    from kerasgan.gan import fixed_noise

    config, workdir, result = finished_run
    assert int(result.gan.step) == 6 and "gan=" not in repr(result)
    last_grid = plots.load_grid_tiles(os.path.join(workdir, "samples/epoch_0002.png"))
    np.testing.assert_array_equal(plots.to_uint8(result.gan.generate(fixed_noise(config))),
                                  last_grid)


def test_config_json_rebuilds_the_run(finished_run):
    config, workdir, _ = finished_run
    with open(os.path.join(workdir, "config.json")) as f:
        assert json.load(f) == config.to_dict()


def test_history_has_one_row_per_step(finished_run):
    _, workdir, _ = finished_run
    with open(os.path.join(workdir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [int(r["epoch"]) for r in rows] == [1, 1, 1, 2, 2, 2]
    assert all(np.isfinite(float(r["d_loss"])) for r in rows)


def test_rerunning_a_finished_run_says_so(finished_run, capsys):
    config, workdir, _ = finished_run
    result = train_lib.train_and_evaluate(config)
    assert (result.status, result.exit_code, result.step) == ("already_finished", 0, 6)
    assert int(result.gan.step) == 6  # restored from the last checkpoint
    assert "already finished" in capsys.readouterr().out


def test_resume_equals_an_uninterrupted_run(tmp_path, tiny_config):
    config = tiny_config.replace(epochs=2, steps_per_epoch=2)
    straight = str(tmp_path / "straight")
    train_lib.train_and_evaluate(config.replace(workdir=straight))

    resumed = str(tmp_path / "resumed")
    train_in_two_runs(config, resumed)
    for a, b in zip(_weights(straight), _weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_resolve_config_keeps_the_stored_settings(tmp_path, tiny_config):
    workdir = str(tmp_path / "run")
    rundir.write_config(tiny_config.replace(workdir=workdir), workdir)
    config = train_lib.resolve_config(overrides={"workdir": workdir, "epochs": 5})
    assert (config.image_size, config.dataset, config.epochs) == (16, "synthetic", 5)


def test_a_run_with_another_image_size_is_refused(tmp_path, tiny_config):
    workdir = str(tmp_path / "run")
    rundir.write_config(tiny_config, workdir)
    with pytest.raises(RunError, match=r"image_size: 16 -> 32.*--overwrite"):
        train_lib.train_and_evaluate(tiny_config.replace(image_size=32), workdir)
    assert os.listdir(workdir) == ["config.json"]


def test_overwrite_moves_the_old_run_aside(tmp_path, tiny_config):
    workdir = str(tmp_path / "run")
    rundir.write_config(tiny_config.replace(latent_dim=4), workdir)
    train_lib.train_and_evaluate(tiny_config, workdir, overwrite=True)
    assert rundir.read_config(workdir).latent_dim == 8
    aside = [p for p in os.listdir(tmp_path) if p.startswith("run.old-")]
    assert len(aside) == 1 and os.listdir(tmp_path / aside[0]) == ["config.json"]
    assert rundir.read_config(str(tmp_path / aside[0])).latent_dim == 4


def test_more_steps_per_epoch_than_the_data_has_is_refused(tiny_config):
    with pytest.raises(ConfigError, match=r"--steps_per_epoch=9 .* use at most 4"):
        train_lib.train_and_evaluate(tiny_config.replace(steps_per_epoch=9))


def test_checkpoint_restores_every_generator_weight(finished_run):
    _, workdir, _ = finished_run
    exported = checkpointing.load_generator(os.path.join(workdir, "generator.keras"))
    restored = _weights(workdir)
    assert len(restored) == len(exported.weights)  # batch-norm moving statistics included
    for a, b in zip(restored, exported.weights):
        np.testing.assert_array_equal(a, b.numpy())


def test_a_resumed_run_trains_with_the_learning_rates_asked_for_now(tmp_path, tiny_config,
                                                                    monkeypatch):
    train_lib.train_and_evaluate(tiny_config)
    seen = {}
    original = gan_lib.GAN.train_steps

    def spy(gan, group, stop=False):
        seen["lr"] = (float(gan.g_optimizer.learning_rate), float(gan.d_optimizer.learning_rate))
        return original(gan, group, stop)
    monkeypatch.setattr(gan_lib.GAN, "train_steps", spy)
    train_lib.train_and_evaluate(tiny_config.replace(epochs=2, g_lr=3e-5, d_lr=2e-5))
    assert seen["lr"] == pytest.approx((3e-5, 2e-5))


def test_evaluation_during_training_lands_in_history_tensorboard_and_metrics_jsonl(
        tmp_path, tiny_config):
    config = tiny_config.replace(epochs=2, steps_per_epoch=2, eval_every_epochs=1,
                                 eval_metrics="swd", eval_num_samples=16)
    train_lib.train_and_evaluate(config)
    with open(os.path.join(config.workdir, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]  # no extra row for the evaluation
    assert [bool(r["swd_avg"]) for r in rows] == [False, True, False, True]
    assert all(np.isfinite(float(r["swd_avg"])) for r in rows if r["swd_avg"])
    with open(os.path.join(config.workdir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    assert {(line["metric"], line["step"], line["epoch"]) for line in lines} >= {
        ("swd_avg", 2, 1), ("swd_avg", 4, 2)}


def _simulate_epoch_work(share, epoch_s, work_s, epochs):
    """Rounds done and the work's share of the time, with every round costing work_s."""
    trained = work = last = 0.0
    rounds = 0
    for epoch in range(epochs):
        trained += epoch_s
        if epoch + 1 == epochs or train_lib.epoch_work_due(share, trained, work, last):
            work, last, rounds = work + work_s, work_s, rounds + 1
    return rounds, work / (trained + work)


@pytest.mark.parametrize("epoch_s", [0.1, 0.6, 3.0, 10.0])
def test_per_epoch_work_stays_within_its_share_however_short_the_epochs(epoch_s):
    epochs = int(round(60.0 / epoch_s))  # a minute of training; rounds of work cost 1.5 s
    rounds, fraction = _simulate_epoch_work(0.1, epoch_s, work_s=1.5, epochs=epochs)
    assert 0.06 <= fraction <= 0.1 + 1e-9
    assert rounds >= 3


def test_a_run_too_short_to_pay_for_it_gets_only_the_first_and_last_rounds():
    assert _simulate_epoch_work(0.1, epoch_s=0.1, work_s=1.5, epochs=50)[0] == 2


def test_per_epoch_work_runs_every_epoch_when_epochs_are_long():
    assert _simulate_epoch_work(0.1, epoch_s=30.0, work_s=1.5, epochs=20) == (20, 30.0 / 630.0)
    assert _simulate_epoch_work(1.0, epoch_s=0.1, work_s=1.5, epochs=20)[0] == 20


def test_per_epoch_work_is_always_due_before_its_cost_is_known():
    assert train_lib.epoch_work_due(0.1, trained_s=0.01, work_s=0.0, last_work_s=0.0)
