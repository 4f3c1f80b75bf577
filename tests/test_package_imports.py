"""A helper package as teams lay it out: ``lib/__init__.py`` re-exports with relative imports
(``from .sub.sensors import TeamSensor``, ``from .sub import sensors``), the sensor subclass
takes its default mode from a constant of another module (``from ..consts import
DEFAULT_MODE``), and DAG files reach it through the package (``lib.TeamSensor``,
``sensors.make``, ``lib.sub.sensors.make``).

Read by hand: ``TeamSensor`` defaults ``mode`` to ``DEFAULT_MODE`` ("reschedule") and
``timeout`` to 600; task ``a`` keeps the default (DA102), ``b`` gives ``mode="poke"`` (DA101),
``make("c")`` and ``make("d")`` build ``made_c`` and ``made_d`` with the default (DA102). No
task lacks a timeout. Before: a relative import in a package's ``__init__`` was read from the
package's parent (``sub.sensors``, not ``lib.sub.sensors``), ``sensors.make`` through the
re-exported module was not followed, and the imported default was unknown: 0 findings.
"""

from __future__ import annotations

from pathlib import Path

from deferaudit.extract import extract
from tests.cli_json import scan_json

FILES = {
    "lib/__init__.py": "from .sub.sensors import TeamSensor\nfrom .sub import sensors\n",
    "lib/consts.py": 'DEFAULT_MODE = "reschedule"\n',
    "lib/sub/__init__.py": "",
    "lib/sub/sensors.py": """\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from ..consts import DEFAULT_MODE


class TeamSensor(S3KeySensor):
    def __init__(self, **kwargs):
        kwargs.setdefault("mode", DEFAULT_MODE)
        kwargs.setdefault("timeout", 600)
        super().__init__(**kwargs)


def make(name):
    return TeamSensor(task_id=f"made_{name}", bucket_key=name)
""",
    "dags/x.py": """\
from datetime import datetime
from airflow import DAG
import lib
from lib import sensors

with DAG("x", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
    lib.TeamSensor(task_id="a", bucket_key="k")
    sensors.TeamSensor(task_id="b", bucket_key="k", mode="poke")
    sensors.make("c")
    lib.sub.sensors.make("d")
""",
}

EXPECTED = {
    ("DA102", 7, "a"),
    ("DA101", 8, "b"),
    ("DA102", 9, "made_c"),
    ("DA102", 10, "made_d"),
}


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    for name, text in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    return repo


def test_relative_imports_of_a_package_init_start_from_the_package() -> None:
    facts = extract(FILES["lib/__init__.py"], "lib/__init__.py", "lib")
    assert facts.imports == {
        "TeamSensor": ("lib.sub.sensors.TeamSensor",),
        "sensors": ("lib.sub.sensors",),
    }
    # A module's relative imports start from its package, as before.
    facts = extract(FILES["lib/sub/sensors.py"], "lib/sub/sensors.py", "lib.sub.sensors")
    assert facts.imports["DEFAULT_MODE"] == ("lib.consts.DEFAULT_MODE",)


def test_the_package_s_tasks_are_found_with_their_imported_defaults(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    doc = scan_json(repo, "dags")
    assert doc["summary"]["tasks"] == 4
    assert doc["summary"]["unresolved"] == []
    assert {(f["rule"], f["line"], f["task_id"]) for f in doc["findings"]} == EXPECTED


def test_airflow_builds_those_modes(tmp_path: Path) -> None:
    """Real Airflow 3.3 loads the DAG with the project root on sys.path: the modes it gives
    each task are the ones the findings name."""
    from deferaudit.verify import load_dags

    repo = _repo(tmp_path)
    (loaded,) = load_dags([repo / "dags" / "x.py"], [repo / "dags", repo]).values()
    assert loaded["import_errors"] == {}
    modes = {task_id: task["mode"] for task_id, task in loaded["dags"]["x"].items()}
    assert modes == {"a": "reschedule", "b": "poke", "made_c": "reschedule", "made_d": "reschedule"}
