"""Replay pages saved on disk through the same pipelines as a live crawl, offline.

``scrapy crawl replay -a path=PATH`` reads a file or a folder (recursively): plain-text
page dumps (``.txt``), saved HTML (``.html``, ``.htm``, ``.html.gz``), WARC files
(``.warc``, ``.warc.gz``, read by :mod:`crawler.warc_reader`). A ``manifest.jsonl``
in a folder names each file's real page (``{"file": ..., "url": ..., "fetched_at": ...}``);
a file without an entry gets its ``file://`` URL. Every file that cannot be read becomes
a failed page with its reason, so nothing is lost silently.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b
from heapq import merge
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.core.scraper import Scraper
from scrapy.crawler import Crawler

from crawler.items import Page
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

    def __init__(self, path: str | None = None, source: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not path:
            raise ValueError("replay needs a file or folder: scrapy crawl replay -a path=PATH")
        self.root = Path(path).expanduser().resolve()
        if not self.root.exists():
            raise ValueError(f"replay path {self.root} does not exist")
        self.source_name = source
        self.run_arguments = {"path": str(self.root), "source": source}

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

    def _item_done(self) -> None:
        self.in_flight.release()
        scraper = self.crawler.engine.scraper if self.crawler.engine else None
        if scraper is not None and scraper.slot is not None and scraper.slot.closing:
            # Scrapy 2.19 does not check whether a closing spider has gone idle when an
            # item from start() finishes (scrapy/scrapy#7029), so Ctrl-C waited forever:
            # check once this item has left the scraper.
            asyncio.get_running_loop().call_later(0.1, _close_if_idle, scraper)

    async def start(self) -> AsyncIterator[Page]:
        for page in self.pages():
            await self.in_flight.acquire()
            if page.error is None:
                await asyncio.to_thread(self.read, page)
            yield page
        async for page in self.warc_pages():
            yield page

    async def warc_pages(self) -> AsyncIterator[Page]:
        """The pages of the WARC files under the path, read in a thread, in name order."""
        files = [self.root] if is_warc(self.root) else sorted(filter(is_warc, self.root.rglob("*")))
        pages = WarcReader(self.crawler).pages(files, self.source_name, self.default_source)
        while True:
            await self.in_flight.acquire()
            page = await asyncio.to_thread(next, pages, None)
            if page is None:
                self.in_flight.release()
                return
            yield page

    def pages(self) -> Iterator[Page]:
        """Every page to replay, body not read yet; manifest problems as failed pages.

        Streamed folder by folder, manifest line by manifest line: a 100k-page folder is
        never held as a list of paths and entries (~65 MB), only as the digests of the
        files the manifests named (:class:`ListedFiles`, 0.8 MB), so that a listed file
        is not replayed again as an unlisted one, nor twice for two lines naming it.
        """
        if not self.root.is_dir():
            entries = self.read_manifest(self.root.parent / MANIFEST)
            entry = next((e for e in entries if not isinstance(e, Page) and e[0] == self.root),
                         None)
            yield self.page_for(self.root, entry[1] if entry else None)
            return
        listed = ListedFiles()
        for folder, subfolders, names in os.walk(self.root):
            subfolders.sort()
            manifest = Path(folder) / MANIFEST
            this = ListedFiles(str(item[0]) for item in self.read_manifest(manifest)
                               if not isinstance(item, Page))
            repeated: set[str] = set()  # files this manifest names more than once
            for item in self.read_manifest(manifest):
                if isinstance(item, Page):
                    yield item
                    continue
                target, entry = item
                key = str(target)
                if key in listed or key in repeated:  # named by an earlier manifest or line
                    continue
                if this.count(key) > 1:
                    repeated.add(key)
                if page_suffix(target) and target.is_file():
                    yield self.page_for(target, entry)
                else:
                    yield self.new_page(entry.url, target, entry.fetched_at).fail(
                        "missing-file",
                        f"{MANIFEST} names {target}, which does not exist or is not a page",
                    )
            listed.update(this)
            del this, repeated
            for name in sorted(names):
                path = Path(folder, name)
                if page_suffix(path) and str(path) not in listed:
                    yield self.page_for(path, None)

    def read_manifest(self, path: Path) -> Iterator[tuple[Path, ManifestEntry] | Page]:
        """(file, entry) for each line of a manifest, or a failed page for a bad line."""
        if not path.is_file():
            return
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    record = json.loads(line)
                    target = (path.parent / record["file"]).resolve()
                    fetched_at = record.get("fetched_at")
                    yield target, ManifestEntry(
                        str(record["url"]), parse_timestamp(fetched_at) if fetched_at else None
                    )
                except (ValueError, TypeError, KeyError) as exc:
                    yield self.new_page(f"{path.as_uri()}#line={number}", path, None).fail(
                        "bad-manifest-line",
                        f"{where} is not a JSON object with 'file' and 'url' ({exc}); fix the "
                        "line",
                    )

    def page_for(self, path: Path, entry: ManifestEntry | None) -> Page:
        url = entry.url if entry else path.as_uri()
        fetched_at = entry.fetched_at if entry else None
        if fetched_at is None:
            fetched_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        page = self.new_page(url, path, fetched_at)
        page.headers["content-type"] = CONTENT_TYPES[page_suffix(path) or ".html"]
        return page

    def new_page(self, url: str, path: Path, fetched_at: datetime | None) -> Page:
        return Page(
            url=url,
            fetched_at=fetched_at or datetime.now(UTC),
            local_path=str(path),
            source=self.source_name or self.default_source(url),
        )

    def default_source(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return (self.root if self.root.is_dir() else self.root.parent).name
        return (parts.hostname or "unknown").removeprefix("www.")

    def read(self, page: Page) -> None:
        """Fill the page body from its file (in a thread), or mark why it cannot be read."""
        path = Path(page.local_path or "")
        try:
            size = path.stat().st_size
            if size > self.max_size:
                page.fail(
                    "too-large", f"{path} is {size} bytes, over DOWNLOAD_MAXSIZE {self.max_size}"
                )
                return
            if path.name.lower().endswith(".gz"):
                with gzip.open(path) as stream:
                    body = stream.read(self.max_size + 1)
                if len(body) > self.max_size:
                    page.fail(
                        "too-large", f"{path} unpacks to over DOWNLOAD_MAXSIZE {self.max_size}"
                    )
                    return
            else:
                body = path.read_bytes()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            page.fail("unreadable-file", f"cannot read {path}: {exc}")
            return
        page.body = body
