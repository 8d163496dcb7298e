import io
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import config as config_lib
from kerasgan import data
from kerasgan.errors import DataError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 6 CelebA images: partitions 0,0,0,1,1,2 -> train 3, val 2, test 1.
PARTITIONS = [0, 0, 0, 1, 1, 2]
ATTRS = ["Smiling", "Young"]


def _jpeg(height=218, width=178, seed=0, value=None):
    if value is None:
        pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        pixels = np.full((height, width, 3), value, np.uint8)
    return tf.io.encode_jpeg(pixels).numpy()


def _png(height, width, channels=3, seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return tf.io.encode_png(pixels).numpy()


def _write(path, payload):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(payload)


def _celeba_files(kaggle=False):
    """{relative path: bytes} for a 6-image CelebA in the official (txt) or Kaggle (csv) form."""
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    files = {name: _jpeg(seed=i) for i, name in enumerate(names)}
    if kaggle:
        partition = "image_id,partition\n" + "".join(
            f"{n},{p}\n" for n, p in zip(names, PARTITIONS))
        attrs = "image_id," + ",".join(ATTRS) + "\n" + "".join(
            f"{n},{1 if i % 2 else -1},1\n" for i, n in enumerate(names))
        return files, {"list_eval_partition.csv": partition, "list_attr_celeba.csv": attrs}
    partition = "".join(f"{n} {p}\n" for n, p in zip(names, PARTITIONS))
    attrs = f"{len(names)}\n" + " ".join(ATTRS) + "\n" + "".join(
        f"{n}  {1 if i % 2 else -1}  1\n" for i, n in enumerate(names))
    return files, {"list_eval_partition.txt": partition, "list_attr_celeba.txt": attrs}


@pytest.fixture
def celeba_dir(tmp_path):
    """The official layout: img_align_celeba/*.jpg with list_eval_partition.txt beside it."""
    images, meta = _celeba_files()
    for name, payload in images.items():
        _write(str(tmp_path / "celeba" / "img_align_celeba" / name), payload)
    for name, text in meta.items():
        _write(str(tmp_path / "celeba" / name), text.encode())
    return str(tmp_path / "celeba")


def _config(tmp_path=None, **overrides):
    values = dict(image_size=16, batch_size=2, crop=140)
    values.update(overrides)
    return config_lib.make_config(**values)


def _messy_folder(root):
    """4 good images (nested, jpg/png/grey/rgba) and one bad file of every kind."""
    _write(f"{root}/a/good0.jpg", _jpeg(64, 48, seed=1))
    _write(f"{root}/a/b/good1.png", _png(40, 60, 3, seed=2))
    _write(f"{root}/good2_grey.png", _png(30, 30, 1, seed=3))
    _write(f"{root}/good3_rgba.png", _png(32, 32, 4, seed=4))
    _write(f"{root}/truncated.jpg", _jpeg(64, 64, seed=5)[:300])
    _write(f"{root}/zero.jpg", b"")
    _write(f"{root}/notes.jpeg", b"this is not an image")
    _write(f"{root}/tiny.png", _png(4, 4, seed=6))
    _write(f"{root}/readme.txt", b"ignored: not an image extension")


# ----------------------------------------------------------------------------- synthetic

def test_synthetic_faces_shape_dtype_and_range():
    faces = data.synthetic_faces(np.arange(8), 32, seed=0)
    assert faces.shape == (8, 32, 32, 3) and faces.dtype == np.uint8
    assert faces.std() > 20  # drawn, not blank


def test_synthetic_face_depends_only_on_seed_and_index():
    all_faces = data.synthetic_faces(np.arange(10), 16, seed=3)
    np.testing.assert_array_equal(data.synthetic_faces([7, 2], 16, seed=3), all_faces[[7, 2]])
    assert not np.array_equal(data.synthetic_faces([7], 16, seed=4)[0], all_faces[7])
    assert not np.array_equal(all_faces[0], all_faces[1])


def test_synthetic_faces_any_resolution():
    assert data.synthetic_faces([0], 64).shape == (1, 64, 64, 3)
    assert data.synthetic_faces([0], 20).shape == (1, 20, 20, 3)


# Per-channel sums and a position-weighted sum of synthetic_faces(np.arange(8), 32), recorded
# before synthetic_attributes existed: the labels must describe these very pixels. A few
# levels of tolerance absorb float32 sin/cos rounding that differs between CPUs; any change
# to a shape or a colour moves these sums by thousands.
_PINNED_SUMS = [[95802, 142562, 122936], [191558, 93143, 78491], [157713, 98959, 88140],
                [189608, 119548, 112368], [98539, 162576, 78160], [131784, 88844, 133537],
                [140347, 118164, 114775], [182552, 150889, 136241]]
_PINNED_WEIGHTED = [184525411, 197426422, 182745579, 205679190, 172033072, 183622864,
                    179759890, 223255133]


def test_synthetic_faces_pixels_are_pinned():
    faces = data.synthetic_faces(np.arange(8), 32).astype(np.int64)
    weights = np.arange(1, 32 * 32 + 1).reshape(32, 32, 1)
    np.testing.assert_allclose(faces.sum(axis=(1, 2)), _PINNED_SUMS, rtol=0, atol=16)
    np.testing.assert_allclose((faces * weights).sum(axis=(1, 2, 3)), _PINNED_WEIGHTED,
                               rtol=0, atol=16 * 1024)


def _blend(palette, u):
    """A palette colour at u in [0, 1): linear between the two nearest of its entries."""
    position = u * (len(palette) - 1)
    low = np.minimum(np.floor(position).astype(int), len(palette) - 2)
    frac = (position - low)[:, None]
    return np.asarray(palette, np.float64)[low] * (1 - frac) + np.asarray(
        palette, np.float64)[low + 1] * frac


_HAIR_PALETTE = [[28, 24, 22], [62, 40, 28], [110, 75, 45], [205, 170, 110], [150, 70, 35],
                 [165, 165, 160]]
_SKIN_PALETTE = [[255, 224, 196], [241, 194, 167], [224, 172, 138], [198, 134, 99],
                 [160, 104, 72], [110, 70, 48]]
_LUMA = np.array([0.299, 0.587, 0.114])


def _parameters(indices, seed):
    """The drawing parameters of the faces: 40 uniforms per face from its own (seed, index)."""
    return np.stack([np.random.default_rng([seed, int(i)]).random(40, np.float32)
                     for i in indices]).astype(np.float64)


def _hair(p):
    return _blend(_HAIR_PALETTE, p[:, 6]) * (0.85 + 0.3 * p[:, 7, None])


def _attributes_from_parameters(indices, seed):
    """synthetic_attributes restated from the parameter stream and docs/data.md's rules."""
    p = _parameters(indices, seed)
    skin = _blend(_SKIN_PALETTE, p[:, 4]) * (0.92 + 0.16 * p[:, 5, None])
    forehead = ((-0.22 + 0.06 * p[:, 27] - 0.04 * p[:, 31])          # brow line
                + (0.64 + 0.1 * p[:, 19]) * (0.5 + 0.3 * p[:, 23]))  # minus the hairline
    return {"Bangs": forehead < 0.2, "Black_Hair": _hair(p) @ _LUMA < 48,
            "Blond_Hair": np.abs(5 * p[:, 6] - 3) < 0.5, "Long_Hair": p[:, 21] >= 0.6,
            "Pale_Skin": skin @ _LUMA > 200, "Smiling": (p[:, 38] - 0.35) * 0.12 >= 0.03}


def test_synthetic_attributes_follow_the_drawing_parameters():
    for indices, seed in ((np.arange(4096), 0), (np.array([9, 4000, 3, 123456]), 7)):
        names, labels = data.synthetic_attributes(indices, seed)
        expected = _attributes_from_parameters(indices, seed)
        assert names == list(expected) == list(data.SYNTHETIC_ATTRIBUTE_NAMES)
        assert labels.dtype == np.int8 and labels.shape == (len(indices), 6)
        assert set(np.unique(labels)) == {-1, 1}
        for column, name in enumerate(names):
            np.testing.assert_array_equal(labels[:, column] > 0, expected[name], err_msg=name)
    names, labels = data.synthetic_attributes(np.arange(10), seed=3)
    np.testing.assert_array_equal(data.synthetic_attributes([7, 2], seed=3)[1], labels[[7, 2]])
    np.testing.assert_array_equal(data.synthetic_attributes(10, seed=3)[1], labels)


def test_synthetic_attribute_shares_on_4096_faces():
    names, labels = data.synthetic_attributes(np.arange(4096))
    shares = dict(zip(names, np.round((labels > 0).mean(axis=0), 3)))
    # docs/data.md's table: 31.4, 21.0, 20.3, 40.6, 24.3, 40.3 %
    assert shares == {"Bangs": 0.314, "Black_Hair": 0.21, "Blond_Hair": 0.203,
                      "Long_Hair": 0.406, "Pale_Skin": 0.243, "Smiling": 0.403}
    assert all(0.18 <= share <= 0.45 for share in shares.values())


def test_synthetic_attributes_show_in_the_pixels():
    """Each colour and hair label is visible where it should be, at 32 px."""
    names, labels = data.synthetic_attributes(np.arange(512))
    has = {name: labels[:, k] > 0 for k, name in enumerate(names)}
    faces = data.synthetic_faces(np.arange(512), 32).astype(np.float64)
    luma = faces @ _LUMA
    hair = _hair(_parameters(range(512), 0))

    def gap(values, name):  # mean with the attribute minus mean without
        return values[has[name]].mean() - values[~has[name]].mean()

    crown = luma[:, 4:7, 13:19].mean(axis=(1, 2))          # top of the head: hair
    cheeks = luma[:, 17:20, [10, 11, 12, 19, 20, 21]].mean(axis=(1, 2))

    def like_hair(region):  # mean distance of a region's pixels to the face's hair colour
        return np.abs(region - hair[:, None, None]).mean(axis=(1, 2, 3))

    assert gap(crown, "Black_Hair") < -60 and gap(crown, "Blond_Hair") > 50
    assert gap(cheeks, "Pale_Skin") > 50
    assert gap(like_hair(faces[:, 21:24, np.r_[4:8, 24:28]]), "Long_Hair") < -15  # beside the jaw
    assert gap(like_hair(faces[:, 9:11, 13:19]), "Bangs") < -30                    # the forehead


def test_synthetic_source_dataset_shapes_range_and_batch_count():
    source = data.open_source(_config(dataset="synthetic", num_synthetic=21, batch_size=4))
    batches = list(source.dataset(4))
    assert source.num_examples == 21 and source.name == "synthetic"
    names, labels = data.synthetic_attributes(np.arange(21), seed=0)
    assert source.attribute_names == names
    np.testing.assert_array_equal(source.attributes, labels)
    assert len(batches) == 5
    assert all(b.shape == (4, 16, 16, 3) and b.dtype == tf.float32 for b in batches)
    values = np.concatenate([b.numpy() for b in batches])
    assert values.min() >= -1.0 and values.max() <= 1.0 and values.min() < -0.5 < 0.5 < values.max()


# ----------------------------------------------------------------------------- order, resume, flip

@pytest.fixture(scope="module")
def synthetic_source():
    return data.open_source(_config(dataset="synthetic", num_synthetic=24, seed=5))


def _epoch(source, **kwargs):
    return np.stack([b.numpy() for b in source.dataset(4, **kwargs)])


def test_epoch_order_is_a_function_of_seed_and_epoch(synthetic_source):
    first = _epoch(synthetic_source, epoch=1)
    np.testing.assert_array_equal(_epoch(synthetic_source, epoch=1), first)
    assert not np.array_equal(_epoch(synthetic_source, epoch=1), _epoch(synthetic_source, epoch=2))
    other_seed = data.ImageSource("s", synthetic_source._images, seed=6)
    assert not np.array_equal(_epoch(other_seed, epoch=1), _epoch(synthetic_source, epoch=1))


def test_start_batch_resumes_with_the_same_batches(synthetic_source):
    full = _epoch(synthetic_source, epoch=3)
    np.testing.assert_array_equal(_epoch(synthetic_source, epoch=3, start_batch=4), full[4:])


def test_unshuffled_dataset_and_images_follow_the_source_order(synthetic_source):
    unshuffled = _epoch(synthetic_source, shuffle=False).reshape(24, 16, 16, 3)
    np.testing.assert_allclose(unshuffled, synthetic_source.images(24))
    first = synthetic_source.images(5)
    assert first.shape == (5, 16, 16, 3) and first.dtype == np.float32
    assert first.min() >= -1 and first.max() <= 1


def test_flip_mirrors_some_images_and_is_deterministic(synthetic_source):
    flipping = data.ImageSource("s", synthetic_source._images, seed=5, flip=True)
    plain, flipped = _epoch(synthetic_source, epoch=2), _epoch(flipping, epoch=2)
    np.testing.assert_array_equal(flipped, _epoch(flipping, epoch=2))
    mirrored = np.all(flipped == plain[..., ::-1, :], axis=(2, 3, 4))
    same = np.all(flipped == plain, axis=(2, 3, 4))
    assert np.all(mirrored | same) and 0 < mirrored.sum() < mirrored.size
    np.testing.assert_array_equal(_epoch(flipping, epoch=2, start_batch=3), flipped[3:])


def test_fewer_images_than_a_batch_is_a_data_error(synthetic_source):
    with pytest.raises(DataError, match="fewer than one batch of 64"):
        synthetic_source.dataset(64)


# ----------------------------------------------------------------------------- attributes

ASKED = ("Smiling", "Blond_Hair", "Bangs")


@pytest.fixture(scope="module")
def flipping_source():
    return data.open_source(_config(dataset="synthetic", num_synthetic=24, seed=5, flip=True))


def _labelled_epoch(source, **kwargs):
    batches = list(source.dataset(4, attributes=ASKED, **kwargs))
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    return (np.stack([images.numpy() for images, _ in batches]),
            np.stack([labels.numpy() for _, labels in batches]))


def _truth(indices, seed=5):
    """float32 1/0 labels of ASKED for synthetic faces, straight from synthetic_attributes."""
    names, rows = data.synthetic_attributes(indices, seed)
    return (rows[..., [names.index(n) for n in ASKED]] > 0).astype(np.float32)


def test_labelled_batches_pair_each_image_with_its_own_labels(flipping_source):
    images, labels = _labelled_epoch(flipping_source, epoch=2)
    assert images.shape == (6, 4, 16, 16, 3) and labels.shape == (6, 4, 3)
    assert images.dtype == np.float32 and labels.dtype == np.float32
    assert set(np.unique(labels)) == {0.0, 1.0}
    picked = flipping_source.order(2).reshape(6, 4)  # the shuffled order the epoch takes
    np.testing.assert_array_equal(labels, _truth(picked.reshape(-1)).reshape(6, 4, 3))
    faces = data.synthetic_faces(picked.reshape(-1), 16, seed=5).reshape(6, 4, 16, 16, 3)
    faces = faces.astype(np.float32) / 127.5 - 1.0
    mirrored = np.all(images == faces[..., ::-1, :], axis=(2, 3, 4))
    same = np.all(images == faces, axis=(2, 3, 4))
    assert np.all(mirrored | same) and 0 < mirrored.sum() < mirrored.size  # flips: images only
    plain = np.stack([b.numpy() for b in flipping_source.dataset(4, epoch=2)])
    np.testing.assert_array_equal(images, plain)  # the images are exactly the unlabelled ones


def test_labelled_batches_resume_at_start_batch(flipping_source):
    images, labels = _labelled_epoch(flipping_source, epoch=3)
    resumed_images, resumed_labels = _labelled_epoch(flipping_source, epoch=3, start_batch=4)
    np.testing.assert_array_equal(resumed_images, images[4:])
    np.testing.assert_array_equal(resumed_labels, labels[4:])


def test_labels_follow_images_order_and_the_names_order(flipping_source):
    labels = flipping_source.labels(ASKED, 10)
    assert labels.shape == (10, 3) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels, _truth(np.arange(10)))
    np.testing.assert_array_equal(flipping_source.labels(ASKED[::-1], 10), labels[:, ::-1])
    assert flipping_source.labels(ASKED, 100).shape == (24, 3)
    assert flipping_source.labels([], 5).shape == (5, 0)
    _, unshuffled = _labelled_epoch(flipping_source, shuffle=False)
    np.testing.assert_array_equal(unshuffled.reshape(24, 3), flipping_source.labels(ASKED, 24))


