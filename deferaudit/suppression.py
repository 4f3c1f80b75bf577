"""The one suppression pass: which findings a ``# deferaudit: ignore`` comment hides, and why."""

from __future__ import annotations

from deferaudit.facts import FileFacts
from deferaudit.rules.base import Finding

__all__ = ["suppression_of"]


def suppression_of(finding: Finding, facts: FileFacts | None) -> tuple[bool, str | None]:
    """Whether the finding is hidden, and the words written after the comment that hid it.

    A comment hides a finding when it names the finding's rule (or no rule: ``*``) on one of
    the finding's lines, or on a task's call whose codes the extractor collected.
    """
    where = finding.suppressible
    if where is None:
        return False, None
    if not where.lines and not where.codes:
        return False, None  # nothing can hide it (most findings)
    code = finding.rule
    found = set(where.codes)
    if facts is not None:
        for line in where.lines:
            found |= facts.suppressions.get(line, frozenset())
    if code not in found and "*" not in found:
        return False, None
    reason = where.reasons.get(code) or where.reasons.get("*")
    if reason is None and facts is not None and where.lines:
        for comment in facts.suppression_comments:
            if comment.span.line in where.lines and (code in comment.codes or "*" in comment.codes):
                reason = reason or comment.reason
    return True, reason
