"""Pipeline step 1: extract the article of each page, in worker processes.

Extraction is CPU-bound, and Scrapy runs pipelines on the reactor thread: done inline it
would stall fetching and use one core. Pages go to the worker processes
(``pipelines.workers.pool``) as bytes and come back as plain dicts, with the dedupe keys
(content hash, story signature) already computed there: ~9 ms a page, a seventh of the
extraction, that would otherwise run on the reactor. A semaphore bounds the pages in
flight so memory stays flat. ``EXTRACT_WORKERS = 0`` extracts in-process (simplest to
debug).

A worker that dies (killed, out of memory, over ``EXTRACT_PAGE_CPU_SECONDS`` on one
page) is replaced; the page it was on is tried once more, then fails
(``extractor-died``); no other page is lost.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from crawler.items import Page
from pipelines.workers.pool import WorkerPool

if TYPE_CHECKING:  # workers import this module: keep Scrapy and SQLAlchemy out of them
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from archive.outlet_boilerplate import OutletBoilerplate

# Started by the crawl command before Scrapy builds the crawler, so that the workers
# load the extractors (~3 s of CPU) on the other core meanwhile; the pipeline takes it.
_early_pool: WorkerPool | None = None


def extract_to_dict(body: bytes, url: str, headers: dict[str, str],
                    boilerplate: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The article with its dedupe keys, or the failure, as plain, picklable data.

    ``boilerplate`` holds the keys of the blocks the page's outlet is known to repeat
    (``archive.outlet_boilerplate``): they leave the text before its keys are made.
    The article keeps its candidate blocks, as found before that, for the learning."""
    # Imported here, not above: the crawl process imports this module for the pipeline
    # and, when workers extract, must not hold the extractors (~150 MB with numpy and
    # the language model). In a worker they are loaded before it forks: a dict lookup.
    from pipelines.extraction import ExtractionError, extract_page
    from pipelines.extraction.outlet_blocks import keyed_blocks, page_blocks, strip_blocks
    from pipelines.keys.copies import dedupe_keys

    try:
        article = extract_page(body, url, headers).as_dict()
    except ExtractionError as exc:
        return {"error": exc.reason, "detail": exc.detail}
    except Exception as exc:  # a bug in an extractor must fail one page, not the crawl
        return {"error": "extractor-crash", "detail": f"{type(exc).__name__}: {exc}"}
    blocks = keyed_blocks(article["text"])
    article["blocks"] = [[key, text] for key, text in page_blocks(blocks).items()]
    article["text"], article["boilerplate_removed"] = strip_blocks(blocks, boilerplate)
    if article["boilerplate_removed"]:
        article["provenance"]["text"] = "outlet-boilerplate-removed"
    article.update(dedupe_keys(article["text"]))
    return {"article": article}


def extract_workers(settings: BaseSettings) -> int:
    """EXTRACT_WORKERS, with -1 (the default) meaning one per core."""
    workers = settings.getint("EXTRACT_WORKERS", -1)
    return (os.cpu_count() or 1) if workers < 0 else workers


def page_cpu_seconds(settings: BaseSettings) -> int:
    return settings.getint("EXTRACT_PAGE_CPU_SECONDS", 60)


def start_workers_early(settings: BaseSettings) -> None:
    """Start the workers the crawl's ExtractPipeline will use (see ``_early_pool``)."""
    global _early_pool
    if workers := extract_workers(settings):
        _early_pool = WorkerPool(workers, page_cpu_seconds(settings))


def stop_early_workers() -> None:
    """Stop workers started early that no pipeline took (the crawl never opened)."""
    global _early_pool
    if _early_pool is not None:
        _early_pool.shutdown()
        _early_pool = None


def worker_pool(workers: int, cpu_seconds: int) -> WorkerPool:
    """The workers started early, if they are what is asked for, else new ones."""
    global _early_pool
    pool, _early_pool = _early_pool, None
    if pool is not None and (pool.size, pool.page_cpu_seconds) == (workers, cpu_seconds):
        return pool
    if pool is not None:
        pool.shutdown()
    return WorkerPool(workers, cpu_seconds)


class ExtractPipeline:
    def __init__(self, workers: int, page_cpu_seconds: int, stats: Any,
                 boilerplate: OutletBoilerplate) -> None:
        self.workers = workers
        self.page_cpu_seconds = page_cpu_seconds
        self.stats = stats
        self.boilerplate = boilerplate  # what the archive learned of each outlet
        self.pool: WorkerPool | None = None
        self.slots = asyncio.Semaphore(max(workers, 1) * 4)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        from archive.outlet_boilerplate import OutletBoilerplate  # SQLAlchemy: not at the top

        settings = crawler.settings
        return cls(extract_workers(settings), page_cpu_seconds(settings), crawler.stats,
                   OutletBoilerplate.from_crawler(crawler))

    def open_spider(self) -> None:
        if self.workers:
            self.pool = worker_pool(self.workers, self.page_cpu_seconds)
            self.pool.on_restart = lambda: self.stats.inc_value("extract/worker_restarts")

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    async def process_item(self, page: Page) -> Page:
        if page.error is not None or page.outcome is not None:
            return page
        result = await self.extract(page)
        if "error" in result:
            page.fail(result["error"], result["detail"])
        else:
            page.article = result["article"]
            if removed := page.article["boilerplate_removed"]:
                self.stats.inc_value("extract/outlet_boilerplate/pages")
                self.stats.inc_value("extract/outlet_boilerplate/blocks_removed", removed)
        return page

    async def extract(self, page: Page) -> dict[str, Any]:
        known = self.boilerplate.known(page.source)
        if self.pool is None:
            return extract_to_dict(page.body, page.url, page.headers, known)
        async with self.slots:
            return await asyncio.wrap_future(
                self.pool.submit(page.body, page.url, page.headers, known))
