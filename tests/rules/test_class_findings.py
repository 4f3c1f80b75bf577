"""Findings on code rather than on tasks: suppression, stable identities, and the fixes'
descriptions (DA202, DA210) that the codemods carry out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deferaudit.rules.da205_custom_polling import shell_poll
from deferaudit.scan import ScanResult

SENSOR = """
from airflow.sdk import BaseSensorOperator

class InboxSensor(BaseSensorOperator):{comment}
    def poke(self, context):
        return False
"""
OPERATOR = """
{imports}from airflow.sdk import BaseOperator

class ExportOperator(BaseOperator):
    def __init__(self, *, deferrable: bool = {default}, **kwargs):
        super().__init__(**kwargs)
        self.deferrable = deferrable
"""
TRIGGER = """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("somewhere.else.JobTrigger", {})

    async def run(self):
        yield TriggerEvent(None)
"""


def _scan(
    run_scan: Callable[..., ScanResult], tmp_path: Path, text: str, **settings: object
) -> ScanResult:
    file = tmp_path / "dags" / "example.py"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    values: dict[str, object] = {"target_airflow": "3.3"}
    values.update(settings)
    return run_scan(file.parent, **values)


def test_a_comment_on_the_class_line_suppresses_with_its_reason(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    plain = _scan(run_scan, tmp_path, SENSOR.format(comment=""), select=("DA206",))
    assert [f.rule for f in plain.findings] == ["DA206"]
    text = SENSOR.format(comment="  # deferaudit: ignore[DA206] the partner has no API to poll")
    hidden = _scan(run_scan, tmp_path, text, select=("DA206",))
    assert hidden.findings == ()
    assert [(f.rule, f.suppression_reason) for f in hidden.suppressed] == [
        ("DA206", "the partner has no API to poll")
    ]


def test_identity_survives_moving_the_class(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    first = _scan(run_scan, tmp_path, SENSOR.format(comment=""), select=("DA206",))
    moved = _scan(run_scan, tmp_path, "\n\n\n" + SENSOR.format(comment=""), select=("DA206",))
    assert first.findings[0].span.line != moved.findings[0].span.line
    assert first.findings[0].fingerprint == moved.findings[0].fingerprint != ""


def test_da202_fix_replaces_the_class_path_and_is_unsafe_in_a_dag_file(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "triggers.py").write_text(TRIGGER)
    # Mentions "dag", so Airflow parses it as a DAG file (under a generated module name).
    result = _scan(run_scan, tmp_path, TRIGGER + "# used by the dag below\n", select=("DA202",))
    by_path = {f.path: f.fix for f in result.findings}
    in_plugin, in_dag = by_path["plugins/triggers.py"], by_path["dags/example.py"]
    assert in_plugin is not None and in_dag is not None
    assert in_plugin.safety == "safe" and in_dag.safety == "unsafe"
    assert in_plugin.action == "replace-serialize-classpath"
    assert dict(in_plugin.details) == {
        "line": 6,
        "column": 17,
        "end_line": 6,
        "end_column": 44,
        "old": "'somewhere.else.JobTrigger'",
        "new": 'f"{type(self).__module__}.{type(self).__qualname__}"',
    }


def test_da210_fix_imports_conf_for_the_target_unless_the_file_has_it(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    def fix(imports: str, default: str, **settings: object) -> dict[str, object]:
        text = OPERATOR.format(imports=imports, default=default)
        found = _scan(run_scan, tmp_path, text, select=("DA210",), **settings).findings
        assert len(found) == 1 and found[0].fix is not None
        return {"safety": found[0].fix.safety, **found[0].fix.details}

    on_3 = fix("", "False")
    assert on_3["safety"] == "safe"
    assert on_3["import"] == {"module": "airflow.sdk", "name": "conf"}
    assert on_3["new"] == 'conf.getboolean("operators", "default_deferrable", fallback=False)'
    assert (on_3["line"], on_3["column"], on_3["old"]) == (5, 46, "False")
    on_2 = fix("", "False", target_airflow="2.10")
    assert on_2["import"] == {"module": "airflow.configuration", "name": "conf"}
    has_conf = fix("from airflow.configuration import conf\n", "False")
    assert has_conf["import"] is None
    assert fix("", "True")["safety"] == "unsafe"
    assert fix("", "False", default_deferrable=True)["safety"] == "unsafe"


def test_shell_polls() -> None:
    poll = shell_poll("until test -f /d/done; do\n  echo waiting\n  sleep 2m\ndone")
    assert poll is not None and poll.value == 120.0
    assert shell_poll("while true; do sleep 5; done").value == 5.0  # type: ignore[union-attr]
    bare = shell_poll("while ! ready; do sleep $DELAY; done")
    assert bare is not None and bare.kind == "unknown"
    assert shell_poll("sleep 30 && run_job") is None  # no loop
    assert shell_poll("for f in *.sql; do psql -f $f; done") is None  # a loop that does not sleep