def test_attribute_frequencies_are_the_shares_of_the_labels(flipping_source):
    shares = flipping_source.attribute_frequencies(ASKED)
    assert shares.dtype == np.float32 and shares.shape == (3,)
    np.testing.assert_allclose(shares, _truth(np.arange(24)).mean(axis=0), rtol=1e-6)
    names, rows = data.synthetic_attributes(np.arange(4096))
    big = data.ImageSource("s", np.zeros((4096, 1, 1, 3), np.uint8), attributes=rows,
                           attribute_names=names)
    np.testing.assert_allclose(big.attribute_frequencies(["Smiling", "Long_Hair"]),
                               [0.403, 0.406], atol=5e-4)


def test_celeba_labels_are_one_for_plus_one_and_zero_for_minus_one(celeba_dir):
    source = data.open_source(_config(dataset="celeba", data_dir=celeba_dir, split="val"))
    np.testing.assert_array_equal(source.labels(["Smiling", "Young"], 2), [[1, 1], [0, 1]])
    np.testing.assert_array_equal(source.attribute_frequencies(["Smiling"]), [0.5])
    images, labels = next(iter(source.dataset(2, shuffle=False, attributes=["Young", "Smiling"])))
    assert images.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(labels.numpy(), [[1, 1], [1, 0]])


