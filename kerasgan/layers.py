"""Layers of kerasgan's networks that Keras does not provide as fast as TensorFlow can.

Keras 3's BatchNormalization computes a training-mode batch norm from separate moment, subtract,
scale and shift ops (about ten passes over the activations forward and more backward).
TensorFlow has one fused kernel for it (FusedBatchNormV3, oneDNN on CPU, cuDNN on GPU), which
`FusedBatchNormalization` uses. The 64 px dcgan step runs 6-7 % faster with it on the
project's 2-core CPU (experiments/bench_batchnorm.py, docs/speed.md).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerasgan")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization whose training-mode pass runs TensorFlow's fused kernel.

    Same weights, arguments, outputs and moving-statistics update as the Keras layer (the
    moving variance gets the biased batch variance, as Keras does). The fused kernel serves the
    common case: channels-last input of rank 2 or 4, no mask, no renorm, not synchronized. Any
    other case, and inference, take the Keras layer's own path.
    """

    def _fused(self, inputs, training, mask) -> bool:
        return (bool(training) and self.trainable and mask is None and not self.synchronized
                and not getattr(self, "renorm", False)  # Keras 3.11's layer has no renorm
                and len(inputs.shape) in (2, 4)
                and self.axis % len(inputs.shape) == len(inputs.shape) - 1)

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)
        channels = x.shape[-1]
        x4 = x if x.shape.rank == 4 else tf.reshape(x, [-1, 1, 1, channels])
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x4, gamma, beta, epsilon=self.epsilon, is_training=True)[:3]
        # The fused kernel returns the unbiased (n - 1) variance; Keras keeps the biased one.
        count = tf.cast(tf.size(x4) // channels, tf.float32)
        variance = tf.math.multiply_no_nan(variance, (count - 1.0) / count)
        self.moving_mean.assign(
            self.moving_mean * self.momentum + tf.cast(mean, self.moving_mean.dtype)
            * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + tf.cast(variance, self.moving_variance.dtype)
            * (1.0 - self.momentum))
        if x.shape.rank != 4:
            y = tf.reshape(y, tf.shape(x))
        return tf.cast(y, self.compute_dtype)
