"""A database outage loses nothing, and a run that died is marked as such.

The outage tests stop a PostgreSQL server of their own (``tests/private_postgres.py``;
never the shared one) in the middle of a real ``scrapy crawl news`` over the fixture
site, and find every page stored once the run ends; an outage longer than
``DATABASE_OUTAGE_MAX`` ends the run (exit 2) with its pages in the spool, which the
next command stores. SQLite is locked by another writer past its busy timeout instead.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import CrawlRun
from archive.outage import is_outage
from archive.spool import SUFFIX, new_spool, page_line, recover
from archive.writer import Archive
from crawler.items import Page
from pipelines.extract import extract_to_dict
from tests.conftest import SEEDS, run_scrapy
from tests.fixture_site import LargeSite, corpus_page, unused_port
from tests.private_postgres import PrivateCluster, require_postgres_bin
from tests.test_news_crawl import TEST_SETTINGS

PAGES = 150
OUTAGE_SETTINGS = {
    **TEST_SETTINGS,
    "STORE_BATCH_SIZE": "20",  # captures appear early, and the spool is used
    "SPOOL_MAX_PAGES": "30",  # fetching pauses during the outage
    "DATABASE_RETRY_DELAY": "0.2",
    "DATABASE_RETRY_MAX_DELAY": "1",
}


# Helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[LargeSite]:
    network = LargeSite(PAGES)
    network.start()
    yield network
    network.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    server = PrivateCluster(require_postgres_bin())
    server.start()
    yield server
    server.destroy()


def sources_file(folder: Path, site: LargeSite) -> Path:
    path = folder / "sources.toml"
    path.write_text(f'[[source]]\nname = "Large"\nhomepage = "{site.site_.url}/"\n')
    return path


def start_crawl(folder: Path, site: LargeSite, url: str, **settings: str) -> subprocess.Popen:
    """A real ``scrapy crawl news`` in the background; its output goes to files in folder."""
    options = {**OUTAGE_SETTINGS, "SPOOL_DIR": str(folder / "spool"),
               "WARC_DIR": str(folder / "warc"), **settings}
    args = [arg for name, value in options.items() for arg in ("-s", f"{name}={value}")]
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a",
         f"sources={sources_file(folder, site)}", *args],
        cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "DATABASE_URL": url},
        stdout=(folder / "stdout").open("w"), stderr=(folder / "stderr").open("w"),
    )


def wait_until(condition: Callable[[], bool], crawl: subprocess.Popen | None = None,
               timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert crawl is None or crawl.poll() is None, "the crawl ended first"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def captures(url: str) -> int:
    try:
        return query(url, "SELECT count(*) FROM captures")[0][0]
    except DBAPIError:  # no schema yet
        return 0


def finish(crawl: subprocess.Popen, folder: Path) -> tuple[int, str]:
    returncode = crawl.wait(timeout=180)
    return returncode, (folder / "stderr").read_text()


def runs(url: str) -> list[CrawlRun]:
    engine = create_engine(url)
    with Session(engine) as session:
        found = list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    engine.dispose()
    return found


def assert_every_page_once(url: str, site: LargeSite) -> None:
    article_captures = query(url, "SELECT url, count(*) FROM captures "
                                  "WHERE url LIKE '%/article/%' GROUP BY url")
    assert {u for u, _ in article_captures} == set(site.urls)
    assert {n for _, n in article_captures} == {1}
    (archived,) = query(url, "SELECT count(*) FROM captures WHERE outcome IN ('new', 'duplicate')")
    assert query(url, "SELECT count(*), count(DISTINCT url) FROM articles") == [archived * 2]
    assert archived[0] > PAGES * 0.9  # a few corpus pages are no articles


# A PostgreSQL outage mid-crawl ---------------------------------------------------------


def test_postgres_stopped_mid_crawl_loses_nothing(
    cluster: PrivateCluster, site: LargeSite, tmp_path: Path
) -> None:
    url = cluster.fresh_database("outage")
    crawl = start_crawl(tmp_path, site, url)
    wait_until(lambda: captures(url) >= 20, crawl)
    cluster.stop()
    time.sleep(20)  # the outage: the crawl goes on fetching, then pauses
    cluster.start()
    returncode, stderr = finish(crawl, tmp_path)
    assert returncode == 0, stderr[-3000:]
    assert_every_page_once(url, site)
    failures = query(url, "SELECT error, error_detail FROM captures WHERE outcome = 'failed'")
    assert not [f for f in failures if f[0] == "store-failed"], failures
    (run,) = runs(url)
    assert run.status == "finished"
    assert run.stats["archive/outage/count"] >= 1
    assert run.stats["archive/outage/seconds"] > 0
    assert run.stats["archive/outage/spooled"] > 0
    assert run.stats["archive/outage/paused"] >= 1
    assert run.stats["archive/pages"] == query(url, "SELECT count(*) FROM captures")[0][0]
    assert not list((tmp_path / "spool").glob(f"*{SUFFIX}"))  # stored, then deleted


def test_an_outage_past_the_limit_stops_the_run_and_the_next_command_stores_its_pages(
    cluster: PrivateCluster, site: LargeSite, tmp_path: Path
) -> None:
    url = cluster.fresh_database("too_long")
    crawl = start_crawl(tmp_path, site, url, DATABASE_OUTAGE_MAX="3")
    wait_until(lambda: captures(url) >= 20, crawl)
    cluster.stop()
    try:
        returncode, stderr = finish(crawl, tmp_path)
    finally:
        cluster.start()
    assert returncode == 2, stderr[-3000:]
    assert "Traceback" not in stderr
    messages = [line for line in stderr.splitlines() if " ERROR: " in line]  # one, and clear
    assert len(messages) == 1, stderr[-3000:]
    assert "has not answered for" in messages[0]
    (spool,) = (tmp_path / "spool").glob(f"*{SUFFIX}")
    assert str(spool) in messages[0] and "DATABASE_OUTAGE_MAX 3 s" in messages[0]
    assert "stores them first" in messages[0]
    assert runs(url)[0].status == "running"  # the database could not be told

    search = run_scrapy("search", "archive", "-s", f"SPOOL_DIR={tmp_path / 'spool'}",
                        database_url=url)
    assert search.returncode == 0, search.stderr
    assert f"spooled to {spool}" in search.stderr
    assert not spool.exists()
    (run,) = runs(url)
    assert (run.status, run.finish_reason) == ("aborted", "database-outage")
    stored = query(url, "SELECT count(*), count(DISTINCT url) FROM captures")[0]
    assert stored[0] == stored[1] == run.stats["archive/pages"]
    assert run.stats["archive/spool/stored_later"] > 0


# SQLite locked by another writer past its busy timeout ----------------------------------


def test_sqlite_locked_past_its_busy_timeout_loses_nothing(
    site: LargeSite, tmp_path: Path
) -> None:
    path = tmp_path / "archive.sqlite"
    url = f"sqlite:///{path}?timeout=0.5"
    crawl = start_crawl(tmp_path, site, url)
    wait_until(lambda: captures(url) >= 20, crawl)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # a backup, a hand-run UPDATE: no one else writes
    time.sleep(6)
    other.execute("COMMIT")
    other.close()
    returncode, stderr = finish(crawl, tmp_path)
    assert returncode == 0, stderr[-3000:]
    assert_every_page_once(url, site)
    (run,) = runs(url)
    assert run.stats["archive/outage/seconds"] > 0
    assert "database is locked" in stderr


# A run that died --------------------------------------------------------------------------


def test_a_killed_run_is_marked_interrupted_by_the_next_run(
    database_url: str, site: LargeSite, tmp_path: Path
) -> None:
    crawl = start_crawl(tmp_path, site, database_url)
    wait_until(lambda: captures(database_url) >= 20, crawl)
    crawl.send_signal(signal.SIGKILL)
    crawl.wait()
    assert runs(database_url)[0].status == "running"
    replay = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", "-s", "EXTRACT_WORKERS=0",
                        database_url=database_url)
    assert replay.returncode == 0, replay.stderr[-3000:]
    killed, replayed = runs(database_url)
    assert (killed.status, killed.finish_reason) == ("interrupted", "process-gone")
    assert killed.finished_at is not None
    assert replayed.status == "finished"


def test_dead_runs_are_told_from_live_ones(database_url: str) -> None:
    archive = Archive(open_database(database_url))
    now = datetime.now(UTC)
    me = archive.start_run("news", {})  # this process: alive
    gone = archive.start_run("news", {})  # a pid no process has
    reused = archive.start_run("news", {})  # this pid, but given out after the run began
    elsewhere = archive.start_run("news", {})  # another machine, silent for 20 minutes
    recent = archive.start_run("news", {})  # another machine, alive a minute ago
    with Session(archive.engine) as session, session.begin():
        free_pid = next(p for p in range(2**22 - 1, 1, -1) if not Path(f"/proc/{p}").exists())
        session.execute(update(CrawlRun).where(CrawlRun.id == gone).values(pid=free_pid))
        session.execute(update(CrawlRun).where(CrawlRun.id == reused)
                        .values(started_at=now - timedelta(days=365)))
        for run_id, silent in ((elsewhere, 20), (recent, 1)):
            session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
                host="elsewhere.example", heartbeat_at=now - timedelta(minutes=silent)))
    assert archive.mark_dead_runs(600) == [gone, reused, elsewhere]
    assert {r.id: r.status for r in runs(database_url)} == {
        me: "running", gone: "interrupted", reused: "interrupted", elsewhere: "interrupted",
        recent: "running"}
    # A run cut off longer than the bound finds itself marked, and says it is alive.
    assert archive.heartbeat(elsewhere) is True
    assert archive.heartbeat(elsewhere) is False
    assert {r.id: r.status for r in runs(database_url)}[elsewhere] == "running"
    archive.engine.dispose()


# What an outage is ------------------------------------------------------------------------


def error_of(statement: Callable[[], object]) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        statement()
    return caught.value


def test_connection_errors_are_outages_and_data_errors_are_not(database_url: str) -> None:
    engine = open_database(database_url)

    def run(*statements: str, on: Engine = engine) -> Callable[[], None]:
        def execute() -> None:
            with on.begin() as connection:
                for sql in statements:
                    connection.execute(text(sql))
        return execute

    duplicate = "INSERT INTO sources (id, name, created_at) VALUES (1, 'x', '2025-06-06')"
    run(duplicate)()
    integrity = error_of(run(duplicate))
    assert isinstance(integrity, IntegrityError) and not is_outage(integrity)
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        locked = create_engine(f"sqlite:///{path}?timeout=0.1")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        assert is_outage(error_of(run("DELETE FROM sources", on=locked)))
        holder.execute("ROLLBACK")
        locked.dispose()
    else:
        assert not is_outage(error_of(run("SELECT 1 / 0")))
        cancelled = run("SET LOCAL statement_timeout = 1", "SELECT pg_sleep(1)")
        assert not is_outage(error_of(cancelled))
        down = engine.url.set(port=unused_port())
        assert is_outage(error_of(run("SELECT 1", on=create_engine(down))))
        with engine.connect() as victim:
            pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
            run(f"SELECT pg_terminate_backend({pid})")()
            terminated = error_of(lambda: victim.execute(text("SELECT 1")))
        assert is_outage(terminated)
    engine.dispose()


# The spool ------------------------------------------------------------------------------


def extracted_page(number: int) -> Page:
    """A page as the store step gets it: really extracted, with its dedupe keys."""
    url = f"https://example.in/news/{number}-story.html"
    body = corpus_page(number)
    article = extract_to_dict(body, url, {"content-type": "text/html"})["article"]
    article["url"] = url
    page = Page(url=url, fetched_at=datetime(2025, 6, 6, 3, number, tzinfo=UTC), body=body,
                headers={"content-type": "text/html", "etag": '"x1"'}, http_status=200,
                source="Example", listing={"from": "rss", "title": "शीर्षक"},
                warc={"file": "/w/news-1.warc.gz", "offset": 10, "length": 99}, article=article)
    page.drop_body()
    return page


def table_rows(engine_url: str) -> dict[str, list[tuple]]:
    """Every row a page makes (but sources.created_at, the time of the write)."""
    rows = {table: query(engine_url, f"SELECT * FROM {table} ORDER BY 1")
            for table in ("articles", "captures", "story_bands")}
    return {**rows, "sources": query(engine_url, "SELECT id, name, domain FROM sources")}


def test_a_spooled_page_is_stored_exactly_as_the_page_itself(tmp_path: Path) -> None:
    pages = [extracted_page(n) for n in (1, 2)]
    assert not isinstance(pages[0].article["story_signature"]["shingles"], list)  # an array
    spool = new_spool(tmp_path / "spool", "news", 1, "sqlite://")
    spool.append(pages)
    read_back = spool.take(2)
    spool.close()
    assert read_back == pages
    assert [page_line(p) for p in read_back] == [page_line(p) for p in pages]
    rows = []
    for name, batch in (("direct", pages), ("spooled", read_back)):
        url = f"sqlite:///{tmp_path / name}.sqlite"
        archive = Archive(open_database(url))
        archive.write([replace(p) for p in batch], None)
        archive.engine.dispose()
        rows.append(table_rows(url))
    assert rows[0] == rows[1]
    assert len(rows[0]["articles"]) == 2


def test_a_spool_left_by_a_dead_run_is_stored_once_by_the_next_one(
    database_url: str, tmp_path: Path
) -> None:
    archive = Archive(open_database(database_url))
    run_id = archive.start_run("news", {})
    pages = [extracted_page(n) for n in (1, 2, 3)]
    spool = new_spool(tmp_path, "news", run_id, database_url)
    spool.append(pages)
    archive.write(pages[:1], run_id)
    spool.mark_stored(1)  # the first page was committed before the run died
    spool.file.write(b'{"page": {"url": "https://example.in/torn"')  # killed mid-line
    spool.close()

    with spool.path.open("rb") as owner:  # a live run still holds it: left alone
        fcntl.flock(owner, fcntl.LOCK_EX)
        assert recover(archive, tmp_path, database_url, 600, 200).pages == 0
    assert spool.path.exists()

    found = recover(archive, tmp_path, database_url, 600, 200)
    assert (found.runs, found.pages) == ([run_id], 2)
    assert any("cut short" in note for note in found.notes)
    assert not spool.path.exists()
    assert query(database_url, "SELECT count(*), count(DISTINCT url) FROM captures") == [(3, 3)]
    (run,) = runs(database_url)
    assert (run.status, run.finish_reason) == ("interrupted", "process-gone")
    assert run.stats["archive/spool/stored_later"] == 2
    assert recover(archive, tmp_path, database_url, 600, 200).pages == 0
    archive.engine.dispose()
