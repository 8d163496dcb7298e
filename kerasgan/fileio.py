"""Atomic file writes: a reader sees the old file or the new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator


def _default_mode() -> int:
    """rw for whoever the umask allows, as open() would give (mkstemp's files are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_target(path: str) -> Iterator[str]:
    """Yields a temporary path beside `path` (same extension) for the caller to write; on success
    it gets ordinary permissions and replaces `path`, on failure it is removed."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    handle, tmp_path = tempfile.mkstemp(dir=folder, prefix=f".{name}.",
                                        suffix=os.path.splitext(name)[1] or ".tmp")
    os.close(handle)
    try:
        yield tmp_path
        os.chmod(tmp_path, _default_mode())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def write_atomic(path: str, data: bytes | str) -> None:
    """Writes `data` to `path` via a temporary file in the same folder, fsync and os.replace."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_target(path) as tmp_path:
        with open(tmp_path, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
