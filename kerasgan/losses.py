"""GAN losses as pure functions of discriminator logits, paired per kind, plus the gradient penalty.

Every function returns the mean over the batch it is given. Under a distribution strategy the
caller divides by the number of replicas, which makes the sum over replicas the global mean.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf


def _bce(labels_value: float, logits: tf.Tensor) -> tf.Tensor:
    labels = tf.fill(tf.shape(logits), tf.cast(labels_value, logits.dtype))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def nonsaturating_discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy on logits: -log D(x) - log(1 - D(G(z))). Returns (real, fake) terms."""
    return _bce(1.0, real_logits), _bce(0.0, fake_logits)


def nonsaturating_generator_loss(fake_logits):
    """-log D(G(z)) (Goodfellow et al. 2014, the non-saturating form)."""
    return _bce(1.0, fake_logits)


def lsgan_discriminator_loss(real_logits, fake_logits):
    """Least squares (Mao et al. 2017) with targets 1 for real and 0 for fake: 0.5 E[(D-t)^2]."""
    return (0.5 * tf.reduce_mean(tf.square(real_logits - 1.0)),
            0.5 * tf.reduce_mean(tf.square(fake_logits)))


def lsgan_generator_loss(fake_logits):
    return 0.5 * tf.reduce_mean(tf.square(fake_logits - 1.0))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss E[D(G(z))] - E[D(x)], as (real, fake) terms; pair it with gradient_penalty."""
    return -tf.reduce_mean(real_logits), tf.reduce_mean(fake_logits)


def wasserstein_generator_loss(fake_logits):
    return -tf.reduce_mean(fake_logits)


def hinge_discriminator_loss(real_logits, fake_logits):
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return (tf.reduce_mean(tf.nn.relu(1.0 - real_logits)),
            tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))


def hinge_generator_loss(fake_logits):
    return -tf.reduce_mean(fake_logits)


def gradient_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real, fake, alpha) -> tf.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x critic(x_hat)||_2 - 1)^2], where
    x_hat = alpha * real + (1 - alpha) * fake and alpha has shape [batch, 1, 1, 1] drawn from
    U[0, 1]."""
    real = tf.convert_to_tensor(real)
    fake, alpha = tf.cast(fake, real.dtype), tf.cast(alpha, real.dtype)
    mixed = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed)
    grads = tape.gradient(scores, mixed)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def r1_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real) -> tf.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x critic(x)||_2^2] on real images. The caller weighs
    it by gamma / 2 (times the interval when it is applied lazily)."""
    # identity: inside a tf.cond branch `real` is a capture, and the tape must watch the branch's
    # own tensor.
    real = tf.identity(tf.convert_to_tensor(real))
    with tf.GradientTape() as tape:
        tape.watch(real)
        total = tf.reduce_sum(tf.cast(critic(real), tf.float32))
    grads = tf.cast(tape.gradient(total, real), tf.float32)
    return tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))))


LOSSES = {
    "nonsaturating": (nonsaturating_generator_loss, nonsaturating_discriminator_loss),
    "lsgan": (lsgan_generator_loss, lsgan_discriminator_loss),
    "wgan-gp": (wasserstein_generator_loss, wasserstein_discriminator_loss),
    "hinge": (hinge_generator_loss, hinge_discriminator_loss),
}


def get(kind: str):
    """(generator_loss, discriminator_loss) for a loss kind;
    the D loss returns (real, fake) terms."""
    if kind not in LOSSES:
        raise ValueError(f"loss={kind!r} is not one of {', '.join(LOSSES)}")
    return LOSSES[kind]
