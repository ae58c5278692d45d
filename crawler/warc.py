"""Raw capture: every HTTP response a crawl receives, kept as served, in WARC 1.1 files.

An archive keeps what it fetched, not only what it extracted: extractors improve, and
researchers need provenance. Two small components, composed in ``settings.py``:

- ``WarcMiddleware``, a downloader middleware at 650: above HttpCompressionMiddleware
  (590) and RedirectMiddleware (600), so it sees every response (articles, feeds,
  sitemaps, robots.txt, redirects, errors) before Scrapy decompresses it or follows it.
  It writes a ``response`` record with the body as served (``Transfer-Encoding`` dropped:
  Scrapy has already de-chunked it), or a ``revisit`` record when the same payload is
  already archived, and the ``request`` record (``WARC-Concurrent-To`` the response).
  Responses served from Scrapy's HTTP cache were not fetched, so they are not written.
  The record's place goes into ``request.meta["warc"]`` (``{"file", "offset",
  "length"}``), readable as ``response.meta["warc"]``.
- ``WarcPageMiddleware``, a spider middleware: for each ``Page`` a callback makes of a
  response, it sets ``page.warc`` from that meta (so the capture row points at the
  record) and writes the page's own fields (URL, fetch time, source, feed listing,
  headers as the spider saw them) as a ``metadata`` record referring to the response.
  ``crawler.warc_reader`` rebuilds exactly those pages from the files.

Files are ``WARC_DIR/<spider>-<UTC time>-<serial>-run<id>.warc.gz``, each opened with a
``warcinfo`` record (software, settings, spider arguments), closed at ``WARC_MAX_SIZE``
and when the crawl ends, then indexed as ``<name>.cdxj`` for pywb. ``WARC_DIR/
digests.sqlite`` maps each payload digest to the first response record that carried it:
it lives with the files it describes, across runs, whichever database the articles go to.
With ``REDIS_URL`` (a fleet of workers) the index is shared in Redis instead
(:class:`SharedDigestIndex`), and file names also carry the host and process id.

All file work runs on one worker thread, in order, off the reactor. A write that fails
(disk full, WARC_DIR unwritable) is cut off the file, which stays a valid WARC, and stops
the crawl with the reason; pages already fetched still go through the pipelines.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import os
import re
import socket
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import version
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from archive.database import folder_beside_archive
from crawler.cdxj import write_cdxj
from crawler.fleet.connection import REDIS_DOWN, FleetError, connect, fleet_url
from crawler.items import Page

logger = logging.getLogger(__name__)
T = TypeVar("T")

SOFTWARE = "newsarchive"  # warcinfo "software" starts with it in files this crawl wrote
# A page's record is application/warc-fields with one line, ``newsarchive-page: <JSON>``:
# pywb and CDXJ indexers skip warc-fields metadata, so it is never served as the page.
PAGE_FIELD = "newsarchive-page"
# The Page fields a spider sets and a WARC record cannot tell (the body is the record's).
# ``outcome`` too: a spider marks homepages and feeds "not-article" before extraction.
PAGE_FIELDS = (
    "url", "requested_url", "fetched_at", "http_status", "headers", "source", "listing",
    "error", "error_detail", "outcome",
)
DIGESTS = "digests.sqlite"
META_LOCATION = "warc"  # request.meta: {"file", "offset", "length"} of the response record
META_RECORD_ID = "warc_record_id"
RECORDED_SETTINGS = (
    "BOT_NAME", "USER_AGENT", "ROBOTSTXT_OBEY", "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED",
    "DOWNLOAD_TIMEOUT", "DOWNLOAD_MAXSIZE", "RETRY_TIMES", "DEPTH_LIMIT", "HTTPCACHE_ENABLED",
    "WARC_MAX_SIZE",
)


def warc_dir(settings: BaseSettings) -> Path:
    """WARC_DIR, else a ``warc`` folder beside the SQLite archive, else ``./warc``."""
    return folder_beside_archive(settings, "WARC_DIR", lambda archive: archive.parent / "warc",
                                 "warc")


def payload_digest(payload: bytes) -> str:
    """The WARC payload digest (``sha1:`` base32), as warcio and pywb write it."""
    digester = Digester("sha1")
    digester.update(payload)
    return str(digester)


def page_record(page: Page) -> bytes:
    """The block of a page's metadata record: its own fields, as one warc-fields line."""
    fields = {name: getattr(page, name) for name in PAGE_FIELDS}
    fields["fetched_at"] = page.fetched_at.isoformat()
    fields["body_length"] = len(page.body)  # 0: the spider kept no body (a failed page)
    return f"{PAGE_FIELD}: {json.dumps(fields, ensure_ascii=False, default=str)}\r\n".encode()


