"""WARC files read back into Pages: a crawl's replay, and re-extraction of captures.

Files this project wrote hold, for each page the spider made, a ``metadata`` record with
the page's own fields (see ``crawler.warc``): the reader rebuilds exactly those pages,
with the body of the response record they refer to, so a replay gives the same articles
as the crawl, with the original fetch times. Files from other tools (wget, Heritrix,
Browsertrix, ...) have no such records: each 2xx HTML or plain-text response becomes a
page, fetched at its ``WARC-Date``. A ``revisit`` record gets the payload of the record
it repeats. Bodies are decoded by Scrapy's own HttpCompressionMiddleware, as in a crawl.

A file cut short (a crawl killed while writing) gives the records before the cut and one
failed page saying where the cut is.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import iso_date_to_datetime

from crawler.items import Page, lower_headers
from crawler.warc import DIGESTS, PAGE_FIELD, PAGE_FIELDS, SOFTWARE, DigestIndex

WARC_SUFFIXES = (".warc", ".warc.gz")
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, ArchiveLoadFailed, StopIteration)
CHUNK = 1024 * 1024
PAGE_PREFIX = f"{PAGE_FIELD}: ".encode()


def is_warc(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(WARC_SUFFIXES)


class ReadFailure(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class WarcReader:
    """Pages from WARC records; remembers payloads read, to resolve later revisits."""

    def __init__(self, crawler: Crawler) -> None:
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        try:
            self.decoder: HttpCompressionMiddleware | None = (
                HttpCompressionMiddleware.from_crawler(crawler)
            )
        except NotConfigured:  # COMPRESSION_ENABLED off: the crawl did not decode either
            self.decoder = None
        self.records: dict[str, dict[str, Any]] = {}  # record ID → response/revisit place
        self.payloads: dict[str, dict[str, Any]] = {}  # payload digest → first response

    # Replay: every page of a set of files -------------------------------------------

    def pages(
        self, paths: Iterable[Path], source: str | None, default_source: Callable[[str], str]
    ) -> Iterator[Page]:
        """The pages of the files, in order; each problem is a failed page."""
        for path in paths:
            for page in self._file_pages(path):
                page.local_path = str(path)
                page.source = source or page.source or default_source(page.url)
                yield page

    def _file_pages(self, path: Path) -> Iterator[Page]:
        ours, end, count = False, 0, 0
        try:
            with path.open("rb") as stream:
                records = ArchiveIterator(stream)
                for record in records:
                    kind = record.rec_type
                    if kind is None:
                        break  # the record's headers are cut off: warcio reads no type
                    if kind == "warcinfo":
                        info = "\n" + read_all(record).decode("utf-8", "replace")
                        ours = f"\nsoftware: {SOFTWARE}/" in info
                    data = read_all(record) if kind == "metadata" else b""
                    drain(record)
                    if getattr(record.raw_stream, "limit", 0) > 0:
                        break  # the record's block ends before its Content-Length: cut
                    offset, length = records.get_record_offset(), records.get_record_length()
                    end, count = offset + length, count + 1
                    place = {"file": str(path), "offset": offset, "length": length}
                    if kind in ("response", "revisit"):
                        self._remember(record, place)
                        if not ours and is_page_response(record):
                            yield self.fill(Page(
                                url=target(record), fetched_at=warc_date(record), warc=place
                            ))
                    elif data.startswith(PAGE_PREFIX):
                        yield self._page_of(data[len(PAGE_PREFIX):], record, place)
        except READ_ERRORS as exc:
            yield cut_page(path, end, count, f"unreadable after byte {end} ({exc})")
            return
        if not ends_whole(path, end):
            yield cut_page(path, end, count, f"cut short at byte {end} of {path.stat().st_size}")

    def _remember(self, record: ArcWarcRecord, place: dict[str, Any]) -> None:
        self.records[record.rec_headers.get_header("WARC-Record-ID")] = place
        digest = record.rec_headers.get_header("WARC-Payload-Digest")
        if record.rec_type == "response" and digest:
            self.payloads.setdefault(digest, place)

    def _page_of(self, data: bytes, record: ArcWarcRecord, place: dict[str, Any]) -> Page:
        """The page a metadata record describes, with the body of its response."""
        try:
            fields = json.loads(data)
            known = {name: fields[name] for name in PAGE_FIELDS if name in fields}
            known["fetched_at"] = datetime.fromisoformat(fields["fetched_at"])
            page = Page(**known)
        except (KeyError, TypeError, ValueError) as exc:
            return Page(url=target(record), fetched_at=warc_date(record)).fail(
                "bad-page-record",
                f"the page record in {place['file']} at byte {place['offset']} is not the "
                f"JSON object newsarchive writes ({exc}); the file was changed by hand?",
            )
        refers_to = record.rec_headers.get_header("WARC-Refers-To")
        page.warc = self.records.get(refers_to)
        if page.warc is None:
            return page.fail(
                "warc-record-missing",
                f"the response record {refers_to} of this page is in none of the WARC files "
                "read; replay the whole folder of the crawl's WARC files",
            )
        return self.fill(page) if fields.get("body_length") != 0 else page

    # One capture: the body of the record a page points to ----------------------------

    def fill(self, page: Page) -> Page:
        """Fill the page's body (and headers, status if unset) from ``page.warc``."""
        place = page.warc or {}
        try:
            status, headers, raw = self._payload(Path(place["file"]), place["offset"])
            response = self._decode(page.url, status, headers, raw)
        except ReadFailure as failure:
            return page.fail(failure.reason, failure.detail)
        page.body = response.body
        page.headers = page.headers or lower_headers(response)  # as the news spider
        page.http_status = page.http_status or status
        return page

    def _payload(self, path: Path, offset: int) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and raw payload of the response or revisit record at offset."""
        where = f"{path} at byte {offset}"
        try:
            with path.open("rb") as stream:
                record = record_at(stream, offset)
                if record.rec_type not in ("response", "revisit") or not record.http_headers:
                    raise ReadFailure(
                        "not-a-response", f"the WARC record {where} is no HTTP response"
                    )
                http = record.http_headers
                status = int(http.get_statuscode() or 0)
                headers = [(k, v) for k, v in http.headers if k.lower() != "transfer-encoding"]
                if record.rec_type == "response":
                    return status, headers, self._read_payload(record, where)
                return status, headers, self._original_payload(path, record)
        except READ_ERRORS as exc:
            raise ReadFailure(
                "unreadable-warc",
                f"cannot read the WARC record {where}: {exc}; check that the file is whole",
            ) from None

    def _original_payload(self, path: Path, revisit: ArcWarcRecord) -> bytes:
        digest = revisit.rec_headers.get_header("WARC-Payload-Digest")
        place = self.payloads.get(digest)
        if place is not None:
            original = Path(place["file"]), place["offset"]
        elif (path.parent / DIGESTS).is_file():
            index = DigestIndex(path.parent / DIGESTS, readonly=True)
            try:
                found = index.find(digest)
            finally:
                index.close()
            original = (path.parent / found.file, found.offset) if found else None
        else:
            original = None
        if original is None:
            raise ReadFailure(
                "warc-revisit-unresolved",
                f"the revisit record in {path} repeats payload {digest} of "
                f"{revisit.rec_headers.get_header('WARC-Refers-To-Target-URI')}, which is in "
                f"none of the files read nor in {path.parent / DIGESTS}; replay the whole "
                "folder of WARC files",
            )
        with original[0].open("rb") as stream:
            record = record_at(stream, original[1])
            return self._read_payload(record, f"{original[0]} at byte {original[1]}")

    def _read_payload(self, record: ArcWarcRecord, where: str) -> bytes:
        stream: Any = record.raw_stream
        if (record.http_headers.get_header("Transfer-Encoding") or "").lower() == "chunked":
            stream = ChunkedDataReader(stream)  # as some other tools store it
        raw = stream.read(self.max_size + 1)
        if len(raw) > self.max_size:
            raise ReadFailure(
                "too-large", f"the response {where} is over DOWNLOAD_MAXSIZE {self.max_size}"
            )
        return raw

    def _decode(
        self, url: str, status: int, headers: list[tuple[str, str]], raw: bytes
    ) -> Response:
        """Undo Content-Encoding exactly as the crawl's middleware did."""
        scrapy_headers = Headers()
        for name, value in headers:
            scrapy_headers.appendlist(name, value)
        response = Response(url, status=status, headers=scrapy_headers, body=raw)
        if self.decoder is None:
            return response
        try:
            return self.decoder.process_response(Request(url), response)
        except IgnoreRequest as exc:
            raise ReadFailure("too-large", str(exc)) from None
        except (OSError, ValueError, zlib.error) as exc:
            raise ReadFailure(
                "undecodable-body", f"the body of {url} does not decode as its Content-Encoding"
                f" says ({exc})"
            ) from None


