"""Conditional training (--conditional_attributes): the step on (images, labels), the run
directory's attributes.json, loading and resuming a conditional run."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import checkpointing, config as config_lib, gan as gan_lib, inference, rundir
from kerasgan import train_lib
from kerasgan.errors import ConfigError, DataError, RunError
from kerasgan.labels import draw_labels
from conftest import train_in_two_runs
from test_cli import _one_line_error

NAMES = ("Smiling", "Pale_Skin")


def _config(**changes):
    values = dict(image_size=16, latent_dim=8, batch_size=8, arch="dcgan", channels=16,
                  conditional_attributes=",".join(NAMES))
    values.update(changes)
    return config_lib.make_config(**values)


def _batch(seed=0, batch=8):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (batch, 16, 16, 3)).astype("float32")
    labels = (rng.random((batch, len(NAMES))) < 0.5).astype("float32")
    return images, labels


class _RecordingGAN(gan_lib.GAN):
    """Remembers the labels G was last called with, how many D calls the step made and the
    largest difference between the labels of any D call and G's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.g_labels = tf.Variable(tf.zeros([self.config.batch_size, len(NAMES)]))
        self.d_calls = tf.Variable(0)
        self.d_label_error = tf.Variable(0.0)

    def _run_g(self, z, labels=None):
        self.g_labels.assign(labels)
        return super()._run_g(z, labels)

    def _run_d(self, images, labels=None):
        self.d_calls.assign_add(1)
        self.d_label_error.assign(tf.maximum(self.d_label_error,
                                             tf.reduce_max(tf.abs(labels - self.g_labels))))
        return super()._run_d(images, labels)


def test_fakes_and_every_d_call_get_the_real_batchs_labels():
    # wgan-gp and R1 at every step: D judges real, fake, the interpolates and R1's real images.
    gan = _RecordingGAN(_config(loss="wgan-gp", r1_gamma=1.0, r1_interval=1, augment="color",
                                augment_p="1"), attribute_frequencies=(0.3, 0.6))
    images, labels = _batch()
    g_before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    metrics = gan.train_step(images, labels)
    assert set(metrics) == set(gan_lib.METRIC_NAMES + gan_lib.AUGMENT_METRIC_NAMES)
    assert all(np.isfinite(float(v)) for v in metrics.values())
    np.testing.assert_array_equal(gan.g_labels.numpy(), labels)
    assert int(gan.d_calls) == 4 and float(gan.d_label_error) == 0.0
    assert all(not np.array_equal(a, v.numpy())
               for a, v in zip(g_before, gan.generator.trainable_variables))
    assert any(not np.array_equal(a, v.numpy())
               for a, v in zip(d_before, gan.discriminator.trainable_variables))


def test_the_labels_take_part_in_the_step():
    images, labels = _batch()
    losses = [float(gan_lib.GAN(_config()).train_step(images, y)["d_loss"])
              for y in (labels, 1.0 - labels)]
    assert losses[0] != pytest.approx(losses[1], rel=1e-4)


