"""Which calls a codemod edits: positions decided by a scan (the caller's, or a registered
target provider's), never by the codemod."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, ClassVar

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import GatherImportsVisitor, RemoveImportsVisitor
from libcst.metadata import PositionProvider

from codemods.actions import EditTarget

# Who decides what a command edits when it runs alone (``python -m libcst.tool codemod``): a
# function registered under this entry-point group, called as provider(filename, actions,
# unsafe). deferaudit registers its scan; the codemods import nothing of the scanner.
TARGET_PROVIDERS = "codemods.target_providers"

TargetProvider = Callable[[str, Sequence[str], bool], Sequence[EditTarget]]


class NoTargetProviderError(Exception):
    """A command ran without targets and no target provider is installed."""


def target_provider() -> TargetProvider:
    """The registered target provider (the first by name when several are installed)."""
    found = sorted(entry_points(group=TARGET_PROVIDERS), key=lambda e: e.name)
    if not found:
        raise NoTargetProviderError(
            f"no {TARGET_PROVIDERS!r} entry point is installed: install deferaudit, or pass "
            "targets to the command"
        )
    provider: TargetProvider = found[0].load()
    return provider


CallEdit = Callable[["TargetedCommand", EditTarget, cst.Call], "cst.Call | None"]
DecoratorEdit = Callable[["TargetedCommand", EditTarget, cst.Decorator], "cst.Decorator | None"]
ExpressionEdit = Callable[
    ["TargetedCommand", EditTarget, cst.BaseExpression], "cst.BaseExpression | None"
]
# An edit of one name of ``from module import a, b``: given the statement as edited so far and
# the name's alias, the statement after the edit.
ImportEdit = Callable[
    ["TargetedCommand", EditTarget, cst.ImportFrom, cst.ImportAlias], "cst.ImportFrom | None"
]


class TargetedCommand(VisitorBasedCodemodCommand):
    """Edits exactly the calls named by ``targets``; ``EDITS`` maps an action to its edit.

    All positions refer to the file as scanned, so every edit of a file happens in this one
    traversal (a second pass would see lines moved by the first).
    """

    METADATA_DEPENDENCIES = (PositionProvider,)
    EDITS: ClassVar[Mapping[str, CallEdit]] = {}
    DECORATOR_EDITS: ClassVar[Mapping[str, DecoratorEdit]] = {}
    # Edits of any expression that starts at the target's position (not only calls).
    EXPRESSION_EDITS: ClassVar[Mapping[str, ExpressionEdit]] = {}
    # Edits of one imported name, at the name's position in ``from module import ...``.
    IMPORT_EDITS: ClassVar[Mapping[str, ImportEdit]] = {}
    UNSAFE: ClassVar[bool] = False

    def __init__(
        self, context: CodemodContext, targets: Sequence[EditTarget] | None = None
    ) -> None:
        super().__init__(context)
        self._given = None if targets is None else list(targets)
        self._targets: dict[tuple[int, int], EditTarget] | None = None
        self._bound: dict[str, tuple[str, str | None, str | None]] | None = None
        self.applied: list[EditTarget] = []

    @classmethod
    def actions(cls) -> tuple[str, ...]:
        return tuple(
            sorted({*cls.EDITS, *cls.DECORATOR_EDITS, *cls.EXPRESSION_EDITS, *cls.IMPORT_EDITS})
        )

    def targets(self) -> dict[tuple[int, int], EditTarget]:
        if self._targets is None:
            given = self._given
            if given is None:
                # Run as ``python -m libcst.tool codemod``: ask the provider what to edit.
                filename = self.context.filename
                given = target_provider()(filename, self.actions(), self.UNSAFE) if filename else []
            self._targets = {t.key: t for t in given if t.action in self.actions()}
        return self._targets

    def target_at(self, node: cst.CSTNode) -> EditTarget | None:
        targets = self.targets()
        if not targets:
            return None
        position = self.get_metadata(PositionProvider, node).start
        return targets.get((position.line, position.column + 1))

    def callee_matches(self, target: EditTarget, func: cst.BaseExpression) -> bool:
        """The call still names the class the scan saw (guards against a file changed since)."""
        if not target.callee:
            return True
        return self.module.code_for_node(func) == target.callee

    def bound_names(self) -> dict[str, tuple[str, str | None, str | None]]:
        """Names the module binds by import -> (module, object or None, alias or None)."""
        if self._bound is None:
            gather = GatherImportsVisitor(self.context)
            self.module.visit(gather)
            bound: dict[str, tuple[str, str | None, str | None]] = {}
            for module in gather.module_imports:
                bound.setdefault(module.split(".", 1)[0], (module, None, None))
            for module, alias in gather.module_aliases.items():
                bound[alias] = (module, None, alias)
            for module, names in gather.object_mapping.items():
                for name in names:
                    bound[name] = (module, name, None)
            for module, aliases in gather.alias_mapping.items():
                for name, alias in aliases:
                    bound[alias] = (module, name, alias)
            self._bound = bound
        return self._bound

    def remove_import_of(self, func: cst.BaseExpression) -> None:
        """Schedule the import that binds a callee's root name for removal once unused."""
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name):
            return
        found = self.bound_names().get(root.value)
        if found is None:
            return
        module, obj, alias = found
        RemoveImportsVisitor.remove_unused_import(self.context, module, obj, alias)

    def _edit(self, anchor: cst.CSTNode, edits: Mapping[str, Any], node: Any) -> Any:
        """``node`` edited by the target at ``anchor``'s position, if there is one."""
        target = self.target_at(anchor)
        edit = edits.get(target.action) if target is not None else None
        if target is None or edit is None:
            return node
        changed = edit(self, target, node)
        if changed is None:
            return node
        self.applied.append(target)
        return changed

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        return self._edit(original_node, self.EDITS, updated_node)

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        result = super().on_leave(original_node, updated_node)
        if (
            self.EXPRESSION_EDITS
            and isinstance(original_node, cst.BaseExpression)
            and result is updated_node
        ):
            return self._edit(original_node, self.EXPRESSION_EDITS, updated_node)
        return result

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if not self.IMPORT_EDITS or isinstance(original_node.names, cst.ImportStar):
            return updated_node
        result = updated_node
        for alias in original_node.names:
            target = self.target_at(alias)
            edit = self.IMPORT_EDITS.get(target.action) if target is not None else None
            if target is None or edit is None:
                continue
            changed = edit(self, target, result, alias)
            if changed is not None:
                result = changed
                self.applied.append(target)
        if isinstance(result.names, Sequence) and not result.names:
            return cst.RemovalSentinel.REMOVE
        return result

    def leave_Decorator(
        self, original_node: cst.Decorator, updated_node: cst.Decorator
    ) -> cst.Decorator:
        # A bare ``@task.sensor`` has no call: the scan's position is the decorator's
        # expression (after the ``@``). ``@task.sensor(...)`` is a call, edited in leave_Call.
        if isinstance(original_node.decorator, cst.Call):
            return updated_node
        return self._edit(original_node.decorator, self.DECORATOR_EDITS, updated_node)


