"""Each loss against numbers computed by hand (numpy) from the same logits."""

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import losses

REAL = np.array([[2.0], [-1.0], [0.5]], "float32")
FAKE = np.array([[-3.0], [0.0], [1.5]], "float32")


def _softplus(x):
    return np.log1p(np.exp(x))


def test_nonsaturating_discriminator_loss_is_binary_cross_entropy():
    real, fake = losses.nonsaturating_discriminator_loss(REAL, FAKE)
    # -log(sigmoid(x)) = softplus(-x); -log(1 - sigmoid(x)) = softplus(x)
    assert float(real) == pytest.approx(np.mean(_softplus(-REAL)), rel=1e-6)
    assert float(fake) == pytest.approx(np.mean(_softplus(FAKE)), rel=1e-6)


def test_nonsaturating_generator_loss():
    assert float(losses.nonsaturating_generator_loss(FAKE)) == pytest.approx(
        np.mean(_softplus(-FAKE)), rel=1e-6)


def test_nonsaturating_at_zero_logits_is_log_two():
    zeros = np.zeros((4, 1), "float32")
    real, fake = losses.nonsaturating_discriminator_loss(zeros, zeros)
    assert float(real) == pytest.approx(np.log(2.0)) and float(fake) == pytest.approx(np.log(2.0))


def test_lsgan_losses():
    real, fake = losses.lsgan_discriminator_loss(REAL, FAKE)
    assert float(real) == pytest.approx(0.5 * np.mean((REAL - 1) ** 2))
    assert float(fake) == pytest.approx(0.5 * np.mean(FAKE ** 2))
    assert float(losses.lsgan_generator_loss(FAKE)) == pytest.approx(0.5 * np.mean((FAKE - 1) ** 2))


def test_wasserstein_losses():
    real, fake = losses.wasserstein_discriminator_loss(REAL, FAKE)
    assert float(real + fake) == pytest.approx(FAKE.mean() - REAL.mean())
    assert float(losses.wasserstein_generator_loss(FAKE)) == pytest.approx(-FAKE.mean())


def test_hinge_losses():
    real, fake = losses.hinge_discriminator_loss(REAL, FAKE)
    # relu(1 - [2, -1, .5]) = [0, 2, .5]; relu(1 + [-3, 0, 1.5]) = [0, 1, 2.5]
    assert float(real) == pytest.approx(2.5 / 3)
    assert float(fake) == pytest.approx(3.5 / 3)
    assert float(losses.hinge_generator_loss(FAKE)) == pytest.approx(-FAKE.mean())


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # critic(x) = sum(w * x) has gradient w everywhere: penalty = (||w|| - 1)^2.
    w = tf.constant(np.full((1, 2, 2, 3), 0.5, "float32"))
    critic = lambda x: tf.reduce_sum(w * x, axis=[1, 2, 3])  # noqa: E731
    rng = np.random.default_rng(0)
    real, fake = (rng.standard_normal((4, 2, 2, 3)).astype("float32") for _ in range(2))
    alpha = rng.uniform(size=(4, 1, 1, 1)).astype("float32")
    expected = (np.sqrt(12 * 0.25) - 1.0) ** 2
    assert (float(losses.gradient_penalty(critic, real, fake, alpha))
            == pytest.approx(expected, rel=1e-5))


def test_gradient_penalty_uses_the_interpolates():
    # critic(x) = 0.5 * sum(x^2) has gradient x: the norm is that of alpha*real + (1-alpha)*fake.
    critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])  # noqa: E731
    rng = np.random.default_rng(1)
    real, fake = (rng.standard_normal((3, 2, 2, 1)).astype("float32") for _ in range(2))
    alpha = rng.uniform(size=(3, 1, 1, 1)).astype("float32")
    mixed = alpha * real + (1 - alpha) * fake
    norms = np.sqrt((mixed ** 2).reshape(3, -1).sum(axis=1))
    assert float(losses.gradient_penalty(critic, real, fake, alpha)) == pytest.approx(
        np.mean((norms - 1) ** 2), rel=1e-5)


def test_get_returns_the_pair_and_refuses_unknown_kinds():
    assert losses.get("hinge") == (losses.hinge_generator_loss, losses.hinge_discriminator_loss)
    with pytest.raises(ValueError, match="foo"):
        losses.get("foo")


def test_r1_penalty_of_a_quadratic_critic_is_the_mean_squared_norm():
    # critic(x) = 0.5 ||x||^2 has gradient x: penalty = E ||x||^2.
    x = np.random.default_rng(1).standard_normal((5, 2, 2, 3)).astype("float32")
    critic = lambda images: 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])  # noqa: E731
    expected = np.mean(np.sum(x ** 2, axis=(1, 2, 3)))
    assert float(losses.r1_penalty(critic, x)) == pytest.approx(expected, rel=1e-5)


def test_r1_penalty_of_a_linear_critic_is_the_squared_weight_norm():
    w = np.random.default_rng(2).standard_normal((1, 2, 2, 3)).astype("float32")
    critic = lambda images: tf.reduce_sum(w * images, axis=[1, 2, 3])  # noqa: E731
    x = np.zeros((4, 2, 2, 3), "float32")
    assert float(losses.r1_penalty(critic, x)) == pytest.approx(np.sum(w ** 2), rel=1e-5)


def test_r1_penalty_is_differentiable_inside_a_compiled_cond():
    w = tf.Variable(np.full((1, 2, 2, 3), 0.5, "float32"))
    x = tf.constant(np.ones((3, 2, 2, 3), "float32"))
    critic = lambda images: tf.reduce_sum(w * images ** 2, axis=[1, 2, 3])  # noqa: E731

    @tf.function
    def grad(apply):
        with tf.GradientTape() as tape:
            penalty = tf.cond(apply, lambda: losses.r1_penalty(critic, x), lambda: tf.zeros([]))
        return penalty, tape.gradient(penalty, w)

    # grad_x = 2 w x = 1 everywhere: penalty 12; d/dw sum((2 w x)^2) = 8 w x^2 = 4 per entry.
    penalty, g = grad(tf.constant(True))
    assert float(penalty) == pytest.approx(12.0) and np.allclose(g.numpy(), 4.0)
    penalty, g = grad(tf.constant(False))
    assert float(penalty) == 0.0