@dataclass(frozen=True)
class Original:
    """The response record that first carried a payload: what a revisit refers to."""

    uri: str
    date: str
    record_id: str
    file: str  # file name, in the same folder as the digest index
    offset: int


class DigestIndex:
    """Payload digest → first response record, for the WARC files of one folder."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        if readonly:
            self.db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            return
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # no fsync a record: WARC files get none
        self.db.execute("PRAGMA busy_timeout=30000")  # two crawls may share a WARC_DIR
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS payloads (digest TEXT PRIMARY KEY, uri TEXT NOT NULL,"
            " date TEXT NOT NULL, record_id TEXT NOT NULL, file TEXT NOT NULL,"
            " offset INTEGER NOT NULL)"
        )

    def find(self, digest: str) -> Original | None:
        row = self.db.execute(
            "SELECT uri, date, record_id, file, offset FROM payloads WHERE digest = ?", (digest,)
        ).fetchone()
        return Original(*row) if row else None

    def add(self, digest: str, original: Original) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?, ?, ?)",
            (digest, original.uri, original.date, original.record_id, original.file,
             original.offset),
        )

    def close(self) -> None:
        self.db.close()


class SharedDigestIndex:
    """Payload digest → first response record, shared by a fleet's workers in Redis.

    With ``REDIS_URL`` each worker writes its own WARC files, perhaps on another machine,
    so a per-folder file cannot tell one worker what the others archived: the index is
    the Redis hash ``<FLEET_PREFIX>:warc-digests`` (the fleet's crawls, all cycles, as
    the per-folder file is all runs), written with HSETNX so the first response of a
    payload stays its original. Each worker also keeps its own originals in the folder's
    ``digests.sqlite``, which replay and reextract read to resolve revisits, and which
    answers while Redis is down (dedupe then is per folder: a response record instead
    of a revisit, never a revisit of nothing).
    """

    def __init__(self, server: Any, key: str, folder_index: DigestIndex | None) -> None:
        self.server = server
        self.key = key
        self.folder_index = folder_index
        self.down = False

    def find(self, digest: str) -> Original | None:
        try:
            found = self.server.hget(self.key, digest)
        except REDIS_DOWN as exc:
            self._redis_down(exc)
            return self.folder_index.find(digest) if self.folder_index else None
        return None if found is None else Original(**json.loads(found))

    def add(self, digest: str, original: Original) -> None:
        if self.folder_index is not None:
            self.folder_index.add(digest, original)
        try:
            self.server.hsetnx(self.key, digest, json.dumps(original.__dict__))
        except REDIS_DOWN as exc:
            self._redis_down(exc)

    def _redis_down(self, exc: Exception) -> None:
        if not self.down:
            logger.warning("the fleet's Redis does not answer (%s): WARC revisits are found "
                           "in this worker's own files only until it does", exc)
        self.down = True

    def close(self) -> None:
        if self.folder_index is not None:
            self.folder_index.close()


def fleet_digests(settings: BaseSettings,
                  folder_index: DigestIndex | None = None) -> SharedDigestIndex | None:
    """The fleet's shared digest index (with ``REDIS_URL``), else None; a Redis that does
    not answer is said once, and the folder's file is all there is."""
    url = fleet_url(settings)
    if url is None:
        return None
    try:
        server = connect(url)
    except FleetError as exc:
        logger.warning("%s; WARC revisits are found in this folder's files only", exc)
        return None
    key = f"{settings.get('FLEET_PREFIX', 'newsarchive')}:warc-digests"
    return SharedDigestIndex(server, key, folder_index)


def digest_index(settings: BaseSettings) -> Callable[[Path], DigestIndex | SharedDigestIndex]:
    """How a crawl opens its digest index: the folder's file, or with ``REDIS_URL`` the
    fleet's shared one (:class:`SharedDigestIndex`)."""
    if fleet_url(settings) is None:
        return DigestIndex

    def shared(path: Path) -> DigestIndex | SharedDigestIndex:
        folder_index = DigestIndex(path)
        return fleet_digests(settings, folder_index) or folder_index

    return shared


def file_tag(settings: BaseSettings, run_id: Any) -> str:
    """What tells this process's WARC files apart: the run (unique in one archive); in a
    fleet, whose workers on other machines may write into the same shared folder, also
    the host and process id."""
    tag = f"run{run_id}" if run_id else f"pid{os.getpid()}"
    if fleet_url(settings) is None:
        return tag
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())
    return f"{tag}-{host}-{os.getpid()}" if run_id else f"{tag}-{host}"


