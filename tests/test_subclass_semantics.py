"""Subclasses defined in the project: what their ``__init__`` gives the base (defaults, values
passed to ``super().__init__``, ``kwargs.setdefault``) decides how their tasks wait, a
``deferrable`` they pin is never added at the call, and code after ``super().execute()`` makes a
deferrable fix unsafe. Expected findings are written from reading each file."""

from __future__ import annotations

from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.extract import extract
from deferaudit.fixes import LetTasksChooseDeferrable
from deferaudit.rules.base import Finding
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

# A sensor that cannot defer, and one whose base can (S3KeySensor accepts ``deferrable``).
SENSORS = """
from airflow.sdk import BaseSensorOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


class PartnerApiSensor(BaseSensorOperator):
    def __init__(self, endpoint, mode="reschedule", timeout=7200, poke_interval=300, **kwargs):
        super().__init__(mode=mode, timeout=timeout, poke_interval=poke_interval, **kwargs)
        self.endpoint = endpoint

    def poke(self, context):
        return True


class LandingFileSensor(S3KeySensor):
    def __init__(self, mode="reschedule", timeout=3600, **kwargs):
        super().__init__(mode=mode, timeout=timeout, **kwargs)


class QuietSensor(BaseSensorOperator):
    def __init__(self, **kwargs):
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("timeout", 600)
        super().__init__(**kwargs)

    def poke(self, context):
        return True


class ForcedSensor(BaseSensorOperator):
    def __init__(self, **kwargs):
        kwargs["mode"] = "reschedule"
        super().__init__(timeout=kwargs.pop("timeout", 900), **kwargs)

    def poke(self, context):
        return True


class PinnedOffSensor(S3KeySensor):
    def __init__(self, **kwargs):
        super().__init__(deferrable=False, timeout=600, **kwargs)


class PinnedOnSensor(S3KeySensor):
    def __init__(self, **kwargs):
        super().__init__(deferrable=True, timeout=600, **kwargs)
"""


def _scan(root: Path, catalog: Catalog, *paths: str) -> ScanResult:
    settings = Settings(cache=False, jobs=1, target_airflow="3.3")  # type: ignore[call-arg]
    return scan([root / p for p in paths], settings, catalog, cwd=root, need_facts=True)


def _by_task(result: ScanResult) -> dict[str, list[str]]:
    """Each task's rules (class findings such as DA206 on the sensor classes left out)."""
    out: dict[str, list[str]] = {}
    for finding in result.findings:
        if finding.task_id is not None:
            out.setdefault(finding.task_id, []).append(finding.rule)
    return {k: sorted(v) for k, v in out.items()}


def _finding(result: ScanResult, task_id: str, rule: str) -> Finding:
    return next(f for f in result.findings if f.task_id == task_id and f.rule == rule)


def _project(tmp_path: Path, dag: str, sensors: str = SENSORS) -> Path:
    (tmp_path / "dags" / "common").mkdir(parents=True)
    (tmp_path / "dags" / "common" / "__init__.py").write_text("")
    (tmp_path / "dags" / "common" / "sensors.py").write_text(sensors)
    (tmp_path / "dags" / "pipeline.py").write_text(dag)
    return tmp_path


def test_defaults_passed_to_super_decide_mode_and_timeout(tmp_path: Path, catalog: Catalog) -> None:
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.sensors import LandingFileSensor, PartnerApiSensor

with DAG("partner", schedule="@daily"):
    PartnerApiSensor(task_id="api", endpoint="/ready")
    LandingFileSensor(task_id="landing", bucket_key="s3://b/k")
""",
    )
    result = _scan(root, catalog, "dags")
    # Reschedule mode and a timeout, both from the class: no poke (DA101/DA105), no DA108.
    # The BaseSensorOperator subclass cannot defer (DA109); the S3KeySensor one can (DA102).
    assert _by_task(result) == {"api": ["DA109"], "landing": ["DA102"]}
    landing = _finding(result, "landing", "DA102")
    assert "reschedule mode (the class's default)" in landing.message
    assert landing.fix is not None and landing.fix.safety == "safe"
    assert landing.fix.description == "add `deferrable=True`"


def test_kwargs_setdefault_and_assignment_are_class_values(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.sensors import ForcedSensor, QuietSensor

with DAG("quiet", schedule="@daily"):
    QuietSensor(task_id="quiet")
    ForcedSensor(task_id="forced")
    ForcedSensor(task_id="forced_poke", mode="poke")
""",
    )
    result = _scan(root, catalog, "dags")
    # ``kwargs["mode"] = "reschedule"`` overwrites the call's mode="poke" too.
    assert _by_task(result) == {
        "quiet": ["DA109"],
        "forced": ["DA109"],
        "forced_poke": ["DA109"],
    }
    assert "(set by the class)" in _finding(result, "forced_poke", "DA109").message


