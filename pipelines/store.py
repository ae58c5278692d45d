"""Pipeline step 3: store pages in the archive, in batches, off the reactor thread.

Pages are buffered and written ``STORE_BATCH_SIZE`` at a time (or every
``STORE_FLUSH_SECONDS``, and at close) in one transaction on a worker thread. Only one
batch is written at a time; pages arriving meanwhile wait, which bounds memory.
The pipeline also records the run in ``crawl_runs`` with Scrapy's final stats, says
every ``RUN_HEARTBEAT_SECONDS`` that the run is alive, and first stores what earlier
runs left in the spool and marks the dead ones ``interrupted``.

When the database stops answering (:mod:`archive.outage`) nothing fetched is lost:
the unstored pages form one queue, oldest first, of three parts: ``held`` (the pages
being written, in memory), the run's spool file (:mod:`archive.spool`), and
``buffer`` (the newest, in memory). During an outage the held batch is spooled, the
buffer moves to the spool whenever it reaches a batch, fetching pauses while the spool
holds more than ``SPOOL_MAX_PAGES``, and writes are retried with backoff; once the
database answers the queue is stored in order. Past ``DATABASE_OUTAGE_MAX`` the crawl
stops, and the spool waits for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from archive.database import DatabaseError, database_url, mask_url, open_database
from archive.outage import (
    OutageDuringWrite,
    OutageTooLong,
    first_line,
    is_outage,
    outage_clock,
    wait_out,
    write_pages,
)
from archive.outlet_boilerplate import OutletBoilerplate
from archive.spool import Spool, new_spool, page_counts, recover, spool_dir
from archive.stories import STORY_WINDOW_DAYS, story_window
from archive.writer import Archive
from crawler.items import Page
from crawler.run_status import run_status
from pipelines.workers.heap import release_freed_memory

logger = logging.getLogger(__name__)

# Sent with ``pages=[...]`` once pages are committed to the archive: a fleet worker
# (crawler/fleet) releases its claims on their requests then, not before.
pages_stored = object()


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.url = database_url(settings.get("DATABASE_URL"))
        self.batch_size = settings.getint("STORE_BATCH_SIZE", 200)
        self.flush_seconds = settings.getfloat("STORE_FLUSH_SECONDS", 2.0)
        self.heartbeat_seconds = settings.getfloat("RUN_HEARTBEAT_SECONDS", 60.0)
        self.stale_seconds = settings.getfloat("RUN_STALE_SECONDS", 600.0)
        self.story_window_days = settings.getfloat("STORY_WINDOW_DAYS", STORY_WINDOW_DAYS)
        self.spool_folder = spool_dir(settings)
        self.spool_max = settings.getint("SPOOL_MAX_PAGES", 5000)
        self.clock = outage_clock(crawler)
        self.buffer: list[Page] = []  # the newest pages, in memory
        self.held: list[Page] = []  # the oldest unstored pages, being written
        self.held_spooled = False  # held is a copy of the spool's first unstored pages
        self.spool: Spool | None = None
        self.room = asyncio.Event()  # cleared while the spool is over SPOOL_MAX_PAGES
        self.room.set()
        self.gave_up = False  # the outage passed DATABASE_OUTAGE_MAX: everything spools
        self.closing = False
        self.stopping: asyncio.Future[None] | None = None  # the close it started
        self.lock = asyncio.Lock()
        self.archive: Archive | None = None
        self.run_id: int | None = None
        self.tasks: list[asyncio.Task[None]] = []
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        spider = self.crawler.spider
        try:
            engine = await asyncio.to_thread(open_database, self.url)
            self.archive = Archive(engine)
            self.archive.story_window = story_window(self.story_window_days)
            self.archive.boilerplate = OutletBoilerplate.from_crawler(self.crawler)
            await asyncio.to_thread(self.archive.load_boilerplate)
            found = await asyncio.to_thread(
                recover, self.archive, self.spool_folder, self.url, self.stale_seconds,
                self.batch_size,
            )
        except DatabaseError as exc:
            if self.archive is not None:
                self.archive.engine.dispose()
            logger.error("%s", exc)
            self.stats.set_value("archive/run_error", str(exc))
            # Closing, not raising: the log then ends with this one line and no
            # traceback, and the crawl command still exits 2 (nothing stored).
            raise CloseSpider("database-unusable") from None
        for note in found.notes:
            logger.warning("%s", note)
        if found.runs:
            self.stats.set_value("archive/spool/recovered_runs", len(found.runs))
            self.stats.set_value("archive/spool/recovered_pages", found.pages)
        if found.interrupted:
            self.stats.set_value("archive/interrupted_runs", len(found.interrupted))
        arguments = dict(getattr(spider, "run_arguments", {}))
        self.run_id = await asyncio.to_thread(self.archive.start_run, spider.name, arguments)
        self.spool = new_spool(self.spool_folder, spider.name, self.run_id, self.url)
        self.stats.set_value("archive/database", mask_url(self.url))
        self.stats.set_value("archive/crawl_run_id", self.run_id)
        self.tasks = [
            asyncio.create_task(self._every(self.flush_seconds, self.flush)),
            asyncio.create_task(self._every(self.heartbeat_seconds, self.heartbeat)),
        ]

    async def process_item(self, page: Page) -> Page:
        page.drop_body()
        if self.spool is None:  # the database was unusable from the start: reported
            return page
        if self.gave_up:
            self.spool.append([page])
            return page
        self.buffer.append(page)
        if len(self.buffer) < self.batch_size:
            return page
        if self.clock.since is None:
            await self.flush()
            return page
        self.spool_buffer()  # an outage: the spool takes what memory should not hold
        if self.spool.pending > self.spool_max and self.room.is_set():
            logger.warning("%d pages wait in %s (over SPOOL_MAX_PAGES): fetching paused until "
                           "the database answers", self.spool.pending, self.spool.path)
            self.stats.inc_value("archive/outage/paused")
            self.room.clear()
            self.crawler.engine.pause()
        await self.room.wait()  # replay reads ahead only as far as items finish
        return page

    def spool_buffer(self) -> None:
        assert self.spool is not None
        if self.buffer:
            self.spool.append(self.buffer)
            self.stats.inc_value("archive/outage/spooled", len(self.buffer))
            self.buffer = []

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            await work()

    async def flush(self) -> None:
        """Store the queue (held, spool, buffer) in order, riding out an outage."""
        async with self.lock:
            if self.archive is None or self.gave_up:
                return
            next_delay = None
            while chunk := await self.next_chunk():
                try:
                    await asyncio.to_thread(write_pages, self.archive, chunk, self.run_id)
                except OutageDuringWrite as exc:
                    self.stored(chunk[:len(chunk) - len(exc.remaining)])
                    self.clock.begin(exc.cause, "storing pages")
                    if not self.held_spooled:  # from now on the spool keeps them
                        self.spool_held()
                    next_delay = next_delay or self.clock.delays()
                    delay = next_delay()
                    if delay is None:
                        self.give_up(exc.cause)
                        return
                    self.stats.inc_value("archive/outage/retries")
                    await asyncio.sleep(delay)
                else:
                    self.stored(chunk)
                    self.clock.end()
                    next_delay = None
            release_freed_memory()

    async def next_chunk(self) -> list[Page]:
        """The oldest unstored pages, at most a batch: held, else from the spool, else
        the buffer."""
        assert self.spool is not None
        if not self.held and self.spool.pending:
            self.held = await asyncio.to_thread(self.spool.take, self.batch_size)
            self.held_spooled = True
        elif not self.held:
            self.held, self.buffer = self.buffer, []
            self.held_spooled = False
        return self.held[:self.batch_size]

    def spool_held(self) -> None:
        assert self.spool is not None
        self.spool.append(self.held, taken=True)
        self.stats.inc_value("archive/outage/spooled", len(self.held))
        self.held_spooled = True

    def stored(self, pages: list[Page]) -> None:
        assert self.spool is not None
        if not pages:
            return
        del self.held[:len(pages)]
        if self.held_spooled:
            self.spool.mark_stored(len(pages))
            if self.spool.pending <= self.spool_max and not self.room.is_set():
                self.resume()
        for page in pages:
            self.count(page)
        self.crawler.signals.send_catch_log(pages_stored, pages=pages)

    def resume(self) -> None:
        self.room.set()
        self.crawler.engine.unpause()

    def give_up(self, cause: BaseException) -> None:
        """Past DATABASE_OUTAGE_MAX: keep everything in the spool and stop the crawl."""
        assert self.spool is not None
        self.gave_up = True
        self.spool_buffer()
        self.report(cause)
        self.resume()
        if not self.closing:
            self.closing = True
            self.stopping = asyncio.ensure_future(  # a reference: the loop holds it weakly
                self.crawler.engine.close_spider_async(reason="database-outage")
            )

    def report(self, cause: BaseException) -> None:
        """The one message of a run the outage stopped."""
        if self.clock.reported:
            return
        self.clock.reported = True
        assert self.spool is not None
        message = (
            f"the archive database {mask_url(self.url)} has not answered for "
            f"{self.clock.elapsed:.0f} s (DATABASE_OUTAGE_MAX {self.clock.max_seconds:g} s; "
            f"last error: {first_line(cause)}). The crawl stops. The {self.spool.pending} "
            f"fetched pages not stored are kept in {self.spool.path}; the next run of any "
            "spider or command (scrapy crawl, search, export, reextract) stores them first. "
            "Get the database running again, or raise DATABASE_OUTAGE_MAX."
        )
        logger.error("%s", message)
        self.stats.set_value("archive/run_error", message)

    def count(self, page: Page) -> None:
        for key in page_counts(page):
            self.stats.inc_value(key)
        if page.error:
            logger.warning("page failed (%s): %s: %s", page.error, page.url, page.error_detail)

    async def heartbeat(self) -> None:
        if self.archive is None or self.run_id is None:
            return
        try:
            revived = await asyncio.to_thread(self.archive.heartbeat, self.run_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            return  # the store step rides the outage out; a beat missed is harmless
        if revived:
            logger.warning("run %d had been marked interrupted by another run while this one "
                           "could not reach the database; marked running again", self.run_id)

    async def close_spider(self) -> None:
        self.closing = True
        # Cancel only between flushes: a batch being written must be counted too.
        async with self.lock:
            for task in self.tasks:
                task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        if self.gave_up:
            self.spool_buffer()

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.archive is None or self.run_id is None or self.spool is None:
            return
        if self.gave_up:
            reason = "database-outage"
        status = run_status(spider.name, reason, self.stats.get_stats()).status
        self.stats.set_value("archive/status", status)
        stats = jsonable(self.stats.get_stats())
        if not self.gave_up:
            try:
                await wait_out(self.clock, "recording the run's end", self.archive.finish_run,
                               self.run_id, status, reason, stats)
            except OutageTooLong as exc:
                self.gave_up = True
                self.report(exc.cause)
        if self.gave_up:  # the next run closes this run's row from the spool
            self.spool.finish({"status": status, "reason": reason, "stats": stats})
        elif self.spool.written:
            self.spool.remove()  # every page it held is stored
        self.archive.engine.dispose()


def jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    """Scrapy stats hold datetimes; JSON columns want plain values."""
    plain = int | float | str | bool | None
    return {k: v if isinstance(v, plain) else str(v) for k, v in stats.items()}
