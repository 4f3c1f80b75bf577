"""The command line: parse options, call the core, print, and pick the exit code.

Exit codes: 0 the command ran; 1 findings remain and ``--exit-non-zero-on-finding`` was given
(``fix``: edits are pending with ``--check``, or ``--apply`` could not write a file);
2 a usage or configuration error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from deferaudit import __version__
from deferaudit.cli_catalog import catalog_group, explain, list_rules
from deferaudit.cli_io import (
    EXIT_FINDINGS,
    EXIT_OK,
    UsageFailure,
    exit_at_once,
    hold_until_exit,
    user_errors,
    write_output,
)
from deferaudit.settings_table import OPTIONS_BY_NAME, Option, options_in


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deferaudit")
def main() -> None:
    """Find Airflow tasks that hold worker slots while they wait, and move them to deferrable."""
    # A short-lived process that builds millions of acyclic objects: the cyclic collector
    # only costs time here (it tripled the time to render 35,000 findings).
    gc.disable()


def _click_option(option: Option) -> Callable[..., Any]:
    """The click option of one declared setting (deferaudit.settings_table)."""
    shown = f"{option.help} Also the {option.env} environment variable." if option.env else None
    kwargs: dict[str, Any] = {"help": shown or option.help}
    if option.metavar:
        kwargs["metavar"] = option.metavar
    okay = {"file": {"dir_okay": False}, "dir": {"file_okay": False}}.get(option.path_type, {})
    if option.flag_value is not None:
        kwargs.update(is_flag=True, flag_value=option.flag_value, default=None)
    elif option.kind == "bool":
        kwargs["default"] = None  # --x/--no-x: None is "not given", the lower layers decide
    elif option.kind == "count":
        kwargs["count"] = True
    elif option.kind == "codes":
        kwargs["multiple"] = True
    elif option.kind == "paths":
        kwargs.update(multiple=True, type=click.Path(path_type=Path, **okay))
    elif option.kind == "source" and option.path_type == "text":
        kwargs["default"] = option.default
    elif option.kind in ("path", "source"):
        kwargs["type"] = click.Path(path_type=Path, **okay)
    elif option.kind == "choice":
        kwargs["type"] = click.Choice(list(option.choices))
    elif option.kind == "int":
        kwargs["type"] = click.IntRange(min=1)
    elif option.kind == "fraction":
        kwargs["type"] = float
    return click.option(*option.flags, option.name, **kwargs)


def _declared(group: str) -> tuple[Callable[..., Any], ...]:
    return tuple(_click_option(o) for o in options_in(group))


_SCAN_OPTIONS = (
    click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
    *_declared("scan"),
)
_COST_OPTIONS = _declared("cost")


def _apply_options(
    options: tuple[Callable[..., Any], ...], command: Callable[..., Any]
) -> Callable[..., Any]:
    for option in reversed(options):
        command = option(command)
    return command


def cost_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The cost model's and capacity plan's options (scan, capacity)."""
    return _apply_options(_COST_OPTIONS, command)


def pop_cost_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {o.name: kwargs.pop(o.name) for o in options_in("cost")}


# The formats of deferaudit.outputs.FORMATS (a test checks the two agree): importing the
# registry here would load the report model on every `deferaudit --help`.
_FORMAT_NAMES = ("text", "json", "sarif", "github", "gitlab", "html")
_OUTPUT_OPTIONS = (
    click.option(
        "--format",
        "fmt",
        type=click.Choice(list(_FORMAT_NAMES)),
        default="text",
        show_default=True,
    ),
    click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to FILE."),
)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format`` and ``--output``, as scan and check take them."""
    return _apply_options(_OUTPUT_OPTIONS, command)


def scan_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that scans shares (scan, fix, ...), with PATHS."""
    return _apply_options(_SCAN_OPTIONS, command)


def pop_scan_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the shared scan options out of a command's keyword arguments."""
    return {o.name: kwargs.pop(o.name) for o in options_in("scan")}


def open_run(
    paths: tuple[Path, ...],
    options: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    config_from: tuple[Path, ...] | None = None,
) -> Any:
    """Settings, catalog and versions for a command; configuration errors exit 2."""
    from deferaudit.commands import open_run as _open_run

    with user_errors():
        return _open_run(paths, options, overrides, config_from=config_from)


