"""The issue's hand-computed scenarios, scanned from real DAG files in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import deferaudit.evaluate as evaluate_module
from deferaudit import __version__
from deferaudit.catalog import Catalog
from deferaudit.cost.model import SlotCost
from deferaudit.pipeline import capacity_plan as plan_for
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

SENSOR_IMPORT = "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"


def write(folder: Path, name: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(code)
    return path


def costs(result: ScanResult) -> dict[str, SlotCost]:
    return {f"{c.dag_id}.{c.task_id}": c for o in result.outcomes for c in o.costs}


HOURLY_POKE = (
    "from airflow.sdk import DAG\n"
    + SENSOR_IMPORT
    + """
with DAG("hourly_ingest", schedule="@hourly"):
    S3KeySensor(task_id="wait_for_file", bucket_key="s3://b/k", mode="poke", timeout=3600)
"""
)


def test_one_hourly_poke_sensor_waiting_30_minutes(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    write(tmp_path / "dags", "hourly.py", HOURLY_POKE)
    result = run_scan(
        tmp_path / "dags",
        target_airflow="3.3",
        start_overhead=10.0,
        waits=(("hourly_ingest.wait_for_file", 1800.0),),
    )
    (finding,) = [f for f in result.findings if f.rule == "DA101"]
    cost = finding.cost
    assert (cost.runs_per_day, cost.wait, cost.per_run_now, cost.per_run_deferrable) == (
        24,
        1800,
        1800,
        20,
    )
    # 24 x (1800 - 20) s = 42,720 slot-seconds a day = 11.87 slot-hours
    assert cost.waste_slot_hours_per_day == pytest.approx(42720 / 3600)
    assert round(cost.waste_slot_hours_per_day, 2) == 11.87
    sources = {a.quantity: a.source for a in cost.assumptions}
    assert sources["runs_per_day"] == "measured"
    assert sources["wait"] == "configured"
    assert sources["start_overhead"] == "configured"
    plan = plan_for(result)
    assert plan.triggers.peak == 1
    assert (plan.triggerers_without_ha, plan.triggerers) == (1, 2)
    assert plan.waste_slot_hours_per_day == pytest.approx(42720 / 3600)


def test_two_thousand_daily_dags_each_with_a_two_hour_sensor(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    for file_index in range(200):
        blocks = "".join(
            f"""
with DAG("daily_{file_index}_{i}", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=86400)
"""
            for i in range(10)
        )
        write(
            tmp_path / "dags",
            f"daily_{file_index:03}.py",
            "from airflow.sdk import DAG\n" + SENSOR_IMPORT + blocks,
        )
    result = run_scan(
        tmp_path / "dags",
        target_airflow="3.3",
        default_wait=7200.0,
        triggerer_capacity=1000,
        utilisation=0.8,
    )
    assert len(costs(result)) == 2000
    plan = plan_for(result)
    assert plan.triggers.peak == 2000
    assert plan.triggers.mean == pytest.approx(2000 * 2 / 24)
    assert plan.little_mean_triggers == pytest.approx(2000 * 2 / 24)
    # ceil(2000 / (1000 x 0.8)) = ceil(2.5) = 3, and one spare for HA
    assert (plan.triggerers_without_ha, plan.triggerers) == (3, 4)
    assert plan.slots_before.peak == 2000
    no_ha = plan_for(
        run_scan(tmp_path / "dags", target_airflow="3.3", default_wait=7200.0, ha=False)
    )
    assert no_ha.triggerers == 3


DOWNSTREAM = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
    + SENSOR_IMPORT
    + """
with DAG("chain", schedule="@daily"):
    extract = EmptyOperator(task_id="extract")
    load = EmptyOperator(task_id="load")
    upstream_wait = S3KeySensor(task_id="upstream_wait", bucket_key="s3://b/a", mode="poke", timeout=86400)
    final_wait = S3KeySensor(task_id="final_wait", bucket_key="s3://b/b", mode="poke", timeout=86400)
    extract >> upstream_wait >> final_wait
    extract >> load >> final_wait
