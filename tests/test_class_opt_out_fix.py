"""A project subclass that passes ``deferrable=False`` to its base (issue 13): the call sites
never get ``deferrable=True`` (a TypeError at import), and the fix edits the class instead, once
for all its tasks, where that is mechanical. Checked end to end with the CLI and with the real
Airflow and amazon provider installed here loading the rewritten class."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SENSORS = """\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


class LandingSensor(S3KeySensor):
    def __init__(self, **kwargs):
        super().__init__(deferrable=False, timeout=3600, **kwargs)
"""

DAG = """\
from airflow.sdk import DAG
from common.sensors import LandingSensor

with DAG("{name}", schedule="@hourly"):
    LandingSensor(task_id="land", bucket_key="s3://b/{name}")
"""


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "deferaudit"
    return subprocess.run(
        [str(exe), *args, "--no-cache", "--target-airflow", "3.3"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def _project(root: Path, sensors: str = SENSORS) -> Path:
    (root / "common").mkdir()
    (root / "common" / "__init__.py").write_text("")
    (root / "common" / "sensors.py").write_text(sensors)
    (root / "dags").mkdir()
    for name in ("landing_a", "landing_b"):
        (root / "dags" / f"{name}.py").write_text(DAG.format(name=name))
    (root / "pyproject.toml").write_text('[project]\nname = "team"\n')
    return root


def _findings(root: Path) -> list[dict[str, object]]:
    proc = _cli(root, "scan", "dags", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["rule"] != "DA108"]


def test_the_fix_edits_the_class_once_then_each_task_can_defer(tmp_path: Path) -> None:
    root = _project(tmp_path)
    # As written, a call-site deferrable=True is the TypeError the rule warns of.
    assert "multiple values for keyword argument 'deferrable'" in _load_with_real_airflow(
        root, ok=False
    )
    first = _findings(root)
    assert [(f["path"], f["rule"]) for f in first] == [
        ("dags/landing_a.py", "DA106"),
        ("dags/landing_b.py", "DA106"),
    ]
    for finding in first:
        fix = finding["fix"]
        assert isinstance(fix, dict)
        assert fix["safety"] == "safe" and fix["path"] == "common/sensors.py"
        assert fix["action"] == "class-deferrable-choice"
    sarif = json.loads(_cli(root, "scan", "dags", "--format", "sarif").stdout)
    changes = [
        change["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for fix in result.get("fixes", ())
        for change in fix["artifactChanges"]
    ]
    assert changes == ["common/sensors.py", "common/sensors.py"]
    dags_before = {p.name: p.read_text() for p in (root / "dags").iterdir()}
    applied = _cli(root, "fix", "dags", "--apply")
    assert applied.returncode == 0, applied.stderr
    # One edit of the class for both tasks; the DAG files are left as they were.
    assert (root / "common" / "sensors.py").read_text() == SENSORS.replace(
        "deferrable=False,", 'deferrable=kwargs.pop("deferrable", False),'
    )
    assert {p.name: p.read_text() for p in (root / "dags").iterdir()} == dags_before
    # Now each task may be given deferrable=True: the next scan offers it at each call.
    second = _findings(root)
    assert [(f["path"], f["rule"]) for f in second] == [
        ("dags/landing_a.py", "DA101"),
        ("dags/landing_b.py", "DA101"),
    ]
    assert all(f["fix"]["safety"] == "safe" for f in second)  # type: ignore[index]
    assert _cli(root, "fix", "dags", "--apply").returncode == 0
    for name in ("landing_a", "landing_b"):
        assert "deferrable=True" in (root / "dags" / f"{name}.py").read_text()
    assert [f["rule"] for f in _findings(root)] == []
    _load_with_real_airflow(root)


def _load_with_real_airflow(root: Path, ok: bool = True) -> str:
    """The project's class, imported by the real Airflow and amazon provider: a task that
    passes deferrable=True gets it (no TypeError), one that does not keeps False. With
    ``ok=False``, the error it fails with."""
    pytest.importorskip("airflow.providers.amazon.aws.sensors.s3")
    script = textwrap.dedent(
        """
        from common.sensors import LandingSensor
        given = LandingSensor(task_id="a", bucket_key="s3://b/k", deferrable=True)
        default = LandingSensor(task_id="b", bucket_key="s3://b/k")
        print(given.deferrable, default.deferrable, given.timeout)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(root), "AIRFLOW_HOME": str(root / ".airflow"), "PATH": ""},
    )
    if not ok:
        assert proc.returncode != 0
        return proc.stderr
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "False", "3600.0"]
    return proc.stdout


@pytest.mark.parametrize(
    "sensors",
    [
        # **kwargs unpacked before the keyword: kwargs.pop would run too late.
        SENSORS.replace(
            "super().__init__(deferrable=False, timeout=3600, **kwargs)",
            "super().__init__(**kwargs, deferrable=False, timeout=3600)",
        ),
        # Not a literal.
        SENSORS.replace("deferrable=False,", "deferrable=self.no_defer(),"),
        # Set in kwargs, not passed as a keyword.
        SENSORS.replace(
            "        super().__init__(deferrable=False, timeout=3600, **kwargs)",
            '        kwargs["deferrable"] = False\n        super().__init__(timeout=3600, **kwargs)',
        ),
    ],
    ids=["kwargs-first", "not-literal", "assigned"],
)
def test_no_class_edit_where_it_is_not_mechanical(tmp_path: Path, sensors: str) -> None:
    root = _project(tmp_path, sensors)
    found = _findings(root)
    # A value that cannot be read leaves the tasks' waiting unknown: no finding at all.
    expected = [] if "no_defer" in sensors else ["DA106", "DA106"]
    assert [f["rule"] for f in found] == expected
    for finding in found:
        fix = finding.get("fix")
        assert not (isinstance(fix, dict) and fix.get("available")), finding