def record_at(stream: BinaryIO, offset: int) -> ArcWarcRecord:
    stream.seek(offset)
    return next(iter(ArchiveIterator(stream)))


def read_all(record: ArcWarcRecord) -> bytes:
    return record.raw_stream.read()


def drain(record: ArcWarcRecord) -> None:
    while record.raw_stream.read(CHUNK):
        pass


def target(record: ArcWarcRecord) -> str:
    return record.rec_headers.get_header("WARC-Target-URI")


def warc_date(record: ArcWarcRecord) -> datetime:
    return iso_date_to_datetime(record.rec_headers.get_header("WARC-Date"), tz_aware=True)


def is_page_response(record: ArcWarcRecord) -> bool:
    """A 2xx HTML or plain-text response: what a foreign WARC holds as pages."""
    http = record.http_headers
    if http is None or not (200 <= int(http.get_statuscode() or 0) < 300):
        return False
    content_type = (http.get_header("Content-Type") or "").split(";")[0].strip().lower()
    return not content_type or content_type in PAGE_TYPES


def ends_whole(path: Path, end: int) -> bool:
    """Nothing but the blank lines that close a record (uncompressed WARC) after end."""
    with path.open("rb") as stream:
        stream.seek(end)
        tail = stream.read(8)
    return len(tail) < 8 and not tail.strip()


def cut_page(path: Path, end: int, count: int, what: str) -> Page:
    return Page(
        url=f"{path.as_uri()}#offset={end}",
        fetched_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
    ).fail(
        "warc-truncated",
        f"{path} is {what}, as when a crawl stops while writing: its first {count} records "
        "were read, what followed is lost. Crawl those pages again if they matter.",
    )
