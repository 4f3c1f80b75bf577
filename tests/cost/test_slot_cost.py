"""Slot-seconds per run for each way of waiting, and which configured wait a task gets."""

from __future__ import annotations

import json

import pytest

from deferaudit.cost.model import (
    assumption,
    cost_parameters,
    slot_cost,
    slot_seconds_per_run,
)


@pytest.mark.parametrize(
    ("mode", "wait", "overhead", "poke_interval", "starts", "seconds"),
    [
        ("poke", 1800, 10, None, 2, 1800),  # the slot for the whole wait
        ("blocking", 5400, 10, None, 2, 5400),
        ("reschedule", 1800, 10, 60, 2, 30 * 10),  # ceil(1800 / 60) pokes of 10 s
        ("reschedule", 1801, 10, 60, 2, 31 * 10),  # a started interval is a poke
        ("reschedule", 1800, 10, 300, 2, 6 * 10),
        ("reschedule", 0, 10, 60, 2, 10),  # one poke at least
        ("deferrable", 1800, 10, None, 2, 20),  # start and resume
        ("deferrable", 1800, 10, None, 1, 10),  # start_from_trigger
        ("deferrable", 1800, 10, None, 0, 0),  # and end_from_trigger
        ("deferrable", 1800, 60, None, 2, 120),  # a pod per start (kubernetes)
    ],
)
def test_slot_seconds_per_run(
    mode: str,
    wait: float,
    overhead: float,
    poke_interval: float | None,
    starts: int,
    seconds: float,
) -> None:
    assert slot_seconds_per_run(mode, wait, overhead, poke_interval, starts) == seconds  # type: ignore[arg-type]


def make(**changes: object):
    values: dict[str, object] = {
        "dag_id": "d",
        "task_id": "t",
        "line": 3,
        "runs_per_day": 24.0,
        "timing": ("days", tuple(range(7)), tuple(h * 3600.0 for h in range(24))),
        "map_count": 1,
        "wait": 1800.0,
        "worst_wait": 604800.0,
        "offset": 0.0,
        "now": "poke",
        "after": "deferrable",
        "start_overhead": 10.0,
        "poke_interval": None,
        "deferrable_starts": 2,
        "assumptions": (assumption("wait", "configured", "30m"),),
    }
    values.update(changes)
    return slot_cost(**values)  # type: ignore[arg-type]


def test_waste_per_day_is_the_difference_times_runs_times_map_count() -> None:
    cost = make()
    # 24 runs x (1800 - 2 x 10) s = 42,720 slot-seconds = 11.8666... slot-hours a day
    assert cost.waste_slot_hours_per_day == pytest.approx(24 * (1800 - 20) / 3600)
    assert round(cost.waste_slot_hours_per_day, 2) == 11.87
    # worst case: every run pokes until the 7-day timeout
    assert cost.worst_case_waste_slot_hours_per_day == pytest.approx(24 * (604800 - 20) / 3600)
    assert cost.recovered_slot_hours_per_day == pytest.approx(24 * 1780 / 3600)
    mapped = make(map_count=5)
    assert mapped.waste_slot_hours_per_day == pytest.approx(5 * 24 * 1780 / 3600)


def test_a_task_already_deferring_wastes_nothing_and_gives_nothing_back() -> None:
    cost = make(now="deferrable", after="deferrable")
    assert cost.waste_slot_hours_per_day == 0
    assert cost.recovered_slot_hours_per_day == 0


def test_a_short_reschedule_wait_costs_less_than_deferring() -> None:
    # one poke of 10 s against a start and a resume: deferring costs 10 s more a run
    cost = make(
        now="reschedule", after="deferrable", wait=30.0, poke_interval=60.0, runs_per_day=1.0
    )
    assert cost.waste_slot_hours_per_day == pytest.approx((10 - 20) / 3600)


def test_the_json_of_a_cost_carries_each_numbers_source() -> None:
    doc = json.loads(make().encoded)
    assert doc["runs_per_day"] == 24
    assert doc["wait_seconds"] == 1800
    assert doc["slot_seconds_per_run_now"] == 1800
    assert doc["slot_seconds_per_run_deferrable"] == 20
    assert doc["waste_slot_hours_per_day"] == round(24 * 1780 / 3600, 6)
    assert doc["assumptions"] == {"wait": "configured"}
    detailed = make().to_json_detailed()
    assert detailed["assumptions"] == {"wait": {"source": "configured", "detail": "30m"}}


# ---------------------------------------------------------------------- configured waits


WAITS = (
    ("ingest.wait_for_file", 600.0),
    ("wait_for_file", 1200.0),
    ("wait_for_*", 1800.0),
    ("*.S3KeySensor", 2400.0),
    ("airflow.providers.amazon.*", 3000.0),
    ("HttpSensor", 3600.0),
)


@pytest.mark.parametrize(
    ("dag_id", "task_id", "class_path", "seconds", "pattern"),
    [
        ("ingest", "wait_for_file", "x.S3KeySensor", 600, "ingest.wait_for_file"),
        ("other", "wait_for_file", "x.S3KeySensor", 1200, "wait_for_file"),
        ("other", "wait_for_rows", "x.S3KeySensor", 1800, "wait_for_*"),
        (
            "other",
            "poll",
            "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
            3000,
            "airflow.providers.amazon.*",
        ),
        ("other", "poll", "mine.S3KeySensor", 2400, "*.S3KeySensor"),
        ("other", "poll", "airflow.providers.http.sensors.http.HttpSensor", 3600, "HttpSensor"),
    ],
)
def test_configured_waits_match_task_then_class(
    dag_id: str, task_id: str, class_path: str, seconds: float, pattern: str
) -> None:
    params = cost_parameters(None, None, None, None, WAITS)
    found = params.wait_for(dag_id, task_id, class_path)
    assert found is not None
    assert found[0] == seconds
    assert found[1].source == "configured"
    assert repr(pattern) in found[1].detail


def test_no_configured_wait_falls_back_to_the_default() -> None:
    params = cost_parameters(None, None, None, None, WAITS)
    assert params.wait_for("d", "t", "x.PythonSensor") is None
    assert (params.default_wait, params.default_wait_from.source) == (1800, "defaulted")
    configured = cost_parameters(7200.0, None, None, None, ())
    assert (configured.default_wait, configured.default_wait_from.source) == (7200, "configured")


def test_the_kubernetes_executor_preset_raises_the_start_overhead() -> None:
    assert cost_parameters(None, None, None, None, ()).start_overhead == 10
    kubernetes = cost_parameters(None, None, None, "kubernetes", ())
    assert kubernetes.start_overhead == 60
    assert "a pod per start" in kubernetes.start_overhead_from.detail
    # an explicit start-overhead wins over the preset
    assert cost_parameters(None, 25.0, None, "kubernetes", ()).start_overhead == 25
