"""Pipeline step 1: extract the article of each page, in worker processes.

Extraction is CPU-bound, and Scrapy runs pipelines on the reactor thread: done inline it
would stall fetching and use one core. Pages go to a process pool as bytes and come
back as plain dicts, with the dedupe keys (content hash, story signature) already
computed there: ~9 ms a page, a seventh of the extraction, that would otherwise run on the
reactor. A semaphore bounds the pages in flight so memory stays flat.
``EXTRACT_WORKERS = 0`` extracts in-process (simplest to debug).

A worker that dies (killed, out of memory, over ``EXTRACT_PAGE_CPU_SECONDS`` on one
page) breaks the whole pool and every page in it; the pool is replaced and those pages
are extracted again one at a time in a pool of their own, so only the page that kills
its worker fails (``extractor-died``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import select
import signal
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from crawler.items import Page
from pipelines.heap import HeapTrimmer, keep_heap_small

if TYPE_CHECKING:  # workers import this module: keep Scrapy out of them
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)
# What workers need, imported (and warmed up) once by the forkserver they fork from.
PRELOAD = [
    "pipelines.extract",
    "pipelines.extraction.html_page",
    "pipelines.extraction.text_page",
    "pipelines.dedupe_keys",
    "pipelines.extract_warmup",
]

_page_cpu_seconds = 0  # set in each worker by _init_worker
# A page leaves a worker's heap larger by what its trees took (tens of MB for a 2 MB page)
# and glibc keeps it; the worker gives it back once it holds this much more than after
# its last trim. Trimming after every page cost 4 ms a page (the heap is faulted in again).
TRIM_SLACK_BYTES = 4 * 1024 * 1024
_trim_heap: HeapTrimmer | None = None  # set in each worker by _init_worker


def _init_worker(page_cpu_seconds: int, crawl_pid: int) -> None:
    """Workers leave Ctrl-C to the crawl process, which shuts the pool down cleanly."""
    global _page_cpu_seconds, _trim_heap
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # killed over its CPU limit: no core file
    keep_heap_small()
    _trim_heap = HeapTrimmer(TRIM_SLACK_BYTES)
    _page_cpu_seconds = page_cpu_seconds
    threading.Thread(target=_exit_with, args=(crawl_pid,), daemon=True).start()


def _exit_with(crawl_pid: int) -> None:
    """End this worker when the crawl process ends, however it ends.

    A crawl process killed outright (SIGKILL, the OOM killer) cannot shut its pool down,
    and its workers would wait for tasks forever: each holds both ends of its task pipe,
    and the forkserver's liveness pipe, so neither ever sees end-of-file.
    """
    try:
        with os.fdopen(os.pidfd_open(crawl_pid)) as crawl:  # readable once it has exited
            select.select([crawl], [], [])
    except (AttributeError, OSError):  # gone already, or no pidfd (not Linux >= 5.3): poll
        while _running(crawl_pid):
            time.sleep(1)
    os._exit(1)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def extract_to_dict(body: bytes, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The article with its dedupe keys, or the failure, as plain, picklable data."""
    # Imported here, not above: the crawl process imports this module for the pipeline
    # and, when workers extract, must not hold the extractors (~150 MB with numpy and
    # the language model). In a worker the forkserver has loaded them: a dict lookup.
    from pipelines.dedupe_keys import dedupe_keys
    from pipelines.extraction import ExtractionError, extract_page

    try:
        article = extract_page(body, url, headers).as_dict()
    except ExtractionError as exc:
        return {"error": exc.reason, "detail": exc.detail}
    except Exception as exc:  # a bug in an extractor must fail one page, not the crawl
        return {"error": "extractor-crash", "detail": f"{type(exc).__name__}: {exc}"}
    article.update(dedupe_keys(article["text"]))
    return {"article": article}


def extract_in_worker(body: bytes, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Worker entry point: extract_to_dict within the page's CPU budget.

    Python cannot interrupt a task stuck in C code (a pathological page in lxml or a
    regex); the kernel can: past the soft RLIMIT_CPU it sends SIGXCPU, which ends the
    worker, and the pipeline fails that page.
    """
    if _page_cpu_seconds:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        spent = math.ceil(usage.ru_utime + usage.ru_stime)
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        resource.setrlimit(resource.RLIMIT_CPU, (spent + _page_cpu_seconds, hard))
    try:
        return extract_to_dict(body, url, headers)
    finally:
        if _trim_heap is not None:
            _trim_heap()


def start_forkserver() -> multiprocessing.context.BaseContext:
    """Start the server workers fork from, if not running yet; it loads PRELOAD (3 s of
    CPU) on its own core, so the earlier it starts, the less the crawl waits for it."""
    # forkserver: workers never inherit the reactor's threads and sockets, and fork from a
    # server that imported the extractors once.
    keep_main_script_out_of_workers()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    multiprocessing.forkserver.ensure_running()
    return context


def keep_main_script_out_of_workers() -> None:
    """multiprocessing runs the crawl's main script again in every worker it starts (as
    ``__mp_main__``); for the ``scrapy`` console script that imports all of Scrapy and
    Twisted into each worker, 25 MB apiece, for nothing. A main module whose name ends
    in ``.__main__`` is not run again (what ``python -m scrapy`` gives): name it so."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and getattr(main, "__file__", None):
        main.__spec__ = importlib.machinery.ModuleSpec("newsarchive.__main__", None)


