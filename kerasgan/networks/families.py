"""The registry of network families. --arch names a module with:
    START                  the side of G's first map and D's last one
    initializer()          the weight initialiser one network shares across its layers
    generator_layers(stages, channels, sync_batchnorm, init) -> G's layers, z to tanh images
    discriminator_layers(stages, channels, sync_batchnorm, norm, dropout, init)
                           -> (D's layers, image to its features, and how many features
                               they flatten to: phi(x) of the projection head)
Generator and Discriminator (models.py) add what every family shares: the attribute
conditioning, D's flatten, logit and projection. A new family is one module and one line here
(and its name in config.ARCHS, which tests/test_networks.py holds equal to this registry)."""

from __future__ import annotations

import math

from kerasgan.config import IMAGE_SIZES
from kerasgan.networks import dcgan, dcgan_resize, resnet, seed

FAMILIES = {"seed": seed, "dcgan": dcgan, "dcgan_resize": dcgan_resize, "resnet": resnet}


def family(arch: str):
    """The module of family `arch`; ValueError naming the families otherwise."""
    if arch not in FAMILIES:
        raise ValueError(f"arch={arch!r} is not one of {', '.join(FAMILIES)}")
    return FAMILIES[arch]


def stages(image_size: int, arch: str) -> int:
    """Number of stride-2 stages between the family's start resolution and image_size."""
    start = family(arch).START
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size={image_size} is not one of {IMAGE_SIZES}")
    return int(math.log2(image_size // start))
