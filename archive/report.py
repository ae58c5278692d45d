"""The outlet report: per outlet, how much it gave, when, and whether a person must look.

A pure function of the archive (:func:`outlet_report`), shared by ``scrapy report`` and
any other view of the archive. It costs a handful of grouped queries whatever the
number of outlets: one pass over ``articles`` (grouped by ``source_id``), one over
``captures`` (the last run and the last successful fetch of each outlet), the stats of
the latest crawl runs (an outlet whose listings were unchanged stores no capture), then
only the captures and ``crawl_runs`` rows of those last runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select

from archive.models import Article, Capture, CrawlRun, Source
from crawler.run_status import outlet_key

STALE_HOURS = 48.0  # default of the REPORT_STALE_HOURS setting
# How crawler/spiders/news.py tags the listing of a feed or sitemap request (captures
# .listing "from"); pages a feed listed carry "rss", "sitemap", ... instead.
LISTING_FROM = ("sources-file", "robots.txt", "homepage", "sitemap-index")
STATUS_ORDER = {"failing": 0, "stale": 1, "ok": 2}
RECENT_RUNS = 20  # crawl runs whose stats are read for outlets with no capture in them


@dataclass
class OutletReport:
    """One outlet's line of the report."""

    outlet: str
    status: str = "ok"  # ok | stale | failing
    why: str = ""
    articles: int = 0
    articles_24h: int = 0
    articles_7d: int = 0
    last_new_article: datetime | None = None  # the newest articles.first_seen_at
    last_successful_fetch: datetime | None = None  # newest capture not 'failed'
    last_run_id: int | None = None  # the last crawl run with captures of this outlet
    last_run_captures: int = 0
    last_run_failed: int = 0
    last_run_failures: dict[str, int] = field(default_factory=dict)  # reason -> count
    failed_listings: list[dict[str, str]] = field(default_factory=list)  # url, from, error

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values: datetimes as ISO 8601 UTC."""
        return {name: value.isoformat() if isinstance(value, datetime) else value
                for name, value in vars(self).items()}


def age(delta: timedelta) -> str:
    """A duration as a person says it: "50 min", "7 h", "3 days"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def outlet_report(
    connection: Connection, now: datetime | None = None, stale_hours: float = STALE_HOURS
) -> list[OutletReport]:
    """Every outlet of the archive, failing ones first, then stale, then ok (by name)."""
    now = now or datetime.now(UTC)
    names = dict(connection.execute(select(Source.id, Source.name)).all())
    reports = {source_id: OutletReport(name) for source_id, name in names.items()}
    _add_article_counts(connection, reports, now)
    _add_last_runs(connection, reports)
    _add_runs_without_captures(connection, reports)
    last_runs = {(report.last_run_id, source_id) for source_id, report in reports.items()
                 if report.last_run_id is not None}
    if last_runs:
        _add_last_run_failures(connection, reports, last_runs)
        broken = _broken_in_runs(connection, {run for run, _ in last_runs})
    else:
        broken = {}
    for report in reports.values():
        judge(report, broken.get(report.last_run_id, {}), now, stale_hours)
    return sorted(reports.values(), key=lambda r: (STATUS_ORDER[r.status], r.outlet))


def _add_article_counts(
    connection: Connection, reports: dict[int, OutletReport], now: datetime
) -> None:
    day, week = now - timedelta(hours=24), now - timedelta(days=7)
    seen = Article.first_seen_at
    rows = connection.execute(
        select(
            Article.source_id,
            func.count(),
            func.sum(case((seen >= day, 1), else_=0)),
            func.sum(case((seen >= week, 1), else_=0)),
            func.max(seen),
        )
        .where(Article.source_id.is_not(None))
        .group_by(Article.source_id)
    )
    for source_id, total, last_day, last_week, newest in rows:
        report = reports[source_id]
        report.articles, report.articles_24h, report.articles_7d = total, last_day, last_week
        report.last_new_article = newest


def _add_last_runs(connection: Connection, reports: dict[int, OutletReport]) -> None:
    """Fills the last successful fetch and the last run with captures."""
    ok_fetch = case((Capture.outcome != "failed", Capture.fetched_at))
    rows = connection.execute(
        select(Capture.source_id, func.max(ok_fetch), func.max(Capture.crawl_run_id))
        .where(Capture.source_id.is_not(None))
        .group_by(Capture.source_id)
    )
    for source_id, last_fetch, run_id in rows:
        report = reports[source_id]
        report.last_successful_fetch, report.last_run_id = last_fetch, run_id


