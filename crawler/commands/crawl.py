"""``scrapy crawl`` with an exit status that says whether a person must act.

0: finished; 1: failed (for ``news``: an outlet is broken; for ``replay``: some pages
failed); 2: the run itself failed (database unusable, bad arguments, crawl aborted).
The meaning is :func:`crawler.run_status.run_status`'s.

A person's mistake (a spider or argument misspelt, a path that does not exist, a broken
sources file, a run already going) is one ``error:`` line on stderr and exit status 2,
never a traceback. A spider lists the arguments it takes, with one line of help each, in
its ``arguments`` class attribute: they are checked before the crawl starts and shown
by ``scrapy crawl -h``.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import sys
import traceback
from typing import Any

import scrapy
from scrapy.commands import ScrapyHelpFormatter
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from crawler.fleet.connection import FleetError
from crawler.lock import LockHeld
from crawler.run_status import run_status
from pipelines.extract import start_workers_early, stop_early_workers
from pipelines.workers.heap import keep_heap_small

logger = logging.getLogger(__name__)

# What a spider raises, with a message for the person, when its arguments cannot be
# used (sources.SourcesError is a ValueError), another run holds its lock, or the
# fleet's Redis (REDIS_URL) does not answer.
PERSON_ERRORS = (ValueError, LockHeld, FleetError)


class ArgumentsError(Exception):
    """The spider or its arguments are not what the project has; the message says so."""


def spider_arguments(spidercls: type[scrapy.Spider]) -> dict[str, str] | None:
    """The ``-a`` arguments a spider takes, with their help; None if it does not say."""
    return getattr(spidercls, "arguments", None)


def check_arguments(spidercls: type[scrapy.Spider], given: dict[str, Any]) -> None:
    """Refuse an ``-a`` argument the spider does not take, naming the ones it does:
    Scrapy would set a misspelt one as an attribute nobody reads, or fail deep inside
    the spider's ``__init__``."""
    known = spider_arguments(spidercls)
    if known is None:
        return
    for name in sorted(set(given) - set(known)):
        close = difflib.get_close_matches(name, known, n=1)
        guess = f"did you mean -a {close[0]}=...? " if close else ""
        takes = ", ".join(known) or "no arguments"
        raise ArgumentsError(
            f"{spidercls.name} takes no argument {name!r}: {guess}it takes {takes} "
            "(see scrapy crawl -h)"
        )


def arguments_help(settings: Any) -> str:
    """One line per argument of every spider that declares its arguments."""
    loader = get_spider_loader(settings)
    lines = []
    for name in sorted(loader.list()):
        for argument, text in (spider_arguments(loader.load(name)) or {}).items():
            lines.append(f"  {name:<8}-a {argument + '=...':<14}{text}")
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter, ScrapyHelpFormatter):
    """Scrapy's help, keeping the line breaks of the spider arguments' table."""


class Command(ScrapyCrawlCommand):
    def long_desc(self) -> str:
        return (
            "Run a spider of this project: replay (pages saved on disk) or news (the "
            "outlets of a sources file).\nExit status 0: finished; 1: something failed "
            "(see the summary); 2: the run itself failed or was given wrong arguments."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        assert self.settings is not None
        parser.formatter_class = HelpFormatter
        parser.add_argument_group(
            "Spider arguments",
            "-a NAME=VALUE, for the spider named:\n" + arguments_help(self.settings),
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider: scrapy crawl replay -a path=PATH")
        assert self.crawler_process
        assert self.settings is not None
        try:
            spidercls = self.spider_class(args[0])
            check_arguments(spidercls, opts.spargs)
        except ArgumentsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            self.exitcode = 2
            return
        keep_heap_small()  # before the crawl's threads start
        # The extraction workers load the extractors (~3 s of CPU) on the other core
        # while Scrapy builds the crawler, instead of after it.
        start_workers_early(self.settings)
        failures: list[BaseException] = []
        try:
            crawler = self._create_crawler(args[0])
            started = self.crawler_process.crawl(crawler, **opts.spargs)
            if isinstance(started, asyncio.Future):
                # Taking the exception here stops asyncio from printing it, with its
                # traceback, as "never retrieved": report_failures says it instead.
                started.add_done_callback(
                    lambda task: task.cancelled() or failures.append(task.exception())
                )
            self.crawler_process.start()
        finally:
            stop_early_workers()
        if self.crawler_process.bootstrap_failed:  # the spider could not even be created
            report_failures(filter(None, failures))
            self.exitcode = 2
            return
        stats = crawler.stats.get_stats() if crawler.stats else {}
        if stats.get("archive/status") is None:  # the run was never recorded
            self.exitcode = 2
            return
        self.exitcode = run_status(args[0], stats.get("finish_reason"), stats).exit_code

    def spider_class(self, spider: type[scrapy.Spider] | str) -> type[scrapy.Spider]:
        """The spider class named, or ArgumentsError listing the project's spiders."""
        if not isinstance(spider, str):
            return spider
        assert self.crawler_process
        loader = self.crawler_process.spider_loader
        try:
            return loader.load(spider)
        except KeyError:
            names = ", ".join(sorted(loader.list()))
            raise ArgumentsError(f"no spider named {spider!r}: the spiders are {names} "
                                 "(see scrapy crawl -h)") from None


def report_failures(failures: Any) -> None:
    """Why the spider could not be created: a person's mistake in one line; anything
    else, a bug, with its traceback."""
    for failure in failures:
        if isinstance(failure, PERSON_ERRORS):
            print(f"error: {failure}", file=sys.stderr)
            logger.debug("the spider refused its arguments", exc_info=failure)
        else:
            traceback.print_exception(failure)
