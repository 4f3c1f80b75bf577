"""The history tests of SQLite and PostgreSQL, run word for word on a real MySQL-compatible
server (MariaDB) with the schema that the real Airflow 3.3 created: the same hand-computed
figures from the same rows, measured alone and joined with the scan (the `dags` and `ran`
fixtures come with the join tests; the two below point the others at MySQL)."""

from __future__ import annotations

import pytest

from tests.history.test_command import (  # noqa: F401
    test_an_empty_window_is_a_note_and_exit_1,
    test_an_unknown_alembic_revision_is_named,
    test_the_command_prints_the_measured_tasks_as_json,
)
from tests.history.test_compare import test_the_slot_time_before_and_after_per_task  # noqa: F401
from tests.history.test_join import (  # noqa: F401
    dags,
    ran,
    test_an_empty_window_leaves_every_wait_assumed,
    test_measured_waits_and_runs_per_day_replace_the_assumed_ones,
    test_scan_findings_carry_the_measured_cost,
    test_the_join_reads_the_schemas_of_airflow_2_and_3,
    test_the_tasks_on_one_side_only_are_listed,
    test_the_text_summary_says_what_was_measured_and_what_was_not,
)
from tests.history.test_measure import (  # noqa: F401
    test_a_deferred_sensor_holds_a_slot_only_on_the_worker,
    test_a_poke_sensor_waiting_20_minutes_in_24_runs,
    test_a_reschedule_sensor_with_12_pokes_of_5_seconds,
    test_a_retried_run_sums_its_tries,
    test_an_earlier_try_in_the_window_counts_when_the_last_is_outside,
    test_an_empty_window_measures_no_task,
    test_mapped_instances_fold_into_one_task_and_percentiles_interpolate,
    test_the_window_keeps_only_runs_that_started_in_it,
    test_with_the_log_pruned_pokes_come_from_task_reschedule,
)
from tests.history.test_timeline import test_the_concurrency_timeline  # noqa: F401


@pytest.fixture(params=["mysql-3.3", "mysql-2.10"])
def any_schema_url(request: pytest.FixtureRequest) -> str:
    """The schemas of Airflow 3.3 and Airflow 2.10, each migrated by that Airflow."""
    return request.getfixturevalue("mysql2_url" if request.param == "mysql-2.10" else "mysql_url")


@pytest.fixture
def database_url(mysql_url: str) -> str:
    return mysql_url
