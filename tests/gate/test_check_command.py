"""`deferaudit check` and `deferaudit baseline` in real git repositories."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from gitrepo import CLEAN, FIXED, POKE, Repo, run_cli

from deferaudit.gate import Baseline

BASELINE = ".deferaudit-baseline.json"
SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)


def take(repo: Repo, *extra: str) -> None:
    result = repo.deferaudit("baseline", "dags", "-o", BASELINE, *FIXED, *extra)
    assert result.exit_code == 0, result.output
    repo.commit("baseline")


def check(repo: Repo, *extra: str):
    return repo.deferaudit("check", "dags", "--baseline", BASELINE, *FIXED, *extra)


@pytest.fixture
def adopted(repo: Repo) -> Repo:
    """A folder with old findings, and the baseline taken of them."""
    repo.write("dags/orders.py", POKE.format(dag="orders", task="wait_for_orders"))
    repo.write("dags/refunds.py", POKE.format(dag="refunds", task="wait_for_refunds"))
    repo.commit("old DAGs")
    take(repo)
    return repo


def test_baseline_lists_every_current_finding_without_line_numbers(adopted: Repo) -> None:
    doc = json.loads((adopted.root / BASELINE).read_text())
    assert doc["schema"] == "deferaudit-baseline/1"
    assert [
        (e["path"], e["rule"], e["dag_id"], e["task_id"], e["count"]) for e in doc["entries"]
    ] == [
        ("dags/orders.py", "DA101", "orders", "wait_for_orders", 1),
        ("dags/refunds.py", "DA101", "refunds", "wait_for_refunds", 1),
    ]
    assert all(len(e["call"]) == 16 for e in doc["entries"])
    assert "line" not in json.dumps(doc["entries"])


def test_a_folder_matching_its_baseline_passes(adopted: Repo) -> None:
    result = check(adopted)
    assert result.exit_code == 0, result.output
    assert "Passed: no new findings." in result.output
    assert "2 known from the baseline" in result.output


def test_an_edit_that_moves_and_reformats_the_call_still_passes(adopted: Repo) -> None:
    adopted.write(
        "dags/orders.py",
        '''
"""Orders: wait for the nightly export."""
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

OWNER = "data-eng"  # new lines above the task move it down


with DAG("orders", schedule="@daily"):
    S3KeySensor(
        timeout=600,  # ten minutes
        bucket_key='s3://bucket/wait_for_orders',
        task_id='wait_for_orders',
    )
''',
    )
    adopted.commit("unrelated edit")
    result = check(adopted)
    assert result.exit_code == 0, result.output
    assert "Passed: no new findings." in result.output


def test_a_new_poke_sensor_fails_and_is_reported_once(adopted: Repo) -> None:
    adopted.write(
        "dags/orders.py",
        POKE.format(dag="orders", task="wait_for_orders")
        + '    S3KeySensor(task_id="wait_for_audit", bucket_key="s3://bucket/audit", timeout=60)\n',
    )
    adopted.commit("new sensor")
    result = check(adopted)
    assert result.exit_code == 1, result.output
    reported = [line for line in result.output.splitlines() if ": DA101 " in line]
    assert reported == [reported[0]] and reported[0].startswith("dags/orders.py:6:5: DA101")
    assert "Failed: 1 new finding; 1 failing on any new finding." in result.output


def test_an_edited_argument_of_a_known_task_is_not_new(adopted: Repo) -> None:
    adopted.write(
        "dags/orders.py", POKE.format(dag="orders", task="wait_for_orders").replace("600", "900")
    )
    result = check(adopted)
    assert result.exit_code == 0, result.output


def test_a_second_identical_task_counts_past_its_entry(adopted: Repo) -> None:
    # Same rule, DAG, task id and call: one entry covers one finding, the second is new.
    text = POKE.format(dag="orders", task="wait_for_orders")
    adopted.write("dags/orders.py", text + text.splitlines()[-1] + "\n")
    result = check(adopted)
    assert result.exit_code == 1
    assert result.output.count(": DA101 ") == 1


def test_ratchet_drops_a_fixed_finding_and_never_adds(adopted: Repo) -> None:
    adopted.write("dags/refunds.py", CLEAN.format(dag="refunds", task="wait_for_refunds"))
    adopted.write("dags/audit.py", POKE.format(dag="audit", task="wait_for_audit"))
    result = check(adopted, "--update-baseline")
    assert result.exit_code == 1  # the new audit sensor still fails the check
    assert "1 baseline entry no longer occurs: dropped from the baseline" in result.output
    updated = Baseline.load(adopted.root / BASELINE)
    assert [(k.path, k.task_id) for k in updated.entries] == [("dags/orders.py", "wait_for_orders")]
    # The rewritten file still says which Airflow it was judged against, and why.
    assert '"target_airflow": {"version": ' in (adopted.root / BASELINE).read_text()
    # Once the entry is gone, the finding is new again if it comes back.
    adopted.write("dags/refunds.py", POKE.format(dag="refunds", task="wait_for_refunds"))
    (adopted.root / "dags/audit.py").unlink()
    again = check(adopted)
    assert again.exit_code == 1 and "dags/refunds.py" in again.output


def test_check_without_update_only_reports_gone_entries(adopted: Repo) -> None:
    before = (adopted.root / BASELINE).read_text()
    (adopted.root / "dags/refunds.py").unlink()
    result = check(adopted)
    assert result.exit_code == 0
    assert (
        "1 baseline entry no longer occurs (`deferaudit check --update-baseline`" in result.output
    )
    assert (adopted.root / BASELINE).read_text() == before


def test_a_renamed_file_keeps_its_entries(adopted: Repo) -> None:
    adopted.git("mv", "dags/orders.py", "dags/orders_v2.py")
    adopted.commit("rename")
    result = check(adopted, "--update-baseline")
    assert result.exit_code == 0, result.output
    assert "no longer occur" not in result.output
    paths = sorted(k.path for k in Baseline.load(adopted.root / BASELINE).entries)
    assert paths == ["dags/orders_v2.py", "dags/refunds.py"]


def test_changed_since_checks_only_the_branch_changes(adopted: Repo) -> None:
    # On main, after the baseline: a finding the baseline does not know, in a file the branch
    # does not touch (a full check fails on it; the pull request check must not).
    adopted.write("dags/legacy.py", POKE.format(dag="legacy", task="wait_for_legacy"))
    adopted.commit("legacy on main")
    adopted.git("checkout", "-q", "-b", "feature")
    adopted.write("dags/audit.py", POKE.format(dag="audit", task="wait_for_audit"))
    adopted.write(
        "dags/orders.py", "# touched\n" + POKE.format(dag="orders", task="wait_for_orders")
    )
    adopted.commit("feature work")
    result = check(adopted, "--changed-since", "main")
    assert result.exit_code == 1
    reported = [line.split(":")[0] for line in result.output.splitlines() if ": DA101 " in line]
    assert reported == ["dags/audit.py"]
    assert "Checked 2 files changed since main" in result.output
    full = check(adopted)
    assert {line.split(":")[0] for line in full.output.splitlines() if ": DA101 " in line} == {
        "dags/audit.py",
        "dags/legacy.py",
    }


def test_changed_since_follows_a_rename_on_the_branch(adopted: Repo) -> None:
    adopted.git("checkout", "-q", "-b", "feature")
    adopted.git("mv", "dags/refunds.py", "dags/refunds_daily.py")
    adopted.commit("rename")
    result = check(adopted, "--changed-since", "main", "--update-baseline")
    assert result.exit_code == 0, result.output
    assert "Checked 1 file changed since main" in result.output
    paths = sorted(k.path for k in Baseline.load(adopted.root / BASELINE).entries)
    assert paths == ["dags/orders.py", "dags/refunds_daily.py"]


def test_changed_since_reads_a_custom_sensor_from_an_unchanged_file(repo: Repo) -> None:
    repo.write(
        "dags/common/sensors.py",
        '''
from airflow.sdk import BaseSensorOperator


class PartnerFileSensor(BaseSensorOperator):
    """Pokes the partner's SFTP; it cannot defer."""

    def poke(self, context):
        return True
