"""A scan killed outright (SIGKILL, as a CI timeout or the out-of-memory killer does) leaves no
worker process behind: each asked the kernel to end it with its parent."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deferaudit.workers import share_chunks, worker_pool

DAG = """\
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("d{n}", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/{n}", timeout=60)
"""


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_killed_scan_leaves_no_worker(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    for n in range(3000):
        (dags / f"d{n}.py").write_text(DAG.format(n=n))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from deferaudit.cli import main; main()",
            "scan",
            "dags",
            "--no-cache",
            # Two worker processes: the scan reads files itself too.
            "--jobs",
            "3",
            "--format",
            "json",
            "--output",
            os.devnull,
        ],
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and process.poll() is None and len(workers) < 2:
        workers = _children(process.pid)
        time.sleep(0.01)
    assert workers, "the scan ended before its workers were seen"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for pid in left:  # do not leave them to the next test either
        os.kill(pid, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived the killed scan"


_SEEN: dict[str, str] = {}


def _note(value: str) -> None:
    _SEEN["value"] = value


def _seen() -> str | None:
    return _SEEN.get("value")


def test_worker_pool_runs_the_initializer() -> None:
    with worker_pool(1, initializer=_note, initargs=("started",)) as pool:
        assert pool.submit(_seen).result(timeout=60) == "started"


def _remote_square(chunk: list[int]) -> list[tuple[int, int, int]]:
    return [(n, n * n, os.getpid()) for n in chunk]


@pytest.mark.parametrize("start", ["fork", "spawn"])
@pytest.mark.parametrize(("count", "workers"), [(1, 2), (7, 2), (1000, 2), (1000, 3)])
def test_share_chunks_keeps_the_order_and_shares_the_work(
    count: int, workers: int, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every item's result in its place, whoever made it; this process and the workers both
    work on a long list; progress counts every item once; no chunk is over the size. Forked
    workers take the items they inherited (tasks are index ranges); under another start
    method each task carries its items."""
    if start != multiprocessing.get_start_method():
        monkeypatch.setattr(multiprocessing, "get_start_method", lambda: start)
    sizes: list[int] = []
    counted: list[int] = []

    def local(chunk: list[int]) -> list[tuple[int, int, int]]:
        sizes.append(len(chunk))
        return [(n, n * n, os.getpid()) for n in chunk]

    made = share_chunks(
        list(range(count)), 16, workers, _remote_square, local, progress=counted.append
    )
    assert [(n, square) for n, square, _ in made] == [(n, n * n) for n in range(count)]
    assert sum(counted) == count
    assert max(sizes, default=0) <= 16
    if count >= 1000:
        makers = {pid for _, _, pid in made}
        assert os.getpid() in makers and len(makers) >= 2
        # Chunks shrink as the items run out: the last ones this process takes are small.
        assert sizes[-1] < 16


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")
def test_worker_pool_widens_its_result_pipe() -> None:
    """A worker writes a chunk's results (hundreds of KB) into the pipe and goes on, without
    waiting for this process to read them 64 KB at a time."""
    import fcntl

    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    with worker_pool(1) as pool:
        size = fcntl.fcntl(pool._result_queue._reader.fileno(), fcntl.F_GETPIPE_SZ)
        assert pool.submit(os.getpid).result(timeout=60) != os.getpid()
    assert size >= min(limit, 1 << 20)
