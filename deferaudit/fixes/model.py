"""Typed fixes: one class per edit the codemods carry out, with how the task waits after it,
how safe it is and why.

Rules make these; the cost model reads ``after_fix``; ``edit_target`` is where the codemods
take over. They are frozen dataclasses with default pickling (the scan cache stores them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from codemods.actions import (
    ADD_DEFERRABLE,
    CLASS_DEFERRABLE_CHOICE,
    DEFERRABLE_DEFAULT_FROM_CONFIG,
    REPLACE_ASYNC_CLASS,
    REPLACE_MODE_WITH_DEFERRABLE,
    REPLACE_SERIALIZE_CLASSPATH,
    REWRITE_IMPORT,
    SET_MODE_RESCHEDULE,
    SWAP_TO_DEFERRABLE_SIBLING,
    EditTarget,
)
from deferaudit.facts import Span

Safety = Literal["safe", "unsafe"]
# How a task waits once its fix is made (the cost model's wait modes a fix can lead to).
AfterFix = Literal["deferrable", "reschedule"]


@dataclass(frozen=True, kw_only=True)
class Fix:
    """An edit that resolves a finding. It is unsafe exactly when it has reasons: an unsafe
    fix always says what may change."""

    # The id the codemods key their edit on (codemods.actions).
    action: ClassVar[str]
    # How the task waits once the edit is made; None: the edit changes no task's waiting.
    after_fix: ClassVar[AfterFix | None] = None

    description: str
    unsafe_reasons: tuple[str, ...] = ()
    # The file the edit is made in (display path), when it is not the finding's own: a
    # project class that all the finding's tasks share.
    path: str | None = None

    @property
    def safety(self) -> Safety:
        return "unsafe" if self.unsafe_reasons else "safe"

    @property
    def unsafe_text(self) -> str:
        """Why the fix is unsafe, in one line ("" for a safe fix)."""
        return "; ".join(self.unsafe_reasons)

    @property
    def details(self) -> Mapping[str, Any]:
        """What the codemod's edit reads besides the position."""
        return {}

    def edit_target(self, at: Span) -> EditTarget:
        """Where the codemods make the edit; ``at`` is the finding's span."""
        return EditTarget(at.line, at.column, self.action, details=dict(self.details))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "available": True,
            "safety": self.safety,
            "description": self.description,
            "action": self.action,
        }
        if self.unsafe_reasons:
            out["unsafe_reasons"] = list(self.unsafe_reasons)
        if self.path is not None:
            out["path"] = self.path
        return out


@dataclass(frozen=True, kw_only=True)
class TaskFix(Fix):
    """An edit of a task's call (the finding's span). The call must still name ``callee``
    when the codemod runs: a file changed since the scan is left alone."""

    callee: str

    def edit_target(self, at: Span) -> EditTarget:
        return EditTarget(at.line, at.column, self.action, self.callee, dict(self.details))


@dataclass(frozen=True, kw_only=True)
class AddDeferrable(TaskFix):
    """``deferrable=True`` added as the call's last argument."""

    action: ClassVar[str] = ADD_DEFERRABLE
    after_fix: ClassVar[AfterFix | None] = "deferrable"


@dataclass(frozen=True, kw_only=True)
class ReplaceModeWithDeferrable(TaskFix):
    """The call's explicit ``mode=...`` replaced in place by ``deferrable=True``."""

    action: ClassVar[str] = REPLACE_MODE_WITH_DEFERRABLE
    after_fix: ClassVar[AfterFix | None] = "deferrable"


@dataclass(frozen=True, kw_only=True)
class ReplaceAsyncClass(TaskFix):
    """A deprecated ``-Async`` class replaced by ``replacement`` with ``deferrable=True``;
    ``renames`` maps arguments the replacement calls by another name."""

    action: ClassVar[str] = REPLACE_ASYNC_CLASS
    after_fix: ClassVar[AfterFix | None] = "deferrable"

    replacement: str
    renames: tuple[tuple[str, str], ...] = ()

    @property
    def details(self) -> Mapping[str, Any]:
        return {"replacement": self.replacement, "renames": dict(self.renames)}


