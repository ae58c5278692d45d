"""``scrapy reextract``: extraction run again over archived captures, after an upgrade.

Each article's latest capture kept in a WARC file (all, or those of ``--source NAME``
fetched between ``--since`` and ``--until``) is read back from its WARC record and goes
through the same pipelines as a crawl, with the extractor installed now. A text that
changed becomes the article's new version; the earlier one stays in
``article_versions`` with the extractor that produced it. A page whose WARC file moved
is looked for by name in ``WARC_DIR``. The exit status is the crawl command's.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy.commands import ScrapyCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from crawler.commands.crawl import Command as CrawlCommand
from crawler.items import Page
from crawler.spiders.replay import ReplaySpider, parse_timestamp
from crawler.warc import warc_dir
from crawler.warc_reader import WarcReader
from pipelines.archive import CAPTURE_BATCH_ROWS, Archive
from pipelines.database import database_url, open_database, open_read_only


class ReextractSpider(ReplaySpider):
    """Replays archived captures from their WARC records (ReplaySpider's backpressure)."""

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

    async def start(self) -> AsyncIterator[Page]:
        """The captures, read from the database a batch at a time as the in-flight bound
        lets pages through: memory stays flat whatever the archive's size."""
        url = database_url(self.settings.get("DATABASE_URL"))
        await asyncio.to_thread(lambda: open_database(url).dispose())  # schema up to date
        # A read-only engine: its snapshot never takes SQLite's write lock, which the
        # store pipeline needs while the captures are read.
        engine = await asyncio.to_thread(open_read_only, url)
        batch_rows = self.settings.getint("REEXTRACT_BATCH_ROWS", CAPTURE_BATCH_ROWS)
        captures = Archive(engine).article_captures(*self.filters, batch_rows=batch_rows)
        reader = WarcReader(self.crawler)
        self.logger.info("re-extracting the archived captures")
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
            engine.dispose()

    def read_capture(self, reader: WarcReader, page: Page) -> Page:
        assert page.warc is not None
        stored = Path(page.warc["file"])
        moved = warc_dir(self.settings) / stored.name
        if not stored.exists() and moved.exists():
            page.warc["file"] = str(moved)
        return reader.fill(page)


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
    crawler: Crawler | None = None

    def syntax(self) -> str:
        return "[--source NAME] [--since TIME] [--until TIME]"

    def short_desc(self) -> str:
        return "Run article extraction again over archived captures (after an extractor upgrade)"

    def long_desc(self) -> str:
        return (
            "Run article extraction again over the latest archived capture of each article, "
            "read back from its WARC record (after an extractor upgrade): a changed text "
            "becomes the article's new version, the earlier one stays in article_versions. "
            "Exit status as scrapy crawl's."
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
        if self.crawler is not None and self.crawler.stats is not None:
            print(summary(self.crawler.stats.get_stats()))

    def _create_crawler(self, spidercls: type[scrapy.Spider] | str) -> Crawler:
        self.crawler = super()._create_crawler(spidercls)  # kept for its stats
        return self.crawler


def summary(stats: dict[str, Any]) -> str:
    def count(outcome: str) -> int:
        return stats.get(f"archive/outcome/{outcome}", 0)

    return (
        f"reextract: {stats.get('archive/pages', 0)} archived captures extracted again: "
        f"{count('updated')} changed (the earlier text is kept in article_versions), "
        f"{count('unchanged')} unchanged, {count('new') + count('duplicate')} new articles, "
        f"{count('not-article')} no longer articles, {stats.get('archive/failed', 0)} failed"
    )
