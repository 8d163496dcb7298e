"""The generator's noise: one vector per seed, and truncation.

Seed s always gives the same z, however many seeds are drawn with it, so `sample`, `evaluate`,
the explorer and the per-epoch grid draw the same face for the same seed. This module sits below
`gan`, so drawing faces never imports the training step.

Truncation ψ pulls z toward the mean of the noise it was drawn from, z_ψ = 0 + ψ (z - 0) = ψ z
(StyleGAN's w̄ + ψ (w - w̄), taken in z: kerasgan's generators have no mapping network, and z's
mean is 0). ψ = 1 leaves z as drawn; smaller ψ trades variety for typical faces. A seed keeps
its direction at every ψ, so a slider over ψ fades one face toward the average one.
docs/sampling.md says why this rather than BigGAN's resampled normal, and what it costs.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from kerasgan.errors import ConfigError


def seeded_noise(seeds: Iterable[int], latent_dim: int, offset: int = 0) -> np.ndarray:
    """float32 [len(seeds), latent_dim]: one standard-normal z per integer seed, each from its own
    NumPy generator, so seed s gives the same z (the same face) always."""
    return np.stack([np.random.default_rng(offset + int(s)).standard_normal(latent_dim)
                     for s in seeds]).astype("float32")


def check_truncation(psi: float, flag: str = "truncation") -> float:
    """psi as a float when 0 < psi <= 1; ConfigError naming --flag otherwise."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"--{flag}={psi} is not allowed: truncation ψ must be in (0, 1] "
                          "(1 leaves the noise as drawn; 0.7 is a common choice)")
    return value


def truncate(z, psi: float = 1.0) -> np.ndarray:
    """float32 z pulled toward the noise mean 0 by psi (0 < psi <= 1): psi * z; z itself at 1."""
    psi = check_truncation(psi)
    z = np.asarray(z, np.float32)
    return z if psi == 1.0 else z * np.float32(psi)


def seeded_truncated_noise(seeds: Iterable[int], latent_dim: int, psi: float = 1.0
                           ) -> np.ndarray:
    """truncate(seeded_noise(seeds, latent_dim), psi): the z that sample draws for --truncation."""
    return truncate(seeded_noise(seeds, latent_dim), psi)