@dataclass(frozen=True, kw_only=True)
class SwapToDeferrableSibling(TaskFix):
    """A sensor whose class cannot defer becomes ``sibling``, the live ``-Async`` class of its
    package that defers in its place (imported from its module on the target line);
    ``drop`` names the call's keywords the sibling never reads, removed by the edit. Offered
    only when the catalog read that the sibling's ``execute`` defers without reaching the poke
    loop, so the task waits deferred after it. ``keep_import``: the old name is bound by
    several imports (a ``try``/``except ImportError`` fallback), which the edit leaves alone."""

    action: ClassVar[str] = SWAP_TO_DEFERRABLE_SIBLING
    after_fix: ClassVar[AfterFix | None] = "deferrable"

    sibling: str
    drop: tuple[str, ...] = ()
    keep_import: bool = False

    @property
    def details(self) -> Mapping[str, Any]:
        return {"sibling": self.sibling, "drop": list(self.drop), "keep_import": self.keep_import}


@dataclass(frozen=True, kw_only=True)
class SetRescheduleMode(TaskFix):
    """``mode="reschedule"`` for a poke sensor that cannot defer (also a bare
    ``@task.sensor``, which becomes a call)."""

    action: ClassVar[str] = SET_MODE_RESCHEDULE
    after_fix: ClassVar[AfterFix | None] = "reschedule"


@dataclass(frozen=True, kw_only=True)
class ExpressionFix(Fix):
    """One expression of a class's code, at ``span``, whose text ``old`` becomes ``new``
    (a file changed since the scan, where the text differs, is left alone)."""

    span: Span
    old: str
    new: str

    @property
    def details(self) -> Mapping[str, Any]:
        return {
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "old": self.old,
            "new": self.new,
        }

    def edit_target(self, at: Span) -> EditTarget:
        return EditTarget(self.span.line, self.span.column, self.action, details=self.details)


@dataclass(frozen=True, kw_only=True)
class ReplaceSerializeClasspath(ExpressionFix):
    """A trigger's ``serialize()`` returns its own class path."""

    action: ClassVar[str] = REPLACE_SERIALIZE_CLASSPATH


@dataclass(frozen=True, kw_only=True)
class DeferrableDefaultFromConfig(ExpressionFix):
    """A custom operator's ``deferrable`` default reads ``[operators] default_deferrable``;
    ``imports`` is the (module, name) to import, None when the file already has it."""

    action: ClassVar[str] = DEFERRABLE_DEFAULT_FROM_CONFIG

    imports: tuple[str, str] | None = None

    @property
    def details(self) -> Mapping[str, Any]:
        wanted = None
        if self.imports is not None:
            wanted = {"module": self.imports[0], "name": self.imports[1]}
        return {**super().details, "import": wanted}


@dataclass(frozen=True, kw_only=True)
class LetTasksChooseDeferrable(ExpressionFix):
    """A project subclass's ``deferrable=False`` given to its base becomes
    ``kwargs.pop("deferrable", False)`` in the class's file (``path``): every task of the class
    keeps waiting as it does, and a task can now be given ``deferrable=True``."""

    action: ClassVar[str] = CLASS_DEFERRABLE_CHOICE


@dataclass(frozen=True, kw_only=True)
class RewriteImport(Fix):
    """``from module import name`` (at ``at``: the name's line and column) becomes ``from
    new_module import new_name`` (``as name`` when the names differ): the module the target
    Airflow removed replaced by the one that defines the class there."""

    action: ClassVar[str] = REWRITE_IMPORT

    at: tuple[int, int]
    module: str
    name: str
    new_module: str
    new_name: str

    @property
    def details(self) -> Mapping[str, Any]:
        return {
            "module": self.module,
            "name": self.name,
            "new_module": self.new_module,
            "new_name": self.new_name,
        }

    def edit_target(self, at: Span) -> EditTarget:
        return EditTarget(self.at[0], self.at[1], self.action, details=dict(self.details))


# Every fix action, one class each.
FIX_TYPES: tuple[type[Fix], ...] = (
    AddDeferrable,
    ReplaceModeWithDeferrable,
    ReplaceAsyncClass,
    SetRescheduleMode,
    SwapToDeferrableSibling,
    ReplaceSerializeClasspath,
    DeferrableDefaultFromConfig,
    LetTasksChooseDeferrable,
    RewriteImport,
)
