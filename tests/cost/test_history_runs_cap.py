"""A worst case bounded by the DAG's runs at once (``max_active_runs``) is bounded again by the
runs per day a history measured, not by the schedule's: worked out by hand below.

Each DAG runs a poke-mode FileSensor with ``timeout=6h``. The cap is ``max_active_runs x 1 day /
runs per day`` of wait per run (deferaudit.cost.bounds.capped_by_runs)."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.cost.history_join import join_history
from deferaudit.cost.model import SlotCost
from deferaudit.history.model import History, Spread, TaskHistory, Window
from deferaudit.scan import scan
from deferaudit.settings import Settings

DAG = """
from datetime import datetime, timedelta

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

with DAG("{dag_id}", start_date=datetime(2026, 1, 1), schedule="{schedule}", max_active_runs={runs}):
    FileSensor(task_id="wait", filepath="/in", poke_interval=30, timeout=timedelta(hours=6))
"""
SIX_HOURS = 6 * 3600.0


def _cost(tmp_path: Path, catalog: Catalog, dag_id: str, schedule: str, runs: int) -> SlotCost:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(
        textwrap.dedent(DAG).format(dag_id=dag_id, schedule=schedule, runs=runs)
    )
    settings = Settings(cache=False, jobs=1, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path / "dags"], settings, catalog, cwd=tmp_path)
    (finding,) = [f for f in result.findings if f.rule == "DA101"]
    assert isinstance(finding.cost, SlotCost)
    return finding.cost


def _measured(dag_id: str, runs_in_two_days: int, wait: float) -> History:
    spread = Spread(wait, wait, wait)
    none = Spread(None, None, None)
    task = TaskHistory(
        dag_id, "wait", "FileSensor", runs_in_two_days, runs_in_two_days, runs_in_two_days,
        0, 0, spread, 0, 0.0, 0, none, 0.0, spread, wait * runs_in_two_days, none,
    )  # fmt: skip
    window = Window(
        datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 3, tzinfo=timezone.utc)
    )
    return History("sqlite:///x.db", "sqlite", "3.3.0", "d2f4e1b3c5a7", window, (task,))


def _quantities(cost: SlotCost) -> dict[str, str]:
    return {a.quantity: a.detail for a in cost.assumptions}


def test_fewer_measured_runs_lift_the_cap_to_the_timeout(tmp_path: Path, catalog: Catalog) -> None:
    # Hourly, one run at once: the schedule's 24 runs a day leave each run 86,400 / 24 = 1 h
    # of wait, under its 6 h timeout.
    cost = _cost(tmp_path, catalog, "hourly", "@hourly", 1)
    assert (cost.worst_wait, cost.worst_bound) == (3600.0, "max_active_runs=1")
    assert _quantities(cost)["max_active_runs"] == "max_active_runs=1 on the DAG"
    # It ran 8 times in 2 days: 4 a day leave 86,400 / 4 = 6 h a run, the timeout's bound.
    priced, _ = join_history(
        [("dags/d.py", cost)], [("hourly", "wait")], {}, _measured("hourly", 8, 600)
    )
    new = priced[id(cost)]
    assert new.runs_per_day == 4.0
    assert (new.worst_wait, new.worst_bound) == (SIX_HOURS, "timeout 6h")
    assert "max_active_runs" not in _quantities(new)
    assert json.loads(new.encoded)["worst_case_bound"] == "timeout 6h"


def test_more_measured_runs_bring_the_cap_in(tmp_path: Path, catalog: Catalog) -> None:
    # Daily, two runs at once: 2 x 86,400 / 1 = 48 h a run, above the 6 h timeout.
    cost = _cost(tmp_path, catalog, "daily", "@daily", 2)
    assert (cost.worst_wait, cost.worst_bound) == (SIX_HOURS, "timeout 6h")
    assert "max_active_runs" not in _quantities(cost)
    # Triggered 96 times in 2 days: 48 a day leave 2 x 86,400 / 48 = 3,600 s a run.
    priced, _ = join_history(
        [("dags/d.py", cost)], [("daily", "wait")], {}, _measured("daily", 96, 600)
    )
    new = priced[id(cost)]
    assert new.runs_per_day == 48.0
    assert (new.worst_wait, new.worst_bound) == (3600.0, "max_active_runs=2")
    assert _quantities(new)["max_active_runs"] == "max_active_runs=2 on the DAG"
    # A poke-mode run holds its slot for its whole wait: 3,600 slot-seconds at worst.
    assert new.per_run_worst == pytest.approx(3600.0)
    assert json.loads(new.encoded)["worst_case_bound"] == "max_active_runs=2"
