"""A quiet start: TensorFlow's C++ start-up lines are hidden unless the user asks for them.

As it loads, TensorFlow writes notes to the process's stderr (oneDNN's, "Could not find cuda
drivers") before any log level applies, and on every machine without a GPU it logs "failed call
to cuInit ... UNKNOWN ERROR (303)", an ERROR line about nothing that is wrong. So, unless the user
asks (`--verbose` on the command line, or TF_CPP_MIN_LOG_LEVEL set in the environment),
`install` sets TF_CPP_MIN_LOG_LEVEL=3 and points file descriptor 2 at /dev/null while TensorFlow
is first imported. Python's own errors are untouched: an exception from that import is shown
once stderr is back.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
from typing import Iterator, Mapping, Sequence

VERBOSE_FLAGS = ("--verbose", "--verbose=true", "--verbose=True", "--verbose=1")
_MARK = "KERASGAN_QUIET_START"  # says TF_CPP_MIN_LOG_LEVEL was set by install, not the user


def logs_asked_for(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether the user asked to see TensorFlow's C++ lines (a level set by `install` in a
    parent process does not count)."""
    user_level = "TF_CPP_MIN_LOG_LEVEL" in environ and _MARK not in environ
    return user_level or any(arg in VERBOSE_FLAGS for arg in argv)


@contextlib.contextmanager
def stderr_hidden() -> Iterator[None]:
    """Sends what anything in the process (C++ included) writes to fd 2 to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with stderr_hidden():
            self._loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` the usual way once, and loads it with stderr hidden."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install(argv: Sequence[str] | None = None, environ=None) -> bool:
    """Hides TensorFlow's start-up lines unless asked for; returns whether it did. Has no effect
    once TensorFlow is imported (its lines are out by then)."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if logs_asked_for(argv, environ) or "tensorflow" in sys.modules:
        return False
    environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    environ[_MARK] = "1"
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
    return True
