"""What a rule is, what it returns, and the per-file context it reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Literal

from deferaudit.call_form import call_fingerprint
from deferaudit.catalog import Catalog
from deferaudit.facts import Built, DagFacts, FileFacts, Span, TaskSite
from deferaudit.fixes.model import Fix, TaskFix
from deferaudit.record import fields_copy, record
from deferaudit.resolve import ClassResolver, ResolvedTask
from deferaudit.settings import Settings
from deferaudit.target import Target

Severity = Literal["error", "warning", "info"]
# Whether a rule's findings come with a fix (ruff's fix availability): "sometimes" when the fix
# depends on the task (the class, the target version, the arguments it passes).
FixAvailability = Literal["always", "sometimes", "never"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@record
class Suppressible:
    """Where a ``# deferaudit: ignore`` comment can hide a finding: comments on ``lines``, and
    ``codes`` already known to be suppressed there (a task's call, with ``reasons``). The one
    suppression pass (deferaudit.suppression) decides; rules never do."""

    lines: tuple[int, ...] = ()
    codes: frozenset[str] = frozenset()
    reasons: Mapping[str, str] = field(default_factory=dict)


# Nothing known yet: comments decide (a rule's default).
NOT_SUPPRESSED = Suppressible()


# One JSON encoder for every finding (``json.dumps`` with an argument makes a new one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False)
_ENCODE = _ENCODER.encode
# Its C encoder, made once: ``encode`` makes a new one (and a float formatter) per call. No
# circular check: a finding's JSON is a tree of fresh dicts and lists (the text is the same).
_C_ENCODER = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None, _ENCODER.default, encode_basestring, None, ": ", ", ", False, False, True
    )
)


def _encode(value: Any) -> str:
    if _C_ENCODER is None:  # pragma: no cover - a Python without the C accelerator
        return _ENCODE(value)
    return "".join(_C_ENCODER(value, 0))


@record
class Finding:
    """One problem at one place.

    Rules make it with ``suppressible`` (None: no comment can hide it, as DA002's); the
    suppression pass sets ``suppressed`` and ``suppression_reason`` and drops ``suppressible``,
    and the cost model sets ``cost``.
    """

    rule: str
    kind: str
    severity: Severity
    path: str
    span: Span
    message: str
    dag_id: str | None = None
    task_id: str | None = None
    operator: str | None = None
    fix: Fix | None = None
    suppressed: bool = False
    # The normal form of the task's call, hashed (deferaudit.call_form): baselines key on it.
    fingerprint: str = ""
    # The words after a suppression comment that hid this finding (None: none given).
    suppression_reason: str | None = None
    # What the task's waiting costs (deferaudit.cost.model.SlotCost); None for findings on
    # tasks that do not wait. The deferaudit/1 JSON document writes it as "cost".
    cost: Any = None
    suppressible: Suppressible | None = NOT_SUPPRESSED
    # For a task the project's code builds (a factory, a wrapper class): where its operator
    # call is written and the calls that led there (deferaudit.expand).
    built: Built | None = None
    # Where the fix edits when that is not the finding's span: the operator call a factory
    # writes (in the file the fix names, ``Fix.path``, when it is not the finding's own).
    fix_at: Span | None = None

    def finished(self, suppressed: bool, reason: str | None, cost: Any) -> Finding:
        """``evolve(self, suppressed=suppressed, suppression_reason=reason, cost=cost,
        suppressible=None)``, as the judging of a file ends each finding: without the
        keyword handling, for every finding of every file."""
        copy = fields_copy(self, _FINDING_FIELDS)
        fields = copy.__dict__
        fields["suppressed"] = suppressed
        fields["suppression_reason"] = reason
        fields["suppressible"] = None
        fields["cost"] = cost
        return copy

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.rule)

    def json_text(self) -> str:
        """``to_json`` as JSON text, made once per finding: in the process that judged the
        file, and kept with it in the outcomes cache, so a report of 35,000 findings is not
        encoded again in the parent on every run. Kept outside the fields (a new finding from
        ``dataclasses.replace`` makes its own); the cache key carries deferaudit's code."""
        text = self.__dict__.get("_json")
        if text is None:
            text = _finding_text(self)
            self.__dict__["_json"] = text
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "path": self.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "operator": self.operator,
            "message": self.message,
            "fix": self.fix.to_json() if self.fix else None,
            "built_at": self.built.to_json() if self.built else None,
            "called_from": self.built.frames_json() if self.built else [],
        }


_FINDING_FIELDS: tuple[str, ...] = Finding.__record_fields__  # type: ignore[attr-defined]
# A str's JSON text, as the encoder writes it (``ensure_ascii=False``).
_STR = encode_basestring


def _finding_text(f: Finding) -> str:
    """``_encode(f.to_json())``, written out: the same text without a dict per finding and an
    encoder call per key (the findings' JSON was a tenth of judging a file). A field of a
    type other than the usual goes through the encoder (``_STR`` takes a str only)."""
    span = f.span
    line, column, end_line, end_column = span.line, span.column, span.end_line, span.end_column
    if (
        type(line) is int
        and type(column) is int
        and type(end_line) is int
        and type(end_column) is int
    ):
        dag_id, task_id, operator, fix, built = f.dag_id, f.task_id, f.operator, f.fix, f.built
        try:
            return (
                f'{{"rule": {_STR(f.rule)}, "kind": {_STR(f.kind)}, '
                f'"severity": {_STR(f.severity)}, "path": {_STR(f.path)}, '
                f'"line": {line}, "column": {column}, "end_line": {end_line}, '
                f'"end_column": {end_column}, '
                f'"dag_id": {"null" if dag_id is None else _STR(dag_id)}, '
                f'"task_id": {"null" if task_id is None else _STR(task_id)}, '
                f'"operator": {"null" if operator is None else _STR(operator)}, '
                f'"message": {_STR(f.message)}, "fix": {_fix_text(fix) if fix else "null"}, '
                f'"built_at": {_encode(built.to_json()) if built else "null"}, '
                f'"called_from": {_encode(built.frames_json()) if built else "[]"}}}'
            )
        except TypeError:
            pass  # a field the str encoder does not take
    return _encode(f.to_json())


# (fix class, description, unsafe reasons, path) -> the fix's JSON text: ``Fix.to_json`` reads
# nothing else, and a folder's fixes come in a few hundred shapes (kept per process).
_FIX_TEXT: dict[tuple[Any, ...], str] = {}
_FIX_TO_JSON = Fix.to_json


def _fix_text(fix: Fix) -> str:
    kind = type(fix)
    description, path = fix.description, fix.path
    if (
        kind.to_json is not _FIX_TO_JSON
        or type(description) is not str
        or not (path is None or type(path) is str)
    ):
        return _encode(fix.to_json())
    key = (kind, description, fix.unsafe_reasons, path)
    try:
        text = _FIX_TEXT.get(key)
    except TypeError:  # reasons that are not a tuple
        return _encode(fix.to_json())
    if text is None:
        if len(_FIX_TEXT) >= 4096:
            _FIX_TEXT.clear()
        text = _FIX_TEXT[key] = _encode(fix.to_json())
    return text


# Parameters that decide how a task waits: a factory whose calls give them cannot be fixed in
# one edit for all of its calls.
_WAITING_PARAMS = frozenset(
    {"mode", "deferrable", "timeout", "poke_interval", "exponential_backoff", "soft_fail", "**"}
)


def _fingerprint(ctx: FileContext, site: TaskSite) -> str:
    """``call_fingerprint`` once per site, however many rules report it."""
    key = ("fingerprint", id(site))
    found = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = call_fingerprint(site)
    return found


def waiting_given(built: Built) -> tuple[str, ...]:
    """The waiting parameters (``_WAITING_PARAMS``, ``wait_for*``) whose values a
    factory-built task gets from the calls that built it, sorted."""
    return tuple(
        sorted(
            name
            for name in built.from_call
            if name in _WAITING_PARAMS or name.startswith("wait_for")
        )
    )


def in_one_file(path: str, built: Built) -> bool:
    """Whether the factory and every call on the way stand in the reported file."""
    return built.path == path and all(f.path == path for f in built.chain)


def _factory_fix_at(path: str, built: Built, fix: Fix) -> Span | None:
    """Where a factory-built task's fix edits: the operator call in the factory, when this
    call gives it none of the waiting parameters; None otherwise (one edit there could not
    serve this call). A factory in another file takes only an edit of the task's call (a
    ``TaskFix``: other fixes read positions of the reported file). Whether the edit serves
    every call of the factory, and whether the project owns its file, is decided once per
    scan from all the calls (``deferaudit.evaluate.share_factory_fixes``)."""
    if built.span is None:
        return None
    if not in_one_file(path, built) and not isinstance(fix, TaskFix):
        return None
    if waiting_given(built):
        return None
    return built.span


@record
class FileContext:
    """What rules see of one file: its facts (or why it has none) and its resolved tasks."""

    path: str
    facts: FileFacts | None
    error: str | None
    tasks: tuple[ResolvedTask, ...]
    target: Target
    settings: Settings
    catalog: Catalog
    dags: Mapping[str, DagFacts] = field(default_factory=dict)
    # "dag": a DAG file; "module": a file of the DAG folder that Airflow's safe mode skips
    # (read only for its classes); "plugin": a file of a plugins folder.
    role: str = "dag"
    # The scan's class table (classes of every scanned and plugin file), for rules that
    # follow a class to its bases or to the trigger it defers to.
    resolver: ClassResolver | None = None
    # Per-task answers shared by the rules of this file (each rule asks the same question).
    memo: dict[tuple[str, int], Any] = field(default_factory=dict, compare=False, repr=False)


@record
class Example:
    """A DAG file a rule must flag (``count`` times) or leave alone (``count`` 0)."""

    code: str
    count: int = 1
    target: str = "3.3"
    note: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)  # Settings fields to set


