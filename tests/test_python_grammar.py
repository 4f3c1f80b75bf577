"""A file valid only on Python 3.12+ (PEP 701 f-strings) is scanned when deferaudit runs on
3.12+, and otherwise reported as needing Python 3.12 at the f-string's position, never as a
plain "syntax error" (issue 14)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

PEP701 = """\
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

TABLES = ["a", "b"]
LABEL = f"{", ".join(TABLES)}"

with DAG("d", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
"""


def test_a_pep_701_f_string_file_is_scanned_or_said_to_need_python_3_12(tmp_path: Path) -> None:
    (tmp_path / "d.py").write_text(PEP701)
    settings = Settings(cache=False, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, Catalog.load(), cwd=tmp_path)
    errors = [f for f in result.findings if f.rule == "DA001"]
    if sys.version_info >= (3, 12):
        assert errors == []
        assert any(f.task_id == "wait" for f in result.findings)
        return
    (error,) = errors
    assert "needs Python 3.12 or newer" in error.message
    assert "syntax error" not in error.message
    assert error.span.line == 5


@pytest.mark.parametrize(
    ("files", "clause"),
    [
        (
            {"Dockerfile": "FROM apache/airflow:2.10.5-python3.12\n"},
            "the deployment runs Python 3.12 (image tag 2.10.5-python3.12 in Dockerfile:1): "
            "the file is valid there",
        ),
        (
            {"Dockerfile": "FROM apache/airflow:2.10.5-python3.11\n"},
            "the deployment runs Python 3.11 (image tag 2.10.5-python3.11 in Dockerfile:1): "
            "the file fails to import there too",
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n'
                'dependencies = ["apache-airflow==2.10.5"]\n'
            },
            "the project's Python: requires-python >=3.10 in pyproject.toml:3",
        ),
        ({"requirements.txt": "apache-airflow==2.10.5\n"}, None),
    ],
)
def test_the_deployment_python_says_whether_a_pep_701_file_is_valid_where_it_runs(
    tmp_path: Path, files: dict[str, str], clause: str | None
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(PEP701)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = scan([Path("dags")], Settings(cache=False), Catalog.load(), cwd=tmp_path)  # type: ignore[call-arg]
    assert result.target.version == "2.10.5"
    errors = [f for f in result.findings if f.rule == "DA001"]
    if sys.version_info >= (3, 12):
        assert errors == []
        return
    (error,) = errors
    assert "needs Python 3.12 or newer" in error.message
    if clause is None:
        assert "deployment" not in error.message and "project's Python" not in error.message
    else:
        assert error.message.endswith(f"; {clause}")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ parses the file")
def test_target_python_wins_over_the_image_tag(tmp_path: Path) -> None:
    # --target-python / [tool.deferaudit] target-python names the deployment's Python when the
    # project's files do not, or say something else (the image tag here says 3.11).
    (tmp_path / ".git").mkdir()
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(PEP701)
    (tmp_path / "Dockerfile").write_text("FROM apache/airflow:2.10.5-python3.11\n")
    (tmp_path / "pyproject.toml").write_text('[tool.deferaudit]\ntarget-python = "3.12"\n')
    from deferaudit.settings import load_settings

    settings = load_settings(tmp_path / "pyproject.toml").with_overrides(cache=False)
    assert settings.target_python == "3.12"
    result = scan([Path("dags")], settings, Catalog.load(), cwd=tmp_path)
    (error,) = [f for f in result.findings if f.rule == "DA001"]
    assert error.message.endswith(
        "; the deployment runs Python 3.12 (--target-python or [tool.deferaudit] "
        "target-python): the file is valid there"
    )


def test_target_python_must_be_a_python_3_version(tmp_path: Path) -> None:
    from deferaudit.settings import ConfigError, load_settings

    (tmp_path / "pyproject.toml").write_text('[tool.deferaudit]\ntarget-python = "2.7"\n')
    with pytest.raises(ConfigError, match=r"'2.7' is not a Python version \(expected 3.x"):
        load_settings(tmp_path / "pyproject.toml")
