"""Tasks made in loops: one task site stands for every task its loops make (one finding, one
fix edit), and task counts and costs multiply by how many tasks that is."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.extract.extractor import extract
from deferaudit.fix import plan_fixes
from deferaudit.scan import ScanResult

HEAD = """\
import glob
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

TABLES = ["orders", "users", "items"]

"""


def write_dag(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    path = folder / "loops.py"
    path.write_text(
        HEAD + 'with DAG("loops", schedule="@daily"):\n' + textwrap.indent(body, "    ")
    )
    return folder


def sites(body: str):
    text = HEAD + 'with DAG("loops", schedule="@daily"):\n' + textwrap.indent(body, "    ")
    return extract(text, "dags/loops.py", "loops").tasks


def test_literal_list_loop_is_three_tasks_one_finding_and_three_times_the_cost(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    looped = run_scan(
        write_dag(
            tmp_path,
            'for table in TABLES:\n    S3KeySensor(task_id=f"wait_{table}", bucket_key="k")\n',
        )
    )
    single_dir = tmp_path / "single"
    single_dir.mkdir()
    single = run_scan(write_dag(single_dir, 'S3KeySensor(task_id="wait_one", bucket_key="k")\n'))
    assert looped.task_count == 3
    assert single.task_count == 1
    poke = [f for f in looped.findings if f.rule == "DA101"]
    assert len(poke) == 1  # one call, one finding
    cost = poke[0].cost
    assert cost is not None
    assert cost.map_count == 3
    one = next(f for f in single.findings if f.rule == "DA101").cost
    assert one is not None
    assert cost.waste_slot_hours_per_day == pytest.approx(3 * one.waste_slot_hours_per_day)
    note = next(a for a in cost.assumptions if a.quantity == "map_count")
    assert note.source == "measured"
    assert "3 tasks" in note.detail
    assert "wait_orders, wait_users, wait_items" in note.detail
    # The ranking names the tasks the call makes, not the call's f-string.
    from deferaudit.cost.fix_first import fix_first

    (place,) = fix_first(looped.findings, ["dags"]).tasks
    assert place.task_ids == ("wait_orders", "wait_users", "wait_items")
    assert place.label == "loops.wait_orders (+2 more)"


def test_range_counts_its_length_and_task_ids_fold() -> None:
    (site,) = sites(
        'for i in range(4):\n    S3KeySensor(task_id="part_" + str(i), bucket_key="k")\n'
    )
    assert site.loop is not None
    assert site.loop.count == 4
    assert site.loop.task_ids == ("part_0", "part_1", "part_2", "part_3")
    assert site.repeat == 4


def test_dict_items_loop_substitutes_the_key() -> None:
    (site,) = sites(
        'for name, key in {"a": "s3://a", "b": "s3://b"}.items():\n'
        '    S3KeySensor(task_id="wait_{}".format(name), bucket_key=key)\n'
    )
    assert site.loop is not None
    assert site.loop.count == 2
    assert site.loop.task_ids == ("wait_a", "wait_b")


def test_nested_loops_multiply(tmp_path: Path, run_scan: Callable[..., ScanResult]) -> None:
    body = (
        'for region in ["eu", "us"]:\n'
        "    for table in (1, 2, 3):\n"
        '        S3KeySensor(task_id=f"w_{region}_{table}", bucket_key="k")\n'
    )
    (site,) = sites(body)
    assert site.loop is not None
    assert site.loop.count == 6
    assert site.loop.task_ids[:2] == ("w_eu_1", "w_eu_2")
    assert len(site.loop.task_ids) == 6
    result = run_scan(write_dag(tmp_path, body))
    assert result.task_count == 6
    cost = next(f.cost for f in result.findings if f.rule == "DA101")
    assert cost is not None and cost.map_count == 6


def test_comprehension_over_a_constant_counts_each_element(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    body = 'waits = [S3KeySensor(task_id=f"w_{t}", bucket_key="k") for t in TABLES]\n'
    (site,) = sites(body)
    assert site.loop is not None and site.loop.count == 3
    assert site.loop.task_ids == ("w_orders", "w_users", "w_items")
    assert run_scan(write_dag(tmp_path, body)).task_count == 3


def test_string_concatenation_task_id() -> None:
    (site,) = sites('for t in ("x", "y"):\n    S3KeySensor(task_id="x_" + t, bucket_key="k")\n')
    assert site.loop is not None and site.loop.task_ids == ("x_x", "x_y")


def test_glob_loop_counts_once_and_says_so_in_the_cost(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    body = (
        'for path in glob.glob("/data/*.json"):\n'
        '    S3KeySensor(task_id=f"w_{path}", bucket_key="k")\n'
    )
    result = run_scan(write_dag(tmp_path, body))
    assert result.task_count == 1
    cost = next(f.cost for f in result.findings if f.rule == "DA101")
    assert cost is not None and cost.map_count == 1
    note = next(a for a in cost.assumptions if a.quantity == "map_count")
    assert note.source == "assumed"
    assert "repeat count unknown" in note.detail
    assert "glob.glob" in note.detail


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "for t in TABLES:\n"
            '    if t == "users":\n'
            "        break\n"
            '    S3KeySensor(task_id=f"w_{t}", bucket_key="k")\n',
            "break or continue",
        ),
        (
            "for t in TABLES:\n"
            '    if t != "users":\n'
            '        S3KeySensor(task_id=f"w_{t}", bucket_key="k")\n',
            "condition",
        ),
        (
            'waits = [S3KeySensor(task_id=t, bucket_key="k") for t in TABLES if t]\n',
            "condition",
        ),
        ("def build(tables):\n    for t in tables:\n        S3KeySensor(task_id=t)\n", "`tables`"),
        ("while True:\n    S3KeySensor(task_id='w', bucket_key='k')\n    break\n", "while"),
    ],
)
def test_loops_of_unknown_length_count_once(body: str, why: str) -> None:
    (site,) = sites(body)
    assert site.loop is not None
    assert site.loop.count is None
    assert why in site.loop.detail
    assert site.repeat == 1


def test_a_loop_variable_never_takes_an_earlier_binding() -> None:
    (_, site) = sites(
        't = "early"\nS3KeySensor(task_id=t, bucket_key="k")\n'
        'for t in TABLES:\n    S3KeySensor(task_id=t, bucket_key="k")\n'
    )
    assert site.task_id is not None and not site.task_id.known
    assert site.loop is not None and site.loop.task_ids == ("orders", "users", "items")


def test_fix_edits_a_looped_call_once(tmp_path: Path, run_scan: Callable[..., ScanResult]) -> None:
    folder = write_dag(
        tmp_path,
        'for table in TABLES:\n    S3KeySensor(task_id=f"wait_{table}", bucket_key="k")\n',
    )
    plan = plan_fixes(run_scan(folder), tmp_path)
    (fixed,) = [f for f in plan.files if f.changed]
    assert fixed.after.count("deferrable=True") == 1
    assert 'S3KeySensor(task_id=f"wait_{table}", bucket_key="k", deferrable=True)' in fixed.after
    ast.parse(fixed.after)


def test_a_parameter_shadows_a_module_constant_of_its_name() -> None:
    (site,) = sites(
        'def build(TABLES):\n    for t in TABLES:\n        S3KeySensor(task_id=t, bucket_key="k")\n'
    )
    assert site.loop is not None and site.loop.count is None
