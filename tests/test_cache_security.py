"""A cache file planted in the checkout never runs code, and a broken or foreign one is rebuilt.

Every test drives the real ``deferaudit`` command in a subprocess over real files: what runs
in CI is what is tested.
"""

from __future__ import annotations

import ast
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deferaudit.cache_file import MAGIC, CacheKey, read_sealed, safe_loads, write_sealed

DEFERAUDIT = [str(Path(sys.executable).with_name("deferaudit"))]

DAG = """\
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

with DAG("orders_{n}", schedule="@hourly"):
    S3KeySensor(task_id="wait_{n}", bucket_key="s3://orders/{n}/_SUCCESS", timeout=3600)
    ExternalTaskSensor(task_id="upstream_{n}", external_dag_id="load_{n}", timeout=600)
"""


class _Exploit:
    """A pickle that runs a shell command when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _project(root: Path, files: int = 6) -> Path:
    dags = root / "dags"
    dags.mkdir(parents=True)
    for n in range(files):
        (dags / f"orders_{n}.py").write_text(DAG.format(n=n))
    return root


def _env(key_file: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    if key_file is not None:
        env["DEFERAUDIT_KEY_FILE"] = str(key_file)
    env.update(extra)
    return env


def _deferaudit(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DEFERAUDIT, *args],
        cwd=project,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _scan_run(
    project: Path, env: dict[str, str] | None = None, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``scan dags`` as JSON with the project's cache folder."""
    args = ("--target-airflow", "3.3", "--cache-dir", ".deferaudit_cache", "--format", "json")
    done = _deferaudit(project, "scan", "dags", *args, *extra, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def _scan(project: Path, env: dict[str, str] | None = None, *extra: str) -> str:
    return _scan_run(project, env, *extra).stdout


def _capacity(project: Path, env: dict[str, str] | None = None) -> str:
    done = _deferaudit(
        project, "capacity", "dags", "--target-airflow", "3.3", "--cache-dir", ".deferaudit_cache"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _stores(project: Path) -> dict[str, Path]:
    folder = project / ".deferaudit_cache"
    # Newest last: the store files of the code that runs now (their names carry its fingerprint).
    files = sorted(folder.glob("*.pickle"), key=lambda f: f.stat().st_mtime_ns)
    return {file.name.split("-", 1)[0]: file for file in files}


def _key() -> CacheKey:
    from deferaudit.cache_file import load_key

    return load_key(Path(os.environ["DEFERAUDIT_KEY_FILE"]))


def _loads_cleanly(file: Path, key: CacheKey) -> bool:
    import deferaudit.cost.capacity
    import deferaudit.scan  # noqa: F401  (the classes the payload names)

    value, why = read_sealed(file, key, file.name)
    return why is None and value is not None


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The findings and capacity plan of a scan with no cache at all."""
    project = _project(tmp_path_factory.mktemp("clean"))
    scanned = _scan(project, None, "--no-cache")
    plan = _deferaudit(project, "capacity", "dags", "--target-airflow", "3.3", "--no-cache")
    return scanned, plan.stdout


def _planted_files(marker: Path, other_key: CacheKey, name: str) -> dict[str, bytes]:
    exploit = pickle.dumps({"x": _Exploit(marker)}, protocol=pickle.HIGHEST_PROTOCOL)
    sealed_by_other = MAGIC + other_key.tag(name, exploit) + exploit
    return {
        "bare pickle": exploit,
        "pickle behind a forged header": MAGIC + b"\0" * 32 + exploit,
        "pickle sealed with another user's key": sealed_by_other,
        "truncated": sealed_by_other[: len(MAGIC) + 10],
        "empty": b"",
    }


@pytest.mark.parametrize("store", ["facts", "meta", "outcomes", "plan"])
def test_a_planted_cache_file_runs_nothing_and_is_rebuilt(
    tmp_path: Path, store: str, clean: tuple[str, str]
) -> None:
    project = _project(tmp_path / "repo")
    other = CacheKey(b"k" * 32, tmp_path / "other-key")
    marker = tmp_path / "PWNED"
    _scan(project)
    _capacity(project)
    target = _stores(project)[store]
    for label, data in _planted_files(marker, other, target.name).items():
        target.write_bytes(data)
        # facts are read only when a scan needs them: --no-cache on the outcomes is not an
        # option, so ask for a report that needs facts (html) when the facts store is planted.
        scanned = _scan(project)
        plan = _capacity(project)
        if store == "facts":
            html = _deferaudit(
                project,
                "report",
                "dags",
                "--target-airflow",
                "3.3",
                "--cache-dir",
                ".deferaudit_cache",
                "-o",
                str(tmp_path / "r.html"),
            )
            assert html.returncode == 0, html.stderr
        assert not marker.exists(), f"{label}: the planted {store} file ran code"
        assert _findings(scanned) == _findings(clean[0]), label
        assert plan == clean[1], label
        assert _loads_cleanly(_stores(project)[store], _key()), f"{label}: not rebuilt"


def _findings(report: str) -> list[tuple[object, ...]]:
    import json

    data = json.loads(report)
    return [
        (f["rule"], f["path"], f["line"], f["column"], f["message"], json.dumps(f.get("cost")))
        for f in data["findings"]
    ]


def test_a_payload_sealed_with_the_right_key_still_cannot_name_a_function(
    tmp_path: Path,
) -> None:
    """Defence in depth: even a stolen key does not make the loader resolve os.system."""
    key = CacheKey(b"s" * 32, tmp_path / "key")
    marker = tmp_path / "PWNED"
    file = tmp_path / "outcomes-x.pickle"
    assert write_sealed(file, key, file.name, {"x": _Exploit(marker)}) is None
    value, why = read_sealed(file, key, file.name)
    assert value is None and why and "which is not allowed" in why
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        safe_loads(pickle.dumps(_Exploit(marker)))
    with pytest.raises(pickle.UnpicklingError):
        safe_loads(pickle.dumps(Path("/etc/passwd")))
    assert not marker.exists()


def test_a_seal_is_bound_to_the_file_it_was_written_for(tmp_path: Path) -> None:
    """A sealed meta file copied over the outcomes file is a miss, not a wrong answer."""
    key = CacheKey(b"s" * 32, tmp_path / "key")
    meta, outcomes = tmp_path / "meta-1.pickle", tmp_path / "outcomes-1.pickle"
    write_sealed(meta, key, meta.name, {"a": 1})
    shutil.copy(meta, outcomes)
    assert read_sealed(outcomes, key, outcomes.name)[0] is None
    assert read_sealed(meta, key, meta.name)[0] == {"a": 1}


def test_a_cache_sealed_with_another_users_key_is_ignored(
    tmp_path: Path, clean: tuple[str, str]
) -> None:
    project = _project(tmp_path / "repo")
    alice, bob = tmp_path / "alice" / "key", tmp_path / "bob" / "key"
    _scan(project, _env(alice))
    before = {name: file.read_bytes() for name, file in _stores(project).items()}
    done = _scan_run(project, _env(bob), "--verbose")
    assert _findings(done.stdout) == _findings(clean[0])
    assert "does not match this user's key" in done.stderr
    after = {name: file.read_bytes() for name, file in _stores(project).items()}
    assert after["outcomes"] != before["outcomes"]  # rebuilt under bob's key
    assert alice.read_bytes() != bob.read_bytes()
    assert (alice.stat().st_mode & 0o777) == 0o600 and (bob.stat().st_mode & 0o777) == 0o600


def test_a_key_inside_the_scanned_tree_is_refused(tmp_path: Path, clean: tuple[str, str]) -> None:
    project = _project(tmp_path / "repo")
    planted = project / "dags" / "cache-key"
    planted.write_bytes(b"k" * 32)
    planted.chmod(0o600)
    done = _deferaudit(
        project,
        "scan",
        "dags",
        "--target-airflow",
        "3.3",
        "--format",
        "json",
        "--verbose",
        env=_env(planted),
    )
    assert done.returncode == 0, done.stderr
    assert "which the scanned repository controls" in done.stderr
    assert _findings(done.stdout) == _findings(clean[0])
    assert not (project / ".deferaudit_cache").exists() or not _stores(project)


@pytest.mark.parametrize("problem", ["world-readable", "symlink", "wrong size"])
def test_an_untrustworthy_key_turns_the_cache_off(tmp_path: Path, problem: str) -> None:
    from deferaudit.cache_file import KeyUnavailable, load_key

    key = tmp_path / "key"
    if problem == "world-readable":
        key.write_bytes(b"k" * 32)
        key.chmod(0o644)
    elif problem == "symlink":
        real = tmp_path / "real"
        real.write_bytes(b"k" * 32)
        real.chmod(0o600)
        key.symlink_to(real)
    else:
        key.write_bytes(b"short")
        key.chmod(0o600)
    with pytest.raises(KeyUnavailable):
        load_key(key)


def test_a_planted_symlink_in_the_cache_folder_is_not_written_through(tmp_path: Path) -> None:
    project = _project(tmp_path / "repo")
    outside = tmp_path / "outside"
    (project / ".deferaudit_cache").mkdir()
    (project / ".deferaudit_cache" / ".gitignore").symlink_to(outside)
    _scan(project)
    assert not outside.exists()
    linked = tmp_path / "linked-cache"
    linked.mkdir()
    shutil.rmtree(project / ".deferaudit_cache")
    (project / ".deferaudit_cache").symlink_to(linked, target_is_directory=True)
    _scan(project)
    assert list(linked.iterdir()) == []


def test_two_scans_at_once_agree_and_leave_a_loadable_cache(
    tmp_path: Path, clean: tuple[str, str]
) -> None:
    project = _project(tmp_path / "repo", files=80)
    reference = _scan(project, None, "--no-cache")
    command = [
        *DEFERAUDIT,
        "scan",
        "dags",
        "--target-airflow",
        "3.3",
        "--cache-dir",
        ".deferaudit_cache",
        "--format",
        "json",
        "--jobs",
        "1",
    ]
    for _round in range(3):
        runs = [
            subprocess.Popen(
                command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=300) for run in runs]
        for (out, err), run in zip(outputs, runs, strict=True):
            assert run.returncode == 0, err
            assert _findings(out) == _findings(reference)
        for file in _stores(project).values():
            assert _loads_cleanly(file, _key()), file.name
    assert _findings(_scan(project)) == _findings(reference)


FIXABLE = """\
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("drop_{n}", schedule="@daily"):
    S3KeySensor(
        task_id="wait_{n}",
        bucket_key="s3://drop/{n}/_SUCCESS",
        timeout=3600,
    )
    S3KeySensor(task_id="wait_again_{n}", bucket_key="s3://drop/{n}/_DONE", timeout=60)
"""


def test_fix_apply_killed_at_any_moment_leaves_each_file_old_or_new(tmp_path: Path) -> None:
    files = 300
    original = tmp_path / "original"
    (original / "dags").mkdir(parents=True)
    for n in range(files):
        # Some files in CRLF, to check that a killed write never leaves mixed newlines.
        text = FIXABLE.format(n=n)
        data = text.replace("\n", "\r\n") if n % 3 == 0 else text
        (original / "dags" / f"drop_{n}.py").write_bytes(data.encode())
    before = {p.name: p.read_bytes() for p in (original / "dags").iterdir()}
    command = [*DEFERAUDIT, "fix", "dags", "--apply", "--target-airflow", "3.3", "--no-cache"]

    finished = tmp_path / "finished"
    shutil.copytree(original, finished)
    done = subprocess.run(command, cwd=finished, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.read_bytes() for p in (finished / "dags").glob("*.py")}
    assert all(after[name] != before[name] for name in before)

    # Kill as soon as the first file changes (mid-write), and at moments before and after.
    moments: list[str | float] = ["first write", "first write", 0.5, 1.0, 2.0, 4.0]
    states = set()
    for round_, moment in enumerate(moments):
        work = tmp_path / f"run{round_}"
        shutil.copytree(original, work)
        dags = work / "dags"
        stamps = {p: p.stat().st_mtime_ns for p in dags.iterdir()}
        process = subprocess.Popen(
            command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started = time.monotonic()
        while process.poll() is None:
            if moment == "first write":
                if any(p.stat().st_mtime_ns != stamp for p, stamp in stamps.items()):
                    break
            elif time.monotonic() - started >= float(moment):
                break
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
        process.wait()
        old = new = 0
        for name in before:
            data = (dags / name).read_bytes()
            assert data in (before[name], after[name]), f"{name} half-written (kill at {moment})"
            ast.parse(data.decode())
            old += data == before[name]
            new += data == after[name]
        states.add((old > 0, new > 0))
        # Leftover temporary files are never .py files: Airflow does not parse them.
        assert sorted(p.name for p in dags.glob("*.py")) == sorted(before)
    print("kill states (some old, some new):", sorted(states))
    assert (True, True) in states
