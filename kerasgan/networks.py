"""Generator and Discriminator: Keras Model subclasses for the `seed` and `dcgan` families.

`seed` is the 128 px reference: G grows an 8x8x512 tensor with 5x5 stride-2 transposed convolutions
to the image size, D mirrors it with stride-2 convolutions down to 8x8. `dcgan` is Radford et al.
(2016): a 4x4x512 start, 4x4 kernels, ReLU in G, batch norm in D after its first layer, weights
drawn from N(0, 0.02). Both emit one logit per image from D and tanh images in [-1, 1] from G.

Batch norm uses momentum 0.9 (PyTorch's 0.1, as in the DCGAN reference) rather than Keras' 0.99:
a GAN's generator changes fast, and with a ~100-step average the inference-mode statistics lag so
far behind that sample grids show flat, washed-out images while the training-mode output already
shows faces (seen on a 256-step 32 px run).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

from kerasgan.config import ARCHS, IMAGE_SIZES
from kerasgan.layers import FusedBatchNormalization

_START = {"seed": 8, "dcgan": 4}
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
        **kwargs: passed to keras.Model (name, dtype, ...).
    """

    def __init__(self, image_size: int = 128, latent_dim: int = 100, arch: str = "seed",
                 sync_batchnorm: bool = False, channels: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.latent_dim = latent_dim
        self.arch = arch
        self.sync_batchnorm = sync_batchnorm
        self.channels = channels
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

    @property
    def blocks(self) -> list:
        return self.net.layers

    def call(self, z, training=False):
        return self.net(z, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, latent_dim=self.latent_dim, arch=self.arch,
                      sync_batchnorm=self.sync_batchnorm, channels=self.channels)
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
        **kwargs: passed to keras.Model.
    """

    def __init__(self, image_size: int = 128, arch: str = "seed", dropout: float = 0.3,
                 sync_batchnorm: bool = False, channels: int = 0, norm: str = "none", **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.arch = arch
        self.dropout = dropout
        self.sync_batchnorm = sync_batchnorm
        self.channels = channels
        self.norm = norm
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
        blocks += [layers.Flatten(),
                   wrap(layers.Dense(1, kernel_initializer=init, dtype="float32"))]
        self.net = keras.Sequential(blocks, name="layers")

    @property
    def blocks(self) -> list:
        return self.net.layers

    def call(self, images, training=False):
        return self.net(images, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, arch=self.arch, dropout=self.dropout,
                      sync_batchnorm=self.sync_batchnorm, channels=self.channels, norm=self.norm)
        return config


def generator_kwargs(config) -> dict:
    """The Generator arguments a TrainConfig implies: one place for training and loading."""
    return dict(image_size=config.image_size, latent_dim=config.latent_dim, arch=config.arch,
                channels=config.channels)


def build_generator(config, sync_batchnorm: bool = False, name: str = "generator") -> Generator:
    """A built generator (weights created) for a TrainConfig."""
    generator = Generator(**generator_kwargs(config), sync_batchnorm=sync_batchnorm, name=name)
    generator(np.zeros((1, config.latent_dim), "float32"))
    return generator


def build_networks(image_size: int, latent_dim: int, arch: str, sync_batchnorm: bool = False,
                   channels: int = 0, d_norm: str = "none") -> tuple[Generator, Discriminator]:
    """A built generator/discriminator pair (weights created, ready for checkpoints and optimizers)."""
    generator = Generator(image_size=image_size, latent_dim=latent_dim, arch=arch,
                          sync_batchnorm=sync_batchnorm, channels=channels, name="generator")
    discriminator = Discriminator(image_size=image_size, arch=arch, sync_batchnorm=sync_batchnorm,
                                  channels=channels, norm=d_norm, name="discriminator")
    generator(np.zeros((1, latent_dim), "float32"))
    discriminator(np.zeros((1, image_size, image_size, 3), "float32"))
    return generator, discriminator
