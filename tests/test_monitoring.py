"""monitoring: history.csv round trip and resume, the log line, TensorBoard events, collapse."""

import math

import numpy as np
import pytest

from kerasgan import monitoring

LINE = ("[E09 | B1583] D(real): loss=0.0726, acc=0.9724 | D(fake): loss=0.0726, acc=0.9724 "
        "| G: loss=0.0983, acc=0.9748")


def _row(step, epoch=1, seed=0):
    rng = np.random.default_rng(seed + step)
    row = {name: float(rng.uniform(0, 2)) for name in monitoring.HISTORY_COLUMNS[2:]}
    return {"epoch": epoch, "step": step, **row}


def test_history_round_trip(tmp_path):
    path = str(tmp_path / "history.csv")
    with monitoring.History(path) as history:
        history.append({"epoch": 1, "step": 10, "d_loss": 0.123456789, "g_loss": np.float32(2.5)})
        history.append({"epoch": 1, "step": 20})
        rows = history.rows()
    assert [row["step"] for row in rows] == [10, 20]
    assert rows[0]["d_loss"] == pytest.approx(0.123457, abs=1e-9)
    assert rows[0]["g_loss"] == 2.5 and rows[0]["d_real_acc"] is None
    assert list(rows[0]) == list(monitoring.HISTORY_COLUMNS)