"""
)


def test_a_sensor_downstream_starts_after_the_longest_upstream_path(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    write(tmp_path / "dags", "chain.py", DOWNSTREAM)
    waits = (("upstream_wait", 3600.0), ("final_wait", 1800.0))
    result = run_scan(tmp_path / "dags", target_airflow="3.3", waits=waits)
    by_task = costs(result)
    # extract (5 min, the default task duration) then upstream_wait (1 h): 3,900 s, longer
    # than extract >> load (600 s)
    assert by_task["chain.upstream_wait"].offset == 300
    assert by_task["chain.final_wait"].offset == 300 + 3600
    plan = plan_for(result)
    # the two waits follow each other: never two triggers at once
    assert plan.triggers.peak == 1
    longer = costs(
        run_scan(tmp_path / "dags", target_airflow="3.3", waits=waits, default_task_duration=900.0)
    )
    assert longer["chain.final_wait"].offset == 900 + 3600


MAPPED = (
    "from airflow.sdk import DAG\n"
    + SENSOR_IMPORT
    + """
with DAG("mapped", schedule="@hourly"):
    S3KeySensor.partial(task_id="wait_each", mode="poke", timeout=3600).expand(
        bucket_key=["s3://b/1", "s3://b/2", "s3://b/3", "s3://b/4", "s3://b/5"]
    )
    S3KeySensor.partial(task_id="wait_unknown", mode="poke", timeout=3600).expand(
        bucket_key=list_keys()
    )
"""
)


def test_mapped_tasks_multiply_by_their_literal_list(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    write(tmp_path / "dags", "mapped.py", MAPPED)
    result = run_scan(tmp_path / "dags", target_airflow="3.3", start_overhead=10.0)
    by_task = costs(result)
    each, unknown = by_task["mapped.wait_each"], by_task["mapped.wait_unknown"]
    assert each.map_count == 5
    assert each.waste_slot_hours_per_day == pytest.approx(5 * 24 * (1800 - 20) / 3600)
    assert unknown.map_count == 1
    notes = {a.quantity: a for a in unknown.assumptions}
    assert notes["map_count"].source == "assumed"
    assert "unknown length" in notes["map_count"].detail
    # 5 instances and 1 of unknown count wait at once, every hour
    assert plan_for(result).triggers.peak == 6


AIRFLOW2_NO_SCHEDULE = (
    "from airflow import DAG\n"
    + SENSOR_IMPORT
    + """
with DAG("no_schedule"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=3600)
"""
)


def test_an_omitted_schedule_follows_the_target_airflow(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    write(tmp_path / "dags", "legacy.py", AIRFLOW2_NO_SCHEDULE)
    on_2 = costs(run_scan(tmp_path / "dags", target_airflow="2.11"))["no_schedule.wait"]
    on_3 = costs(run_scan(tmp_path / "dags", target_airflow="3.3"))["no_schedule.wait"]
    assert (on_2.runs_per_day, on_3.runs_per_day) == (1, 0)
    assert on_3.waste_slot_hours_per_day == 0
    assert {a.quantity: a.source for a in on_2.assumptions}["runs_per_day"] == "defaulted"


WAITS_OF_ALL_KINDS = (
    "from datetime import timedelta\n"
    "from airflow.sdk import DAG\n"
    + SENSOR_IMPORT
    + """
with DAG("kinds", schedule="*/15 9-17 * * MON-FRI"):
    S3KeySensor(task_id="short_timeout", bucket_key="s3://b/k", mode="poke", timeout=600)
    S3KeySensor(
        task_id="rescheduled", bucket_key="s3://b/k", mode="reschedule", poke_interval=300,
        timeout=timedelta(hours=6),
    )

with DAG("every_6h", schedule=timedelta(hours=6)):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True, timeout=3600)

