"""Worker processes that end with the deferaudit process that started them.

A process pool's workers wait on a pipe whose write end every forked worker also holds, so a
parent killed outright (SIGKILL, an out-of-memory kill, a CI job's timeout) never closes it:
the workers would wait forever, each holding its memory. On Linux each worker asks the kernel
for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing changes.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_pool(
    max_workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> concurrent.futures.ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers end when this process ends, however it ends."""
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=max_workers,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start_worker(
    parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    end_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def end_with_parent(parent: int) -> None:
    """Ask for SIGTERM when the parent dies; exit now if it already has (the kernel only
    watches from the call on)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)
