"""Graceful stop on SIGTERM / SIGINT: the trainer finishes its step, checkpoints, then exits.

A second Ctrl-C raises KeyboardInterrupt at once, for a user who does not want to wait.
"""

from __future__ import annotations

import signal
import threading
from typing import Optional


class GracefulStop:
    """Context manager that turns the first SIGTERM/SIGINT into a flag the training loop polls.

    `signal_name` is "SIGTERM" or "SIGINT" once a stop was asked for, else None. Outside the main
    thread (where Python cannot install handlers) it does nothing and never asks to stop.
    """

    def __init__(self):
        self.signal_name: Optional[str] = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    @property
    def exit_code(self) -> int:
        """0 after SIGTERM (a scheduler's polite stop), 130 after Ctrl-C, as shells expect."""
        return 130 if self.signal_name == "SIGINT" else 0

    def _handle(self, signum, frame):
        if signum == signal.SIGINT and self.signal_name == "SIGINT":
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        print(f"\n{self.signal_name} received: finishing this step and saving a checkpoint "
              "(press Ctrl-C again to abort at once)", flush=True)

    def __enter__(self) -> "GracefulStop":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
