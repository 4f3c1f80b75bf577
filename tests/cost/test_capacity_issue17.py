"""Issue 17's capacity numbers on real DAG files, against figures worked out by hand: slots
freed at the 95th percentile and on average, the safe/unsafe/needs-a-human split, worst cases
bounded by max_active_runs, and triggerers sized per queue with [triggerer] queues_enabled."""

from __future__ import annotations

import json
import os
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from deferaudit.cli import main

SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)
# Every run of every test starts its task 10 s on a worker (deferaudit's default start
# overhead); a deferred wait costs its start and its resume: 2 x 10 = 20 slot-seconds.
DEFERRED = 20


def _write(folder: Path, files: dict[str, str]) -> None:
    (folder / "dags").mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / "dags" / name).write_text(textwrap.dedent(text).lstrip())


def _capacity(folder: Path, *args: str, fmt: str = "json") -> dict | str:
    old = Path.cwd()
    try:
        os.chdir(folder)
        result = CliRunner().invoke(
            main, ["capacity", "dags", "--no-cache", "--format", fmt, *args], catch_exceptions=False
        )
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    if fmt == "text":
        return result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    return doc


@pytest.fixture(autouse=True)
def _no_deployment_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AIRFLOW__"):
            monkeypatch.delenv(name)


# Two poke sensors that each wait 12 h (timeout a day, so the wait is not capped): one from
# 00:00, one from 06:00. They overlap from 06:00 to 12:00, a quarter of the day, and together
# cover 00:00-18:00.
OVERLAP = {
    "early.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("early", schedule="0 0 * * *"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/a", mode="poke", timeout=86400)
        """,
    "late.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("late", schedule="0 6 * * *"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/b", mode="poke", timeout=86400)
        """,
}


def test_slots_freed_at_p95_and_on_average_when_poke_sensors_overlap(tmp_path: Path) -> None:
    _write(tmp_path, OVERLAP)
    capacity = _capacity(tmp_path, "--default-wait", "12h")["capacity"]
    # Before, per day: 1 slot 00-06, 2 slots 06-12, 1 slot 12-18, 0 slots 18-24. By time:
    # 0 for 25%, 1 for 50%, 2 for 25%: the 95th percentile is 2, the mean (6+12+6)/24 = 1.
    assert capacity["worker_slots_before"] == {"peak": 2, "p95": 2, "mean": 1}
    # After, both deferred: each run holds a slot 10 s as it starts (00:00, 06:00) and 10 s
    # before it ends (11:59:50, 17:59:50); never two at once. Mean: 4 x 10 s / 86,400 s.
    after = capacity["worker_slots_after"]
    assert (after["peak"], after["p95"]) == (1, 0)
    assert after["mean"] == pytest.approx(40 / 86400, abs=1e-4)
    freed = capacity["freed"]
    assert (freed["worker_slots"]["peak"], freed["worker_slots"]["p95"]) == (1, 2)
    assert freed["worker_slots"]["mean"] == pytest.approx(1 - 40 / 86400, abs=1e-4)
    # In workers of 16 slots (the Celery default): 2 / 16 at the 95th percentile.
    assert freed["workers"]["p95"] == 0.125
    assert freed["workers"]["mean"] == pytest.approx((1 - 40 / 86400) / 16, abs=1e-4)


def test_the_headline_is_the_p95_and_the_mean_with_the_peak_among_them(tmp_path: Path) -> None:
    _write(tmp_path, OVERLAP)
    text = _capacity(tmp_path, "--default-wait", "12h", fmt="text")
    lines = text.splitlines()
    head = lines.index(
        "Worker slots held by waiting tasks over one simulated week, and what the fixes free"
    )
    assert head == 2  # right under the title line
    assert lines[head + 2 : head + 5] == [
        "  95th percentile         2       0       2  = 0.1 workers of 16 slots",
        "  on average              1       0       1  = 0.1 workers of 16 slots",
        "  at the peak             2       1       1  = 0.1 workers of 16 slots",
    ]


MIXED = {
    # Safe: S3KeySensor takes deferrable=True (mode="poke" replaced).
    "safe.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("safe_dag", schedule="@daily"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=3600)
        """,
    # Unsafe: PythonSensor cannot defer on Airflow 3.3; the fix is reschedule mode, unsafe
    # (each poke becomes a task start).
    "unsafe.py": """
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors.python import PythonSensor

        with DAG("unsafe_dag", schedule="@daily"):
            PythonSensor(task_id="wait", python_callable=len, poke_interval=300, timeout=3600)
        """,
    # Needs a human: the task opts out with deferrable=False, never rewritten.
    "human.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("human_dag", schedule="@daily"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=False, timeout=3600)
        """,
}


