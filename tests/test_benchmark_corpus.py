"""The benchmark corpus generator writes valid, varied, deterministic DAG files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from corpus_generator import load_corpus_generator

SEED = 1234
COUNT = 50

generator = load_corpus_generator()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def _sensor_calls(source: str) -> int:
    """Task sites whose class (through import aliases) is a sensor, plus @task.sensor functions."""
    tree = ast.parse(source)
    original = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "partial":
                func = func.value
            if isinstance(func, ast.Name):
                name = original.get(func.id, func.id)
                count += name.endswith(("Sensor", "SensorAsync"))
        elif isinstance(node, ast.FunctionDef):
            count += any(ast.unparse(d).startswith("task.sensor") for d in node.decorator_list)
    return count


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generator.generate(COUNT, out, seed=SEED)
    return out


def test_generates_the_requested_number_of_files(corpus: Path) -> None:
    assert len(_files(corpus)) == COUNT


def test_every_file_parses_fits_the_line_budget_and_passes_safe_mode(corpus: Path) -> None:
    for rel, raw in _files(corpus).items():
        source = raw.decode("utf-8")
        ast.parse(source, filename=rel)
        lines = source.count("\n")
        assert 30 <= lines <= 150, f"{rel} has {lines} lines"
        lowered = source.lower()
        assert "airflow" in lowered and "dag" in lowered, rel


def test_same_seed_gives_byte_identical_files(corpus: Path, tmp_path: Path) -> None:
    generator.generate(COUNT, tmp_path, seed=SEED)
    assert _files(tmp_path) == _files(corpus)


def test_a_file_does_not_depend_on_the_corpus_size(corpus: Path, tmp_path: Path) -> None:
    generator.generate(5, tmp_path, seed=SEED)
    small = _files(tmp_path)
    full = _files(corpus)
    assert len(small) == 5
    assert all(full[rel] == raw for rel, raw in small.items())


def test_another_seed_gives_other_files(corpus: Path, tmp_path: Path) -> None:
    generator.generate(COUNT, tmp_path, seed=SEED + 1)
    assert _files(tmp_path) != _files(corpus)


def test_corpus_mixes_airflow_2_and_3_styles_and_dependency_syntaxes(corpus: Path) -> None:
    text = "\n".join(raw.decode("utf-8") for raw in _files(corpus).values())
    for marker in (
        "from airflow import DAG",
        "from airflow.sdk import",
        "schedule_interval=",
        "schedule=",
        'mode="reschedule"',
        "deferrable=True",
        ".partial(",
        ").expand(",
        " >> ",
        "chain(",
    ):
        assert marker in text, marker


def test_findings_heavy_mode_has_more_sensor_calls(corpus: Path, tmp_path: Path) -> None:
    stats = generator.generate(COUNT, tmp_path, seed=SEED, findings_heavy=True)
    heavy = sum(_sensor_calls(raw.decode("utf-8")) for raw in _files(tmp_path).values())
    default = sum(_sensor_calls(raw.decode("utf-8")) for raw in _files(corpus).values())
    assert heavy > default
    assert stats.waiting_sites > stats.task_sites // 2


def test_command_line_writes_the_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generator.main(["--count", "3", "--out", str(tmp_path), "--seed", "7"]) == 0
    assert len(_files(tmp_path)) == 3
    assert "wrote 3 files" in capsys.readouterr().out
