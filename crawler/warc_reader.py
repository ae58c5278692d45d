"""WARC files read back into Pages: a crawl's replay, and re-extraction of captures.

Files this project wrote hold, for each page the spider made, a ``metadata`` record with
the page's own fields (see ``crawler.warc``): the reader rebuilds exactly those pages,
with the body of the response record they refer to, so a replay gives the same articles
as the crawl, with the original fetch times. Files from other tools (wget, Heritrix,
Browsertrix, ...) have no such records: each 2xx HTML or plain-text response becomes a
page, fetched at its ``WARC-Date``. A ``revisit`` record gets the payload of the record
it repeats. Bodies are decoded by Scrapy's own HttpCompressionMiddleware, as in a crawl.

A file cut short (a crawl killed while writing) gives the records before the cut and one
failed page saying where the cut is. Hostile files lose only themselves: an empty file,
one that is no WARC, a record without a usable http(s) ``WARC-Target-URI`` or date each
become a failed page (``empty``, ``not-a-warc``, ``warc-bad-record``, ``bad-url``) and
the records after a bad one are still read.

Files are opened by :func:`crawler.local_files.open_regular`: non-blocking, then checked
with ``fstat``, so a FIFO, socket or device never blocks a reader thread.
"""

from __future__ import annotations

import json
import os
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
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.timeutils import iso_date_to_datetime

from crawler.items import Page, lower_headers
from crawler.local_files import ReadFailure, open_regular, shown, url_problem
from crawler.warc import DIGESTS, PAGE_FIELD, PAGE_FIELDS, SOFTWARE, DigestIndex, fleet_digests

WARC_SUFFIXES = (".warc", ".warc.gz")
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, ArchiveLoadFailed, StopIteration)
CHUNK = 1024 * 1024
PAGE_PREFIX = f"{PAGE_FIELD}: ".encode()


def is_warc(path: Path) -> bool:
    return path.name.lower().endswith(WARC_SUFFIXES)


class TolerantLoader(ArcWarcRecordLoader):
    """warcio's record loader, but a record without ``WARC-Target-URI`` is read (with
    no HTTP headers) instead of raising AttributeError, which ends the whole file."""

    def load_http_headers(self, rec_type: str, uri: str | None, stream: Any, length: Any) -> Any:
        return super().load_http_headers(rec_type, uri or "", stream, length)


