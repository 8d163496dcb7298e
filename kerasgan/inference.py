"""The one way images are drawn from a generator: its inference call, compiled once per model.

GAN.generate (the per-epoch grids), sample_lib.generate (by seed) and evaluate_lib.generate_images
(metrics) all come here. The compiled function is kept per generator object, so repeated calls
(an evaluation every few epochs, a notebook cell run twice) reuse one trace; any Keras model
taking [batch, latent_dim] noise works (the training generator, its EMA copy, a loaded .keras).
A conditional generator (one with `attribute_names`) takes labels too: float32 [N, A], 1.0 where
the face is to have the attribute; labels.draw_labels draws natural ones from the data's
frequencies.
"""

from __future__ import annotations

import weakref
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from kerasgan.errors import ConfigError

_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_generator(generator) -> tf.types.experimental.GenericFunction:
    """generator(z, training=False) as a tf.function traced once: z is float32 [None, latent]
    (for a conditional generator, generator((z, labels)) with labels float32 [None, A])."""
    function = _COMPILED.get(generator)
    if function is None:
        # A weak reference, so the cache never keeps a generator alive.
        model = weakref.ref(generator)
        z_spec = tf.TensorSpec([None, _latent_dim(generator)], tf.float32)
        names = attribute_names(generator)
        if names:
            function = tf.function(
                lambda z, labels: model()((z, labels), training=False),
                input_signature=[z_spec, tf.TensorSpec([None, len(names)], tf.float32)])
        else:
            function = tf.function(lambda z: model()(z, training=False), input_signature=[z_spec])
        _COMPILED[generator] = function
    return function


def generate(generator, z, batch_size: int = 256, labels=None) -> np.ndarray:
    """float32 images in [-1, 1] for noise z [N, latent_dim], in inference mode (batch-norm moving
    statistics, no dropout), batch_size at a time through compiled_generator(generator).

    labels: float32 [N, A] of 0/1 for a conditional generator (required there, refused for an
    unconditional one: a ConfigError says which).
    """
    z = np.asarray(z, np.float32)
    if batch_size <= 0 or len(z) == 0:
        raise ValueError(f"need at least one noise vector and batch_size > 0, got {len(z)} and "
                         f"{batch_size}")
    labels = check_labels(attribute_names(generator), labels, len(z))
    predict = compiled_generator(generator)
    inputs = (z,) if labels is None else (z, labels)
    return np.concatenate([np.asarray(predict(*(x[i:i + batch_size] for x in inputs)), np.float32)
                           for i in range(0, len(z), batch_size)])


def attribute_names(model) -> tuple[str, ...]:
    """The attributes a network is conditioned on; () for an unconditional one (any Keras model)."""
    return tuple(getattr(model, "attribute_names", ()) or ())


def check_labels(names: Sequence[str], labels, num: int) -> Optional[np.ndarray]:
    """labels as float32 [num, len(names)] for a network conditioned on `names`, None for an
    unconditional one; ConfigError (one line) when they are missing, not wanted or mis-shaped."""
    if not names:
        if labels is not None:
            raise ConfigError("this generator is not conditional: it takes no attribute labels")
        return None
    if labels is None:
        raise ConfigError(f"this generator is conditional on {', '.join(names)}: give labels, "
                          f"one row of {len(names)} 0/1 values per noise vector")
    labels = np.asarray(labels, np.float32)
    if labels.shape != (num, len(names)):
        raise ConfigError(f"labels of shape {labels.shape} do not fit {num} noise vectors and "
                          f"the {len(names)} attributes ({', '.join(names)}): use [{num}, "
                          f"{len(names)}]")
    return labels


def _latent_dim(generator) -> int:
    """A kerasgan Generator says its latent size; another Keras model shows it in its input."""
    if hasattr(generator, "latent_dim"):
        return int(generator.latent_dim)
    return int(generator.inputs[0].shape[-1])
