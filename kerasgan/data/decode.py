"""Decoding and preprocessing of image files (the raw path that builds the cache).

Centre crop, antialiased resize, uint8; undecodable files are dropped by the pipeline, for the
cache builder to report.
"""

from __future__ import annotations

import zipfile
from typing import Sequence

import numpy as np
import tensorflow as tf

def _crop_window(height, width, crop: int, min_side: int):
    """(top, left, side, too_small) of the centre square: crop x crop, or the largest (crop 0)."""
    side = tf.minimum(height, width) if crop <= 0 else tf.constant(crop, tf.int32)
    too_small = (tf.minimum(height, width) < max(min_side, 1)) | (height < side) | (width < side)
    return (height - side) // 2, (width - side) // 2, side, too_small


def _resize_uint8(image: tf.Tensor, image_size: int, crop: int = 0) -> tf.Tensor:
    """Antialiased resize of a square image. Shrinking uses "area" (a box filter): measured here
    2.5x faster than bilinear with antialias=True at 140 -> 64 px, mean difference 0.6/255.
    A known crop picks the method while tracing, sparing the map a tf.cond."""
    size = [image_size, image_size]
    area = lambda: tf.image.resize(image, size, method="area")  # noqa: E731
    bilinear = lambda: tf.image.resize(image, size, antialias=True)  # noqa: E731
    if crop > 0:
        image = area() if crop >= image_size else bilinear()
    else:
        image = tf.cond(tf.shape(image)[0] >= image_size, area, bilinear)
    return tf.saturate_cast(tf.round(image), tf.uint8)


def preprocess_decoded(image: tf.Tensor, image_size: int, crop: int = 0, min_side: int = 1):
    """Decoded uint8 [H, W, 3] -> (centre-cropped, resized uint8 [S, S, 3], too_small)."""
    shape = tf.shape(image)
    top, left, side, too_small = _crop_window(shape[0], shape[1], crop, min_side)
    resized = tf.cond(too_small, lambda: tf.zeros([image_size, image_size, 3], tf.uint8),
                      lambda: _resize_uint8(tf.image.crop_to_bounding_box(
                          image, top, left, side, side), image_size, crop))
    return tf.ensure_shape(resized, [image_size, image_size, 3]), too_small


def preprocess_image(data: tf.Tensor, image_size: int, crop: int = 0, min_side: int = 1):
    """Encoded image bytes -> (uint8 [S, S, 3], too_small).

    crop > 0 cuts a centre crop x crop square (CelebA's face crop); crop == 0 cuts the largest
    centre square. Images whose short side is below max(crop, min_side) are flagged too small and
    not decoded. JPEGs decode only their crop window (`decode_and_crop_jpeg`); other formats go
    through `decode_image` (first GIF frame). channels=3 makes grey, palette, RGBA, CMYK into RGB.
    Undecodable bytes raise, for the caller's `ignore_errors` to drop.
    """
    def from_jpeg():
        shape = tf.io.extract_jpeg_shape(data, output_type=tf.int32)
        top, left, side, too_small = _crop_window(shape[0], shape[1], crop, min_side)
        image = tf.cond(too_small, lambda: tf.zeros([image_size, image_size, 3], tf.uint8),
                        lambda: _resize_uint8(tf.io.decode_and_crop_jpeg(
                            data, tf.stack([top, left, side, side]), channels=3), image_size, crop))
        return tf.ensure_shape(image, [image_size, image_size, 3]), too_small

    def from_other():
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        return preprocess_decoded(image, image_size, crop, min_side)

    return tf.cond(tf.io.is_jpeg(data), from_jpeg, from_other)


def raw_dataset(paths: Sequence[str], image_size: int, crop: int = 0, min_side: int = 1,
                zip_path: str = "") -> tf.data.Dataset:
    """(index, uint8 image, too_small) per readable file, in file order; unreadable files vanish.

    `ignore_errors` drops files that fail to read or decode; the caller finds them as the indices
    that never come out. Members of `zip_path` are read from the archive, no unzip needed.
    """
    if zip_path:
        def members():
            with zipfile.ZipFile(zip_path) as archive:
                for index, name in enumerate(paths):
                    try:
                        yield index, archive.read(name)
                    except (OSError, zipfile.BadZipFile, KeyError, EOFError):
                        yield index, b""

        files = tf.data.Dataset.from_generator(members, output_signature=(
            tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.string)))
    else:
        files = tf.data.Dataset.from_tensor_slices(
            (np.arange(len(paths), dtype=np.int64), tf.constant(list(paths), tf.string)))

    def decode(index, source):
        encoded = source if zip_path else tf.io.read_file(source)
        image, too_small = preprocess_image(encoded, image_size, crop, min_side)
        return index, image, too_small

    decoded = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return decoded.prefetch(tf.data.AUTOTUNE).ignore_errors()
