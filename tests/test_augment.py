"""DiffAugment operations and ADA's adaptive probability."""

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import augment, gan as gan_lib, losses
from kerasgan.config import TrainConfig
from kerasgan.errors import ConfigError


def _images(seed=0, batch=6, size=16):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)),
                       tf.float32)


@pytest.mark.parametrize("name", sorted(augment.AUGMENTATIONS))
def test_each_augmentation_keeps_shape_and_range_and_passes_gradients(name):
    images = _images()
    rng = tf.random.Generator.from_seed(1)
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = augment.AUGMENTATIONS[name](images, rng)
        total = tf.reduce_sum(out * tf.random.stateless_normal(out.shape, [0, 1]))
    grads = tape.gradient(total, images)
    assert out.shape == images.shape and out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= -1.0 and float(tf.reduce_max(out)) <= 1.0
    assert grads is not None and np.isfinite(grads.numpy()).all()
    assert float(tf.reduce_sum(tf.abs(grads))) > 0
    assert not np.allclose(out.numpy(), images.numpy())


def test_translation_moves_each_image_by_at_most_an_eighth_filling_with_zero():
    size = 16
    images = np.zeros((8, size, size, 1), "float32")
    images[:, 8, 8, 0] = 1.0
    out = augment.translation(tf.constant(images), tf.random.Generator.from_seed(3)).numpy()
    for image in out:
        ys, xs = np.nonzero(image[..., 0])
        assert len(ys) == 1 and image[ys[0], xs[0], 0] == 1.0
        assert abs(ys[0] - 8) <= 2 and abs(xs[0] - 8) <= 2  # 0.125 * 16 = 2 pixels


def test_cutout_zeroes_one_square_of_half_the_side_and_leaves_the_rest():
    images = np.ones((5, 16, 16, 3), "float32")
    out = augment.cutout(tf.constant(images), tf.random.Generator.from_seed(4)).numpy()
    for image in out:
        zero = image[..., 0] == 0
        rows, cols = np.nonzero(zero.any(1))[0], np.nonzero(zero.any(0))[0]
        assert zero.sum() == len(rows) * len(cols)  # one axis-aligned rectangle
        assert len(rows) <= 8 and len(cols) <= 8 and zero.sum() > 0
        assert (image[~zero] == 1.0).all()


def test_translation_under_lazy_r1_compiles_with_xla():
    """Lazy R1 differentiates translation's gradient again inside a tf.cond. A batched gather's
    gradient transposes by a permutation computed at run time, which XLA refused there
    ("InvertPermutation: 0 is duplicated") at the second step: the GPU defaults with
    --augment=translation and --r1_interval > 1 crashed."""
    kernel = tf.Variable(tf.random.stateless_normal([3, 3, 3, 1], [0, 2]))
    rng = tf.random.Generator.from_seed(6)

    def critic(images):
        return tf.nn.conv2d(augment.translation(images, rng), kernel, 1, "SAME")

    @tf.function(jit_compile=True)
    def lazy_r1(images, step):
        with tf.GradientTape() as tape:
            penalty = tf.cond(step % 2 == 0, lambda: losses.r1_penalty(critic, images),
                              lambda: tf.zeros([]))
        return penalty, tape.gradient(penalty, kernel)

    penalties = [lazy_r1(_images(), tf.constant(step)) for step in range(3)]
    assert [float(p) > 0 for p, _ in penalties] == [True, False, True]
    assert all(np.isfinite(g.numpy()).all() for _, g in penalties)
    assert float(tf.reduce_sum(tf.abs(penalties[2][1]))) > 0


def test_probability_zero_is_the_identity_and_one_augments_every_image():
    images = _images(batch=16)
    rng = tf.random.Generator.from_seed(5)
    names = ("color", "translation", "cutout")
    np.testing.assert_array_equal(augment.augment(images, names, 0.0, rng).numpy(),
                                  images.numpy())
    out = augment.augment(images, ("color",), 1.0, rng).numpy()
    assert all(not np.allclose(a, b) for a, b in zip(out, images.numpy()))


def test_adjust_p_moves_by_images_over_kimg_and_stays_in_the_unit_interval():
    assert float(augment.adjust_p(0.5, 0.9, 0.6, 32, 100.0)) == pytest.approx(0.5 + 32 / 1e5)
    assert float(augment.adjust_p(0.5, 0.1, 0.6, 32, 100.0)) == pytest.approx(0.5 - 32 / 1e5)
    assert float(augment.adjust_p(1.0, 1.0, 0.6, 1000, 0.1)) == 1.0
    assert float(augment.adjust_p(0.0, -1.0, 0.6, 1000, 0.1)) == 0.0


def _gan(**changes):
    values = dict(image_size=16, latent_dim=8, arch="dcgan", channels=32, batch_size=8,
                  augment="color,translation,cutout", augment_p="auto", augment_kimg=0.1,
                  g_ema=False)
    values.update(changes)
    return gan_lib.GAN(TrainConfig(**values))


def test_adaptive_p_rises_while_d_memorises_a_tiny_real_set():
    gan = _gan(d_lr=2e-3)
    images = _images(batch=8)  # the same 8 images every step: D learns them by heart
    ps = []
    for _ in range(25):
        metrics = gan.train_step(images)
        ps.append(float(metrics["augment_p"]))
    assert ps[0] == 0.0 and float(gan.augment_p) > 0.3
    assert float(metrics["d_real_sign"]) > 0.6


def test_adaptive_p_falls_when_d_calls_real_images_fake():
    gan = _gan(d_lr=1e-12, g_lr=1e-12)
    gan.augment_p.assign(0.5)
    last = gan.discriminator.net.layers[-1]
    last.bias.assign([-100.0])  # D's sign on every image: -1, below the 0.6 target
    for _ in range(3):
        metrics = gan.train_step(_images(batch=8))
    assert float(metrics["d_real_sign"]) == -1.0
    assert float(gan.augment_p) == pytest.approx(0.5 - 3 * 8 / 100, abs=1e-6)


def test_a_fixed_p_does_not_move_and_history_gets_its_columns():
    gan = _gan(augment_p="0.25")
    metrics = gan.train_step(_images(batch=8))
    assert float(metrics["augment_p"]) == 0.25 and float(gan.augment_p) == 0.25
    assert {"augment_p", "d_real_sign"} <= set(gan.metric_names)
    assert "augment_p" in gan.checkpoint_items()


@pytest.mark.parametrize("field,value,message", [
    ("augment", "colour", "--augment=colour is not allowed"),
    ("augment_p", "1.5", "--augment_p=1.5 is not allowed"),
    ("augment_p", "often", "--augment_p=often is not allowed"),
    ("augment_target", 1.0, "--augment_target=1.0 is not allowed"),
])
def test_bad_augment_settings_name_the_flag(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})
