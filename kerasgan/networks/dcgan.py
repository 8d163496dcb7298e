"""`dcgan`, Radford et al. (2016).

G: a 4x4 map (512 channels, or --channels), 4x4 stride-2 transposed convolutions with batch norm
and ReLU, the last stride-2 layer emitting RGB. D: 4x4 stride-2 convolutions down to 4x4, batch
norm after all but the first, LeakyReLU(0.2); no dropout. Weights drawn from N(0, 0.02).
"""

from __future__ import annotations

from keras import layers

from kerasgan.networks import blocks

START = 4
KERNEL = 4


def initializer():
    return blocks.normal_init()


def generator_layers(stages: int, channels: int, sync_batchnorm: bool, init) -> list:
    width = channels or 512
    stack = blocks.dense_to_map(START, width, init, sync_batchnorm, layers.ReLU)
    for up_width in blocks.generator_widths(width, stages - 1):
        stack += blocks.up_block(up_width, KERNEL, init, sync_batchnorm, layers.ReLU)
    return stack + blocks.to_rgb(KERNEL, strides=2, init=init)


def discriminator_layers(stages: int, channels: int, sync_batchnorm: bool, norm: str,
                         dropout: float, init) -> tuple[list, int]:
    wrap = blocks.spectral_wrap(norm)
    widths = blocks.discriminator_widths(stages, channels)
    stack = []
    for i, width in enumerate(widths):
        norm = (lambda: blocks.batch_norm(sync_batchnorm)) if i else None
        stack += blocks.down_block(width, KERNEL, init, wrap, use_bias=i == 0, norm=norm)
    return stack, START * START * widths[-1]
