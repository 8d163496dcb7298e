"""How well --align finds faces and places their eyes, on pictures whose truth is known.

Synthetic faces (kerasgan.data.synthetic, whose eye centres synthetic_eyes gives) are pasted,
turned and scaled, at random places into larger pictures with a textured background; FaceFinder
(what --align runs) looks for them. Printed: how many it found, how many false faces it found
elsewhere, and the eye error (the larger of the two eyes' distances to the truth) in the picture's
pixels and in pixels of the 64 px aligned crop.

    python experiments/own_faces/align_error.py [--count=200] [--seed=0] [--save=pictures.png]

Needs OpenCV (pip install "kerasgan[align]"). Results: experiments/own_faces/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from kerasgan.data.align import EYES, FaceFinder  # noqa: E402
from kerasgan.data.synthetic import synthetic_eyes, synthetic_faces  # noqa: E402

PICTURE = (300, 400)  # height, width
SIDES = (90, 170)  # the pasted face square's side in pixels, uniform
TURN = 20.0  # degrees, uniform in [-TURN, TURN]


def pasted_picture(index: int, seed: int = 0):
    """(uint8 [H, W, 3] picture, float [2, 2] true eye centres in its pixels, face side):
    synthetic face `index` turned, scaled and pasted at a random place on a textured ground."""
    import cv2

    rng = np.random.default_rng([seed, index, 11])
    height, width = PICTURE
    ground = rng.uniform(40, 220, 3) + rng.uniform(-60, 60, 3) * np.linspace(0, 1, width)[:, None]
    picture = np.broadcast_to(ground, (height, width, 3)).copy()
    for _ in range(8):  # blobs: something for a detector to be wrong about
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(10, 50)
        yy, xx = np.mgrid[:height, :width]
        picture[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    picture += rng.normal(0, 6, picture.shape)
    side = int(rng.integers(*SIDES))
    face = synthetic_faces([index], side, seed)[0]
    eyes = synthetic_eyes([index], seed)[0] * side - 0.5  # OpenCV's pixel-centre coordinates
    degrees = rng.uniform(-TURN, TURN)
    reach = side * math.sqrt(2) / 2
    centre = (rng.uniform(reach, width - reach), rng.uniform(reach, height - reach))
    place = cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), degrees, 1.0)
    place[:, 2] += np.array(centre) - (side - 1) / 2
    drawn = cv2.warpAffine(face, place, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones((side, side), np.float32), place, (width, height))[..., None]
    picture = picture * (1 - mask) + drawn * mask
    true_eyes = eyes @ place[:, :2].T + place[:, 2]
    return np.clip(np.round(picture), 0, 255).astype(np.uint8), true_eyes, side


def measure(count: int, seed: int, save: str = ""):
    finder = FaceFinder()
    errors, missed, false, seconds = [], 0, 0, 0.0
    shown = []
    for index in range(count):
        picture, truth, side = pasted_picture(index, seed)
        start = time.perf_counter()
        faces = finder.find(picture)
        seconds += time.perf_counter() - start
        middle = truth.mean(axis=0)
        hits = [f for f in faces if math.dist(middle, np.mean([f.left_eye, f.right_eye], 0))
                < 0.3 * side]
        false += len(faces) - len(hits)
        if not hits:
            missed += 1
            continue
        face = hits[0]
        error = max(math.dist(face.left_eye, truth[0]), math.dist(face.right_eye, truth[1]))
        distance = math.dist(*truth)
        crop_px = error / distance * (EYES[1][0] - EYES[0][0]) * 64
        errors.append((error, crop_px))
        if save and len(shown) < 8:
            shown.append(_marked(picture, face, truth))
    if save and shown:
        from PIL import Image
        Image.fromarray(np.concatenate([np.concatenate(shown[i:i + 4], 1)
                                        for i in range(0, len(shown) - 3, 4)], 0)).save(save)
    return errors, missed, false, seconds


def _marked(picture, face, truth):
    marked = picture.copy()
    for (x, y), colour in [(p, (0, 255, 0)) for p in truth] + [
            (p, (255, 0, 255)) for p in (face.left_eye, face.right_eye)]:
        x, y = int(round(x)), int(round(y))
        marked[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3] = colour
    return marked


def _row(errors):
    if not errors:
        return "| 0 | - | - | - |"
    picture, crop = np.array(errors).T
    return (f"| {len(errors)} | {np.median(picture):.1f} | "
            f"{np.percentile(picture, 90):.1f} | {np.median(crop):.2f} / "
            f"{np.percentile(crop, 90):.2f} / {crop.max():.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default="", help="PNG of the first pictures, truth in green, "
                        "found eyes in magenta")
    args = parser.parse_args()
    every, missed, false, seconds = measure(args.count, args.seed, args.save)
    print(f"pictures {PICTURE[1]}x{PICTURE[0]}, faces {SIDES[0]}-{SIDES[1]} px turned up to "
          f"{TURN:g} degrees, {args.count} pictures, seed {args.seed}")
    print(f"found {args.count - missed} of {args.count} faces; {false} false faces elsewhere; "
          f"{1000 * seconds / args.count:.0f} ms per picture")
    print("| faces found | error px (median) | error px (90 %) | "
          "error in a 64 px crop (median / 90 % / max) |")
    print("|---:|---:|---:|---:|")
    print(_row(every))
    crop = [e[1] for e in every] or [float("nan")]
    print(f"median_crop_error_px={np.median(crop):.2f} max_crop_error_px={max(crop):.2f} "
          f"found={args.count - missed} false={false}")


if __name__ == "__main__":
    main()
