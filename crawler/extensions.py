"""Crawl-wide components that are neither spiders nor pipelines."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.run_status import outlet_counters

OUTCOMES = ("new", "updated", "unchanged", "duplicate", "not-article", "not-modified")


def format_summary(spider: str, stats: Mapping[str, Any]) -> str:
    """A few lines a person reads after a run: what was archived, what failed and why."""
    prefix = "archive/failed/"
    failures = {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}
    outcomes = ", ".join(f"{stats.get(f'archive/outcome/{o}', 0)} {o}" for o in OUTCOMES)
    lines = [
        f"{spider}: run {stats.get('archive/crawl_run_id', '?')} into "
        f"{stats.get('archive/database', '?')} ({stats.get('archive/status', 'not stored')})",
        f"  pages:    {stats.get('archive/pages', 0)}",
        f"  articles: {outcomes}",
        f"  failures: {stats.get('archive/failed', 0)}",
    ]
    lines += [f"    {reason}: {count}" for reason, count in sorted(failures.items())]
    if failures:
        lines.append(
            "  (each failure is in the captures table with its reason: "
            "SELECT url, error, error_detail FROM captures WHERE outcome = 'failed')"
        )
    if spider == "reextract":
        lines.append(f"  {reextract_line(stats)}")
    lines += [f"  outlet {line}" for line in outlet_lines(stats)]
    if skips := skip_line(stats):
        lines.append(f"  skipped:  {skips}")
    return "\n".join(lines)


def reextract_line(stats: Mapping[str, Any]) -> str:
    """What ``scrapy reextract`` did, in one line: the captures read again and extracted,
    then those that could not be read again (``reextract/unread/<reason>``, counted by
    its spider apart from extraction's failures, which are among the extracted)."""
    def count(outcome: str) -> int:
        return stats.get(f"archive/outcome/{outcome}", 0)

    prefix = "reextract/unread/"
    unread = {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}
    total_unread = stats.get("reextract/unread", 0)
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(unread.items()))
    return (
        f"reextract: {stats.get('archive/pages', 0) - total_unread} archived captures "
        f"extracted again: {count('updated')} changed (the earlier text is kept in "
        f"article_versions), {count('unchanged')} unchanged, "
        f"{count('new') + count('duplicate')} new articles, {count('not-article')} no longer "
        f"articles, {stats.get('archive/failed', 0) - total_unread} failed; {total_unread} "
        f"could not be read again{f' ({reasons})' if reasons else ''}"
    )


def outlet_lines(stats: Mapping[str, Any]) -> list[str]:
    """One line per outlet that had failures in the run (the live crawl's counters,
    crawler.run_status), broken ones first: which outlet to look at, without the stats."""
    lines: list[tuple[int, str, str]] = []  # (broken first, outlet, line)
    for outlet, counts in outlet_counters(stats).items():
        parts = []
        if reason := counts.get("homepage-failed"):
            parts.append(f"homepage failed ({reason})")
        if failed := counts.get("listings-failed"):
            parts.append(f"{failed} of {counts.get('listings', failed)} feeds/sitemaps failed")
        if failed := counts.get("failed"):
            parts.append(f"{failed} of {counts.get('fetched', failed)} pages failed")
        if broken := counts.get("broken"):
            why = broken.removeprefix(f"{outlet}: ")
            lines.append((0, outlet, f"{outlet}: BROKEN: {why} ({', '.join(parts)})"))
        elif parts:
            lines.append((1, outlet, f"{outlet}: {', '.join(parts)}"))
    return [line for _, _, line in sorted(lines)]


def skip_line(stats: Mapping[str, Any]) -> str:
    """The URLs the crawl chose not to fetch (robots.txt first), in one line."""
    counts = {key.split("/", 1)[1]: value for key, value in stats.items()
              if key.startswith(("news/skipped/", "news/refused/"))}
    robots = counts.pop("skipped/robots-txt", 0)
    parts = [f"{robots} disallowed by robots.txt"] if robots else []
    parts += [f"{name} {value}" for name, value in sorted(counts.items())]
    return ", ".join(parts)


class PromptClose:
    """Closes the spider as soon as its last item is done, not up to 5 s later.

    Scrapy looks for an idle spider when a request or response moves, else on a 5 s
    heartbeat; an item finishing in the pipelines (extraction takes a while) moves
    nothing, so a crawl whose last step is an item sat idle until the heartbeat: a
    tenth of a 2000-page replay. Once the item has left the scraper, this wakes the
    engine, which closes the spider if nothing else is left.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PromptClose:
        return cls(crawler)

    def item_done(self) -> None:
        slot = getattr(self.crawler.engine, "_slot", None)  # private: without it, 5 s
        if slot is not None:
            asyncio.get_running_loop().call_later(0.1, slot.nextcall.schedule)


class RunSummary:
    """Prints the run's summary to stdout once the run is recorded (engine stopped)."""

    def __init__(self, crawler: Crawler, out: TextIO = sys.stdout) -> None:
        self.crawler = crawler
        self.out = out
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunSummary:
        return cls(crawler)

    def engine_stopped(self) -> None:
        assert self.crawler.stats is not None and self.crawler.spider is not None
        summary = format_summary(self.crawler.spider.name, self.crawler.stats.get_stats())
        print(summary, file=self.out)