def test_unknown_and_repeated_attribute_names_are_one_line_errors(flipping_source):
    valid = "Bangs, Black_Hair, Blond_Hair, Long_Hair, Pale_Skin, Smiling"
    with pytest.raises(DataError) as error:
        flipping_source.check_attributes(["Smiling", "Eyeglasses"])
    assert str(error.value) == (f"unknown attribute Eyeglasses for synthetic; its attributes "
                                f"are {valid}")
    with pytest.raises(DataError) as error:
        flipping_source.dataset(4, attributes=["smiling", "Male"])
    assert str(error.value) == (f"unknown attributes smiling, Male for synthetic; its attributes "
                                f"are {valid}")
    for call in (lambda: flipping_source.labels(["Smiling", "Smiling"], 3),
                 lambda: flipping_source.attribute_frequencies(["Bangs", "Smiling", "Bangs"])):
        with pytest.raises(DataError, match=r"^attribute named more than once: (Smiling|Bangs)$"):
            call()
    flipping_source.check_attributes([])  # unconditional: nothing to check


def test_a_source_without_attributes_refuses_them_in_one_line(tmp_path):
    _write(str(tmp_path / "f" / "a.png"), _png(20, 20))
    folder = data.open_source(_config(dataset="folder", data_dir=str(tmp_path / "f")))
    assert folder.attribute_names == [] and folder.attributes is None
    expected = (f"folder:{tmp_path / 'f'} has no attributes: --conditional_attributes needs "
                f"CelebA (list_attr_celeba) or --dataset=synthetic")
    for call in (lambda: folder.check_attributes(["Smiling"]),
                 lambda: folder.labels(["Smiling"], 1),
                 lambda: folder.attribute_frequencies(["Smiling"]),
                 lambda: folder.dataset(1, attributes=["Smiling"])):
        with pytest.raises(DataError) as error:
            call()
        assert str(error.value) == expected
    assert folder.labels([], 1).shape == (1, 0)