@dataclass
class Exchange:
    """One request and its response, as plain data for the writer thread."""

    url: str
    date: str
    method: str
    target: str  # path and query, as in the request line
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    ip_address: str | None
    truncated: bool  # Scrapy flagged the body incomplete (dataloss)

    @classmethod
    def of(cls, request: Request, response: Response) -> Exchange:
        parts = urlsplit(response.url)
        request_headers = header_pairs(request.headers)
        if not any(name.lower() == "host" for name, _ in request_headers):
            request_headers.insert(0, ("Host", parts.netloc))  # Scrapy adds it when sending
        return cls(
            url=response.url,
            date=datetime_to_iso_date(datetime.now(UTC).replace(tzinfo=None), use_micros=True),
            method=request.method,
            target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            request_headers=request_headers,
            request_body=request.body,
            status=response.status,
            response_headers=[
                (name, value) for name, value in header_pairs(response.headers)
                if name.lower() != "transfer-encoding"  # the body is already de-chunked
            ],
            body=response.body,
            ip_address=str(response.ip_address) if response.ip_address else None,
            truncated="dataloss" in response.flags,
        )


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Scrapy's multi-valued byte headers as (name, value) text pairs, values apart."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items() for value in values
    ]


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class WarcFiles:
    """The WARC files of one crawl: open, write, rotate, index. Used from one thread."""

    def __init__(
        self, folder: Path, name: tuple[str, str], max_size: int, info: dict[str, str],
        open_index: Callable[[Path], DigestIndex | SharedDigestIndex] = DigestIndex,
    ) -> None:
        self.folder = folder
        self.open_index = open_index
        self.name = name  # (spider, crawl tag): files sort by spider, then time
        self.max_size = max_size
        self.info = info
        self.builder = WARCWriter(BytesIO(), gzip=False, warc_version="1.1")
        self.index: DigestIndex | SharedDigestIndex | None = None
        self.path: Path | None = None
        self.fd: int | None = None
        self.size = 0
        self.serial = 0

    def write_exchange(self, exchange: Exchange) -> tuple[dict[str, Any], str, bool]:
        """Write the response (or revisit) and request records.

        Returns the response record's place, its record ID, and whether it is a revisit.
        """
        index, path = self._open()
        digest = payload_digest(exchange.body)
        original = index.find(digest) if exchange.body else None
        response = self._response_record(exchange, digest, original)
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        request = self.builder.create_warc_record(
            exchange.url,
            "request",
            payload=BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=StatusAndHeaders(
                f"{exchange.method} {exchange.target} HTTP/1.1",
                exchange.request_headers,
                protocol="",
                is_http_request=True,
            ),
            warc_headers_dict={"WARC-Date": exchange.date, "WARC-Concurrent-To": record_id},
        )
        response_bytes = self._serialize(response)
        offset = self._append(response_bytes + self._serialize(request))
        if original is None and exchange.body:
            index.add(digest, Original(exchange.url, exchange.date, record_id, path.name, offset))
        location = {"file": str(path), "offset": offset, "length": len(response_bytes)}
        self._rotate_if_full()
        return location, record_id, original is not None

    def _response_record(
        self, exchange: Exchange, digest: str, original: Original | None
    ) -> ArcWarcRecord:
        http_headers = StatusAndHeaders(
            status_line(exchange.status), exchange.response_headers, protocol="HTTP/1.1"
        )
        warc_headers = {"WARC-Date": exchange.date}
        if exchange.ip_address:
            warc_headers["WARC-IP-Address"] = exchange.ip_address
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = "disconnect"
        if original is not None:
            warc_headers["WARC-Refers-To"] = original.record_id
            return self.builder.create_revisit_record(
                exchange.url, digest, original.uri, original.date,
                http_headers=http_headers, warc_headers_dict=warc_headers,
            )
        warc_headers["WARC-Payload-Digest"] = digest
        return self.builder.create_warc_record(
            exchange.url,
            "response",
            payload=BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )

    def write_page(self, url: str, data: bytes, refers_to: str) -> None:
        """Write a page's record (``page_record``): metadata about its response record."""
        self._open()
        record = self.builder.create_warc_record(
            url,
            "metadata",
            payload=BytesIO(data),
            length=len(data),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Refers-To": refers_to},
        )
        self._append(self._serialize(record))
        self._rotate_if_full()

    def close(self) -> None:
        """Close the current file and index it; the next write opens a new one."""
        if self.fd is not None and self.path is not None:
            os.close(self.fd)
            self.fd = None
            write_cdxj(self.path)
        if self.index is not None:
            self.index.close()
            self.index = None

    def _open(self) -> tuple[DigestIndex | SharedDigestIndex, Path]:
        if self.index is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.index = self.open_index(self.folder / DIGESTS)
        if self.fd is None or self.path is None:
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            while True:
                spider, tag = self.name
                path = self.folder / f"{spider}-{stamp}-{self.serial:05d}-{tag}.warc.gz"
                self.serial += 1
                with contextlib.suppress(FileExistsError):
                    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                    self.fd = os.open(path, flags, 0o644)
                    break
            self.path, self.size = path, 0
            self._append(self._serialize(self.builder.create_warcinfo_record(path.name, self.info)))
        return self.index, self.path

    def _serialize(self, record: ArcWarcRecord) -> bytes:
        """One record as one gzip member, so readers can seek to its offset. Level 3, not
        warcio's 9 or even 6: on news pages 2.2 times faster than 6 for 13% more bytes,
        and compressing is the largest cost of a live crawl's process after storing."""
        self.builder.out = out = BytesIO()
        self.builder.write_record(record)
        return gzip.compress(out.getvalue(), compresslevel=3, mtime=0)

    def _append(self, data: bytes) -> int:
        """Append whole records, or nothing: a failed write is cut off the file."""
        assert self.fd is not None
        offset = self.size
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked (file size limit)
                view = view[os.write(self.fd, view):]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, offset)
            raise
        self.size += len(data)
        return offset

    def _rotate_if_full(self) -> None:
        if self.size >= self.max_size:
            self.close()


