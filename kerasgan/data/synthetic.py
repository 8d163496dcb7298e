"""Synthetic cartoon faces: training images that need no download, with attribute labels.

Each face is drawn from 40 uniform parameters that depend only on (seed, index), so any image
can be redrawn alone, at any size. `synthetic_attributes` reads CelebA-style labels (Smiling,
Blond_Hair, ...) off the same parameters: the ground truth of what was drawn.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

_SKIN = np.array([[255, 224, 196], [241, 194, 167], [224, 172, 138], [198, 134, 99],
                  [160, 104, 72], [110, 70, 48]], np.float32)
_HAIR = np.array([[28, 24, 22], [62, 40, 28], [110, 75, 45], [205, 170, 110], [150, 70, 35],
                  [165, 165, 160]], np.float32)
_IRIS = np.array([[90, 60, 35], [50, 35, 25], [70, 110, 160], [80, 120, 70]], np.float32)
_NUM_PARAMS = 40
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 luma of an RGB colour

# The attributes of the synthetic faces, in CelebA's (alphabetical) order. Long_Hair is not a
# CelebA attribute (CelebA has no hair length); the others mean what CelebA's do.
SYNTHETIC_ATTRIBUTE_NAMES = ("Bangs", "Black_Hair", "Blond_Hair", "Long_Hair", "Pale_Skin",
                             "Smiling")


# Built-in faces from this index on are never trained on (a run's are 0 .. num_synthetic - 1):
# the held-out set that experiments/time_to_faces and `evaluate --real=synthetic_heldout` use.
SYNTHETIC_HELDOUT_START = 100_000

def synthetic_faces(indices: Iterable[int] | int, image_size: int, seed: int = 0) -> np.ndarray:
    """Procedural cartoon faces, uint8 [N, S, S, 3]; image i depends only on (seed, i).

    A face in a grid is recognisable at any size, so a GAN trained on these visibly learns
    something without a download. Drawn at 2x and averaged down (supersampled anti-aliasing).
    """
    params = _params(indices, seed)
    out = np.empty((len(params), image_size, image_size, 3), np.uint8)
    chunk = max(1, 2 ** 21 // (4 * image_size * image_size))
    for start in range(0, len(params), chunk):
        out[start:start + chunk] = _render_faces(params[start:start + chunk], image_size)
    return out


def synthetic_attributes(indices: Iterable[int] | int,
                         seed: int = 0) -> tuple[list[str], np.ndarray]:
    """(names, int8 [N, A]): +1 where face i of synthetic_faces(indices, size, seed) has the
    attribute, -1 where not (CelebA's list_attr_celeba convention); the same at every size.

    Each label is a rule on the parameters that draw the face (p[k] uniform in [0, 1)); the
    thresholds put each share between 20 and 41 % and are where the difference shows in a
    32 px face (docs/data.md has the table and the shares):
      Bangs:      the hairline comes within 0.2 face units of the brows (a low fringe);
      Black_Hair: the hair colour's luma is below 48 (black and the darkest browns);
      Blond_Hair: the nearest entry of the hair palette is blond (0.5 < p[6] < 0.7);
      Long_Hair:  the hair's straight sides fall past the mouth to the jaw (p[21] >= 0.6);
      Pale_Skin:  the skin colour's luma is above 200 (the two palest palette tones);
      Smiling:    the mouth's centre sits at least 0.03 below its corners (p[38] >= 0.6).
    """
    p = _params(indices, seed)
    ry = 0.64 + 0.1 * p[:, 19]                               # face half-height
    brow = -0.1 + 0.06 * p[:, 27] - 0.12 - 0.04 * p[:, 31]   # brow line (y grows downwards)
    hairline = -ry * (0.5 + 0.3 * p[:, 23])                  # mean hairline on the forehead
    has = np.stack([
        brow - hairline < 0.2,
        _hair_colour(p) @ _LUMA < 48,
        (p[:, 6] > 0.5) & (p[:, 6] < 0.7),
        p[:, 21] >= 0.6,
        _skin_colour(p) @ _LUMA > 200,
        p[:, 38] >= 0.6,
    ], axis=1)
    return list(SYNTHETIC_ATTRIBUTE_NAMES), np.where(has, 1, -1).astype(np.int8)


def synthetic_eyes(indices: Iterable[int] | int, seed: int = 0) -> np.ndarray:
    """float32 [N, 2, 2]: the (x, y) centres of the left and right eye (as they appear in the
    picture) of synthetic_faces(indices, size, seed), as fractions of the side (0 = the first
    pixel's outer edge, 1 = the last one's): the truth that --align's error is measured against.
    Restates _render_faces' placement (turn, scale, shift) and eye centres (ex, ey)."""
    p = _params(indices, seed)
    angle, scale = (p[:, 0] - 0.5) * 0.35, 0.85 + 0.2 * p[:, 3]
    cx, cy = (p[:, 1] - 0.5) * 0.16, 0.02 + (p[:, 2] - 0.5) * 0.1
    ex, ey = 0.18 + 0.06 * p[:, 26], -0.1 + 0.06 * p[:, 27]
    eyes = np.empty((len(p), 2, 2), np.float32)
    for column, sign in enumerate((-1.0, 1.0)):
        x = sign * ex
        eyes[:, column, 0] = cx + scale * (x * np.cos(angle) - ey * np.sin(angle))
        eyes[:, column, 1] = cy + scale * (x * np.sin(angle) + ey * np.cos(angle))
    return (eyes + 1.0) / 2.0


def _params(indices: Iterable[int] | int, seed: int) -> np.ndarray:
    """float32 [N, _NUM_PARAMS] uniform in [0, 1): row i from its own generator, (seed, index)."""
    indices = np.arange(indices) if np.isscalar(indices) else np.asarray(indices, np.int64)
    indices = indices.reshape(-1)
    params = np.zeros((len(indices), _NUM_PARAMS), np.float32)
    for row, i in enumerate(indices):
        params[row] = np.random.default_rng([seed, int(i)]).random(_NUM_PARAMS, np.float32)
    return params


def _skin_colour(p: np.ndarray) -> np.ndarray:
    """float32 [n, 3]: the base skin colour, a skin tone (p[4]) at a brightness (p[5])."""
    return _palette(_SKIN, p[:, 4]) * (0.92 + 0.16 * p[:, 5, None])


def _hair_colour(p: np.ndarray) -> np.ndarray:
    """float32 [n, 3]: the hair colour, a palette blend (p[6]) at a brightness (p[7])."""
    return _palette(_HAIR, p[:, 6]) * (0.85 + 0.3 * p[:, 7, None])


def _palette(colours: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Colour per image: u in [0, 1) picks (and blends neighbouring) palette entries."""
    pos = u * (len(colours) - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, len(colours) - 1)
    frac = (pos - low)[:, None]
    return colours[low] * (1 - frac) + colours[high] * frac


def _ellipse(x, y, cx, cy, rx, ry):
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1.0


def _render_faces(p: np.ndarray, size: int, supersample: int = 2) -> np.ndarray:
    """Paints faces (painter's algorithm, back to front) for a [n, _NUM_PARAMS] block of params.

    synthetic_attributes restates some of these formulas (hair length, hairline, brows, mouth
    curve): a change here changes what the labels mean; tests/test_data.py pins the pixels.
    """
    n, side = len(p), size * supersample
    col = lambda k: p[:, k, None, None]  # noqa: E731
    axis = (np.arange(side, dtype=np.float32) + 0.5) / side * 2.0 - 1.0
    gy, gx = np.meshgrid(axis, axis, indexing="ij")
    gx, gy = gx[None], gy[None]

    angle, scale = (col(0) - 0.5) * 0.35, 0.85 + 0.2 * col(3)
    cx, cy = (col(1) - 0.5) * 0.16, 0.02 + (col(2) - 0.5) * 0.1
    cos, sin = np.cos(angle), np.sin(angle)
    x = ((gx - cx) * cos + (gy - cy) * sin) / scale
    y = (-(gx - cx) * sin + (gy - cy) * cos) / scale

    skin, hair = _skin_colour(p), _hair_colour(p)
    bg_top = 40 + 200 * p[:, 8:11]
    clothes = 30 + 200 * p[:, 12:15]
    iris = _palette(_IRIS, p[:, 16])
    lips = skin * 0.55 + np.array([200, 60, 70], np.float32) * 0.45 * (0.8 + 0.3 * p[:, 17, None])

    colours = [None]
    labels = np.zeros((n, side, side), np.uint8)
    shade = np.broadcast_to(1.0 - 0.45 * p[:, 11, None, None] * (gy + 1) / 2, labels.shape).copy()

    def paint(mask, colour, shading=None):
        labels[mask] = len(colours)
        colours.append(colour)
        if shading is None:
            shade[mask] = 1.0
        else:
            shade[mask] = np.broadcast_to(shading, mask.shape)[mask]

    rx, ry = 0.5 + 0.1 * col(18), 0.64 + 0.1 * col(19)
    volume, length = 0.06 + 0.14 * col(20), -0.1 + 1.0 * col(21)
    paint(_ellipse(gx, gy, cx, 1.3, 0.95, 0.5), clothes)
    paint((np.abs(x) < 0.2 * rx / 0.55) & (y > 0.3) & (y < 1.1), skin * 0.8)
    paint(_ellipse(x, y, 0, -0.1, rx + volume, ry + volume * 0.8)
          | ((np.abs(x) < rx + volume * 0.9) & (y > -0.1) & (y < length)), hair)
    for side_sign in (-1, 1):
        paint(_ellipse(x, y, side_sign * rx * 0.97, 0.03, 0.09, 0.16), skin * 0.95)
    light = (col(22) - 0.5) * 0.3
    face = _ellipse(x, y, 0, 0, rx, ry)
    paint(face, skin, np.clip(1.0 + light * x / rx - 0.08 * (y / ry) ** 2, 0.6, 1.2))
    hairline = -ry * (0.5 + 0.3 * col(23)) + 0.05 * np.sin(x * (6 + 6 * col(24)) + 6.3 * col(25))
    paint(face & (y < hairline), hair)

    ex, ey = 0.18 + 0.06 * col(26), -0.1 + 0.06 * col(27)
    eye_w, eye_h = 0.08 + 0.03 * col(28), 0.035 + 0.025 * col(29)
    tilt = (col(30) - 0.5) * 0.5
    for s in (-1, 1):
        brow_y = y - (ey - 0.12 - 0.04 * col(31)) - s * tilt * (x - s * ex)
        paint((np.abs(x - s * ex) < eye_w * 1.3) & (np.abs(brow_y) < 0.018 + 0.015 * col(32)),
              hair * 0.75)
        sclera = _ellipse(x, y, s * ex, ey, eye_w, eye_h)
        paint(sclera, np.full_like(skin, 240.0))
        gaze = s * ex + 0.02 * (col(33) - 0.5)
        paint(sclera & _ellipse(x, y, gaze, ey, eye_h * 1.05, eye_h * 1.05), iris)
        paint(sclera & _ellipse(x, y, gaze, ey, eye_h * 0.5, eye_h * 0.5), np.full_like(skin, 15.0))

    nose_y = 0.12 + 0.06 * col(34)
    paint(_ellipse(x, y, 0, nose_y, 0.045 + 0.03 * col(35), 0.1), skin * 0.82)
    for s in (-1, 1):
        paint(_ellipse(x, y, s * 0.035, nose_y + 0.08, 0.022, 0.014), skin * 0.6)

    mouth_y, mouth_w = 0.36 + 0.06 * col(36), 0.12 + 0.08 * col(37)
    smile = (col(38) - 0.35) * 0.12
    along = np.clip(1 - (x / mouth_w) ** 2, 0, 1)
    thickness = (0.012 + 0.03 * col(39)) * np.sqrt(along) + 0.006
    paint((np.abs(x) < mouth_w) & (np.abs(y - mouth_y - smile * along) < thickness), lips)

    colours[0] = bg_top
    table = np.stack(colours, axis=1).astype(np.float32)
    img = table[np.arange(n)[:, None, None], labels] * shade[..., None]
    small = img.reshape(n, size, supersample, size, supersample, 3).mean(axis=(2, 4))
    return np.clip(np.round(small), 0, 255).astype(np.uint8)
