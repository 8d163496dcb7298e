"""Learning rates over a run (--lr_decay): the share of --g_lr and --d_lr a step trains with."""

from __future__ import annotations

from kerasgan.config import LR_DECAYS


def learning_rate_scale(decay: str, step: int, total_steps: int, start: float = 0.0) -> float:
    """The factor on both learning rates for the update after `step` steps of `total_steps`:
    1 throughout for "none"; for "linear", 1 until `start` of the run, then falling linearly so
    that the rates would reach zero at the run's end (start 0 is SN-GAN's schedule)."""
    if decay not in LR_DECAYS:
        raise ValueError(f"unknown learning-rate decay {decay!r}: use one of {LR_DECAYS}")
    if decay == "none":
        return 1.0
    if total_steps <= 0:
        raise ValueError(f"total_steps={total_steps}: a run has at least one step")
    if not 0.0 <= start < 1.0:
        raise ValueError(f"start={start}: the decay starts within the run, at 0 to below 1")
    first = start * total_steps
    return min(1.0, max(0.0, 1.0 - (step - first) / (total_steps - first)))