class WarcMiddleware:
    """Downloader middleware writing every response the crawl receives to WARC files."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.folder = warc_dir(crawler.settings)
        self.max_size = crawler.settings.getint("WARC_MAX_SIZE", 1_000_000_000)
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="warc")
        self.files: WarcFiles | None = None
        self.error: str | None = None
        self.closing: asyncio.Future[None] | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcMiddleware:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured("WARC_ENABLED is off")
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Response:
        request.meta.pop(META_LOCATION, None)  # a redirect's copied meta names its own record
        request.meta.pop(META_RECORD_ID, None)
        if (
            self.error is not None
            or "cached" in response.flags
            or urlsplit(response.url).scheme not in ("http", "https")
        ):
            return response
        written = await self._run(self._files().write_exchange, Exchange.of(request, response))
        if written is not None:
            location, record_id, revisit = written
            request.meta[META_LOCATION] = location
            request.meta[META_RECORD_ID] = record_id
            self.stats.inc_value("warc/revisits" if revisit else "warc/responses")
        return response

    async def record_page(self, page: Page, record_id: str) -> None:
        if self.error is None:
            await self._run(self._files().write_page, page.url, page_record(page), record_id)

    def _files(self) -> WarcFiles:
        if self.files is None:
            spider = self.crawler.spider
            settings = self.crawler.settings
            tag = file_tag(settings, self.stats.get_value("archive/crawl_run_id"))
            self.files = WarcFiles(
                self.folder, (spider.name, tag), self.max_size,
                self._warcinfo(f"{spider.name} {tag}"), digest_index(settings),
            )
            self.stats.set_value("warc/dir", str(self.folder))
        return self.files

    def _warcinfo(self, crawl: str) -> dict[str, str]:
        settings = self.crawler.settings
        return {
            "software": f"{SOFTWARE}/{version('newsarchive')} (Scrapy/{scrapy.__version__};"
            f" warcio/{version('warcio')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "isPartOf": crawl,
            "http-header-user-agent": settings.get("USER_AGENT"),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "spider-arguments": json.dumps(getattr(self.crawler.spider, "run_arguments", {})),
            "settings": json.dumps({name: settings.get(name) for name in RECORDED_SETTINGS},
                                   default=str),
        }

    async def _run(self, work: Callable[..., T], *args: Any) -> T | None:
        """Run file work on the writer thread; a failure stops the crawl."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self.thread, work, *args)
        except (OSError, sqlite3.Error) as exc:
            if self._fail(exc):
                # Keep a reference: the loop holds tasks weakly.
                self.closing = asyncio.ensure_future(
                    self.crawler.engine.close_spider_async(reason="warc-write-failed")
                )
            return None

    def _fail(self, exc: Exception) -> bool:
        """Record the first failure, with what to do; True if it is the first."""
        if self.error is not None:
            return False
        self.error = (
            f"cannot write WARC files in {self.folder}: {exc}. The crawl stops; pages already "
            "fetched are stored. Free disk space or set WARC_DIR to a writable folder, "
            "then run the crawl again."
        )
        logger.error("%s", self.error)
        self.stats.set_value("archive/run_error", self.error)
        return True

    async def spider_closed(self) -> None:
        if self.files is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(self.thread, self.files.close)
            except (OSError, sqlite3.Error) as exc:
                self._fail(exc)
        self.thread.shutdown(wait=False)


class WarcPageMiddleware:
    """Spider middleware tying each Page to the WARC record of its response."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcPageMiddleware:
        return cls(crawler)

    async def process_spider_output(self, response: Response, result: Any) -> Any:
        location = response.meta.get(META_LOCATION)
        writer = self.crawler.get_downloader_middleware(WarcMiddleware)
        async for item in result:
            if (
                isinstance(item, Page) and location and writer is not None
                and response.url in (item.url, item.requested_url)
            ):
                item.warc = dict(location)
                await writer.record_page(item, response.meta[META_RECORD_ID])
            yield item
