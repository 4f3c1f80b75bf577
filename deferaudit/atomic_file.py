"""Replacing a file so that it is never seen half-written: the one way deferaudit writes files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["replace_file"]


def replace_file(
    target: Path,
    write: Callable[[BinaryIO], object],
    *,
    mode: int | None = None,
    durable: bool = False,
    suffix: str = ".tmp",
) -> None:
    """Write to a temporary file beside ``target`` with ``write`` and rename it over ``target``.

    A reader (or a process killed at any moment) sees the old file or the new one, never a
    mix. ``mode`` sets the new file's permission bits (mkstemp's are 0600); ``durable`` flushes
    the bytes to disk before the rename (user files; caches need not survive a power cut).
    The temporary file is removed when anything fails, and the OSError is raised.
    """
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def umask_mode(bits: int = 0o666) -> int:
    """``bits`` as the process's umask allows them: what ``open(..., "w")`` would have made."""
    umask = os.umask(0)
    os.umask(umask)
    return bits & ~umask
