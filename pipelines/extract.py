"""Pipeline step 1: extract the article of each page, in worker processes.

Extraction is CPU-bound, and Scrapy runs pipelines on the reactor thread: done inline it
would stall fetching and use one core. Pages go to a process pool as bytes and come
back as plain dicts; a semaphore bounds the pages in flight so memory stays flat.
``EXTRACT_WORKERS = 0`` extracts in-process (simplest to debug).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from scrapy.crawler import Crawler

from crawler.items import Page
from pipelines.extraction import ExtractionError, extract_page

logger = logging.getLogger(__name__)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the crawl process, which shuts the pool down cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def extract_to_dict(body: bytes, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Worker entry point: the result or the failure as plain, picklable data."""
    try:
        return {"article": extract_page(body, url, headers).as_dict()}
    except ExtractionError as exc:
        return {"error": exc.reason, "detail": exc.detail}
    except Exception as exc:  # a bug in an extractor must fail one page, not the crawl
        return {"error": "extractor-crash", "detail": f"{type(exc).__name__}: {exc}"}


def create_pool(workers: int) -> Executor:
    # forkserver: workers never inherit the reactor's threads and sockets.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["pipelines.extraction.html_page", "pipelines.extraction.text_page"]
    )
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_sigint)


class ExtractPipeline:
    def __init__(self, workers: int, stats: Any) -> None:
        self.workers = workers
        self.stats = stats
        self.pool: Executor | None = None
        self.slots: asyncio.Semaphore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        workers = crawler.settings.getint("EXTRACT_WORKERS", -1)
        return cls((os.cpu_count() or 1) if workers < 0 else workers, crawler.stats)

    def open_spider(self) -> None:
        if self.workers:
            self.pool = create_pool(self.workers)
            self.slots = asyncio.Semaphore(self.workers * 4)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

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
        if self.pool is None or self.slots is None:
            return extract_to_dict(page.body, page.url, page.headers)
        async with self.slots:
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(
                    self.pool, extract_to_dict, page.body, page.url, page.headers
                )
            except BrokenProcessPool:
                # A worker died (out of memory, killed): this page fails, the pool restarts.
                logger.error("extraction worker died on %s; restarting the pool", page.url)
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = create_pool(self.workers)
                detail = "the extraction worker died on this page"
                return {"error": "extractor-died", "detail": detail}
