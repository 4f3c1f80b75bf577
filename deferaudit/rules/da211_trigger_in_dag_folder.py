"""DA211 trigger-in-dag-folder: a trigger class defined in the DAG folder (Airflow 3's
triggerer cannot import it)."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, is_trigger, own_classes


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    # Plugins and the project's helper modules are on every component's sys.path.
    if ctx.role in ("plugin", "helper") or ctx.target.version.split(".", 1)[0] != "3":
        return
    for cls, code in own_classes(ctx):
        if not is_trigger(ctx, cls):
            continue
        yield class_finding(
            rule,
            ctx,
            cls,
            code.header,
            f"`{cls.name}` is a trigger defined in the DAG folder: Airflow 3's triggerer does "
            f"not load DAG bundles, so it cannot import `{cls.path}` and every task that "
            "defers to it fails; move it to the plugins folder or an installed package",
        )


RULE = Rule(
    code="DA211",
    name="trigger-in-dag-folder",
    severity="error",
    summary="A trigger class is defined in the DAG folder (Airflow 3's triggerer cannot load it)",
    what="""
Reports every trigger class (a `BaseTrigger` subclass) defined in a file of the scanned DAG
folder, including modules Airflow's safe mode skips (`dags/common/triggers.py`), when the
target is Airflow 3. Files of the plugins folder (`--plugins`, or `plugins/` next to the DAG
folder) are where triggers belong and are not reported.
""",
    why="""
deferring.rst (Airflow 3): "Your trigger must not come from a Dag bundle - anywhere else on
`sys.path` is fine. The triggerer does not initialize any bundles when running a trigger."
On Airflow 2 the DAG folder was on every component's `sys.path`, so a trigger next to the DAGs
worked; after the upgrade every task that defers to it fails with "Trigger failed to load
code".
""",
    example="""
# dags/common/triggers.py
class ExportReadyTrigger(BaseTrigger):
    ...
""",
    use_instead="""
# plugins/acme/triggers.py (imported as acme.triggers.ExportReadyTrigger)
class ExportReadyTrigger(BaseTrigger):
    ...
""",
    fix_safety="No fix: moving a module changes its import path for every DAG that uses it.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    async def run(self):
        yield TriggerEvent(None)
""",
            count=0,
            target="2.10",
            note="Airflow 2 puts the DAG folder on the triggerer's sys.path",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    async def run(self):
        yield TriggerEvent(None)
"""
        ),
    ),
)