def test_read_history_parses_a_closed_file_cell_by_cell(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,step,d_loss,note\n1,5,0.25,\n2,10,nan,text\n")
    rows = monitoring.read_history(str(path))
    assert rows[0] == {"epoch": 1, "step": 5, "d_loss": 0.25, "note": None}
    assert math.isnan(rows[1]["d_loss"]) and rows[1]["note"] == "text"


def test_history_header_written_once_across_reopen(tmp_path):
    path = str(tmp_path / "history.csv")
    for step in (1, 2):
        with monitoring.History(path) as history:
            history.append(_row(step))
    with open(path) as file:
        lines = file.read().splitlines()
    assert lines[0] == ",".join(monitoring.HISTORY_COLUMNS)
    assert len(lines) == 3


def test_history_refuses_undeclared_columns(tmp_path):
    with monitoring.History(str(tmp_path / "h.csv")) as history:
        with pytest.raises(ValueError, match="fid"):
            history.append({"step": 1, "fid": 3.0})


def test_history_accepts_declared_extra_columns(tmp_path):
    columns = monitoring.HISTORY_COLUMNS + ("fid",)
    with monitoring.History(str(tmp_path / "h.csv"), columns=columns) as history:
        history.append({"step": 1, "fid": 31.5})
        assert history.rows()[0]["fid"] == 31.5


def test_truncate_after_leaves_no_duplicate_steps_on_resume(tmp_path):
    path = str(tmp_path / "history.csv")
    with monitoring.History(path) as history:
        for step in range(10, 60, 10):
            history.append(_row(step))
    with monitoring.History(path) as history:
        history.truncate_after(30)
        for step in range(40, 70, 10):
            history.append(_row(step))
        steps = [row["step"] for row in history.rows()]
    assert steps == [10, 20, 30, 40, 50, 60]


def test_history_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "history.csv"
    with monitoring.History(str(path)) as history:
        history.append(_row(1))
    with open(path, "a") as file:
        file.write("1,2,0.5")
    with monitoring.History(str(path)) as history:
        history.append(_row(2))
        assert [row["step"] for row in history.rows()] == [1, 2]


def test_format_log_line_exact():
    metrics = {"d_real_loss": 0.07261, "d_real_acc": 0.97238, "d_fake_loss": 0.0726,
               "d_fake_acc": 0.9724, "g_loss": 0.09834, "g_acc": 0.9748, "d_loss": 0.1}
    assert monitoring.format_log_line(9, 1583, metrics) == LINE


def test_format_log_line_reads_tensors_and_shows_missing_as_nan():
    import tensorflow as tf
    line = monitoring.format_log_line(105, 7, {"g_loss": tf.constant(1.5)})
    assert line.startswith("[E105 | B7] D(real): loss=nan, acc=nan")
    assert line.endswith("G: loss=1.5000, acc=nan")


def test_progress_postfix_has_four_significant_digits():
    assert monitoring.progress_postfix({"d_loss": 0.0726391, "g_loss": np.float32(12.34567),
                                        "g_acc": 1.0}) == {"d_loss": "0.07264", "g_loss": "12.35"}


def _events(logdir):
    import glob

    import tensorflow as tf

    kinds = {}
    for path in glob.glob(f"{logdir}/events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                tensor = tf.make_ndarray(value.tensor) if value.HasField("tensor") else None
                kinds[value.tag] = (plugin, event.step, tensor)
    return kinds


def test_summary_writer_writes_scalars_image_and_histogram(tmp_path):
    import tensorflow as tf

    logdir = str(tmp_path / "tensorboard")
    writer = monitoring.SummaryWriter(logdir)
    writer.scalars(7, {"d_loss": 0.5, "g_loss": np.float32(1.25), "skipped": None})
    writer.image(7, "fixed_noise", _grid_images(5))
    writer.histogram(7, "d_output/real", np.random.default_rng(0).uniform(size=64))
    writer.close()
    events = _events(logdir)
    assert events["d_loss"][:2] == ("scalars", 7) and float(events["g_loss"][2]) == 1.25
    assert "skipped" not in events
    plugin, _, encoded = events["fixed_noise"]
    assert plugin == "images"
    assert tf.io.decode_png(encoded[2]).shape == (2 + 2 * 6, 2 + 3 * 6, 3)
    plugin, _, buckets = events["d_output/real"]
    assert plugin == "histograms" and buckets.shape == (30, 3) and buckets[:, 2].sum() == 64


def _grid_images(count, size=4, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, 3)).astype(np.float32)


def test_sample_diversity_matches_a_double_loop():
    samples = _grid_images(6, size=5, seed=4)
    flat = samples.reshape(6, -1).astype(np.float64)
    pairs = [np.linalg.norm(flat[i] - flat[j]) for i in range(6) for j in range(i + 1, 6)]
    assert monitoring.sample_diversity(samples) == pytest.approx(np.mean(pairs), rel=1e-12)


def test_sample_diversity_of_identical_samples_is_zero():
    assert monitoring.sample_diversity(np.ones((4, 3, 3, 3), np.float32)) == 0.0


def test_collapse_detector_quiet_on_a_healthy_run_whose_d_wins_every_step():
    """Under hinge and non-saturating losses D classifying every image is no sign of trouble."""
    detector = monitoring.CollapseDetector()
    for epoch in range(1, 6):
        for _ in range(20):
            detector.update({"d_real_acc": 1.0, "d_fake_acc": 1.0})
        assert detector.end_epoch(epoch, _grid_images(8, seed=epoch)) is None


def test_a_run_whose_measure_stops_improving_is_warned(tiny_config, capsys, monkeypatch):
    """The trainer hands each evaluation's swd_avg to the detector and prints its warning."""
    from kerasgan import evaluate_lib, train_lib

    values = iter([30.0, 29.0, 29.5, 31.0, 30.0, 29.2, 28.0])
    monkeypatch.setattr(evaluate_lib, "evaluate_generator", lambda *args, **kwargs: [
        {"metric": "swd_avg", "value": next(values)}])
    train_lib.train_and_evaluate(tiny_config.replace(epochs=7, steps_per_epoch=1,
                                                     eval_every_epochs=1))
    out = capsys.readouterr().out
    assert out.count("warning: ") == 1
    assert ("warning: epoch 6: swd_avg has not improved on its best (29, epoch 2) at any of the "
            "last 4 evaluations") in out


def test_not_improving_is_said_once_after_patience_evaluations_without_a_new_best():
    detector = monitoring.CollapseDetector(patience=3)
    said = [detector.evaluated(epoch, value) for epoch, value in
            enumerate((40.0, 30.0, 31.0, 29.5, 30.0, 32.0, float("nan"), 29.9, 28.0, 35.0,
                       36.0, 37.0), start=1)]
    assert [i + 1 for i, m in enumerate(said) if m] == [8]
    assert said[7].startswith("epoch 8: swd_avg has not improved on its best (29.5, epoch 4) "
                              "at any of the last 3 evaluations")
    assert "generator_best.keras" in said[7]


def test_collapse_detector_warns_when_diversity_falls():
    rng = np.random.default_rng(1)
    detector = monitoring.CollapseDetector(diversity_fraction=0.2)
    base = _grid_images(8, seed=1)
    assert detector.end_epoch(1, base) is None
    assert detector.end_epoch(2, base * 0.5) is None
    collapsed = base[:1] + 0.01 * rng.standard_normal(base.shape).astype(np.float32)
    message = detector.end_epoch(3, collapsed)
    assert "diversity" in message and "collapsed" in message


def test_collapse_to_one_noisy_image_is_found_against_the_training_images():
    """A collapsed G's samples can differ pixel by pixel (noise) and so look diverse at full size;
    averaged down to 8x8 they are one image, far below the training images' spread."""
    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (16, 2, 2, 3)).repeat(16, axis=1).repeat(16, axis=2)
    one = np.repeat(real[:1], 16, axis=0)
    collapsed = np.clip(one + rng.normal(0, 0.5, one.shape), -1, 1)
    assert monitoring.sample_diversity(collapsed) > 0.5 * monitoring.sample_diversity(real)
    detector = monitoring.CollapseDetector(real_diversity=monitoring.coarse_diversity(real))
    assert detector.end_epoch(1, collapsed) is None  # the first epoch's samples are not judged
    assert detector.end_epoch(2, real[::-1]) is None
    message = detector.end_epoch(3, collapsed)
    assert message.startswith("epoch 3: the fixed-noise samples, averaged down to 8x8, differ")
    assert "the generator looks collapsed" in message


