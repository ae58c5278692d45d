"""Replay and re-extraction shared by a fleet of workers through Redis (issue 18).

Real ``scrapy`` processes, real Redis (each test under its own ``test-units-`` key
prefix) and a real PostgreSQL archive (its own ``units_`` database), as a fleet runs:
several workers on one folder split its files, a worker killed with SIGKILL loses
nothing, two re-extractions split the archive, and WARC revisits are found across
workers.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
import redis
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.database import open_database
from archive.models import Article, Capture, CrawlRun, Source
from crawler.items import Page
from crawler.warc import DIGESTS, DigestIndex, Exchange, WarcFiles, digest_index, file_tag
from crawler.warc_reader import WarcReader
from tests.conftest import REPO, SEEDS, fresh_postgres_database, reset_postgres, run_scrapy

CORPUS_FILES = 40  # corpus pages in the folder, beside the five seeds and a WARC file
WARC_PAGES = 4
UNIT_FILES = "5"  # files per unit: the folder is ten units, and the WARC file one more


@pytest.fixture(scope="module")
def archive_url() -> Iterator[str]:
    """A PostgreSQL database of this module's own (the workers of a fleet share one)."""
    with fresh_postgres_database("units") as url:
        yield url


@pytest.fixture
def database(archive_url: str) -> str:
    reset_postgres(archive_url)
    return archive_url


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, wcxb_corpus: Path) -> Path:
    """A folder to replay: the seed pages and their manifest, corpus pages, a WARC file."""
    folder = tmp_path_factory.mktemp("pages")
    shutil.copytree(SEEDS, folder / "seeds")
    corpus = sorted((wcxb_corpus / "html").glob("*.html.gz"))
    for path in corpus[:CORPUS_FILES]:
        shutil.copy(path, folder / path.name)
    with (folder / "pages.warc.gz").open("wb") as stream:
        writer = WARCWriter(stream, gzip=True, warc_version="1.1")
        for path in corpus[CORPUS_FILES:CORPUS_FILES + WARC_PAGES]:
            body = gzip.decompress(path.read_bytes())
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"https://warc.example/{path.name.removesuffix('.gz')}", "response",
                payload=BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict={"WARC-Date": "2025-06-06T03:00:00Z"},
            ))
    return folder


def archived(url: str) -> tuple[Counter[str], set[tuple[str, str | None]], list[CrawlRun]]:
    """(captures per page, (article URL, source name) pairs, runs) of an archive."""
    engine = open_database(url)
    with Session(engine) as session:
        captures = Counter(
            f"{path}|{page}" for path, page in session.execute(
                select(Capture.local_path, Capture.url)))
        articles = {(row[0], row[1]) for row in session.execute(
            select(Article.url, Source.name).outerjoin(Source, Source.id == Article.source_id))}
        runs = list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    engine.dispose()
    return captures, articles, runs


@pytest.fixture(scope="module")
def lone_replay(pages: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Counter[str], set[tuple[str, str | None]]]:
    """What one replay without REDIS_URL archives of the folder: the fleet's reference."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lone') / 'archive.sqlite'}"
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "replay", "-a", f"path={pages}",
         "-s", f"WARC_DIR={tempfile.mkdtemp(prefix='newsarchive-warc-')}"],
        cwd=REPO, env={**environment, "DATABASE_URL": url}, capture_output=True, text=True,
        timeout=600)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    captures, articles, _ = archived(url)
    assert sum(captures.values()) == 5 + CORPUS_FILES + WARC_PAGES
    return captures, articles


class Worker:
    """A fleet worker: the real command line, in its own process, with REDIS_URL."""

    def __init__(self, *args: str, database_url: str, redis_url: str, prefix: str,
                 **settings: str) -> None:
        options = [f"FLEET_PREFIX={prefix}",
                   f"WARC_DIR={tempfile.mkdtemp(prefix='fleet-warc-')}",
                   *(f"{name}={value}" for name, value in settings.items())]
        command = [sys.executable, "-m", "scrapy", *args]
        for option in options:
            command += ["-s", option]
        # A file, not a pipe: a full pipe would stall the worker.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  closed with the test
        self.process = subprocess.Popen(
            command, cwd=REPO, text=True, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url})

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the worker did not end by itself:\n{self.output()[-3000:]}"
                                 ) from None


def wait_all(workers: list[Worker], timeout: float = 300) -> list[int]:
    """Each worker's exit status, once all ended by themselves."""
    deadline = time.monotonic() + timeout
    return [worker.wait(max(1.0, deadline - time.monotonic())) for worker in workers]


