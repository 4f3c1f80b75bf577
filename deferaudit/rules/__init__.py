"""The rule registry: one module per rule, listed here in code order."""

from __future__ import annotations

from deferaudit.rules import (
    da001_parse_error,
    da002_suppression_without_reason,
    da101_poke_sensor,
    da102_reschedule_sensor,
    da103_async_class,
    da104_blocking_operator,
    da105_poke_no_deferrable,
    da106_deferrable_opt_out,
    da107_unsupported_deferrable,
    da108_sensor_no_timeout,
    da109_reschedule_no_deferrable,
    da201_blocking_call_in_trigger,
    da202_trigger_serialize_classpath,
    da203_trigger_serialize_kwargs,
    da204_defer_missing_method,
    da205_custom_polling,
    da206_custom_sensor_no_defer,
    da207_start_from_trigger,
    da208_end_from_trigger,
    da209_run_not_async_generator,
    da210_deferrable_default,
    da211_trigger_in_dag_folder,
    da212_non_serializable_trigger_arg,
)
from deferaudit.rules.base import Example, FileContext, Finding, Fix, Rule

RULES: tuple[Rule, ...] = (
    da001_parse_error.RULE,
    da002_suppression_without_reason.RULE,
    da101_poke_sensor.RULE,
    da102_reschedule_sensor.RULE,
    da103_async_class.RULE,
    da104_blocking_operator.RULE,
    da105_poke_no_deferrable.RULE,
    da106_deferrable_opt_out.RULE,
    da107_unsupported_deferrable.RULE,
    da108_sensor_no_timeout.RULE,
    da109_reschedule_no_deferrable.RULE,
    da201_blocking_call_in_trigger.RULE,
    da202_trigger_serialize_classpath.RULE,
    da203_trigger_serialize_kwargs.RULE,
    da204_defer_missing_method.RULE,
    da205_custom_polling.RULE,
    da206_custom_sensor_no_defer.RULE,
    da207_start_from_trigger.RULE,
    da208_end_from_trigger.RULE,
    da209_run_not_async_generator.RULE,
    da210_deferrable_default.RULE,
    da211_trigger_in_dag_folder.RULE,
    da212_non_serializable_trigger_arg.RULE,
)
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
