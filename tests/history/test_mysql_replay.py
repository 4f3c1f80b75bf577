"""The replay tests (history/replay.py: the real waits of chosen tasks replayed in SQL, and
`capacity --history` sizing triggerers from them), run word for word on a real MariaDB with
the schemas that Airflow 3.3 and 2.10 migrated."""

from __future__ import annotations

import pytest

from tests.history.test_replay import (  # noqa: F401
    test_a_poke_mode_wait_holds_one_trigger_and_one_slot_from_start_to_end,
    test_presence_is_each_dags_first_run_and_the_last_moment_with_data,
    test_safe_and_proposed_fixes_and_the_deferrals_already_in_the_triggerer,
    test_three_reschedule_waits_overlapping_two_at_a_time_peak_at_two,
    test_waits_cut_at_the_window_count_only_their_time_inside_it,
)
from tests.history.test_replay_plan import (  # noqa: F401
    dags,
    overlapping,
    test_a_dag_whose_runs_start_10_days_into_the_window_is_priced_over_20_days,
    test_the_text_plan_names_the_source_of_each_figure,
    test_triggerers_are_sized_from_the_replayed_waits,
)


@pytest.fixture(params=["mysql-3.3", "mysql-2.10"])
def any_schema_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("mysql2_url" if request.param == "mysql-2.10" else "mysql_url")


@pytest.fixture
def database_url(mysql_url: str) -> str:
    return mysql_url
