"""Read one DAG file from disk into bytes and text, refusing what Python could not parse."""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 10 * 1024 * 1024

_MB = 1024 * 1024
_READ_CHUNK = 64 * 1024


class SourceError(Exception):
    """A file that cannot be read as Python source; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class Source:
    """One file's bytes as on disk and its decoded text, untouched (line endings kept)."""

    path: Path
    data: bytes  # raw bytes as on disk
    text: str  # decoded text
    encoding: str  # PEP 263 coding as tokenize names it, else 'utf-8' ('utf-8-sig' with a BOM)
    newline: str  # '\n', '\r\n' or '\r': the first line ending found; '\n' when none


def read_source(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Source:
    """Read and decode ``path``; raise ``SourceError`` for anything but a readable text file.

    The size is checked with ``stat`` before reading, and only regular files are opened, so a
    huge file is never loaded and a FIFO or device never blocks.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SourceError(describe_os_error(exc)) from exc
    _check_kind_and_size(info, max_bytes)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening returns at
        # once and the fstat below refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SourceError(describe_os_error(exc)) from exc
    try:
        info = os.fstat(fd)
        _check_kind_and_size(info, max_bytes)
        # One read of the size fstat gives (plus one byte, to see the end) is the whole file;
        # a fixed large chunk would allocate that much per read.
        chunks: list[bytes] = []
        size = 0
        want = min(info.st_size, max_bytes) + 1
        try:
            while size <= max_bytes:
                chunk = os.read(fd, min(want, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size == info.st_size and len(chunk) < want:
                    break  # all of it, in a read that asked for more
                want = _READ_CHUNK
        except OSError as exc:
            raise SourceError(describe_os_error(exc)) from exc
    finally:
        os.close(fd)
    if size > max_bytes:  # it grew after the stat
        raise SourceError(f"file is over the {_megabytes(max_bytes)} limit")
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if b"\x00" in data:
        # Python refuses it too ("source code string cannot contain null bytes").
        raise SourceError("contains a null byte (binary file?)")
    text, encoding = decode_source(data)
    return Source(path=path, data=data, text=text, encoding=encoding, newline=_first_newline(text))


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode Python source bytes as the interpreter would: BOM, then a PEP 263 coding line.

    Returns (text, encoding). Raises ``SourceError`` for a bad or unknown coding declaration and
    for undecodable bytes, naming the line of the first bad byte.
    """
    try:
        if b"coding" not in data and not data.startswith(codecs.BOM_UTF8):
            # No coding line can be there and no BOM: what detect_encoding answers (most
            # files), without its Python-level line reading.
            encoding = "utf-8"
        else:
            # The interpreter's tokenizer counts '\r' as a line end too, so the coding line
            # is looked for in lines split that way (BytesIO.readline would only split on
            # '\n').
            lines = _leading_lines(data)
            encoding, _ = tokenize.detect_encoding(lambda: next(lines, b""))
    except SyntaxError as exc:
        reason = str(exc.msg or exc)
        if reason.startswith("invalid or missing encoding declaration"):
            # A non-UTF-8 byte in the first two lines and no coding line: the UTF-8 decode
            # below says where.
            encoding = "utf-8"
        elif reason.startswith("unknown encoding"):
            name = reason.rsplit(": ", 1)[-1]
            raise SourceError(f"unknown encoding {name!r} declared ({_coding_line(data)})") from exc
        elif reason.startswith("encoding problem"):
            raise SourceError(
                f"coding line contradicts the UTF-8 byte order mark ({_coding_line(data)})"
            ) from exc
        else:
            raise SourceError(f"bad coding line: {reason}") from exc
    info = codecs.lookup(encoding)
    if not getattr(info, "_is_text_encoding", True):
        raise SourceError(f"{encoding!r} is not a text encoding ({_coding_line(data)})")
    if not _ascii_compatible(encoding):
        # PEP 263 wants a superset of ASCII: under UTF-16 or EBCDIC the coding line itself
        # would not read back.
        raise SourceError(f"{encoding!r} is not ASCII-compatible ({_coding_line(data)})")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        bad = data[exc.start : exc.start + 1].hex()
        raise SourceError(
            f"cannot decode as {encoding} (line {line}): {exc.reason} (byte 0x{bad})"
        ) from exc
    except LookupError as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from exc
    return text, encoding


def _leading_lines(data: bytes) -> Iterator[bytes]:
    """The lines of ``data`` one at a time, ends kept, split where the interpreter's tokenizer
    splits (``\r\n``, ``\r``, ``\n``); the coding line is looked for in the first two only,
    so the rest is never split."""
    start, end = 0, len(data)
    while start < end:
        match = _LINE_END.search(data, start)
        stop = match.end() if match else end
        yield data[start:stop]
        start = stop


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _check_kind_and_size(info: os.stat_result, max_bytes: int) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise SourceError("is a directory")
    if not stat.S_ISREG(mode):
        if stat.S_ISFIFO(mode):
            raise SourceError("is a FIFO, not a regular file")
        if stat.S_ISSOCK(mode):
            raise SourceError("is a socket, not a regular file")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise SourceError("is a device, not a regular file")
        raise SourceError("not a regular file")
    if info.st_size > max_bytes:
        raise SourceError(
            f"file is {info.st_size / _MB:.1f} MB, over the {_megabytes(max_bytes)} limit"
        )


# PEP 263's regular expression for the coding declaration.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _coding_line(data: bytes) -> str:
    for number, line in enumerate(data.splitlines()[:2], start=1):
        if _CODING.match(line.removeprefix(codecs.BOM_UTF8)):
            return f"line {number}"
    return "line 1"


def _ascii_compatible(encoding: str) -> bool:
    if encoding == "utf-8-sig":
        return True
    sample = "# -*- coding: x -*-\n"
    try:
        return sample.encode(encoding) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def _megabytes(size: int) -> str:
    return f"{size / _MB:g} MB"


def describe_os_error(exc: OSError) -> str:
    """An OSError as a short lower-case phrase for the user (no errno numbers)."""
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.EISDIR:
        return "is a directory"
    return (exc.strerror or str(exc)).lower()


def _line_of(data: bytes, offset: int) -> int:
    """1-based line of ``offset``, counting '\\n', '\\r\\n' and '\\r' as line ends."""
    before = data[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def _first_newline(text: str) -> str:
    lf, cr = text.find("\n"), text.find("\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return "\n"
    return "\r\n" if text.startswith("\n", cr + 1) else "\r"
