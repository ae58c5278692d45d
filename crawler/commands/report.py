"""``scrapy report``: the health of every outlet, failing ones first.

A table to read at a glance (``--format table``, the default), or every field as JSON
or CSV for scripts and spreadsheets; ``-o FILE`` writes it to a file. The numbers come
from ``archive.report``; a stale outlet is one with no new article for
``REPORT_STALE_HOURS``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.report import STALE_HOURS, OutletReport, outlet_report
from crawler.commands.search import open_archive

COLUMNS = ("status", "outlet", "articles", "24 h", "7 days", "last new article (UTC)",
           "last fetch (UTC)", "last run")


def width(text: str) -> int:
    """Terminal columns of text: Devanagari vowel signs and viramas take none, wide
    (CJK) characters two; len() would misalign every Hindi outlet name."""
    return sum(0 if unicodedata.category(c) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def counts(failures: dict[str, int]) -> str:
    """Reasons by count, most first: "http-404 3, timeout 1"."""
    ranked = sorted(failures.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{reason} {count}" for reason, count in ranked)


def run_cell(report: OutletReport) -> str:
    if report.last_run_id is None:
        return "-"
    failed = f"{report.last_run_failed} failed" if report.last_run_failed else "no failures"
    return f"{report.last_run_id}: {failed}"


def table(reports: Sequence[OutletReport]) -> str:
    """Aligned columns, then, for each outlet: why its status, its last run's failures
    and failed feeds and sitemaps (the details a person acts on)."""
    rows = [COLUMNS] + [
        (r.status, r.outlet, str(r.articles), str(r.articles_24h), str(r.articles_7d),
         when(r.last_new_article), when(r.last_successful_fetch), run_cell(r))
        for r in reports
    ]
    widths = [max(width(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row))
             .rstrip() for row in rows]
    lines.append("")
    for r in reports:
        lines.append(f"{r.status:<7}  {r.outlet}: {r.why}")
        if r.last_run_failures:
            lines.append(f"         failures in run {r.last_run_id}: {counts(r.last_run_failures)}")
        for listing in r.failed_listings:
            lines.append(f"         failed feed/sitemap: {listing['url']} ({listing['error']}, "
                         f"from {listing['from']})")
    return "\n".join(lines) + "\n"


def as_json(reports: Sequence[OutletReport]) -> str:
    return json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2) + "\n"


def as_csv(reports: Sequence[OutletReport]) -> str:
    """One row per outlet; the failures and failed listings as JSON cells."""
    out = io.StringIO()
    fields = list(OutletReport.__dataclass_fields__)
    writer = csv.DictWriter(out, fields)
    writer.writeheader()
    for report in reports:
        writer.writerow({
            name: json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list)
            else "" if value is None else value
            for name, value in report.as_dict().items()
        })
    return out.getvalue()


FORMATS: dict[str, Callable[[Sequence[OutletReport]], str]] = {
    "table": table, "json": as_json, "csv": as_csv}


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--format table|json|csv] [-o FILE]"

    def short_desc(self) -> str:
        return "Per outlet: articles, last new article, last run's failures, status"

    def long_desc(self) -> str:
        return (
            "Print, per outlet, its articles (in all, last 24 h, last 7 days), its last new "
            "article and last successful fetch, the failures of its last run by reason and "
            "the feeds and sitemaps that failed there, and its status: failing (the last run "
            "found it broken, or most of its captures failed), stale (no new article for "
            "REPORT_STALE_HOURS), or ok. Failing outlets come first."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--format", choices=sorted(FORMATS), default="table",
                            help="table (default), json or csv")
        parser.add_argument("-o", "--output", metavar="FILE", default="-",
                            help="file to write (default -: stdout)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"report takes no arguments, got {' '.join(args)!r}")
        assert self.settings is not None
        try:
            stale_hours = self.settings.getfloat("REPORT_STALE_HOURS", STALE_HOURS)
        except ValueError:
            stale_hours = 0
        if stale_hours <= 0:
            print(f"error: REPORT_STALE_HOURS must be a number of hours above 0, not "
                  f"{self.settings.get('REPORT_STALE_HOURS')!r}: -s REPORT_STALE_HOURS=72",
                  file=sys.stderr)
            raise SystemExit(2)
        engine = open_archive(self.settings)
        try:
            with engine.connect() as connection:
                reports = outlet_report(connection, stale_hours=stale_hours)
        finally:
            engine.dispose()
        if not reports:
            print("the archive holds no outlets yet: run `scrapy crawl news -a sources=FILE` "
                  "or `scrapy crawl replay -a path=PATH` first", file=sys.stderr)
        text = FORMATS[opts.format](reports) if reports or opts.format != "table" else ""
        if opts.output == "-":
            sys.stdout.write(text)
            return
        try:
            Path(opts.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            print(f"error: cannot write {opts.output}: {exc.strerror}; give another -o FILE",
                  file=sys.stderr)
            raise SystemExit(2) from None
        print(f"report of {len(reports)} outlets written to {opts.output}", file=sys.stderr)
