"""deferaudit fix: what it writes, what it never touches, and that Airflow agrees."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deferaudit.catalog import Catalog
from deferaudit.fix import FileFix, plan_fixes
from deferaudit.scan import scan
from deferaudit.settings import Settings
from deferaudit.verify import apply_and_verify, compare

REPO = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "deferaudit"
DAG = textwrap.dedent(
    """\
    from airflow.sdk import DAG
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    with DAG("ingest", schedule=None):
        S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
    """
)


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def test_fix_shows_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    dag = tmp_path / "dags" / "ingest.py"
    dag.write_text(DAG)
    proc = run(tmp_path, "fix", "dags", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert (
        '+    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60, deferrable=True)'
        in proc.stdout
    )
    assert "--- a/dags/ingest.py" in proc.stdout
    assert dag.read_text() == DAG
    assert run(tmp_path, "fix", "dags", "--no-cache", "--check").returncode == 1
    assert run(tmp_path, "fix", "dags", "--check", "--apply").returncode == 2
    assert run(tmp_path, "fix", "dags", "--verify").returncode == 2


def test_apply_keeps_encoding_bom_newlines_and_mode(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    latin = ("# -*- coding: latin-1 -*-\n# café\n" + DAG).replace("\n", "\r\n")
    (folder / "latin.py").write_bytes(latin.encode("latin-1"))
    (folder / "bom.py").write_bytes(b"\xef\xbb\xbf" + DAG.replace('"ingest"', '"bom"').encode())
    (folder / "latin.py").chmod(0o640)
    target = tmp_path / "elsewhere.py"
    target.write_text(DAG.replace('"ingest"', '"linked"'))
    (folder / "link.py").symlink_to(target)
    proc = run(tmp_path, "fix", "dags", "--apply", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    data = (folder / "latin.py").read_bytes()
    assert data.decode("latin-1") == latin.replace("timeout=60)", "timeout=60, deferrable=True)")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert stat.S_IMODE((folder / "latin.py").stat().st_mode) == 0o640
    assert (folder / "bom.py").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "deferrable=True" in (folder / "bom.py").read_text("utf-8-sig")
    assert (folder / "link.py").is_symlink() and "deferrable=True" in target.read_text()
    assert not [p for p in folder.iterdir() if p.name.endswith(".deferaudit")]
    again = run(tmp_path, "fix", "dags", "--apply", "--no-cache")
    assert "Fixed 0 findings" in again.stdout


def test_broken_files_are_reported_and_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    broken = "# airflow dag\nwith DAG('x') as dag\n"
    (folder / "broken.py").write_text(broken)
    (folder / "ok.py").write_text(DAG)
    proc = run(tmp_path, "fix", "dags", "--apply", "--no-cache")
    assert proc.returncode == 0
    assert (folder / "broken.py").read_text() == broken
    assert "deferrable=True" in (folder / "ok.py").read_text()
    assert "Traceback" not in proc.stderr


NOBODY = 65534


def test_files_that_cannot_be_written_fail_the_command(tmp_path: Path) -> None:
    """Read-only files, as a user who may not write them (root writes them regardless, so the
    command runs as nobody when the tests run as root)."""
    as_root = os.geteuid() == 0
    as_nobody: list[str] = []
    if as_root:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing to drop to nobody")
        as_nobody = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    # nobody cannot reach pytest's own temporary folders (0700, root's): use one it can.
    with tempfile.TemporaryDirectory(prefix="deferaudit-read-only-") as where:
        root = Path(where)
        root.chmod(0o755)
        folder = root / "dags"
        folder.mkdir()
        for name in ("a", "b", "c"):
            (folder / f"{name}.py").write_text(DAG.replace('"ingest"', f'"{name}"'))
        if as_root:
            for path in (folder, *folder.iterdir()):
                os.chown(path, NOBODY, NOBODY)
        (folder / "a.py").chmod(0o444)
        (folder / "b.py").chmod(0o444)
        proc = subprocess.run(
            [*as_nobody, str(EXE), "fix", "dags", "--apply", "--no-cache"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env={"PATH": os.environ.get("PATH", ""), "HOME": where},
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Fixed 1 finding in 1 file." in proc.stdout
        assert "2 files not written: cannot write: Permission denied." in proc.stdout
        assert "deferaudit: dags/a.py: not written: cannot write: Permission denied" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert (folder / "a.py").read_text() == DAG.replace('"ingest"', '"a"')
        assert (folder / "b.py").read_text() == DAG.replace('"ingest"', '"b"')
        assert "deferrable=True" in (folder / "c.py").read_text()
        assert not [p for p in folder.iterdir() if p.name.endswith(".deferaudit")]


def test_fix_says_why_a_fix_is_unsafe(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "pooled.py").write_text(DAG.replace("timeout=60)", 'pool="s3", timeout=60)'))
    held = run(tmp_path, "fix", "dags", "--no-cache")
    assert held.returncode == 0, held.stderr
    note = "dags/pooled.py:5:5: DA101 unsafe fix, needs --unsafe-fixes (pool is set: "
    assert note in held.stdout
    assert "Not fixed: 1 with an unsafe fix (--unsafe-fixes)." in held.stdout
    made = run(tmp_path, "fix", "dags", "--no-cache", "--unsafe-fixes", "--no-diff")
    assert "dags/pooled.py:5:5: DA101 unsafe fix, check that it suits (pool is set: " in (
        made.stdout
    )
    assert "Would fix 1 finding in 1 file." in made.stdout


# ------------------------------------------------------------------ real Airflow


def test_apply_verify_on_sample_dags(tmp_path: Path) -> None:
    shutil.copytree(REPO / "sample_dags", tmp_path / "dags")
    proc = run(tmp_path, "fix", "dags", "--apply", "--verify", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "not written" not in proc.stderr
    changed = int(re.search(r"Fixed \d+ findings? in (\d+) files?", proc.stdout).group(1))
    verified = int(re.search(r"Verified in Airflow: (\d+) file", proc.stdout).group(1))
    unverified = proc.stderr.count("written, not verified")
    # Every changed file is verified, except those Airflow 3.3 cannot load even before the
    # fix (astronomer-providers missing, Airflow 2-only arguments), which are said to be so.
    # (4 since FileSensor's and the response_check HttpSensor's fixes are no longer safe.)
    assert verified >= 4 and verified + unverified == changed
    assert "dags/marketing_attribution_legacy.py: written, not verified" in proc.stderr


def test_a_rewrite_that_changes_a_dag_is_restored(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    dag = folder / "ingest.py"
    dag.write_text(DAG)
    result = scan(
        [folder], Settings(cache=False, jobs=1), Catalog.load(), cwd=tmp_path, need_facts=True
    )
    plan = plan_fixes(result, tmp_path)
    (good,) = plan.changed
    # A rewrite that also renames the task must not survive verification.
    bad = FileFix(
        good.path,
        good.file,
        good.before,
        good.after.replace('task_id="wait"', 'task_id="renamed"'),
        good.encoding,
        good.applied,
    )
    failed, verified, unverified = apply_and_verify([bad], [folder])
    assert not verified and not unverified
    assert "task ids changed" in failed[0][1]
    assert dag.read_text() == DAG


def test_compare_flags_what_a_fix_must_not_change() -> None:
    before = {
        "import_errors": {},
        "dags": {"d": {"a": {"class": "X", "deferrable": False, "mode": "poke", "upstream": []}}},
    }
    after_ok = {
        "import_errors": {},
        "dags": {"d": {"a": {"class": "X", "deferrable": True, "mode": "poke", "upstream": []}}},
    }
    assert compare(before, after_ok, {"a": "deferrable"}) == []
    assert compare(before, before, {"a": "deferrable"}) == ["d.a: does not report deferrable=True"]
    assert compare(before, after_ok, {}) == ["d.a: changed though no fix targeted it"]


def test_converted_dag_defers_in_airflow_dags_test(tmp_path: Path) -> None:
    """A time sensor moved to deferrable goes through the deferred state in a real run."""
    home = tmp_path / "home"
    dags = tmp_path / "dags"
    dags.mkdir()
    # The target is computed whenever the file is parsed, so it is in the future when the task
    # starts however slow the machine is: the sensor must defer, then resume.
    (dags / "later.py").write_text(
        textwrap.dedent(
            """\
            import datetime
            from airflow.sdk import DAG
            from airflow.providers.standard.sensors.time import TimeSensor

            SOON = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=20)

            with DAG("wait_a_bit", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
                TimeSensor(task_id="later", target_time=SOON.time(), timeout=120)
            """
        )
    )
    # Unsafe: TimeSensor's defer() is given no timeout, so timeout=120 stops bounding the wait.
    fix = run(tmp_path, "fix", "dags", "--apply", "--unsafe-fixes", "--no-cache")
    assert fix.returncode == 0
    assert "deferrable=True" in (dags / "later.py").read_text()
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    airflow = str(Path(sys.executable).parent / "airflow")
    migrate = subprocess.run(
        [airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    test = subprocess.run(
        [airflow, "dags", "test", "wait_a_bit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert test.returncode == 0, test.stderr[-3000:]
    # Read the recorded states from the metadata database (the audit log of state changes
    # that the execution API writes, and the task instance row), not from the log text.
    probe = textwrap.dedent(
        """\
        import json
        from sqlalchemy import text
        from airflow.settings import Session
        s = Session()
        events = s.execute(text(
            "select event from log where task_id = 'later' order by id"
        )).fetchall()
        ti = s.execute(text("select state, trigger_id from task_instance")).fetchall()
        print(json.dumps({"events": [e[0] for e in events], "ti": [list(r) for r in ti]}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    recorded = json.loads(out.stdout.strip().splitlines()[-1])
    assert recorded["events"] == ["running", "deferred", "running", "success"], recorded
    ((state, trigger_id),) = recorded["ti"]
    assert state == "success" and trigger_id is not None


# ------------------------------------------------------------------ properties

SENSOR_CALLS = st.sampled_from(
    [
        'S3KeySensor(task_id="{i}", bucket_key="k", timeout=60)',
        'S3KeySensor(task_id="{i}", bucket_key="k", mode="reschedule", timeout=60)',
        'S3KeySensor(\n        task_id="{i}",\n        bucket_key="k",  # note\n        timeout=60,\n    )',
        'S3KeySensor(task_id="{i}", bucket_key="k", deferrable=False, timeout=60)',
        'S3KeySensor(task_id="{i}", bucket_key="k", deferrable=True, timeout=60)',
        'PythonSensor(task_id="{i}", python_callable=print, timeout=60)',
        'EmptyOperator(task_id="{i}")',
        'S3KeySensor.partial(task_id="{i}", timeout=60).expand(bucket_key=["a", "b"])',
        'S3KeySensor(task_id="{i}", bucket_key="k", pool="p", timeout=60)',
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(SENSOR_CALLS, min_size=1, max_size=6), st.booleans())
def test_fix_is_idempotent_parses_and_touches_only_reported_calls(
    tmp_path_factory: pytest.TempPathFactory, calls: list[str], unsafe: bool
) -> None:
    tmp_path = tmp_path_factory.mktemp("prop")
    head = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "from airflow.providers.standard.sensors.python import PythonSensor\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n\n"
        'with DAG("prop"):\n'
    )
    body = "".join("    " + c.format(i=f"t{i}") + "\n" for i, c in enumerate(calls))
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "prop.py").write_text(head + body)
    catalog = Catalog.load()
    settings_ = Settings(cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings_, catalog, cwd=tmp_path, need_facts=True)
    plan = plan_fixes(result, tmp_path, unsafe=unsafe)
    if not plan.changed:
        return
    (fix,) = plan.changed
    compile(fix.after, "prop.py", "exec")
    assert _calls_outside_fixes_unchanged(fix)
    fix.file.write_text(fix.after)
    again = scan([folder], settings_, catalog, cwd=tmp_path, need_facts=True)
    assert not plan_fixes(again, tmp_path, unsafe=unsafe).changed


def _calls_outside_fixes_unchanged(fix: FileFix) -> bool:
    """Before and after differ only in ``deferrable``/``mode`` keywords of the reported calls.

    Both trees are walked in the same order (a fix adds or renames keywords, it never adds a
    node elsewhere), so the n-th call before is the n-th call after.
    """
    import ast

    fixed = {(f.span.line, f.span.column) for f in fix.applied}
    before_tree, after_tree = ast.parse(fix.before), ast.parse(fix.after)

    def strip(tree: ast.AST) -> str:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                node.keywords = [k for k in node.keywords if k.arg not in ("deferrable", "mode")]
        return ast.dump(tree)

    def wait_keywords(tree: ast.AST) -> list[tuple[tuple[int, int], list[str]]]:
        return [
            (
                (node.lineno, node.col_offset + 1),
                sorted(
                    f"{k.arg}={ast.unparse(k.value)}"
                    for k in node.keywords
                    if k.arg in ("deferrable", "mode")
                ),
            )
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        ]

    old_calls, new_calls = wait_keywords(before_tree), wait_keywords(after_tree)
    assert len(old_calls) == len(new_calls)
    for (position, old), (_, new) in zip(old_calls, new_calls, strict=True):
        if position not in fixed:
            assert old == new, (position, old, new)
    return strip(ast.parse(fix.before)) == strip(ast.parse(fix.after))
