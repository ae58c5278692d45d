"""Raw capture in WARC files, and replay from them: real crawls over HTTP on 127.0.0.1.

The crawls run the real ``scrapy crawl`` command: ``warc-fetch`` (below, loaded with
``-s SPIDER_MODULES=tests.test_warc``) fetches the URLs it is given from a small server
of this module that can answer gzip-encoded and chunked; the end-to-end test crawls the
fixture news network with the ``news`` spider. Every WARC file written is checked with
``warcio check``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from base64 import b64encode
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from random import randbytes
from typing import Any, ClassVar

import pytest
import scrapy
from cdxj_indexer import CDXJIndexer
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.database import open_database
from archive.models import Article, Capture, CrawlRun, Source
from crawler.items import Page, lower_headers
from crawler.warc import PAGE_FIELD, warc_dir
from crawler.warc_reader import WarcReader
from tests.conftest import REPO, reset_postgres, run_scrapy
from tests.fixture_site import article_html, news_network, seed_stories

WARCIO = Path(sys.executable).with_name("warcio")
HTML = "text/html; charset=utf-8"


class FetchSpider(scrapy.Spider):
    """Fetches the URLs it is given; every answer becomes a Page, as in the news spider."""

    name = "warc-fetch"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ROBOTSTXT_OBEY": False, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0,
    }

    def __init__(self, urls: str = "", source: str = "fixture", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls.split(",")
        self.source = source
        self.run_arguments = {"urls": self.urls, "source": source}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True, meta={"handle_httpstatus_list": [404]})

    def parse(self, response: Response) -> Iterator[Page]:
        page = Page(
            url=response.url,
            fetched_at=datetime.now(UTC),
            body=response.body,
            headers=lower_headers(response),
            http_status=response.status,
            requested_url=(response.meta.get("redirect_urls") or [None])[0],
            source=self.source,
        )
        if response.status == 404:
            page.fail("http-404", f"{response.url} answered 404")
        yield page


# A server that answers as served on the web: gzip-encoded, chunked, redirects, errors ----


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": HTML})
    chunked: bool = False


class Server:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.served: list[str] = []
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                route = server.routes.get(self.path) or Route(b"not found", 404)
                server.served.append(self.path)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(route.body), 1000):
                        chunk = route.body[start:start + 1000]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Server:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()

    def urls(self, *paths: str) -> str:
        return ",".join(self.url + path for path in paths)


def story_routes() -> dict[str, Route]:
    stories = seed_stories()
    zipped = gzip.compress(article_html(stories[0]).encode(), mtime=0)
    encoded = {"Content-Type": HTML, "Content-Encoding": "gzip"}
    return {
        "/gz-story.html": Route(zipped, headers=encoded),
        "/copy-story.html": Route(zipped, headers=encoded),  # the same bytes: a revisit
        "/chunked-story.html": Route(article_html(stories[1]).encode(), chunked=True),
        "/old-story": Route(b"", 301, headers={"Location": "/moved-story.html"}),
        "/moved-story.html": Route(article_html(stories[2]).encode()),
    }


STORY_PATHS = ("/gz-story.html", "/copy-story.html", "/chunked-story.html", "/old-story",
               "/missing.html")


def crawl_arguments(server: Server, warc_dir: Path, paths: tuple[str, ...]) -> tuple[str, ...]:
    return ("crawl", "warc-fetch", "-a", f"urls={server.urls(*paths)}",
            "-s", "SPIDER_MODULES=tests.test_warc", "-s", f"WARC_DIR={warc_dir}",
            "-s", "EXTRACT_WORKERS=0")


def crawl(server: Server, database_url: str, warc_dir: Path, *options: str,
          paths: tuple[str, ...] = STORY_PATHS) -> subprocess.CompletedProcess[str]:
    return run_scrapy(*crawl_arguments(server, warc_dir, paths), *options,
                      database_url=database_url)


def run_scrapy_after(
    prelude: str, *args: str, database_url: str
) -> subprocess.CompletedProcess[str]:
    """The scrapy command line, in a process that first runs ``prelude`` (Python code)."""
    code = (f"{prelude}\nimport sys\nfrom scrapy.cmdline import execute\n"
            "execute(['scrapy', *sys.argv[1:]])")
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": database_url}, timeout=300,
    )


def warc_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.warc.gz"))


def assert_warcio_check_passes(folder: Path) -> None:
    files = warc_files(folder)
    assert files, f"no WARC file in {folder}"
    check = subprocess.run([WARCIO, "check", "-v", *files], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout


def records(folder: Path) -> list[tuple[Path, int, Any, bytes]]:
    """(file, offset, record, raw payload) of every record of every file, in order."""
    found = []
    for path in warc_files(folder):
        with path.open("rb") as stream:
            iterator = ArchiveIterator(stream)
            for record in iterator:
                payload = record.raw_stream.read()
                found.append((path, iterator.get_record_offset(), record, payload))
    return found


def header(record: Any, name: str) -> str | None:
    return record.rec_headers.get_header(name)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Server]]:
    """One crawl of the story routes into SQLite: (WARC folder, database URL, server)."""
    folder = tmp_path_factory.mktemp("crawled")
    database_url = f"sqlite:///{folder / 'archive.sqlite'}"
    with Server(story_routes()) as server:
        result = crawl(server, database_url, folder / "warc")
        assert result.returncode == 1, result.stderr[-3000:]  # the 404 is a failed page
        yield folder / "warc", database_url, server


def test_crawl_writes_every_response_as_served_in_valid_warc_files(
    crawled: tuple[Path, str, Server],
) -> None:
    folder, _, server = crawled
    assert_warcio_check_passes(folder)
    found = records(folder)
    assert header(found[0][2], "WARC-Type") == "warcinfo"
    assert all(r.rec_headers.protocol == "WARC/1.1" for _, _, r, _ in found)
    info = dict(line.split(": ", 1) for line in found[0][3].decode().splitlines())
    assert info["software"].startswith("newsarchive/") and "Scrapy/" in info["software"]
    assert json.loads(info["settings"])["WARC_MAX_SIZE"] == 1_000_000_000
    assert json.loads(info["spider-arguments"])["urls"][0] == server.url + "/gz-story.html"

    by_id = {header(r, "WARC-Record-ID"): r for _, _, r, _ in found}
    answers = {header(r, "WARC-Target-URI"): (r, payload) for _, _, r, payload in found
               if r.rec_type in ("response", "revisit")}
    # Every answer, redirects and errors included, once, with its request record.
    assert sorted(answers) == sorted(server.url + p for p in (*STORY_PATHS, "/moved-story.html"))
    requests = [r for _, _, r, _ in found if r.rec_type == "request"]
    assert len(requests) == len(answers)
    for request in requests:
        answer = by_id[header(request, "WARC-Concurrent-To")]
        assert header(answer, "WARC-Target-URI") == header(request, "WARC-Target-URI")
        assert request.http_headers.protocol == "GET"  # warcio parses the method as protocol
        assert request.http_headers.statusline.endswith(" HTTP/1.1")
        assert "gzip" in request.http_headers.get_header("Accept-Encoding")

    # The body as served, before Scrapy decoded it; the same payload again (both pages
    # answer the same bytes, in either order) is a revisit pointing at the first.
    same = sorted((answers[server.url + p] for p in ("/gz-story.html", "/copy-story.html")),
                  key=lambda answer: answer[0].rec_type)
    (response, payload), (revisit, nothing) = same
    assert (response.rec_type, revisit.rec_type) == ("response", "revisit")
    assert response.http_headers.get_header("Content-Encoding") == "gzip"
    assert payload == story_routes()["/gz-story.html"].body
    assert header(response, "WARC-Payload-Digest").startswith("sha1:")
    assert header(response, "WARC-Block-Digest").startswith("sha1:")
    assert nothing == b""
    assert header(revisit, "WARC-Profile").endswith("/warc/1.1/revisit/identical-payload-digest")
    assert header(revisit, "WARC-Refers-To") == header(response, "WARC-Record-ID")
    assert header(revisit, "WARC-Refers-To-Target-URI") == header(response, "WARC-Target-URI")
    assert header(revisit, "WARC-Payload-Digest") == header(response, "WARC-Payload-Digest")
    # De-chunked by Scrapy, so no Transfer-Encoding is claimed.
    response, payload = answers[server.url + "/chunked-story.html"]
    assert response.http_headers.get_header("Transfer-Encoding") is None
    assert payload == story_routes()["/chunked-story.html"].body
    assert answers[server.url + "/old-story"][0].http_headers.get_statuscode() == "301"
    assert answers[server.url + "/missing.html"][0].http_headers.get_statuscode() == "404"


def test_each_warc_file_has_a_cdxj_index_for_pywb(
    crawled: tuple[Path, str, Server], tmp_path: Path
) -> None:
    folder, _, server = crawled
    for path in warc_files(folder):
        index = path.with_name(path.name.removesuffix(".warc.gz") + ".cdxj")
        lines = index.read_text().splitlines()
        assert lines == sorted(lines)
        entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
        assert {e["filename"] for e in entries} == {path.name}
        assert {e["url"] for e in entries} == {
            server.url + p for p in (*STORY_PATHS, "/moved-story.html")
        }  # responses and revisits only: no request or page metadata entries
        assert sum(e.get("mime") == "warc/revisit" for e in entries) == 1
        # pywb's wb-manager indexes with the indexer's defaults: no page record there either.
        default = tmp_path / index.name
        CDXJIndexer(output=str(default), inputs=[str(path)]).process_all()
        assert {json.loads(line.split(" ", 2)[2])["url"] for line in default.open()} == {
            e["url"] for e in entries}
        with path.open("rb") as stream:  # offsets point at the records
            for entry in entries:
                stream.seek(int(entry["offset"]))
                record = next(iter(ArchiveIterator(stream)))
                assert header(record, "WARC-Target-URI") == entry["url"]


def test_warc_dir_defaults_to_a_folder_beside_the_sqlite_archive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    sqlite = f"sqlite:///{tmp_path / 'data' / 'archive.sqlite'}"
    assert warc_dir(Settings({"DATABASE_URL": sqlite})) == tmp_path / "data" / "warc"
    assert warc_dir(Settings({"DATABASE_URL": "postgresql+psycopg://db/news"})) == (
        tmp_path / "warc")
    assert warc_dir(Settings({"DATABASE_URL": sqlite, "WARC_DIR": "w"})) == tmp_path / "w"


# Replay from WARC ------------------------------------------------------------------------


def empty_database(database_url: str, tmp_path: Path) -> str:
    """A second, empty database of the same kind (PostgreSQL's is emptied in place)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'replayed.sqlite'}"
    reset_postgres(database_url)
    return database_url


def archived(database_url: str) -> dict[str, Any]:
    """What a crawl archived, without the run and replay bookkeeping (ids, local paths)."""
    engine = open_database(database_url)
    with Session(engine) as session:
        sources = dict(session.execute(select(Source.id, Source.name)).all())
        articles = {
            a.url: (a.title, a.text, a.authors, a.published_at, a.language, a.content_hash,
                    a.first_seen_at, a.last_seen_at, a.version, a.extractor, sources[a.source_id])
            for a in session.scalars(select(Article))
        }
        captures = sorted(
            (c.url, c.final_url, c.fetched_at, c.http_status, c.outcome, c.error,
             c.content_type, c.content_hash, c.listing, c.warc_file, c.warc_offset, c.warc_length,
             sources.get(c.source_id))
            for c in session.scalars(select(Capture).where(Capture.warc_file.is_not(None)))
        )
    engine.dispose()
    return {"articles": articles, "captures": captures}


def last_run(database_url: str) -> CrawlRun:
    engine = open_database(database_url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
    engine.dispose()
    assert run is not None
    return run


def test_replaying_the_warc_files_into_an_empty_database_gives_the_same_archive(
    database_url: str, tmp_path: Path
) -> None:
    warc = tmp_path / "warc"
    small = ("-s", "WARC_MAX_SIZE=6000")  # a few records a file: pages span files
    with Server(story_routes()) as server:
        first = crawl(server, database_url, warc, *small)
        assert first.returncode == 1, first.stderr[-3000:]  # the 404 is a failed page
        second = crawl(server, database_url, warc, *small)
        assert second.returncode == 1, second.stderr[-3000:]
    assert len(warc_files(warc)) > 2
    assert_warcio_check_passes(warc)
    firsts = {path: record for path, offset, record, _ in records(warc) if offset == 0}
    assert len(firsts) == len(warc_files(warc))
    assert all(record.rec_type == "warcinfo" for record in firsts.values())
    # The second run found every non-empty payload archived: revisits, across runs.
    stats = last_run(database_url).stats
    assert stats["warc/revisits"] == 5 and stats["warc/responses"] == 1  # the empty 301
    crawled = archived(database_url)
    assert len(crawled["articles"]) == 4  # the copy is an article too, a duplicate
    assert len(crawled["captures"]) == 10  # 5 pages (the 301 is followed) in each run
    for capture in crawled["captures"]:  # each page row points at its record
        file, offset, length = capture[9:12]
        with open(file, "rb") as stream:
            stream.seek(offset)
            assert len(stream.read(length)) == length
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type in ("response", "revisit")
            assert header(record, "WARC-Target-URI") == capture[1]

    replayed_url = empty_database(database_url, tmp_path)
    replay = run_scrapy("crawl", "replay", "-a", f"path={warc}", "-s", "EXTRACT_WORKERS=0",
                        database_url=replayed_url)
    assert replay.returncode == 1, replay.stderr[-3000:]
    assert "failures: 2" in replay.stdout and "http-404: 2" in replay.stdout
    assert archived(replayed_url) == crawled


def read_pages(*paths: Path) -> list[Page]:
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": 10 * 1024 * 1024})
    return list(WarcReader(crawler).pages(paths, None, lambda url: "default-source"))


@pytest.mark.parametrize("where", ["in a page's metadata record", "in a response body"])
def test_a_warc_file_cut_short_is_detected_and_its_whole_records_replayed(
    crawled: tuple[Path, str, Server], tmp_path: Path, where: str
) -> None:
    folder, _, server = crawled
    (original,) = warc_files(folder)
    found = records(folder)
    if where == "in a response body":
        offset = next(o for _, o, r, _ in found if r.rec_type == "response" and
                      header(r, "WARC-Target-URI") == server.url + "/moved-story.html")
        size = offset + 1500  # the record is 2 kB
    else:
        offset = found[-1][1]  # the last record: a page's metadata
        size = offset + 100
    cut = tmp_path / original.name
    cut.write_bytes(original.read_bytes()[:size])  # as a crash while writing leaves it

    *pages, failure = read_pages(cut)
    assert failure.error == "warc-truncated"
    assert failure.error_detail.startswith(f"{cut} is cut short at byte {offset} of {size}")
    whole = {header(r, "WARC-Target-URI") for _, o, r, _ in found
             if r.rec_type == "metadata" and o < offset}
    assert {page.url for page in pages} == whole and len(whole) >= 2
    assert all(page.body and page.error in (None, "http-404") for page in pages)


def test_a_warc_file_of_another_tool_gives_its_html_responses(tmp_path: Path) -> None:
    story = article_html(seed_stories()[3]).encode()
    path = tmp_path / "other.warc"
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=False)
        for url, status, content_type, body in (
            ("https://example.org/news/story.html", "200 OK", "text/html", story),
            ("https://example.org/logo.png", "200 OK", "image/png", b"\x89PNG\r\n\x1a\n"),
            ("https://example.org/gone.html", "404 Not Found", "text/html", b"<p>gone</p>"),
        ):
            http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict={"WARC-Date": "2025-06-06T03:00:00Z"},
            ))
    (page,) = read_pages(path)
    assert (page.url, page.body, page.http_status) == (
        "https://example.org/news/story.html", story, 200)
    assert page.fetched_at == datetime(2025, 6, 6, 3, 0, tzinfo=UTC)
    assert page.headers == {"content-type": "text/html"}
    assert (page.source, page.local_path, page.warc["file"]) == (
        "default-source", str(path), str(path))


