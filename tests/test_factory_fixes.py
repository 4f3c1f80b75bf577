"""Fixes of tasks built by a factory function or a wrapper class in another file of the project.

The fixture ``tests/fixtures/factory_repo`` is a repository as a team writes it: a ``helpers``
package at the root (``helpers/sensors.py``: two sensor factories; ``helpers/emr.py``: a
``SparkStep`` wrapper class that adds an EMR step and builds the sensor that watches it) and
three DAG files that call them. Read by hand:

- ``wait_for_export(table, **kwargs)`` builds an ``S3KeySensor`` (poke mode, the default) at
  helpers/sensors.py line 11; called from dags/orders.py:8, dags/users.py:8 and
  dags/events.py:8, the last with ``mode="reschedule"``: DA101 at the first two, DA102 at the
  third. One edit of the factory (``deferrable=True``) would change all three, the chosen
  reschedule one included: unsafe, and the DA102 finding itself gets no fix (its call gives
  ``mode``, as for a factory of the DAG file itself).
- ``wait_for_upstream(dag_id)`` builds an ``ExternalTaskSensor`` with ``mode="poke"`` written
  in the factory (line 23); called from dags/orders.py:9 and dags/events.py:9 with the DAG id
  only: DA101 at both, one safe fix replacing ``mode="poke"`` in the factory.
- ``SparkStep(name, script)`` builds an ``EmrAddStepsOperator`` (it does not wait: no
  finding) and an ``EmrStepSensor`` (line 22, poke mode, no timeout); built at dags/orders.py:10
  and dags/users.py:9: DA101 (one safe fix adding ``deferrable=True`` in the class) and DA108
  (no timeout; no fix) at both.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from deferaudit.rules.factory_fix import owned_by_project

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))
FIXTURE = Path(__file__).parent / "fixtures" / "factory_repo"
TARGET = ["--target-airflow", "3.3", "--no-cache"]

SENSORS_AFTER = '''\
"""Sensors the team's DAGs share."""

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

LANDING_BUCKET = "acme-landing"


def wait_for_export(table, **kwargs):
    """Wait for the day's export of ``table`` to land in the landing bucket."""
    return S3KeySensor(
        task_id=f"wait_for_{table}_export",
        bucket_name=LANDING_BUCKET,
        bucket_key=f"exports/{table}/{{{{ ds }}}}/_SUCCESS",
        poke_interval=300,
        timeout=6 * 60 * 60,
        **kwargs,
        deferrable=True,
    )


def wait_for_upstream(dag_id):
    """Wait for another team's DAG run of the same logical date to finish."""
    return ExternalTaskSensor(
        task_id=f"wait_for_{dag_id}",
        external_dag_id=dag_id,
        external_task_id=None,
        deferrable=True,
        timeout=3600,
    )