def test_celeba_images_without_a_label_row_refuse_attributes(celeba_dir):
    path = os.path.join(celeba_dir, "list_attr_celeba.txt")
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    with open(path, "w", encoding="utf-8") as handle:  # drop the rows of 000003.jpg, 000005.jpg
        handle.write("\n".join(line for line in lines if not line.startswith(("000003", "000005"))))
    source = data.open_source(_config(dataset="celeba", data_dir=celeba_dir, split="all"))
    np.testing.assert_array_equal(source.attributes[[2, 4]], np.zeros((2, 2)))
    with pytest.raises(DataError) as error:
        source.labels(["Young"], 6)
    assert str(error.value) == ("2 of 6 images of celeba:all have no label for Young (first: "
                                "000003.jpg); CelebA's list_attr_celeba has no row for them: add "
                                "their rows or remove those images")
    assert source.num_batches(2) == 3  # unconditional use is untouched
    next(iter(source.dataset(2)))


# ----------------------------------------------------------------------------- folder

def test_folder_is_read_recursively_and_bad_files_are_skipped_and_reported(tmp_path):
    _messy_folder(tmp_path / "faces")
    source = data.open_source(_config(dataset="folder", data_dir=str(tmp_path / "faces")))
    assert source.num_examples == 4
    assert source.report() == ("images: 4 usable, 4 skipped of 8 files "
                               "(3 unreadable, 1 too small): "
                               "notes.jpeg, tiny.png, truncated.jpg, zero.jpg")
    assert sorted(source.filenames) == ["a/b/good1.png", "a/good0.jpg", "good2_grey.png",
                                        "good3_rgba.png"]
    batches = list(source.dataset(2))
    assert len(batches) == 2 and batches[0].shape == (2, 16, 16, 3)


