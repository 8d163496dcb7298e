"""The layers every network family is made of, and the conditioning pieces they share.

A family module (seed.py, dcgan.py, resnet.py) stacks these; widths, kernels, normalisation and the
activation are arguments, not branches. Each function returns new Keras layers in the order the
network applies them, so a family's stack, its weights and its checkpoint keys follow from the
calls it makes.

Batch norm uses momentum 0.9 (PyTorch's 0.1, as in the DCGAN reference) rather than Keras' 0.99:
a GAN's generator changes fast, and with a ~100-step average the inference-mode statistics lag so
far behind that sample grids show flat, washed-out images while the training-mode output already
shows faces (seen on a 256-step 32 px run).
"""

from __future__ import annotations

import math
from typing import Callable

import keras
from keras import layers, ops

from kerasgan.layers import FusedBatchNormalization

BN_MOMENTUM = 0.9


def batch_norm(sync_batchnorm: bool = False) -> layers.Layer:
    """Batch norm with the fused kernel; statistics over the global batch when sync_batchnorm."""
    return FusedBatchNormalization(momentum=BN_MOMENTUM, synchronized=sync_batchnorm)


def leaky_relu() -> layers.Layer:
    return layers.LeakyReLU(negative_slope=0.2)


def normal_init():
    """N(0, 0.02), the DCGAN paper's initialisation."""
    return keras.initializers.RandomNormal(0.0, 0.02)


def spectral_wrap(norm: str) -> Callable[[layers.Layer], layers.Layer]:
    """"spectral": wraps a layer in spectral normalisation (Miyato et al. 2018); "none": as is.

    The wrapper computes in the wrapped layer's dtype policy, not the global one: under
    mixed_float16 a float32 layer (D's logit, the projection) stays float32 when wrapped.
    """
    if norm != "spectral":
        return lambda layer: layer
    return lambda layer: layers.SpectralNormalization(layer, dtype=layer.dtype_policy)


def dense_to_map(start: int, width: int, init, sync_batchnorm: bool,
                 activation: Callable[[], layers.Layer]) -> list:
    """G's first block: z -> a start x start x width map, batch norm, activation."""
    return [layers.Dense(start * start * width, use_bias=False, kernel_initializer=init),
            layers.Reshape((start, start, width)),
            batch_norm(sync_batchnorm), activation()]


def up_block(width: int, kernel: int, init, sync_batchnorm: bool,
             activation: Callable[[], layers.Layer]) -> list:
    """Doubles the resolution: a stride-2 transposed convolution, batch norm, activation."""
    return [layers.Conv2DTranspose(width, kernel, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=init),
            batch_norm(sync_batchnorm), activation()]


def resize_up_block(width: int, kernel: int, init, sync_batchnorm: bool,
                    activation: Callable[[], layers.Layer]) -> list:
    """Doubles the resolution: nearest-neighbour 2x upsampling, a stride-1 convolution, batch
    norm, activation."""
    return [layers.UpSampling2D(2, interpolation="nearest"),
            layers.Conv2D(width, kernel, padding="same", use_bias=False, kernel_initializer=init),
            batch_norm(sync_batchnorm), activation()]


def to_rgb(kernel: int, strides: int, init, transposed: bool = True) -> list:
    """G's last block: a (transposed, by default) convolution to 3 channels and tanh, kept in
    float32 so the images (and the losses on them) stay float32 under mixed precision."""
    conv = layers.Conv2DTranspose if transposed else layers.Conv2D
    return [conv(3, kernel, strides=strides, padding="same", kernel_initializer=init),
            layers.Activation("tanh", dtype="float32")]


def down_block(width: int, kernel: int, init, wrap, use_bias: bool,
               norm: Callable[[], layers.Layer] | None = None,
               dropout: float | None = None) -> list:
    """Halves the resolution: a stride-2 convolution (wrapped, e.g. spectrally normalised), a
    norm() layer when norm is given, LeakyReLU(0.2), then Dropout(dropout) unless it is None."""
    block = [wrap(layers.Conv2D(width, kernel, strides=2, padding="same", use_bias=use_bias,
                                kernel_initializer=init))]
    if norm is not None:
        block.append(norm())
    block.append(leaky_relu())
    if dropout is not None:
        block.append(layers.Dropout(dropout))
    return block


