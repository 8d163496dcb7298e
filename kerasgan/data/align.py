"""--align: find the faces in ordinary pictures and crop each as CelebA's aligned faces are.

CelebA's images are aligned: the eyes level, at about the same places in every picture, and
the face filling the same share of the square. A user's photos are whole pictures (faces small,
off-centre, tilted), so the folder source finds the faces first and turns each into that crop.

The detector is MTCNN (Zhang et al. 2016; the `mtcnn` package, MIT), three small convolutional
networks whose weights ship inside its wheel and which run on TensorFlow, so nothing is
downloaded: it gives each face's box and its eye centres. Tilted faces are looked for again in
the picture turned by +-TURNS degrees, and dim or flat ones in the picture with its contrast
evened out (CLAHE). OpenCV cuts the crops. Both come with `pip install "kerasgan[align]"`.

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
TURNS = (20.0, -20.0)
# Pictures are searched with their longer side at most this long, for faces of at least
# _MIN_FACE px there (3 % of it). mtcnn 1.0 sizes its image pyramid as if it began at full scale:
# with a minimum face above 20 px its last level falls under the 12 px its first network needs.
_DETECT_SIDE = 640
_MIN_FACE = 20
ALIGN_VERSION = 2  # in the cache key: a change to how faces are found or cut rebuilds the cache
INSTALL = 'pip install "kerasgan[align]"'

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Face:
    """A face found in a picture, in its pixels: the detector's box (x, y, w, h), the eye
    centres, left and right as they appear in the picture (x grows to the right), and the
    detector's confidence."""

    box: tuple[float, float, float, float]
    left_eye: tuple[float, float]
    right_eye: tuple[float, float]
    confidence: float = 1.0

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
    return cv2


def _mtcnn():
    try:
        import mtcnn
    except ImportError:
        raise DataError(f"--align needs the mtcnn face detector, which is not installed: "
                        f"{INSTALL}") from None
    return mtcnn


class FaceFinder:
    """Finds faces and their eyes in RGB pictures (`find`), largest first."""

    def __init__(self):
        self._cv2 = _cv2()
        self._detector = _mtcnn().MTCNN(device="CPU:0")

    def find(self, image: np.ndarray) -> list[Face]:
        """The faces in uint8 [H, W, 3] RGB, largest first: those found upright, else turned,
        else with the contrast evened out."""
        cv2 = self._cv2
        shrink = min(1.0, _DETECT_SIDE / max(image.shape[:2]))
        if min(image.shape[:2]) * shrink < 2 * _MIN_FACE:
            return []
        if shrink < 1.0:
            image = cv2.resize(image, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        faces: list[Face] = []
        for picture in (image, _even_contrast(cv2, image)):
            for degrees in (0.0,) + TURNS:
                faces = self._find_turned(picture, degrees)
                if faces:
                    break
            if faces:
                break
        faces = [_scaled(face, 1.0 / shrink) for face in faces]
        return sorted(faces, key=lambda face: -face.side)

    def _find_turned(self, image: np.ndarray, degrees: float) -> list[Face]:
        """Faces found in `image` turned by `degrees` about its centre, in image's coordinates."""
        cv2 = self._cv2
        height, width = image.shape[:2]
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        turned = image if not degrees else cv2.warpAffine(image, turn, (width, height),
                                                          borderMode=cv2.BORDER_REPLICATE)
        back = cv2.invertAffineTransform(turn)
        rows = self._detector.detect_faces(np.ascontiguousarray(turned), min_face_size=_MIN_FACE,
                                           output_type="numpy", box_format="xyxy")
        faces = []
        # A row: image index, box x1 y1 x2 y2, confidence, the five landmarks' x then their y
        # (left eye, right eye, nose, mouth left, mouth right; left as seen in the picture).
        for row in np.asarray(rows, np.float64).reshape(-1, 16):
            x1, y1, x2, y2, confidence = row[1:6]
            eyes = sorted([(row[6], row[11]), (row[7], row[12])])
            centre = _point(back, ((x1 + x2) / 2, (y1 + y2) / 2))
            w, h = x2 - x1, y2 - y1
            faces.append(Face(box=(centre[0] - w / 2, centre[1] - h / 2, float(w), float(h)),
                              left_eye=_point(back, eyes[0]), right_eye=_point(back, eyes[1]),
                              confidence=float(confidence)))
        return faces


def _even_contrast(cv2, image: np.ndarray) -> np.ndarray:
    """The picture with its brightness evened out locally (CLAHE on the luma), colours kept."""
    ycrcb = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    ycrcb[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(ycrcb[..., 0])
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)


def _point(affine: np.ndarray, point) -> tuple[float, float]:
    x, y = point
    return (float(affine[0, 0] * x + affine[0, 1] * y + affine[0, 2]),
            float(affine[1, 0] * x + affine[1, 1] * y + affine[1, 2]))


def _scaled(face: Face, factor: float) -> Face:
    return dataclasses.replace(face, box=tuple(v * factor for v in face.box),
                               left_eye=tuple(v * factor for v in face.left_eye),
                               right_eye=tuple(v * factor for v in face.right_eye))


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
    _cv2(), _mtcnn()  # a missing extra fails here, in one line, before any file is read

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
