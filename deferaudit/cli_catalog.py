"""The commands that read deferaudit's own knowledge, not a user's DAGs: ``rules``,
``explain`` and ``catalog show|stats|export`` (registered on the main group by
deferaudit.cli)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from deferaudit.cli_io import UsageFailure, user_errors, write_output


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def list_rules(fmt: str) -> None:
    """List every rule."""
    from deferaudit.rules import RULES

    if fmt == "json":
        doc = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity,
                "summary": r.summary,
                "fixable": r.fixable,
            }
            for r in RULES
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    width = max(len(r.name) for r in RULES)
    for rule in RULES:
        click.echo(f"{rule.code}  {rule.name:<{width}} {rule.severity:<8} {rule.summary}")


@click.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print one rule's documentation (by code or name)."""
    from deferaudit.rules import find_rule

    with user_errors():
        click.echo(find_rule(rule).documentation(), nl=False)


@click.group("catalog")
def catalog_group() -> None:
    """What deferaudit knows about Airflow and provider classes (the bundled catalog)."""


def _load_catalog(path: Path | None) -> Any:
    from deferaudit.catalog import Catalog

    with user_errors():
        return Catalog.load(path)


_catalog_file = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A catalog.json to read instead of the bundled one.",
)


@catalog_group.command("show")
@click.argument("name", metavar="CLASS")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@_catalog_file
def catalog_show(name: str, fmt: str, catalog_path: Path | None) -> None:
    """Print what is known about CLASS (import path, alias or class name), with each fact's
    package, version and source."""
    from deferaudit.catalog.report import UnknownClassError, export_entry, find_entries, show_text

    catalog = _load_catalog(catalog_path)
    try:
        entries = find_entries(catalog, name)
    except UnknownClassError as exc:
        raise UsageFailure(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps([export_entry(e) for e in entries], indent=2))
    else:
        click.echo(show_text(catalog, entries), nl=False)


@catalog_group.command("stats")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@_catalog_file
def catalog_stats(fmt: str, catalog_path: Path | None) -> None:
    """Count packages, classes, sensors, deferrable-capable and -Async classes."""
    from deferaudit.catalog.report import stats, stats_text

    counts = stats(_load_catalog(catalog_path))
    click.echo(json.dumps(counts, indent=2) if fmt == "json" else stats_text(counts), nl=False)


@catalog_group.command("export")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to FILE.")
@_catalog_file
def catalog_export(output: Path | None, catalog_path: Path | None) -> None:
    """Write the whole catalog as JSON, one entry per class."""
    from deferaudit.catalog.report import export

    document = export(_load_catalog(catalog_path))
    write_output(json.dumps(document, indent=1, sort_keys=True) + "\n", output)
