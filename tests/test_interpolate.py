"""Interpolation between two seeds: slerp against closed forms, the strip and GIF, bad flags."""

import math
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasgan import images, sample_lib
from kerasgan.errors import ConfigError

E1, E2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])


def test_slerp_ends_at_its_two_vectors():
    z0, z1 = np.array([0.3, -1.2, 2.0]), np.array([-0.7, 0.4, 1.1])
    np.testing.assert_allclose(sample_lib.slerp(z0, z1, 0.0), z0, atol=1e-12)
    np.testing.assert_allclose(sample_lib.slerp(z0, z1, 1.0), z1, atol=1e-12)


def test_slerp_of_orthogonal_unit_vectors_follows_the_quarter_circle():
    np.testing.assert_allclose(sample_lib.slerp(E1, E2, 0.5), (E1 + E2) / math.sqrt(2), atol=1e-12)
    np.testing.assert_allclose(sample_lib.slerp(E1, E2, 1 / 3),
                               [math.sqrt(3) / 2, 0.5, 0.0], atol=1e-12)


def test_slerp_keeps_the_norm_of_equal_norm_vectors_where_a_line_would_not():
    z0, z1 = 3 * E1, 3 * (E1 + 2 * E2) / math.sqrt(5)
    path = sample_lib.slerp(z0, z1, np.linspace(0, 1, 9))
    assert path.shape == (9, 3)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, atol=1e-12)
    assert np.linalg.norm((z0 + z1) / 2) < 2.9


def test_slerp_of_parallel_vectors_is_the_straight_line():
    np.testing.assert_allclose(sample_lib.slerp(E1, 3 * E1, 0.5), 2 * E1, atol=1e-12)


@pytest.mark.parametrize("text,seeds", [("3,7", (3, 7)), (" 12 , 0", (12, 0))])
def test_parse_interpolate(text, seeds):
    assert sample_lib.parse_interpolate(text) == seeds


@pytest.mark.parametrize("text", ["3", "a,b", "1,2,3", "-1,2", "4,4", ""])
def test_bad_interpolate_names_the_flag(text):
    with pytest.raises(ConfigError, match="--interpolate="):
        sample_lib.parse_interpolate(text)


@pytest.mark.parametrize("frames", [1, 0, sample_lib.MAX_FRAMES + 1])
def test_frames_out_of_range_name_the_flag(frames):
    with pytest.raises(ConfigError, match=f"--frames={frames} is not allowed"):
        sample_lib.check_frames(frames)


def _png(path):
    return tf.io.decode_png(tf.io.read_file(path)).numpy()


def test_cli_writes_a_strip_and_a_gif_of_the_frames(cli, trained_run, tmp_path):
    out = tmp_path / "out"
    proc = cli("kerasgan.sample", f"--workdir={trained_run}", "--interpolate=3,7", "--frames=16",
               f"--outdir={out}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["interpolate_3_7.gif", "interpolate_3_7.png"]
    strip = _png(str(out / "interpolate_3_7.png"))
    assert strip.shape == (2 + 16 + 2, 2 + 16 * (16 + 2), 3)  # one row of 16 px tiles, 2 px apart
    with Image.open(out / "interpolate_3_7.gif") as gif:
        assert gif.n_frames == 16 and gif.size == (128, 128)  # 16 px frames enlarged 8x


def test_the_strip_starts_and_ends_at_the_two_seeds_faces(trained_run, tmp_path):
    strip_path, _ = sample_lib.interpolate((3, 7), 5, workdir=trained_run, outdir=str(tmp_path))
    tiles = images.load_grid_tiles(strip_path).astype(int)
    faces = sample_lib.sample(workdir=trained_run, seeds=[3, 7], outdir=str(tmp_path / "faces"))
    assert np.abs(tiles[0] - _png(faces[0])).max() <= 1
    assert np.abs(tiles[-1] - _png(faces[1])).max() <= 1
    assert len(tiles) == 5 and not np.array_equal(tiles[1], tiles[3])


def test_an_exported_generator_interpolates_like_its_run(trained_run, tmp_path):
    from_run, _ = sample_lib.interpolate((0, 1), 4, workdir=trained_run,
                                         outdir=str(tmp_path / "run"))
    from_file, gif = sample_lib.interpolate(
        (0, 1), 4, generator_path=os.path.join(trained_run, "generator.keras"),
        outdir=str(tmp_path / "file"))
    np.testing.assert_array_equal(_png(from_run), _png(from_file))
    assert os.path.basename(gif) == "interpolate_0_1.gif"


@pytest.mark.parametrize("flags,fragment", [
    (("--interpolate=3",), "--interpolate=3 is not allowed"),
    (("--interpolate=a,b",), "--interpolate=a,b is not allowed"),
    (("--interpolate=3,7", "--frames=1"), "--frames=1 is not allowed"),
    (("--interpolate=3,7", "--grid"), "leave out --seeds and --grid"),
])
def test_cli_bad_values_exit_2_with_one_line(cli_without_tensorflow, trained_run, tmp_path, flags,
                                            fragment):
    proc = cli_without_tensorflow("kerasgan.sample", f"--workdir={trained_run}", *flags,
               f"--outdir={tmp_path / 'out'}")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(errors) == 1 and fragment in errors[0], proc.stderr
    assert not (tmp_path / "out").exists()