def test_call_site_mode_overrides_the_class_default(tmp_path: Path, catalog: Catalog) -> None:
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.sensors import LandingFileSensor, PartnerApiSensor, QuietSensor

with DAG("partner", schedule="@daily"):
    PartnerApiSensor(task_id="api", endpoint="/ready", mode="poke")
    LandingFileSensor(task_id="landing", bucket_key="s3://b/k", mode="poke", timeout=None)
    QuietSensor(task_id="quiet", mode="poke")
""",
    )
    result = _scan(root, catalog, "dags")
    assert _by_task(result) == {"api": ["DA105"], "landing": ["DA101"], "quiet": ["DA105"]}
    landing = _finding(result, "landing", "DA101")
    assert 'mode="poke"' in landing.message
    assert landing.fix is not None
    assert landing.fix.description == "replace `mode='poke'` with `deferrable=True`"


def test_default_args_beat_an_init_default_but_not_setdefault(
    tmp_path: Path, catalog: Catalog
) -> None:
    # Airflow fills default_args into each __init__ whose signature names the parameter
    # (PartnerApiSensor's does); QuietSensor's setdefault runs before its base's fill.
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.sensors import PartnerApiSensor, QuietSensor

with DAG("partner", schedule="@daily", default_args={"mode": "poke"}):
    PartnerApiSensor(task_id="api", endpoint="/ready")
    QuietSensor(task_id="quiet")
""",
    )
    assert _by_task(_scan(root, catalog, "dags")) == {"api": ["DA105"], "quiet": ["DA109"]}


def test_a_pinned_deferrable_false_is_an_opt_out_made_in_the_class(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.sensors import PinnedOffSensor, PinnedOnSensor

with DAG("pinned", schedule="@daily"):
    PinnedOffSensor(task_id="off", bucket_key="s3://b/k")
    PinnedOffSensor(task_id="broken", bucket_key="s3://b/k", deferrable=True)
    PinnedOnSensor(task_id="on", bucket_key="s3://b/k")
""",
    )
    result = _scan(root, catalog, "dags")
    # No DA101 and never a call-site deferrable=True; the pinned-on class already defers.
    assert _by_task(result) == {"off": ["DA106"], "broken": ["DA107"]}
    off = _finding(result, "off", "DA106")
    # The fix edits the class (once, in its file), never the call.
    assert isinstance(off.fix, LetTasksChooseDeferrable) and off.fix.safety == "safe"
    assert off.fix.path == "dags/common/sensors.py" and off.fix.span.line == 41
    assert (off.fix.old, off.fix.new) == ("False", 'kwargs.pop("deferrable", False)')
    assert "`common.sensors.PinnedOffSensor` passes `deferrable=False`" in off.message
    assert "(line 41)" in off.message
    assert "got multiple values for keyword argument 'deferrable'" in off.message
    broken = _finding(result, "broken", "DA107")
    assert broken.severity == "error"
    assert "got multiple values for keyword argument 'deferrable'" in broken.message


def test_subclass_of_a_subclass_across_modules(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "dags").mkdir()
    acme = tmp_path / "plugins" / "acme"
    acme.mkdir(parents=True)
    (acme / "__init__.py").write_text("")
    (acme / "base.py").write_text(
        """
from airflow.sdk import BaseSensorOperator


class TeamSensor(BaseSensorOperator):
    def __init__(self, *, team, **kwargs):
        kwargs.setdefault("mode", "reschedule")
        super().__init__(timeout=kwargs.pop("timeout", 7200), **kwargs)
        self.team = team
"""
    )
    (acme / "sensors.py").write_text(
        """
from acme.base import TeamSensor


class TableReadySensor(TeamSensor):
    def __init__(self, table, **kwargs):
        super().__init__(team="data", **kwargs)
        self.table = table

    def poke(self, context):
        return True
"""
    )
    (tmp_path / "dags" / "tables.py").write_text(
        """
from airflow.sdk import DAG
from acme.sensors import TableReadySensor

with DAG("tables", schedule="@hourly"):
    TableReadySensor(task_id="orders", table="orders")
    TableReadySensor(task_id="fast", table="fast", mode="poke", poke_interval=120)
"""
    )
    result = _scan(tmp_path, catalog, "dags")
    # Mode and timeout come from TeamSensor two modules away; the class cannot defer.
    assert _by_task(result) == {"orders": ["DA109"], "fast": ["DA105"]}
    fast = _finding(result, "fast", "DA105")
    assert fast.fix is not None and fast.fix.description.startswith('set `mode="reschedule"`')


KPO = """
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator


class SparkPodOperator(KubernetesPodOperator):
    def __init__(self, spark_class, **kwargs):
        super().__init__(image="spark:3", **kwargs)
        self.spark_class = spark_class

    def execute(self, context):
        self.arguments = [self.spark_class]
        super().execute(context)
        self.fetch_driver_log()
        self.delete_driver_pod()

    def fetch_driver_log(self):
        pass

    def delete_driver_pod(self):
        pass


class EtlPodOperator(SparkPodOperator):
    def __init__(self, **kwargs):
        super().__init__(spark_class="etl.Main", **kwargs)


class PlainPodOperator(KubernetesPodOperator):
    def execute(self, context):
        self.env_vars = {"A": "1"}
        result = super().execute(context)
        return result


class GuardedPodOperator(KubernetesPodOperator):
    def execute(self, context):
        try:
            return super().execute(context)
        except Exception:
            self.log.warning("pod failed")
            raise


class NoWaitGlueOperator(GlueJobOperator):
    def __init__(self, **kwargs):
        super().__init__(wait_for_completion=False, **kwargs)
"""


def test_code_after_super_execute_makes_the_deferrable_fix_unsafe(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.pods import EtlPodOperator, GuardedPodOperator, PlainPodOperator, SparkPodOperator

with DAG("spark", schedule="@daily"):
    SparkPodOperator(task_id="spark", spark_class="x.Main", name="p")
    EtlPodOperator(task_id="etl", name="p")
    PlainPodOperator(task_id="plain", name="p", image="i")
    GuardedPodOperator(task_id="guarded", name="p", image="i")
""",
        sensors="",
    )
    (root / "dags" / "common" / "pods.py").write_text(KPO)
    result = _scan(root, catalog, "dags")
    assert _by_task(result) == {
        "spark": ["DA104"],
        "etl": ["DA104"],
        "plain": ["DA104"],
        "guarded": ["DA104"],
    }
    expected = (
        "`SparkPodOperator.execute` (common.pods, line 11) runs code after its super().execute() "
        "call (line 13), from line 14: on deferral the task resumes in the trigger's method and that code never runs"
    )
    for task_id in ("spark", "etl"):  # EtlPodOperator inherits SparkPodOperator.execute
        fix = _finding(result, task_id, "DA104").fix
        assert fix is not None and fix.safety == "unsafe"
        assert fix.unsafe_reasons == (expected,)
    plain = _finding(result, "plain", "DA104").fix
    assert plain is not None and plain.safety == "safe"  # returning the result loses nothing
    guarded = _finding(result, "guarded", "DA104").fix
    assert guarded is not None and guarded.safety == "unsafe"
    assert guarded.unsafe_reasons[0].startswith(
        "`GuardedPodOperator.execute` (common.pods, line 37) handles the errors of its "
        "super().execute() call (line 39) in an except block (line 40)"
    )


