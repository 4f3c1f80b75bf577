"""DA001 parse-error: a file that cannot be read or parsed."""

from __future__ import annotations

import re
from collections.abc import Iterator

from deferaudit.facts import Span
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.target import python_clause

# "syntax error at L:C" and "needs Python 3.12 ... (an f-string at L:C ...".
_POSITION = re.compile(
    r"^(?:syntax error|needs Python [0-9.]+ or newer to be read \(an f-string) at (\d+):(\d+)"
)


_NEEDS = re.compile(r"^needs Python ([0-9.]+) or newer")


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    if ctx.error is None:
        return
    line = 1
    column = 1
    # Syntax errors carry "at L:C"; keep the position so editors jump to it.
    found = _POSITION.search(ctx.error)
    if found is not None:
        line, column = int(found.group(1)), max(int(found.group(2)), 1)
    message = f"cannot scan this file: {ctx.error}"
    needs = _NEEDS.match(ctx.error)
    if needs is not None and python_clause(ctx.target, needs[1]):
        # The deployment's Python (an image tag, requires-python) says whether the file is
        # valid where it runs.
        message += f"; {python_clause(ctx.target, needs[1])}"
    yield Finding(
        rule=rule.code,
        kind=rule.name,
        severity=rule.severity,
        path=ctx.path,
        span=Span(line, column, line, column),
        message=message,
    )


RULE = Rule(
    code="DA001",
    name="parse-error",
    severity="error",
    summary="A file in the DAG folder cannot be read or parsed",
    what="""
Reports a file that deferaudit could not read or parse: a syntax error, a null byte, bytes
that are not valid in the file's declared encoding, a file over 10 MB, or a file it may not
read. The rest of the folder is still scanned.
""",
    why="""
Airflow cannot import such a file either: its DAGs are missing from the deployment, and any
waiting tasks in it are invisible to the audit.
""",
    example="""
from airflow import DAG

with DAG("partner_feed", schedule="@daily") as dag
    ...
""",
    use_instead="""
from airflow import DAG

with DAG("partner_feed", schedule="@daily") as dag:
    ...
""",
    fix_safety="No fix: the file must be repaired by hand.",
    check=check,
    valid=(
        Example(
            """
from airflow import DAG

with DAG("partner_feed", schedule="@daily") as dag:
    pass
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow import DAG

with DAG("partner_feed", schedule="@daily") as dag
    pass
"""
        ),
        Example("# airflow dag\nx = 1\x00\n", note="a null byte"),
    ),
)
