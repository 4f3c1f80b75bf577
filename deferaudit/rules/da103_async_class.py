"""DA103 async-class: a deprecated ``-Async`` class, with its replacement where one exists."""

from __future__ import annotations

import re
from collections.abc import Iterator

from deferaudit.catalog.model import ClassEntry
from deferaudit.fixes import ReplaceAsyncClass
from deferaudit.resolve import ResolvedTask
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import WaitStatus, unsafe_reasons
from deferaudit.rules.file_statuses import tasks_with_status


def replacement_fix(ctx: FileContext, task: ResolvedTask) -> tuple[ReplaceAsyncClass | None, str]:
    """The class swap for an -Async task, or None and the reason there is none."""
    entry = task.cls.entry
    assert entry is not None
    if entry.replacement is None:
        if entry.successor:
            return None, successor_advice(entry)
        note = entry.replacement_note or "no open-source deferrable equivalent is known"
        return None, f"no replacement: {note}"
    target = ctx.catalog.lookup(entry.replacement, ctx.target.line)
    short = entry.replacement.rsplit(".", 1)[-1]
    if task.cls.replacement_gap is not None:
        return None, f"its replacement `{short}`: {task.cls.replacement_gap}; no fix"
    if target is None or not target.accepts_deferrable:
        return None, (
            f"its replacement `{entry.replacement}` does not accept `deferrable` on "
            f"Airflow {ctx.target.line}: no fix"
        )
    replacement = entry.replacement
    if replacement != target.path and replacement in target.deprecated_aliases:
        # The deprecation text names the path of its day (``airflow.sensors.external_task``);
        # on the target that is only a shim that warns: the fix imports where the class is.
        replacement = target.path
    reasons = list(unsafe_reasons(task, WaitStatus("async-class"), ctx.target.line))
    if task.cls.replacement_unpinned is not None:
        # The replacement's release on the deployment is unknown: it may predate `deferrable`.
        reasons.append(f"`{short}`: {task.cls.replacement_unpinned}")
    gaps = tuple(entry.replacement_param_gaps or ())
    used_gaps = [g for g in gaps if g in task.site.kwargs]
    renames = _interval_renames(used_gaps, task, target)
    unmapped = [g for g in used_gaps if g not in renames]
    if unmapped:
        # No 1:1 mapping: a guess could change what the task waits for, so no edit.
        names = ", ".join(f"`{g}`" for g in unmapped)
        return None, (
            f"`{short}` has no parameter for {names}: rewrite by hand to "
            f"`{short}(..., deferrable=True)` (no automatic fix)"
        )
    for old, new in renames.items():
        reasons.append(
            f"`{old}` becomes `{new}`: the replacement sensor polls its trigger every "
            f"`{new}` seconds (check that the interval still suits the wait)"
        )
    fix = ReplaceAsyncClass(
        description=f"use `{replacement}` with `deferrable=True`"
        + "".join(f", `{o}` renamed `{n}`" for o, n in renames.items()),
        callee=task.site.callee,
        replacement=replacement,
        renames=tuple(renames.items()),
        unsafe_reasons=tuple(reasons),
    )
    return fix, f"use `{short}(..., deferrable=True)` instead"


def successor_advice(entry: ClassEntry) -> str:
    """For an -Async class with no deferrable replacement (the catalog's ``successor``): its
    regular counterpart does not defer (or is missing), and what would defer instead, if
    anything. A swap to a class that does not defer would be wrong: there is no fix."""
    record = entry.successor or {}
    parts: list[str] = []
    path = record.get("path")
    if path:
        short = str(path).rsplit(".", 1)[-1]
        origin = str(record.get("origin", "")).split(" (", 1)[0]
        if record.get("defers"):
            parts.append(
                f"its counterpart `{short}` ({origin}) takes `deferrable` but is no replacement "
                f"for it (`deferaudit catalog show {entry.name}` says why)"
            )
        else:
            parts.append(f"its regular counterpart `{short}` ({origin}) does not defer")
    elif record.get("missing"):
        parts.append(str(record["missing"]))
    instead = list(record.get("instead") or ())
    for target in instead:
        short = str(target["path"]).rsplit(".", 1)[-1]
        if "deferrable=True" in target["defers"]:
            parts.append(
                f"`{short}(..., deferrable=True)` ({target['package']}) would defer in its place"
            )
        else:
            parts.append(
                f"`{short}` ({target['package']}; it always defers) would defer in its place"
            )
    if record.get("nothing"):
        parts.append(f"nothing defers in its place: {record['nothing']}")
    return "; ".join(parts) + "; no automatic fix"


