"""The limits table's evidence, re-read in the real source: the installed Airflow 3.3 for its
line, the catalog builder's cached wheels (the releases sources.toml names) for the others."""

from __future__ import annotations

import ast
import importlib.metadata
import zipfile
from pathlib import Path

import pytest

from deferaudit.catalog.build import default_cache_dir
from deferaudit.catalog.deferred_limits import (
    LIMITS_FILE,
    DeferredLimit,
    Evidence,
    LimitsError,
    load,
)

ROWS = load()


def _function_source(source: str, qualified: str) -> str | None:
    """The source of ``function`` or ``Class.method`` defined at the top of a module (the whole
    module for ``<module>``)."""
    if qualified == "<module>":
        return source
    body = ast.parse(source).body
    node: ast.AST | None = None
    for part in qualified.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        body = node.body  # type: ignore[attr-defined]
    return ast.get_source_segment(source, node)  # type: ignore[arg-type]


def _says(source: str, evidence: Evidence) -> bool:
    found = _function_source(source, evidence.function)
    assert found is not None, f"{evidence.file} has no {evidence.function}"
    return any(line.strip() == evidence.quote for line in found.splitlines())


def _installed(evidence: Evidence) -> str | None:
    try:
        dist = importlib.metadata.distribution(evidence.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != evidence.release:
        return None
    return Path(str(dist.locate_file(evidence.file))).read_text("utf-8")


def _wheel(evidence: Evidence) -> str | None:
    name = evidence.distribution.replace("-", "_")
    wheel = default_cache_dir() / f"{name}-{evidence.release}-py3-none-any.whl"
    if not wheel.is_file():
        return None
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(evidence.file).decode("utf-8")


def test_the_installed_airflow_3_3_source_still_says_so() -> None:
    rows = {row.parameter: row for row in ROWS if row.line == "3.3"}
    assert not rows["execution_timeout"].holds
    assert rows["max_active_tis_per_dag"].holds and rows["max_active_tis_per_dagrun"].holds
    for evidence in {e for row in rows.values() for e in row.evidence}:
        source = _installed(evidence)
        assert source is not None, (
            f"{evidence.distribution} {evidence.release} is not the installed release: "
            "re-read the source and update deferred_limits.toml"
        )
        assert _says(source, evidence), evidence


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.parameter}-{r.line}")
def test_each_line_evidence_in_the_release_the_catalog_reads(row: DeferredLimit) -> None:
    read = 0
    for evidence in row.evidence:
        source = _installed(evidence) or _wheel(evidence)
        if source is None:
            continue
        assert _says(source, evidence), evidence
        read += 1
    if not read:
        pytest.skip(f"no source of Airflow {row.line} here (installed or in the builder's cache)")


def test_airflow_2_evidence_sets_the_trigger_timeout_from_execution_timeout() -> None:
    # The quoted assignment is the one that bounds the deferral: it follows the defer's own
    # timeout and takes the earlier of the two.
    for row in ROWS:
        if row.parameter == "execution_timeout" and row.holds:
            assert all("start_date + execution_timeout" in e.quote for e in row.evidence)


def test_a_line_without_evidence_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "limits.toml"
    bad.write_text(
        LIMITS_FILE.read_text("utf-8").replace('releases = { "3.3" = "1.3.2" }', "releases = {}")
    )
    # 3.3 keeps the other two evidence rows: still valid.
    assert len(load(bad)) == len(ROWS)
    bad.write_text(
        '[[limit]]\nparameter = "x"\nlines = ["3.3"]\nholds = false\nwhat = "w"\n'
        '[[limit.evidence]]\ndistribution = "d"\nreleases = { "3.2" = "1" }\n'
        'file = "f"\nfunction = "g"\nquote = "q"\n'
    )
    with pytest.raises(LimitsError, match=r"x on 3\.3 has no evidence"):
        load(bad)
    bad.write_text(bad.read_text().replace('lines = ["3.3"]', 'lines = ["3.9"]'))
    with pytest.raises(LimitsError, match="not a catalog line"):
        load(bad)