def test_a_wait_parameter_turned_off_by_the_subclass(tmp_path: Path, catalog: Catalog) -> None:
    root = _project(
        tmp_path,
        """
from airflow.sdk import DAG
from common.pods import NoWaitGlueOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

with DAG("glue", schedule="@daily"):
    NoWaitGlueOperator(task_id="fire_and_forget", job_name="j")
    NoWaitGlueOperator(task_id="waits", job_name="j", wait_for_completion=True)
    GlueJobOperator(task_id="plain", job_name="j")
""",
        sensors="",
    )
    (root / "dags" / "common" / "pods.py").write_text(KPO)
    # wait_for_completion=False is passed on by the class; a call-site value would wins over
    # an __init__ default but not over a keyword the class passes itself (a TypeError).
    assert _by_task(_scan(root, catalog, "dags")) == {"plain": ["DA104"]}


def test_init_values_and_super_execute_facts() -> None:
    facts = extract(SENSORS + KPO, "m.py", "m")
    classes = {c.name: c for c in facts.classes}
    values = {(v.name, v.how, v.value.source) for v in classes["ForcedSensor"].init_values}
    assert values == {("mode", "assigned", "'reschedule'"), ("timeout", "setdefault", "900")}
    partner = {(v.name, v.how, v.value.value) for v in classes["PartnerApiSensor"].init_values}
    assert partner == {
        ("mode", "default", "reschedule"),
        ("timeout", "default", 7200),
        ("poke_interval", "default", 300),
    }
    spark = classes["SparkPodOperator"].execute_super
    assert spark is not None and spark.after_kind == "after"
    plain = classes["PlainPodOperator"].execute_super
    assert plain is not None and plain.line is not None and plain.after_line is None
    assert classes["EtlPodOperator"].execute_super is None