@record
class Rule:
    """One rule: its identity, its documentation, its examples and its check."""

    code: str
    name: str
    severity: Severity
    summary: str
    what: str
    why: str
    example: str
    use_instead: str
    fix_safety: str
    check: Callable[[Rule, FileContext], Iterable[Finding]]
    valid: tuple[Example, ...] = ()
    invalid: tuple[Example, ...] = ()
    fix_availability: FixAvailability = "never"
    # True for a rule whose check reads nothing but the classes the file defines
    # (``custom_code.own_classes``): it finds nothing in a file that defines none, and is not
    # run there (most DAG files).
    own_classes_only: bool = False

    @property
    def fixable(self) -> bool:
        return self.fix_availability != "never"

    def finding(
        self,
        ctx: FileContext,
        task: ResolvedTask,
        message: str,
        fix: Fix | None = None,
    ) -> Finding:
        site = task.site
        fix_at = None
        if site.built is not None:
            fix_at = _factory_fix_at(ctx.path, site.built, fix) if fix is not None else None
            if fix_at is None:
                fix = None
        where = (
            Suppressible((), site.suppressed, site.suppression_reasons)
            if site.suppressed
            else NOT_SUPPRESSED
        )
        # Positional, in the field order (tests/test_record.py pins it): a call of 14
        # keywords matches each against 17 parameter names, for every finding.
        return Finding(
            self.code,  # rule
            self.name,  # kind
            self.severity,
            ctx.path,
            site.span,
            message,
            task.dag_id,
            task.task_id,
            task.operator,
            fix,
            False,  # suppressed
            _fingerprint(ctx, site),
            None,  # suppression_reason
            None,  # cost
            where,  # suppressible
            site.built,
            fix_at,
        )

    def documentation(self) -> str:
        """The rule's page, as ``deferaudit explain`` prints it."""
        return "\n".join(
            [
                f"# {self.code} ({self.name})",
                "",
                f"Severity: {self.severity}",
                "",
                "## What it does",
                self.what.strip(),
                "",
                "## Why it matters",
                self.why.strip(),
                "",
                "## Example",
                "```python",
                self.example.strip("\n"),
                "```",
                "",
                "## Use instead",
                "```python",
                self.use_instead.strip("\n"),
                "```",
                "",
                "## Fix safety",
                self.fix_safety.strip(),
                "",
            ]
        )
