"""``scrapy reextract``: extraction run again over archived captures, after an upgrade.

Each article's latest capture that can be read again (all, or those of ``--source NAME``
fetched between ``--since`` and ``--until``) is read back from its WARC record, or from
the file it was replayed from, and goes through the same pipelines as a crawl, with the
extractor installed now. A text that changed becomes the article's new version; the
earlier one stays in ``article_versions`` with the extractor that produced it. A page
whose WARC file moved is looked for by name in ``WARC_DIR``.

A replayed file is read as the replay read it (:func:`crawler.local_files.read_body`)
and must still hold the bytes archived (their sha256): one changed since is another
page now, ``file-changed``, not extracted. Each capture that cannot be read again is a
failed capture with its reason, counted in ``archive/failed/<reason>`` and in
``reextract/unread/<reason>``, which the run's summary reports
(:func:`crawler.extensions.format_summary`). The exit status is the crawl command's.

With ``REDIS_URL``, ``scrapy reextract`` started on N machines (same database, same
options) splits the archive (:mod:`crawler.fleet.units`): the units are ranges of
``REEXTRACT_UNIT_ARTICLES`` (1000) article ids, each read by one worker; ranges of
article ids, not capture ids, because an article's latest capture is then ranked within
one range's captures only, and each article is re-extracted by one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy import Engine, func, select

from archive.database import database_url, mask_url, open_database, open_read_only
from archive.models import Article
from archive.writer import CAPTURE_BATCH_ROWS, Archive
from crawler.commands.crawl import Command as CrawlCommand
from crawler.items import Page
from crawler.local_files import ReadFailure, check_file, open_regular, read_body, shown
from crawler.spiders.replay import ReplaySpider, parse_timestamp
from crawler.warc import warc_dir
from crawler.warc_reader import WarcReader


class ReextractSpider(ReplaySpider):
    """Replays archived captures from their WARC records or replayed files (ReplaySpider's
    backpressure, size limit and file reading)."""

    name = "reextract"
    # Given by the command's options, not -a (checked by crawl's check_arguments).
    arguments: ClassVar[dict[str, str]] = {
        "source": "--source", "since": "--since", "until": "--until",
    }

    def __init__(
        self,
        source: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        scrapy.Spider.__init__(self, **kwargs)  # not ReplaySpider's: no path to read
        self.filters = (source, since, until)
        self.run_arguments = {
            "source": source,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        }

    def identity(self) -> str:
        """What makes two workers' re-extractions one: the database and the options."""
        url = mask_url(database_url(self.settings.get("DATABASE_URL")))
        return json.dumps({"database": url, **self.run_arguments}, sort_keys=True)

    async def start(self) -> AsyncIterator[Page]:
        """The captures, read from the database a batch at a time as the in-flight bound
        lets pages through: memory stays flat whatever the archive's size."""
        url = database_url(self.settings.get("DATABASE_URL"))
        await asyncio.to_thread(lambda: open_database(url).dispose())  # schema up to date
        if not await self.join_fleet():
            return
        # A read-only engine: its snapshot never takes SQLite's write lock, which the
        # store pipeline needs while the captures are read.
        engine = await asyncio.to_thread(open_read_only, url)
        reader = self.warc_reader
        self.logger.info("re-extracting the archived captures")
        try:
            if self.units is None:
                pages = self.captures(engine, reader)
            else:
                pages = self.units.share(lambda: self.article_ranges(engine),
                                         lambda unit: self.captures(engine, reader, unit))
            async for page in pages:
                yield page
        finally:
            engine.dispose()

    def article_ranges(self, engine: Engine) -> list[str]:
        """The units of a fleet: ``first:end`` ranges of article ids (end excluded)."""
        size = max(1, self.settings.getint("REEXTRACT_UNIT_ARTICLES", 1000))
        with engine.connect() as connection:
            low, high = connection.execute(select(func.min(Article.id),
                                                  func.max(Article.id))).one()
        if low is None:
            return []
        return [f"{first}:{first + size}" for first in range(low, high + 1, size)]

    async def captures(self, engine: Engine, reader: WarcReader,
                       unit: str | None = None) -> AsyncIterator[Page]:
        """The captures of all articles, or of a unit's range of article ids, read again."""
        batch_rows = self.settings.getint("REEXTRACT_BATCH_ROWS", CAPTURE_BATCH_ROWS)
        first, end = map(int, unit.split(":")) if unit else (0, 0)
        captures = Archive(engine).article_captures(
            *self.filters, batch_rows=batch_rows, article_ids=(first, end) if unit else None)
        try:
            while True:
                await self.in_flight.acquire()
                page = await asyncio.to_thread(next, captures, None)  # database I/O
                if page is None:
                    self.in_flight.release()
                    return
                yield await asyncio.to_thread(self.read_capture, reader, page)
        finally:
            await asyncio.to_thread(captures.close)  # ends its transaction

    def read_capture(self, reader: WarcReader, page: Page) -> Page:
        """The capture's page with its body read again, or failed with why it cannot be
        (counted in ``reextract/unread/<reason>``, apart from extraction's failures)."""
        page = self.read_warc(reader, page) if page.warc else self.read_file(page)
        if page.error is not None:
            self.crawler.stats.inc_value("reextract/unread")
            self.crawler.stats.inc_value(f"reextract/unread/{page.error}")
        return page

    def read_warc(self, reader: WarcReader, page: Page) -> Page:
        """The body of the capture's WARC record, its file looked for in ``WARC_DIR`` if
        it moved. The file is checked first: a missing one is ``missing-file`` (not the
        reader's ``unreadable-warc``, which says the file is damaged), a FIFO or device
        in its place ``not-a-file``, never opened."""
        assert page.warc is not None
        stored = Path(page.warc["file"])
        moved = warc_dir(self.settings) / stored.name
        failure = check_file(stored)
        if failure is not None and failure.reason == "missing-file" and moved.exists():
            page.warc["file"] = str(moved)
            failure = check_file(moved)
        if failure is None:
            return reader.fill(page)
        if failure.reason == "missing-file":
            failure.detail = (
                f"the WARC file {shown(stored)} of this capture is not there, nor in "
                f"WARC_DIR {shown(moved.parent)}: the article was not extracted again. Put "
                "the file back, or give the folder it is in now: -s WARC_DIR=FOLDER"
            )
        return page.fail(failure.reason, failure.detail)

    def read_file(self, page: Page) -> Page:
        """The body of the file the capture was replayed from, read as the replay read
        it; ``file-changed`` if it no longer holds the bytes archived (another page now:
        re-extracting it would give the article a text it never had)."""
        assert page.local_path is not None
        archived, page.body_length, page.body_sha256 = page.body_sha256, None, None
        path = Path(page.local_path)
        try:
            stream, status = open_regular(path)
            with stream:
                body = read_body(stream, status, path, self.max_size)
        except ReadFailure as failure:
            if failure.reason == "missing-file":
                failure.detail = (
                    f"{shown(path)}, the file this article was replayed from, is not there "
                    "any more: the article was not extracted again. Put the file back to "
                    "re-extract it"
                )
            return page.fail(failure.reason, failure.detail)
        digest = hashlib.sha256(body).hexdigest()
        if digest != archived:
            return page.fail(
                "file-changed",
                f"{shown(path)} changed since it was replayed (sha256 {digest}, archived "
                f"{archived}): it is another page now, and was not extracted again. Replay "
                "it to archive it as the page it is now",
            )
        page.body = body
        return page


