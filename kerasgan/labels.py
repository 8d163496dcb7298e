"""Attribute label vectors for a conditional generator, drawn one per seed as the data has them.

Labels are float32 [N, A]: 1.0 = the face has the attribute, 0.0 = it does not. A run keeps its
data's attribute combinations (label_combinations: each distinct label row and its share of the
training faces), and draw_labels draws whole rows from them, so that the attributes come in the
data's proportions together, not only one by one: a face asked to have black hair is not also
asked to be blond, which no training face is. Values asked for (`asked`) are held, and the other
attributes come from the combinations that have them. Runs saved without combinations (and
requests that no training face matches) draw each attribute alone from its frequency.

Seed s always gives the same row for the same shares, however many seeds are drawn with it, as
seed s always gives the same noise vector (noise.seeded_noise); the draws use their own random
stream, so a face's attributes do not depend on its noise.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

# Mixed into every label draw's seed so that it never shares a stream with seeded_noise's.
_LABEL_STREAM = 0x1ABE15
# The most combinations a run keeps (the commonest): 2**12, all of them for up to 12 attributes.
MAX_COMBINATIONS = 4096

Combinations = Sequence[Sequence]  # ((code, share), ...): code "0110", character a = attribute a


def label_combinations(labels, limit: int = MAX_COMBINATIONS) -> tuple[tuple[str, float], ...]:
    """The distinct rows of [N, A] 0/1 labels as ((code, share), ...), the commonest first (ties
    in code order): code is the row written as "0"/"1" characters, share its fraction of the N
    rows. At most `limit` of them; shares are of all N rows, so a cut list sums to less than 1."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or not len(labels):
        raise ValueError(f"labels must be a non-empty [N, A] array, got shape {labels.shape}")
    rows, counts = np.unique(labels > 0.5, axis=0, return_counts=True)
    codes = ["".join("1" if bit else "0" for bit in row) for row in rows]
    order = sorted(range(len(codes)), key=lambda i: (-counts[i], codes[i]))[:limit]
    return tuple((codes[i], float(counts[i]) / len(labels)) for i in order)


def check_combinations(combinations: Combinations, num_attributes: int
                       ) -> tuple[tuple[str, float], ...]:
    """combinations as tuples, checked: codes of num_attributes "0"/"1" characters, each once,
    shares in (0, 1] summing to at most 1. ValueError otherwise."""
    checked = tuple((str(code), float(share)) for code, share in combinations)
    codes = [code for code, _ in checked]
    if any(len(code) != num_attributes or set(code) - {"0", "1"} for code in codes) or \
            len(set(codes)) != len(codes) or \
            not all(0.0 < share <= 1.0 for _, share in checked) or \
            sum(share for _, share in checked) > 1.0 + 1e-6:
        raise ValueError(f"attribute combinations must be distinct codes of {num_attributes} "
                         f"0/1 characters with shares in (0, 1] summing to at most 1")
    return checked


def matching_share(combinations: Combinations, asked: Mapping[int, float]) -> float:
    """The share of the training faces whose labels have the asked values ({column: 0 or 1})."""
    return float(sum(share for code, share in combinations if _matches(code, asked)))


def draw_labels(frequencies: Sequence[float], seeds: Sequence[int],
                combinations: Combinations = (),
                asked: Optional[Mapping[int, float]] = None) -> np.ndarray:
    """float32 [len(seeds), A]: one label row per seed.

    With combinations, seed s draws a whole row from those that have the asked values, in
    proportion to their shares (so the unasked attributes follow the data given the asked
    ones). Without them, or when none has the asked values, attribute a of seed s is 1 with
    probability frequencies[a], independently of the others. asked ({column: 0 or 1}) values
    are then set in every row.
    """
    shares = np.asarray(frequencies, np.float64).reshape(-1)
    if not np.all((shares >= 0.0) & (shares <= 1.0)):
        raise ValueError(f"attribute frequencies must lie in [0, 1], got {shares.tolist()}")
    asked = {int(column): float(value) for column, value in (asked or {}).items()}
    if any(not 0 <= column < len(shares) for column in asked):
        raise ValueError(f"asked columns {sorted(asked)} outside the {len(shares)} attributes")
    matching = [(code, share) for code, share in check_combinations(combinations, len(shares))
                if _matches(code, asked)]
    weights = np.cumsum([share for _, share in matching])
    rows = []
    for seed in seeds:
        stream = np.random.default_rng([_LABEL_STREAM, int(seed)])
        if matching:
            pick = int(np.searchsorted(weights, stream.random() * weights[-1], side="right"))
            rows.append([c == "1" for c in matching[min(pick, len(matching) - 1)][0]])
        else:
            rows.append(stream.random(len(shares)) < shares)
    labels = np.asarray(rows, np.float32).reshape(len(rows), len(shares))
    for column, value in asked.items():
        labels[:, column] = value
    return labels


def _matches(code: str, asked: Mapping[int, float]) -> bool:
    return all((code[column] == "1") == (value > 0.5) for column, value in asked.items())
