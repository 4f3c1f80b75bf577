"""A sensor subclass that sets ``self.mode`` / ``self.timeout`` after its base's ``__init__``
(which would otherwise set them from the call): Airflow's task then has those values whatever
the call says. Set before the base's ``__init__``, they are overwritten by it and count for
nothing.

Read by hand: ``After`` sets ``mode="reschedule"`` and ``timeout=300`` after ``super().__init__``:
task ``after`` waits in reschedule mode with a timeout (DA102, set by the class). ``Before`` sets
them before: ``before`` waits in the default poke mode with no timeout (DA101, DA108). Before
this, ``after`` was reported as poke mode with no timeout.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli_json import scan_json

DAG_FILE = """\
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


class After(S3KeySensor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mode = "reschedule"
        self.timeout = 300


class Before(S3KeySensor):
    def __init__(self, **kwargs):
        self.mode = "reschedule"
        self.timeout = 300
        super().__init__(**kwargs)


with DAG("s", schedule="@daily", start_date=datetime(2024, 1, 1)):
    After(task_id="after", bucket_key="k")
    Before(task_id="before", bucket_key="k")
"""


def test_values_set_after_the_base_init_are_the_task_s(tmp_path: Path) -> None:
    from deferaudit.verify import load_dags

    (tmp_path / "s.py").write_text(DAG_FILE)
    doc = scan_json(tmp_path, "s.py")
    found = {(f["rule"], f["task_id"]) for f in doc["findings"]}
    assert found == {("DA102", "after"), ("DA101", "before"), ("DA108", "before")}
    (loaded,) = load_dags([tmp_path / "s.py"], [tmp_path]).values()
    assert {t: task["mode"] for t, task in loaded["dags"]["s"].items()} == {
        "after": "reschedule",
        "before": "poke",
    }
