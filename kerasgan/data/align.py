"""--align: find the faces in ordinary pictures and crop each as CelebA's aligned faces are.

CelebA's images are aligned: the eyes level, at about the same places in every picture, and
the face filling the same share of the square. A user's photos are whole pictures (faces small,
off-centre, tilted), so the folder source finds the faces first and turns each into that crop.

The detector is OpenCV's: its Viola-Jones (Haar cascade) face and eye detectors ship inside the
`opencv-python-headless` 4.x wheel (`cv2.data.haarcascades`), so nothing is downloaded and it
runs on any CPU (`pip install "kerasgan[align]"`; OpenCV 5 dropped the cascades). They find
upright, roughly frontal faces; tilted ones are looked for again in the picture turned by
+-TURNS degrees. The eyes are found inside the face's box; where they are not, they are placed
where they sit in an average box (EYES_IN_BOX).

Then one similarity transform (scale, turn, shift) puts the eyes at EYES: where they are in
kerasgan's CelebA crop (the centre 140 px square of the 178x218 aligned images, whose mean eye
positions in list_landmarks_align_celeba are about (69, 111) and (108, 111)).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import zipfile
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from kerasgan.data.cache import KEPT, NO_FACE, ONE_OF_SEVERAL, TOO_SMALL
from kerasgan.errors import DataError

# Left and right eye centres in the aligned square, as fractions of its side.
EYES = ((0.357, 0.514), (0.643, 0.514))
# Where the eyes sit in a box of the face detector when the eye detector finds none.
EYES_IN_BOX = ((0.30, 0.38), (0.70, 0.38))
TURNS = (25.0, -25.0)
_DETECT_SIDE = 1024  # pictures are searched at most this large (faster; faces stay > 24 px)
_MIN_FACE = 24
ALIGN_VERSION = 1  # in the cache key: a change to how faces are found or cut rebuilds the cache
INSTALL = 'pip install "kerasgan[align]"'

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Face:
    """A face found in a picture, in its pixels: the detector's box (x, y, w, h) and the eye
    centres, left and right as they appear in the picture (x grows to the right)."""

    box: tuple[float, float, float, float]
    left_eye: tuple[float, float]
    right_eye: tuple[float, float]
    eyes_found: bool

    @property
    def eye_distance(self) -> float:
        return math.dist(self.left_eye, self.right_eye)

    @property
    def side(self) -> float:
        """The side of the aligned square in the picture's pixels (how large the face is)."""
        return self.eye_distance / (EYES[1][0] - EYES[0][0])


def _cv2():
    try:
        import cv2
    except ImportError:
        raise DataError(f"--align needs OpenCV, which is not installed: {INSTALL}") from None
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        raise DataError(f"--align needs OpenCV 4 with its face detectors (OpenCV "
                        f"{cv2.__version__} has none): {INSTALL}") from None
    return cv2


