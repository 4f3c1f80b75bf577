"""DA210 deferrable-default: a custom operator's ``deferrable`` default ignores the deployment's
``[operators] default_deferrable``."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import ClassFacts, Span
from deferaudit.fixes import DeferrableDefaultFromConfig
from deferaudit.resolve import literal_of
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, is_operator, own_classes

CONFIG_DEFAULT = 'conf.getboolean("operators", "default_deferrable", fallback=False)'
# Where ``conf`` comes from: the task SDK on Airflow 3 (deferring.rst's own example), the core
# configuration module on Airflow 2. Both are the same parser and read the same option.
CONF_IMPORTS = {"2": "airflow.configuration", "3": "airflow.sdk"}
_CONF_PATHS = frozenset(
    {"airflow.configuration.conf", "airflow.sdk.conf", "airflow.sdk.configuration.conf"}
)


def _fix(ctx: FileContext, cls: ClassFacts, span: Span) -> DeferrableDefaultFromConfig | None:
    bound = ctx.facts.imports.get("conf", ()) if ctx.facts is not None else ()
    if bound and not set(bound) <= _CONF_PATHS:
        return None  # ``conf`` names something else in this file: no mechanical edit
    module = CONF_IMPORTS.get(ctx.target.line.split(".", 1)[0], "airflow.sdk")
    old = cls.deferrable_default or ""
    value = literal_of(old)
    reasons: list[str] = []
    if value is True:
        reasons.append(
            "the default was True: where `[operators] default_deferrable` is false (Airflow's "
            "default) tasks that relied on it stop deferring"
        )
    elif value is not False:
        reasons.append(f"the current default `{old}` is not a literal")
    elif ctx.settings.default_deferrable:
        reasons.append(
            "the deployment sets `default_deferrable = True`: tasks that pass no `deferrable` "
            "start deferring (and need a running triggerer)"
        )
    return DeferrableDefaultFromConfig(
        description=f"default `deferrable` to `{CONFIG_DEFAULT}`"
        + ("" if bound else f" and add `from {module} import conf`"),
        span=span,
        old=old,
        new=CONFIG_DEFAULT,
        imports=None if bound else (module, "conf"),
        unsafe_reasons=tuple(reasons),
    )


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        span = code.deferrable_default_span
        if span is None or code.deferrable_default_from_config or not is_operator(ctx, cls):
            continue
        yield class_finding(
            rule,
            ctx,
            cls,
            span,
            f"`{cls.name}.__init__` defaults `deferrable` to `{cls.deferrable_default}`, not to "
            "`[operators] default_deferrable`: the deployment's setting "
            "(`AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE`) does not reach this operator",
            _fix(ctx, cls, span),
        )


RULE = Rule(
    code="DA210",
    name="deferrable-default",
    severity="warning",
    summary="A custom operator's deferrable default is not read from [operators] default_deferrable",
    what="""
Reports an operator or sensor class defined in the scanned or plugin files whose `__init__`
has a `deferrable` parameter with a default that does not read `[operators]
default_deferrable` (directly, or through a module constant that does).
""",
    why="""
deferring.rst: an operator that supports both modes should take
`deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False)`. Every
Airflow and provider operator does, so one setting (`AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True`)
moves a deployment to deferral; a hard-coded default leaves this operator behind.
""",
    example="""
class ExportSensor(BaseSensorOperator):
    def __init__(self, *, deferrable: bool = False, **kwargs):
        ...
""",
    use_instead="""
from airflow.sdk import conf

class ExportSensor(BaseSensorOperator):
    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs,
    ):
        ...
""",
    fix_safety="""
Safe when the old default is `False` and the deployment's `default_deferrable` is false (the
default): replace the default with the `conf.getboolean(...)` call and import `conf` (from
`airflow.sdk` on Airflow 3, `airflow.configuration` on Airflow 2) unless the file has it.
Unsafe when the old default is `True` or not a literal, or the deployment turns
`default_deferrable` on (tasks start deferring). No fix when `conf` names something else.
""",
    check=check,
    own_classes_only=True,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow.configuration import conf
from airflow.sdk import BaseSensorOperator

DEFAULT_DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=False)

class ExportSensor(BaseSensorOperator):
    def __init__(self, *, deferrable: bool = DEFAULT_DEFERRABLE, **kwargs):
        super().__init__(**kwargs)
        self.deferrable = deferrable

class NotAnOperator:
    def __init__(self, deferrable=False):
        self.deferrable = deferrable
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import BaseSensorOperator

class ExportSensor(BaseSensorOperator):
    def __init__(self, *, deferrable: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.deferrable = deferrable
"""
        ),
    ),
)
