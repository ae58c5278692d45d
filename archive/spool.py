"""Pages held on disk while the archive database does not answer, and stored later.

One file per run, ``<spider>-run<id>.spool.jsonl`` in ``SPOOL_DIR``, written append-only,
one JSON object a line, so that a crash mid-write costs at most the torn last line:

- ``{"header": {...}}`` the run and the database the pages belong to;
- ``{"page": {...}}`` a page's stored fields (body dropped), in the order they came;
- ``{"stored": N}`` the first N pages are in the database (written after each commit,
  so a run that dies while storing a spool does not store those pages twice);
- ``{"end": {...}}`` the run gave up: its status, finish reason and final stats.

The writing run holds an ``flock`` on the file for its whole life; a later run (any
spider or command) that can take the lock stores what is left, closes the old run's
row, and deletes the file only after the last commit.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import socket
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

from scrapy.settings import BaseSettings
from sqlalchemy.exc import DBAPIError

from archive.database import DatabaseError, describe_error, folder_beside_archive, mask_url
from archive.outage import OutageDuringWrite, write_pages
from archive.writer import Archive
from crawler.items import Page

SUFFIX = ".spool.jsonl"
PAGE_FIELDS = [f.name for f in fields(Page) if f.name != "body"]  # bodies are dropped first


def spool_dir(settings: BaseSettings) -> Path:
    """SPOOL_DIR, else ``<archive file>.spool`` beside the SQLite archive, else ``./spool``."""
    return folder_beside_archive(
        settings, "SPOOL_DIR", lambda archive: archive.with_name(archive.name + ".spool"), "spool"
    )


def _encode(value: Any) -> Any:
    """JSON for the values a page holds that JSON lacks, tagged to come back exactly."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, array):  # story shingles (pipelines.keys.copies)
        return {"$array": value.typecode, "data": base64.b64encode(value.tobytes()).decode()}
    raise TypeError(f"a page field holds a {type(value).__name__}, which the spool cannot keep")


def _decode(record: dict[str, Any]) -> Any:
    if "$datetime" in record:
        return datetime.fromisoformat(record["$datetime"])
    if "$array" in record:
        return array(record["$array"], base64.b64decode(record["data"]))
    return record


def page_line(page: Page) -> bytes:
    record = {"page": {name: getattr(page, name) for name in PAGE_FIELDS}}
    return (json.dumps(record, default=_encode, ensure_ascii=False) + "\n").encode()


