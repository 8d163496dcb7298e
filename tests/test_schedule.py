"""--lr_decay: the learning-rate scale, and a run that trains with it."""

import numpy as np
import pytest

from kerasgan import train_lib
from kerasgan.config import ConfigError, TrainConfig
from kerasgan.schedule import learning_rate_scale


def test_constant_rates_without_decay():
    assert [learning_rate_scale("none", step, 10) for step in (0, 5, 10, 20)] == [1.0] * 4


def test_linear_decay_falls_from_one_towards_zero_at_the_last_step():
    scales = [learning_rate_scale("linear", step, 8) for step in range(9)]
    np.testing.assert_allclose(scales, np.linspace(1.0, 0.0, 9), atol=1e-12)
    assert learning_rate_scale("linear", 12, 8) == 0.0  # past the end: never negative


def test_a_late_start_keeps_full_rates_then_falls_to_zero_at_the_end():
    scales = [learning_rate_scale("linear", step, 8, start=0.5) for step in range(9)]
    np.testing.assert_allclose(scales, [1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0], atol=1e-12)
    # A quarter of 12 steps at full rates, then nine steps down.
    assert learning_rate_scale("linear", 6, 12, start=0.25) == pytest.approx(2 / 3)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="unknown learning-rate decay 'cosine'"):
        learning_rate_scale("cosine", 0, 10)
    with pytest.raises(ValueError, match="total_steps=0"):
        learning_rate_scale("linear", 0, 0)
    with pytest.raises(ConfigError, match="lr_decay"):
        TrainConfig(lr_decay="exponential")
    with pytest.raises(ValueError, match="start=1.0"):
        learning_rate_scale("linear", 0, 10, start=1.0)
    with pytest.raises(ConfigError, match="--lr_decay_start=1.5 is not allowed"):
        TrainConfig(lr_decay="linear", lr_decay_start=1.5)


def test_old_runs_keep_constant_rates():
    old = TrainConfig.from_json('{"image_size": 32}')
    assert (old.lr_decay, old.lr_decay_start) == ("none", 0.0)


def test_a_linear_run_trains_its_last_step_with_the_last_share_of_the_rates(tiny_config):
    config = tiny_config.replace(epochs=2, steps_per_epoch=2, lr_decay="linear",
                                 g_lr=4e-4, d_lr=8e-4)
    gan = train_lib.train_and_evaluate(config).gan
    # Four steps: the last update trained at 1 - 3/4 of the rates.
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4)
