"""Requirement text and version constraints: ``name[extras] spec ; marker`` lines, PEP 440
clauses and Poetry's forms (``^2.6``, ``~2.6``, bare versions), read without ``packaging``'s
strictness so that a project's own spelling (``>=2.5 <3``) is still understood."""

from __future__ import annotations

import re

NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REQ = re.compile(rf"^(?P<name>{NAME})\s*(?:\[[^\]]*\])?\s*(?P<rest>.*)$")
_CLAUSE = re.compile(r"^(===|==|~=|!=|<=|>=|<|>)\s*([A-Za-z0-9][A-Za-z0-9.*+!_-]*)$")
POETRY_EXACT = re.compile(r"^(?:===?|=)?\s*(\d[A-Za-z0-9.+!_-]*)$")


def normalise(name: str) -> str:
    """PEP 503 name normalisation: ``Apache_Airflow.Providers`` -> ``apache-airflow-providers``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text: str) -> tuple[str, str, str | None] | None:
    """``name[extras] spec ; marker`` -> (normalised name, spec, exact version or None)."""
    match = _REQ.match(text.split(";", 1)[0].strip())
    if not match:
        return None
    name, rest = normalise(match["name"]), match["rest"].strip()
    if rest.startswith("@"):
        return (name, rest, None) if len(rest) > 1 else None
    rest = rest[1:-1].strip() if rest.startswith("(") and rest.endswith(")") else rest
    if not rest:
        return name, "", None
    clauses = [_CLAUSE.match(c.strip()) for c in rest.split(",")]
    if not all(clauses):
        return None
    spec = ",".join(f"{m[1]}{m[2]}" for m in clauses if m)
    op, version = clauses[0][1], clauses[0][2]  # type: ignore[index]
    exact = len(clauses) == 1 and op in ("==", "===") and "*" not in version
    return name, spec, (version if exact else None)


def clauses(spec: str) -> list[tuple[str, str]] | None:
    """A requirement's version clauses (``apache-airflow>=2.5,<3`` or ``>=2.5,<3`` ->
    ``[(">=", "2.5"), ("<", "3")]``), Poetry's forms included (``^2.6`` -> ``>=2.6,<3``,
    ``~2.6`` -> ``>=2.6,<2.7``, a bare ``2.6.1`` -> ``==2.6.1``, clauses split by commas or
    spaces); None when they cannot be read (an ``||`` alternative, a URL)."""
    text = spec.split(";", 1)[0].strip()
    if text[:1].isalpha():  # a requirement with its name (a bare version starts with a digit)
        parsed = parse_requirement(text)
        if parsed is None:
            return None
        text = parsed[1]
    if "||" in text or "|" in text:
        return None
    found: list[tuple[str, str]] = []
    for piece in re.sub(r"(===|==|~=|!=|<=|>=|<|>|\^|~)\s+", r"\1", text).replace(",", " ").split():
        poetry = _poetry_clauses(piece)
        if poetry is None:
            return None
        found += poetry
    return found or None


def _poetry_clauses(piece: str) -> list[tuple[str, str]] | None:
    """One clause, with Poetry's caret and tilde ranges spelled as PEP 440 bounds."""
    match = _CLAUSE.match(piece)
    if match:
        return [(match[1], match[2])]
    exact = POETRY_EXACT.match(piece)
    if exact:
        return [("==", exact[1])]
    if re.fullmatch(r"\d+(?:\.\d+)*\.\*", piece):
        return [("==", piece)]
    caret = re.fullmatch(r"([\^~])(\d+(?:\.\d+){0,2})", piece)
    if caret is None:
        return None
    parts = [int(p) for p in caret[2].split(".")]
    if caret[1] == "^":
        # The first non-zero part may not change (^0.2.3 -> <0.3.0); ^0 -> <1.
        keep = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
    else:
        keep = 0 if len(parts) == 1 else 1
    upper = [*parts[:keep], parts[keep] + 1]
    return [(">=", caret[2]), ("<", ".".join(map(str, upper)))]
