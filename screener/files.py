"""Opening a user's file only when it is a regular file (and reading it whole only within a size limit)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from screener.errors import ScreenerError

_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a named pipe (FIFO)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


class FileLimitError(ScreenerError):
    """A file refused before reading: missing, not a regular file, or over its size limit."""


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The bytes of `path`; FileLimitError, saying why, when it is not a regular file or holds more than `limit`.

    At most limit + 1 bytes are read, so a file growing while it is read (or /proc-like files) cannot exceed it.
    """
    with open_regular(path, what, limit) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileLimitError(f"{path} holds more than {_size(limit)}, the limit for a {what}")
    return data


def open_regular(path: Path, what: str, limit: int | None = None) -> BinaryIO:
    """`path` opened for reading in binary; FileLimitError, saying why, when it is not a regular file or its size is
    over `limit`. The file is opened without blocking (a FIFO would wait for a writer) and checked before a byte is
    read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as error:
        raise FileLimitError(f"{path}: no such file") from error
    except OSError as error:
        raise FileLimitError(f"{path}: cannot be read ({error.strerror or error})") from error
    try:
        _check(path, os.fstat(descriptor), limit, what)
    except FileLimitError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def special_kind(mode: int) -> str | None:
    """What a file that is not a regular file is ("a directory", "a named pipe (FIFO)", ...), else None."""
    return next((kind for test, kind in _KINDS.items() if test(mode)), None)


def _check(path: Path, status: os.stat_result, limit: int | None, what: str) -> None:
    if kind := special_kind(status.st_mode):
        raise FileLimitError(f"{path} is {kind}, not a regular file; give the path of a {what}")
    if limit is not None and status.st_size > limit:
        raise FileLimitError(f"{path} holds more than {_size(limit)}, the limit for a {what}")


def _size(limit: int) -> str:
    return f"{limit / 1024**2:,.0f} MB" if limit >= 1024**2 else f"{limit / 1024:,.0f} KB"