def test_given_back_splits_into_safe_unsafe_and_needs_a_human(tmp_path: Path) -> None:
    _write(tmp_path, MIXED)
    doc = _capacity(tmp_path)
    # Daily, 30 min default wait. Safe: 1,800 s held now, 20 s deferred: 1,780 / 3,600.
    safe = (1800 - DEFERRED) / 3600
    # Unsafe: reschedule mode pokes every 300 s: ceil(1,800 / 300) = 6 starts of 10 s = 60 s.
    unsafe = (1800 - 60) / 3600
    # Needs a human: no fix, but a deferrable wait would hold 20 s instead of 1,800.
    human = (1800 - DEFERRED) / 3600
    split = doc["fix_first"]["recoverable_slot_hours_per_day"]
    assert split["safe"] == pytest.approx(safe, abs=1e-6)
    assert split["unsafe"] == pytest.approx(unsafe, abs=1e-6)
    assert split["needs_human"] == pytest.approx(human, abs=1e-6)
    # What the plan says the proposed fixes give back is the safe plus the unsafe.
    assert doc["capacity"]["recovered_slot_hours_per_day"] == pytest.approx(safe + unsafe, abs=1e-4)
    ranked = [(t["dag_id"], t["verdict"], t["command"]) for t in doc["fix_first"]["tasks"]]
    # Ties (safe and human, 0.4944 each) go by path: dags/human.py before dags/safe.py.
    assert ranked == [
        ("human_dag", "needs-human", None),
        ("safe_dag", "safe", "deferaudit fix dags --only dags/safe.py:5 --apply"),
        (
            "unsafe_dag",
            "unsafe",
            "deferaudit fix dags --only dags/unsafe.py:5 --unsafe-fixes --apply",
        ),
    ]
    # The task lines say what the JSON says: 60 slot-seconds a run after the reschedule fix.
    (unsafe_task,) = [t for t in doc["waiting_tasks"] if t["dag_id"] == "unsafe_dag"]
    assert unsafe_task["slot_seconds_per_run_after_fix"] == 60
    text = _capacity(tmp_path, fmt="text")
    assert (
        "slot-seconds per run: 1,800 now, 60 after the fix (reschedule), 20 if it could defer"
        in (text)
    )
    assert "  given back by the safe fixes:          0.49   deferaudit fix --apply" in text
    assert "  given back by the unsafe fixes:        0.48" in text
    assert "  needs a human (no fix proposed):       0.49" in text


