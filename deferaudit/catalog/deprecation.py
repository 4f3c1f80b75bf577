"""What a class's own source says about its deprecation: the message, and the successor it names.

Read from ``@deprecated(...)`` decorators (the ``deprecated`` package's and the Google
provider's own ``use_instead=`` form), unconditional ``warnings.warn(..., DeprecationWarning)``
calls in ``__init__``, an ``is_deprecated = True`` class attribute, and the docstring.
"""

from __future__ import annotations

import ast
import re

from deferaudit.catalog.parameters import InitChain
from deferaudit.catalog.source_module import callee_name, const_str
from deferaudit.catalog.universe import ClassInfo

_DEPRECATION_CATEGORY = re.compile(r"Deprecat|RemovedIn|FutureWarning|PendingDeprecation")
_CLASS_PATH = re.compile(r"\b((?:airflow|astronomer)(?:\.\w+)+\.[A-Z]\w*)")
_FROM_IMPORT = re.compile(r"from\s+([\w.]+)\s+import\s+(\w+)")
_MESSAGE_LIMIT = 300


def _message_text(expr: ast.expr) -> str:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for value in expr.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _message_text(expr.left) + _message_text(expr.right)
    return ast.unparse(expr)


def _trim(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 1].rstrip() + "…"
    return text


def deprecation_message(info: ClassInfo, chain: InitChain) -> str | None:
    """Why the class is deprecated, in its own words (trimmed), or None when it is not."""
    for decorator in info.node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = callee_name(call) if call is not None else ast.unparse(decorator).split(".")[-1]
        if name != "deprecated":
            continue
        if call is not None:
            message = next(
                (kw.value for kw in call.keywords if kw.arg in ("reason", "message")), None
            )
            if message is None and call.args:
                message = call.args[0]
            if message is not None:
                return _trim(_message_text(message))
            # the Google provider's own decorator: use_instead=..., planned_removal_date=...
            words = {kw.arg: const_str(kw.value) for kw in call.keywords if kw.arg}
            if words.get("use_instead"):
                text = f"Use {words['use_instead']} instead"
                if words.get("planned_removal_date"):
                    text += f" (removal planned {words['planned_removal_date']})"
                return _trim(text)
        return _trim(ast.get_docstring(info.node) or "deprecated")
    for _owner, init in chain:
        for stmt in init.body:  # only unconditional warnings: a warning inside an `if` is
            # usually about one deprecated argument, not the class
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
                continue
            call = stmt.value
            if callee_name(call) != "warn" or not call.args:
                continue
            category = call.args[1] if len(call.args) > 1 else None
            category = next((kw.value for kw in call.keywords if kw.arg == "category"), category)
            if category is not None and _DEPRECATION_CATEGORY.search(ast.unparse(category)):
                return _trim(_message_text(call.args[0]))
    if _class_attribute(info.node, "is_deprecated") is True:
        doc = ast.get_docstring(info.node) or "deprecated"
        return _trim(doc)
    return None


def _class_attribute(node: ast.ClassDef, name: str) -> object:
    """The constant a class body assigns to ``name``, or None."""
    for stmt in node.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign):
            targets = [stmt.target]
        named = any(isinstance(t, ast.Name) and t.id == name for t in targets)
        value = getattr(stmt, "value", None)
        if named and isinstance(value, ast.Constant):
            return value.value
    return None


def replacement_hints(info: ClassInfo, chain: InitChain) -> tuple[str, ...]:
    """Class paths the class's own deprecation metadata names as its successor, best first."""
    texts: list[str] = []
    attr = _class_attribute(info.node, "post_deprecation_replacement")
    if isinstance(attr, str):
        texts.append(attr)
    own = [init for owner, init in chain if owner is info]
    for init in own:
        for node in ast.walk(init):
            if isinstance(node, ast.Call) and callee_name(node) == "warn" and node.args:
                texts.append(_message_text(node.args[0]))
    for decorator in info.node.decorator_list:
        if isinstance(decorator, ast.Call) and callee_name(decorator) == "deprecated":
            texts.extend(_message_text(a) for a in decorator.args)
            texts.extend(_message_text(k.value) for k in decorator.keywords)
    texts.append(ast.get_docstring(info.node) or "")
    hints: list[str] = []
    for text in texts:
        for module, name in _FROM_IMPORT.findall(text):
            hints.append(f"{module}.{name}")
        hints.extend(_CLASS_PATH.findall(text))
    return tuple(dict.fromkeys(hints))
