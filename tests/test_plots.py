"""plots: grids that round-trip, every plot a decodable PNG, the redraw command line."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import plots


def _images(count, size=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, 3)).astype(np.float32)


def _decode(path):
    with open(path, "rb") as file:
        return tf.io.decode_png(file.read()).numpy()


def test_image_grid_shape_is_square_ish_with_two_pixel_padding():
    grid = plots.image_grid(_images(10))
    assert grid.dtype == np.uint8
    assert grid.shape == (2 + 3 * (8 + 2), 2 + 4 * (8 + 2), 3)


def test_image_grid_places_tiles_and_maps_minus_one_to_zero():
    images = np.stack([np.full((4, 4, 1), -1.0), np.full((4, 4, 1), 1.0)]).astype(np.float32)
    grid = plots.image_grid(images, ncols=2)
    assert grid.shape == (8, 14, 3)
    assert (grid[2:6, 2:6] == 0).all() and (grid[2:6, 8:12] == 255).all()


def test_image_grid_passes_uint8_through():
    images = np.random.default_rng(1).integers(0, 256, (3, 5, 5, 3), dtype=np.uint8)
    grid = plots.image_grid(images, ncols=3)
    np.testing.assert_array_equal(grid[2:7, 9:14], images[1])


def test_image_grid_rejects_a_single_image():
    with pytest.raises(ValueError, match="NHWC"):
        plots.image_grid(np.zeros((8, 8, 3)))


def test_save_image_grid_writes_a_png_that_decodes(tmp_path):
    path = tmp_path / "deep" / "samples" / "epoch_0001.png"
    plots.save_image_grid(_images(6), str(path), ncols=3)
    assert _decode(str(path)).shape == (2 + 2 * 10, 2 + 3 * 10, 3)
    assert os.listdir(path.parent) == ["epoch_0001.png"]


def test_saved_grid_tiles_come_back_out(tmp_path):
    images = _images(7, size=6, seed=2)
    path = str(tmp_path / "grid.png")
    plots.save_image_grid(images, path)
    np.testing.assert_array_equal(plots.load_grid_tiles(path), plots.to_uint8(images))


def test_tiles_come_back_from_a_grid_without_layout_metadata(tmp_path):
    images = _images(9, size=10, seed=3)
    path = str(tmp_path / "foreign.png")
    with open(path, "wb") as file:
        file.write(tf.io.encode_png(plots.image_grid(images)).numpy())
    np.testing.assert_array_equal(plots.load_grid_tiles(path), plots.to_uint8(images))