def read_line(line: bytes) -> dict[str, Any] | None:
    """One record, or None for a line cut short by a crash (no newline, or not JSON)."""
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line, object_hook=_decode)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class Spool:
    """The spool file of the running crawl. Appends happen on the reactor thread (only
    during an outage); :meth:`take` reads the next pages back, in a worker thread."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self.file: IO[bytes] | None = None
        self.reader: IO[bytes] | None = None
        self.written = 0  # pages appended
        self.taken = 0  # pages read back
        self.stored = 0  # pages in the database

    @property
    def pending(self) -> int:
        return self.written - self.stored

    def _open(self) -> IO[bytes]:
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.path.open("ab")
            fcntl.flock(self.file, fcntl.LOCK_EX)  # ours alone while this run lives
            if self.file.tell() == 0:
                self.file.write(json.dumps({"header": self.header}).encode() + b"\n")
        return self.file

    def append(self, pages: Sequence[Page], taken: bool = False) -> None:
        """Add pages at the end; ``taken``: they are in memory already, so :meth:`take`
        goes past them (only when every page before them was taken)."""
        out = self._open()
        out.write(b"".join(page_line(page) for page in pages))
        out.flush()
        self.written += len(pages)
        if taken:
            assert self.taken == self.written - len(pages)
            self.taken = self.written
            self.reader = self.reader or self.path.open("rb")
            self.reader.seek(0, os.SEEK_END)

    def take(self, count: int) -> list[Page]:
        """The next ``count`` pages appended and not yet taken (a worker thread reads
        only lines already flushed: ``written`` counts whole lines)."""
        if self.reader is None:
            self.reader = self.path.open("rb")
        pages: list[Page] = []
        limit = min(count, self.written - self.taken)
        while len(pages) < limit:
            line = self.reader.readline()
            if not line:
                break
            record = read_line(line)
            if record is not None and "page" in record:
                pages.append(Page(**record["page"]))
        self.taken += len(pages)
        return pages

    def mark_stored(self, count: int) -> None:
        self.stored += count
        out = self._open()
        out.write(json.dumps({"stored": self.stored}).encode() + b"\n")
        out.flush()

    def finish(self, end: dict[str, Any]) -> None:
        """Record why the run ended, durably, and keep the file for the next run."""
        out = self._open()
        out.write(json.dumps({"end": end}, default=str).encode() + b"\n")
        out.flush()
        os.fsync(out.fileno())
        self.close()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        for handle in (self.reader, self.file):
            if handle is not None:
                handle.close()
        self.reader = self.file = None


def new_spool(folder: Path, spider: str, run_id: int, url: str) -> Spool:
    header = {"run_id": run_id, "spider": spider, "database": mask_url(url),
              "host": socket.gethostname(), "pid": os.getpid()}
    return Spool(folder / f"{spider}-run{run_id}{SUFFIX}", header)


# Storing the spools of earlier runs ---------------------------------------------------


def scan(handle: IO[bytes]) -> tuple[dict[str, Any], int, dict[str, Any] | None, int]:
    """(header, pages stored already, end record, torn lines) of a spool file; page
    lines are only recognised here, not parsed, so a large spool scans quickly."""
    header: dict[str, Any] = {}
    stored, torn, end = 0, 0, None
    for line in handle:
        if line.startswith(b'{"page"'):
            torn += not line.endswith(b"\n")
            continue
        record = read_line(line)
        if record is None:
            torn += 1
        elif "header" in record:
            header = record["header"]
        elif "stored" in record:
            stored = record["stored"]
        elif "end" in record:
            end = record["end"]
    return header, stored, end, torn


def spooled_pages(handle: IO[bytes], skip: int) -> Iterator[Page]:
    handle.seek(0)
    seen = 0
    for line in handle:
        record = read_line(line) if line.startswith(b'{"page"') else None
        if record is None:
            continue
        seen += 1
        if seen > skip:
            yield Page(**record["page"])


@dataclass
class Recovery:
    """What a run found left by earlier ones, and what it did about it."""

    runs: list[int] = field(default_factory=list)  # runs whose spool was stored
    pages: int = 0  # pages stored from those spools
    interrupted: list[int] = field(default_factory=list)  # dead runs marked interrupted
    notes: list[str] = field(default_factory=list)  # one sentence each, for the log


def recover(
    archive: Archive, folder: Path, url: str, stale_seconds: float, batch_size: int
) -> Recovery:
    """What every spider and command does first: store the spools earlier runs left
    (oldest first), then mark the runs whose process died ``interrupted``."""
    found = Recovery()
    try:
        if folder.is_dir():
            for path in sorted(folder.glob(f"*{SUFFIX}"), key=os.path.getmtime):
                store_leftover(archive, path, url, batch_size, found)
        found.interrupted = archive.mark_dead_runs(stale_seconds)
    except OutageDuringWrite as exc:
        raise DatabaseError(describe_error(url, exc.cause)) from None
    except DBAPIError as exc:
        raise DatabaseError(describe_error(url, exc)) from None
    found.notes += [f"run {run_id} was still marked running, but its process is gone: "
                    "marked interrupted" for run_id in found.interrupted]
    return found


def store_leftover(archive: Archive, path: Path, url: str, batch_size: int,
                   found: Recovery) -> None:
    """Store the pages of one spool file an earlier run left, close that run's row, and
    delete the file. A spool a live process still holds is left to it."""
    with path.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # its run is alive, riding out the outage itself
        header, stored, end, torn = scan(handle)
        owner = header.get("database", "an unknown database")
        if owner != mask_url(url):
            found.notes.append(f"{path} holds pages for {owner}, not this archive; left as is")
            return
        if torn:
            found.notes.append(f"{path}: {torn} line(s) cut short by a crash were ignored")
        run_id = header["run_id"]
        counts = _store_pages(archive, handle, run_id, stored, batch_size)
        stats = dict((end or {}).get("stats") or {})
        for key, count in counts.items():
            stats[key] = stats.get(key, 0) + count
        stats["archive/spool/stored_later"] = pages = counts.get("archive/pages", 0)
        status, reason = ((end.get("status", "aborted"), end.get("reason")) if end
                          else ("interrupted", "process-gone"))
        archive.finish_run(run_id, status, reason, stats)
        path.unlink()  # after the commits: a crash before leaves it for the next run
    found.runs.append(run_id)
    found.pages += pages
    found.notes.append(f"stored {pages} pages that run {run_id} spooled to {path} while the "
                       f"database did not answer; run {run_id} is closed as {status}")


def _store_pages(
    archive: Archive, handle: IO[bytes], run_id: int, stored: int, batch_size: int
) -> dict[str, int]:
    """Store a spool's pages after the first ``stored``, a batch per transaction, each
    commit recorded in the file; the stats counts they add to their run."""
    counts: dict[str, int] = {}
    pages = spooled_pages(handle, stored)
    with open(handle.name, "ab") as progress:
        while batch := list(islice(pages, batch_size)):
            write_pages(archive, batch, run_id)
            stored += len(batch)
            progress.write(json.dumps({"stored": stored}).encode() + b"\n")
            progress.flush()
            for page in batch:
                for key in page_counts(page):
                    counts[key] = counts.get(key, 0) + 1
    return counts


def page_counts(page: Page) -> list[str]:
    """The stats keys a stored page adds one to."""
    keys = ["archive/pages", f"archive/outcome/{page.outcome}"]
    if page.error:
        keys += ["archive/failed", f"archive/failed/{page.error}"]
    return keys