def _add_runs_without_captures(connection: Connection, reports: dict[int, OutletReport]) -> None:
    """A live crawl stores no capture of an unchanged listing, so an outlet that gave
    nothing new in a run has no capture in it: its last run, and its last successful
    fetch when listings answered unchanged, come from the stats of the latest
    :data:`RECENT_RUNS` crawls (``news/outlet/<name>/listings``, ``.../listings-unchanged``)."""
    runs = connection.execute(
        select(CrawlRun.id, CrawlRun.started_at, CrawlRun.finished_at, CrawlRun.stats)
        .where(CrawlRun.spider == "news")
        .order_by(CrawlRun.id.desc())
        .limit(RECENT_RUNS)
    ).all()
    for report in reports.values():
        for run_id, started_at, finished_at, stats in runs:  # newest first
            if report.last_run_id is not None and run_id <= report.last_run_id:
                break
            if not (stats or {}).get(outlet_key(report.outlet, "listings")):
                continue
            report.last_run_id = run_id
            if stats.get(outlet_key(report.outlet, "listings-unchanged")):
                fetched = finished_at or started_at
                if report.last_successful_fetch is None or fetched > report.last_successful_fetch:
                    report.last_successful_fetch = fetched
            break


def _add_last_run_failures(
    connection: Connection, reports: dict[int, OutletReport], last_runs: set[tuple[int, int]]
) -> None:
    """Captures and failures by reason, and the failed feeds and sitemaps, of each
    outlet's last run (rows of other outlets in those runs are read and dropped)."""
    runs = {run for run, _ in last_runs}
    rows = connection.execute(
        select(Capture.crawl_run_id, Capture.source_id, Capture.outcome, Capture.error,
               func.count())
        .where(Capture.crawl_run_id.in_(runs), Capture.source_id.is_not(None))
        .group_by(Capture.crawl_run_id, Capture.source_id, Capture.outcome, Capture.error)
    )
    for run_id, source_id, outcome, error, count in rows:
        if (run_id, source_id) not in last_runs:
            continue
        report = reports[source_id]
        report.last_run_captures += count
        if outcome == "failed":
            report.last_run_failed += count
            reason = error or "unknown"
            report.last_run_failures[reason] = report.last_run_failures.get(reason, 0) + count
    listed_from = Capture.listing["from"].as_string()
    rows = connection.execute(
        select(Capture.crawl_run_id, Capture.source_id, Capture.url, listed_from, Capture.error)
        .where(Capture.crawl_run_id.in_(runs), Capture.outcome == "failed",
               listed_from.in_(LISTING_FROM))
        .order_by(Capture.url)
    )
    for run_id, source_id, url, listed, error in rows:
        if (run_id, source_id) in last_runs:
            reports[source_id].failed_listings.append(
                {"url": url, "from": listed, "error": error or "unknown"})


def _broken_in_runs(connection: Connection, runs: set[int]) -> dict[int, Mapping[str, Any]]:
    """{run id: its final stats}, for the few last runs (where the live crawl named each
    broken outlet and why, ``news/outlet/<name>/broken``)."""
    rows = connection.execute(select(CrawlRun.id, CrawlRun.stats).where(CrawlRun.id.in_(runs)))
    return {run_id: stats or {} for run_id, stats in rows}


def judge(
    report: OutletReport, run_stats: Mapping[str, Any], now: datetime, stale_hours: float
) -> None:
    """Set the outlet's status and why: failing if its last run named it broken or most
    of its captures there failed; stale if no new article for stale_hours; else ok."""
    run = f"run {report.last_run_id}"
    if broken := run_stats.get(outlet_key(report.outlet, "broken")):
        report.status = "failing"
        prefix = f"{report.outlet}: "
        report.why = f"{run}: " + (broken[len(prefix):] if broken.startswith(prefix) else broken)
    elif report.last_run_failed * 2 > report.last_run_captures:
        report.status = "failing"
        report.why = (f"{run}: {report.last_run_failed} of its {report.last_run_captures} "
                      "captures failed; see the reasons, and the captures table's error_detail")
    elif report.last_new_article is None:
        report.status, report.why = "stale", "no article archived yet"
    elif now - report.last_new_article > timedelta(hours=stale_hours):
        report.status = "stale"
        report.why = (f"no new article for {age(now - report.last_new_article)} "
                      f"(REPORT_STALE_HOURS is {stale_hours:g})")
    else:
        report.why = f"last new article {age(now - report.last_new_article)} ago"
