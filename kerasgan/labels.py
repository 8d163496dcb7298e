"""Attribute label vectors for a conditional generator, drawn one per seed from the data's shares.

Labels are float32 [N, A]: 1.0 = the face has the attribute, 0.0 = it does not. Seed s always
gives the same row for the same frequencies, however many seeds are drawn with it, as seed s
always gives the same noise vector (gan.seeded_noise); the draws use their own random stream, so
a face's attributes do not depend on its noise.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# Mixed into every label draw's seed so that it never shares a stream with seeded_noise's.
_LABEL_STREAM = 0x1ABE15


def draw_labels(frequencies: Sequence[float], seeds: Sequence[int]) -> np.ndarray:
    """float32 [len(seeds), A]: attribute a of seed s is 1 with probability frequencies[a],
    independently of the other attributes and seeds."""
    shares = np.asarray(frequencies, np.float64).reshape(-1)
    if not np.all((shares >= 0.0) & (shares <= 1.0)):
        raise ValueError(f"attribute frequencies must lie in [0, 1], got {shares.tolist()}")
    rows = [np.random.default_rng([_LABEL_STREAM, int(seed)]).random(len(shares)) < shares
            for seed in seeds]
    return np.asarray(rows, np.float32).reshape(len(rows), len(shares))