class Records(ArchiveIterator):
    """warcio's ArchiveIterator with :class:`TolerantLoader`."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__(stream)
        self.loader = TolerantLoader()


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
        # A fleet's workers wrote their own files: the shared index says which file of
        # the folder (where they were gathered) holds another worker's original.
        self.fleet = fleet_digests(crawler.settings)

    # Replay: every page of a set of files -------------------------------------------

    def pages(
        self, paths: Iterable[Path], source: str | None, default_source: Callable[[str], str]
    ) -> Iterator[Page]:
        """The pages of the files, in order; each problem is a failed page."""
        for path in paths:
            for page in self._file_pages(path):
                page.local_path = shown(path)
                page.source = source or page.source or default_source(page.url)
                yield page

    def _file_pages(self, path: Path) -> Iterator[Page]:
        if shown(path) != str(path):
            # Each capture names its WARC file so that reextract can read the record back;
            # a name that is not UTF-8 cannot be stored, nor rebuilt from its escaped form.
            yield file_page(path, None).fail(
                "bad-file-name", f"the name of the WARC file {shown(path)} is not UTF-8, so "
                "its records could not be found again; rename the file and replay it again",
            )
            return
        try:
            stream, status = open_regular(path)
        except ReadFailure as failure:
            yield file_page(path, None).fail(failure.reason, failure.detail)
            return
        with stream:
            if status.st_size == 0:
                yield file_page(path, status).fail(
                    "empty", f"{shown(path)} is empty (0 bytes), no WARC records; replace it "
                    "with the whole file or delete it",
                )
                return
            yield from self._records(path, stream, status)

    def _records(self, path: Path, stream: BinaryIO, status: os.stat_result) -> Iterator[Page]:
        ours, end, count = False, 0, 0
        try:
            records = Records(stream)
            for record in records:
                kind = record.rec_type
                if kind is None:
                    break  # the record's headers are cut off: warcio reads no type
                if count == 0 and record.format != "warc":  # warcio's guess: an old ARC
                    yield not_a_warc(path, status, "it does not start with a WARC record")
                    return
                if kind == "warcinfo":
                    info = "\n" + read_some(record, self.max_size).decode("utf-8", "replace")
                    ours = f"\nsoftware: {SOFTWARE}/" in info
                data = read_some(record, self.max_size) if kind == "metadata" else b""
                drain(record)
                if getattr(record.raw_stream, "limit", 0) > 0:
                    break  # the record's block ends before its Content-Length: cut
                offset, length = records.get_record_offset(), records.get_record_length()
                end, count = offset + length, count + 1
                place = {"file": str(path), "offset": offset, "length": length}
                if kind in ("response", "revisit"):
                    self._remember(record, place)
                    page = None if ours else self._response_page(record, place)
                    if page is not None:
                        yield page
                elif data.startswith(PAGE_PREFIX):
                    yield self._page_of(data[len(PAGE_PREFIX):], record, place)
        except READ_ERRORS as exc:
            if count == 0:
                yield not_a_warc(path, status, str(exc).strip().splitlines()[0])
            else:
                yield cut_page(path, status, end, count, f"unreadable after byte {end} ({exc})")
            return
        if not ends_whole(stream, end):
            yield cut_page(path, status, end, count, f"cut short at byte {end} of "
                           f"{status.st_size}")

    def _response_page(self, record: ArcWarcRecord, place: dict[str, Any]) -> Page | None:
        """A foreign file's 2xx HTML or text response as a page; a failed page for a
        record that should be one but cannot; None for every other response (an image,
        a 404, Heritrix's ``dns:`` records)."""
        url = target(record)
        where = f"{shown(place['file'])} at byte {place['offset']}"
        if not url:
            return bad_record(place, f"the {record.rec_type} record {where} has no "
                              "WARC-Target-URI, so its page has no address")
        holds_http = (record.content_type or "").lower().startswith("application/http")
        if not url.lower().startswith(("http:", "https:")):
            if not holds_http:
                return None
            problem = url_problem(url) or "its scheme is not http or https"
            return bad_record(place, f"the HTTP response {where} is for {url[:200]!r}, which "
                              f"is no web page address: {problem}", "bad-url")
        try:
            if not is_page_response(record):
                return None
            fetched_at = warc_date(record)
        except (TypeError, ValueError) as exc:
            return bad_record(place, f"the {record.rec_type} record {where} for {url[:200]} "
                              f"has an unreadable status line or WARC-Date ({exc})")
        problem = url_problem(url)
        if problem:
            return bad_record(place, f"the {record.rec_type} record {where} is for "
                              f"{url[:200]!r}, which is not a valid URL: {problem}", "bad-url")
        return self.fill(Page(url=url, fetched_at=fetched_at, warc=place))

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
        problem = url_problem(page.url)
        if problem:
            return page.fail("bad-url", f"the page record in {shown(place['file'])} at byte "
                             f"{place['offset']} names {str(page.url)[:200]!r}, which is no page "
                             f"address: {problem}")
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
            stream, _ = open_regular(path)  # never blocks on a FIFO put in its place
            with stream:
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
        if original is None and self.fleet is not None:
            found = self.fleet.find(digest)
            if found is not None and (path.parent / Path(found.file).name).is_file():
                original = (path.parent / Path(found.file).name, found.offset)
        if original is None:
            raise ReadFailure(
                "warc-revisit-unresolved",
                f"the revisit record in {path} repeats payload {digest} of "
                f"{revisit.rec_headers.get_header('WARC-Refers-To-Target-URI')}, which is in "
                f"none of the files read nor in {path.parent / DIGESTS}; replay the whole "
                "folder of WARC files (a fleet's: gathered from every worker's WARC_DIR)",
            )
        stream, _ = open_regular(original[0])
        with stream:
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


def read_some(record: ArcWarcRecord, limit: int) -> bytes:
    """A record's block, at most ``limit`` bytes: a hostile metadata record cannot fill
    the memory."""
    return record.raw_stream.read(limit)


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


def ends_whole(stream: BinaryIO, end: int) -> bool:
    """Nothing but the blank lines that close a record (uncompressed WARC) after end."""
    stream.seek(end)
    tail = stream.read(8)
    return len(tail) < 8 and not tail.strip()


def file_page(path: Path, status: os.stat_result | None) -> Page:
    """A page for a whole WARC file, to fail: fetched when the file was last written."""
    when = datetime.fromtimestamp(status.st_mtime, UTC) if status else datetime.now(UTC)
    return Page(url=path.as_uri(), fetched_at=when)


def bad_record(place: dict[str, Any], detail: str, reason: str = "warc-bad-record") -> Page:
    return Page(url=f"{Path(place['file']).as_uri()}#offset={place['offset']}",
                fetched_at=datetime.now(UTC)).fail(
        reason, f"{detail}; the other records of the file were read. Fix or drop the record "
        "(e.g. with warcio's tools) and replay the file again if it matters",
    )


def not_a_warc(path: Path, status: os.stat_result, why: str) -> Page:
    return file_page(path, status).fail(
        "not-a-warc", f"{shown(path)} is not a WARC file ({why[:300]}); nothing in it was "
        "read. Check that it is a WARC (warcio check), or remove or rename it",
    )


def cut_page(path: Path, status: os.stat_result, end: int, count: int, what: str) -> Page:
    return Page(
        url=f"{path.as_uri()}#offset={end}",
        fetched_at=datetime.fromtimestamp(status.st_mtime, UTC),
    ).fail(
        "warc-truncated",
        f"{shown(path)} is {what}, as when a crawl stops while writing: its first {count} "
        "records were read, what followed is lost. Crawl those pages again if they matter.",
    )
