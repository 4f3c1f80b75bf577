"""Hand-written poll loops (DA205) hold a worker slot: the cost model counts them as waiting."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

DAG = textwrap.dedent(
    """\
    import time
    from airflow.sdk import DAG, BaseOperator
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator


    def wait_for_ack():
        while True:
            time.sleep(30)


    class PollingOperator(BaseOperator):
        def execute(self, context):
            for _ in range(100):
                time.sleep(60)


    with DAG("polls", schedule="@hourly"):
        BashOperator(task_id="bash", bash_command="until test -f /x; do sleep 60; done")
        PythonOperator(task_id="py", python_callable=wait_for_ack)
        PollingOperator(task_id="op")
    """
)


def test_poll_loops_are_costed_as_blocking_waits(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "polls.py").write_text(DAG)
    exe = Path(sys.executable).parent / "deferaudit"
    proc = subprocess.run(
        [str(exe), "scan", "dags", "--format", "json", "--no-cache", "--target-airflow", "3.3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {f["rule"] for f in doc["findings"]} >= {"DA205"}
    waiting = doc["capacity"]["waiting_tasks"]
    # The three tasks wait in their slot today and no fix changes that.
    assert waiting["total"] == 3 and waiting["unchanged"] == 3
    # 24 runs a day, 2 x 10 s starts if deferred. The bash loop and the endless Python loop
    # say nothing of how long they wait: the 30 min default. The operator's loop sleeps
    # 100 x 60 s and tests nothing: 6000 s, read from the code.
    per_task = 24 * (1800 - 20) / 3600
    operator = 24 * (6000 - 20) / 3600
    assert abs(doc["capacity"]["waste_slot_hours_per_day"] - (2 * per_task + operator)) < 0.01
    bash = next(f for f in doc["findings"] if f["rule"] == "DA205" and f["task_id"] == "bash")
    assert abs(bash["cost"]["waste_slot_hours_per_day"] - per_task) < 0.01
    py = next(f for f in doc["findings"] if f["rule"] == "DA205" and f["task_id"] == "py")
    assert "never leaves the loop" in py["message"]