def test_k_conditional_steps_in_one_call_equal_k_single_calls():
    config = _config(d_steps=2)
    batches = [_batch(seed) for seed in range(3)]
    single, grouped = gan_lib.GAN(config), gan_lib.GAN(config)
    d_losses = [float(single.train_step(images, labels)["d_loss"]) for images, labels in batches]
    group = (np.stack([b[0] for b in batches], 1), np.stack([b[1] for b in batches], 1))
    metrics = grouped.train_steps(group)
    assert int(grouped.step) == 3
    np.testing.assert_allclose(float(metrics["d_loss"]), np.mean(d_losses), rtol=1e-5)
    for a, b in zip(single.generator.weights, grouped.generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_a_group_must_carry_labels_exactly_when_the_gan_is_conditional():
    images, labels = _batch()
    with pytest.raises(ValueError, match="conditional on Smiling, Pale_Skin: train it on "
                                         r"\(images, labels\) groups"):
        gan_lib.GAN(_config()).train_step(images)
    with pytest.raises(ValueError, match="not conditional: train it on image groups"):
        gan_lib.GAN(_config(conditional_attributes="")).train_step(images, labels)


def test_d_outputs_and_samples_of_a_conditional_gan():
    config = _config(g_ema=False)
    gan = gan_lib.GAN(config, attribute_frequencies=(0.9, 0.1))
    images, labels = _batch()
    group = (np.stack([images[::-1], images], 1), np.stack([labels[::-1], labels], 1))
    real_images, real_labels = gan.last_batch(group)
    np.testing.assert_array_equal(real_images, images)
    np.testing.assert_array_equal(real_labels, labels)
    expected = tf.sigmoid(gan.discriminator((images, labels), training=False)).numpy().ravel()
    np.testing.assert_allclose(gan.d_probabilities(real_images, real_labels), expected, rtol=1e-5)
    with pytest.raises(ConfigError, match="conditional on Smiling, Pale_Skin: give labels"):
        gan.d_probabilities(images)
    z = gan_lib.fixed_noise(config, 6)
    grid_labels = gan_lib.fixed_labels(config, gan.attribute_frequencies, 6)
    np.testing.assert_array_equal(grid_labels, draw_labels((0.9, 0.1), range(6)))
    np.testing.assert_allclose(gan.generate(z, grid_labels),
                               gan.generator((z, grid_labels), training=False).numpy(),
                               atol=1e-6)
    assert gan_lib.fixed_labels(config.replace(conditional_attributes=""), ()) is None


def test_a_conditional_step_compiles_with_xla_and_runs_in_mixed_float16():
    images, labels = _batch()
    for changes in (dict(jit_compile="true", d_norm="spectral"),
                    dict(mixed_precision="mixed_float16", loss="wgan-gp")):
        gan = gan_lib.GAN(_config(**changes))
        metrics = gan.train_step(images, labels)
        assert int(gan.step) == 1 and all(np.isfinite(float(v)) for v in metrics.values())
        assert gan.discriminator((images, labels)).dtype == "float32"


def test_frequencies_must_match_the_attributes():
    with pytest.raises(ValueError, match="3 attribute frequencies for the 2 attributes"):
        gan_lib.GAN(_config(), attribute_frequencies=(0.1, 0.2, 0.3))
    gan = gan_lib.GAN(_config())
    assert gan.attribute_frequencies == (0.5, 0.5)
    assert gan.generator.attribute_frequencies == (0.5, 0.5)


# --- The trainer, on the synthetic faces and their attribute labels ---------------------------


def _run_config(workdir, **changes):
    values = dict(dataset="synthetic", num_synthetic=32, epochs=1, steps_per_epoch=2,
                  num_grid_samples=4, log_every=1, workdir=str(workdir))
    values.update(changes)
    return _config(**values)


def test_a_conditional_run_keeps_its_attributes_and_is_rebuilt_from_its_directory(
        tmp_path):
    config = _run_config(tmp_path / "run")
    result = train_lib.train_and_evaluate(config)
    workdir = config.workdir
    source = train_lib.data.open_source(config)
    frequencies = source.attribute_frequencies(NAMES)
    assert 0.0 < frequencies.min() and frequencies.max() < 1.0  # both labels occur in the data
    with open(os.path.join(workdir, rundir.ATTRIBUTES_FILE)) as f:
        stored = json.load(f)
    assert stored["names"] == list(NAMES)
    np.testing.assert_allclose(stored["frequencies"], frequencies, rtol=1e-6)
    combinations = source.attribute_combinations(NAMES)
    assert [tuple(pair) for pair in stored["combinations"]] == list(combinations)
    assert sum(share for _, share in combinations) == pytest.approx(1.0)
    assert rundir.read_config(workdir).conditional_attributes == "Smiling,Pale_Skin"
    for name in ("samples/epoch_0001.png", "plots/d_output_hist_epoch_0001.png"):
        assert os.path.isfile(os.path.join(workdir, name)), name

    _, generator, _ = checkpointing.load_run_generator(workdir)
    exported = checkpointing.load_generator(os.path.join(workdir, rundir.GENERATOR_FILE))
    for loaded in (generator, exported):
        assert loaded.attribute_names == NAMES
        np.testing.assert_allclose(loaded.attribute_frequencies, frequencies, rtol=1e-6)
        assert loaded.attribute_combinations == combinations
    z = gan_lib.fixed_noise(config)
    labels = gan_lib.fixed_labels(config, frequencies, combinations=combinations)
    np.testing.assert_array_equal(labels, draw_labels(frequencies, gan_lib.grid_seeds(config),
                                                      combinations))
    drawn = result.gan.generate(z, labels)
    np.testing.assert_allclose(inference.generate(generator, z, labels=labels), drawn, atol=1e-5)
    np.testing.assert_allclose(inference.generate(exported, z, labels=labels), drawn, atol=1e-5)


def test_resume_of_a_conditional_run_equals_an_uninterrupted_one(tmp_path):
    config = _run_config(tmp_path / "straight", epochs=2)
    train_lib.train_and_evaluate(config)
    resumed = str(tmp_path / "resumed")
    train_in_two_runs(config, resumed)
    for raw in (False, True):
        straight = checkpointing.load_run_generator(config.workdir, raw=raw)[1]
        again = checkpointing.load_run_generator(resumed, raw=raw)[1]
        for a, b in zip(straight.weights, again.weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    rows = [open(os.path.join(d, rundir.HISTORY_FILE)).read().splitlines()
            for d in (config.workdir, resumed)]
    assert len(rows[0]) == len(rows[1]) == 5


def test_other_attributes_or_an_attribute_the_data_lacks_are_refused_before_writing(
        tmp_path):
    with pytest.raises(DataError, match="unknown attribute Eyeglasses for synthetic; its "
                                        "attributes are Bangs, Black_Hair"):
        train_lib.train_and_evaluate(_run_config(tmp_path / "new",
                                                 conditional_attributes="Smiling,Eyeglasses"))
    assert not (tmp_path / "new").exists()
    workdir = tmp_path / "run"
    rundir.write_config(_run_config(workdir), str(workdir))
    with pytest.raises(RunError,
                       match=r"conditional_attributes: Smiling,Pale_Skin -> Pale_Skin.*overwrite"):
        train_lib.train_and_evaluate(_run_config(workdir, conditional_attributes="Pale_Skin"))
    assert os.listdir(workdir) == ["config.json"]


def test_a_conditional_run_without_attributes_json_cannot_be_loaded(tmp_path):
    config = _run_config(tmp_path / "run")
    train_lib.train_and_evaluate(config)
    os.remove(os.path.join(config.workdir, rundir.ATTRIBUTES_FILE))
    with pytest.raises(RunError, match="attributes.json is missing: a conditional run keeps its "
                                       "attribute names and frequencies there"):
        checkpointing.load_run_generator(config.workdir)
    rundir.write_attributes(config.workdir, ["Pale_Skin", "Smiling"], [0.5, 0.5])
    with pytest.raises(RunError, match="names Pale_Skin,Smiling, but the run's config.json has "
                                       "conditional_attributes=Smiling,Pale_Skin"):
        checkpointing.load_run_generator(config.workdir)


def test_a_run_saved_before_combinations_were_kept_resumes_drawing_labels_as_before(tmp_path):
    config = _run_config(tmp_path / "run")
    train_lib.train_and_evaluate(config)
    frequencies = rundir.read_attributes(config.workdir)[1]
    with open(os.path.join(config.workdir, rundir.ATTRIBUTES_FILE), "w") as f:
        json.dump({"names": list(NAMES), "frequencies": list(frequencies)}, f)
    result = train_lib.train_and_evaluate(config.replace(epochs=2))
    assert int(result.gan.step) == 4 and result.gan.attribute_combinations == ()
    with open(os.path.join(config.workdir, rundir.ATTRIBUTES_FILE)) as f:
        assert json.load(f)["combinations"] == []
    generator = checkpointing.load_run_generator(config.workdir)[1]
    assert generator.attribute_combinations == ()
    np.testing.assert_array_equal(gan_lib.fixed_labels(config, frequencies),
                                  draw_labels(frequencies, gan_lib.grid_seeds(config)))


def test_a_conditional_run_evaluates_during_training_with_labels_drawn_per_seed(tmp_path):
    config = _run_config(tmp_path / "run", eval_every_epochs=1, eval_metrics="swd",
                         eval_num_samples=16)
    train_lib.train_and_evaluate(config)
    with open(os.path.join(config.workdir, rundir.METRICS_FILE)) as f:
        rows = [json.loads(line) for line in f]
    assert "swd_avg" in {row["metric"] for row in rows}
    assert all(np.isfinite(row["value"]) for row in rows)


# --- Sampling and evaluating a conditional run from the command line --------------------------


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("conditional") / "run"
    config = _config(dataset="synthetic", num_synthetic=64, epochs=1, steps_per_epoch=2,
                     num_grid_samples=4, workdir=str(workdir))
    train_lib.train_and_evaluate(config)
    return str(workdir)


def _png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


def test_cli_samples_faces_with_the_attributes_asked_for(cli, conditional_run, tmp_path):
    out = tmp_path / "out"
    proc = cli("kerasgan.sample", f"--workdir={conditional_run}", "--seeds=0-3",
               "--attributes=Smiling=1,Pale_Skin=-1", f"--outdir={out}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == [f"seed{s:04d}.png" for s in range(4)]
    assert _png(out / "seed0000.png").shape == (16, 16, 3)


def test_cli_attribute_sweep_writes_a_row_per_seed_off_then_on(cli, conditional_run, tmp_path):
    from kerasgan import images
    out = tmp_path / "sweep"
    proc = cli("kerasgan.sample", f"--workdir={conditional_run}", "--attribute_sweep=Smiling",
               "--seeds=0-4", f"--outdir={out}")
    assert proc.returncode == 0, proc.stderr
    tiles = images.load_grid_tiles(str(out / "sweep_Smiling.png"))
    assert tiles.shape == (10, 16, 16, 3)
    assert any(not np.array_equal(tiles[2 * i], tiles[2 * i + 1]) for i in range(5))


def test_cli_unknown_attribute_is_one_line_listing_the_generators_attributes(cli, conditional_run,
                                                                            tmp_path):
    proc = cli("kerasgan.sample", f"--workdir={conditional_run}", "--attributes=Eyeglasses=1",
               f"--outdir={tmp_path / 'out'}")
    assert proc.returncode == 2
    _one_line_error(proc, "Eyeglasses", "Smiling, Pale_Skin")


def test_cli_evaluates_attribute_accuracy_and_reuses_its_classifier(cli, conditional_run):
    first = cli("kerasgan.evaluate", f"--workdir={conditional_run}",
                "--metrics=attribute_accuracy", "--num_samples=16")
    assert first.returncode == 0, first.stderr
    assert os.path.isfile(os.path.join(conditional_run, rundir.ATTRIBUTE_CLASSIFIER_FILE))
    stamp = os.path.getmtime(os.path.join(conditional_run, rundir.ATTRIBUTE_CLASSIFIER_FILE))
    with open(os.path.join(conditional_run, rundir.METRICS_FILE)) as f:
        rows = [json.loads(line) for line in f]
    names = [row["metric"] for row in rows]
    assert names == ["attribute_accuracy/Smiling", "attribute_accuracy/Pale_Skin",
                     "attribute_accuracy/mean"]
    assert all(0.0 <= row["value"] <= 1.0 for row in rows)
    second = cli("kerasgan.evaluate", f"--workdir={conditional_run}",
                 "--metrics=attribute_accuracy", "--num_samples=16")
    assert second.returncode == 0, second.stderr
    assert os.path.getmtime(
        os.path.join(conditional_run, rundir.ATTRIBUTE_CLASSIFIER_FILE)) == stamp


def test_a_cbn_run_trains_resumes_and_samples_the_attributes_asked_for(tmp_path):
    config = _run_config(tmp_path / "straight", epochs=2, g_conditioning="cbn")
    train_lib.train_and_evaluate(config)
    resumed = str(tmp_path / "resumed")
    train_in_two_runs(config, resumed)
    straight = checkpointing.load_run_generator(config.workdir)[1]
    again = checkpointing.load_run_generator(resumed)[1]
    assert straight.conditioning == again.conditioning == "cbn"
    for a, b in zip(straight.weights, again.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    # Four steps moved the label map off zero: the attributes now change the faces.
    assert np.abs(straight.label_modulation.kernel.numpy()).max() > 0
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    on = inference.generate(straight, z, labels=np.ones((4, len(NAMES)), "float32"))
    off = inference.generate(straight, z, labels=np.zeros((4, len(NAMES)), "float32"))
    assert not np.allclose(on, off)
    exported = checkpointing.load_generator(os.path.join(config.workdir,
                                                         rundir.GENERATOR_FILE))
    np.testing.assert_allclose(inference.generate(exported, z, labels=np.ones((4, 2), "float32")),
                               on, atol=1e-5)


def test_a_concat_run_refuses_to_resume_as_cbn(tmp_path):
    config = _run_config(tmp_path / "run")
    train_lib.train_and_evaluate(config)
    with pytest.raises(RunError, match="g_conditioning"):
        train_lib.train_and_evaluate(config.replace(epochs=2, g_conditioning="cbn"))