@keras.saving.register_keras_serializable(package="kerasgan")
class ResidualUp(layers.Layer):
    """G's residual up-block (SN-GAN's and BigGAN's): batch norm, ReLU, nearest 2x upsampling,
    3x3 convolution, batch norm, ReLU, 3x3 convolution, added to a shortcut of the upsampled
    input through a 1x1 convolution. `modulated_widths` lists its two batch norms' channels, so
    conditional batch norm (run_modulated) can scale and shift each of them."""

    def __init__(self, in_width: int, width: int, sync_batchnorm: bool = False,
                 initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.in_width, self.filters, self.sync_batchnorm = in_width, width, sync_batchnorm
        self.initializer = keras.initializers.get(initializer)
        conv = lambda size: layers.Conv2D(width, size, padding="same",  # noqa: E731
                                          kernel_initializer=self.initializer)
        self.norm1, self.norm2 = batch_norm(sync_batchnorm), batch_norm(sync_batchnorm)
        self.conv1, self.conv2, self.shortcut = conv(3), conv(3), conv(1)
        self.upsample = layers.UpSampling2D(2, interpolation="nearest")

    @property
    def modulated_widths(self) -> list[int]:
        return [self.in_width, self.filters]

    def call(self, x, training=False, modulation=None):
        gains = split_modulation(modulation, self.modulated_widths)
        h = modulate(self.norm1(x, training=training), next(gains))
        h = self.conv1(self.upsample(ops.relu(h)))
        h = modulate(self.norm2(h, training=training), next(gains))
        return self.conv2(ops.relu(h)) + self.shortcut(self.upsample(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[1], 2 * input_shape[2], self.filters)

    def get_config(self):
        return dict(super().get_config(), in_width=self.in_width, width=self.filters,
                    sync_batchnorm=self.sync_batchnorm,
                    initializer=keras.initializers.serialize(self.initializer))


@keras.saving.register_keras_serializable(package="kerasgan")
class ResidualDown(layers.Layer):
    """D's residual down-block (SN-GAN's and BigGAN's): ReLU, 3x3 convolution, ReLU, 3x3
    convolution, 2x2 average pooling, added to a shortcut through a 1x1 convolution and the same
    pooling. The first block (`first`) takes the image itself: no ReLU before its first
    convolution, and its shortcut pools before the 1x1 convolution (SN-GAN's "optimised" block).
    Every convolution is spectrally normalised when norm is "spectral" (--d_norm)."""

    def __init__(self, width: int, first: bool = False, norm: str = "none",
                 initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.first, self.norm = width, first, norm
        self.initializer = keras.initializers.get(initializer)
        wrap = spectral_wrap(norm)
        conv = lambda size: wrap(layers.Conv2D(width, size, padding="same",  # noqa: E731
                                               kernel_initializer=self.initializer))
        self.conv1, self.conv2, self.shortcut = conv(3), conv(3), conv(1)
        self.pool = layers.AveragePooling2D(2)

    def call(self, x, training=False):
        h = x if self.first else ops.relu(x)
        h = self.conv2(ops.relu(self.conv1(h, training=training)), training=training)
        skip = (self.shortcut(self.pool(x), training=training) if self.first
                else self.pool(self.shortcut(x, training=training)))
        return self.pool(h) + skip

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 2, input_shape[2] // 2, self.filters)

    def get_config(self):
        return dict(super().get_config(), width=self.filters, first=self.first, norm=self.norm,
                    initializer=keras.initializers.serialize(self.initializer))


@keras.saving.register_keras_serializable(package="kerasgan")
class GlobalSumPooling(layers.Layer):
    """The sum over a map's positions, per channel (SN-GAN's D ends with ReLU and this)."""

    def call(self, x):
        return ops.sum(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


def logit_head(init, wrap) -> layers.Layer:
    """D's real/fake logit on its flattened features, in float32."""
    return wrap(layers.Dense(1, kernel_initializer=init, dtype="float32"))


# -- conditioning on attributes --------------------------------------------------------------

def label_embedding(units: int, count: int) -> layers.Layer:
    """A conditional G's linear embedding of the -1/+1 labels, N(0, 1/A) weights."""
    return layers.Dense(units, use_bias=False, name="label_embedding",
                        kernel_initializer=keras.initializers.RandomNormal(
                            0.0, 1.0 / math.sqrt(count)))


def projection_head(units: int, init, wrap) -> layers.Layer:
    """A projection discriminator's label embedding V (Miyato & Koyama 2018): its logit gains
    <V y, phi(x)>, with phi(x) the `units` flattened features."""
    return wrap(layers.Dense(units, use_bias=False, kernel_initializer=init, dtype="float32",
                             name="projection"))


def attribute_names(names) -> tuple[str, ...]:
    if isinstance(names, str):
        raise ValueError(f"attribute_names must be a sequence of names, not the string "
                         f"{names!r} (see config.parse_attribute_names)")
    return tuple(str(name) for name in names)


def attribute_frequencies(frequencies, names: tuple[str, ...]) -> tuple[float, ...]:
    """One share in [0, 1] per attribute; 0.5 each when none are given."""
    values = tuple(float(f) for f in frequencies) or (0.5,) * len(names)
    if len(values) != len(names) or not all(0.0 <= f <= 1.0 for f in values):
        raise ValueError(f"attribute_frequencies must be {len(names)} shares in [0, 1], one per "
                         f"attribute of {list(names)}, got {list(values)}")
    return values


def split_inputs(inputs, names: tuple[str, ...], first: str):
    """(first, labels) of a conditional network's input, labels checked against the attributes."""
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
        raise ValueError(f"a network conditioned on {', '.join(names)} is called on ({first}, "
                         f"labels), labels [batch, {len(names)}]")
    tensor, labels = inputs
    if labels.shape[-1] is not None and labels.shape[-1] != len(names):
        raise ValueError(f"labels have {labels.shape[-1]} columns; this network is conditioned "
                         f"on {len(names)} attributes ({', '.join(names)})")
    return tensor, labels


def signs(labels):
    """0/1 labels as -1/+1: an absent attribute moves the embedding as much as a present one."""
    return 2.0 * ops.cast(labels, "float32") - 1.0


def generator_widths(width: int, stages: int) -> list[int]:
    """G's up-block widths after its first map of `width` channels: halved per stage, at least
    16."""
    return [max(width >> (i + 1), 16) for i in range(stages)]


def discriminator_widths(stages: int, channels: int = 0) -> list[int]:
    """D's stage widths toward its last map: `channels` halved per stage back toward the image
    (at least 8), or the reference's 64, 128, ... up to 512 when channels is 0."""
    return [max(channels >> (stages - 1 - i), 8) if channels else min(64 << i, 512)
            for i in range(stages)]


def label_modulation(units: int) -> layers.Layer:
    """Conditional batch norm's label map (as in SN-GAN's and BigGAN's generators): the -1/+1
    labels to a (gain, shift) pair per channel of every batch norm, `units` in all. Its weights
    start at zero, so the modulated G starts as an unconditional one."""
    return layers.Dense(units, use_bias=False, kernel_initializer="zeros",
                        name="label_modulation")


def batch_norm_widths(stack: list) -> list[int]:
    """The channel count of each batch norm in a layer stack, read from the layer before it
    (a Reshape's last dimension, a convolution's or block's filters); a block holding batch
    norms (ResidualUp) contributes its own `modulated_widths`."""
    widths, previous = [], None
    for layer in stack:
        if isinstance(layer, FusedBatchNormalization):
            widths.append(previous.target_shape[-1] if isinstance(previous, layers.Reshape)
                          else previous.filters)
        widths += getattr(layer, "modulated_widths", [])
        previous = layer
    return widths


def split_modulation(modulation, widths: list[int]):
    """The (gain, shift) pairs, one per width, read in order from modulation
    [batch, 2 * sum(widths)]; pairs of None when modulation is None."""
    offset = 0
    for count in widths:
        if modulation is None:
            yield None
            continue
        yield (modulation[:, offset:offset + count],
               modulation[:, offset + count:offset + 2 * count])
        offset += 2 * count


def modulate(x, pair):
    """x * (1 + gain) + shift per example and channel; x itself when pair is None."""
    if pair is None:
        return x
    gain, shift = (ops.cast(t, x.dtype) for t in pair)
    if len(x.shape) == 4:
        gain, shift = gain[:, None, None, :], shift[:, None, None, :]
    return x * (1.0 + gain) + shift


def run_modulated(stack: list, x, modulation, widths: list[int], training: bool):
    """x through the stack, each batch norm's output scaled by (1 + gain) and shifted by shift,
    both per example and channel, read in order from modulation [batch, 2 * sum(widths)]
    (widths as batch_norm_widths gives them); a block holding batch norms is given its share."""
    pairs = split_modulation(modulation, widths)
    for layer in stack:
        if isinstance(layer, FusedBatchNormalization):
            x = modulate(layer(x, training=training), next(pairs))
        elif hasattr(layer, "modulated_widths"):
            own = [next(pairs) for _ in layer.modulated_widths]
            x = layer(x, training=training,
                      modulation=ops.concatenate([t for pair in own for t in pair], axis=-1))
        else:
            x = layer(x, training=training)
    return x
