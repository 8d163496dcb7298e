"""Generator and Discriminator: Keras Model subclasses for the `seed` and `dcgan` families.

`seed` is the 128 px reference: G grows an 8x8x512 tensor with 5x5 stride-2 transposed convolutions
to the image size, D mirrors it with stride-2 convolutions down to 8x8. `dcgan` is Radford et al.
(2016): a 4x4x512 start, 4x4 kernels, ReLU in G, batch norm in D after its first layer, weights
drawn from N(0, 0.02). Both emit one logit per image from D and tanh images in [-1, 1] from G.

Both take an optional list of binary attributes (CelebA's Smiling, Eyeglasses, ...); with none
they are exactly the unconditional networks (same layers, weights, outputs and checkpoint keys).
With attributes, labels are float32 [batch, A], 1.0 where a face has the attribute:
- G (as in the conditional GAN of Mirza & Osindero 2014): the labels, mapped to -1/+1, go through
  a learned linear embedding of latent_dim units, scaled by --label_scale (0.1), and are
  concatenated to z before G's first Dense. The embedding starts with N(0, 1/A) weights, so the
  embedded units start at a tenth of z's scale. At z's own scale (StyleGAN2-ADA's choice) the
  labels drowned the noise: on the 32 px quick32 recipe with six synthetic attributes, 3 epochs
  scored swd_avg 79.3 (the full 14 epochs 89.7, its faces nearly one per attribute combination)
  against 49.5 at a tenth and 46.8 unconditional (experiments/conditional32).
- D is a projection discriminator (Miyato & Koyama 2018): logit = psi(phi(x)) + <V y, phi(x)>,
  phi(x) D's last feature map flattened (the input of its logit layer), psi that logit layer and
  V a learned linear embedding of the -1/+1 labels. For independent binary attributes this is the
  projection form of a log-likelihood ratio with one embedding vector per attribute (the -1/+1
  mapping absorbs the per-attribute constant into psi). Unlike concatenating labels to D's input,
  it makes the label a term of the logit, which D cannot ignore, and it is the design the
  spectrally normalised GANs (SN-GAN, BigGAN) use: with --d_norm=spectral V is normalised too.

Batch norm uses momentum 0.9 (PyTorch's 0.1, as in the DCGAN reference) rather than Keras' 0.99:
a GAN's generator changes fast, and with a ~100-step average the inference-mode statistics lag so
far behind that sample grids show flat, washed-out images while the training-mode output already
shows faces (seen on a 256-step 32 px run).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from kerasgan.config import ARCHS, IMAGE_SIZES, TrainConfig, parse_attribute_names
from kerasgan.labels import check_combinations
from kerasgan.layers import FusedBatchNormalization

_START = {"seed": 8, "dcgan": 4}
LABEL_SCALE = TrainConfig.label_scale  # a conditional G's embedded labels, relative to z (above)
_BN_MOMENTUM = 0.9


def _check(image_size: int, arch: str) -> int:
    """Number of stride-2 stages between the start resolution and image_size."""
    if arch not in ARCHS:
        raise ValueError(f"arch={arch!r} is not one of {', '.join(ARCHS)}")
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size={image_size} is not one of {IMAGE_SIZES}")
    return int(math.log2(image_size // _START[arch]))


def _initializer(arch: str):
    return keras.initializers.RandomNormal(0.0, 0.02) if arch == "dcgan" else "glorot_uniform"


@keras.saving.register_keras_serializable(package="kerasgan")
class Generator(keras.Model):
    """Maps noise z of shape [batch, latent_dim] to images [batch, size, size, 3] in [-1, 1].

    Args:
        image_size: side of the output image: 16, 32, 64, 128 or 256.
        latent_dim: size of z.
        arch: "seed" (8x8x512 start, LeakyReLU, 5x5 kernels, a final stride-1 layer to RGB) or
            "dcgan" (4x4x512 start, ReLU, 4x4 kernels, the last stride-2 layer emits RGB).
        sync_batchnorm: batch-norm statistics over the global batch under tf.distribute
            (keras.layers.BatchNormalization(synchronized=True)) rather than per replica.
        channels: width of the first feature map (halved per stage); 0 for the reference 512.
        attribute_names: the attributes G is conditioned on (then it is called on (z, labels),
            labels float32 [batch, len(attribute_names)] of 0/1); () for an unconditional G.
        attribute_frequencies: the share of the training images that have each attribute, kept
            (in the config, so in generator.keras) for drawing natural labels; 0.5 each when
            not given.
        label_scale: the factor on a conditional G's embedded labels (LABEL_SCALE unless a saved
            generator says otherwise): kept in the config, so a generator.keras draws as it was
            trained even if the default changes.
        attribute_combinations: the attributes' label rows in the training data with their
            shares (labels.label_combinations), kept likewise so that drawn labels come in the
            data's combinations; () when not known (each attribute is then drawn alone).
        **kwargs: passed to keras.Model (name, dtype, ...).
    """

    def __init__(self, image_size: int = 128, latent_dim: int = 100, arch: str = "seed",
                 sync_batchnorm: bool = False, channels: int = 0, attribute_names=(),
                 attribute_frequencies=(), attribute_combinations=(),
                 label_scale: float = LABEL_SCALE, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.latent_dim = latent_dim
        self.arch = arch
        self.sync_batchnorm = sync_batchnorm
        self.channels = channels
        self.attribute_names = _names(attribute_names)
        self.attribute_frequencies = _frequencies(attribute_frequencies, self.attribute_names)
        self.attribute_combinations = check_combinations(attribute_combinations,
                                                         len(self.attribute_names))
        self.label_scale = float(label_scale)
        stages = _check(image_size, arch)
        start = _START[arch]
        width = channels or 512
        init = _initializer(arch)
        seed = arch == "seed"
        kernel = 5 if seed else 4
        activation = (lambda: layers.LeakyReLU(negative_slope=0.2)) if seed else layers.ReLU
        blocks = [
            layers.Dense(start * start * width, use_bias=False, kernel_initializer=init),
            layers.Reshape((start, start, width)),
            FusedBatchNormalization(momentum=_BN_MOMENTUM, synchronized=sync_batchnorm),
            activation(),
        ]
        hidden = stages if seed else stages - 1
        for i in range(hidden):
            blocks += [
                layers.Conv2DTranspose(max(width >> (i + 1), 16), kernel, strides=2, padding="same",
                                       use_bias=False, kernel_initializer=init),
                FusedBatchNormalization(momentum=_BN_MOMENTUM, synchronized=sync_batchnorm),
                activation(),
            ]
        blocks.append(layers.Conv2DTranspose(3, kernel, strides=1 if seed else 2, padding="same",
                                             kernel_initializer=init))
        blocks.append(layers.Activation("tanh", dtype="float32"))
        # A Sequential attribute, not a list: tf.train.Checkpoint does not see layers that a
        # Keras 3 subclassed model keeps in a Python list (their weights would not be saved).
        self.net = keras.Sequential(blocks, name="layers")
        if self.attribute_names:  # created only when conditional: an unconditional G is as before
            count = len(self.attribute_names)
            self.label_embedding = layers.Dense(
                latent_dim, use_bias=False, name="label_embedding",
                kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0 / math.sqrt(count)))

    @property
    def blocks(self) -> list:
        return ([self.label_embedding] if self.attribute_names else []) + self.net.layers

    def call(self, inputs, training=False):
        if not self.attribute_names:
            return self.net(inputs, training=training)
        z, labels = _split_inputs(inputs, self.attribute_names, "z")
        embedded = self.label_scale * self.label_embedding(_signs(labels))
        return self.net(ops.concatenate([ops.cast(z, embedded.dtype), embedded], axis=-1),
                        training=training)

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, latent_dim=self.latent_dim, arch=self.arch,
                      sync_batchnorm=self.sync_batchnorm, channels=self.channels)
        if self.attribute_names:  # an unconditional G's config stays as it was
            config.update(attribute_names=list(self.attribute_names),
                          attribute_frequencies=list(self.attribute_frequencies),
                          label_scale=self.label_scale)
            if self.attribute_combinations:
                config.update(attribute_combinations=[
                    list(pair) for pair in self.attribute_combinations])
        return config


@keras.saving.register_keras_serializable(package="kerasgan")
class Discriminator(keras.Model):
    """Maps images [batch, size, size, 3] in [-1, 1] to one real/fake logit per image.

    Args:
        image_size: side of the input image: 16, 32, 64, 128 or 256.
        arch: "seed" (5x5 stride-2 convolutions 64, 128, 256, 512, ... down to 8x8, each followed
            by LeakyReLU and Dropout) or "dcgan" (4x4 stride-2 convolutions down to 4x4, batch
            norm after all but the first, LeakyReLU).
        dropout: dropout rate after each `seed` block.
        sync_batchnorm: batch-norm statistics over the global batch under tf.distribute.
        channels: width of the last feature map (halved per stage towards the image); 0 for
            the reference widths (64, 128, ... up to 512).
        norm: "spectral" wraps every convolution and the logit layer in spectral normalisation
            (Miyato et al. 2018), bounding D's Lipschitz constant; "none" leaves them plain.
            Batch norm stays: on the 32 px quick-start recipe, dropping it as the SN-GAN
            discriminator does gave swd_avg 46.8 against 24.1 with it (experiments/time_to_faces).
            With attributes it wraps the projection embedding as well.
        attribute_names: the attributes D judges images with (then it is called on (images,
            labels), labels float32 [batch, A] of 0/1, and adds the projection term to its
            logit); () for an unconditional D.
        **kwargs: passed to keras.Model.
    """

    def __init__(self, image_size: int = 128, arch: str = "seed", dropout: float = 0.3,
                 sync_batchnorm: bool = False, channels: int = 0, norm: str = "none",
                 attribute_names=(), **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.arch = arch
        self.dropout = dropout
        self.sync_batchnorm = sync_batchnorm
        self.channels = channels
        self.norm = norm
        self.attribute_names = _names(attribute_names)
        stages = _check(image_size, arch)
        init = _initializer(arch)
        seed = arch == "seed"
        wrap = (layers.SpectralNormalization if norm == "spectral"
                else lambda layer: layer)
        blocks = []
        for i in range(stages):
            width = max(channels >> (stages - 1 - i), 8) if channels else min(64 << i, 512)
            blocks.append(wrap(layers.Conv2D(width, 5 if seed else 4, strides=2,
                                             padding="same", use_bias=seed or i == 0,
                                             kernel_initializer=init)))
            if not seed and i > 0:
                blocks.append(FusedBatchNormalization(momentum=_BN_MOMENTUM,
                                                      synchronized=sync_batchnorm))
            blocks.append(layers.LeakyReLU(negative_slope=0.2))
            if seed:
                blocks.append(layers.Dropout(dropout))
        blocks.append(layers.Flatten())
        logit = wrap(layers.Dense(1, kernel_initializer=init, dtype="float32"))
        if not self.attribute_names:  # the unconditional D, layer for layer as before
            self.net = keras.Sequential(blocks + [logit], name="layers")
            return
        # Conditional: net ends at phi(x), the flattened features; psi and V act on them.
        self.net = keras.Sequential(blocks, name="layers")
        self.logit = logit
        # phi(x) has the start resolution squared times the last stage's width units.
        self.projection = wrap(layers.Dense(_START[arch] ** 2 * width, use_bias=False,
                                            kernel_initializer=init, dtype="float32",
                                            name="projection"))

    @property
    def blocks(self) -> list:
        if not self.attribute_names:
            return self.net.layers
        return self.net.layers + [self.logit, self.projection]

    def call(self, inputs, training=False):
        if not self.attribute_names:
            return self.net(inputs, training=training)
        images, labels = _split_inputs(inputs, self.attribute_names, "images")
        features = ops.cast(self.net(images, training=training), "float32")
        embedded = ops.cast(self.projection(_signs(labels), training=training), "float32")
        return (ops.cast(self.logit(features, training=training), "float32")
                + ops.sum(embedded * features, axis=-1, keepdims=True))

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, arch=self.arch, dropout=self.dropout,
                      sync_batchnorm=self.sync_batchnorm, channels=self.channels, norm=self.norm)
        if self.attribute_names:
            config.update(attribute_names=list(self.attribute_names))
        return config


def generator_kwargs(config, attribute_frequencies=(), attribute_combinations=()) -> dict:
    """The Generator arguments a TrainConfig implies (with the data's attribute frequencies and
    combinations for a conditional run): one place for training and loading."""
    kwargs = dict(image_size=config.image_size, latent_dim=config.latent_dim, arch=config.arch,
                  channels=config.channels)
    names = parse_attribute_names(config.conditional_attributes)
    if names:
        kwargs.update(attribute_names=names, attribute_frequencies=tuple(attribute_frequencies),
                      attribute_combinations=tuple(attribute_combinations),
                      label_scale=config.label_scale)
    return kwargs


def build_generator(config, sync_batchnorm: bool = False, name: str = "generator",
                    attribute_frequencies=(), attribute_combinations=()) -> Generator:
    """A built generator (weights created) for a TrainConfig."""
    generator = Generator(**generator_kwargs(config, attribute_frequencies,
                                             attribute_combinations),
                          sync_batchnorm=sync_batchnorm, name=name)
    generator(example_inputs(generator))
    return generator


def build_networks(image_size: int, latent_dim: int, arch: str, sync_batchnorm: bool = False,
                   channels: int = 0, d_norm: str = "none", attribute_names=(),
                   attribute_frequencies=(), attribute_combinations=(),
                   label_scale: float = LABEL_SCALE) -> tuple[Generator, Discriminator]:
    """A built generator/discriminator pair (weights created, ready for checkpoints and optimizers)."""
    generator = Generator(image_size=image_size, latent_dim=latent_dim, arch=arch,
                          sync_batchnorm=sync_batchnorm, channels=channels,
                          attribute_names=attribute_names,
                          attribute_frequencies=attribute_frequencies,
                          attribute_combinations=attribute_combinations,
                          label_scale=label_scale, name="generator")
    discriminator = Discriminator(image_size=image_size, arch=arch, sync_batchnorm=sync_batchnorm,
                                  channels=channels, norm=d_norm, attribute_names=attribute_names,
                                  name="discriminator")
    generator(example_inputs(generator))
    images = np.zeros((1, image_size, image_size, 3), "float32")
    discriminator(images if not discriminator.attribute_names
                  else (images, np.zeros((1, len(attribute_names)), "float32")))
    return generator, discriminator


def example_inputs(generator: Generator, batch: int = 1):
    """Zero inputs of the structure a generator takes: z, or (z, labels) when it is conditional."""
    z = np.zeros((batch, generator.latent_dim), "float32")
    if not generator.attribute_names:
        return z
    return z, np.zeros((batch, len(generator.attribute_names)), "float32")


def _names(attribute_names) -> tuple[str, ...]:
    if isinstance(attribute_names, str):
        raise ValueError(f"attribute_names must be a sequence of names, not the string "
                         f"{attribute_names!r} (see config.parse_attribute_names)")
    return tuple(str(name) for name in attribute_names)


def _frequencies(frequencies, names: tuple[str, ...]) -> tuple[float, ...]:
    """One share in [0, 1] per attribute; 0.5 each when none are given."""
    values = tuple(float(f) for f in frequencies) or (0.5,) * len(names)
    if len(values) != len(names) or not all(0.0 <= f <= 1.0 for f in values):
        raise ValueError(f"attribute_frequencies must be {len(names)} shares in [0, 1], one per "
                         f"attribute of {list(names)}, got {list(values)}")
    return values


def _split_inputs(inputs, names: tuple[str, ...], first: str):
    """(first, labels) of a conditional network's input, labels checked against the attributes."""
    if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
        raise ValueError(f"a network conditioned on {', '.join(names)} is called on ({first}, "
                         f"labels), labels [batch, {len(names)}]")
    tensor, labels = inputs
    if labels.shape[-1] is not None and labels.shape[-1] != len(names):
        raise ValueError(f"labels have {labels.shape[-1]} columns; this network is conditioned "
                         f"on {len(names)} attributes ({', '.join(names)})")
    return tensor, labels


def _signs(labels):
    """0/1 labels as -1/+1: an absent attribute moves the embedding as much as a present one."""
    return 2.0 * ops.cast(labels, "float32") - 1.0