def inner_partial(call: cst.Call) -> cst.Call | None:
    """For ``X.partial(...).expand(...)``: the ``partial`` call, where arguments belong."""
    func = call.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value in ("expand", "expand_kwargs")
        and isinstance(func.value, cst.Call)
        and isinstance(func.value.func, cst.Attribute)
        and func.value.func.attr.value == "partial"
    ):
        return func.value
    return None


def edit_task_call(
    command: TargetedCommand,
    target: EditTarget,
    call: cst.Call,
    change: Callable[[cst.Call], cst.Call],
) -> cst.Call | None:
    """Apply ``change`` to the call that takes the task's arguments (``partial`` when mapped);
    None when the call no longer names the class the scan saw."""
    inner = inner_partial(call)
    if inner is not None:
        inner_func = inner.func
        assert isinstance(inner_func, cst.Attribute)
        if not command.callee_matches(target, inner_func.value):
            return None
        func = call.func
        assert isinstance(func, cst.Attribute)
        return call.with_changes(func=func.with_changes(value=change(inner)))
    if command.callee_matches(target, call.func):
        return change(call)
    # ``functools.partial(S3KeySensor, ...)``: the class and the keywords bound to it are the
    # task's call; the change is made to ``S3KeySensor(...)`` and put back into ``partial``.
    first = call.args[0] if call.args else None
    if (
        first is None
        or first.keyword is not None
        or first.star
        or not command.module.code_for_node(call.func).endswith("partial")
        or not command.callee_matches(target, first.value)
    ):
        return None
    changed = change(call.with_changes(func=first.value, args=call.args[1:]))
    return call.with_changes(args=[first.with_changes(value=changed.func), *changed.args])
