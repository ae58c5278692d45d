"""Live-crawl throughput: ``scrapy crawl news`` against a plain fetch-only spider.

    python benchmarks/crawl_throughput.py --pages 3000 --repeat 3

Serves a large fixture site on 127.0.0.1 (``tests/fixture_site.py LargeSite``: the WCXB
corpus replicated to ``--pages`` distinct article pages, listed in sitemaps that
robots.txt names) and crawls it, each repetition with both spiders, in fresh processes:

- ``news``: the real crawl (robots.txt, sitemap discovery, a known-pages query per
  sitemap, extraction in worker processes, dedupe, storing) into a fresh SQLite file;
- ``fetch-only``: this file's :class:`FetchOnlySpider`, which requests the same article
  URLs and does nothing with them: the upper bound Scrapy itself sets on this machine.

Both run with the same downloader settings, AutoThrottle off and one site's worth of
concurrency (politeness would measure the delay, not the crawler). A rate is article
pages fetched per second of Scrapy's ``elapsed_time_seconds`` (spider open to close;
process start-up is reported apart). The table gives medians over the repetitions.
This file is also the fetch-only spider: ``scrapy runspider`` loads it.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response

REPO = Path(__file__).resolve().parent.parent
CONCURRENCY = 16
DOWNLOADER = {  # the same for both spiders
    "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": str(CONCURRENCY), "CONCURRENT_REQUESTS_PER_DOMAIN": str(CONCURRENCY),
    "LOG_LEVEL": "INFO",
}


class FetchOnlySpider(scrapy.Spider):
    """Fetches every URL of a file and keeps nothing: no items, no pipelines."""

    name = "fetch-only"
    custom_settings = {"ITEM_PIPELINES": {}, "EXTENSIONS": {}}  # noqa: RUF012 (Scrapy's API)

    def __init__(self, urls: str = "", stats: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url_file, self.stats_file = Path(urls), Path(stats)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.url_file.read_text().split():
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> None:
        self.crawler.stats.inc_value("fetch-only/pages")

    def closed(self, reason: str) -> None:
        stats = self.crawler.stats.get_stats()  # elapsed_time_seconds comes later: the same
        elapsed = (datetime.now(UTC) - stats["start_time"]).total_seconds()
        self.stats_file.write_text(json.dumps(
            {"pages": stats.get("fetch-only/pages", 0), "elapsed": elapsed}))


@dataclass
class Row:
    name: str
    rates: list[float] = field(default_factory=list)  # pages / s of crawl time
    pages: list[int] = field(default_factory=list)
    startup: list[float] = field(default_factory=list)  # process wall time - crawl time

    def median(self) -> float:
        return statistics.median(self.rates)


def downloader_settings(*leave_out: str) -> list[str]:
    """DOWNLOADER as ``-s NAME=VALUE`` arguments, but for the names left out."""
    return [arg for name, value in DOWNLOADER.items() if name not in leave_out
            for arg in ("-s", f"{name}={value}")]


def write_sources(folder: Path, site_url: str) -> Path:
    """A sources file naming the large fixture site by its homepage only: the crawl finds
    its sitemaps through robots.txt, as it would on a real site."""
    sources = folder / "sources.toml"
    sources.write_text(f'[[source]]\nname = "Large"\nhomepage = "{site_url}/"\n')
    return sources


def scrapy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", *args, *downloader_settings()]


def run(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env={**os.environ, **env},
                            capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command[:5])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return time.monotonic() - started


def news_run(work: Path, site_url: str, number: int) -> tuple[int, float, float]:
    """(article pages fetched, crawl seconds, process seconds) of one news crawl."""
    sources = write_sources(work, site_url)
    database = work / f"news-{number}.sqlite"
    wall = run(scrapy_command("crawl", "news", "-a", f"sources={sources}"),
               {"DATABASE_URL": f"sqlite:///{database}"})
    with sqlite3.connect(database) as connection:
        pages = connection.execute(
            "SELECT COUNT(*) FROM captures WHERE url LIKE '%/article/%'").fetchone()[0]
        stats = json.loads(connection.execute(
            "SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    return pages, float(stats["elapsed_time_seconds"]), wall


def fetch_only_run(work: Path, urls: list[str], number: int) -> tuple[int, float, float]:
    url_file, stats_file = work / "urls.txt", work / f"fetch-{number}.json"
    url_file.write_text("\n".join(urls))
    wall = run(scrapy_command("runspider", __file__, "-a", f"urls={url_file}",
                              "-a", f"stats={stats_file}"),
               {"DATABASE_URL": f"sqlite:///{work / 'unused.sqlite'}"})
    stats = json.loads(stats_file.read_text())
    return stats["pages"], float(stats["elapsed"]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.fixture_site import LargeSite

    site = LargeSite(args.pages)
    site.start()
    rows = {"news": Row("scrapy crawl news"), "fetch": Row("fetch-only spider (upper bound)")}
    try:
        with tempfile.TemporaryDirectory(prefix="crawl-throughput-") as folder:
            work = Path(folder)
            for number in range(args.repeat):  # interleaved: load elsewhere hits both rows
                for key in ("fetch", "news"):
                    if key == "fetch":
                        pages, elapsed, wall = fetch_only_run(work, site.urls, number)
                    else:
                        pages, elapsed, wall = news_run(work, site.site_.url, number)
                    row = rows[key]
                    row.pages.append(pages)
                    row.rates.append(pages / elapsed)
                    row.startup.append(wall - elapsed)
                    print(f"repeat {number + 1}: {row.name}: {pages} pages in {elapsed:.1f} s "
                          f"({pages / elapsed:.1f} pages/s; process {wall:.1f} s)", flush=True)
    finally:
        site.stop()
    print(f"\n{args.pages} pages from 127.0.0.1, {args.repeat} repetitions, "
          f"{CONCURRENCY} concurrent requests, AutoThrottle off, {os.cpu_count()} cores\n")
    print("| spider | pages fetched | pages/s (median) | min - max | process start+stop s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows.values():
        print(f"| {row.name} | {statistics.median(row.pages):.0f} | {row.median():.1f} | "
              f"{min(row.rates):.1f} - {max(row.rates):.1f} | "
              f"{statistics.median(row.startup):.1f} |")
    print(f"\nnews / fetch-only: {rows['news'].median() / rows['fetch'].median():.2f}")


if __name__ == "__main__":
    main()
