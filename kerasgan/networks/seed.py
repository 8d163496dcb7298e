"""`seed`, the 128 px reference family (its widths are the reference's).

G grows an 8x8 map (512 channels, or --channels) with 5x5 stride-2 transposed convolutions,
batch norm and LeakyReLU(0.2) to the image size, then a 5x5 stride-1 layer to RGB; D mirrors it
with 5x5 stride-2 convolutions, LeakyReLU and Dropout down to 8x8. Glorot-uniform weights.
"""

from __future__ import annotations

from kerasgan.networks import blocks

START = 8
KERNEL = 5


def initializer():
    return "glorot_uniform"


def generator_layers(stages: int, channels: int, sync_batchnorm: bool, init) -> list:
    width = channels or 512
    stack = blocks.dense_to_map(START, width, init, sync_batchnorm, blocks.leaky_relu)
    for up_width in blocks.generator_widths(width, stages):
        stack += blocks.up_block(up_width, KERNEL, init, sync_batchnorm, blocks.leaky_relu)
    return stack + blocks.to_rgb(KERNEL, strides=1, init=init)


def discriminator_layers(stages: int, channels: int, sync_batchnorm: bool, norm: str,
                         dropout: float, init) -> tuple[list, int]:
    wrap = blocks.spectral_wrap(norm)
    widths = blocks.discriminator_widths(stages, channels)
    stack = []
    for width in widths:
        stack += blocks.down_block(width, KERNEL, init, wrap, use_bias=True, dropout=dropout)
    return stack, START * START * widths[-1]
