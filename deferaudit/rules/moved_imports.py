"""The import rewrite for a class imported through a module the target Airflow removed (DA110),
shared with the DA1xx rules: their ``deferrable`` fix is safe once this rewrite is mechanical."""

from __future__ import annotations

from deferaudit.fixes import RewriteImport
from deferaudit.resolve import ResolvedTask
from deferaudit.rules.base import FileContext


def import_rewrite(ctx: FileContext, task: ResolvedTask) -> RewriteImport | None:
    """``from <removed module> import Name`` rewritten to the module that defines the class on
    the target, when the call names the class by a name bound by exactly that one import (no
    ``try/except`` fallback, no ``module.Name`` call). Unsafe when the class's distribution is
    neither pinned by the project nor installed: whether the DAG then imports is unknown."""
    moved = task.cls.moved
    facts = ctx.facts
    if moved is None or facts is None:
        return None
    imported, canonical = moved
    local = task.site.callee
    if not local.isidentifier() or tuple(facts.imports.get(local, ())) != (imported,):
        return None
    at = facts.import_at.get(local)
    if at is None or "." not in imported or "." not in canonical:
        return None
    module, name = imported.rsplit(".", 1)
    new_module, new_name = canonical.rsplit(".", 1)
    reasons: list[str] = []
    # Other names the file imports from the removed module fail to import all the same,
    # unless they are task classes this rule moves too.
    moving = {
        t.site.callee
        for t in ctx.tasks
        if t.cls.moved is not None and t.cls.moved[0].rsplit(".", 1)[0] == module
    }
    left = sorted(
        other
        for other, paths in facts.imports.items()
        if other not in moving
        and other not in facts.aliases
        and any(p.rsplit(".", 1)[0] == module for p in paths)
    )
    if left:
        names = ", ".join(f"`{n}`" for n in left[:3])
        reasons.append(
            f"the file also imports {names} from `{module}`, which this fix does not move: "
            "the DAG still fails to import until that import is changed too"
        )
    entry = task.cls.entry
    versions = ctx.resolver.versions if ctx.resolver is not None else None
    if entry is not None and (versions is None or versions.version_of(entry.package) is None):
        reasons.append(
            f"`{new_module}` is in `{entry.package}`, which the project neither pins nor has "
            "installed here: the DAG imports only where that package is installed"
        )
    words = f"`{new_name}`" if new_name == name else f"`{new_name}` as `{local}`"
    return RewriteImport(
        description=f"import {words} from `{new_module}` instead of `{module}`",
        at=at,
        module=module,
        name=name,
        new_module=new_module,
        new_name=new_name,
        unsafe_reasons=tuple(reasons),
    )