class FaceFinder:
    """Finds faces and their eyes in RGB pictures (`find`), largest first."""

    def __init__(self):
        cv2 = self._cv2 = _cv2()
        folder = cv2.data.haarcascades
        self._faces = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
        self._eyes = cv2.CascadeClassifier(folder + "haarcascade_eye.xml")
        if self._faces.empty() or self._eyes.empty():
            raise DataError(f"OpenCV's face detector files are missing from {folder}: {INSTALL}")

    def find(self, image: np.ndarray) -> list[Face]:
        """The faces in uint8 [H, W, 3] RGB, largest first; upright ones, else turned ones."""
        cv2 = self._cv2
        shrink = min(1.0, _DETECT_SIDE / max(image.shape[:2]))
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if shrink < 1.0:
            grey = cv2.resize(grey, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        faces = self._find_turned(grey, 0.0)
        if not faces:
            faces = _without_overlaps([f for turn in TURNS for f in self._find_turned(grey, turn)])
        faces = [_scaled(face, 1.0 / shrink) for face in faces]
        return sorted(faces, key=lambda face: -face.side)

    def _find_turned(self, grey: np.ndarray, degrees: float) -> list[Face]:
        """Faces found in `grey` turned by `degrees` about its centre, in grey's coordinates."""
        cv2 = self._cv2
        height, width = grey.shape
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        turned = grey if not degrees else cv2.warpAffine(grey, turn, (width, height),
                                                         borderMode=cv2.BORDER_REPLICATE)
        back = cv2.invertAffineTransform(turn)
        boxes = self._faces.detectMultiScale(turned, scaleFactor=1.1, minNeighbors=5,
                                             minSize=(_MIN_FACE, _MIN_FACE))
        faces = []
        for x, y, w, h in (boxes if len(boxes) else []):
            (left, right), found = self._eye_centres(turned, x, y, w, h)
            faces.append(Face(box=_box_back(back, x, y, w, h), left_eye=_point(back, left),
                              right_eye=_point(back, right), eyes_found=found))
        return faces

    def _eye_centres(self, grey, x, y, w, h):
        """((left, right) eye centres, whether the eye detector found both) in a face box."""
        top, bottom = y + int(0.15 * h), y + int(0.6 * h)
        found = self._eyes.detectMultiScale(grey[top:bottom, x:x + w], scaleFactor=1.1,
                                            minNeighbors=3, minSize=(max(w // 10, 5),) * 2,
                                            maxSize=(w // 2, w // 2))
        centres = [(x + ex + ew / 2, top + ey + eh / 2, ew) for ex, ey, ew, eh in
                   (found if len(found) else [])]
        middle = x + w / 2
        lefts = [c for c in centres if c[0] < middle]
        rights = [c for c in centres if c[0] >= middle]
        if lefts and rights:
            left, right = max(lefts, key=lambda c: c[2]), max(rights, key=lambda c: c[2])
            spread, drop = right[0] - left[0], abs(right[1] - left[1])
            if 0.2 * w <= spread <= 0.7 * w and drop <= 0.25 * spread:
                return ((left[0], left[1]), (right[0], right[1])), True
        return tuple((x + fx * w, y + fy * h) for fx, fy in EYES_IN_BOX), False


def _point(affine: np.ndarray, point) -> tuple[float, float]:
    x, y = point
    return (float(affine[0, 0] * x + affine[0, 1] * y + affine[0, 2]),
            float(affine[1, 0] * x + affine[1, 1] * y + affine[1, 2]))


def _box_back(affine, x, y, w, h) -> tuple[float, float, float, float]:
    cx, cy = _point(affine, (x + w / 2, y + h / 2))
    return (cx - w / 2, cy - h / 2, float(w), float(h))


def _scaled(face: Face, factor: float) -> Face:
    return Face(box=tuple(v * factor for v in face.box),
                left_eye=tuple(v * factor for v in face.left_eye),
                right_eye=tuple(v * factor for v in face.right_eye), eyes_found=face.eyes_found)


def _without_overlaps(faces: list[Face]) -> list[Face]:
    """One face per place: of faces whose centres fall inside each other's boxes, the one whose
    eyes were found (else the larger) is kept."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: (not f.eyes_found, -f.box[2])):
        x, y, w, h = face.box
        centre = (x + w / 2, y + h / 2)
        if not any(abs(centre[0] - k.box[0] - k.box[2] / 2) < k.box[2] / 2
                   and abs(centre[1] - k.box[1] - k.box[3] / 2) < k.box[3] / 2 for k in kept):
            kept.append(face)
    return kept


def alignment(face: Face, size: int) -> np.ndarray:
    """float64 [2, 3]: the similarity transform taking the picture's pixels to a size x size
    square in which the face's eyes sit at EYES (level, at fixed places)."""
    (lx, ly), (rx, ry) = face.left_eye, face.right_eye
    (tlx, tly), (trx, try_) = ((fx * size, fy * size) for fx, fy in EYES)
    scale = math.hypot(trx - tlx, try_ - tly) / max(face.eye_distance, 1e-6)
    angle = -math.atan2(ry - ly, rx - lx)
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    rotate = np.array([[cos, -sin], [sin, cos]])
    source_middle = np.array([(lx + rx) / 2, (ly + ry) / 2])
    target_middle = np.array([(tlx + trx) / 2, (tly + try_) / 2])
    return np.hstack([rotate, (target_middle - rotate @ source_middle)[:, None]])


def align_face(image: np.ndarray, face: Face, size: int) -> np.ndarray:
    """uint8 [size, size, 3]: the face cut from `image` as CelebA's are aligned. Drawn at twice
    the size from a picture first shrunk to about that scale, then averaged down (no aliasing
    from a large photo); outside the picture its edge is mirrored."""
    cv2 = _cv2()
    factor = min(1.0, 2.0 * size / max(face.side, 1.0))
    if factor < 1.0:
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        face = _scaled(face, factor)
    drawn = cv2.warpAffine(image, alignment(face, 2 * size), (2 * size, 2 * size),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return cv2.resize(drawn, (size, size), interpolation=cv2.INTER_AREA)


def read_picture(data: bytes) -> np.ndarray:
    """uint8 [H, W, 3] RGB of encoded image bytes, turned upright as its EXIF tag says (phones
    store portraits sideways); raises OSError/ValueError for what is not a readable image."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(ImageOps.exif_transpose(picture).convert("RGB"))


def aligned_records(read: Iterator[tuple[int, bytes | None]], image_size: int, faces: str,
                    min_side: int) -> Iterator[tuple[int, np.ndarray, int]]:
    """(index, uint8 [S, S, 3], status) per face kept and per picture skipped (status from
    kerasgan.data.cache); unreadable pictures yield nothing (the cache counts them). With
    faces="largest" a picture gives its largest face; with "all", every face large enough."""
    finder = FaceFinder()
    blank = np.zeros((image_size, image_size, 3), np.uint8)
    for index, data in read:
        try:
            picture = read_picture(data) if data else None
        except (OSError, ValueError, SyntaxError) as error:
            log.debug("cannot read picture %d: %s", index, error)
            picture = None
        if picture is None:
            continue
        found = finder.find(picture)
        if not found:
            yield index, blank, NO_FACE
            continue
        large = [face for face in found if face.side >= min_side]
        if not large:
            yield index, blank, TOO_SMALL
            continue
        chosen = large if faces == "all" else large[:1]
        status = ONE_OF_SEVERAL if len(found) > 1 else KEPT
        for face in chosen:
            yield index, align_face(picture, face, image_size), status


def aligned_dataset(paths: Sequence[str], image_size: int, faces: str, min_side: int,
                    zip_path: str = "") -> tf.data.Dataset:
    """The cache's stream for --align: (index, uint8 image, int8 status) per face kept or
    picture skipped, in file order, read from the files or the zip's members."""
    _cv2()  # a missing OpenCV fails here, in one line, before any file is read

    def read() -> Iterator[tuple[int, bytes | None]]:
        from tqdm import tqdm

        archive = zipfile.ZipFile(zip_path) if zip_path else None
        try:
            for index, path in enumerate(tqdm(paths, desc="finding faces", unit="picture",
                                              leave=False, mininterval=2.0)):
                try:
                    if archive is not None:
                        yield index, archive.read(path)
                    else:
                        with open(path, "rb") as file:
                            yield index, file.read()
                except (OSError, KeyError, zipfile.BadZipFile, EOFError):
                    yield index, None
        finally:
            if archive is not None:
                archive.close()

    return tf.data.Dataset.from_generator(
        lambda: aligned_records(read(), image_size, faces, min_side), output_signature=(
            tf.TensorSpec([], tf.int64), tf.TensorSpec([image_size, image_size, 3], tf.uint8),
            tf.TensorSpec([], tf.int8)))
