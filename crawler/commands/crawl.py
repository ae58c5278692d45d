"""``scrapy crawl`` with an exit status that says whether a person must act.

0: finished; 1: failed (for ``news``: an outlet is broken; for ``replay``: some pages
failed); 2: the run itself failed (database unusable, bad arguments, crawl aborted).
The meaning is :func:`crawler.run_status.run_status`'s.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.run_status import run_status
from pipelines.extract import start_workers_early, stop_early_workers
from pipelines.heap import keep_heap_small


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider: scrapy crawl replay -a path=PATH")
        assert self.crawler_process
        assert self.settings is not None
        keep_heap_small()  # before the crawl's threads start
        # The extraction workers load the extractors (~3 s of CPU) on the other core
        # while Scrapy builds the crawler, instead of after it.
        start_workers_early(self.settings)
        try:
            crawler = self._create_crawler(args[0])
            self.crawler_process.crawl(crawler, **opts.spargs)
            self.crawler_process.start()
        finally:
            stop_early_workers()
        if self.crawler_process.bootstrap_failed:  # the spider could not even be created
            self.exitcode = 2
            return
        stats = crawler.stats.get_stats() if crawler.stats else {}
        if stats.get("archive/status") is None:  # the run was never recorded
            self.exitcode = 2
            return
        self.exitcode = run_status(args[0], stats.get("finish_reason"), stats).exit_code
