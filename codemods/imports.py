"""DA110: a name imported from a module the target Airflow removed is imported from the module
that defines its class there (``from airflow.sensors.external_task_sensor import
ExternalTaskSensor`` becomes ``from airflow.providers.standard.sensors.external_task import
ExternalTaskSensor``). The local name stays what it was, so no other line changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node

from codemods.actions import REWRITE_IMPORT, EditTarget
from codemods.targets import ImportEdit, TargetedCommand


def edit_rewrite_import(
    command: TargetedCommand, target: EditTarget, statement: cst.ImportFrom, alias: cst.ImportAlias
) -> cst.ImportFrom | None:
    """``details``: ``module`` and ``name`` as the file imports them, ``new_module`` and
    ``new_name`` where the class is on the target. The only name of its statement: the
    statement's module changes. One of several: it leaves the statement for an import of its
    own (libcst's AddImportsVisitor), the others stay. None when the statement no longer
    imports that name from that module (a file changed since the scan)."""
    details = target.details
    old, name = str(details.get("module", "")), str(details.get("name", ""))
    new_module, new_name = str(details.get("new_module", "")), str(details.get("new_name", ""))
    if not (old and name and new_module and new_name) or statement.relative:
        return None
    if statement.module is None or get_full_name_for_node(statement.module) != old:
        return None
    if isinstance(statement.names, cst.ImportStar):
        return None
    local = _local(alias)
    names = list(statement.names)
    here = [a for a in names if get_full_name_for_node(a.name) == name and _local(a) == local]
    if not here:
        return None
    alias_as = None if local == new_name else cst.AsName(name=cst.Name(local))
    if len(names) == 1:
        moved = here[0].with_changes(name=cst.Name(new_name), asname=alias_as)
        return statement.with_changes(module=cst.parse_expression(new_module), names=[moved])
    AddImportsVisitor.add_needed_import(
        command.context, new_module, new_name, None if local == new_name else local
    )
    rest = [a for a in names if a is not here[0]]
    if statement.rpar is None:
        # Unparenthesised: the last name keeps no trailing comma.
        rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(names=rest)


def _local(alias: cst.ImportAlias) -> str:
    """The name an import binds: its ``as`` name, else its own."""
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return get_full_name_for_node(alias.name) or ""


class RewriteImportCommand(TargetedCommand):
    DESCRIPTION = (
        "Import classes from where the target Airflow defines them, not from modules it "
        "removed (targets chosen by deferaudit's scan)."
    )
    IMPORT_EDITS: ClassVar[Mapping[str, ImportEdit]] = {REWRITE_IMPORT: edit_rewrite_import}
