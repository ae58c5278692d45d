"""Extraction in worker processes: same results as in-process, no orphan workers, and a
worker that dies costs only its own page."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.database import create_archive_engine
from archive.models import Capture
from crawler.items import Page
from pipelines.extract import ExtractPipeline, extract_to_dict
from tests.conftest import CORPUS, REPO, SEEDS, loaded_modules, run_scrapy

HTML = {"content-type": "text/html"}
TEXT = {"content-type": "text/plain; charset=utf-8"}
FETCHED_AT = datetime(2025, 6, 6, 3, 0, tzinfo=UTC)


def corpus_pages(count: int) -> list[tuple[str, bytes]]:
    """(file URL, html) of the first ``count`` corpus pages."""
    paths = sorted((CORPUS / "html").glob("*.html.gz"))[:count]
    return [(path.as_uri(), gzip.decompress(path.read_bytes())) for path in paths]


def sample_pages() -> list[Page]:
    """Real pages of both kinds: corpus HTML and the plain-text seed dumps."""
    pages = [Page(url=url, fetched_at=FETCHED_AT, body=body, headers=dict(HTML))
             for url, body in corpus_pages(10)]
    pages += [Page(url=path.as_uri(), fetched_at=FETCHED_AT, body=path.read_bytes(),
                   headers=dict(TEXT)) for path in sorted(SEEDS.glob("*.txt"))]
    return pages


def test_pool_gives_the_same_results_as_in_process_extraction() -> None:
    pages = sample_pages()
    expected = [extract_to_dict(page.body, page.url, page.headers) for page in pages]
    pipeline = ExtractPipeline.from_crawler(get_crawler(settings_dict={"EXTRACT_WORKERS": 2}))

    async def through_pool() -> list[Page]:
        pipeline.open_spider()
        try:
            return await asyncio.gather(*(pipeline.process_item(page) for page in pages))
        finally:
            pipeline.close_spider()

    results = asyncio.run(through_pool())
    assert sum("article" in result for result in expected) >= 12  # real articles compared
    for page, result in zip(results, expected, strict=True):
        assert page.article == result.get("article"), page.url
        assert page.error == result.get("error"), page.url


# Shutdown ----------------------------------------------------------------------------------


def extraction_workers(crawl_pid: int | None = None) -> set[int]:
    """Live extraction workers of a crawl process (this process by default), found by
    their command line (``-m pipelines.workers.worker SECONDS CRAWL_PID ...``, which the
    workers forked from the first share): a worker whose parent died is reparented
    outside the crawl's process tree, and still works for it."""
    crawl = str(crawl_pid or os.getpid()).encode()
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pipelines.workers.worker" not in argv:
            continue
        module = argv.index(b"pipelines.workers.worker")
        pid = int(cmdline.parent.name)
        if argv[module + 2:module + 3] == [crawl] and alive(pid):
            found.add(pid)
    return found


def parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def survivors(pids: set[int], wait: float = 15) -> set[int]:
    """The pids still alive after giving them ``wait`` seconds to exit."""
    deadline = time.monotonic() + wait
    while (left := {pid for pid in pids if alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def replay_folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "pages"
    folder.mkdir()
    for number, (_, body) in enumerate(corpus_pages(count)):
        (folder / f"{number:03d}.html").write_bytes(body)
    return folder


def start(command: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start a process with its output in log (a pipe nobody reads could block it)."""
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=REPO, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)


def start_replay(tmp_path: Path, pages: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "scrapy", "crawl", "replay",
               "-a", f"path={replay_folder(tmp_path, pages)}", "-s", "EXTRACT_WORKERS=2"]
    return start(command, tmp_path / "log", DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite'}")


def watch(process: subprocess.Popen[bytes], until: float = 120) -> set[int]:
    """Every extraction worker seen while the process runs (polled until it exits)."""
    seen: set[int] = set()
    deadline = time.monotonic() + until
    while process.poll() is None and time.monotonic() < deadline:
        seen |= extraction_workers(process.pid)
        time.sleep(0.05)
    return seen


def test_no_worker_survives_a_finished_crawl(tmp_path: Path) -> None:
    process = start_replay(tmp_path, 30)
    seen = watch(process)
    assert process.wait(timeout=60) == 0, (tmp_path / "log").read_text()[-2000:]
    assert len(seen) == 2, "expected two workers, and no restart"
    assert survivors(seen) == set()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_no_worker_survives_an_interrupted_crawl(tmp_path: Path, signum: int) -> None:
    """Ctrl-C shuts the pool down; a crawl process killed outright cannot, and its
    workers still exit on their own (their task pipe closes)."""
    process = start_replay(tmp_path, 120)
    seen: set[int] = set()
    while len(seen) < 2 and process.poll() is None:  # both workers started
        seen |= extraction_workers(process.pid)
        time.sleep(0.05)
    time.sleep(0.5)  # mid-extraction
    seen |= extraction_workers(process.pid)
    process.send_signal(signum)
    seen |= watch(process, until=90)
    expected = 2 if signum == signal.SIGINT else -signal.SIGKILL  # 2: the run was aborted
    assert process.wait(timeout=30) == expected, (tmp_path / "log").read_text()[-2000:]
    assert len(seen) >= 2
    assert survivors(seen) == set()


def test_no_worker_survives_an_exception_in_the_crawl_process(tmp_path: Path) -> None:
    """The crawl process dies of an exception while pages are in the workers."""
    script = """
import asyncio
from scrapy.utils.test import get_crawler
from crawler.items import Page
from pipelines.extract import ExtractPipeline
from tests.test_extract_pool import FETCHED_AT, corpus_pages

async def main():
    pipeline = ExtractPipeline.from_crawler(get_crawler(settings_dict={"EXTRACT_WORKERS": 2}))
    pipeline.open_spider()
    pages = [Page(url=u, fetched_at=FETCHED_AT, body=b, headers={"content-type": "text/html"})
             for u, b in corpus_pages(40)]
    tasks = [asyncio.ensure_future(pipeline.process_item(page)) for page in pages]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    raise RuntimeError("a bug in the crawl")

asyncio.run(main())
"""
    process = start([sys.executable, "-c", script], tmp_path / "log")
    seen = watch(process)
    assert process.wait(timeout=60) == 1
    assert "RuntimeError: a bug in the crawl" in (tmp_path / "log").read_text()
    assert len(seen) >= 2
    assert survivors(seen) == set()


# A worker that dies ------------------------------------------------------------------------


def huge_page(pages: int = 100) -> bytes:
    """One page made of many corpus pages' bodies: seconds of CPU to extract."""
    bodies = [re.search(rb"<body[^>]*>(.*)</body>", body, re.S | re.I) for _, body in
              corpus_pages(pages)]
    inner = b"".join(match.group(1) for match in bodies if match)
    return b"<html><head><title>Everything</title></head><body>" + inner + b"</body></html>"


def slow_page(paragraphs: int = 50_000) -> bytes:
    """A 13 MB page of short paragraphs: ~10 s of CPU to extract on a host where
    ``huge_page`` takes 1.5 s, so it outlasts a 1-second budget on any host."""
    paragraph = ("<div class='c{0}'><p>भारत की राजधानी नई दिल्ली में आज एक बड़ी बैठक हुई, "
                 "जिसमें कई नेता शामिल हुए {0}.</p><a href='/x{0}'>link {0}</a></div>")
    body = "".join(paragraph.format(i) for i in range(paragraphs))
    return (f"<html><head><title>Slow</title></head><body><article>{body}</article>"
            "</body></html>").encode()


def test_a_page_that_kills_its_worker_fails_alone(tmp_path: Path, database_url: str) -> None:
    """A real cause: the page needs more CPU than EXTRACT_PAGE_CPU_SECONDS, the kernel
    kills its worker (SIGPROF), twice (a page gets a second try), and the page fails
    with its reason while every other page is archived."""
    folder = replay_folder(tmp_path, 8)
    (folder / "huge.html").write_bytes(slow_page())
    result = run_scrapy(
        "crawl", "replay", "-a", f"path={folder}", "-s", "EXTRACT_WORKERS=2",
        "-s", "EXTRACT_PAGE_CPU_SECONDS=1", "-s", "DOWNLOAD_MAXSIZE=100000000",
        database_url=database_url,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert re.search(r"'extract/worker_restarts': 2\b", result.stderr), result.stderr[-3000:]
    engine = create_archive_engine(database_url)
    try:
        with Session(engine) as session:
            captures = {Path(c.local_path or "").name: c for c in session.scalars(select(Capture))}
    finally:
        engine.dispose()
    assert len(captures) == 9
    huge = captures.pop("huge.html")
    assert (huge.outcome, huge.error) == ("failed", "extractor-died")
    assert "EXTRACT_PAGE_CPU_SECONDS=1" in (huge.error_detail or "")
    assert {c.outcome for c in captures.values()} == {"new"}


def pages_of(bodies: list[tuple[str, bytes]]) -> list[Page]:
    return [Page(url=url, fetched_at=FETCHED_AT, body=body, headers=dict(HTML))
            for url, body in bodies]


def crawl_killing_workers(
    pages: list[Page], kill: int
) -> tuple[set[int], dict[int, int | None], Any]:
    """Extract ``pages`` (the first a huge one) with two workers, SIGKILL ``kill`` of
    them while both are busy; (workers before, workers after with their parents, read
    before the pool shuts down, the pipeline)."""
    pipeline = ExtractPipeline.from_crawler(get_crawler(settings_dict={"EXTRACT_WORKERS": 2}))

    async def crawl() -> tuple[set[int], dict[int, int | None]]:
        pipeline.open_spider()
        try:
            extracting = asyncio.gather(*(pipeline.process_item(page) for page in pages))
            while len(before := extraction_workers()) < 2:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # both busy: the huge page takes seconds
            for pid in sorted(before)[:kill]:
                os.kill(pid, signal.SIGKILL)
            await extracting
            deadline = time.monotonic() + 15  # the dead are gone, the new have started
            while (len(after := extraction_workers()) != 2 or after & before == before) \
                    and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return before, {pid: parent(pid) for pid in after}
        finally:
            pipeline.close_spider()

    before, after = asyncio.run(crawl())
    return before, after, pipeline


def test_a_killed_worker_loses_no_page_and_is_replaced_by_a_fork() -> None:
    """The page it was on gets a second try; its replacement is forked from the live
    worker (sharing its loaded extractors) rather than started and loaded anew."""
    pages = pages_of([("file:///huge.html", huge_page()), *corpus_pages(12)])
    before, after, pipeline = crawl_killing_workers(pages, kill=1)
    assert all(page.article for page in pages), [p.url for p in pages if not p.article]
    assert pipeline.stats.get_value("extract/worker_restarts") == 1
    assert len(after) == 2, after
    survivor, = before & set(after)
    replacement, = set(after) - before
    assert after[replacement] == survivor


def test_when_every_worker_dies_new_ones_are_started() -> None:
    pages = pages_of([("file:///huge.html", huge_page()), *corpus_pages(12)])
    before, after, pipeline = crawl_killing_workers(pages, kill=2)
    assert all(page.article for page in pages), [p.url for p in pages if not p.article]
    assert pipeline.stats.get_value("extract/worker_restarts") >= 2
    assert len(after) == 2 and not set(after) & before, (before, after)


def test_workers_load_no_crawler_code() -> None:
    """What the workers load before they fork (PRELOAD) is extraction only: Scrapy,
    Twisted and SQLAlchemy would cost every worker ~40 MB for nothing."""
    setup = ("import importlib\nfrom pipelines.workers.worker import PRELOAD\n"
             "for module in PRELOAD:\n    importlib.import_module(module)")
    assert loaded_modules(setup, ("scrapy", "twisted", "sqlalchemy", "alembic")) == []
