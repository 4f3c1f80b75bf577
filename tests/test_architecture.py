"""The import structure stays the one docs/architecture.md draws: layers, no loops."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parent.parent

# Higher imports lower (or its own layer); docs/architecture.md draws the same order.
LAYERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (10, ("deferaudit.__main__",)),
    (9, ("deferaudit.cli", "deferaudit.cli_io", "deferaudit.cli_catalog")),
    (8, ("deferaudit.commands",)),
    (7, ("deferaudit.gate",)),
    (6, ("deferaudit.pipeline", "deferaudit.verify", "deferaudit.codemod_targets")),
    (6, ("deferaudit.outputs",)),
    (5, ("deferaudit.fix", "deferaudit.report")),
    (4, ("deferaudit.scan",)),
    (3, ("deferaudit.extraction", "deferaudit.evaluate", "deferaudit.scan_keys")),
    (2, ("deferaudit.rules", "deferaudit.cost", "deferaudit.suppression")),
    (1, ("deferaudit.fixes", "deferaudit.resolve", "deferaudit.expand", "deferaudit.hand_waits")),
    (1, ("deferaudit.call_names",)),
    (
        0,
        (
            "deferaudit.extract",
            "deferaudit.catalog",
            "deferaudit.discover",
            "deferaudit.cache",
            "deferaudit.history",
            "deferaudit.settings",
            "deferaudit.project",
            "deferaudit.plugin_folders",
            "deferaudit.deployment",
            "deferaudit.versions",
            "deferaudit.target",
            "deferaudit.live",
            "deferaudit.graph",
            "deferaudit.call_form",
            "deferaudit.pins",
            "deferaudit.pin_specs",
            "deferaudit.project_pins",
        ),
    ),
    (
        -1,
        (
            "deferaudit.facts",
            "deferaudit.record",
            "deferaudit.memo",
            "deferaudit.reexports",
            "deferaudit.source",
            "deferaudit.cache_file",
            "deferaudit.atomic_file",
            "deferaudit.durations",
            "deferaudit.settings_table",
            "deferaudit.workers",
            "codemods",
        ),
    ),
)


def _modules() -> dict[str, Path]:
    out = {}
    for package in ("deferaudit", "codemods"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _type_checking_only(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for body in node.body for n in ast.walk(body))
    return skipped


def _imports() -> nx.DiGraph:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"))
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for imported in names:
                # A package's __init__ only hands names on: the edge is to the module named.
                target = owner(imported)
                if target and target != name and not name.startswith(target + "."):
                    graph.add_edge(name, target)
    return graph


def _layer(module: str) -> int:
    best = None
    for rank, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (rank, len(prefix))
    assert best is not None, f"{module} has no layer: add it to LAYERS and docs/architecture.md"
    return best[0]


def test_there_is_no_import_loop() -> None:
    graph = _imports()
    cycles = [c for c in nx.simple_cycles(graph) if len(c) > 1]
    assert cycles == []


def test_no_module_imports_one_from_a_higher_layer() -> None:
    graph = _imports()
    upward = [
        f"{a} ({_layer(a)}) -> {b} ({_layer(b)})"
        for a, b in graph.edges
        if _layer(a) < _layer(b) and not b.startswith(a + ".")
    ]
    assert upward == []


def test_emitters_compute_nothing() -> None:
    """Outputs render a Report: no pipeline, scan, fix planning, codemods or capacity model."""
    graph = _imports()
    forbidden = (
        "deferaudit.pipeline",
        "deferaudit.scan",
        "deferaudit.fix",
        "deferaudit.fixes.edits",
        "deferaudit.fixes.rewrite",
        "deferaudit.cost.plan_cache",
        "codemods",
    )
    bad = [
        (a, b)
        for a, b in graph.edges
        if a.startswith("deferaudit.outputs") and b.startswith(forbidden)
    ]
    assert bad == []


def test_codemods_import_nothing_of_the_scanner() -> None:
    graph = _imports()
    assert [
        (a, b) for a, b in graph.edges if a.startswith("codemods") and b.startswith("deferaudit")
    ] == []
    code = "import codemods, codemods.apply, sys; print(sorted(m for m in sys.modules if m.startswith('deferaudit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_cli_format_choices_are_the_registry() -> None:
    from deferaudit.cli import _FORMAT_NAMES
    from deferaudit.outputs import FORMATS

    assert tuple(FORMATS) == _FORMAT_NAMES


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_is_far_over_600_lines(module: str) -> None:
    lines = len(_modules()[module].read_text("utf-8").splitlines())
    assert lines <= 660, f"{module}: {lines} lines; split it by job"