def build(
    run: Any,
    make: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """Run one command of deferaudit.commands with a progress bar; print the problems (and,
    with --verbose, why the cache was not used); exit 2 when there was nothing to scan.
    Every command returns (its Report, what else it decided)."""
    with user_errors(), _progress() as (progress, on_total):
        report, decided = make(run, *args, progress=progress, on_total=on_total, **kwargs)
    for problem in report.problems:
        click.echo(f"deferaudit: {problem.path}: {problem.message}", err=True)
    if run.settings.verbose:
        for note in report.scan.notes:
            click.echo(f"deferaudit: cache: {note}", err=True)
    if report.scan.paths_missing:
        raise UsageFailure("no file to scan")
    return report, decided


def emit_report(report: Any, fmt: str, output: Path | None, view: Any) -> None:
    from deferaudit.outputs import FORMATS

    hold_until_exit(report)
    write_output(lambda handle: FORMATS[fmt].emitter()(report, handle, view), output)


@main.command()
@scan_options
@cost_options
@output_options
@click.option("--statistics", is_flag=True, help="Count findings per rule.")
@click.option("--exit-non-zero-on-finding", is_flag=True, help="Exit 1 when findings remain.")
def scan(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    statistics: bool,
    exit_non_zero_on_finding: bool,
    **options: Any,
) -> None:
    """Scan DAG files and folders (default: the current folder)."""
    from deferaudit import commands
    from deferaudit.report import View

    options = pop_scan_options(options) | pop_cost_options(options)
    run = open_run(paths, options)
    report, _ = build(run, commands.report, commands.wants_for(fmt), history=True)
    view = View(statistics=statistics, quiet=run.settings.quiet)
    emit_report(report, fmt, output, view)
    if exit_non_zero_on_finding and report.findings:
        sys.exit(EXIT_FINDINGS)


@main.command()
@scan_options
@cost_options
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("deferaudit-report.html"),
    show_default=True,
    help="Write the report to FILE ('-' for standard output).",
)
def report(paths: tuple[Path, ...], output: Path, **options: Any) -> None:
    """Write the HTML report (short for scan --format html --output FILE)."""
    from deferaudit import commands
    from deferaudit.report import View

    options = pop_scan_options(options) | pop_cost_options(options)
    run = open_run(paths, options)
    report, _ = build(run, commands.report, commands.wants_for("html"), history=True)
    emit_report(report, "html", output, View(quiet=run.settings.quiet))
    if str(output) != "-":
        click.echo(f"Report written to {output}", err=True)


@main.command()
@scan_options
@cost_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to FILE.")
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Waiting tasks listed in the text plan, most wasteful first (0: all).",
)
def capacity(
    paths: tuple[Path, ...], fmt: str, output: Path | None, top: int, **options: Any
) -> None:
    """Print what the waiting costs and the triggerers the migration needs."""
    from deferaudit import commands
    from deferaudit.outputs.capacity import emit_capacity
    from deferaudit.pipeline import Wants
    from deferaudit.report import View

    options = pop_scan_options(options) | pop_cost_options(options)
    run = open_run(paths, options)
    report, _ = build(run, commands.report, Wants(), history=True)
    write_output(lambda handle: emit_capacity(report, handle, View(top=top), fmt), output)


