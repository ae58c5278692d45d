"""Reading files handed to a replay, which are hostile until checked.

Shared by the replay spider, the WARC reader and ``scrapy reextract`` (which reads a
replayed page's file again): a file is opened non-blocking and checked with ``fstat`` (a
FIFO or device would block the reading thread, and with it the process's exit), and read
up to a size limit, unpacked if gzipped; each way a file cannot be read is a
:class:`ReadFailure` with a reason code and a sentence saying what to do; a path is shown
in a form that can be stored and logged even when its name is not UTF-8; a stated URL
must name a page.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import zlib
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

FILE_KINDS = {
    stat.S_IFDIR: "folder", stat.S_IFIFO: "FIFO (named pipe)", stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "device", stat.S_IFBLK: "device",
}


class ReadFailure(Exception):
    """A file (or a record in it) that cannot give a page; ``reason`` is its code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def shown(path: Path | str) -> str:
    """A path as text that can be stored and logged: a file name that is not UTF-8 keeps
    its bytes as ``\\xNN`` escapes instead of failing the database write."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def url_problem(url: object) -> str | None:
    """Why a stated URL cannot be a page's address (None if it can): only http(s) URLs
    with a host and file: URLs name pages; ``javascript:``, ``data:`` etc. would be
    archived as articles under an address that is no page."""
    if not isinstance(url, str) or not url.strip():
        return "it is empty or not a string"
    try:
        url.encode("utf-8")
        parts = urlsplit(url.strip())
        host = parts.hostname
    except (UnicodeEncodeError, ValueError) as exc:
        return f"it is not a valid URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return None if host else "it has no host"
    if scheme == "file":
        return None
    return f"its scheme {scheme + ':' if scheme else '(none)'} is not http, https or file"


def not_a_file(path: Path | str, mode: int) -> ReadFailure:
    kind = FILE_KINDS.get(stat.S_IFMT(mode), "special file")
    return ReadFailure(
        "not-a-file",
        f"{shown(path)} is a {kind}, not a file; it was not read. Remove it from the folder "
        "or the manifest",
    )


def os_failure(path: Path | str, exc: OSError) -> ReadFailure:
    """The reason an OS error gives for a file that cannot be opened."""
    if exc.errno == errno.ENOENT:
        return ReadFailure(
            "missing-file",
            f"{shown(path)} does not exist (moved or deleted after the folder was listed, or "
            "a manifest names a file that is not there); put it back or fix the manifest",
        )
    if exc.errno == errno.ELOOP:
        return ReadFailure(
            "symlink-loop",
            f"{shown(path)} is a symbolic link that leads back to itself; fix or remove it",
        )
    if exc.errno == errno.ENXIO:  # a socket: open() fails on it
        return ReadFailure("not-a-file", f"{shown(path)} is a socket, not a file; remove it")
    return ReadFailure(
        "unreadable-file",
        f"cannot read {shown(path)}: {exc.strerror}; give the user running the replay read "
        "access to it",
    )


def check_file(path: Path | str) -> ReadFailure | None:
    """Why a path named by a manifest or a symbolic link is not a file to read, from one
    stat() before it is opened: a FIFO or device is then never opened at all."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return os_failure(path, exc)
    return None if stat.S_ISREG(mode) else not_a_file(path, mode)


def open_regular(path: Path | str) -> tuple[BinaryIO, os.stat_result]:
    """The file open for reading, and its stat; a ReadFailure if it is not a readable file.

    Opened non-blocking (a FIFO or device would otherwise hang the reading thread, and
    with it the process's exit) and checked with fstat(), which sees what was opened,
    even if the name was swapped for something else after it was listed.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise os_failure(path, exc) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise not_a_file(path, status.st_mode)
        # O_NONBLOCK stays set: it changes nothing for a regular file, and clearing it
        # would cost two more system calls a file.
        return os.fdopen(fd, "rb"), status
    except BaseException:
        os.close(fd)
        raise


def read_body(stream: BinaryIO, status: os.stat_result, path: Path, max_size: int) -> bytes:
    """The page a file opened by :func:`open_regular` holds, unpacked if its name ends in
    ``.gz``; a ReadFailure if it is over ``max_size`` (DOWNLOAD_MAXSIZE), packed or not,
    or cannot be read or unpacked. One function for the replay and for reextract, so
    that a page read again is read exactly as it was archived."""
    if status.st_size > max_size:
        raise ReadFailure("too-large", f"{shown(path)} is {status.st_size} bytes, over "
                          f"DOWNLOAD_MAXSIZE {max_size}")
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=stream) as unpacked:
                body = unpacked.read(max_size + 1)
        else:  # the size fstat gave: no DOWNLOAD_MAXSIZE buffer a file
            body = stream.read(status.st_size + 1)
            if len(body) > status.st_size:  # it grew since: read on to the limit
                body += stream.read(max_size + 1 - len(body))
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ReadFailure("bad-gzip", f"{shown(path)} is not a whole gzip file ({exc}); unpack "
                          "it with gzip -d to see, or re-save the page") from None
    except OSError as exc:
        raise os_failure(path, exc) from None
    if len(body) > max_size:
        raise ReadFailure("too-large", f"{shown(path)} unpacks to over DOWNLOAD_MAXSIZE {max_size}")
    return body