with DAG("continuous", schedule="@continuous", max_active_runs=1):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=3600)
"""
)


def test_timeouts_reschedule_timedelta_cron_and_continuous(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    write(tmp_path / "dags", "kinds.py", WAITS_OF_ALL_KINDS)
    by_task = costs(run_scan(tmp_path / "dags", target_airflow="3.3", start_overhead=10.0))
    short = by_task["kinds.short_timeout"]
    # the default 30 min wait is capped by timeout=600
    assert (short.wait, short.worst_wait) == (600, 600)
    assert {a.quantity: a.source for a in short.assumptions}["wait"] == "measured"
    assert short.runs_per_day == pytest.approx(4 * 9 * 5 / 7)
    rescheduled = by_task["kinds.rescheduled"]
    # ceil(1800 / 300) = 6 pokes of 10 s; worst case ceil(21600 / 300) = 72 pokes
    assert (rescheduled.per_run_now, rescheduled.per_run_worst) == (60, 720)
    every_6h = by_task["every_6h.wait"]
    assert (every_6h.runs_per_day, every_6h.now, every_6h.waste_slot_hours_per_day) == (
        4,
        "deferrable",
        0,
    )
    continuous = by_task["continuous.wait"]
    # back-to-back runs of its one task's 30 min wait: 48 a day
    assert continuous.runs_per_day == 48
    assert {a.quantity: a.source for a in continuous.assumptions}["runs_per_day"] == "assumed"


def test_findings_on_tasks_that_do_not_wait_carry_no_cost(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    write(
        tmp_path / "dags",
        "broken.py",
        "from airflow.sdk import DAG\nwith DAG('x' schedule=None):\n",
    )
    write(tmp_path / "dags", "hourly.py", HOURLY_POKE)
    result = run_scan(tmp_path / "dags", target_airflow="3.3")
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["DA001"].cost is None
    assert by_rule["DA101"].cost is not None


def cached_scan(tmp_path: Path, catalog: Catalog, **settings: object) -> ScanResult:
    """A scan as ``deferaudit scan`` runs it: cache on, outcomes from the cache when known."""
    values: dict[str, object] = {
        "jobs": 1,
        "target_airflow": "3.3",
        "cache": True,
        "cache_dir": tmp_path / "cache",
    }
    values.update(settings)
    return scan([tmp_path / "dags"], Settings(**values), catalog, cwd=tmp_path, need_facts=False)  # type: ignore[arg-type]


def test_a_warm_scan_gives_the_cold_scans_costs_and_plan(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "dags", "chain.py", DOWNSTREAM)
    write(tmp_path / "dags", "mapped.py", MAPPED)
    cold = cached_scan(tmp_path, catalog)
    cold_plan = plan_for(cold)
    # the warm scan must answer from the cache: running the cost model again would fail
    monkeypatch.setattr(evaluate_module, "waiting_costs", _must_not_run)
    warm = cached_scan(tmp_path, catalog)
    assert costs(warm) == costs(cold)
    assert [f.cost for f in warm.findings] == [f.cost for f in cold.findings]
    assert plan_for(warm).to_json() == cold_plan.to_json()
    (tmp_path / "cache" / f"plan-{__version__}.pickle").unlink()  # recomputed from outcomes
    assert plan_for(warm).to_json() == cold_plan.to_json()


def _must_not_run(*args: object) -> None:
    raise AssertionError("the cost model ran on a warm scan")


def test_a_changed_cost_setting_is_never_answered_from_the_cache(
    tmp_path: Path, catalog: Catalog
) -> None:
    write(tmp_path / "dags", "hourly.py", HOURLY_POKE)
    first = cached_scan(tmp_path, catalog)
    again = cached_scan(tmp_path, catalog, default_wait=600.0)
    assert costs(first)["hourly_ingest.wait_for_file"].wait == 1800
    assert costs(again)["hourly_ingest.wait_for_file"].wait == 600
    assert plan_for(again).waste_slot_hours_per_day == pytest.approx(24 * 580 / 3600)
    overhead = cached_scan(tmp_path, catalog, start_overhead=60.0)
    assert costs(overhead)["hourly_ingest.wait_for_file"].per_run_deferrable == 120
    waits = cached_scan(tmp_path, catalog, waits=(("wait_for_*", 900.0),))
    assert costs(waits)["hourly_ingest.wait_for_file"].wait == 900
    # a plan setting changes the plan, not the per-file costs
    small = cached_scan(tmp_path, catalog, triggerer_capacity=1, utilisation=1.0, ha=False)
    assert plan_for(small).params.capacity == 1
    assert plan_for(first).params.capacity == 1000
