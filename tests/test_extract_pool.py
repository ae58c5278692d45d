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

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.items import Page
from pipelines.database import create_archive_engine
from pipelines.extract import ExtractPipeline, extract_to_dict
from pipelines.models import Capture
from tests.conftest import CORPUS, REPO, SEEDS, run_scrapy

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


def descendants(pid: int) -> set[int]:
    """Live processes under pid (Linux /proc: no dependency just for tests)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def extraction_workers() -> set[int]:
    """Live processes forked by this process's forkserver (its grandchildren)."""
    everything = descendants(os.getpid())
    return everything - {pid for pid in everything if parent(pid) == os.getpid()}


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
    """Every descendant seen while the process runs (polled until it exits)."""
    seen: set[int] = set()
    deadline = time.monotonic() + until
    while process.poll() is None and time.monotonic() < deadline:
        seen |= descendants(process.pid)
        time.sleep(0.05)
    return seen


def test_no_worker_survives_a_finished_crawl(tmp_path: Path) -> None:
    process = start_replay(tmp_path, 30)
    seen = watch(process)
    assert process.wait(timeout=60) == 0, (tmp_path / "log").read_text()[-2000:]
    assert len(seen) >= 3, "expected a forkserver and two workers"
    assert survivors(seen) == set()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_no_worker_survives_an_interrupted_crawl(tmp_path: Path, signum: int) -> None:
    """Ctrl-C shuts the pool down; a crawl process killed outright cannot, and its
    workers still exit on their own (their task pipe closes)."""
    process = start_replay(tmp_path, 120)
    seen: set[int] = set()
    while len(seen) < 3 and process.poll() is None:  # forkserver and both workers started
        seen |= descendants(process.pid)
        time.sleep(0.05)
    time.sleep(0.5)  # mid-extraction
    seen |= descendants(process.pid)
    process.send_signal(signum)
    seen |= watch(process, until=90)
    expected = 2 if signum == signal.SIGINT else -signal.SIGKILL  # 2: the run was aborted
    assert process.wait(timeout=30) == expected, (tmp_path / "log").read_text()[-2000:]
    assert len(seen) >= 3
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
    assert len(seen) >= 3
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
    ``huge_page`` takes 1.5 s, so it outlasts a 1-second budget (1 to 2 s in effect: the
    limit counts from the worker's CPU time rounded up) on any host."""
    paragraph = ("<div class='c{0}'><p>भारत की राजधानी नई दिल्ली में आज एक बड़ी बैठक हुई, "
                 "जिसमें कई नेता शामिल हुए {0}.</p><a href='/x{0}'>link {0}</a></div>")
    body = "".join(paragraph.format(i) for i in range(paragraphs))
    return (f"<html><head><title>Slow</title></head><body><article>{body}</article>"
            "</body></html>").encode()


def test_a_page_that_kills_its_worker_fails_alone(tmp_path: Path, database_url: str) -> None:
    """A real cause: the page needs more CPU than EXTRACT_PAGE_CPU_SECONDS, the kernel
    kills its worker (SIGXCPU), and every other page in the pool at that moment is
    extracted again on its own."""
    folder = replay_folder(tmp_path, 8)
    (folder / "huge.html").write_bytes(slow_page())
    result = run_scrapy(
        "crawl", "replay", "-a", f"path={folder}", "-s", "EXTRACT_WORKERS=2",
        "-s", "EXTRACT_PAGE_CPU_SECONDS=1", "-s", "DOWNLOAD_MAXSIZE=100000000",
        database_url=database_url,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "extract/pool_restarts" in result.stderr
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


def test_after_a_worker_dies_the_crawl_keeps_only_its_configured_workers() -> None:
    """The pages caught in the broken pool are extracted again in an extra pool of one;
    once they are done, that extra worker goes, so a crash does not cost a worker's
    memory for the rest of the crawl."""
    pipeline = ExtractPipeline.from_crawler(get_crawler(settings_dict={"EXTRACT_WORKERS": 2}))
    caught = [Page(url="file:///huge.html", fetched_at=FETCHED_AT, body=huge_page(),
                   headers=dict(HTML))]
    caught += [Page(url=url, fetched_at=FETCHED_AT, body=body, headers=dict(HTML))
               for url, body in corpus_pages(5)]
    later = [Page(url=url, fetched_at=FETCHED_AT, body=body, headers=dict(HTML))
             for url, body in corpus_pages(12)[5:]]

    async def crawl() -> set[int]:
        pipeline.open_spider()
        try:
            extracting = asyncio.gather(*(pipeline.process_item(page) for page in caught))
            while len(workers := extraction_workers()) < 2:  # both busy: the huge page
                await asyncio.sleep(0.05)  # takes seconds
            os.kill(min(workers), signal.SIGKILL)
            await extracting
            await asyncio.gather(*(pipeline.process_item(page) for page in later))
            deadline = time.monotonic() + 15  # the extra worker exits once it is told to
            while len(workers := extraction_workers()) > 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            return workers
        finally:
            pipeline.close_spider()

    workers = asyncio.run(crawl())
    assert pipeline.stats.get_value("extract/pool_restarts") == 1
    assert all(page.article for page in caught + later)  # nothing lost to the crash
    assert len(workers) == 2, workers


def test_workers_do_not_run_the_crawls_main_script_again(tmp_path: Path) -> None:
    """``scrapy crawl`` runs from a script (the console entry point). multiprocessing would
    run it again in every worker, loading Scrapy and Twisted there (25 MB a worker)."""
    marker = tmp_path / "run-in-a-worker"
    script = tmp_path / "crawl_script.py"
    script.write_text(f"""
import os
from pathlib import Path

if __name__ != "__main__":
    Path({str(marker)!r}).write_text(str(os.getpid()))
else:
    from pipelines.extract import create_pool

    pool = create_pool(1, 0)
    print(pool.submit(os.getpid).result())
    pool.shutdown()
""")
    result = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().isdigit()  # the worker ran the task
    assert not marker.exists()