'''
EMR_WATCH_AFTER = """\
        self.watch = EmrStepSensor(
            task_id=f"{name}_watch_step",
            job_flow_id=CLUSTER_ID,
            step_id="{{ ti.xcom_pull(task_ids='" + name + "_add_step')[0] }}",
            deferrable=True,
        )
"""


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    (repo / ".git").mkdir()  # the project root, as a checkout has it
    return repo


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEFERAUDIT, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _scan(repo: Path, *extra: str) -> dict:
    done = _run(repo, "scan", "dags", "--format", "json", *TARGET, *extra)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _by_place(doc: dict) -> dict[tuple[str, int, str], dict]:
    return {(f["path"], f["line"], f["rule"]): f for f in doc["findings"]}


# The fix each finding carries, written from reading the fixture: (action, safety, edited file).
EXPORT_FIX = ("add-deferrable", "unsafe", "helpers/sensors.py")
UPSTREAM_FIX = ("replace-mode-with-deferrable", "safe", "helpers/sensors.py")
WATCH_FIX = ("add-deferrable", "safe", "helpers/emr.py")
EXPECTED = {
    ("dags/events.py", 8, "DA102"): ("wait_for_events_export", "events_hourly", None),
    ("dags/events.py", 9, "DA101"): ("wait_for_tracking", "events_hourly", UPSTREAM_FIX),
    ("dags/orders.py", 8, "DA101"): ("wait_for_orders_export", "orders_daily", EXPORT_FIX),
    ("dags/orders.py", 9, "DA101"): ("wait_for_crm_sync", "orders_daily", UPSTREAM_FIX),
    ("dags/orders.py", 10, "DA101"): ("orders_rollup_watch_step", "orders_daily", WATCH_FIX),
    ("dags/orders.py", 10, "DA108"): ("orders_rollup_watch_step", "orders_daily", None),
    ("dags/users.py", 8, "DA101"): ("wait_for_users_export", "users_daily", EXPORT_FIX),
    ("dags/users.py", 9, "DA101"): ("users_rollup_watch_step", "users_daily", WATCH_FIX),
    ("dags/users.py", 9, "DA108"): ("users_rollup_watch_step", "users_daily", None),
}


def test_findings_and_their_fixes_in_the_helper_files(tmp_path: Path) -> None:
    doc = _scan(_repo(tmp_path))
    found = {
        place: (
            f["task_id"],
            f["dag_id"],
            (f["fix"]["action"], f["fix"]["safety"], f["fix"]["path"]) if f["fix"] else None,
        )
        for place, f in _by_place(doc).items()
    }
    assert found == EXPECTED
    # Every finding of one factory's operator call carries the very same fix.
    fixes = {}
    for f in doc["findings"]:
        if f["fix"]:
            fixes.setdefault((f["built_at"]["path"], f["built_at"]["line"]), set()).add(
                json.dumps(f["fix"], sort_keys=True)
            )
    assert set(fixes) == {
        ("helpers/sensors.py", 11),
        ("helpers/sensors.py", 23),
        ("helpers/emr.py", 22),
    }
    assert all(len(same) == 1 for same in fixes.values())


def test_the_description_names_the_file_the_line_and_the_calls_it_changes(
    tmp_path: Path,
) -> None:
    found = _by_place(_scan(_repo(tmp_path)))
    assert found[("dags/orders.py", 9, "DA101")]["fix"]["description"] == (
        "replace `mode='poke'` with `deferrable=True` in `helpers.sensors.wait_for_upstream`: "
        "edits the `ExternalTaskSensor(...)` call in helpers/sensors.py (line 23) once for all "
        "of its calls, changing the tasks of 2 call sites in 2 files (and of any call the scan "
        "did not see)"
    )
    assert found[("dags/users.py", 9, "DA101")]["fix"]["description"] == (
        "add `deferrable=True` in `helpers.emr.SparkStep`: edits the `EmrStepSensor(...)` call "
        "in helpers/emr.py (line 22) once for all of its calls, changing the tasks of 2 call "
        "sites in 2 files (and of any call the scan did not see)"
    )


def test_a_call_that_gives_mode_makes_the_shared_edit_unsafe_and_says_which(
    tmp_path: Path,
) -> None:
    """dags/events.py:8 passes ``mode="reschedule"`` through ``**kwargs``: the edit of
    ``wait_for_export`` would make that task defer too. The other calls' fix says so (how many
    calls the edit changes, which parameter, where); the call that gives ``mode`` gets no fix
    of its own, as with a factory written in the DAG file."""
    found = _by_place(_scan(_repo(tmp_path)))
    reason = (
        "the edit changes the tasks of all 3 call sites of `helpers.sensors.wait_for_export`, "
        "and 1 of them gives `mode` (mode='reschedule') at dags/events.py:8: `deferrable=True` "
        "written in the factory makes that task defer too, though the call sets `mode` itself"
    )
    for place in (("dags/orders.py", 8, "DA101"), ("dags/users.py", 8, "DA101")):
        assert found[place]["fix"]["unsafe_reasons"] == [reason]
    assert found[("dags/events.py", 8, "DA102")]["fix"] is None


def test_fix_shows_one_diff_of_the_helper_files_and_leaves_the_dags_alone(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    shown = _run(repo, "fix", "dags", *TARGET)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "--- a/helpers/emr.py\n+++ b/helpers/emr.py\n" in out
    assert "--- a/helpers/sensors.py\n+++ b/helpers/sensors.py\n" in out
    assert "a/dags/" not in out
    # The ExternalTaskSensor edit is made once although two findings ask for it; the unsafe
    # S3KeySensor edit is held back.
    assert out.count('-        mode="poke",\n+        deferrable=True,\n') == 1
    assert out.count("+            deferrable=True,\n") == 1
    assert "+        deferrable=True,\n     )" not in out
    assert "Would fix 4 findings in 2 files." in out
    assert "Not fixed: 2 with an unsafe fix (--unsafe-fixes), 3 with no fix." in out


def test_fix_apply_rewrites_each_helper_once_and_a_second_run_has_nothing_left(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    dags_before = {p.name: p.read_bytes() for p in (repo / "dags").iterdir()}
    emr_before = (repo / "helpers" / "emr.py").read_text()
    done = _run(repo, "fix", "dags", "--apply", "--unsafe-fixes", "--no-diff", *TARGET)
    assert done.returncode == 0, done.stderr
    assert "Fixed 6 findings in 2 files." in done.stdout
    assert (repo / "helpers" / "sensors.py").read_text() == SENSORS_AFTER
    emr_after = (repo / "helpers" / "emr.py").read_text()
    assert emr_after == emr_before.replace(
        EMR_WATCH_AFTER.replace("            deferrable=True,\n", ""), EMR_WATCH_AFTER
    )
    assert emr_after.count("deferrable=True") == 1
    for name in ("sensors.py", "emr.py"):
        ast.parse((repo / "helpers" / name).read_text())
    assert {p.name: p.read_bytes() for p in (repo / "dags").iterdir()} == dags_before
    # Every task the factories build now defers: only the EMR sensors' missing timeout is left.
    left = _by_place(_scan(repo))
    assert set(left) == {("dags/orders.py", 10, "DA108"), ("dags/users.py", 9, "DA108")}
    again = _run(repo, "fix", "dags", *TARGET)
    assert "Would fix 0 findings in 0 files." in again.stdout


def test_sarif_replacements_of_a_shared_fix_are_the_same_for_every_finding(
    tmp_path: Path,
) -> None:
    done = _run(_repo(tmp_path), "scan", "dags", "--format", "sarif", *TARGET)
    (run,) = json.loads(done.stdout)["runs"]
    changes: dict[str, list[str]] = {}
    for result in run["results"]:
        for fix in result.get("fixes") or []:
            (change,) = fix["artifactChanges"]
            uri = change["artifactLocation"]["uri"]
            changes.setdefault(uri, []).append(json.dumps(change["replacements"]))
    assert sorted(changes) == ["helpers/emr.py", "helpers/sensors.py"]
    assert len(changes["helpers/emr.py"]) == 2 and len(set(changes["helpers/emr.py"])) == 1
    # Two findings per edit of helpers/sensors.py, two edits.
    assert len(changes["helpers/sensors.py"]) == 4 and len(set(changes["helpers/sensors.py"])) == 2


def test_a_warm_scan_follows_a_change_in_another_dag_file(tmp_path: Path) -> None:
    """Outcomes are cached per file, the shared fix is decided per scan: when only
    dags/events.py changes (its call of ``wait_for_export`` starts giving ``mode``), the
    finding of the unchanged, cached dags/orders.py no longer carries a safe fix."""
    repo = _repo(tmp_path)
    events = repo / "dags" / "events.py"
    chosen = 'sensors.wait_for_export("events", mode="reschedule")'
    events.write_text(events.read_text().replace(chosen, 'sensors.wait_for_export("events")'))
    cached = ["--target-airflow", "3.3", "--cache-dir", str(tmp_path / "cache")]

    def orders_fix() -> dict:
        done = _run(repo, "scan", "dags", "--format", "json", *cached)
        return _by_place(json.loads(done.stdout))[("dags/orders.py", 8, "DA101")]["fix"]

    first = orders_fix()
    assert first["safety"] == "safe"
    assert "changing the tasks of 3 call sites in 3 files" in first["description"]
    assert orders_fix() == first  # warm, nothing changed
    events.write_text(events.read_text().replace('sensors.wait_for_export("events")', chosen))
    fix = orders_fix()
    assert fix["safety"] == "unsafe"
    assert "gives `mode` (mode='reschedule') at dags/events.py:8" in fix["unsafe_reasons"][0]


# ------------------------------------------------------------------ when there is no shared fix

DEFERRABLE_GIVEN = """\
from airflow.sdk import DAG
from helpers.sensors import wait_for_export

with DAG("late", schedule="@daily"):
    wait_for_export("late", deferrable=False)
"""


def test_a_call_that_gives_deferrable_withholds_the_edit_and_says_why(tmp_path: Path) -> None:
    """``deferrable=True`` written after ``**kwargs`` would be a TypeError at import for the
    call that passes ``deferrable=False`` ("got multiple values for keyword argument"):
    no edit of the factory for any of its calls."""
    repo = _repo(tmp_path)
    (repo / "dags" / "late.py").write_text(DEFERRABLE_GIVEN)
    found = _by_place(_scan(repo))
    for place in (("dags/orders.py", 8, "DA101"), ("dags/users.py", 8, "DA101")):
        assert found[place]["fix"] is None
        assert found[place]["message"].endswith(
            "; no fix in the factory: `deferrable` is given to `helpers.sensors.wait_for_export`"
            " at dags/late.py:5: `deferrable=True` written in it (helpers/sensors.py, line 11) "
            "would clash with that value (a TypeError at import, or a choice overridden)"
        )
    # The other factories keep their fixes.
    assert found[("dags/orders.py", 9, "DA101")]["fix"]["safety"] == "safe"
    assert found[("dags/late.py", 5, "DA106")]["fix"] is None


def test_a_suppressed_call_makes_the_shared_edit_unsafe(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    users = repo / "dags" / "users.py"
    users.write_text(
        users.read_text().replace(
            'rollup = SparkStep("users_rollup", "s3://acme-jobs/users_rollup.py")',
            'rollup = SparkStep("users_rollup", "s3://acme-jobs/users_rollup.py")'
            "  # deferaudit: ignore[DA101] the step must be watched in its slot",
        )
    )
    found = _by_place(_scan(repo))
    fix = found[("dags/orders.py", 10, "DA101")]["fix"]
    assert fix["safety"] == "unsafe"
    assert fix["unsafe_reasons"] == [
        "a suppression comment keeps the task of the call at dags/users.py:9 as it is, but the "
        "edit in `helpers.emr.SparkStep` changes it too"
    ]


def test_no_edit_of_a_factory_outside_the_project(tmp_path: Path) -> None:
    """A helper found through ``--python-path`` outside the project root (a shared checkout,
    an installed package) is not the project's to edit."""
    repo = _repo(tmp_path)
    outside = tmp_path / "shared"
    shutil.move(str(repo / "helpers"), str(outside / "helpers"))
    found = _by_place(_scan(repo, "--python-path", str(outside)))
    finding = found[("dags/orders.py", 9, "DA101")]
    assert finding["fix"] is None
    assert "which is not the project's own file" in finding["message"]
    assert finding["built_at"]["function"] == "helpers.sensors.wait_for_upstream"


def test_owned_by_project(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    owned = owned_by_project([Path("dags")], repo)
    assert owned("helpers/sensors.py")
    assert owned("dags/orders.py")
    assert not owned("../elsewhere/helpers.py")
    assert not owned(".venv/lib/python3.11/site-packages/team/sensors.py")
    assert not owned(os.path.join(str(tmp_path), "x.py"))


IN_FILE = """\
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


def wait_for(name, **kwargs):
    return S3KeySensor(task_id=f"wait_{name}", bucket_key=f"s3://b/{name}", timeout=600, **kwargs)


with DAG("landing", schedule="@daily"):
    wait_for("orders")
    wait_for("users")
    wait_for("events", deferrable=False)
"""


def test_a_factory_of_the_dag_file_follows_the_same_rule(tmp_path: Path) -> None:
    """Before, the two plain calls got a safe ``deferrable=True`` in ``wait_for`` that failed
    the DAG's import for the third ("got multiple values for keyword argument
    'deferrable'")."""
    repo = tmp_path / "repo"
    (repo / "dags").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "dags" / "landing.py").write_text(IN_FILE)
    found = _by_place(_scan(repo))
    assert [(place, f["fix"]) for place, f in sorted(found.items())] == [
        (("dags/landing.py", 10, "DA101"), None),
        (("dags/landing.py", 11, "DA101"), None),
        (("dags/landing.py", 12, "DA106"), None),
    ]
    done = _run(repo, "fix", "dags", "--apply", "--unsafe-fixes", *TARGET)
    assert done.returncode == 0, done.stderr
    assert (repo / "dags" / "landing.py").read_text() == IN_FILE


# ------------------------------------------------------------------ real Airflow


def test_airflow_loads_the_fixed_dags_with_the_factory_built_sensors_deferrable(
    tmp_path: Path,
) -> None:
    """Airflow 3.3's DagBag loads the DAG folder, with the project root on sys.path (where
    ``helpers`` is) as the deployment has it, before and after ``fix --apply``: the same DAGs,
    tasks and dependencies, no import error, and every sensor the factories build now has
    ``deferrable=True`` (the reschedule one included: the unsafe fix said so); the EMR step
    operator, which does not wait, is left as it was."""
    from deferaudit.verify import load_dags

    repo = _repo(tmp_path)
    files = sorted((repo / "dags").glob("*.py"))
    roots = [repo / "dags", repo]
    before = load_dags(files, roots)
    done = _run(repo, "fix", "dags", "--apply", "--unsafe-fixes", "--no-diff", *TARGET)
    assert done.returncode == 0, done.stderr
    after = load_dags(files, roots)
    sensors = {
        "orders_daily": [
            "orders_rollup_watch_step",
            "wait_for_crm_sync",
            "wait_for_orders_export",
        ],
        "users_daily": ["users_rollup_watch_step", "wait_for_users_export"],
        "events_hourly": ["wait_for_events_export", "wait_for_tracking"],
    }
    for file in files:
        old, new = before[str(file)], after[str(file)]
        assert old["import_errors"] == {} and new["import_errors"] == {}
        assert set(old["dags"]) == set(new["dags"])
        for dag_id, tasks in new["dags"].items():
            assert set(tasks) == set(old["dags"][dag_id])
            for task_id, task in tasks.items():
                assert task["upstream"] == old["dags"][dag_id][task_id]["upstream"]
                if task_id in sensors[dag_id]:
                    assert old["dags"][dag_id][task_id]["deferrable"] is False, task_id
                    assert task["deferrable"] is True, task_id
                else:
                    assert task == old["dags"][dag_id][task_id], task_id
    assert sorted(t for d in after.values() for tasks in d["dags"].values() for t in tasks) == (
        sorted(
            [
                *(t for ts in sensors.values() for t in ts),
                "orders_rollup_add_step",
                "users_rollup_add_step",
            ]
        )
    )


def test_fix_verify_loads_the_dag_files_that_call_the_edited_helpers(tmp_path: Path) -> None:
    """``--verify`` checks an edit of a helper module on the DAG files whose findings it
    fixes (a helper file alone holds no DAG: loading only it would prove nothing)."""
    repo = _repo(tmp_path)
    done = _run(repo, "fix", "dags", "--apply", "--verify", "--no-diff", *TARGET)
    assert done.returncode == 0, done.stderr
    assert "Fixed 4 findings in 2 files." in done.stdout
    assert "Verified in Airflow: 2 files load with the same DAGs and tasks." in done.stdout
    assert "deferrable=True" in (repo / "helpers" / "emr.py").read_text()


def test_fix_verify_restores_a_factory_edit_that_changes_a_task_no_fix_targets(
    tmp_path: Path,
) -> None:
    """With ``--unsafe-fixes`` the ``wait_for_export`` edit also makes the reschedule-mode
    sensor of dags/events.py defer, as its unsafe reason said: Airflow shows that task
    changed, so ``--verify`` puts helpers/sensors.py back byte for byte."""
    repo = _repo(tmp_path)
    done = _run(repo, "fix", "dags", "--apply", "--verify", "--unsafe-fixes", "--no-diff", *TARGET)
    assert done.returncode == 1
    assert (
        "deferaudit: helpers/sensors.py: not written: restored: dags/events.py: "
        "events_hourly.wait_for_events_export: changed though no fix targeted it"
    ) in done.stderr
    assert (repo / "helpers" / "sensors.py").read_bytes() == (
        FIXTURE / "helpers" / "sensors.py"
    ).read_bytes()
    assert "Verified in Airflow: 1 file loads with the same DAGs and tasks." in done.stdout


NESTED = {
    "team/__init__.py": "",
    "team/sensors.py": (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def wait_for_file(name):\n"
        "    return S3KeySensor(task_id=f'wait_{name}', bucket_key=f's3://b/{name}', timeout=60)\n"
    ),
    "team/pipelines.py": (
        "from team.sensors import wait_for_file\n"
        "\n"
        "\n"
        "def ingest(name):\n"
        "    return [wait_for_file(name)]\n"
    ),
    "dags/a.py": (
        "from airflow.sdk import DAG\n"
        "from team.pipelines import ingest\n"
        "\n"
        "with DAG('a', schedule='@daily'):\n"
        "    ingest('orders')\n"
    ),
    "dags/b.py": (
        "from airflow.sdk import DAG\n"
        "from team.pipelines import ingest\n"
        "from team.sensors import wait_for_file\n"
        "\n"
        "with DAG('b', schedule='@daily'):\n"
        "    ingest('users')\n"
        "    wait_for_file('events')\n"
    ),
}


def test_a_factory_reached_through_another_factory_is_edited_once(tmp_path: Path) -> None:
    """``ingest`` (team/pipelines.py) calls ``wait_for_file`` (team/sensors.py), which writes
    the sensor: three call sites in two DAG files (two through ``ingest``, one direct) share
    the one edit of team/sensors.py line 5; the DAG files and pipelines.py stay as they are."""
    repo = tmp_path / "repo"
    for name, text in NESTED.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / ".git").mkdir()
    found = _by_place(_scan(repo))
    assert sorted(found) == [
        ("dags/a.py", 5, "DA101"),
        ("dags/b.py", 6, "DA101"),
        ("dags/b.py", 7, "DA101"),
    ]
    fixes = {json.dumps(f["fix"], sort_keys=True) for f in found.values()}
    assert len(fixes) == 1
    (fix,) = (json.loads(f) for f in fixes)
    assert (fix["safety"], fix["path"]) == ("safe", "team/sensors.py")
    assert fix["description"] == (
        "add `deferrable=True` in `team.sensors.wait_for_file`: edits the `S3KeySensor(...)` "
        "call in team/sensors.py (line 5) once for all of its calls, changing the tasks of 3 "
        "call sites in 2 files (and of any call the scan did not see)"
    )
    done = _run(repo, "fix", "dags", "--apply", "--no-diff", *TARGET)
    assert "Fixed 3 findings in 1 file." in done.stdout, done.stdout + done.stderr
    assert (repo / "team" / "sensors.py").read_text() == NESTED["team/sensors.py"].replace(
        "timeout=60)", "timeout=60, deferrable=True)"
    )
    for name in ("team/pipelines.py", "dags/a.py", "dags/b.py"):
        assert (repo / name).read_text() == NESTED[name]
    assert _scan(repo)["findings"] == []


TIMEOUT_FACTORY = {
    "team/__init__.py": "",
    "team/sensors.py": (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def wait_for(table, timeout=3600):\n"
        "    return S3KeySensor(task_id=f'wait_{table}', bucket_key=f's3://b/{table}', "
        "timeout=timeout)\n"
    ),
    "dags/a.py": (
        "from airflow.sdk import DAG\n"
        "from team.sensors import wait_for\n"
        "\n"
        "with DAG('a', schedule='@daily'):\n"
        "    wait_for('orders')\n"
    ),
    "dags/b.py": (
        "from airflow.sdk import DAG\n"
        "from team.sensors import wait_for\n"
        "\n"
        "with DAG('b', schedule='@daily'):\n"
        "    wait_for('users')\n"
    ),
}


def test_a_timeout_left_to_the_factorys_default_is_not_given_by_the_call(tmp_path: Path) -> None:
    """``timeout=timeout`` in the factory, with a default: a call that leaves it alone gives
    no waiting parameter, so the edit serves both calls (safe); once one call passes its own
    ``timeout``, the edit is unsafe and says which call and value."""
    repo = tmp_path / "repo"
    for name, text in TIMEOUT_FACTORY.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / ".git").mkdir()
    found = _by_place(_scan(repo))
    assert {place: f["fix"]["safety"] for place, f in found.items()} == {
        ("dags/a.py", 5, "DA101"): "safe",
        ("dags/b.py", 5, "DA101"): "safe",
    }
    (repo / "dags" / "b.py").write_text(
        TIMEOUT_FACTORY["dags/b.py"].replace("wait_for('users')", "wait_for('users', 600)")
    )
    found = _by_place(_scan(repo))
    assert found[("dags/b.py", 5, "DA101")]["fix"] is None
    assert found[("dags/a.py", 5, "DA101")]["fix"]["unsafe_reasons"] == [
        "the edit changes the tasks of all 2 call sites of `team.sensors.wait_for`, and 1 of "
        "them gives `timeout` (timeout=600) at dags/b.py:5: `deferrable=True` written in the "
        "factory makes that task defer too, though the call sets `timeout` itself"
    ]


def _committed_then_changed(tmp_path: Path, *changed: str) -> Path:
    repo = _repo(tmp_path)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env, capture_output=True)
    for name in changed:
        with open(repo / name, "a") as handle:
            handle.write("# touched\n")
    return repo


def _checked(repo: Path) -> dict[tuple[str, int, str], dict]:
    done = _run(repo, "check", "dags", "--changed-since", "main", "--format", "json", *TARGET)
    assert done.returncode == 1, done.stderr
    return _by_place(json.loads(done.stdout))


def test_check_changed_since_never_calls_a_factory_edit_safe_from_part_of_its_calls(
    tmp_path: Path,
) -> None:
    # Only dags/users.py changed: its two factory-built tasks are judged alone. SparkStep is
    # also called from dags/orders.py, which this run does not read: the edit of the class
    # would change that task unseen, so it is no longer safe (a full scan finds it safe).
    found = _checked(_committed_then_changed(tmp_path, "dags/users.py"))
    assert set(found) == {
        ("dags/users.py", 8, "DA101"),
        ("dags/users.py", 9, "DA101"),
        ("dags/users.py", 9, "DA108"),
    }
    watch = found[("dags/users.py", 9, "DA101")]["fix"]
    assert (watch["action"], watch["safety"], watch["path"]) == (
        "add-deferrable",
        "unsafe",
        "helpers/emr.py",
    )
    assert watch["unsafe_reasons"] == [
        "this run judged only the changed files and those that use them: 1 other file naming "
        "`helpers.emr.SparkStep` or a function that calls it (dags/orders.py) may call it too, "
        "and the edit would change those tasks unseen (a full scan counts every call)"
    ]
    export = found[("dags/users.py", 8, "DA101")]["fix"]
    assert "2 other files naming `helpers.sensors.wait_for_export`" in export["unsafe_reasons"][-1]
    assert "(dags/events.py, dags/orders.py)" in export["unsafe_reasons"][-1]


def test_check_changed_since_keeps_a_factory_edit_safe_when_every_caller_is_judged(
    tmp_path: Path,
) -> None:
    # Both files that build a SparkStep changed: every call is seen, and its edit is safe as
    # in a full scan.
    found = _checked(_committed_then_changed(tmp_path, "dags/users.py", "dags/orders.py"))
    for place in (("dags/users.py", 9, "DA101"), ("dags/orders.py", 10, "DA101")):
        fix = found[place]["fix"]
        assert (fix["action"], fix["safety"], fix["path"]) == WATCH_FIX
        assert "unsafe_reasons" not in fix