def time_bound(option: str, value: str | None, day_end: bool = False) -> datetime | None:
    """An ISO 8601 time (UTC without an offset); a date alone as ``--until`` ends that day."""
    if value is None:
        return None
    try:
        moment = parse_timestamp(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not an ISO 8601 date or time "
            "(e.g. 2025-06-01 or 2025-06-01T12:00:00+05:30)", print_help=False
        ) from None
    date_only = len(value.strip()) == len("2025-06-01")
    return moment + timedelta(days=1) if day_end and date_only else moment


class Command(CrawlCommand):
    def syntax(self) -> str:
        return "[--source NAME] [--since TIME] [--until TIME]"

    def short_desc(self) -> str:
        return "Run article extraction again over archived captures (after an extractor upgrade)"

    def long_desc(self) -> str:
        return (
            "Run article extraction again over the latest archived capture of each article, "
            "read back from its WARC record or the file it was replayed from (after an "
            "extractor upgrade): a changed text becomes the article's new version, the "
            "earlier one stays in article_versions. A capture that cannot be read again "
            "(file gone or changed) is a failed capture with its reason. Exit status as "
            "scrapy crawl's."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        # Scrapy's global options only: the crawl command's -a, -o and -O (spider
        # arguments, feeds) do not apply, and its spider arguments' table neither.
        ScrapyCommand.add_options(self, parser)
        parser.add_argument("--source", metavar="NAME", help="only this source's articles")
        parser.add_argument(
            "--since", metavar="TIME", help="only captures fetched at or after TIME (ISO 8601)"
        )
        parser.add_argument(
            "--until", metavar="TIME",
            help="only captures fetched before TIME (ISO 8601; a date alone includes that day)",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        ScrapyCommand.process_options(self, args, opts)
        opts.spargs = {}

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("reextract takes options only: scrapy reextract [--source NAME] "
                             "[--since TIME] [--until TIME]", print_help=False)
        opts.spargs.update(
            source=opts.source,
            since=time_bound("--since", opts.since),
            until=time_bound("--until", opts.until, day_end=True),
        )
        super().run([ReextractSpider], opts)  # type: ignore[list-item]  # a class works too