@pytest.mark.parametrize("mode,fmt", [("P", "PNG"), ("CMYK", "JPEG"), ("L", "JPEG"),
                                      ("RGBA", "PNG"), ("RGB", "GIF"), ("RGB", "BMP"),
                                      ("RGB", "WEBP")])
def test_every_common_format_and_mode_becomes_rgb(tmp_path, mode, fmt):
    image_module = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    image_module.fromarray(pixels).convert(mode).save(buffer, fmt)
    _write(str(tmp_path / "f" / f"x.{fmt.lower()}"), buffer.getvalue())
    source = data.open_source(_config(dataset="folder", data_dir=str(tmp_path / "f")))
    assert source.num_examples == 1 and source.images(1).shape == (1, 16, 16, 3)


def test_folder_zip_is_read_without_unzipping(tmp_path):
    with zipfile.ZipFile(tmp_path / "faces.zip", "w") as archive:
        archive.writestr("x/a.jpg", _jpeg(40, 40, seed=1))
        archive.writestr("b.png", _png(40, 40, seed=2))
        archive.writestr("broken.jpg", b"nope")
    source = data.open_source(_config(dataset="folder", data_dir=str(tmp_path / "faces.zip")))
    assert source.num_examples == 2 and "1 unreadable" in source.report()
    assert os.path.isdir(tmp_path / data.CACHE_FOLDER)


def test_folder_images_are_centre_cropped_to_a_square(tmp_path):
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, 20:60] = 255  # the centre 40x40 square is white, the sides black
    _write(str(tmp_path / "f" / "wide.png"), tf.io.encode_png(pixels).numpy())
    image = data.open_source(_config(dataset="folder", data_dir=str(tmp_path / "f"))).images(1)
    np.testing.assert_allclose(image, 1.0)


# ----------------------------------------------------------------------------- CelebA layouts

def test_celeba_splits_follow_the_partition_file(celeba_dir):
    counts = {split: data.open_source(_config(dataset="celeba", data_dir=celeba_dir,
                                              split=split)).num_examples
              for split in ("train", "val", "test", "all")}
    assert counts == {"train": 3, "val": 2, "test": 1, "all": 6}


def test_celeba_attributes_are_parsed_and_aligned(celeba_dir):
    source = data.open_source(_config(dataset="celeba", data_dir=celeba_dir, split="val"))
    assert source.filenames == ["000004.jpg", "000005.jpg"]
    assert source.attribute_names == ATTRS
    np.testing.assert_array_equal(source.attributes, [[1, 1], [-1, 1]])


def test_celeba_data_dir_may_be_the_images_folder(celeba_dir):
    source = data.open_source(_config(dataset="celeba", split="train",
                                      data_dir=os.path.join(celeba_dir, "img_align_celeba")))
    assert source.num_examples == 3


def test_celeba_crop_is_the_centre_square(tmp_path):
    pixels = np.zeros((218, 178, 3), np.uint8)
    pixels[39:179, 19:159] = 255  # exactly the centre 140x140
    _write(str(tmp_path / "img_align_celeba" / "000001.jpg"), tf.io.encode_jpeg(pixels).numpy())
    source = data.open_source(_config(dataset="celeba", split="all", data_dir=str(tmp_path)))
    assert source.images(1).min() > 0.9
    wider = data.open_source(_config(dataset="celeba", split="all", crop=160,
                                     data_dir=str(tmp_path)))
    assert wider.images(1).min() < -0.9


