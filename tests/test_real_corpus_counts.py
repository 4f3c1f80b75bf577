"""DAG and task counts on a real repository, counted by hand from its code (issue 13).

blockchain-etl/ethereum-etl-airflow (../shared/corpus/real, commit 27d0fb0) builds every DAG
through factories in ``dags/ethereumetl_airflow/build_*_dag.py``: thin DAG files call
``build_load_dag(...)`` and friends, which make the DAG, nested ``add_*_tasks`` closures and
the sensors. The counts below were made by reading the code (each loop over a glob or a
Variable counted once per iteration, every Variable-gated task counted), not copied from the
tool. ``ethereum_load_dag.py`` builds ``ethereum_load_dag`` in both arms of an ``if``/``elif``
on a Variable (GCP: 35 tasks, AWS: 8): Airflow registers one DAG and makes the tasks of one
arm; deferaudit counts one DAG (one dag_id) and the tasks of the larger arm (35), since it
cannot know the Variable, and still reports the waits of both arms.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

REPO = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"
ETHEREUM = REPO / "blockchain-etl+ethereum-etl-airflow"

# file -> (DAGs, operator and sensor tasks), by hand.
HAND_COUNTED = {
    "dags/ethereum_amend_dag.py": (1, 2),
    "dags/ethereum_clean_dag.py": (1, 11),
    "dags/ethereum_export_dag.py": (1, 6),
    "dags/ethereum_load_dag.py": (1, 35),
    "dags/ethereum_parse_dag.py": (1, 4),
    "dags/ethereum_partition_dag.py": (1, 5),
    "dags/ethereum_verify_streaming_dag.py": (1, 11),
}


@pytest.mark.skipif(not ETHEREUM.is_dir(), reason="the real corpus is not beside the project")
def test_ethereum_etl_dag_and_task_counts_match_the_hand_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ETHEREUM)
    settings = dataclasses.replace(Settings(), cache=False, target_airflow="2.7")
    result = scan([Path("dags")], settings, Catalog.load(), cwd=ETHEREUM, need_facts=False)
    counted = {o.path: (o.dags, o.tasks) for o in result.outcomes if o.dags or o.tasks}
    assert counted == HAND_COUNTED
    assert result.dag_count == 7
    # The sensors the load DAG's factory makes in its nested closure, one per table, with
    # their substituted task ids and the factory named.
    waits = sorted(
        f.task_id
        for f in result.findings
        if f.path == "dags/ethereum_load_dag.py" and f.rule == "DA101"
    )
    assert waits == sorted(
        f"wait_latest_{table}"
        for table in (
            "blocks",
            "transactions",
            "receipts",
            "logs",
            "contracts",
            "tokens",
            "token_transfers",
            "traces",
        )
    )
    built = {f.built.function for f in result.findings if f.built is not None}
    assert "ethereumetl_airflow.build_load_dag.build_load_dag.add_load_tasks" in built