''',
    )
    repo.write("dags/__init__.py", "")
    repo.commit("shared sensor")
    take(repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        "dags/partner.py",
        """
from airflow.sdk import DAG
from common.sensors import PartnerFileSensor

with DAG("partner", schedule="@daily"):
    PartnerFileSensor(task_id="wait_for_partner_file", timeout=600)
""",
    )
    repo.commit("use it")
    result = check(repo, "--changed-since", "main")
    assert result.exit_code == 1
    assert "dags/partner.py:5:5: DA105 [poke-no-deferrable] `PartnerFileSensor`" in result.output
    assert "Checked 1 file changed since main" in result.output


def test_changed_since_with_a_warm_cache_gives_the_cold_answer(adopted: Repo) -> None:
    adopted.git("checkout", "-q", "-b", "feature")
    adopted.write("dags/audit.py", POKE.format(dag="audit", task="wait_for_audit"))
    adopted.commit("audit")
    args = ("check", "dags", "--baseline", BASELINE, "--target-airflow", "3.3", "--format", "json")
    cold = adopted.deferaudit(*args, "--changed-since", "main")
    warm = adopted.deferaudit(*args, "--changed-since", "main")
    full_warm = adopted.deferaudit(*args)
    assert (adopted.root / ".deferaudit_cache").is_dir()
    assert cold.exit_code == warm.exit_code == full_warm.exit_code == 1
    assert json.loads(cold.stdout)["findings"] == json.loads(warm.stdout)["findings"]
    assert json.loads(full_warm.stdout)["findings"] == json.loads(cold.stdout)["findings"]


def test_fail_on_severity_and_rule_codes(adopted: Repo) -> None:
    # DA108 (info): a sensor relying on the 7-day default timeout.
    adopted.write(
        "dags/audit.py",
        CLEAN.format(dag="audit", task="wait_for_audit").replace(", timeout=600", ""),
    )
    assert check(adopted).exit_code == 1
    assert check(adopted, "--fail-on", "warning").exit_code == 0
    assert check(adopted, "--fail-on", "error,DA108").exit_code == 1
    assert check(adopted, "--fail-on", "DA1").exit_code == 1
    assert check(adopted, "--fail-on", "info").exit_code == 1
    passed = check(adopted, "--fail-on", "error")
    assert passed.exit_code == 0
    assert "Passed: 1 new finding, none failing on severity error." in passed.output


def test_max_new_waste_hours_fails_only_above_the_threshold(adopted: Repo) -> None:
    # One @daily poke sensor: the default 30 min wait is capped by its timeout (600 s), and
    # deferring costs two 10 s task starts: (600 - 20) s a day = 0.16 slot-hours.
    adopted.write("dags/audit.py", POKE.format(dag="audit", task="wait_for_audit"))
    under = check(adopted, "--max-new-waste-hours", "1.5")
    assert under.exit_code == 0, under.output
    assert "New waste: 0.16 worker-slot hours a day (limit 1.5)." in under.output
    over = check(adopted, "--max-new-waste-hours", "0.15")
    assert over.exit_code == 1
    assert "the new waste is over the limit" in over.output
    both = check(adopted, "--max-new-waste-hours", "1.5", "--fail-on", "warning")
    assert both.exit_code == 1


def test_require_reason_makes_a_bare_suppression_a_finding(repo: Repo) -> None:
    repo.write(
        "dags/orders.py",
        POKE.format(dag="orders", task="wait_for_orders").rstrip("\n")
        + "  # deferaudit: ignore[DA101]\n",
    )
    repo.commit("suppressed without a reason")
    take(repo)
    assert check(repo).exit_code == 0
    result = check(repo, "--require-reason")
    assert result.exit_code == 1
    assert "DA002 [suppression-without-reason] `# deferaudit: ignore[DA101]` gives no reason" in (
        result.output
    )
    repo.write(
        "dags/orders.py",
        POKE.format(dag="orders", task="wait_for_orders").rstrip("\n")
        + "  # deferaudit: ignore[DA101] poke on purpose: sub-minute latency\n",
    )
    assert check(repo, "--require-reason").exit_code == 0


def test_require_reason_findings_can_be_baselined(repo: Repo) -> None:
    repo.write(
        "dags/orders.py",
        POKE.format(dag="orders", task="wait_for_orders").rstrip("\n") + "  # deferaudit: ignore\n",
    )
    repo.commit("old suppression")
    take(repo, "--require-reason")
    assert check(repo, "--require-reason").exit_code == 0


def test_no_baseline_means_every_finding_is_new(adopted: Repo) -> None:
    result = adopted.deferaudit("check", "dags", *FIXED)
    assert result.exit_code == 1
    assert result.output.count(": DA101 ") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--changed-since", "no-such-branch"), "--changed-since no-such-branch: no such commit"),
        (("--fail-on", "loud"), "--fail-on 'loud': not a severity"),
        (("--baseline", "missing.json"), "--baseline missing.json: no such file"),
        (("--update-baseline",), "--update-baseline needs --baseline FILE"),
        (("--max-new-waste-hours", "-1"), "--max-new-waste-hours must be 0 or more"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    adopted: Repo, args: tuple[str, ...], message: str
) -> None:
    base = () if "--baseline" in args else ("--baseline", BASELINE)
    if args == ("--update-baseline",):
        base = ()
    result = adopted.deferaudit("check", "dags", *base, *FIXED, *args)
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"deferaudit: error: {message}")
    assert len(result.output.strip().splitlines()) == 1


def test_a_broken_baseline_file_is_a_usage_error(adopted: Repo) -> None:
    (adopted.root / BASELINE).write_text('{"schema": "something-else"}')
    result = check(adopted)
    assert result.exit_code == 2
    assert "not a deferaudit baseline" in result.output


def test_changed_since_outside_a_repository_is_a_usage_error(tmp_path) -> None:

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags/a.py").write_text(POKE.format(dag="a", task="w"))
    result = run_cli(tmp_path, "check", "dags", "--changed-since", "main", *FIXED)
    assert result.exit_code == 2
    assert "--changed-since needs a git repository" in result.output


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab", "html"])
def test_a_new_finding_is_reported_once_in_every_format(adopted: Repo, fmt: str) -> None:
    adopted.write("dags/audit.py", POKE.format(dag="audit", task="wait_for_audit"))
    result = check(adopted, "--format", fmt)
    assert result.exit_code == 1
    out = result.stdout
    if fmt == "text":
        found = [line for line in out.splitlines() if ": DA" in line]
        assert found == [f"dags/audit.py:5:5: DA101 {found[0].split(' DA101 ')[1]}"]
    elif fmt == "json":
        doc = json.loads(out)
        jsonschema.validate(doc, SCHEMA)
        assert [(f["path"], f["task_id"], f["fails_check"]) for f in doc["findings"]] == [
            ("dags/audit.py", "wait_for_audit", True)
        ]
        assert doc["gate"]["passed"] is False and doc["gate"]["known"] == 2
    elif fmt == "sarif":
        (run,) = json.loads(out)["runs"]
        assert [
            (
                r["ruleId"],
                r["baselineState"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in run["results"]
        ] == [("DA101", "new", 5)]
    elif fmt == "github":
        assert out.count("\n") == 1 and out.startswith("::warning file=dags/audit.py,line=5,")
    elif fmt == "html":
        assert out.startswith("<!DOCTYPE html>") or out.lstrip().lower().startswith(
            "<!doctype html>"
        )
        assert "wait_for_audit" in out
    else:
        issues = json.loads(out)
        assert [(i["check_name"], i["location"]["path"]) for i in issues] == [
            ("DA101 poke-sensor", "dags/audit.py")
        ]
    if fmt != "text":
        assert "Failed: 1 new finding" in result.stderr


def test_the_ratchet_keeps_entries_of_rules_that_did_not_run(adopted: Repo) -> None:
    result = check(adopted, "--select", "DA108", "--update-baseline")
    assert result.exit_code == 0, result.output
    assert "no longer occur" not in result.output
    assert Baseline.load(adopted.root / BASELINE).total == 2


def test_require_reason_from_the_config(repo: Repo) -> None:
    repo.write("pyproject.toml", "[tool.deferaudit]\nrequire-reason = true\n")
    repo.write(
        "dags/orders.py",
        POKE.format(dag="orders", task="wait_for_orders").rstrip("\n") + "  # deferaudit: ignore\n",
    )
    result = repo.deferaudit("check", "dags", *FIXED)
    assert result.exit_code == 1
    assert (
        "DA002 [suppression-without-reason] `# deferaudit: ignore` gives no reason" in result.output
    )
    assert repo.deferaudit("check", "dags", *FIXED, "--no-require-reason").exit_code == 0
