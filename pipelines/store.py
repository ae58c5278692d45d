"""Pipeline step 3: store pages in the archive, in batches, off the reactor thread.

Pages are buffered and written ``STORE_BATCH_SIZE`` at a time (or every
``STORE_FLUSH_SECONDS``, and at close) in one transaction on a worker thread. Only one
batch is written at a time; pages arriving meanwhile wait, which bounds memory.
The pipeline also records the run in ``crawl_runs`` with Scrapy's final stats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from crawler.items import Page
from pipelines.archive import Archive
from pipelines.database import DatabaseError, database_url, mask_url, open_database
from pipelines.heap import release_freed_memory

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.url = database_url(settings.get("DATABASE_URL"))
        self.batch_size = settings.getint("STORE_BATCH_SIZE", 200)
        self.flush_seconds = settings.getfloat("STORE_FLUSH_SECONDS", 2.0)
        self.buffer: list[Page] = []
        self.lock = asyncio.Lock()
        self.archive: Archive | None = None
        self.run_id: int | None = None
        self.ticker: asyncio.Task[None] | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        spider = self.crawler.spider
        try:
            engine = await asyncio.to_thread(open_database, self.url)
        except DatabaseError as exc:
            logger.error("%s", exc)
            self.stats.set_value("archive/run_error", str(exc))
            # Closing, not raising: the log then ends with this one line and no
            # traceback, and the crawl command still exits 2 (nothing stored).
            raise CloseSpider("database-unusable") from None
        self.archive = Archive(engine)
        arguments = dict(getattr(spider, "run_arguments", {}))
        self.run_id = await asyncio.to_thread(self.archive.start_run, spider.name, arguments)
        self.stats.set_value("archive/database", mask_url(self.url))
        self.stats.set_value("archive/crawl_run_id", self.run_id)
        self.ticker = asyncio.create_task(self._flush_periodically())

    async def process_item(self, page: Page) -> Page:
        page.drop_body()
        self.buffer.append(page)
        if len(self.buffer) >= self.batch_size:
            await self.flush()
        return page

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            batch, self.buffer = self.buffer, []
            if not batch or self.archive is None:
                return
            try:
                await asyncio.to_thread(self.archive.write, batch, self.run_id)
            except Exception:
                # The batch rolled back, nothing half-written: store page by page so
                # one bad page costs only itself.
                await asyncio.to_thread(self.write_one_by_one, batch)
            for page in batch:
                self.count(page)
            release_freed_memory()

    def write_one_by_one(self, batch: list[Page]) -> None:
        assert self.archive is not None
        for page in batch:
            try:
                self.archive.write([page], self.run_id)
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0]
                logger.error("could not store %s in %s: %s", page.url, mask_url(self.url), reason)
                page.fail("store-failed", reason)
                page.outcome = "failed"

    def count(self, page: Page) -> None:
        self.stats.inc_value("archive/pages")
        self.stats.inc_value(f"archive/outcome/{page.outcome}")
        if page.error:
            self.stats.inc_value("archive/failed")
            self.stats.inc_value(f"archive/failed/{page.error}")
            logger.warning("page failed (%s): %s: %s", page.error, page.url, page.error_detail)

    async def close_spider(self) -> None:
        if self.ticker is not None:
            # Cancel only between flushes: a batch being written must be counted too.
            async with self.lock:
                self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker
        await self.flush()

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.archive is None or self.run_id is None:
            return
        stats: dict[str, Any] = self.stats.get_stats()
        status = "aborted" if reason != "finished" else (
            "failed" if stats.get("archive/failed") else "finished"
        )
        self.stats.set_value("archive/status", status)
        await asyncio.to_thread(
            self.archive.finish_run, self.run_id, status, reason, jsonable(stats)
        )
        self.archive.engine.dispose()


def jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    """Scrapy stats hold datetimes; JSON columns want plain values."""
    plain = int | float | str | bool | None
    return {k: v if isinstance(v, plain) else str(v) for k, v in stats.items()}
