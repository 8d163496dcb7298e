"""The generator's exponential moving average (EMA): update rule, warm-up and batch-norm statistics.

Sampling from an average of G's recent weights rather than from G itself removes most of the
step-to-step jitter of GAN training (Karras et al. 2018; every StyleGAN since): the average sits
near the centre of the oscillation the adversarial game makes G perform. The average changes
nothing in training; only the images drawn from it (grids, export, sample, evaluate) differ.

The speed is a half-life in images, as in StyleGAN2-ADA, so it means the same at any batch size:
after `halflife_kimg` thousand images a weight's old value has half its say. Early in a run the
half-life is capped at `rampup` times the images seen so far, so the average does not drag the
random initial weights along for thousands of steps.

Batch-norm statistics are recomputed, not averaged: the moving mean and variance that G keeps
belong to G's current weights, and an average of them does not describe the activations of the
averaged weights (flat, washed-out grids are the symptom). `refresh_batch_statistics` runs the
averaged generator on a fixed batch of noise in training mode with momentum 0, so its inference
statistics are exactly the batch statistics of its own activations: a pure function of the
averaged weights and a fixed seed. A conditional generator gets a fixed batch of labels with the
noise, drawn from its attribute combinations (the data's, or each attribute alone from its share
when the generator has none) with a fixed seed, so that its statistics are those of natural
labels.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from kerasgan import inference
from kerasgan.labels import draw_labels

# Noise vectors behind the recomputed batch-norm statistics (and their fixed numpy seed), and
# the seed of a conditional generator's labels for them.
REFRESH_BATCH = 256
REFRESH_SEED = 20_181_130
REFRESH_LABEL_SEED = REFRESH_SEED + 1


def ema_beta(batch_size, images_seen, halflife_kimg: float, rampup: float = 0.0):
    """The weight kept from the old average at this step: 0.5 ** (batch / half-life in images).

    `images_seen` may be a tensor (inside a compiled step) or a number. With `rampup` > 0 the
    half-life is at most rampup * images_seen, so the first steps follow G closely.
    """
    halflife = halflife_kimg * 1000.0
    if rampup > 0:
        halflife = tf.minimum(halflife, tf.cast(images_seen, tf.float32) * rampup)
    halflife = tf.maximum(tf.cast(halflife, tf.float32), 1e-8)
    return tf.pow(0.5, tf.cast(batch_size, tf.float32) / halflife)


def update_average(average: Sequence[tf.Variable], current: Sequence[tf.Variable], beta) -> None:
    """average <- beta * average + (1 - beta) * current, variable by variable."""
    for avg, value in zip(average, current, strict=True):
        beta_v = tf.cast(beta, avg.dtype)
        avg.assign(beta_v * avg + (1.0 - beta_v) * tf.cast(value, avg.dtype))


def copy_weights(target: keras.Model, source: keras.Model) -> None:
    """Every variable of source (weights and batch-norm statistics) into target."""
    for dst, src in zip(target.variables, source.variables, strict=True):
        dst.assign(src)


def batchnorm_layers(model) -> list[keras.layers.BatchNormalization]:
    """The batch-norm layers of a model, nested models included."""
    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        found += batchnorm_layers(layer)
    return found


class AveragedGenerator:
    """An averaged copy of a generator, kept in step with it.

    Args:
        average: a generator of the same configuration as the trained one; its weights become
            the average. Its batch-norm layers are set to momentum 0 (see refresh), which only the
            refresh uses: nothing trains this copy.
        generator: the trained generator.
        halflife_kimg, rampup: see ema_beta.
    """

    def __init__(self, average: keras.Model, generator: keras.Model, halflife_kimg: float,
                 rampup: float):
        self.model = average
        self.generator = generator
        self.halflife_kimg = halflife_kimg
        self.rampup = rampup
        copy_weights(average, generator)
        for layer in batchnorm_layers(average):
            layer.momentum = 0.0
        self._noise = None
        self._labels = None
        self._refresh_fn = None

    def update(self, batch_size, images_seen) -> None:
        """One averaging step (call after G's update)."""
        beta = ema_beta(batch_size, images_seen, self.halflife_kimg, self.rampup)
        update_average(self.model.trainable_variables, self.generator.trainable_variables, beta)

    def refresh_batch_statistics(self) -> None:
        """Sets the average's batch-norm statistics to those of its own activations on a fixed
        batch of REFRESH_BATCH noise vectors (a no-op for a generator without batch norm); a
        conditional generator gets REFRESH_BATCH fixed labels drawn from its attribute
        combinations or frequencies (labels.draw_labels, seeds from REFRESH_LABEL_SEED)."""
        if not batchnorm_layers(self.model):
            return
        if self._refresh_fn is None:
            rng = np.random.default_rng(REFRESH_SEED)
            self._noise = tf.constant(rng.standard_normal(
                (REFRESH_BATCH, self.model.latent_dim)).astype("float32"))
            if inference.attribute_names(self.model):
                self._labels = tf.constant(draw_labels(
                    self.model.attribute_frequencies,
                    range(REFRESH_LABEL_SEED, REFRESH_LABEL_SEED + REFRESH_BATCH),
                    self.model.attribute_combinations))
                self._refresh_fn = tf.function(
                    lambda z, labels: self.model((z, labels), training=True))
            else:
                self._refresh_fn = tf.function(lambda z: self.model(z, training=True))
        if self._labels is None:
            self._refresh_fn(self._noise)
        else:
            self._refresh_fn(self._noise, self._labels)
