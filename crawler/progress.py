"""Progress a person can follow on a long run: done / total where known, rate, ETA,
failures so far.

On a terminal (stderr is a tty) one line is redrawn in place twice a second, drawn by
tqdm; in a log file (cron, systemd) a log line every ``PROGRESS_SECONDS`` carries the
same figures, in place of Scrapy's "Crawled N pages" line (LogStats, dropped in
crawler/settings.py), which counts HTTP responses: 0 for a replay.

The figures are read from what the crawl counts anyway (items leaving the pipelines
through signals, the store pipeline's ``archive/failed``, the scheduler's stats), on a
timer: nothing is done or logged per page.

- replay: pages; the folder is walked once, as it is read, so the total is known only
  when the walk is over (until then: done and rate, no ETA).
- news: requests, scheduled vs done; the total grows as listings give more links.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from tqdm import tqdm
from twisted.internet import task

logger = logging.getLogger(__name__)

TERMINAL_SECONDS = 0.5  # how often the terminal line is redrawn


@dataclass(frozen=True)
class Figures:
    """Where a run stands at one moment."""

    done: int
    total: int | None  # None: not known yet
    elapsed: float  # seconds since the run started
    failed: int  # pages stored as failed captures so far
    unit: str = "pages"

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far; None while the total or the rate is unknown."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate


def duration(seconds: float) -> str:
    """1h02m03s, 2m03s, 3s: short enough for a log line."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def format_log_line(figures: Figures) -> str:
    """The log file's line: 'progress: 120/500 pages (24%), 3.2 pages/s, ETA 1m58s, 4 failed'."""
    done = f"{figures.done}"
    if figures.total is not None:
        share = figures.done / figures.total if figures.total else 1.0
        done += f"/{figures.total} {figures.unit} ({share:.0%})"
    else:
        done += f" {figures.unit} (total not known yet)"
    parts = [f"progress: {done}", f"{figures.rate:.1f} {figures.unit}/s"]
    if figures.eta is not None:
        parts.append(f"ETA {duration(figures.eta)}")
    parts.append(f"{figures.failed} failed")
    return ", ".join(parts)


def format_terminal_line(figures: Figures, width: int | None = None) -> str:
    """The terminal's line: tqdm's bar when the total is known, its counter otherwise,
    with the failures so far."""
    return tqdm.format_meter(
        figures.done, figures.total, figures.elapsed, ncols=width, unit=f" {figures.unit}",
        postfix=f"{figures.failed} failed",
    )


class Progress:
    """The extension: figures on a timer, to the terminal or to the log."""

    def __init__(self, crawler: Crawler, seconds: float, out: TextIO = sys.stderr) -> None:
        self.crawler = crawler
        self.out = out
        self.terminal = out.isatty()
        self.seconds = TERMINAL_SECONDS if self.terminal else seconds
        self.started = time.monotonic()
        self.items_done = 0
        self.timer: task.LoopingCall | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        seconds = crawler.settings.getfloat("PROGRESS_SECONDS", 60)
        if seconds <= 0:
            raise NotConfigured("PROGRESS_SECONDS is 0: no progress lines")
        return cls(crawler, seconds)

    def item_done(self) -> None:
        self.items_done += 1

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.timer = task.LoopingCall(self.show)
        self.timer.start(self.seconds, now=False)

    def spider_closed(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.show()
        if self.terminal:
            self.out.write("\n")
            self.out.flush()

    def figures(self) -> Figures:
        """Requests when the spider schedules them (news), else pages (replay)."""
        stats = self.crawler.stats
        assert stats is not None
        engine = self.crawler.engine
        elapsed = time.monotonic() - self.started
        failed = stats.get_value("archive/failed", 0)
        scheduled = stats.get_value("scheduler/enqueued", 0)
        if scheduled:
            active = len(engine.downloader.active) if engine is not None else 0
            done = max(stats.get_value("scheduler/dequeued", 0) - active, 0)
            return Figures(done, scheduled, elapsed, failed, "requests")
        total = None
        # Private, as in crawler/extensions.py: the engine drops its start iterator once
        # the spider has yielded everything; what is not done is then in the pipelines.
        if engine is not None and getattr(engine, "_start", True) is None:
            slot = engine.scraper.slot
            total = self.items_done + (slot.itemproc_size if slot is not None else 0)
        return Figures(self.items_done, total, elapsed, failed)

    def show(self) -> None:
        figures = self.figures()
        if self.terminal:
            self.out.write("\r" + format_terminal_line(figures) + "\x1b[K")
            self.out.flush()
        else:
            logger.info("%s", format_log_line(figures))
