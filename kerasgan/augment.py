"""Differentiable augmentation of D's inputs (DiffAugment) and its adaptive probability (ADA).

A discriminator trained on a few hundred images memorises them and its feedback to G turns to
noise. DiffAugment (Zhao et al. 2020) shows D only augmented images, real and generated alike,
in D's and G's updates; every operation is differentiable in the image, so G's gradient flows
through it, and since fakes are augmented the same way G is not taught to draw the augmentations.
ADA (Karras et al. 2020) applies each augmentation to an image with probability p and adapts p:
when D's sign on real images, E[sign(D(x))], exceeds a target (D grows sure of the real set it
has memorised) p rises, otherwise it falls.

Images are float [batch, H, W, C] in [-1, 1]; random numbers come from a tf.random.Generator, so
a checkpointed generator makes a resumed run draw the same augmentations.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(rng: tf.random.Generator, batch, low=0.0, high=1.0):
    return rng.uniform([batch, 1, 1, 1], low, high)


def color(images, rng: tf.random.Generator):
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), per image, clipped
    back to [-1, 1]."""
    batch = tf.shape(images)[0]
    images = images + (_uniform(rng, batch) - 0.5)
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - mean) * (_uniform(rng, batch) * 2.0) + mean
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value((images - mean) * (_uniform(rng, batch) + 0.5) + mean, -1.0, 1.0)


def _shift(images, shift, axis: int):
    """Moves each image by shift[i] pixels along axis (1: rows, 2: columns), zeros flowing in.

    One gather from the flattened padded batch, without batch_dims: the gradient of a batched
    gather transposes by a permutation computed at run time, which XLA cannot compile once
    lazy R1's tf.cond differentiates that gradient again ("InvertPermutation: 0 is
    duplicated"). The values, and their gradients, are those of the batched gather.
    """
    shape = tf.shape(images)
    batch, size = shape[0], shape[axis]
    padding = [[0, 0], [0, 0], [0, 0], [0, 0]]
    padding[axis] = [1, 1]
    padded = tf.pad(images, padding)
    lines = tf.reduce_prod(shape[1:axis])
    flat = tf.reshape(padded, [-1, tf.reduce_prod(shape[axis + 1:])])
    index = tf.clip_by_value(tf.range(size)[None, :] - shift[:, None] + 1, 0, size + 1)
    line = tf.range(batch)[:, None, None] * lines + tf.range(lines)[None, :, None]
    return tf.reshape(tf.gather(flat, line * (size + 2) + index[:, None, :]), shape)


def translation(images, rng: tf.random.Generator, ratio: float = TRANSLATION_RATIO):
    """Shifts each image by up to ratio * size pixels in x and y; the uncovered border is 0."""
    batch = tf.shape(images)[0]
    size = tf.shape(images)[1]
    limit = tf.cast(tf.cast(size, tf.float32) * ratio + 0.5, tf.int32)
    shifts = rng.uniform_full_int([2, batch], tf.int32)
    shifts = tf.math.floormod(shifts, 2 * limit + 1) - limit
    return _shift(_shift(images, shifts[0], axis=1), shifts[1], axis=2)


def cutout(images, rng: tf.random.Generator, ratio: float = CUTOUT_RATIO):
    """Sets a square of side ratio * size, centred at a random pixel, to 0 in each image."""
    batch = tf.shape(images)[0]
    size = tf.shape(images)[1]
    half = tf.cast(tf.cast(size, tf.float32) * ratio / 2.0, tf.float32)
    centres = rng.uniform([2, batch, 1], 0.0, tf.cast(size, tf.float32))
    grid = tf.cast(tf.range(size), tf.float32)[None, :] + 0.5
    rows = tf.abs(grid - centres[0]) < half
    cols = tf.abs(grid - centres[1]) < half
    keep = tf.logical_not(rows[:, :, None] & cols[:, None, :])
    return images * tf.cast(keep, images.dtype)[..., None]


AUGMENTATIONS = {"color": color, "translation": translation, "cutout": cutout}


def augment(images, names: Sequence[str], p, rng: tf.random.Generator):
    """Applies each named augmentation to each image with probability p (p=1: DiffAugment)."""
    batch = tf.shape(images)[0]
    for name in names:
        applied = AUGMENTATIONS[name](images, rng)
        chosen = _uniform(rng, batch) < tf.cast(p, tf.float32)
        images = tf.where(chosen, applied, images)
    return images


def adjust_p(p, real_sign, target: float, images: float, kimg: float):
    """ADA's update: p moves towards more augmentation when E[sign(D(real))] > target, by
    images / (kimg * 1000) per call (so by 1 over kimg thousand images), clipped to [0, 1]."""
    step = tf.sign(tf.cast(real_sign, tf.float32) - target) * images / (kimg * 1000.0)
    return tf.clip_by_value(tf.cast(p, tf.float32) + step, 0.0, 1.0)
