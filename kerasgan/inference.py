"""The one way images are drawn from a generator: its inference call, compiled once per model.

GAN.generate (the per-epoch grids), sample_lib.generate (by seed) and evaluate_lib.generate_images
(metrics) all come here. The compiled function is kept per generator object, so repeated calls
(an evaluation every few epochs, a notebook cell run twice) reuse one trace; any Keras model
taking [batch, latent_dim] noise works (the training generator, its EMA copy, a loaded .keras).
"""

from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf

_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_generator(generator) -> tf.types.experimental.GenericFunction:
    """generator(z, training=False) as a tf.function traced once: z is float32 [None, latent]."""
    function = _COMPILED.get(generator)
    if function is None:
        # A weak reference, so the cache never keeps a generator alive.
        model = weakref.ref(generator)
        function = tf.function(lambda z: model()(z, training=False),
                               input_signature=[tf.TensorSpec([None, _latent_dim(generator)],
                                                              tf.float32)])
        _COMPILED[generator] = function
    return function


def generate(generator, z, batch_size: int = 256) -> np.ndarray:
    """float32 images in [-1, 1] for noise z [N, latent_dim], in inference mode (batch-norm moving
    statistics, no dropout), batch_size at a time through compiled_generator(generator)."""
    z = np.asarray(z, np.float32)
    if batch_size <= 0 or len(z) == 0:
        raise ValueError(f"need at least one noise vector and batch_size > 0, got {len(z)} and "
                         f"{batch_size}")
    predict = compiled_generator(generator)
    return np.concatenate([np.asarray(predict(z[i:i + batch_size]), np.float32)
                           for i in range(0, len(z), batch_size)])


def _latent_dim(generator) -> int:
    """A kerasgan Generator says its latent size; another Keras model shows it in its input."""
    if hasattr(generator, "latent_dim"):
        return int(generator.latent_dim)
    return int(generator.inputs[0].shape[-1])
