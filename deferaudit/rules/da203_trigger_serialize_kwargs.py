"""DA203 trigger-serialize-kwargs: ``serialize()`` kwargs do not rebuild the trigger."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import MethodSig
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, find_method, is_trigger, own_classes


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        keys = code.serialize_kwargs
        span = code.serialize_kwargs_span
        if keys is None or span is None or not is_trigger(ctx, cls):
            continue
        init = find_method(ctx, cls, "__init__")
        if not isinstance(init, MethodSig):
            continue
        required = [p for p in init.required if p not in keys]
        optional = [p for p in init.params if p not in init.required and p not in keys]
        extra = [] if init.var_kwargs else [k for k in keys if k not in init.params]
        head = f"`{cls.name}.serialize()`"
        if required:
            yield class_finding(
                rule,
                ctx,
                cls,
                span,
                f"{head} leaves out {_names(required)}, required by `__init__`: the triggerer "
                f"rebuilds it as `{cls.name}(**kwargs)`, which fails with TypeError",
            )
        if optional:
            yield class_finding(
                rule,
                ctx,
                cls,
                span,
                f"{head} leaves out {_names(optional)}: the triggerer rebuilds the trigger "
                "with the parameter's default, not the value the operator passed",
            )
        if extra:
            yield class_finding(
                rule,
                ctx,
                cls,
                span,
                f"{head} passes {_names(extra)}, which `__init__` does not accept: the "
                "triggerer's rebuild fails with TypeError",
            )


RULE = Rule(
    code="DA203",
    name="trigger-serialize-kwargs",
    severity="error",
    summary="serialize() kwargs miss __init__ parameters or carry keys __init__ does not take",
    what="""
Compares the keys of the dict a trigger's `serialize()` returns with the parameters of its
`__init__` (its own, or a base's found in the scanned files): a required parameter left out,
an optional one left out (its value is lost), and a key `__init__` does not accept (unless it
takes `**kwargs`). Only literal dicts are read; `{**base, ...}` is not judged.
""",
    why="""
deferring.rst: "`__init__` and `serialize` are written as a pair." The trigger is built once by
the operator, then serialized and rebuilt with `Trigger(**kwargs)` on whichever triggerer runs
it (and again after every triggerer restart). A missing or unknown key fails only there, or
silently resets a value to its default.
""",
    example="""
class JobTrigger(BaseTrigger):
    def __init__(self, job_id, poll_interval=30):
        ...

    def serialize(self):
        return ("acme.triggers.JobTrigger", {"job": self.job_id})
""",
    use_instead="""
class JobTrigger(BaseTrigger):
    def __init__(self, job_id, poll_interval=30):
        ...

    def serialize(self):
        return (
            "acme.triggers.JobTrigger",
            {"job_id": self.job_id, "poll_interval": self.poll_interval},
        )
""",
    fix_safety="No fix: which attribute holds each value is the author's to say.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def __init__(self, job_id: str, poll_interval: float = 30.0):
        super().__init__()
        self.job_id = job_id
        self.poll_interval = poll_interval

    def serialize(self):
        return ("example_dag.JobTrigger", {"job_id": self.job_id, "poll_interval": self.poll_interval})

    async def run(self):
        yield TriggerEvent(self.job_id)

class RetryingJobTrigger(JobTrigger):
    def serialize(self):
        return ("example_dag.RetryingJobTrigger", dict(job_id=self.job_id, poll_interval=5))
""",
            count=0,
            note="a subclass rebuilt through its base's __init__",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def __init__(self, job_id: str, poll_interval: float = 30.0):
        super().__init__()
        self.job_id = job_id
        self.poll_interval = poll_interval

    def serialize(self):
        return ("example_dag.JobTrigger", {"job": self.job_id})

    async def run(self):
        yield TriggerEvent(self.job_id)
""",
            count=3,
            note="job_id missing (required), poll_interval missing (optional), job unknown",
        ),
    ),
)
