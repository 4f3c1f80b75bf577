"""The command line's edges: its exit codes, one-line usage errors, and writing a report to
standard output or, atomically, to a file."""

from __future__ import annotations

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