def test_pages_whose_records_cannot_be_found_or_read_fail_with_the_reason(
    crawled: tuple[Path, str, Server], tmp_path: Path
) -> None:
    folder, _, _ = crawled
    (original,) = warc_files(folder)
    alone = tmp_path / original.name  # the file without the digest index beside it
    alone.write_bytes(original.read_bytes())
    revisit = next(o for _, o, r, _ in records(folder) if r.rec_type == "revisit")
    page = Page(url="http://x/", fetched_at=datetime.now(UTC),
                warc={"file": str(alone), "offset": revisit})
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": 10 * 1024 * 1024})
    assert WarcReader(crawler).fill(page).error == "warc-revisit-unresolved"
    assert f"nor in {tmp_path / 'digests.sqlite'}; replay the whole folder" in page.error_detail

    damaged = tmp_path / "pages.warc.gz"
    with damaged.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True, warc_version="1.1")
        for fields in ('{"url": "http://x/a", "fetched_at": "2025-06-06T03:00:00+00:00"}',
                       '{"url": "http://x/b"'):
            data = f"{PAGE_FIELD}: {fields}\r\n".encode()
            writer.write_record(writer.create_warc_record(
                "http://x/", "metadata", payload=BytesIO(data), length=len(data),
                warc_content_type="application/warc-fields",
                warc_headers_dict={"WARC-Refers-To": "<urn:uuid:not-here>"},
            ))
    missing, bad = read_pages(damaged)
    assert (missing.url, missing.error) == ("http://x/a", "warc-record-missing")
    assert "replay the whole folder" in missing.error_detail
    assert bad.error == "bad-page-record" and f"{damaged} at byte " in bad.error_detail


