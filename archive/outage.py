"""Riding out a database that stops answering: which errors mean that, and how long to wait.

A crawl must not lose what it fetched because PostgreSQL restarted or an SQLite file was
locked by a backup for a minute. An error about the *connection* (refused, reset, server
shutting down, SQLite locked past busy_timeout, disk full or failing) is an outage: the
call is retried with capped exponential backoff until ``DATABASE_OUTAGE_MAX`` seconds of
outage have passed. An error about the *data* (a constraint, a bad value, a cancelled
statement) is not: retrying would fail the same way, so it is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.settings import BaseSettings
from sqlalchemy.exc import DBAPIError

from crawler.items import Page

if TYPE_CHECKING:
    from archive.writer import Archive

logger = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs of a server that cannot be talked to: class 08 (connection exception),
# class 53 (insufficient resources: disk full, out of memory, too many connections) and
# 57P01-57P03 (admin or crash shutdown, cannot connect now). 57014 (query canceled) is
# not among them: a statement_timeout would fail again the same way.
OUTAGE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")
SQLITE_OUTAGES = ("database is locked", "disk i/o error", "database or disk is full",
                  "unable to open database file")


def is_outage(exc: BaseException) -> bool:
    """Whether exc says the database does not answer (retry later), not that the data is bad."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return str(orig).lower().startswith(SQLITE_OUTAGES)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(OUTAGE_SQLSTATES)
    # psycopg raises OperationalError/InterfaceError without a SQLSTATE when the
    # client itself failed: connection refused, reset, closed, or timed out.
    return type(orig).__name__ in ("OperationalError", "InterfaceError")


def first_line(exc: BaseException) -> str:
    """The driver's own message, first line only (psycopg adds SQL and hints below)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class OutageClock:
    """One crawl's view of an outage, shared by the store pipeline and the spider's reads,
    so that both give up at the same moment and the outage's seconds are counted once."""

    def __init__(self, settings: BaseSettings, stats: Any) -> None:
        self.max_seconds = settings.getfloat("DATABASE_OUTAGE_MAX", 300)
        self.first_delay = settings.getfloat("DATABASE_RETRY_DELAY", 1.0)
        self.max_delay = settings.getfloat("DATABASE_RETRY_MAX_DELAY", 30.0)
        self.stats = stats
        self.since: float | None = None  # time.monotonic() when the outage began
        self.reported = False  # the one give-up message is logged

    def begin(self, exc: BaseException, where: str) -> None:
        if self.since is not None:
            return
        self.since = time.monotonic()
        self.stats.inc_value("archive/outage/count")
        logger.warning(
            "the archive database does not answer (%s) while %s; fetched pages are held and "
            "the database is tried again for up to DATABASE_OUTAGE_MAX %g s",
            first_line(exc), where, self.max_seconds,
        )

    def end(self) -> None:
        if self.since is None:
            return
        seconds = time.monotonic() - self.since
        self.stats.inc_value("archive/outage/seconds", round(seconds, 1))
        logger.warning("the archive database answers again after %.0f s", seconds)
        self.since = None

    @property
    def elapsed(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since

    def delays(self) -> Callable[[], float | None]:
        """The next wait before a retry (capped exponential), or None once waiting it
        would take the outage past DATABASE_OUTAGE_MAX."""
        delay = self.first_delay / 2

        def next_delay() -> float | None:
            nonlocal delay
            delay = min(delay * 2, self.max_delay)
            remaining = self.max_seconds - self.elapsed
            return None if remaining <= 0 else min(delay, remaining)

        return next_delay


_clocks: WeakKeyDictionary[Crawler, OutageClock] = WeakKeyDictionary()


def outage_clock(crawler: Crawler) -> OutageClock:
    """The crawl's one :class:`OutageClock`."""
    if crawler not in _clocks:
        assert crawler.settings is not None
        _clocks[crawler] = OutageClock(crawler.settings, crawler.stats)
    return _clocks[crawler]


class OutageTooLong(Exception):
    """The database has not answered for DATABASE_OUTAGE_MAX seconds."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(first_line(cause))
        self.cause = cause


async def wait_out(clock: OutageClock, where: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in a thread, retried with backoff while the database does not
    answer; :class:`OutageTooLong` once the outage passes DATABASE_OUTAGE_MAX."""
    next_delay = clock.delays()
    while True:
        try:
            result = await asyncio.to_thread(call, *args)
        except Exception as exc:
            if not is_outage(exc):
                raise
            clock.begin(exc, where)
            delay = next_delay()
            if delay is None:
                raise OutageTooLong(exc) from None
            clock.stats.inc_value("archive/outage/retries")
            await asyncio.sleep(delay)
        else:
            clock.end()
            return result


async def archive_call(crawler: Crawler, call: Callable[..., T], *args: Any) -> T:
    """For the spiders' reads of the archive: :func:`wait_out`, and past
    DATABASE_OUTAGE_MAX the crawl closes (``database-outage``; the store pipeline keeps
    what was fetched and says so) instead of failing the listing with a traceback."""
    try:
        return await wait_out(outage_clock(crawler), "reading the archive", call, *args)
    except OutageTooLong:
        raise CloseSpider("database-outage") from None


class OutageDuringWrite(Exception):
    """The database stopped answering while pages were stored; ``remaining`` are not."""

    def __init__(self, cause: BaseException, remaining: list[Page]) -> None:
        super().__init__(first_line(cause))
        self.cause = cause
        self.remaining = remaining


def write_pages(archive: Archive, pages: Sequence[Page], run_id: int | None) -> None:
    """Store pages in one transaction; when the data of one breaks it, page by page, and a
    page that still fails becomes a failed capture (``store-failed``), costing only itself.
    An outage raises :class:`OutageDuringWrite` with the pages not stored yet."""
    try:
        archive.write(pages, run_id)
        return
    except Exception as exc:
        if is_outage(exc):
            raise OutageDuringWrite(exc, list(pages)) from exc
    # The batch rolled back, nothing half-written: page by page, one bad page costs itself.
    where = archive.engine.url.render_as_string(hide_password=True)
    for number, page in enumerate(pages):
        for attempt in ("page", "failed capture"):
            try:
                archive.write([page], run_id)
                break
            except Exception as exc:
                if is_outage(exc):
                    raise OutageDuringWrite(exc, list(pages[number:])) from exc
                reason = first_line(exc)
                logger.error("could not store the %s of %s in %s: %s", attempt, page.url,
                             where, reason)
                page.fail("store-failed", f"the archive {where} refused this page ({reason}); "
                          "it is fetched again next run")
                page.outcome = "failed"
