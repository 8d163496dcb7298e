"""`dcgan_resize`: `dcgan` with G's transposed convolutions replaced by resize-convolutions.

Each of G's doublings is a nearest-neighbour 2x upsampling and a 3x3 convolution (Odena et al.
2016, "Deconvolution and checkerboard artifacts"; the upsampling of SN-GAN's and BigGAN's
generators), then batch norm and ReLU as in `dcgan`; the last one emits RGB. A transposed
convolution with a 4x4 kernel and stride 2 gives each output pixel one of four sub-kernels, which
G must learn to agree; here every pixel sees the same kernel, so G starts smooth. The price is
9 taps per output pixel instead of 4 in G's convolutions. D is `dcgan`'s.
Figures: experiments/time_to_faces/README.md.
"""

from __future__ import annotations

from keras import layers

from kerasgan.networks import blocks, dcgan

START = dcgan.START
KERNEL = 3
initializer = dcgan.initializer
discriminator_layers = dcgan.discriminator_layers


def generator_layers(stages: int, channels: int, sync_batchnorm: bool, init) -> list:
    width = channels or 512
    stack = blocks.dense_to_map(START, width, init, sync_batchnorm, layers.ReLU)
    for up_width in blocks.generator_widths(width, stages - 1):
        stack += blocks.resize_up_block(up_width, KERNEL, init, sync_batchnorm, layers.ReLU)
    return (stack + [layers.UpSampling2D(2, interpolation="nearest")]
            + blocks.to_rgb(KERNEL, strides=1, init=init, transposed=False))
