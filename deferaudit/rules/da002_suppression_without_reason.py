"""DA002 suppression-without-reason: a ``# deferaudit: ignore`` comment that does not say why."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from deferaudit.call_form import call_fingerprint
from deferaudit.facts import SuppressionComment, TaskSite
from deferaudit.rules.base import Example, FileContext, Finding, Rule


def has_reason(comment: SuppressionComment) -> bool:
    """A reason is words after the comment: punctuation alone (``--``, ``:``) is none."""
    return comment.reason is not None and any(ch.isalnum() for ch in comment.reason)


def _written(comment: SuppressionComment) -> str:
    if "*" in comment.codes:
        return "# deferaudit: ignore"
    return f"# deferaudit: ignore[{','.join(sorted(comment.codes))}]"


def _task_at(tasks: tuple[TaskSite, ...], line: int) -> TaskSite | None:
    for site in tasks:
        if site.span.line <= line <= site.span.end_line:
            return site
    return None


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    if not ctx.settings.require_reason or ctx.facts is None:
        return
    by_site = {(t.site.span.line, t.site.span.column): t for t in ctx.tasks}
    for comment in ctx.facts.suppression_comments:
        if has_reason(comment):
            continue
        site = _task_at(ctx.facts.tasks, comment.span.line)
        task = by_site.get((site.span.line, site.span.column)) if site is not None else None
        codes = ",".join(sorted(comment.codes))
        # Keyed on the task's call and the codes, not the line: baselines survive moves.
        base = call_fingerprint(site) if site is not None else ""
        fingerprint = hashlib.blake2b(f"{base}|{codes}".encode(), digest_size=8).hexdigest()
        written = _written(comment)
        yield Finding(
            rule=rule.code,
            kind=rule.name,
            severity=rule.severity,
            path=ctx.path,
            span=comment.span,
            message=f"`{written}` gives no reason: say why after it, e.g. "
            f"`{written} poke on purpose: sub-minute latency`",
            dag_id=task.dag_id if task is not None else None,
            task_id=task.task_id if task is not None else None,
            operator=task.operator if task is not None else None,
            # The comment cannot hide its own finding (a bare ignore would).
            suppressible=None,
            fingerprint=fingerprint,
        )


RULE = Rule(
    code="DA002",
    name="suppression-without-reason",
    severity="warning",
    summary="A suppression comment that does not say why (only with --require-reason)",
    what="""
With `--require-reason` (or `require-reason = true` in `[tool.deferaudit]`), reports every
`# deferaudit: ignore` comment that has no words after it. The reason is the text that follows
the comment on the same line. Without the option this rule reports nothing.
""",
    why="""
A suppression is a decision that a task may hold a worker slot while it waits. Without the
reason, the next reader cannot tell a deliberate choice (a sub-minute latency target, a
deployment without a triggerer) from a way to make the CI gate pass.
""",
    example="""
S3KeySensor(task_id="wait", bucket_key="s3://b/k")  # deferaudit: ignore[DA101]
""",
    use_instead="""
S3KeySensor(task_id="wait", bucket_key="s3://b/k")  # deferaudit: ignore[DA101] poke on purpose: sub-minute latency
""",
    fix_safety="No fix: only the author knows the reason.",
    check=check,
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k")  # deferaudit: ignore[DA101] poke on purpose: sub-minute latency
""",
            count=0,
            settings={"require_reason": True},
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k")  # deferaudit: ignore[DA101]
""",
            count=0,
            note="without --require-reason nothing is reported",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k")  # deferaudit: ignore[DA101]
    S3KeySensor(
        task_id="wait_more",
        bucket_key="s3://b/other",  # deferaudit: ignore --
    )
""",
            count=2,
            settings={"require_reason": True},
            note="a bare code list, and punctuation alone",
        ),
    ),
)