def test_celeba_images_smaller_than_the_crop_are_skipped(tmp_path):
    _write(str(tmp_path / "img_align_celeba" / "000001.jpg"), _jpeg())
    _write(str(tmp_path / "img_align_celeba" / "000002.jpg"), _jpeg(100, 100))
    source = data.open_source(_config(dataset="celeba", split="all", data_dir=str(tmp_path)))
    assert source.report() == "images: 1 usable, 1 skipped of 2 files (1 too small): 000002.jpg"


def test_celeba_zip_matches_the_folder(tmp_path, celeba_dir):
    images, meta = _celeba_files()
    with zipfile.ZipFile(tmp_path / "img_align_celeba.zip", "w") as archive:
        for name, payload in images.items():
            archive.writestr(f"img_align_celeba/{name}", payload)
    for name, text in meta.items():
        _write(str(tmp_path / name), text.encode())
    zipped = data.open_source(_config(dataset="celeba", data_dir=str(tmp_path), split="train"))
    folder = data.open_source(_config(dataset="celeba", data_dir=celeba_dir, split="train"))
    assert zipped.num_examples == 3
    np.testing.assert_array_equal(zipped.images(3), folder.images(3))
    direct = data.open_source(_config(dataset="celeba", split="val",
                                      data_dir=str(tmp_path / "img_align_celeba.zip")))
    assert direct.num_examples == 2 and direct.attributes.shape == (2, 2)


@pytest.mark.parametrize("inner", ["", "img_align_celeba"])
def test_kaggle_layout_with_csv_files(tmp_path, inner):
    images, meta = _celeba_files(kaggle=True)
    for name, payload in images.items():
        _write(str(tmp_path / "img_align_celeba" / "img_align_celeba" / name), payload)
    for name, text in meta.items():
        _write(str(tmp_path / name), text.encode())
    source = data.open_source(_config(dataset="celeba", split="test",
                                      data_dir=str(tmp_path / inner)))
    assert source.num_examples == 1 and source.filenames == ["000006.jpg"]
    np.testing.assert_array_equal(source.attributes, [[1, 1]])


def test_celeba_split_without_partition_file_names_the_path(tmp_path):
    _write(str(tmp_path / "img_align_celeba" / "000001.jpg"), _jpeg())
    with pytest.raises(DataError) as error:
        data.open_source(_config(dataset="celeba", split="train", data_dir=str(tmp_path)))
    message = str(error.value)
    assert str(tmp_path) in message and "list_eval_partition" in message
    assert "--split=all" in message
    assert "mmlab.ie.cuhk.edu.hk" in message and "jessicali9530/celeba-dataset" in message
    everything = data.open_source(_config(dataset="celeba", split="all", data_dir=str(tmp_path)))
    assert everything.num_examples == 1 and "list_eval_partition" in everything.warnings[0]


def test_parsers_read_txt_and_csv_forms():
    assert data.parse_partition("a.jpg 0\nb.jpg 2\n") == {"a.jpg": 0, "b.jpg": 2}
    assert data.parse_partition("image_id,partition\na.jpg,1\n") == {"a.jpg": 1}
    names, rows = data.parse_attributes("1\nA B\na.jpg  1 -1\n")
    assert names == ["A", "B"] and rows == {"a.jpg": [1, -1]}
    names, rows = data.parse_attributes("image_id,A,B\na.jpg,-1,1\n")
    assert names == ["A", "B"] and rows == {"a.jpg": [-1, 1]}


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("dataset", ["celeba", "folder"])
def test_missing_unset_and_empty_data_dirs_are_one_line_errors(tmp_path, dataset):
    (tmp_path / "empty").mkdir()
    _write(str(tmp_path / "textonly" / "a.txt"), b"x")
    for data_dir in ("", str(tmp_path / "nope"), str(tmp_path / "empty"),
                     str(tmp_path / "textonly")):
        with pytest.raises(DataError) as error:
            data.open_source(_config(dataset=dataset, split="all", data_dir=data_dir))
        message = str(error.value)
        assert "\n" not in message and "mmlab.ie.cuhk.edu.hk" in message and "Kaggle" in message
        assert (data_dir or "--data_dir") in message


def test_a_folder_of_only_broken_files_is_a_data_error_with_the_report(tmp_path):
    _write(str(tmp_path / "f" / "zero.jpg"), b"")
    with pytest.raises(DataError, match=r"no usable images in .*1 unreadable\): zero.jpg"):
        data.open_source(_config(dataset="folder", data_dir=str(tmp_path / "f")))


def test_tfds_without_the_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import now raises ImportError
    with pytest.raises(DataError, match=r"pip install 'kerasgan\[tfds\]'"):
        data.open_source(_config(dataset="tfds", data_dir=str(tmp_path)))