def replay_worker(pages: Path, database_url: str, redis_url: str, prefix: str,
                  **settings: str) -> Worker:
    return Worker("crawl", "replay", "-a", f"path={pages}", database_url=database_url,
                 redis_url=redis_url, prefix=prefix, REPLAY_UNIT_FILES=UNIT_FILES,
                 REPLAY_MAX_PENDING="2", **settings)


def test_replay_workers_split_a_folder_and_archive_every_page_once(
    pages: Path, database: str, redis_url: str, fleet_prefix: str,
    lone_replay: tuple[Counter[str], set[tuple[str, str | None]]],
) -> None:
    workers = [replay_worker(pages, database, redis_url, fleet_prefix) for _ in range(3)]
    codes = wait_all(workers)
    assert codes == [0, 0, 0], [w.output()[-2000:] for w in workers]

    captures, articles, runs = archived(database)
    lone_captures, lone_articles = lone_replay
    assert captures == lone_captures  # every page read once, by one worker or another
    assert articles == lone_articles  # manifests still name their files' pages
    assert len(runs) == 3 and all(run.status == "finished" for run in runs)
    engine = open_database(database)
    with Session(engine) as session:
        per_run = dict(session.execute(
            select(Capture.crawl_run_id, func.count()).group_by(Capture.crawl_run_id)).all())
    engine.dispose()
    assert sorted(per_run) == [run.id for run in runs], "a worker read nothing"
    seeded = [run.stats["fleet/units/seeded"] for run in runs if "fleet/units/seeded" in run.stats]
    assert seeded == [45 // int(UNIT_FILES) + 1]  # one seeder; the files, then the WARC
    assert sum(run.stats["fleet/units/taken"] for run in runs) == seeded[0]  # none twice
    assert sum(run.stats["fleet/units/done"] for run in runs) == seeded[0]


def owners(server: redis.Redis, prefix: str) -> list[str]:
    """The workers holding units now, in any cycle under the prefix."""
    return [owner.decode() for key in server.scan_iter(f"{prefix}:*:units:owners")
            for owner in server.hvals(key)]


def test_a_killed_workers_units_are_taken_over_after_its_lease_and_nothing_is_lost(
    pages: Path, database: str, redis_url: str, fleet_prefix: str,
    lone_replay: tuple[Counter[str], set[tuple[str, str | None]]],
) -> None:
    lease = {"FLEET_LEASE_SECONDS": "3"}
    # A worker that stores nothing before it ends: what it read is lost with it...
    doomed = replay_worker(pages, database, redis_url, fleet_prefix, STORE_FLUSH_SECONDS="600",
                           STORE_BATCH_SIZE="100000", **lease)
    server = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 120
    while not any(owner.endswith(f":{doomed.process.pid}")
                  for owner in owners(server, fleet_prefix)):
        assert doomed.process.poll() is None, doomed.output()[-3000:]
        assert time.monotonic() < deadline, "the first worker never took a unit"
        time.sleep(0.1)
    doomed.process.send_signal(signal.SIGKILL)  # ...holding at least one unit
    doomed.process.wait()

    survivors = [replay_worker(pages, database, redis_url, fleet_prefix, **lease) for _ in range(2)]
    codes = wait_all(survivors)
    assert codes == [0, 0], [w.output()[-2000:] for w in survivors]

    captures, articles, runs = archived(database)
    lone_captures, lone_articles = lone_replay
    assert captures == lone_captures  # nothing lost, nothing stored twice
    assert articles == lone_articles
    finished = [run for run in runs if run.status == "finished"]
    assert len(finished) == 2
    assert sum(run.stats.get("fleet/units/expired", 0) for run in finished) >= 1


def test_reextract_workers_split_the_archive_and_read_each_capture_once(
    pages: Path, database: str, redis_url: str, fleet_prefix: str,
) -> None:
    alone = run_scrapy("crawl", "replay", "-a", f"path={pages}", database_url=database,
                       REDIS_URL="")
    assert alone.returncode == 0, alone.stderr[-3000:]
    engine = open_database(database)
    with Session(engine) as session:
        articles = set(session.scalars(select(Article.id)))
    engine.dispose()

    workers = [Worker("reextract", database_url=database, redis_url=redis_url, prefix=fleet_prefix,
                      REEXTRACT_UNIT_ARTICLES="5", REPLAY_MAX_PENDING="2") for _ in range(2)]
    codes = wait_all(workers)
    assert codes == [0, 0], [w.output()[-2000:] for w in workers]

    engine = open_database(database)
    with Session(engine) as session:
        runs = list(session.scalars(select(CrawlRun).where(CrawlRun.spider == "reextract")))
        reread = Counter(session.scalars(
            select(Capture.article_id).where(Capture.crawl_run_id.in_([r.id for r in runs]))))
    engine.dispose()
    assert len(runs) == 2 and all(run.status == "finished" for run in runs)
    assert set(reread) == articles and set(reread.values()) == {1}  # each once, none left
    seeded = sum(run.stats.get("fleet/units/seeded", 0) for run in runs)
    assert sum(run.stats["fleet/units/taken"] for run in runs) == seeded > 1


def exchange(url: str, body: bytes) -> Exchange:
    return Exchange(
        url=url, date="2025-06-06T03:00:00.000000Z", method="GET", target="/story.html",
        request_headers=[("Host", "news.example")], request_body=b"", status=200,
        response_headers=[("Content-Type", "text/html")], body=body, ip_address=None,
        truncated=False)


def test_warc_writers_of_two_workers_share_their_payload_digests(
    redis_url: str, fleet_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings({"REDIS_URL": redis_url, "FLEET_PREFIX": fleet_prefix})
    assert file_tag(settings, 7) == f"run7-{socket.gethostname()}-{os.getpid()}"
    body = b"<html><body><p>The same story, syndicated.</p></body></html>"
    written = []
    for worker in ("a", "b"):  # two workers, each with its own folder and files
        files = WarcFiles(tmp_path / worker, ("news", f"run1-host{worker}-1"), 10**9, {},
                          digest_index(settings))
        written.append(files.write_exchange(
            exchange(f"https://{worker}.example/story.html", body)))
        files.close()
    (first, first_id, first_revisit), (second, _, second_revisit) = written
    assert (first_revisit, second_revisit) == (False, True)
    assert Path(first["file"]).name != Path(second["file"]).name

    with Path(second["file"]).open("rb") as stream:
        kinds = {record.rec_type: record for record in ArchiveIterator(stream)}
    revisit = kinds["revisit"]
    assert "response" not in kinds
    assert revisit.rec_headers.get_header("WARC-Refers-To") == first_id
    assert revisit.rec_headers.get_header("WARC-Refers-To-Target-URI") == (
        "https://a.example/story.html")
    # The first worker's folder still resolves its own records for replay and reextract.
    assert (tmp_path / "a" / DIGESTS).is_file()

    # The workers' files gathered in one folder (no digests.sqlite there): the revisit
    # is read back through the shared index, which names the other worker's file.
    gathered = tmp_path / "gathered"
    gathered.mkdir()
    for place in written:
        shutil.copy(place[0]["file"], gathered)
    revisit_file = gathered / Path(second["file"]).name

    def read_back(**settings: str) -> Page:
        reader = WarcReader(get_crawler(settings_dict=settings))
        return next(reader.pages([revisit_file], None, lambda url: "fleet"))

    page = read_back(REDIS_URL=redis_url, FLEET_PREFIX=fleet_prefix)
    assert (page.error, page.url, page.body) == (None, "https://b.example/story.html", body)
    alone = read_back()  # without the shared index: said, not guessed
    assert alone.error == "warc-revisit-unresolved"


def test_without_redis_the_digest_index_is_the_folders_file(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings()
    assert file_tag(settings, 7) == "run7"
    index = digest_index(settings)(tmp_path / DIGESTS)
    assert isinstance(index, DigestIndex)
    index.close()