# When WARC files cannot be written -------------------------------------------------------


def many_stories(count: int, filler: int = 0) -> dict[str, Route]:
    """Distinct article pages; ``filler`` bytes of incompressible noise in a comment each."""
    stories = seed_stories()
    routes = {}
    for n in range(count):
        story = stories[n % len(stories)]
        page = article_html(type(story)(f"{story.title} {n}", story.paragraphs))
        noise = b64encode(randbytes(filler)).decode() if filler else ""
        page = page.replace("</body>", f"<!--{noise}--></body>")
        routes[f"/story-{n}.html"] = Route(page.encode())
    return routes


def assert_no_fetched_page_lost(server: Server, database_url: str) -> None:
    engine = open_database(database_url)
    with Session(engine) as session:
        stored = set(session.scalars(select(Capture.final_url)))
        articles = set(session.scalars(select(Article.url)))
    engine.dispose()
    fetched = {server.url + path for path in server.served}
    assert stored == fetched == articles


def test_an_unwritable_warc_dir_stops_the_crawl_with_a_clear_error(
    database_url: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    routes = many_stories(12)
    with Server(routes) as server:
        result = crawl(server, database_url, blocker / "warc", "-s", "CONCURRENT_REQUESTS=1",
                       paths=tuple(routes))
    assert result.returncode == 2, result.stderr[-3000:]
    reason = f"cannot write WARC files in {blocker / 'warc'}: [Errno 20] Not a directory"
    assert reason in result.stderr
    assert "set WARC_DIR to a writable folder" in result.stderr
    run = last_run(database_url)
    assert (run.status, run.finish_reason) == ("aborted", "warc-write-failed")
    assert 0 < len(server.served) < len(routes)  # stopped early ...
    assert_no_fetched_page_lost(server, database_url)  # ... and what was fetched is stored


FILE_SIZE_LIMIT = "import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, (1500000, 1500000))"


def test_a_full_disk_stops_the_crawl_and_leaves_valid_warc_files(
    database_url: str, tmp_path: Path
) -> None:
    """Files may grow to 1.5 MB (RLIMIT_FSIZE): a real EFBIG once the WARC file is full."""
    routes = many_stories(12, filler=300_000)  # about 400 kB per record
    warc = tmp_path / "warc"
    with Server(routes) as server:
        result = run_scrapy_after(
            FILE_SIZE_LIMIT, *crawl_arguments(server, warc, tuple(routes)),
            "-s", "CONCURRENT_REQUESTS=1", database_url=database_url,
        )
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"cannot write WARC files in {warc}: [Errno 27] File too large" in result.stderr
    assert_warcio_check_passes(warc)  # the record that did not fit was cut off whole
    assert 3 <= len(server.served) < len(routes)
    assert_no_fetched_page_lost(server, database_url)
    engine = open_database(database_url)
    with Session(engine) as session:
        pointed = session.scalars(select(Capture).where(Capture.warc_file.is_not(None))).all()
    engine.dispose()
    assert len(pointed) == len(server.served) - 1  # all but the page that did not fit
    for capture in pointed:
        with open(capture.warc_file, "rb") as stream:
            stream.seek(capture.warc_offset)
            record = next(iter(ArchiveIterator(stream)))
            assert header(record, "WARC-Target-URI") == capture.final_url


def test_responses_from_scrapys_http_cache_are_not_written_again(
    database_url: str, tmp_path: Path
) -> None:
    cache = ("-s", "HTTPCACHE_ENABLED=True", "-s", f"HTTPCACHE_DIR={tmp_path / 'cache'}")
    warc = tmp_path / "warc"
    with Server(story_routes()) as server:
        first = crawl(server, database_url, warc, *cache)
        written = {path: path.stat().st_size for path in warc.iterdir()}
        second = crawl(server, database_url, warc, *cache)
    assert (first.returncode, second.returncode) == (1, 1), second.stderr[-3000:]
    assert {path: path.stat().st_size for path in warc.iterdir()} == written
    assert_warcio_check_passes(warc)
    assert not [name for name in last_run(database_url).stats if name.startswith("warc/")]
    engine = open_database(database_url)
    with Session(engine) as session:
        runs = session.execute(select(Capture.crawl_run_id, Capture.warc_file)).all()
    engine.dispose()
    assert {run for run, file in runs if file is None} == {last_run(database_url).id}


# End to end: the news spider over the fixture network ---------------------------------


def test_replaying_a_news_crawl_of_the_fixture_network_gives_the_same_articles(
    database_url: str, tmp_path: Path
) -> None:
    network = news_network()
    urls = network.start()
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(
        f'[[source]]\nname = "{name.title()} News"\nhomepage = "{url}/"\nlanguage = "hi"\n'
        + (f'feeds = ["{url}/rss.xml", "{url}/broken.xml", "{url}/bomb.xml"]\n'
           if name == "daily" else "")
        for name, url in urls.items()
    ))
    warc = tmp_path / "warc"
    try:
        result = run_scrapy(
            "crawl", "news", "-a", f"sources={sources}", "-s", f"WARC_DIR={warc}",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
            database_url=database_url,
        )
    finally:
        network.stop()
    # The fixture's dead links and broken feeds are failed captures, but no outlet is
    # broken: the web being the web (crawler/run_status.py).
    assert result.returncode == 0, result.stderr[-3000:]
    assert_warcio_check_passes(warc)
    targets = {header(r, "WARC-Target-URI") for _, _, r, _ in records(warc)}
    assert {f"{url}/robots.txt" for url in urls.values()} <= targets  # not only pages
    assert f"{urls['daily']}/r/moved-story" in targets  # redirects too
    crawled = archived(database_url)  # not an empty comparison: the articles were found
    assert len(crawled["articles"]) >= sum(len(paths) for paths in network.articles.values())

    replayed_url = empty_database(database_url, tmp_path)
    replay = run_scrapy("crawl", "replay", "-a", f"path={warc}", database_url=replayed_url)
    assert replay.returncode == 1, replay.stderr[-3000:]
    assert archived(replayed_url) == crawled