def _tfds_manual_files(data_dir, payload=b""):
    """Stand-ins for the original CelebA files in DATA_DIR/downloads/manual."""
    for name in data.TFDS_FILES:
        _write(os.path.join(data_dir, "downloads", "manual", name), payload)


def test_tfds_file_list_matches_the_celeb_a_builder():
    tfds = pytest.importorskip("tensorflow_datasets")
    expected = {info.filename for info in tfds.builder_cls("celeb_a").url_infos.values()}
    assert set(data.TFDS_FILES) == expected


def test_tfds_celeb_a_with_mock_records(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    _tfds_manual_files(str(tmp_path))
    with tfds.testing.mock_data(num_examples=5):
        source = data.open_source(_config(dataset="tfds", split="train", data_dir=str(tmp_path)))
    images = source.images(10)
    assert source.num_examples == 5 and not source.skipped
    assert images.shape == (5, 16, 16, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0


def test_tfds_keeps_the_attributes_of_its_records_in_the_cache(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    _tfds_manual_files(str(tmp_path))
    config = _config(dataset="tfds", split="train", data_dir=str(tmp_path))
    with tfds.testing.mock_data(num_examples=6):
        records = tfds.builder("celeb_a", data_dir=str(tmp_path)).as_dataset(
            split="train", shuffle_files=False)
        truth = [{k: bool(v) for k, v in r["attributes"].items()} for r in tfds.as_numpy(records)]
        source = data.open_source(config)
    names = source.attribute_names
    assert len(names) == 40 and {"Smiling", "Eyeglasses", "Blond_Hair", "Male"} <= set(names)
    assert source.attributes.dtype == np.int8 and source.attributes.shape == (6, 40)
    expected = [[1 if row[name] else -1 for name in names] for row in truth]
    np.testing.assert_array_equal(source.attributes, expected)
    np.testing.assert_array_equal(source.labels(["Smiling", "Male"], 6),
                                  [[row["Smiling"], row["Male"]] for row in truth])
    monkeypatch.setattr(data.cache, "_build_cache", lambda *a: pytest.fail("built again"))
    with tfds.testing.mock_data(num_examples=6):
        again = data.open_source(config)  # from the cache, labels included
    assert again.attribute_names == names
    np.testing.assert_array_equal(again.attributes, source.attributes)


@pytest.mark.parametrize("split, tfds_split", [
    ("train", "train"), ("val", "validation"), ("test", "test"),
    ("all", "train+validation+test")])
def test_tfds_split_mapping_and_centre_crop(tmp_path, split, tfds_split):
    tfds = pytest.importorskip("tensorflow_datasets")
    asked = []
    face = np.zeros((218, 178, 3), np.uint8)
    face[39:179, 19:159] = 255

    def as_dataset(builder, split, **kwargs):
        asked.append(str(split))
        return tf.data.Dataset.from_tensor_slices({"image": np.stack([face] * 3)})

    _tfds_manual_files(str(tmp_path))
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        source = data.open_source(_config(dataset="tfds", split=split, data_dir=str(tmp_path)))
    assert asked == [tfds_split]
    assert source.name == f"tfds:celeb_a:{split}" and source.num_examples == 3
    np.testing.assert_array_equal(source.images(3), np.ones((3, 16, 16, 3), np.float32))
    assert source.attribute_names == []  # these records hold images only
    with pytest.raises(DataError, match=rf"^tfds:celeb_a:{split} has no attributes: "):
        source.check_attributes(["Smiling"])


def test_tfds_wrong_manual_files_are_a_data_error_without_download(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    _tfds_manual_files(str(tmp_path), b"not CelebA")
    with pytest.raises(DataError, match=r"NonMatchingChecksumError.*byte-identical") as error:
        data.open_source(_config(dataset="tfds", data_dir=str(tmp_path)))
    assert "\n" not in str(error.value)


def test_tfds_without_data_names_the_manual_dir_and_files_and_never_downloads(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    _write(str(tmp_path / "downloads" / "manual" / "list_eval_partition.txt"), b"")
    result = _cli("--dataset=tfds", f"--data_dir={tmp_path}", timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(tmp_path / "downloads" / "manual") in errors[0]
    assert all(name in errors[0] for name in data.TFDS_FILES)
    assert "missing: img_align_celeba.zip, list_attr_celeba.txt" in errors[0]
    assert not (tmp_path / "downloads" / "celeb_a").exists()


# ----------------------------------------------------------------------------- cache

def _cache_entries(root):
    return sorted(os.listdir(os.path.join(root, data.CACHE_FOLDER)))


def test_cache_is_reused_without_decoding_again(celeba_dir, monkeypatch):
    config = _config(dataset="celeba", data_dir=celeba_dir, split="all")
    first = data.open_source(config)
    monkeypatch.setattr(data.listing, "raw_dataset", lambda *a, **k: pytest.fail("decoded again"))
    again = data.open_source(config)
    np.testing.assert_array_equal(again.images(6), first.images(6))
    assert len(_cache_entries(celeba_dir)) == 1


def test_changed_settings_never_read_a_stale_cache(celeba_dir):
    base = dict(dataset="celeba", data_dir=celeba_dir, split="all")
    data.open_source(_config(**base))
    data.open_source(_config(**base, image_size=32))
    data.open_source(_config(**base, crop=108))
    data.open_source(_config(**dict(base, split="train")))
    assert len(_cache_entries(celeba_dir)) == 4
    os.remove(os.path.join(celeba_dir, "img_align_celeba", "000006.jpg"))
    assert data.open_source(_config(**base)).num_examples == 5


@pytest.mark.parametrize("damage", ["no_manifest", "truncated"])
def test_a_half_written_cache_is_rebuilt(celeba_dir, damage):
    config = _config(dataset="celeba", data_dir=celeba_dir, split="all")
    expected = data.open_source(config).images(6)
    folder = os.path.join(celeba_dir, data.CACHE_FOLDER, _cache_entries(celeba_dir)[0])
    if damage == "no_manifest":
        os.remove(os.path.join(folder, "manifest.json"))
    else:
        with open(os.path.join(folder, "images.u8"), "r+b") as handle:
            handle.truncate(100)
    np.testing.assert_array_equal(data.open_source(config).images(6), expected)


def test_cache_dir_flag_moves_the_cache(celeba_dir, tmp_path):
    data.open_source(_config(dataset="celeba", data_dir=celeba_dir, split="all",
                             cache_dir=str(tmp_path / "elsewhere")))
    assert len(os.listdir(tmp_path / "elsewhere")) == 1
    assert not os.path.exists(os.path.join(celeba_dir, data.CACHE_FOLDER))


_OPEN_AT_ONCE = """
import json, os, sys, time
from kerasgan import config as config_lib, data
builds = []
build = data.cache._build_cache
def counted(*args):
    builds.append(1)
    time.sleep(1.5)  # a slow build: the others surely ask while it runs
    return build(*args)
data.cache._build_cache = counted
config = config_lib.make_config(dataset="folder", data_dir=sys.argv[1], image_size=16)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.01)
source = data.open_source(config)
print(json.dumps({"num_examples": source.num_examples, "builds": len(builds)}))
"""


def test_three_processes_opening_one_uncached_source_build_it_once(tmp_path):
    root = str(tmp_path / "images")
    for i in range(6):
        _write(f"{root}/face{i}.png", _png(24, 24, seed=i))
    _write(f"{root}/broken.png", b"not a png")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    go = str(tmp_path / "go")
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AT_ONCE, root,
                               str(tmp_path / f"ready{i}"), go], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for i in range(3)]
    deadline = time.monotonic() + 120
    while (not all(os.path.exists(tmp_path / f"ready{i}") for i in range(3))
           and time.monotonic() < deadline):
        time.sleep(0.05)
    open(go, "w").close()  # all three imported TensorFlow: now they open the source together
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append((out, json.loads(out.strip().splitlines()[-1])))
    assert [r["num_examples"] for _, r in results] == [6, 6, 6]
    assert sum(r["builds"] for _, r in results) == 1
    assert sum("waiting for another process to build" in out for out, _ in results) == 2
    assert len(_cache_entries(root)) == 1  # one cache folder, no lock file left behind


def test_a_file_replaced_in_place_invalidates_the_cache(tmp_path):
    root = str(tmp_path / "images")
    for i in range(3):
        _write(f"{root}/face{i}.png", _png(24, 24, seed=i))
    config = _config(dataset="folder", data_dir=root)
    before = data.open_source(config).images(3)
    replaced = f"{root}/face1.png"
    stat = os.stat(replaced)
    _write(replaced, _png(24, 24, seed=99))
    os.utime(replaced, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    after = data.open_source(config)
    np.testing.assert_array_equal(after.images(3)[[0, 2]], before[[0, 2]])
    assert not np.array_equal(after.images(3)[1], before[1])
    _write(replaced, b"now a broken file")  # same name again, now unreadable
    assert data.open_source(config).num_examples == 2


# ----------------------------------------------------------------------------- command line

def _cli(*args, timeout=120):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "kerasgan.data", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout)


def test_cli_reports_and_writes_a_preview(celeba_dir, tmp_path):
    preview = tmp_path / "preview.png"
    result = _cli("--dataset=celeba", f"--data_dir={celeba_dir}", "--split=train",
                  "--image_size=16", f"--preview={preview}")
    assert result.returncode == 0, result.stderr
    assert "celeba:train: images: 3 usable, 0 skipped" in result.stdout
    grid = tf.io.decode_png(preview.read_bytes()).numpy()
    assert grid.shape == (2 + 2 * 18, 2 + 2 * 18, 3)


def test_cli_data_error_is_one_line_without_traceback(tmp_path):
    result = _cli("--dataset=celeba", f"--data_dir={tmp_path / 'missing'}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(tmp_path / "missing") in errors[0]
