"""The rule registry: every ``daNNN_name`` module of this package, found by registration."""

from __future__ import annotations

import importlib
import os
import re

from deferaudit.rules.base import Example, FileContext, Finding, Fix, Rule

# A rule is a module of this package named for its code (``da101_poke_sensor``) that defines
# ``RULE``: adding a rule is adding its file.
_RULE_MODULE = re.compile(r"^da\d{3}_\w+$")


def _registered() -> tuple[Rule, ...]:
    rules = []
    # A plain listing, not pkgutil (which costs 12 ms of imports on every run).
    names = sorted(
        entry.name[:-3]
        for folder in __path__
        for entry in os.scandir(folder)
        if entry.name.endswith(".py")
    )
    for name in names:
        if _RULE_MODULE.match(name):
            rule = importlib.import_module(f"{__name__}.{name}").RULE
            if not name.startswith(rule.code.lower() + "_"):
                raise ImportError(f"{name} defines {rule.code}: name the file for its code")
            rules.append(rule)
    codes = [rule.code for rule in rules]
    if len(set(codes)) != len(codes):
        raise ImportError(f"two rule modules define one code: {sorted(codes)}")
    return tuple(sorted(rules, key=lambda rule: rule.code))


RULES: tuple[Rule, ...] = _registered()
RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


class UnknownRuleError(Exception):
    """A rule code or name that no rule has."""


def find_rule(code_or_name: str) -> Rule:
    wanted = code_or_name.strip()
    for rule in RULES:
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            return rule
    raise UnknownRuleError(f"unknown rule {code_or_name!r} (see `deferaudit rules`)")


def validate_selectors(selectors: tuple[str, ...], where: str) -> None:
    """Every --select/--ignore entry must prefix at least one rule code (or be ALL)."""
    for selector in selectors:
        if selector == "ALL":
            continue
        if not any(rule.code.startswith(selector) for rule in RULES):
            raise UnknownRuleError(f"{where}: {selector!r} matches no rule code")


__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "Example",
    "FileContext",
    "Finding",
    "Fix",
    "Rule",
    "UnknownRuleError",
    "find_rule",
    "validate_selectors",
]
