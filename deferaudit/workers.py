"""Worker processes that end with the deferaudit process that started them.

A process pool's workers wait on a pipe whose write end every forked worker also holds, so a
parent killed outright (SIGKILL, an out-of-memory kill, a CI job's timeout) never closes it:
the workers would wait forever, each holding its memory. On Linux each worker asks the kernel
for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing changes.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_pool(
    max_workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    shared: Sequence[Any] | None = None,
) -> concurrent.futures.ProcessPoolExecutor:
    """A ProcessPoolExecutor whose workers end when this process ends, however it ends.

    ``shared``: items every worker holds from its start (``shared_slice`` answers from them);
    forked workers inherit them, so nothing is pickled for them."""
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=max_workers,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs, shared),
    )
    _widen_result_pipe(pool)
    return pool


# A result pipe this large takes a chunk's results (48 files judged: about 270 KB) at once.
_RESULT_PIPE_BYTES = 1 << 20


def _widen_result_pipe(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Let a worker write a chunk's results and go on (Linux: ``F_SETPIPE_SZ``).

    Through the default 64 KB pipe a worker's write waits until this process reads, and
    the thread that reads needs the GIL, which the scan's own reading of files holds for
    up to the switch interval each time: on 10,000 files the worker waited about 0.3 s in
    all. Best effort: the pool works the same when the pipe cannot be widened."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    if setsize is None or reader is None:
        return
    try:
        fcntl.fcntl(reader.fileno(), setsize, _RESULT_PIPE_BYTES)
    except (OSError, ValueError):
        return


# The items a forked worker was started with (``worker_pool``'s ``shared``).
_SHARED: list[Sequence[Any]] = []


def _start_worker(
    parent: int,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
    shared: Sequence[Any] | None,
) -> None:
    end_with_parent(parent)
    if shared is not None:
        _SHARED.append(shared)
    if initializer is not None:
        initializer(*initargs)


def _run_shared(remote: Callable[[Sequence[T]], list[R]], start: int, stop: int) -> list[R]:
    return remote(_SHARED[0][start:stop])


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


def share_chunks(
    items: Sequence[T],
    size: int,
    workers: int,
    remote: Callable[[Sequence[T]], list[R]],
    local: Callable[[Sequence[T]], list[R]],
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """Every item's result, in order, made in chunks by ``workers - 1`` worker processes
    (``remote``, a module-level function, from the front of the list) and this process
    (``local``, from the back) until they meet. What this process makes is never pickled and
    sent back, and it is not idle while it waits for the others.

    Chunks hold ``size`` items at most, and fewer as the items run out (a quarter of what is
    left per process): at the end no process waits long for another's last chunk (with
    chunks of 48 files, this one waited 70-120 ms for the worker's last two).
    """
    out: list[Any] = [None] * len(items)
    front, back = 0, len(items)
    # Forked workers inherit the items: a task is then two numbers, not its pickled items.
    forked = multiprocessing.get_start_method() == "fork"
    # Chunks queued per worker: one to work on and two to take next, as this process
    # submits only between its own chunks.
    ahead = 3 * (workers - 1)
    shares = 4 * workers
    running: dict[concurrent.futures.Future[list[R]], int] = {}
    with worker_pool(workers - 1, initializer, initargs, items if forked else None) as pool:
        while front < back or running:
            while front < back and len(running) < ahead:
                count = min(size, max(1, (back - front) // shares))
                running[
                    pool.submit(_run_shared, remote, front, front + count)
                    if forked
                    else pool.submit(remote, items[front : front + count])
                ] = front
                front += count
            if front < back:
                count = min(size, max(1, (back - front) // shares))
                made = local(items[back - count : back])
                out[back - count : back] = made
                back -= count
                if progress:
                    progress(len(made))
            else:
                concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in [f for f in running if f.done()]:
                first = running.pop(future)
                made = future.result()
                out[first : first + len(made)] = made
                if progress:
                    progress(len(made))
    return out
