"""Reading the deployment's airflow.cfg and AIRFLOW__ environment like Airflow does."""

from __future__ import annotations

from pathlib import Path

import pytest

from deferaudit.deployment import load_deployment
from deferaudit.settings import ConfigError


def test_environment_beats_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("[operators]\ndefault_deferrable = False\n[triggerer]\ncapacity = 500\n")
    env = {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"}
    found = load_deployment(cfg, env)
    assert found.default_deferrable is True
    assert found.triggerer_capacity == 500
    assert (
        found.sources["default_deferrable"] == "environment AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"
    )


def test_old_capacity_name_and_airflow_boolean_spellings(tmp_path: Path) -> None:
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(
        "[operators]\ndefault_deferrable = t  # on\n[triggerer]\ndefault_capacity = 250\n"
    )
    found = load_deployment(cfg, {})
    assert (found.default_deferrable, found.triggerer_capacity) == (True, 250)
    assert (
        load_deployment(None, {"AIRFLOW__TRIGGERER__DEFAULT_CAPACITY": "7"}).triggerer_capacity == 7
    )


def test_unset_values_stay_none() -> None:
    found = load_deployment(None, {})
    assert found.default_deferrable is None and found.triggerer_capacity is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[operators]\ndefault_deferrable = maybe\n", "is not a boolean"),
        ("[triggerer]\ncapacity = lots\n", "is not a whole number"),
        ("no section header\n", "not an airflow.cfg"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_deployment(cfg, {})


def test_matches_airflow_own_boolean_parser() -> None:
    from airflow.configuration import conf

    for raw in ("True", "t", "1", "false", "F", "0", "true # comment"):
        section = "deferaudit_test"
        if not conf.has_section(section):
            conf.add_section(section)
        conf.set(section, "flag", raw)
        airflow_answer = conf.getboolean(section, "flag")
        ours = load_deployment(None, {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": raw})
        assert ours.default_deferrable is airflow_answer, raw
