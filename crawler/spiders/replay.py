"""Replay pages saved on disk through the same pipelines as a live crawl, offline.

``scrapy crawl replay -a path=PATH`` reads a file or a folder (recursively): plain-text
page dumps (``.txt``), saved HTML (``.html``, ``.htm``, ``.html.gz``), WARC files
(``.warc``, ``.warc.gz``, read by :mod:`crawler.warc_reader`). A ``manifest.jsonl``
in a folder names each file's real page (``{"file": ..., "url": ..., "fetched_at": ...}``);
a file without an entry gets its ``file://`` URL. Every entry that cannot be read becomes
a failed page with its reason, so nothing is lost silently.

Every file and folder handed to a replay is hostile until checked:

- Nothing outside the replayed folder is read. A manifest line naming ``../x`` or an
  absolute path, a symbolic link, or a ``manifest.jsonl`` that resolves outside is an
  ``outside-folder`` failure, never opened.
- Symbolic links to files are followed when their target is inside the folder (the page
  keeps the link's name); a dangling link is ``broken-symlink``, a loop ``symlink-loop``.
  Links to folders are never descended: one pointing inside is replayed under its real
  path anyway (counted as ``replay/skipped/folder-symlink``), one pointing outside is
  ``outside-folder``.
- Only regular files are opened, non-blocking and checked with ``fstat``: a FIFO,
  socket or device named like a page is ``not-a-file`` (opening a FIFO would block the
  run forever, past SIGTERM).
- A manifest ``url`` must be http(s) with a host, or ``file:`` (``bad-url``).

With ``REDIS_URL`` the replay is one worker of a fleet (:mod:`crawler.fleet.units`):
the same command on N machines, on the same path (a shared folder or identical copies),
splits the work. One worker walks the path, as above, and lists *units*: each WARC file
is one, other pages go ``REPLAY_UNIT_FILES`` (100) to a unit, with their manifest entry
(so a manifest still names its files' pages) or, for a problem the walk found, the failed
page itself; the workers read the units, and each exits once every unit is stored.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import blake2b
from heapq import merge
from pathlib import Path
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.core.scraper import Scraper
from scrapy.crawler import Crawler

from crawler.fleet.connection import FleetError, fleet_url
from crawler.fleet.units import WorkUnits
from crawler.items import Page
from crawler.local_files import (
    ReadFailure,
    check_file,
    open_regular,
    read_body,
    shown,
    url_problem,
)
from crawler.warc_reader import WarcReader, is_warc
from pipelines.extract import extract_workers

MANIFEST = "manifest.jsonl"
CONTENT_TYPES = {
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html",
    ".htm": "text/html",
    ".html.gz": "text/html",
}


def page_suffix(path: Path) -> str | None:
    """The replayable kind of a file from its name, or None for other files."""
    name = path.name.lower()
    return next((s for s in sorted(CONTENT_TYPES, key=len, reverse=True) if name.endswith(s)), None)


@dataclass
class ManifestEntry:
    url: str
    fetched_at: datetime | None
    source: str | None = None  # the outlet the page shows, when the line names it


@dataclass
class Listing:
    """A folder's entries that may be pages, by kind, from the listing's d_type alone."""

    folder: Path
    files: list[str] = field(default_factory=list)  # regular page files
    links: list[str] = field(default_factory=list)  # symbolic links, to files or folders
    special: list[str] = field(default_factory=list)  # FIFOs, sockets, devices named as pages
    subfolders: list[Path] = field(default_factory=list)
    manifest: bool = False


def no_manifest(path: Path) -> Iterator[tuple[Path, ManifestEntry] | Page]:
    return iter(())


class FileToRead(NamedTuple):
    """A page file found or named, not opened yet (that happens in a thread)."""

    path: Path  # as found or named: the page's file:// URL and local_path
    entry: ManifestEntry | None
    real: Path | None = None  # what to open, when path is a symbolic link


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 time; a naive one is taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _close_if_idle(scraper: Scraper) -> None:
    slot = scraper.slot
    if slot is not None and slot.closing is not None and not slot.closing.called:
        scraper._check_if_closing()


class ListedFiles:
    """A set of file paths kept as sorted 64-bit digests: 8 bytes a file in one array.

    A set of path strings costs ~140 bytes a file, allocated one at a time as a replay
    goes on, between the pages' short-lived objects, so that it also pins the heap
    around it: measured 14 MB for the strings alone at 100k files, and the crawl
    process's memory rising with the pages replayed. Two paths share a digest with
    odds of about one in 10^14 for a folder of 100k files.
    """

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self.digests = array("q", sorted(map(self.digest, paths)))

    @staticmethod
    def digest(path: str) -> int:
        encoded = path.encode("utf-8", "surrogateescape")
        return int.from_bytes(blake2b(encoded, digest_size=8).digest(), "little", signed=True)

    def count(self, path: str) -> int:
        digest = self.digest(path)
        return bisect_right(self.digests, digest) - bisect_left(self.digests, digest)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.count(path) > 0

    def update(self, other: ListedFiles) -> None:
        self.digests = array("q", merge(self.digests, other.digests))


class ReplaySpider(scrapy.Spider):
    name = "replay"
    custom_settings: ClassVar[dict[str, Any]] = {"ROBOTSTXT_OBEY": False}
    # The -a arguments, checked and shown by scrapy crawl (crawler/commands/crawl.py).
    units: WorkUnits | None = None  # with REDIS_URL: this worker's share of the units
    arguments: ClassVar[dict[str, str]] = {
        "path": "file or folder of saved pages to replay (required)",
        "source": "source of every page (default: its manifest source, else its host, else "
                  "the folder's name)",
    }

    def __init__(self, path: str | None = None, source: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not path:
            raise ValueError("replay needs a file or folder: scrapy crawl replay -a path=PATH")
        # realpath, not Path.resolve(): a link loop is then "does not exist", not a traceback
        self.root = Path(os.path.realpath(Path(path).expanduser()))
        if not self.root.exists():
            raise ValueError(f"replay path {shown(self.root)} does not exist: give a file "
                             "or folder of saved pages, -a path=PATH")
        self.folder = self.root if self.root.is_dir() else self.root.parent
        self.source_name = source
        self.run_arguments = {"path": shown(self.root), "source": source}
        self.warc_files: list[Path] = []  # found by the walk, read after the other pages

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ReplaySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        # Items from start() bypass Scrapy's download backpressure: bound them here.
        pending = crawler.settings.getint("REPLAY_MAX_PENDING", -1)
        if pending < 0:  # enough to keep every extraction worker busy, and no more
            pending = 8 * max(extract_workers(crawler.settings), 1)
        spider.in_flight = asyncio.Semaphore(pending)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_done, signal=signal)
        return spider

    async def join_fleet(self) -> bool:
        """With ``REDIS_URL``, join the cycle of this crawl (``units``); False if Redis
        does not answer: the run stops, said why (joined here, not in from_crawler:
        the cycle records itself in the stats, which Scrapy sets up later)."""
        if fleet_url(self.settings) is None:
            return True
        try:
            self.units = await asyncio.to_thread(WorkUnits.from_crawler, self.crawler,
                                                 self.identity())
        except FleetError as exc:
            self.logger.error("%s", exc)
            self.crawler.stats.set_value("archive/run_error", str(exc))
            self.leaving = asyncio.ensure_future(  # a reference: the loop holds it weakly
                self.crawler.engine.close_spider_async(reason="fleet-unreachable"))
            return False
        return True

    def identity(self) -> str:
        """What makes two workers' replays one crawl: the path, resolved, and the
        arguments."""
        return json.dumps(self.run_arguments | {"path": str(self.root)}, sort_keys=True)

    def _item_done(self) -> None:
        self.in_flight.release()
        scraper = self.crawler.engine.scraper if self.crawler.engine else None
        if scraper is not None and scraper.slot is not None and scraper.slot.closing:
            # Scrapy 2.19 does not check whether a closing spider has gone idle when an
            # item from start() finishes (scrapy/scrapy#7029), so Ctrl-C waited forever:
            # check once this item has left the scraper.
            asyncio.get_running_loop().call_later(0.1, _close_if_idle, scraper)

    async def start(self) -> AsyncIterator[Page]:
        if not await self.join_fleet():
            return
        if self.units is not None:
            async for page in self.units.share(self.unit_names, self.unit_pages):
                yield page
            return
        # The walk, the manifests and the reads all run in a thread: one hop a page.
        pages = self.pages()
        while True:
            await self.in_flight.acquire()
            page = await asyncio.to_thread(self.next_page, pages)
            if page is None:
                self.in_flight.release()
                break
            yield page
        async for page in self.warc_pages():
            yield page

    def next_page(self, pages: Iterator[Page | FileToRead]) -> Page | None:
        item = next(pages, None)
        return self.read(item) if isinstance(item, FileToRead) else item

    @functools.cached_property
    def warc_reader(self) -> WarcReader:
        """One reader for the run: it remembers the payloads read (revisits of a later
        file resolve from them) and opens the fleet's digest index once."""
        return WarcReader(self.crawler)

    async def warc_pages(self, files: list[Path] | None = None) -> AsyncIterator[Page]:
        """The pages of the WARC files under the path (or of ``files``), read in a
        thread, in name order."""
        pages = self.warc_reader.pages(
            sorted(self.warc_files if files is None else files), self.source_name,
            self.default_source,
        )
        while True:
            await self.in_flight.acquire()
            page = await asyncio.to_thread(next, pages, None)
            if page is None:
                self.in_flight.release()
                return
            yield page

    # A fleet's units ----------------------------------------------------------------

    def unit_names(self) -> Iterator[str]:
        """The replay's units, from the walk (run by the seeding worker): JSON lists of
        files to read (path relative to the folder, manifest entry) and failed pages,
        ``REPLAY_UNIT_FILES`` at a time, so that Redis sees one round trip per 100
        pages, not per page; then each WARC file alone (``{"warc": path}``)."""
        size = max(1, self.settings.getint("REPLAY_UNIT_FILES", 100))
        self.warc_files = []  # a cycle seeded again after Redis restarted: walked again
        unit: list[dict[str, Any]] = []
        for item in self.pages():
            unit.append(self.unit_item(item))
            if len(unit) >= size:
                yield json.dumps(unit)
                unit = []
        if unit:
            yield json.dumps(unit)
        for warc in sorted(self.warc_files):
            yield json.dumps({"warc": os.path.relpath(warc, self.folder)})

    def unit_item(self, item: Page | FileToRead) -> dict[str, Any]:
        if isinstance(item, Page):  # a problem the walk found: its failed page
            return {"failed": {
                "url": item.url, "fetched_at": item.fetched_at.isoformat(),
                "local_path": item.local_path, "source": item.source, "error": item.error,
                "error_detail": item.error_detail,
            }}
        entry = item.entry
        return {
            "file": os.path.relpath(item.path, self.folder),
            "real": os.path.relpath(item.real, self.folder) if item.real else None,
            "entry": None if entry is None else {
                "url": entry.url, "source": entry.source,
                "fetched_at": entry.fetched_at.isoformat() if entry.fetched_at else None,
            },
        }

    async def unit_pages(self, unit: str) -> AsyncIterator[Page]:
        """The pages of one unit, read in a thread as the in-flight bound lets them."""
        items = json.loads(unit)
        if isinstance(items, dict):
            warc = self.folder / items["warc"]
            if not self.unit_inside(warc):
                yield self.outside(warc, None)
                return
            async for page in self.warc_pages([warc]):
                yield page
            return
        for item in items:
            await self.in_flight.acquire()
            yield await asyncio.to_thread(self.unit_page, item)

    def unit_page(self, item: dict[str, Any]) -> Page:
        if "failed" in item:
            failed = item["failed"]
            return Page(
                url=failed["url"], fetched_at=parse_timestamp(failed["fetched_at"]),
                local_path=failed["local_path"], source=failed["source"],
            ).fail(failed["error"], failed["error_detail"])
        stated = item["entry"]
        entry = None if stated is None else ManifestEntry(
            stated["url"],
            parse_timestamp(stated["fetched_at"]) if stated["fetched_at"] else None,
            stated["source"],
        )
        path = self.folder / item["file"]
        real = self.folder / item["real"] if item["real"] else None
        if not all(self.unit_inside(p) for p in (path, real) if p):
            return self.outside(path, None, entry)
        return self.read(FileToRead(path, entry, real))

    def unit_inside(self, path: Path) -> bool:
        """Redis is trusted no more than a manifest: a unit names files in the folder."""
        return inside(Path(os.path.normpath(path)), self.folder)

    def pages(self) -> Iterator[Page | FileToRead]:
        """Every page to replay, body not read yet; problems found on the way as failed
        pages. WARC files found are kept in ``warc_files``.

        Streamed folder by folder, manifest line by manifest line: a 100k-page folder is
        never held as a list of paths and entries (~65 MB), only as the digests of the
        files the manifests named (:class:`ListedFiles`, 0.8 MB), so that a listed file
        is not replayed again as an unlisted one, nor twice for two lines naming it.
        """
        if not self.root.is_dir():
            if is_warc(self.root):
                self.warc_files.append(self.root)
                return
            entries = self.read_manifest(self.folder / MANIFEST)
            entry = next((e for e in entries if not isinstance(e, Page) and e[0] == self.root),
                         None)
            failure = check_file(self.root)  # named by the user: any name is a page
            stated = entry[1] if entry else None
            yield self.failed(self.root, stated, failure) if failure else FileToRead(
                self.root, stated)
            return
        listed = ListedFiles()
        for listing in self.walk():
            if isinstance(listing, Page):
                yield listing
                continue
            manifest = listing.folder / MANIFEST
            lines = self.read_manifest if listing.manifest else no_manifest
            this = ListedFiles(str(item[0]) for item in lines(manifest)
                               if not isinstance(item, Page))
            repeated: set[str] = set()  # files this manifest names more than once
            for item in lines(manifest):
                if isinstance(item, Page):
                    yield item
                    continue
                target, entry = item
                key = str(target)
                if key in listed or key in repeated:  # named by an earlier manifest or line
                    continue
                if this.count(key) > 1:
                    repeated.add(key)
                yield self.checked(target, entry)
            listed.update(this)
            del this, repeated
            for name in listing.files:
                path = listing.folder / name
                if str(path) not in listed:
                    yield FileToRead(path, None)
            for name in listing.links:
                yield from self.linked(listing.folder / name)
            for name in listing.special:
                path = listing.folder / name
                yield self.failed(path, None, ReadFailure(
                    "not-a-file", f"{shown(path)} is not a regular file but a FIFO, socket or "
                    "device; it was not opened. Remove it from the folder"))

    def walk(self) -> Iterator[Listing | Page]:
        """Each folder under the root, depth first in name order, as a :class:`Listing`;
        WARC files go to ``warc_files``; a folder that cannot be listed is a failed page.
        Entry kinds come from the listing itself (d_type): no stat() a file."""
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as entries:
                    listing = self.listing(folder, entries)
            except OSError as exc:
                yield self.new_page(folder.as_uri(), folder, None).fail(
                    "unreadable-folder", f"cannot list the folder {shown(folder)}: "
                    f"{exc.strerror}; nothing in it was replayed. Give the user running the "
                    "replay read and execute access to it",
                )
                continue
            stack.extend(sorted(listing.subfolders, reverse=True))
            listing.subfolders.clear()
            yield listing

    def listing(self, folder: Path, entries: Iterable[os.DirEntry[str]]) -> Listing:
        listing = Listing(folder)
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                listing.subfolders.append(folder / name)
            if name == MANIFEST:  # whatever it is: read_manifest() says if it is no file
                listing.manifest = True
            elif entry.is_symlink():
                listing.links.append(name)
            elif entry.is_dir(follow_symlinks=False) or not (
                page_suffix(Path(name)) or is_warc(Path(name))
            ):
                continue
            elif not entry.is_file(follow_symlinks=False):
                listing.special.append(name)
            elif is_warc(Path(name)):
                self.warc_files.append(folder / name)
            else:
                listing.files.append(name)
        for names in (listing.files, listing.links, listing.special):
            names.sort()
        return listing

    def read_manifest(self, path: Path) -> Iterator[tuple[Path, ManifestEntry] | Page]:
        """(file, entry) for each line of a manifest, or a failed page for a bad line.

        The named file is resolved (realpath) and must be inside the replayed folder; it
        is not looked at here (:meth:`checked` does)."""
        try:
            if not inside(Path(os.path.realpath(path)), self.folder):
                yield self.outside(path, None)
                return
            stream, _ = open_regular(path)
        except ReadFailure as failure:
            if failure.reason == "missing-file" and path.is_symlink():
                failure = ReadFailure("broken-symlink", (
                    f"{shown(path)} is a symbolic link to {shown(os.readlink(path))}, which "
                    "does not exist: the folder's manifest was not read. Fix or remove the link"))
            if failure.reason != "missing-file":  # no manifest: the usual case
                yield self.failed(path, None, failure)
            return
        with stream:
            for number, raw in enumerate(stream, 1):
                where = f"{shown(path)}:{number}"
                try:
                    line = raw.decode("utf-8")
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    named = record["file"]
                    if not isinstance(named, str):
                        raise TypeError(f"'file' is {type(named).__name__}, not a string")
                    target = Path(os.path.realpath(path.parent / named))
                    entry = manifest_entry(record, target)
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    yield self.new_page(f"{path.as_uri()}#line={number}", path, None).fail(
                        "bad-manifest-line",
                        f"{where} is not a UTF-8 JSON object with 'file', a 'url' or a "
                        f"'source' or both, and an optional ISO 8601 'fetched_at' ({exc}); "
                        "fix the line",
                    )
                    continue
                problem = url_problem(entry.url)
                if problem:
                    yield self.new_page(f"{path.as_uri()}#line={number}", path, None).fail(
                        "bad-url", f"{where} gives the url {str(entry.url)[:200]!r}, which is no "
                        f"page address: {problem}; give the page's http(s) URL or leave the "
                        "line out",
                    )
                elif not inside(target, self.folder):
                    yield self.outside(path.parent / named, target, entry, where)
                else:
                    yield target, entry

    def checked(self, path: Path, entry: ManifestEntry | None) -> Page | FileToRead:
        """A file named by a manifest (or the path given), looked at before it is opened."""
        failure = check_file(path)
        if failure is None and not page_suffix(path):
            failure = ReadFailure(
                "not-a-page", f"{shown(path)} is not a page file ({', '.join(CONTENT_TYPES)}); "
                "remove its manifest line, or rename the file if it is one",
            )
        return self.failed(path, entry, failure) if failure else FileToRead(path, entry)

    def linked(self, path: Path) -> Iterator[Page | FileToRead]:
        """What a symbolic link found by the walk gives: its target if that is inside,
        under the link's own name (a page of its own, even if a manifest names the
        target)."""
        real = Path(os.path.realpath(path))
        if real.is_dir():  # a stat of the target, for links only
            if not inside(real, self.folder):
                yield self.outside(path, real)
            else:
                self.crawler.stats.inc_value("replay/skipped/folder-symlink")
            return
        if not (page_suffix(path) or is_warc(path)):
            return
        if not inside(real, self.folder):
            yield self.outside(path, real)
            return
        failure = check_file(real)
        if failure is not None and failure.reason == "missing-file":
            failure = ReadFailure("broken-symlink", f"{shown(path)} is a symbolic link to "
                                  f"{shown(real)}, which does not exist; fix or remove the link")
        if failure is not None:
            yield self.failed(path, None, failure)
        elif is_warc(path):
            self.warc_files.append(path)
        else:
            yield FileToRead(path, None, real)

    def outside(self, path: Path, real: Path | None, entry: ManifestEntry | None = None,
                where: str | None = None) -> Page:
        named = f"{where} names {shown(path)}" if where else shown(path)
        to = f", which resolves to {shown(real)}" if real and real != path else ""
        return self.failed(path, entry, ReadFailure(
            "outside-folder", f"{named}{to}, outside the replayed folder {shown(self.folder)}: "
            "not read. Copy the file into the folder, or replay the folder it is in",
        ))

    def failed(self, path: Path, entry: ManifestEntry | None, failure: ReadFailure) -> Page:
        url = entry.url if entry else path.as_uri()
        page = self.new_page(url, path, entry.fetched_at if entry else None,
                             entry.source if entry else None)
        return page.fail(failure.reason, failure.detail)

    def new_page(self, url: str, path: Path, fetched_at: datetime | None,
                 source: str | None = None) -> Page:
        """A page of the replay; its source is ``-a source=``, else the manifest's
        ``source``, else the URL's host, else the folder's name."""
        return Page(
            url=url,
            fetched_at=fetched_at or datetime.now(UTC),
            local_path=shown(path),
            source=self.source_name or source or self.default_source(url),
        )

    def default_source(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return shown(self.folder.name)
        return (parts.hostname or "unknown").removeprefix("www.")

    def read(self, file: FileToRead) -> Page:
        """The page of a file, body read (in a thread), or failed with why it cannot be."""
        path, entry = file.path, file.entry
        try:
            stream, status = open_regular(file.real or path)
        except ReadFailure as failure:
            return self.failed(path, entry, failure)
        fetched_at = entry.fetched_at if entry else None
        page = self.new_page(
            entry.url if entry else path.as_uri(),
            path,
            fetched_at or datetime.fromtimestamp(status.st_mtime, UTC),
            entry.source if entry else None,
        )
        if page.local_path != str(path):
            self.crawler.stats.inc_value("replay/non-utf8-file-name")
        page.headers["content-type"] = CONTENT_TYPES[page_suffix(path) or ".html"]
        with stream:
            try:
                page.body = read_body(stream, status, path, self.max_size)
            except ReadFailure as failure:
                return page.fail(failure.reason, failure.detail)
        return page


def manifest_entry(record: dict[str, Any], target: Path) -> ManifestEntry:
    """The entry of a manifest line naming target. A line may give the page's ``url``,
    its outlet as ``source`` (a name or domain, as the page shows it), or both; without
    a url the page keeps its ``file://`` URL, so no address is ever made up."""
    url, source, fetched_at = record.get("url"), record.get("source"), record.get("fetched_at")
    if url is None and source is None:
        raise KeyError("neither 'url' nor 'source'")
    if source is not None and not (isinstance(source, str) and source.strip()):
        raise TypeError("'source' is not a name")
    return ManifestEntry(
        target.as_uri() if url is None else url,
        parse_timestamp(fetched_at) if fetched_at else None,
        source.strip() if source is not None else None,
    )


def inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)
