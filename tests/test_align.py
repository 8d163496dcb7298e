"""--align: faces found in real and pasted pictures, eyes placed where CelebA's are, pictures
without a face counted, never a crash."""

import importlib.util
import math
import os
import sys

import numpy as np
import pytest
from PIL import Image

from kerasgan import config as config_lib
from kerasgan.data import open_source
from kerasgan.data.align import EYES, Face, FaceFinder, align_face, alignment
from kerasgan.errors import DataError

cv2 = pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The astronaut's pupils, marked by hand on a 5x enlargement (x, y in the picture's pixels).
ASTRONAUT_EYES = ((203.0, 101.0), (249.0, 103.0))


@pytest.fixture(scope="module")
def astronaut():
    return skimage_data.astronaut()


def test_the_astronauts_face_and_eyes_are_found_within_four_pixels(astronaut):
    faces = FaceFinder().find(astronaut)
    assert len(faces) == 1 and faces[0].confidence > 0.9
    assert math.dist(faces[0].left_eye, ASTRONAUT_EYES[0]) < 4.0
    assert math.dist(faces[0].right_eye, ASTRONAUT_EYES[1]) < 4.0


def test_alignment_puts_the_eyes_at_celebas_places_level():
    face = Face(box=(0, 0, 1, 1), left_eye=(40.0, 80.0), right_eye=(100.0, 50.0))
    size = 64
    affine = alignment(face, size)
    moved = [affine[:, :2] @ np.array(eye) + affine[:, 2] for eye in (face.left_eye,
                                                                     face.right_eye)]
    np.testing.assert_allclose(moved, np.array(EYES) * size, atol=1e-9)
    # A similarity: equal scale on both axes, no shear.
    np.testing.assert_allclose(affine[:, :2] @ affine[:, :2].T,
                               np.eye(2) * np.linalg.det(affine[:, :2]), atol=1e-9)


def test_align_face_cuts_a_square_of_the_size_asked_from_a_large_picture(astronaut):
    face = FaceFinder().find(astronaut)[0]
    large = cv2.resize(astronaut, None, fx=4, fy=4)
    scaled = Face(box=tuple(4 * v for v in face.box), left_eye=tuple(4 * v for v in face.left_eye),
                  right_eye=tuple(4 * v for v in face.right_eye))
    small, from_large = align_face(astronaut, face, 32), align_face(large, scaled, 32)
    assert small.shape == from_large.shape == (32, 32, 3) and small.dtype == np.uint8
    # The same face from a 4x picture: shrunk without aliasing, nearly the same pixels.
    assert np.abs(small.astype(int) - from_large.astype(int)).mean() < 6


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, astronaut):
    """A folder of pictures: the astronaut, the astronaut stored sideways with an EXIF tag saying
    so (as phones store portraits), two astronauts in one picture, noise, a broken file."""
    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(astronaut).save(folder / "astronaut.jpg", quality=95)
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(astronaut)))
    exif = sideways.getexif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to show"
    sideways.save(folder / "phone.jpg", quality=95, exif=exif)
    smaller = np.full_like(astronaut, 128)
    smaller[51:461, 51:461] = cv2.resize(astronaut[:, ::-1], (410, 410))
    pair = np.concatenate([astronaut, smaller], axis=1)
    Image.fromarray(pair).save(folder / "two.png")
    noise = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "noise.png")
    (folder / "broken.jpg").write_bytes(b"not a picture")
    return folder


def _config(folder, tmp_path, **overrides):
    return config_lib.make_config(dataset="folder", data_dir=str(folder), image_size=32,
                                  align=True, cache_dir=str(tmp_path / "cache"), **overrides)


def test_align_finds_each_face_and_counts_the_pictures_without_one(pictures, tmp_path):
    source = open_source(_config(pictures, tmp_path))
    assert source.num_examples == 3  # astronaut, phone (turned upright), the larger of two
    assert sorted(source.filenames) == ["astronaut.jpg", "phone.jpg", "two.png"]
    assert dict(source.skipped) == {"broken.jpg": "unreadable", "noise.png": "no face found"}
    assert "(1 unreadable, 1 no face found)" in source.report()
    assert source.warnings == ["1 picture held several faces: the largest face of each is kept "
                               "(--align_faces=all keeps every one)"]
    images = source.images(3).astype(np.float32)
    # The upright astronaut and the one turned upright from its EXIF tag are the same crop.
    upright = [images[source.filenames.index(name)] for name in ("astronaut.jpg", "phone.jpg")]
    assert np.abs(upright[0] - upright[1]).mean() < 0.15  # a sideways crop differs by > 0.3


def test_align_faces_all_keeps_every_face_of_a_group_picture(pictures, tmp_path):
    source = open_source(_config(pictures, tmp_path, align_faces="all"))
    assert sorted(source.filenames) == ["astronaut.jpg", "phone.jpg", "two.png", "two.png"]
    assert source.warnings == ["1 picture held several faces: each face is an example"]


def test_align_without_opencv_says_how_to_install_it(pictures, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(DataError, match=r'--align needs OpenCV, which is not installed: '
                                        r'pip install "kerasgan\[align\]"'):
        open_source(_config(pictures, tmp_path))


def test_align_without_mtcnn_says_how_to_install_it(pictures, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mtcnn", None)
    with pytest.raises(DataError, match=r'--align needs the mtcnn face detector, which is not '
                                        r'installed: pip install "kerasgan\[align\]"'):
        open_source(_config(pictures, tmp_path))


def test_align_is_refused_outside_a_folder():
    with pytest.raises(config_lib.ConfigError, match="--align is not allowed with "
                                                     "--dataset=synthetic"):
        config_lib.make_config(dataset="synthetic", align=True)
    with pytest.raises(config_lib.ConfigError, match="--align_faces=some is not allowed"):
        config_lib.make_config(dataset="folder", align_faces="some")


def test_pasted_faces_are_found_with_their_eyes_near_the_truth():
    """experiments/own_faces/align_error.py on 12 pictures: synthetic faces pasted, turned and
    scaled at known places (its README quotes the 200-picture figures)."""
    spec = importlib.util.spec_from_file_location(
        "align_error", os.path.join(ROOT, "experiments", "own_faces", "align_error.py"))
    align_error = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(align_error)
    errors, missed, false, _ = align_error.measure(12, seed=0)
    assert missed <= 3 and false == 0
    crop_errors = [crop for _, crop in errors]
    assert np.median(crop_errors) < 3.0 and max(crop_errors) < 8.0
