"""`resnet`, the residual networks of SN-GAN (Miyato et al. 2018) with BigGAN's widths (Brock
et al. 2019).

G: z to a 4x4 map (256 channels, or --channels) through a Dense layer, one residual up-block per
doubling (the first keeps the width, each later one halves it, at least 16), then batch norm,
ReLU, a 3x3 convolution to RGB and tanh. D: residual down-blocks to 4x4 (the first one SN-GAN's
"optimised" block on the image), its widths those of `dcgan`'s D (--channels at 4x4, halved
toward the image), then ReLU and the sum over positions: one feature vector of the last width.
No batch norm and no dropout in D; spectral norm on every convolution with --d_norm=spectral.
Glorot-uniform weights. docs/architecture.md says where this departs from the papers.
"""

from __future__ import annotations

from keras import layers

from kerasgan.networks import blocks

START = 4
DEFAULT_WIDTH = 256


def initializer():
    return "glorot_uniform"


def generator_widths(width: int, stages: int) -> list[int]:
    """The up-blocks' output widths: the first keeps `width`, each later one halves it."""
    return [max(width >> i, 16) for i in range(stages)]


def generator_layers(stages: int, channels: int, sync_batchnorm: bool, init) -> list:
    width = channels or DEFAULT_WIDTH
    stack = [layers.Dense(START * START * width, kernel_initializer=init),
             layers.Reshape((START, START, width))]
    in_width = width
    for out_width in generator_widths(width, stages):
        stack.append(blocks.ResidualUp(in_width, out_width, sync_batchnorm, init))
        in_width = out_width
    return (stack + [blocks.batch_norm(sync_batchnorm), layers.ReLU()]
            + blocks.to_rgb(3, strides=1, init=init, transposed=False))


def discriminator_layers(stages: int, channels: int, sync_batchnorm: bool, norm: str,
                         dropout: float, init) -> tuple[list, int]:
    widths = blocks.discriminator_widths(stages, channels or DEFAULT_WIDTH)
    stack = [blocks.ResidualDown(width, first=i == 0, norm=norm, initializer=init)
             for i, width in enumerate(widths)]
    return stack + [layers.ReLU(), blocks.GlobalSumPooling()], widths[-1]