BOUNDED = {
    # Hourly, a 7-day timeout, max_active_runs=3: no more than 3 runs wait at once, so each
    # run counts at most 3 x 86,400 / 24 = 10,800 s of wait.
    "capped.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("capped", schedule="@hourly", max_active_runs=3):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=604800)
        """,
    # The same without max_active_runs: [core] max_active_runs_per_dag bounds it.
    "deployment.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("deployment", schedule="@hourly"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=604800)
        """,
    # A timeout under the bound: the timeout bounds it (1 h a run).
    "timed.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("timed", schedule="@hourly"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=3600)
        """,
}


def test_the_worst_case_is_bounded_by_max_active_runs_and_says_so(tmp_path: Path) -> None:
    _write(tmp_path, BOUNDED)
    worst = {
        t["dag_id"]: (t["worst_case_waste_slot_hours_per_day"], t["worst_case_bound"])
        for t in _capacity(tmp_path)["waiting_tasks"]
    }
    # 24 runs a day x (10,800 - 20) s / 3,600 (7 days a run would be 4,031.87 a day).
    assert worst["capped"] == (pytest.approx(24 * (10800 - DEFERRED) / 3600), "max_active_runs=3")
    # Airflow's default [core] max_active_runs_per_dag, 16: 16 x 86,400 / 24 = 57,600 s a run.
    assert worst["deployment"] == (
        pytest.approx(24 * (57600 - DEFERRED) / 3600),
        "max_active_runs=16",
    )
    assert worst["timed"] == (pytest.approx(24 * (3600 - DEFERRED) / 3600), "timeout 1h")
    # The deployment's own setting, from airflow.cfg: 2 runs at once, 7,200 s a run.
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("[core]\nmax_active_runs_per_dag = 2\n")
    doc = _capacity(tmp_path, "--airflow-cfg", str(cfg))
    by_dag = {t["dag_id"]: t for t in doc["waiting_tasks"]}
    assert by_dag["deployment"]["worst_case_waste_slot_hours_per_day"] == pytest.approx(
        24 * (7200 - DEFERRED) / 3600
    )
    assert by_dag["deployment"]["worst_case_bound"] == "max_active_runs=2"
    assert (
        "airflow.cfg [core] max_active_runs_per_dag"
        in (by_dag["deployment"]["assumptions"]["max_active_runs"]["detail"])
    )
    # The DAG's own max_active_runs still wins over the deployment's.
    assert by_dag["capped"]["worst_case_bound"] == "max_active_runs=3"
    capacity = doc["capacity"]
    assert capacity["worst_case_bounds"] == {"max_active_runs": 2, "timeout": 1}
    assert capacity["worst_case_waste_slot_hours_per_day"] == pytest.approx(
        24 * ((10800 - DEFERRED) + (7200 - DEFERRED) + (3600 - DEFERRED)) / 3600, abs=1e-3
    )
    text = _capacity(tmp_path, "--airflow-cfg", str(cfg), fmt="text")
    assert "(worst case 71.87, bounded by max_active_runs=3)" in text
    assert "(worst case 23.87, bounded by timeout 1h)" in text
    assert "    bounded by max_active_runs (runs of a DAG at once): 2 tasks; a timeout: 1 task" in (
        text
    )


QUEUED = {
    # Three sensors on queue "etl" that all start at 00:00, and one on the default queue.
    "etl.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("etl", schedule="@daily"):
            for name in ["a", "b", "c"]:
                S3KeySensor(
                    task_id=f"wait_{name}", bucket_key="s3://b/k", mode="poke", timeout=3600,
                    queue="etl",
                )
        """,
    "plain.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("plain", schedule="@daily"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=3600)
        """,
}


def test_two_queues_with_queues_enabled_get_triggerers_each(tmp_path: Path) -> None:
    _write(tmp_path, QUEUED)
    cfg = tmp_path / "airflow.cfg"
    # A capacity of 2 triggers a triggerer: usable 2 x 0.8 = 1.6 triggers each.
    cfg.write_text("[triggerer]\nqueues_enabled = True\ncapacity = 2\n")
    capacity = _capacity(tmp_path, "--airflow-cfg", str(cfg))["capacity"]
    assert capacity["queues_enabled"] is True
    # default: 1 trigger at once -> max(1, ceil(1 / 1.6)) = 1, + 1 spare = 2.
    # etl: 3 triggers at once (00:00-00:30) -> ceil(3 / 1.6) = 2, + 1 spare = 3.
    assert [
        (q["queue"], q["waiting_tasks"], q["peak_triggers"], q["triggerers"])
        for q in capacity["queues"]
    ] == [("default", 1, 1, 2), ("etl", 3, 3, 3)]
    settings = capacity["settings"]
    assert settings["triggerer_commands"] == [
        "2 x: airflow triggerer --queues default --capacity 2",
        "3 x: airflow triggerer --queues etl --capacity 2",
    ]
    assert "queues_enabled = True" in settings["airflow_cfg"]
    assert "AIRFLOW__TRIGGERER__QUEUES_ENABLED=True" in settings["environment"]
    # Composer counts every triggerer: 2 + 3.
    assert (
        '{"config": {"workloadsConfig": {"triggerer": {"count": 5}}}}' in (settings["composer"][1])
    )
    # The same from the environment, with another default queue name.
    os.environ["AIRFLOW__TRIGGERER__QUEUES_ENABLED"] = "true"
    os.environ["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] = "celery"
    try:
        capacity = _capacity(tmp_path, "--triggerer-capacity", "2")["capacity"]
    finally:
        del os.environ["AIRFLOW__TRIGGERER__QUEUES_ENABLED"]
        del os.environ["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    assert [q["queue"] for q in capacity["queues"]] == ["celery", "etl"]


def test_queues_without_queues_enabled_size_one_pool_and_show_the_split(tmp_path: Path) -> None:
    _write(tmp_path, QUEUED)
    capacity = _capacity(tmp_path, "--triggerer-capacity", "2")["capacity"]
    assert capacity["queues_enabled"] is False
    # One pool: 4 triggers at 00:00 -> ceil(4 / 1.6) = 3, + 1 spare = 4, one command.
    assert capacity["triggerers"] == 4
    assert capacity["settings"]["triggerer_commands"] == ["4 x: airflow triggerer --capacity 2"]
    # The tasks name a queue of their own: the split is shown, for if queues were enabled.
    assert [q["queue"] for q in capacity["queues"]] == ["default", "etl"]
    text = _capacity(tmp_path, "--triggerer-capacity", "2", fmt="text")
    assert "  per task queue, if [triggerer] queues_enabled were set" in text


FACTORY = {
    # One call makes two tasks: they share the call's place (line 11), not their fixes.
    "fact.py": """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


        def make_waits(prefix):
            S3KeySensor(task_id=f"{prefix}_a", bucket_key="s3://b/a", mode="poke", timeout=3600)
            S3KeySensor(task_id=f"{prefix}_b", bucket_key="s3://b/b", deferrable=False, timeout=3600)


        with DAG("fact", schedule="@daily"):
            make_waits("x")
        """,
}


def test_tasks_one_call_makes_keep_their_own_costs_and_verdicts(tmp_path: Path) -> None:
    _write(tmp_path, FACTORY)
    old = Path.cwd()
    try:
        os.chdir(tmp_path)
        result = CliRunner().invoke(main, ["scan", "dags", "--no-cache", "--format", "json"])
    finally:
        os.chdir(old)
    doc = json.loads(result.output)
    costs = {f["task_id"]: f["cost"] for f in doc["findings"]}
    # x_a's fix makes it deferrable; x_b opts out and keeps poking: no fix reaches it.
    assert (costs["x_a"]["mode_after_fix"], costs["x_b"]["mode_after_fix"]) == (
        "deferrable",
        "poke",
    )
    assert costs["x_b"]["recovered_slot_hours_per_day"] == 0
    ranked = [(t["line"], t["task_ids"], t["verdict"]) for t in doc["fix_first"]["tasks"]]
    # 1,780 / 3,600 each: a tie, broken by the verdict's name.
    assert ranked == [(11, ["x_b"], "needs-human"), (11, ["x_a"], "safe")]
    assert doc["capacity"]["recovered_slot_hours_per_day"] == pytest.approx(
        (1800 - DEFERRED) / 3600, abs=1e-4
    )


def test_where_the_numbers_go_for_astro_and_composer() -> None:
    from deferaudit.cost.where_to_set import QueueTriggerers, placement

    one_pool = placement(1000, 12, [], False)
    # Astro takes Airflow settings as Deployment environment variables; it documents no
    # triggerer count, so none is written.
    assert one_pool.astronomer[0] == (
        "astro deployment variable create --deployment-id <DEPLOYMENT_ID> "
        "AIRFLOW__TRIGGERER__CAPACITY=1000"
    )
    assert not any("count" in line and "=" in line for line in one_pool.astronomer[1:])
    # Composer allows at most 10 triggerers: 12 are capped, and the cap is said.
    assert one_pool.composer[1] == '  {"config": {"workloadsConfig": {"triggerer": {"count": 10}}}}'
    assert "12 needed, but Composer allows at most 10" in one_pool.composer[2]
    # CPU and memory per triggerer are not sized: no evidence of what a trigger uses.
    assert one_pool.composer[-1].startswith("  (triggerer.cpu and triggerer.memoryGb")
    assert "does not measure what a trigger uses" in one_pool.composer[-1]
    assert one_pool.commands == ("12 x: airflow triggerer --capacity 1000",)
    queued = placement(500, 0, [QueueTriggerers("etl", 2), QueueTriggerers("ml team", 3)], True)
    assert queued.commands == (
        "2 x: airflow triggerer --queues etl --capacity 500",
        "3 x: airflow triggerer --queues 'ml team' --capacity 500",
    )
    assert queued.astronomer[:2] == (
        "astro deployment variable create --deployment-id <DEPLOYMENT_ID> "
        "AIRFLOW__TRIGGERER__CAPACITY=500",
        "astro deployment variable create --deployment-id <DEPLOYMENT_ID> "
        "AIRFLOW__TRIGGERER__QUEUES_ENABLED=True",
    )
    assert queued.helm_values[2] == "  replicas: 2"
    assert any("one triggerer Deployment" in note for note in queued.notes)