_POLL_INTERVAL = re.compile(r"^(poll|polling)_interval$")


def _interval_renames(used_gaps: list[str], task: ResolvedTask, target: object) -> dict[str, str]:
    """The one mapping that is 1:1: an -Async sensor's polling interval is the replacement
    sensor's ``poke_interval`` (every ``BaseSensorOperator`` takes it, and its deferrable path
    hands it to the trigger), unless the task already sets ``poke_interval``."""
    if not getattr(target, "is_sensor", False) or "poke_interval" in task.site.kwargs:
        return {}
    found = [g for g in used_gaps if _POLL_INTERVAL.match(g)]
    return {found[0]: "poke_interval"} if len(found) == 1 else {}


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, _status in tasks_with_status(ctx, "async-class"):
        fix, advice = replacement_fix(ctx, task)
        entry = task.cls.entry
        assert entry is not None
        where = entry.package
        what = f"a deprecated -Async class ({where})"
        if entry.successor and not entry.deprecated:
            # Deprecated only when its package says so: astronomer-providers 1.19.4 does not
            # deprecate these (no marker, no warning, not in the 1.19.0 list).
            what = f"an -Async class of {where} {entry.version}, which does not deprecate it"
        yield rule.finding(ctx, task, f"`{task.class_name}` is {what}; {advice}", fix)


RULE = Rule(
    code="DA103",
    name="async-class",
    severity="warning",
    summary="A deprecated -Async class",
    what="""
Finds tasks built from the separate `-Async` classes: astronomer-providers'
(`S3KeySensorAsync`, `SnowflakeOperatorAsync`, ...) and Airflow's own
(`DateTimeSensorAsync`, `TimeSensorAsync`, `TimeDeltaSensorAsync`).
""",
    why="""
These classes are deprecated: astronomer-providers is no longer maintained, and Airflow
folded its own into the regular classes with `deferrable=True`. Some have no open-source
deferrable equivalent at all; the message says which. A few astronomer-providers classes are
not deprecated by its last release (1.19.4: `RedshiftSQLOperatorAsync`,
`SnowflakeOperatorAsync`, `SnowflakeSensorAsync`, `ExternalDeploymentTaskSensorAsync`, the
Hive partition sensors) and their regular counterparts do not defer: the message names the
counterpart and the class that would defer instead (`RedshiftDataOperator`,
`SnowflakeSqlApiOperator`, astronomer-providers' `ExternalDeploymentSensor`), or says that
nothing does.
""",
    example="""
from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync

wait = S3KeySensorAsync(task_id="wait", bucket_key="s3://b/k")
""",
    use_instead="""
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

wait = S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True)
""",
    fix_safety="""
Safe when the replacement accepts every argument the task passes; unsafe when `soft_fail` or a
`pool` is set. No fix when the class has no replacement, when the replacement cannot defer on
the target version, when its only counterpart does not defer (the class that would defer
instead is another class with other parameters: a rewrite by hand), or when the task passes an
argument the replacement has no parameter for (e.g. `S3PrefixSensorAsync(prefix=...)`): the
message says which.
""",
    check=check,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow import DAG
from airflow.sensors.date_time import DateTimeSensorAsync

with DAG("ingest"):
    DateTimeSensorAsync(task_id="until", target_time="{{ data_interval_end }}", timeout=60)
""",
            count=0,
            target="2.10",
            note="Airflow 2.10 does not deprecate it: the package's own deferrable variant",
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True, timeout=60)
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow import DAG
from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync

with DAG("ingest"):
    S3KeySensorAsync(task_id="wait", bucket_key="s3://b/k", timeout=60)
""",
            target="2.10",
        ),
        Example(
            """
from datetime import timedelta
from airflow.sdk import DAG
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensorAsync

with DAG("ingest"):
    TimeDeltaSensorAsync(task_id="later", delta=timedelta(hours=1), timeout=60)
""",
            note="deprecated in the standard provider: TimeDeltaSensor(deferrable=True)",
        ),
    ),
)