def test_coarse_diversity_refuses_images_that_do_not_average_down():
    with pytest.raises(ValueError, match="images of 12x12 do not average down to 8x8"):
        monitoring.coarse_diversity(np.zeros((2, 12, 12, 3)))


def test_write_model_summary_has_both_tables_and_counts(tmp_path):
    import keras

    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, name="g_dense")])
    discriminator = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, name="d_dense")])
    path = tmp_path / "model_summary.txt"
    monitoring.write_model_summary({"generator": generator, "discriminator": discriminator},
                                   str(path))
    text = path.read_text(encoding="utf-8")
    assert "generator: 30 parameters (30 trainable, 0 non-trainable)" in text
    assert "discriminator: 7 parameters" in text
    assert "g_dense" in text and "d_dense" in text




def test_a_generator_drawing_one_texture_unlike_the_data_is_warned():
    """Diverged to a texture: the samples differ enough at 8x8 (varied blobs on one pattern), but
    their mean is far from the training images' (a live run: experiments/warnings)."""
    rng = np.random.default_rng(3)
    real = rng.uniform(-1, 1, (16, 2, 2, 3)).repeat(16, axis=1).repeat(16, axis=2)
    texture = np.tile(np.array([0.9, -0.8, -0.9]), (16, 32, 32, 1))
    blobs = rng.uniform(-1, 1, (16, 4, 4, 3)).repeat(8, axis=1).repeat(8, axis=2)
    garbage = np.clip(texture + 0.6 * blobs, -1, 1)
    spread = monitoring.coarse_diversity(real)
    assert monitoring.coarse_diversity(garbage) > 0.35 * spread  # the older rules stay silent
    detector = monitoring.CollapseDetector(real_diversity=spread,
                                           real_mean=monitoring.coarse_mean(real))
    assert detector.end_epoch(1, garbage) is None  # the first epoch's samples are not judged
    assert detector.end_epoch(2, real[::-1]) is None
    message = detector.end_epoch(3, garbage)
    assert message.startswith("epoch 3: the fixed-noise samples' mean, averaged down to 8x8, is ")
    assert "the generator draws something other than the training images" in message
    assert detector.end_epoch(4, garbage) is None  # said once


def test_coarse_mean_is_the_mean_of_the_block_averages():
    images = np.random.default_rng(4).uniform(-1, 1, (5, 16, 16, 3))
    expected = images.mean(axis=0).reshape(8, 2, 8, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(monitoring.coarse_mean(images), expected, atol=1e-12)
