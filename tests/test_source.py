"""Tests for deferaudit.source: reading one DAG file as the interpreter would, or refusing it."""

from __future__ import annotations

import ast
import os
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferaudit.source import MAX_FILE_BYTES, Source, SourceError, decode_source, read_source

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def write(tmp_path: Path, data: bytes, name: str = "dag.py") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_plain_utf8_file(tmp_path: Path) -> None:
    data = "from airflow import DAG\nname = 'café'\n".encode()
    path = write(tmp_path, data)
    assert read_source(path) == Source(
        path=path, data=data, text=data.decode(), encoding="utf-8", newline="\n"
    )


def test_pep263_latin1_file_is_decoded_with_its_declared_coding(tmp_path: Path) -> None:
    data = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
    source = read_source(write(tmp_path, data))
    assert source.encoding == "iso-8859-1"  # tokenize's name for latin-1
    assert "café" in source.text
    assert source.data == data
    assert source.text.encode(source.encoding) == data


def test_coding_line_may_be_the_second_line(tmp_path: Path) -> None:
    data = "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nx = '€'\n".encode("cp1252")
    source = read_source(write(tmp_path, data))
    assert source.encoding == "cp1252"
    assert "€" in source.text


def test_utf8_bom_is_kept_in_data_and_dropped_from_text(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfx = 1\n"
    source = read_source(write(tmp_path, data))
    assert source.encoding == "utf-8-sig"
    assert source.text == "x = 1\n"
    assert source.data == data


@pytest.mark.parametrize(
    ("data", "newline"),
    [
        (b"x = 1\r\ny = 2\r\n", "\r\n"),
        (b"x = 1\ry = 2\r", "\r"),
        (b"x = 1\ny = 2\r\n", "\n"),
        (b"x = 1\r\ny = 2\n", "\r\n"),
        (b"x = 1", "\n"),
        (b"", "\n"),
    ],
)
def test_newline_is_the_first_line_ending(tmp_path: Path, data: bytes, newline: str) -> None:
    source = read_source(write(tmp_path, data))
    assert source.newline == newline
    assert source.text == data.decode()  # line endings are not translated


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"")
    assert read_source(path) == Source(path=path, data=b"", text="", encoding="utf-8", newline="\n")


def test_bad_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, b"x = 1\ny = 2\nz = '\xff'\nw = '\xfe'\n")
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert str(caught.value) == "cannot decode as utf-8 (line 3): invalid start byte (byte 0xff)"


def test_bad_byte_line_counts_carriage_returns(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"\(line 3\)"):
        read_source(write(tmp_path, b"a\rb\r\n\xc3("))


def test_bad_byte_in_first_line_without_coding_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^cannot decode as utf-8 \(line 1\)"):
        read_source(write(tmp_path, b"x = '\xe9'\n"))


def test_bytes_outside_the_declared_coding(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"^cannot decode as ascii \(line 2\)"):
        read_source(write(tmp_path, b"# coding: ascii\nx = '\xe9'\n"))


def test_unknown_coding_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_source(write(tmp_path, b"#!/usr/bin/python\n# coding: klingon\nx = 1\n"))
    assert str(caught.value) == "unknown encoding 'klingon' declared (line 2)"


@pytest.mark.parametrize(
    ("coding", "message"),
    [
        ("rot13", "'rot13' is not a text encoding (line 1)"),
        ("utf-16", "'utf-16' is not ASCII-compatible (line 1)"),
        ("cp037", "'cp037' is not ASCII-compatible (line 1)"),
    ],
)
def test_codings_python_cannot_use_are_refused(tmp_path: Path, coding: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        read_source(write(tmp_path, f"# coding: {coding}\nx = 1\n".encode()))
    assert str(caught.value) == message


def test_coding_line_contradicting_the_bom_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="contradicts the UTF-8 byte order mark"):
        read_source(write(tmp_path, b"\xef\xbb\xbf# coding: latin-1\nx = 1\n"))


def test_null_byte_is_refused(tmp_path: Path) -> None:
    data = b"x = 1\n\x00\n"
    with pytest.raises((ValueError, SyntaxError)):  # ValueError before Python 3.11.4
        ast.parse(data)  # Python itself refuses it
    with pytest.raises(SourceError) as caught:
        read_source(write(tmp_path, data))
    assert str(caught.value) == "contains a null byte (binary file?)"


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.py"
    with path.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)  # sparse: no 11 MB written to disk
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert str(caught.value) == "file is 11.0 MB, over the 10 MB limit"


def test_limit_is_a_parameter(tmp_path: Path) -> None:
    path = write(tmp_path, b"x" * 101)
    with pytest.raises(SourceError, match="over the"):
        read_source(path, max_bytes=100)
    assert read_source(path, max_bytes=101).data == b"x" * 101
    assert MAX_FILE_BYTES == 10 * 1024 * 1024


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.py"
    os.mkfifo(path)
    with pytest.raises(SourceError) as caught:
        read_source(path)  # no writer: opening it for reading would wait forever
    assert str(caught.value) == "is a FIFO, not a regular file"


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError:  # path too long for a unix socket on this machine
        pytest.skip("cannot bind a unix socket under tmp_path")
    try:
        with pytest.raises(SourceError, match="is a socket, not a regular file"):
            read_source(path)
    finally:
        server.close()


def test_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a device, not a regular file"):
        read_source(Path("/dev/null"))


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_source(tmp_path)
    assert str(caught.value) == "is a directory"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_source(tmp_path / "nope.py")
    assert str(caught.value) == "no such file or directory"


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    with pytest.raises(SourceError, match=r"^symbolic link loop$"):
        read_source(tmp_path / "a.py")


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"x = 1\n")
    path.chmod(0)
    try:
        with pytest.raises(SourceError) as caught:
            read_source(path)
    finally:
        path.chmod(0o644)
    assert str(caught.value) == "permission denied"


def test_decode_source_on_carriage_return_lines_finds_the_coding_line() -> None:
    # The interpreter treats a lone '\r' as a line end when it looks for the coding line.
    data = "#!/usr/bin/python\r# coding: latin-1\rx = 'é'\r".encode("latin-1")
    text, encoding = decode_source(data)
    assert encoding == "iso-8859-1"
    assert text == data.decode("latin-1")


@given(st.text())
def test_decode_source_reads_back_any_utf8_text_like_python(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(SourceError, match=r"^cannot decode as utf-8 \(line \d+\)"):
            decode_source(data)
        return
    try:
        decoded, encoding = decode_source(data)
    except SourceError:
        # Only a coding line can make a plain UTF-8 text unreadable.
        assert "coding" in text
        return
    if encoding == "utf-8":
        assert decoded == expected
    else:
        assert decoded == data.decode(encoding)
