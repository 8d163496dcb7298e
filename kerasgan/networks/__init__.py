"""The networks: Generator and Discriminator over one of several families, built from shared
blocks.

The package, lower to higher: `blocks` (the layers every family is made of: G's dense start, up
blocks and to-RGB; D's down blocks, logit and projection heads; batch norm and spectral-norm
wrapping; the residual blocks; the attribute-conditioning helpers), `seed` (the 128 px reference
family), `dcgan` (Radford et al.'s), `dcgan_resize` (`dcgan` with resize-convolutions in G),
`resnet` (SN-GAN's residual networks), `families` (the registry: --arch name -> family module),
`models` (the Generator and Discriminator Keras models, their conditioning and get_config, and
the builders from a TrainConfig). docs/architecture.md says how to add a family.
"""

from kerasgan.networks.families import FAMILIES, family  # noqa: F401
from kerasgan.networks.models import (LABEL_SCALE, Discriminator, Generator,  # noqa: F401
                                      build_generator, build_networks, build_networks_for,
                                      discriminator_kwargs, example_inputs, generator_kwargs)
