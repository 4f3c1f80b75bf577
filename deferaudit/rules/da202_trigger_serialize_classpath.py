"""DA202 trigger-serialize-classpath: ``serialize()`` returns a class path that does not import
back to the trigger."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import ClassFacts, Span
from deferaudit.fixes import ReplaceSerializeClasspath
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, is_trigger, local_class, own_classes

SELF_CLASSPATH = 'f"{type(self).__module__}.{type(self).__qualname__}"'


def _where(role: str) -> str:
    return {
        "plugin": "with the plugins folder on sys.path",
        "helper": "with its import root on sys.path",
    }.get(role, "with the DAG folder on sys.path")


def _problem(ctx: FileContext, cls: ClassFacts, value: str) -> str | None:
    """Why ``value`` does not import back to ``cls`` (None when it does)."""
    if "." not in value:
        return f'"{value}" is no dotted path: the triggerer imports `module.Class`'
    if value == cls.path:
        return None
    # Module names in the DAG folder depend on where the folder's root is; a path that ends
    # the same way is the same class seen from another root.
    if ctx.role not in ("plugin", "helper") and (
        value.endswith("." + cls.path) or cls.path.endswith("." + value)
    ):
        return None
    module, name = value.rsplit(".", 1)
    other = local_class(ctx, value)
    if other is not None and other.path != cls.path:
        return f'"{value}" names another class, `{other.path}`: the triggerer would rebuild it'
    if name != cls.name:
        return f'"{value}" names the class `{name}`, not `{cls.name}`'
    if cls.module.startswith(module + "."):
        return None  # re-exported by the package's __init__: it imports back
    return (
        f'"{value}" names the module `{module}`, but the triggerer imports this class as '
        f"`{cls.path}` ({_where(ctx.role)})"
    )


def _fix(ctx: FileContext, source: str, span: Span) -> ReplaceSerializeClasspath:
    reasons: tuple[str, ...] = ()
    if ctx.role == "dag":
        reasons = (
            "the trigger is defined in a DAG file, which Airflow imports under a generated "
            "module name: `type(self).__module__` would not import back either; move the "
            "trigger to the plugins folder or a package (DA211)",
        )
    return ReplaceSerializeClasspath(
        description=f"return {SELF_CLASSPATH} as the class path",
        span=span,
        old=source,
        new=SELF_CLASSPATH,
        unsafe_reasons=reasons,
    )


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        span = code.serialize_classpath_span
        arg = code.serialize_classpath
        if arg is None or span is None or not is_trigger(ctx, cls):
            continue
        if code.nested:
            yield class_finding(
                rule,
                ctx,
                cls,
                span,
                f"`{cls.name}` is defined inside a function or class: the triggerer cannot "
                "import it by any class path; move it to module level",
            )
            continue
        if code.serialize_classpath_self or arg.kind != "literal" or not isinstance(arg.value, str):
            continue
        problem = _problem(ctx, cls, arg.value)
        if problem is None:
            continue
        yield class_finding(
            rule,
            ctx,
            cls,
            span,
            f"`{cls.name}.serialize()` returns a class path that does not import back: "
            f"{problem}; the task fails when the triggerer loads the trigger",
            _fix(ctx, arg.source, span),
        )


RULE = Rule(
    code="DA202",
    name="trigger-serialize-classpath",
    severity="error",
    summary="serialize() returns a class path that does not import back to the trigger",
    what="""
Compares the class path a trigger's `serialize()` returns with the module path the triggerer
would import the class from: the plugins folder (or the DAG folder, on Airflow 2) is on
`sys.path`, so `plugins/acme/triggers.py` holds `acme.triggers.JobTrigger`. Reports a path
naming another module or class, a path that is no dotted path, and a trigger class nested in
a function or class (no path imports it). A path built from `type(self).__module__` and
`__qualname__` (or `self.__class__`) is always right; a package `__init__` re-export
(`acme.JobTrigger` for a class in `acme/triggers.py`) is accepted.
""",
    why="""
The triggerer rebuilds every trigger with `import_string(classpath)(**kwargs)`. A wrong path
(a copied trigger that still names its original, a module renamed or moved) passes every test
that builds the trigger in memory and fails only in the triggerer: the deferred task fails
with "Trigger failed to load code".
""",
    example="""
class JobTrigger(BaseTrigger):  # in plugins/acme/triggers.py
    def serialize(self):
        return ("acme.triggers_old.JobTrigger", {"job_id": self.job_id})
""",
    use_instead="""
class JobTrigger(BaseTrigger):
    def serialize(self):
        return (f"{type(self).__module__}.{type(self).__qualname__}", {"job_id": self.job_id})
""",
    fix_safety="""
Safe: replace the class path with `f"{type(self).__module__}.{type(self).__qualname__}"`, which
names the class wherever it is imported from. Unsafe for a trigger defined in a DAG file:
Airflow imports DAG files under a generated module name, so no class path imports it back
(move it first, DA211). No fix for a nested class.
""",
    check=check,
    own_classes_only=True,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def __init__(self, job_id):
        super().__init__()
        self.job_id = job_id

    def serialize(self):
        return ("example_dag.JobTrigger", {"job_id": self.job_id})

    async def run(self):
        yield TriggerEvent(self.job_id)

class OtherTrigger(BaseTrigger):
    def serialize(self):
        return (self.__class__.__module__ + "." + self.__class__.__name__, {})

    async def run(self):
        yield TriggerEvent(None)
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.OldJobTrigger", {})

    async def run(self):
        yield TriggerEvent(None)

class CopiedTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    async def run(self):
        yield TriggerEvent(None)
""",
            count=2,
            note="a renamed class, and a copy that names the original",
        ),
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

def make():
    class LocalTrigger(BaseTrigger):
        def serialize(self):
            return (f"{type(self).__module__}.{type(self).__qualname__}", {})

        async def run(self):
            yield TriggerEvent(None)
    return LocalTrigger
""",
            note="a class inside a function cannot be imported",
        ),
    ),
)
