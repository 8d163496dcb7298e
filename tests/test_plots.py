"""plots: grids that round-trip, every plot a decodable PNG, the redraw command line."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasgan import fileio, images, plots


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


def _history_rows(epochs=3, per_epoch=5, seed=0):
    rng = np.random.default_rng(seed)
    return [{"epoch": epoch, "step": (epoch - 1) * per_epoch + i + 1,
             "d_loss": float(rng.uniform(0.5, 1.5)), "g_loss": float(rng.uniform(0.5, 3.0))}
            for epoch in range(1, epochs + 1) for i in range(per_epoch)]


def test_plot_losses_writes_a_png(tmp_path):
    path = str(tmp_path / "plots" / "losses.png")
    rows = _history_rows()
    rows[3]["g_loss"] = None
    plots.plot_losses(rows, path)
    height, width, channels = _decode(path).shape
    assert width > height > 100 and channels in (3, 4)


def test_plot_losses_with_no_rows_still_writes_a_png(tmp_path):
    path = str(tmp_path / "losses.png")
    plots.plot_losses([], path)
    assert _decode(path).shape[0] > 100


def test_smooth_is_debiased_and_skips_nan():
    out = plots.smooth([2.0, np.nan, 2.0, 2.0], weight=0.9)
    np.testing.assert_allclose(out, [2.0, 2.0, 2.0, 2.0])


def test_plot_d_output_hist_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    path = str(tmp_path / "plots" / "d_output_hist_epoch_0003.png")
    plots.plot_d_output_hist(rng.beta(5, 2, 256), tf.constant(rng.beta(2, 5, 256)), 3, path)
    assert _decode(path).shape[0] > 100


def test_choose_evenly_keeps_first_and_last():
    assert plots.choose_evenly(20, 8) == [0, 3, 5, 8, 11, 14, 16, 19]
    assert plots.choose_evenly(3, 8) == [0, 1, 2]


def _write_samples(run, epochs, count=9, size=6):
    paths = []
    for epoch in epochs:
        path = str(run / "samples" / f"epoch_{epoch:04d}.png")
        plots.save_image_grid(_images(count, size=size, seed=epoch), path)
        paths.append(path)
    return paths


def test_progression_rows_are_the_first_samples_of_evenly_chosen_epochs(tmp_path):
    paths = _write_samples(tmp_path, range(1, 13))
    picture, centers, labels = plots.progression_picture(paths[::-1], max_rows=4, num_samples=5)
    assert labels == ["epoch 1", "epoch 5", "epoch 8", "epoch 12"]
    expected = [plots.image_grid(_images(9, size=6, seed=epoch)[:5], ncols=5)
                for epoch in (1, 5, 8, 12)]
    np.testing.assert_array_equal(picture, np.concatenate(expected))
    assert centers == [5.0, 15.0, 25.0, 35.0]


def test_plot_progression_writes_a_png(tmp_path):
    path = str(tmp_path / "plots" / "progression.png")
    plots.plot_progression(_write_samples(tmp_path, (1, 2, 3)), path)
    assert _decode(path).shape[1] > 100


def test_progression_frames_are_evenly_chosen_epochs_first_tiles_shrunk(tmp_path):
    paths = _write_samples(tmp_path, range(1, 13), count=9, size=8)
    frames = plots.progression_frames(paths[::-1], max_frames=4, num_samples=4, max_tile=4)
    assert len(frames) == 4
    for frame, epoch in zip(frames, (1, 5, 8, 12)):
        tiles = plots.to_uint8(_images(9, size=8, seed=epoch)[:4]).astype(np.float64)
        shrunk = np.round(tiles.reshape(4, 4, 2, 4, 2, 3).mean(axis=(2, 4))).astype(np.uint8)
        np.testing.assert_array_equal(frame, plots.image_grid(shrunk))  # 2x2 tiles of 4 px
        assert frame.shape == (2 + 2 * 6, 2 + 2 * 6, 3)


def test_progression_gif_plays_one_frame_per_epoch_and_holds_the_last(tmp_path):
    path = str(tmp_path / "plots" / "progression.gif")
    plots.save_progression_gif(_write_samples(tmp_path, (1, 2, 3), size=8), path, max_tile=8)
    with Image.open(path) as gif:
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
        assert gif.size == (2 + 3 * 10, 2 + 3 * 10) and gif.info["loop"] == 0
    assert durations == [200, 200, 2000]
    assert not [name for name in os.listdir(tmp_path / "plots") if name != "progression.gif"]


def test_progression_gif_needs_a_sample_grid(tmp_path):
    with pytest.raises(ValueError, match="at least one saved sample grid"):
        plots.save_progression_gif([], str(tmp_path / "progression.gif"))


def test_redraw_writes_losses_and_progression(tmp_path):
    from kerasgan import monitoring

    with monitoring.History(str(tmp_path / "history.csv")) as history:
        for row in _history_rows():
            history.append(row)
    _write_samples(tmp_path, (1, 2, 3))
    written = plots.redraw(str(tmp_path))
    assert [os.path.basename(p) for p in written] == ["losses.png", "progression.png",
                                                      "progression.gif"]
    assert all(_decode(p).ndim == 3 for p in written[:2])
    with Image.open(written[2]) as gif:
        assert gif.n_frames == 3


def test_redraw_rebuilds_the_d_output_histograms_from_the_kept_outputs(tmp_path):
    from kerasgan import monitoring

    with monitoring.History(str(tmp_path / "history.csv")) as history:
        for row in _history_rows():
            history.append(row)
    rng = np.random.default_rng(0)
    for epoch in (1, 2):
        plots.save_d_outputs(rng.uniform(size=16), rng.uniform(size=16), epoch, str(tmp_path))
    written = [os.path.basename(p) for p in plots.redraw(str(tmp_path))]
    assert written == ["losses.png", "d_output_hist_epoch_0001.png", "d_output_hist_epoch_0002.png"]
    assert plots.redraw(str(tmp_path), histograms=False) == [str(tmp_path / "plots" / "losses.png")]


def test_redraw_without_history_is_a_run_error(tmp_path):
    from kerasgan.errors import RunError

    with pytest.raises(RunError, match="history.csv not found"):
        plots.redraw(str(tmp_path))


def _cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "kerasgan.plots", *args], capture_output=True,
                          text=True, env=env, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cli_redraws_and_reports_a_missing_history_in_one_line(tmp_path):
    run = tmp_path / "run"
    fileio.write_atomic(str(run / "history.csv"), "epoch,step,d_loss,g_loss\n1,1,0.7,1.2\n")
    _write_samples(run, (1, 2))
    done = _cli(f"--workdir={run}")
    assert done.returncode == 0, done.stderr
    assert _decode(str(run / "plots" / "progression.png")).ndim == 3
    with Image.open(run / "plots" / "progression.gif") as gif:
        assert gif.n_frames == 2
    failed = _cli(f"--workdir={tmp_path / 'missing'}")
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert failed.returncode != 0 and len(errors) == 1 and "history.csv" in errors[0]
    assert "Traceback" not in failed.stderr


def test_resize_tiles_averages_blocks_down_and_repeats_pixels_up():
    tiles = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    down = images.resize_tiles(tiles, max_side=2)
    np.testing.assert_array_equal(down[1, 0, 1], np.round(tiles[1, :2, 2:].mean(axis=(0, 1))))
    up = images.resize_tiles(tiles, min_side=10)
    assert up.shape == (2, 12, 12, 3) and (up[0, :3, :3] == tiles[0, 0, 0]).all()
    assert images.resize_tiles(tiles, max_side=4, min_side=4) is tiles


def test_encode_gif_refuses_no_frames():
    with pytest.raises(ValueError, match="at least one frame"):
        images.encode_gif([])


def _import_probe(code):
    """Runs `code` in a fresh interpreter whose matplotlib backend is preset to svg."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="svg")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_importing_the_training_library_leaves_the_matplotlib_backend_alone():
    backend, = _import_probe("import matplotlib, kerasgan.train_lib, kerasgan.plots; "
                             "print(matplotlib.get_backend())")
    assert backend == "svg"


def test_plots_draw_without_pyplot_under_any_backend(tmp_path):
    out = tmp_path / "losses.png"
    _import_probe(f"from kerasgan import plots; plots.plot_losses([], {str(out)!r})")
    assert _decode(str(out)).ndim == 3


def test_the_plots_library_does_not_load_the_command_line():
    loaded = _import_probe("import sys, kerasgan.train_lib, kerasgan.plots; "
                           "print(*sorted(m for m in sys.modules if m.startswith('kerasgan.')))")
    assert "kerasgan.plots" in loaded and "kerasgan.train_lib" in loaded
    assert "kerasgan.cli" not in loaded and "kerasgan.plots_main" not in loaded, loaded


def test_the_d_output_axis_says_a_probability_only_for_the_classifier_loss():
    from kerasgan.plots import d_output_label

    assert "the probability D gives" in d_output_label("nonsaturating")
    assert "the probability D gives" in d_output_label(None)  # runs saved before loss was passed
    for loss in ("hinge", "wgan-gp", "lsgan"):
        label = d_output_label(loss)
        assert f"D's {loss} score" in label and "not a probability" in label