@main.command()
@scan_options
@click.option("--apply", "apply_", is_flag=True, help="Write the edits (default: only show them).")
@click.option("--unsafe-fixes", is_flag=True, help="Also carry out fixes marked unsafe.")
@click.option("--check", is_flag=True, help="Exit 1 when edits are pending (nothing is written).")
@click.option("--no-diff", is_flag=True, help="Print only the summary, not the diff.")
@click.option(
    "--verify",
    is_flag=True,
    help="With --apply: load each changed file's DAGs in real Airflow (a subprocess that imports "
    "your DAG files) before and after the edit; restore any file whose DAGs differ.",
)
@click.option(
    "--verify-python",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="PYTHON",
    help="With --verify: the Python of an environment with your deployment's Airflow and "
    "providers (e.g. /opt/airflow-venv/bin/python) to load the DAGs with. Default: the Python "
    "deferaudit runs on.",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="PATH:LINE",
    help="Make only the fixes of the task whose call starts at PATH:LINE (as the fix-first "
    "list prints it), or of the findings at PATH:LINE[:COLUMN] (as scan prints them). "
    "Repeatable. The other PATHS are still scanned for context.",
)
def fix(
    paths: tuple[Path, ...],
    apply_: bool,
    unsafe_fixes: bool,
    check: bool,
    no_diff: bool,
    verify: bool,
    verify_python: Path | None,
    only: tuple[str, ...],
    **options: Any,
) -> None:
    """Show (or, with --apply, write) the edits that move waiting tasks to deferrable."""
    from deferaudit.fix import (
        Only,
        OnlyError,
        apply_plan,
        plan_fixes,
        summarise_plan,
        unsafe_notes,
    )

    try:
        places = [Only.parse(spec) for spec in only]
    except OnlyError as exc:
        raise UsageFailure(f"--only {exc}") from exc
    for place in places:
        if not place.path.is_file():
            why = "a folder, not a file" if place.path.is_dir() else "no such file"
            raise UsageFailure(f"--only {place.spec}: {place.path}: {why}")
    if verify and not apply_:
        raise UsageFailure("--verify checks written files: use it with --apply")
    if verify_python is not None and not verify:
        raise UsageFailure("--verify-python says which Python --verify loads with: add --verify")
    if check and apply_:
        raise UsageFailure("--check only reports pending edits: it cannot go with --apply")
    from deferaudit import commands
    from deferaudit.pipeline import Wants

    run = open_run(paths, pop_scan_options(options))
    report, _ = build(run, commands.report, Wants(plan=False, facts=True))
    try:
        plan = plan_fixes(report.scan, Path.cwd(), unsafe=unsafe_fixes, only=places)
    except OnlyError as exc:
        raise UsageFailure(str(exc)) from exc
    if not no_diff and not apply_:
        click.echo(plan.diff(), nl=False)
    if places:
        # What was asked for by place and gets no edit: say why, each once.
        for left in plan.not_fixed:
            if not left.unsafe:
                f = left.finding
                click.echo(
                    f"{f.path}:{f.span.line}:{f.span.column}: {f.rule} not fixed: {left.reason}"
                )
    failed: list[tuple[Any, str]] = []
    verified: list[Any] = []
    unverified: list[tuple[Any, str]] = []
    if apply_:
        if verify:
            from deferaudit.verify import VerifyError, verify_fixes

            try:
                failed, verified, unverified = verify_fixes(
                    plan.changed,
                    paths,
                    report.target.version,
                    verify_python,
                    warn=lambda text: click.echo(f"deferaudit: {text}", err=True),
                )
            except VerifyError as exc:
                raise UsageFailure(str(exc)) from exc
        else:
            failed = apply_plan(plan.changed)
    for note in unsafe_notes(plan):
        click.echo(note)
    for fix_, why in failed:
        click.echo(f"deferaudit: {fix_.path}: not written: {why}", err=True)
    for fix_, why in unverified:
        click.echo(f"deferaudit: {fix_.path}: written, not verified: {why}", err=True)
    click.echo(summarise_plan(plan, applied=apply_, failed=failed, verified=len(verified)))
    # Edits that could not be written are still pending, as with --check.
    if failed or (check and plan.changed):
        sys.exit(EXIT_FINDINGS)


@main.command()
@scan_options
@cost_options
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Baseline file (from `deferaudit baseline`): only findings not in it are new. "
    "Default: none, every finding is new.",
)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Check only files added, modified or renamed since the merge base of REF and HEAD "
    "(git); the rest of PATHS is still read for the classes they use.",
)
@click.option(
    "--dag-folder",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Read this folder whole (a checked file may use a class defined anywhere in it) but "
    "check only PATHS: for pre-commit, which passes the changed files as PATHS. Repeatable.",
)
@click.option(
    "--fail-on",
    multiple=True,
    metavar="SEVERITY|CODE",
    help="Which new findings fail: a severity (error, warning, info: that one or worse) or "
    "rule codes and prefixes; comma-separated, repeatable. Default: every new finding.",
)
@click.option(
    "--max-new-waste-hours",
    type=float,
    metavar="HOURS",
    help="Fail when the new findings' tasks waste more than HOURS worker-slot hours a day "
    "(the cost model). Without --fail-on, only this threshold fails.",
)
@click.option(
    "--require-reason/--no-require-reason",
    default=None,
    help="A suppression comment that gives no reason is a finding (DA002).",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Drop baseline entries that no longer occur and write the file back (never adds one).",
)
@output_options
def check(
    paths: tuple[Path, ...],
    baseline_file: Path | None,
    changed_since: str | None,
    dag_folder: tuple[Path, ...],
    fail_on: tuple[str, ...],
    max_new_waste_hours: float | None,
    require_reason: bool | None,
    update_baseline: bool,
    fmt: str,
    output: Path | None,
    **options: Any,
) -> None:
    """The CI gate: exit 1 when a finding is new (not in the baseline), else 0."""
    from deferaudit import commands
    from deferaudit.gate import GATE_ERRORS, CheckOptions, parse_fail_on
    from deferaudit.report import View

    options = pop_scan_options(options) | pop_cost_options(options)
    if any(options[n] for n in ("history", "history_since", "history_until")):  # code alone
        raise UsageFailure("--history, --since, --until are for scan, capacity and report")
    try:
        policy = parse_fail_on(fail_on, max_new_waste_hours)
    except GATE_ERRORS as exc:
        raise UsageFailure(str(exc)) from exc
    gate = CheckOptions(baseline_file, changed_since, dag_folder, policy, update_baseline)
    run = open_run(
        paths, options, {"require_reason": require_reason}, config_from=(*dag_folder, *paths)
    )
    try:
        report, decision = build(run, commands.check, gate, commands.wants_for(fmt))
    except GATE_ERRORS as exc:
        raise UsageFailure(str(exc)) from exc
    emit_report(report, fmt, output, View(quiet=run.settings.quiet))
    if fmt != "text" or output is not None:
        for line in report.gate.lines:
            click.echo(f"deferaudit: {line}", err=True)
    if decision.updated_baseline is not None and baseline_file is not None:
        write_output(decision.updated_baseline.dumps(), baseline_file)
    sys.exit(EXIT_FINDINGS if decision.failed else EXIT_OK)


