"""The command line's edges: its exit codes, one-line usage errors, and writing a report to
standard output or, atomically, to a file."""

from __future__ import annotations

import atexit
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import click

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

# What the process holds until it ends (``exit_at_once``); None when the command line runs
# inside another program (tests' CliRunner), which frees it as usual.
_HELD: list[Any] | None = None


def hold_until_exit(value: Any) -> None:
    """Keep ``value`` (a report) alive until the process ends, when the console script ends
    it at once: a 10,000-file report is millions of objects, which Python would otherwise
    free one by one as the command returns (0.07 s) and again at exit."""
    if _HELD is not None:
        _HELD.append(value)


def exit_at_once(command: Callable[[], Any]) -> None:
    """Run ``command`` (the click group, which ends with SystemExit), flush the standard
    streams and end the process without tearing the interpreter down.

    By then every file is written and closed, worker pools are shut down and temporary
    folders removed (each in its ``with`` block); ``atexit`` handlers still run. Should a
    flush fail (a closed pipe), the exit is Python's own, which reports it as usual.
    """
    global _HELD
    _HELD = []
    try:
        command()
        code: Any = None
    except SystemExit as stop:
        code = stop.code
    if code is None:
        status = EXIT_OK
    elif isinstance(code, int):
        status = code
    else:  # what Python does with a SystemExit that is not a number
        print(code, file=sys.stderr)
        status = 1
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(status) from None
    atexit._run_exitfuncs()
    os._exit(status)


class UsageFailure(click.ClickException):
    """One clear line and exit code 2."""

    exit_code = EXIT_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"deferaudit: error: {self.format_message()}", err=True)


@contextmanager
def user_errors() -> Iterator[None]:
    from deferaudit.catalog import CatalogError
    from deferaudit.history import HistoryError
    from deferaudit.rules import UnknownRuleError
    from deferaudit.settings import ConfigError

    try:
        yield
    except (ConfigError, CatalogError, UnknownRuleError, HistoryError) as exc:
        raise UsageFailure(str(exc)) from exc


def write_output(text: str | Callable[[TextIO], None], output: Path | None) -> None:
    """Print, or write the file atomically (a half-written report is never left behind).

    ``text`` is the report, or a function that writes it to a handle piece by piece (a large
    JSON report is never held whole in memory).
    """
    write: Callable[[TextIO], Any] = (
        text if callable(text) else lambda handle: handle.write(text)  # type: ignore[misc]
    )
    if output is None or str(output) == "-":
        if callable(text):
            text(sys.stdout)
            sys.stdout.flush()
        else:
            click.echo(text, nl=False)
        return
    target = Path(output)
    if target.is_dir():
        raise UsageFailure(f"--output {output}: is a directory")
    if str(target) == os.devnull or (target.exists() and not target.is_file()):
        with target.open("w", encoding="utf-8") as handle:
            write(handle)
        return
    from deferaudit.atomic_file import replace_file, umask_mode

    def write_text(handle: Any) -> None:
        # A report is an ordinary file, readable as the umask allows; utf-8, newlines as given.
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()  # the handle is replace_file's to close

    try:
        replace_file(target, write_text, mode=umask_mode())
    except OSError as exc:
        raise UsageFailure(f"--output {output}: {exc.strerror or exc}") from exc
