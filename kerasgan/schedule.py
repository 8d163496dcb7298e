"""Learning rates over a run (--lr_decay): the share of --g_lr and --d_lr a step trains with."""

from __future__ import annotations

from kerasgan.config import LR_DECAYS


def learning_rate_scale(decay: str, step: int, total_steps: int) -> float:
    """The factor on both learning rates for the update after `step` steps of `total_steps`:
    1 throughout for "none"; for "linear", 1 - step / total_steps, so the first update uses the
    full rates and they would reach zero at the run's end (SN-GAN's schedule)."""
    if decay not in LR_DECAYS:
        raise ValueError(f"unknown learning-rate decay {decay!r}: use one of {LR_DECAYS}")
    if decay == "none":
        return 1.0
    if total_steps <= 0:
        raise ValueError(f"total_steps={total_steps}: a run has at least one step")
    return min(1.0, max(0.0, 1.0 - step / total_steps))