@main.command("baseline")
@scan_options
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The baseline file to write (commit it; `check --baseline FILE` reads it).",
)
@click.option(
    "--require-reason/--no-require-reason",
    default=None,
    help="Take suppressions without a reason (DA002) into the baseline too.",
)
def baseline_command(
    paths: tuple[Path, ...], output: Path, require_reason: bool | None, **options: Any
) -> None:
    """Write a baseline of every current finding, so that `check` fails only on new ones."""
    from deferaudit import commands
    from deferaudit.outputs import plural

    run = open_run(paths, pop_scan_options(options), {"require_reason": require_reason})
    report, baseline = build(run, commands.baseline, output)
    write_output(baseline.dumps(), output)
    click.echo(
        f"Wrote {output}: {plural(report.files_scanned, 'file')}, "
        f"{plural(baseline.total, 'finding')} "
        f"({plural(len(baseline.entries), 'distinct entry', 'distinct entries')})."
    )


_HISTORY_OPTIONS = (*_declared("history"), _click_option(OPTIONS_BY_NAME["airflow_cfg"]))


def history_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the metadata database is (``--db``, ``--airflow-cfg``) and the window."""
    return _apply_options(_HISTORY_OPTIONS, command)


@main.command()
@history_options
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to FILE.")
@click.option(
    "--compare",
    nargs=2,
    metavar="BEFORE AFTER",
    help="Compare two periods START..END (2026-10-01..2026-10-31 2026-11-01..2026-11-30; an "
    "end date includes its day) instead of --since/--until: slot time held per task, tasks "
    "that now defer, tasks meant to defer that still held a slot.",
)
def history(fmt: str, output: Path | None, compare: tuple[str, str] | None, **options: Any) -> None:
    """Measure waits and slot time per task from the Airflow metadata database (read-only).

    Exit 2 when the database cannot be read or is not an Airflow schema deferaudit knows;
    1 when the window holds no finished task run.
    """
    from deferaudit import commands
    from deferaudit.history import HistoryError
    from deferaudit.history.render import compare_json, compare_text, history_json, history_text

    if compare:
        try:
            comparison = commands.history_compare(options, *compare)
        except HistoryError as exc:
            raise UsageFailure(str(exc)) from None
        if not comparison.tasks:
            click.echo(
                f"deferaudit: {comparison.after.database}: no finished task run started in "
                f"either period: nothing to compare",
                err=True,
            )
            sys.exit(EXIT_FINDINGS)
        write_output(
            compare_json(comparison) if fmt == "json" else compare_text(comparison), output
        )
        return
    try:
        measured = commands.history(options)
    except HistoryError as exc:
        raise UsageFailure(str(exc)) from None
    if not measured.tasks:
        click.echo(
            f"deferaudit: {measured.database}: no finished task run started in "
            f"{measured.window.describe()}: nothing to measure",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)
    write_output(history_json(measured) if fmt == "json" else history_text(measured), output)


@contextmanager
def _progress() -> Iterator[tuple[Callable[[int], None] | None, Callable[[int], None] | None]]:
    """A progress bar on stderr for long scans, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None, None
        return
    state: dict[str, Any] = {}

    def on_total(total: int) -> None:
        if total >= 500:
            bar = click.progressbar(length=total, label="scanning", file=sys.stderr)
            state["bar"] = bar
            bar.__enter__()

    def progress(n: int) -> None:
        bar = state.get("bar")
        if bar is not None:
            bar.update(n)

    try:
        yield progress, on_total
    finally:
        bar = state.get("bar")
        if bar is not None:
            bar.__exit__(None, None, None)


def entry() -> None:
    """The ``deferaudit`` console script (and ``python -m deferaudit``): ``main``, then the
    process ends as soon as its output is flushed (deferaudit.cli_io.exit_at_once)."""
    exit_at_once(main)


main.add_command(list_rules)
main.add_command(explain)
main.add_command(catalog_group)


if __name__ == "__main__":  # pragma: no cover
    main()
