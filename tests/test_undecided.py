"""Tasks of known classes whose way of waiting deferaudit cannot read (a ``mode`` or
``deferrable`` given by an expression it does not evaluate): no rule reports them, since poke,
reschedule or deferred would each be a guess, so the summary lists them, in text and JSON.

Read by hand: in the file below ``by_variable`` takes its mode from an Airflow Variable and
``by_config`` its ``deferrable`` from the configuration; ``plain`` waits in poke mode (DA101)
and ``bash`` does not wait. Before, the first two were simply absent from every output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))
SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)

DAG_FILE = """\
from airflow.configuration import conf
from airflow.models import Variable
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("u", schedule="@daily"):
    S3KeySensor(task_id="by_variable", bucket_key="k", timeout=60, mode=Variable.get("mode"))
    S3KeySensor(
        task_id="by_config",
        bucket_key="k",
        timeout=60,
        deferrable=conf.getboolean("operators", "default_deferrable", fallback=True),
    )
    S3KeySensor(task_id="plain", bucket_key="k", timeout=60)
    BashOperator(task_id="bash", bash_command="true")
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "u.py").write_text(DAG_FILE)
    return subprocess.run(
        [DEFERAUDIT, "scan", "u.py", "--no-cache", "--target-airflow", "3.3", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_json_lists_the_tasks_whose_waiting_could_not_be_read(tmp_path: Path) -> None:
    done = _run(tmp_path, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert [(f["rule"], f["task_id"]) for f in doc["findings"]] == [("DA101", "plain")]
    assert doc["summary"]["undecided"] == [
        {
            "path": "u.py",
            "line": 8,
            "operator": "S3KeySensor",
            "unread": 'mode=Variable.get("mode")',
        },
        {
            "path": "u.py",
            "line": 9,
            "operator": "S3KeySensor",
            "unread": 'deferrable=conf.getboolean("operators", "default_deferrable", fallback=True)',
        },
    ]


def test_text_says_so_under_the_counts(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert (
        "Not judged: 2 tasks whose way of waiting could not be read: u.py:8 `S3KeySensor` "
        '(mode=Variable.get("mode")), u.py:9 `S3KeySensor` (deferrable=conf.getboolean('
        '"operators", "default_deferrable", fallback=True)).'
    ) in done.stdout
