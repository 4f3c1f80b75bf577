"""Stable identities of findings for code-scanning tools: no line numbers, unique in a report."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from deferaudit.rules.base import Finding


def identity(finding: Finding) -> str:
    """Path, rule, DAG, task and the normal form of the call, hashed (what baselines key on)."""
    parts = (
        finding.path,
        finding.rule,
        finding.dag_id or "",
        finding.task_id or "",
        finding.fingerprint,
    )
    text = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def unique_identities(findings: Sequence[Finding]) -> list[str]:
    """Each finding's identity, with ``:2``, ``:3``... on repeats (identical tasks in a loop),
    in the order of the findings (which the scan sorts by place)."""
    seen: Counter[str] = Counter()
    out = []
    for finding in findings:
        base = identity(finding)
        seen[base] += 1
        out.append(base if seen[base] == 1 else f"{base}:{seen[base]}")
    return out