def create_pool(workers: int, page_cpu_seconds: int) -> ProcessPoolExecutor:
    context = start_forkserver()
    return ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(page_cpu_seconds, os.getpid()),
    )


def extract_workers(settings: BaseSettings) -> int:
    """EXTRACT_WORKERS, with -1 (the default) meaning one per core."""
    workers = settings.getint("EXTRACT_WORKERS", -1)
    return (os.cpu_count() or 1) if workers < 0 else workers


def start_workers(pool: Executor, workers: int) -> None:
    """One no-op task per worker: a ProcessPoolExecutor starts a worker per task."""
    with contextlib.suppress(RuntimeError):  # the crawl closed first: nothing to start
        for _ in range(workers):
            pool.submit(os.getpid)


class ExtractPipeline:
    def __init__(self, workers: int, page_cpu_seconds: int, stats: Any) -> None:
        self.workers = workers
        self.page_cpu_seconds = page_cpu_seconds
        self.stats = stats
        self.pool: Executor | None = None
        self.alone: Executor | None = None  # one worker, for pages caught in a broken pool
        self.slots = asyncio.Semaphore(max(workers, 1) * 4)
        self.alone_lock = asyncio.Lock()
        self.waiting_alone = 0  # pages waiting for, or in, the pool of one

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        settings = crawler.settings
        pipeline = cls(
            extract_workers(settings),
            settings.getint("EXTRACT_PAGE_CPU_SECONDS", 60),
            crawler.stats,
        )
        if pipeline.workers:
            start_forkserver()  # loads the extractors while the crawl starts up
        return pipeline

    def open_spider(self) -> None:
        if self.workers:
            self.pool = create_pool(self.workers, self.page_cpu_seconds)
            # Start the workers now, on a thread: the forkserver's preload and warm-up
            # (seconds) then overlap the rest of start-up (the database migration, the
            # first reads) instead of stalling the reactor at the first page.
            threading.Thread(target=start_workers, args=(self.pool, self.workers),
                             name="extract-pool-start", daemon=True).start()

    def close_spider(self) -> None:
        for pool in (self.pool, self.alone):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self.alone = None

    async def process_item(self, page: Page) -> Page:
        if page.error is not None or page.outcome is not None:
            return page
        result = await self.extract(page)
        if "error" in result:
            page.fail(result["error"], result["detail"])
        else:
            page.article = result["article"]
        return page

    async def extract(self, page: Page) -> dict[str, Any]:
        if self.pool is None:
            return extract_to_dict(page.body, page.url, page.headers)
        async with self.slots:
            pool = self.pool
            try:
                return await self._run(pool, page)
            except BrokenProcessPool:
                if pool is self.pool:  # the first page to see the break replaces the pool
                    logger.error("an extraction worker died; restarting the pool")
                    self.stats.inc_value("extract/pool_restarts")
                    pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = create_pool(self.workers, self.page_cpu_seconds)
            return await self._extract_alone(page)

    async def _extract_alone(self, page: Page) -> dict[str, Any]:
        """Extract a page that was in the pool when a worker died, with no other page.

        The pool of one lives only while such pages wait: kept, it would hold a third
        worker's memory (~100 MB) for the rest of the crawl.
        """
        self.waiting_alone += 1
        try:
            async with self.alone_lock:
                return await self._run_alone(page)
        finally:
            self.waiting_alone -= 1
            if not self.waiting_alone and self.alone is not None:
                self.alone.shutdown(wait=False)
                self.alone = None

    async def _run_alone(self, page: Page) -> dict[str, Any]:
        if self.alone is None:
            self.alone = create_pool(1, self.page_cpu_seconds)
        try:
            return await self._run(self.alone, page)
        except BrokenProcessPool:
            self.alone.shutdown(wait=False, cancel_futures=True)
            self.alone = None
        logger.error("the extraction worker died on %s", page.url)
        limit = self.page_cpu_seconds
        return {
            "error": "extractor-died",
            "detail": "the extraction worker died on this page (killed, out of memory"
            + (f", or over EXTRACT_PAGE_CPU_SECONDS={limit}" if limit else "")
            + "); retry it alone, or raise the limit if the page is just large",
        }

    @staticmethod
    async def _run(pool: Executor, page: Page) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            pool, extract_in_worker, page.body, page.url, page.headers
        )
