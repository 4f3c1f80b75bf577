"""DA206 custom-sensor-no-defer: a hand-written sensor that can only poke."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import ClassFacts
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, lineage, own_classes, resolved


def _can_defer(ctx: FileContext, cls: ClassFacts) -> bool | None:
    """Whether the sensor has a way to defer (None: a base the scan cannot read decides)."""
    line = lineage(ctx, cls)
    for current in line.classes:
        code = current.code
        if current.calls_defer or (code is not None and code.defers):
            return True
        start = code.start_from_trigger if code is not None else None
        if start is not None and start.kind == "literal" and start.value is True:
            return True
    for base in line.foreign:
        entry = ctx.catalog.lookup(base, ctx.target.line)
        if entry is None:
            return None
        if entry.accepts_deferrable or entry.forces_deferrable:
            return True
    return False


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        if "poke" not in cls.methods or code.poke_never_false:
            # A poke() that cannot return a falsy value ends at its first poke: no wait.
            continue
        found = resolved(ctx, cls)
        if found is None or not found.is_sensor or _can_defer(ctx, cls) is not False:
            continue
        yield class_finding(
            rule,
            ctx,
            cls,
            code.header,
            f"`{cls.name}` waits with `poke()` and has no deferral path: every task that uses "
            "it holds a worker slot while it waits (or restarts for every poke in reschedule "
            "mode); a trigger and `self.defer(...)` would free its slots",
        )


RULE = Rule(
    code="DA206",
    name="custom-sensor-no-defer",
    severity="info",
    summary="A custom sensor has poke() and no deferral path",
    what="""
Reports a `BaseSensorOperator` subclass defined in the scanned or plugin files that implements
`poke()` and never defers: no `self.defer(...)` (or `raise TaskDeferred`) in it or its
scanned bases, no `start_from_trigger = True`, and no base from Airflow or a provider that
accepts `deferrable`. The tasks that use such a sensor are reported too (DA105, DA109); this
finding is on the class, where the change would be made. A `poke()` that cannot return a
falsy value (every path returns `True`, a truthy literal or `PokeReturnValue(is_done=True)`)
never waits: no finding.
""",
    why="""
Each task of such a sensor holds a worker slot for its whole wait in poke mode, or starts a
new task try for every poke in reschedule mode. A trigger that polls the same condition with an
async client lets every one of those tasks wait in the triggerer instead.
""",
    example="""
class ExportReadySensor(BaseSensorOperator):
    def poke(self, context):
        return HttpHook(method="GET").run(f"exports/{self.export_id}").json()["ready"]
""",
    use_instead="""
class ExportReadySensor(BaseSensorOperator):
    def __init__(self, *, deferrable=conf.getboolean("operators", "default_deferrable", fallback=False), **kwargs):
        super().__init__(**kwargs)
        self.deferrable = deferrable

    def execute(self, context):
        if not self.deferrable:
            return super().execute(context)
        self.defer(trigger=ExportReadyTrigger(self.export_id), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        ...
""",
    fix_safety="No fix: a deferral path needs a trigger (write one in the plugins folder).",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.sdk import BaseSensorOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from datetime import timedelta

class WaitSensor(BaseSensorOperator):
    def poke(self, context):
        return False

    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(minutes=5)), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        return None

class StrictS3Sensor(S3KeySensor):
    def poke(self, context):
        return super().poke(context)
""",
            count=0,
            note="defers itself; inherits deferral from S3KeySensor",
        ),
        Example(
            """
from airflow.sdk import BaseSensorOperator, PokeReturnValue

class AlwaysReadySensor(BaseSensorOperator):
    def poke(self, context):
        self.log.info("nothing to wait for")
        return True

class PassThroughSensor(BaseSensorOperator):
    def poke(self, context):
        if context.get("params"):
            return PokeReturnValue(is_done=True, xcom_value=context["params"])
        return PokeReturnValue(True)
""",
            count=0,
            note="poke() cannot return a falsy value: the first poke ends the task",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import BaseSensorOperator, PokeReturnValue

class ExportReadySensor(BaseSensorOperator):
    def poke(self, context):
        return False

class MaybeReadySensor(BaseSensorOperator):
    def poke(self, context):
        if context.get("params"):
            return True

class ReadyWhenDoneSensor(BaseSensorOperator):
    def poke(self, context):
        return PokeReturnValue(is_done=self.done())
""",
            count=3,
            note="returns False; falls off its end (None) on one path; is_done not a literal",
        ),
    ),
)
