"""The week simulation and the triggerer count, on hand-made waits with hand-computed answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferaudit.cost.capacity import plan_capacity, plan_parameters, simulate, triggerers_needed
from deferaudit.cost.model import slot_cost
from deferaudit.cost.schedule import DAY, WEEK, cron_runs_per_day, cron_timing, fire_times
from deferaudit.settings import Settings

HOURLY = cron_timing("0 * * * *")
DAILY = cron_timing("0 0 * * *")
SUNDAY_23H = cron_timing("0 23 * * 0")


@pytest.mark.parametrize(
    ("peak", "capacity", "utilisation", "ha", "expected"),
    [
        (2000, 1000, 0.8, True, (3, 4)),  # 2000 / 800 = 2.5 -> 3, + 1 spare
        (1, 1000, 0.8, True, (1, 2)),
        (0, 1000, 0.8, True, (1, 2)),  # at least one triggerer
        (800, 1000, 0.8, False, (1, 1)),  # exactly full
        (801, 1000, 0.8, False, (2, 2)),
        (2400, 1000, 0.8, False, (3, 3)),
        (700, 1000, 0.7, False, (1, 1)),  # 0.7 x 1000 is 700, not 700.0000001
        (150, 100, 1.0, True, (2, 3)),
    ],
)
def test_triggerers_needed(
    peak: float, capacity: int, utilisation: float, ha: bool, expected: tuple[int, int]
) -> None:
    assert triggerers_needed(peak, capacity, utilisation, ha) == expected


def test_one_hourly_half_hour_wait_holds_one_trigger_half_the_time() -> None:
    occupancy, hours = simulate({(HOURLY, 0.0, 1800.0): 1.0})
    assert (occupancy.peak, occupancy.p95, occupancy.mean) == (1, 1, 0.5)
    assert hours == [1] * 168


def test_two_thousand_daily_two_hour_waits_from_midnight_peak_at_two_thousand() -> None:
    occupancy, hours = simulate({(DAILY, 0.0, 7200.0): 2000.0})
    assert occupancy.peak == 2000
    assert occupancy.mean == pytest.approx(2000 * 2 / 24)
    # 2,000 for 2 hours of every 24: 8.3 % of the time, more than 5 %, so also the p95
    assert occupancy.p95 == 2000
    assert hours[0] == hours[1] == 2000 and hours[2] == 0 and hours[24] == 2000


def test_a_wait_crossing_the_end_of_the_week_holds_into_its_start() -> None:
    _, hours = simulate({(SUNDAY_23H, 0.0, 7200.0): 1.0})
    assert hours[167] == 1  # Sunday 23:00-24:00
    assert hours[0] == 1  # Monday 00:00-01:00, the week wrapped around
    assert hours[1] == 0


def test_a_wait_longer_than_a_week_holds_every_moment() -> None:
    occupancy, _ = simulate({(DAILY, 0.0, 8 * DAY): 1.0})
    # each daily run waits 8 days: 8 runs are waiting at any moment
    assert (occupancy.peak, occupancy.mean) == (8, 8)


def test_a_start_offset_moves_the_wait_inside_the_day() -> None:
    _, hours = simulate({(DAILY, 3 * 3600.0, 1800.0): 1.0})
    assert hours[:5] == [0, 0, 0, 1, 0]


def test_the_95th_percentile_is_of_time() -> None:
    # 1 trigger all the time, a second one for 1 hour a day (4 % of the time)
    occupancy, _ = simulate({(HOURLY, 0.0, 3600.0): 1.0, (DAILY, 0.0, 3600.0): 1.0})
    assert (occupancy.peak, occupancy.p95) == (2, 1)


CRONS = ["0 * * * *", "*/20 * * * *", "0 0 * * *", "30 6 * * 1-5", "0 */6 * * *", "0 12 * * 0"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CRONS),
            st.integers(min_value=0, max_value=6 * 3600),
            st.integers(min_value=1, max_value=2 * 86400),
            st.integers(min_value=1, max_value=50),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_the_simulated_mean_obeys_littles_law(waits: list[tuple[str, int, int, int]]) -> None:
    intervals: dict = {}
    expected = 0.0
    for expr, offset, duration, weight in waits:
        key = (cron_timing(expr), float(offset), float(duration))
        intervals[key] = intervals.get(key, 0.0) + weight
        expected += cron_runs_per_day(expr) * weight * duration / DAY
    occupancy, _ = simulate(intervals)
    assert occupancy.mean == pytest.approx(expected, rel=1e-9)
    assert occupancy.peak >= occupancy.p95 >= 0
    assert occupancy.peak >= occupancy.mean


def poke(**changes: object):
    values: dict[str, object] = {
        "dag_id": "d",
        "task_id": "wait",
        "line": 1,
        "runs_per_day": 24.0,
        "timing": HOURLY,
        "map_count": 1,
        "wait": 1800.0,
        "worst_wait": 604800.0,
        "offset": 0.0,
        "now": "poke",
        "after": "deferrable",
        "start_overhead": 10.0,
        "poke_interval": None,
        "deferrable_starts": 2,
        "assumptions": (),
    }
    values.update(changes)
    return slot_cost(**values)  # type: ignore[arg-type]


def test_the_plan_of_one_hourly_poke_sensor() -> None:
    plan = plan_capacity([("dags/a.py", poke())], plan_parameters(Settings()))
    assert plan.waste_slot_hours_per_day == pytest.approx(24 * 1780 / 3600)
    assert (plan.triggers.peak, plan.triggerers_without_ha, plan.triggerers) == (1, 1, 2)
    assert plan.little_mean_triggers == pytest.approx(0.5)
    assert plan.triggers.mean == pytest.approx(0.5)
    # before: a slot half of every hour; after: 10 s at the start and 10 s at the end
    assert plan.slots_before.mean == pytest.approx(0.5)
    assert plan.slots_after.mean == pytest.approx(20 / 3600)
    assert plan.to_deferrable == 1


def test_worker_slots_freed_at_the_peak_and_whole_workers() -> None:
    # 40 hourly poke sensors at the same minute: 40 slots; after the fix 40 again for the
    # 10 s of their starts, so the peak does not fall; staggered by a minute each it does.
    together = [("a.py", poke(task_id=f"t{i}")) for i in range(40)]
    plan = plan_capacity(together, plan_parameters(Settings()))
    assert (plan.slots_before.peak, plan.slots_after.peak, plan.worker_slots_freed) == (40, 40, 0)
    staggered = [("a.py", poke(task_id=f"t{i}", offset=60.0 * i, wait=600.0)) for i in range(40)]
    plan = plan_capacity(staggered, plan_parameters(Settings(worker_concurrency=8)))
    # before: at any moment the 10 sensors started in the last 10 minutes poke
    assert plan.slots_before.peak == 10
    assert plan.slots_after.peak == 1
    assert plan.worker_slots_freed == 9
    assert plan.workers_freed == 1  # 9 slots at 8 a worker


def test_tasks_that_keep_their_slot_are_counted_before_and_after() -> None:
    kept = poke(now="poke", after="poke")
    plan = plan_capacity([("a.py", kept)], plan_parameters(Settings()))
    assert plan.triggers.peak == 0
    assert plan.slots_before.peak == plan.slots_after.peak == 1
    assert plan.unchanged == 1
    assert plan.recovered_slot_hours_per_day == 0


def test_mapped_tasks_hold_one_trigger_per_instance() -> None:
    plan = plan_capacity([("a.py", poke(map_count=5))], plan_parameters(Settings()))
    assert plan.triggers.peak == 5
    assert plan.waste_slot_hours_per_day == pytest.approx(5 * 24 * 1780 / 3600)


def test_per_dag_sums_and_order() -> None:
    costs = [
        ("a.py", poke(dag_id="small", runs_per_day=1.0, timing=DAILY)),
        ("b.py", poke(dag_id="big", task_id="x")),
        ("b.py", poke(dag_id="big", task_id="y")),
    ]
    plan = plan_capacity(costs, plan_parameters(Settings()))
    assert [(d.dag_id, d.tasks) for d in plan.dags] == [("big", 2), ("small", 1)]
    assert plan.dags[0].waste_slot_hours_per_day == pytest.approx(2 * 24 * 1780 / 3600)


def test_the_plan_names_the_settings_to_apply() -> None:
    plan = plan_capacity(
        [("a.py", poke())],
        plan_parameters(Settings(triggerer_capacity=500, sources={"triggerer_capacity": "--x"})),
    )
    assert plan.airflow_cfg() == ["[triggerer]", "capacity = 500"]
    assert plan.environment() == ["AIRFLOW__TRIGGERER__CAPACITY=500"]
    helm = "\n".join(plan.helm_values())
    assert "replicas: 2" in helm and "--capacity 500" in helm
    assert plan.params.capacity_from.source == "configured"
    assert "--x" in plan.params.capacity_from.detail


def test_every_fire_of_the_week_is_placed() -> None:
    assert len(fire_times(HOURLY)) == 168
    assert fire_times(HOURLY)[-1] == WEEK - 3600
