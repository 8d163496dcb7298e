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
