"""``scrapy report`` (crawler/commands/report.py, archive/report.py) and the run
summary's per-outlet lines (crawler/extensions.py).

The archive is real (an SQLite file, and PostgreSQL): five outlets written as rows, the
way two crawl runs leave them, one failing by the run's own verdict, one by most of its
captures failing, one stale, one never crawled and one healthy. The command runs as a
real ``scrapy`` subprocess.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from archive.database import open_database
from archive.models import Article, Capture, CrawlRun, Source
from archive.report import outlet_report
from crawler.extensions import format_summary
from crawler.run_status import broken_outlets, outlet_key
from tests.conftest import run_scrapy
from tests.fixture_site import NewsNetwork, unused_port
from tests.test_news_crawl import crawl, write_sources

NOW = datetime.now(UTC)
HINDI = "दैनिक समाचार"  # failing: the last run named it broken
RATIO = "Mostly Failing"  # failing: 3 of its 4 captures in the last run failed
QUIET = "Quiet Outlet"  # stale: last new article 5 days ago
NEVER = "Never Crawled"  # stale: nothing archived yet
BUSY = "Busy Outlet"  # ok
HINDI_WHY = (f"{HINDI}: its homepage failed (dns); check the homepage URL in the sources "
             "file, and whether the site moved or blocks the crawler")
HINDI_FEED = "https://dainik.example/समाचार/rss.xml"


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def build_archive(url: str) -> None:
    """Two runs' worth of rows: run 1 three days ago, run 2 (the last) an hour ago."""
    engine = open_database(url)
    with Session(engine) as session, session.begin():
        sources = {name: Source(name=name) for name in (HINDI, RATIO, QUIET, NEVER, BUSY)}
        session.add_all(sources.values())
        first = CrawlRun(spider="news", status="finished", started_at=ago(days=3), stats={})
        last = CrawlRun(spider="news", status="failed", started_at=ago(hours=1),
                        stats={outlet_key(HINDI, "broken"): HINDI_WHY})
        session.add_all([first, last])
        session.flush()
        articles = {HINDI: [ago(days=3), ago(days=10)], RATIO: [ago(hours=1)],
                    QUIET: [ago(days=5), ago(days=6), ago(days=20)],
                    BUSY: [ago(hours=2), ago(hours=20), ago(days=3), ago(days=30)]}
        for name, seen in articles.items():
            session.add_all(
                Article(url=f"https://{len(name)}.example/{name}/{i}", text="पाठ", title="शीर्षक",
                        source_id=sources[name].id, content_hash=f"{name}{i}",
                        first_seen_at=when, last_seen_at=when)
                for i, when in enumerate(seen))

        def capture(name: str, run: CrawlRun, outcome: str, error: str | None = None,
                    url: str = "https://x.example/page", listing: dict | None = None,
                    fetched_at: datetime | None = None) -> None:
            session.add(Capture(source_id=sources[name].id, crawl_run_id=run.id, url=url,
                                outcome=outcome, error=error, listing=listing,
                                fetched_at=fetched_at or run.started_at))

        for name in (HINDI, RATIO, QUIET, BUSY):
            capture(name, first, "new")
        # run 2: the Hindi outlet's homepage and its feed fail; a page a feed listed fails
        capture(HINDI, last, "failed", "dns")
        capture(HINDI, last, "failed", "http-404", HINDI_FEED, {"from": "sources-file"})
        capture(HINDI, last, "failed", "timeout", listing={"from": "rss", "title": "x"})
        capture(RATIO, last, "new")
        for error in ("http-503", "http-503", "timeout"):
            capture(RATIO, last, "failed", error)
        capture(BUSY, last, "new")
        capture(BUSY, last, "unchanged", fetched_at=ago(minutes=30))
        capture(BUSY, last, "failed", "http-404")
        # a sitemap failed in run 1 only: not a failure of the outlet's last run
        capture(BUSY, first, "failed", "http-500", "https://busy.example/sitemap.xml",
                {"from": "robots.txt"})
    engine.dispose()


def report_of(database_url: str, *args: str) -> str:
    result = run_scrapy("report", *args, database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_the_table_puts_failing_outlets_first_with_their_counts_and_why(
    database_url: str,
) -> None:
    build_archive(database_url)
    lines = report_of(database_url).splitlines()
    header, *rows = lines[:6]
    assert header.split()[:5] == ["status", "outlet", "articles", "24", "h"]
    order = (RATIO, HINDI, NEVER, QUIET, BUSY)
    assert [row.split()[0] for row in rows] == ["failing", "failing", "stale", "stale", "ok"]
    assert all(name in row for name, row in zip(order, rows, strict=True))
    numbers = {name: row.split(name)[1].split()[:3] for name, row in zip(order, rows, strict=True)}
    assert numbers == {RATIO: ["1", "1", "1"], HINDI: ["2", "0", "1"], NEVER: ["0", "0", "0"],
                       QUIET: ["3", "0", "2"], BUSY: ["4", "2", "3"]}
    # the columns line up in terminal cells, after a Devanagari name too
    column = header.index("articles")
    assert all(row[column - 2:column] == "  " and row[column] != " "
               for row in rows if HINDI not in row)
    details = "\n".join(lines[6:])
    assert f"failing  {HINDI}: run 2: its homepage failed (dns)" in details
    assert f"failing  {RATIO}: run 2: 3 of its 4 captures failed" in details
    assert "failures in run 2: dns 1, http-404 1, timeout 1" in details
    assert "failures in run 2: http-503 2, timeout 1" in details
    assert f"failed feed/sitemap: {HINDI_FEED} (http-404, from sources-file)" in details
    assert "sitemap.xml" not in details  # failed in run 1, not in Busy Outlet's last run
    assert f"stale    {QUIET}: no new article for 5 days (REPORT_STALE_HOURS is 48)" in details
    assert f"stale    {NEVER}: no article archived yet" in details
    assert f"ok       {BUSY}: last new article 2 h ago" in details


def test_json_and_csv_carry_every_field(database_url: str, tmp_path: Path) -> None:
    build_archive(database_url)
    outlets = json.loads(report_of(database_url, "--format", "json"))
    assert [o["outlet"] for o in outlets] == [RATIO, HINDI, NEVER, QUIET, BUSY]
    hindi = outlets[1]
    assert hindi["status"] == "failing" and "homepage failed (dns)" in hindi["why"]
    assert (hindi["articles"], hindi["articles_24h"], hindi["articles_7d"]) == (2, 0, 1)
    assert hindi["last_run_id"] == 2
    assert hindi["last_run_failures"] == {"dns": 1, "http-404": 1, "timeout": 1}
    assert hindi["failed_listings"] == [
        {"url": HINDI_FEED, "from": "sources-file", "error": "http-404"}]
    assert datetime.fromisoformat(hindi["last_new_article"]) == ago(days=3)
    assert datetime.fromisoformat(hindi["last_successful_fetch"]) == ago(days=3)
    busy = outlets[-1]
    assert datetime.fromisoformat(busy["last_successful_fetch"]) == ago(minutes=30)
    assert outlets[2]["last_new_article"] is None and outlets[2]["last_run_id"] is None

    out = tmp_path / "रिपोर्ट.csv"
    result = run_scrapy("report", "--format", "csv", "-o", str(out), database_url=database_url)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["outlet"], r["status"], r["articles_7d"]) for r in rows] == [
        (RATIO, "failing", "1"), (HINDI, "failing", "1"), (NEVER, "stale", "0"),
        (QUIET, "stale", "2"), (BUSY, "ok", "3")]
    assert json.loads(rows[1]["failed_listings"])[0]["url"] == HINDI_FEED


def test_an_empty_archive_says_so(database_url: str) -> None:
    open_database(database_url).dispose()  # the schema, no outlet yet
    result = run_scrapy("report", database_url=database_url)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.startswith("the archive holds no outlets yet: run `scrapy crawl")
    assert json.loads(report_of(database_url, "--format", "json")) == []


def test_a_bad_stale_setting_or_output_file_is_one_line_and_exit_2(
    database_url: str, tmp_path: Path
) -> None:
    build_archive(database_url)
    for args, message in (
        (("-s", "REPORT_STALE_HOURS=two days"),
         "error: REPORT_STALE_HOURS must be a number of hours above 0, not 'two days'"),
        (("-o", str(tmp_path / "missing" / "report.txt")),
         f"error: cannot write {tmp_path / 'missing' / 'report.txt'}: No such file or "
         "directory; give another -o FILE"),
    ):
        result = run_scrapy("report", *args, database_url=database_url)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_stale_hours_is_the_threshold(database_url: str) -> None:
    build_archive(database_url)
    engine = open_database(database_url)
    with engine.connect() as connection:
        strict = {r.outlet: r.status for r in outlet_report(connection, NOW, stale_hours=1)}
        lenient = {r.outlet: r.status for r in outlet_report(connection, NOW, stale_hours=24 * 6)}
    engine.dispose()
    assert (strict[BUSY], strict[QUIET]) == ("stale", "stale")
    assert (lenient[BUSY], lenient[QUIET]) == ("ok", "ok")


def test_a_run_whose_listings_were_unchanged_is_the_outlets_last_run(
    database_url: str,
) -> None:
    """A crawl stores no capture of an unchanged listing: a run in which the busy outlet's
    feeds answered the same as before leaves only its stats, and is still its last run,
    with a successful fetch and none of the older run's failures."""
    build_archive(database_url)
    engine = open_database(database_url)
    with Session(engine) as session, session.begin():
        quiet_run = CrawlRun(
            spider="news", status="finished", started_at=ago(minutes=20),
            finished_at=ago(minutes=5),
            stats={outlet_key(BUSY, "listings"): 2, outlet_key(BUSY, "listings-unchanged"): 2},
        )
        session.add(quiet_run)
        session.flush()
        run_id = quiet_run.id
    with engine.connect() as connection:
        busy = next(r for r in outlet_report(connection, NOW) if r.outlet == BUSY)
    engine.dispose()
    assert busy.last_run_id == run_id
    assert busy.last_successful_fetch == ago(minutes=5)
    assert (busy.last_run_captures, busy.last_run_failures, busy.status) == (0, {}, "ok")


def summary_stats(**extra: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "archive/pages": 20, "archive/failed": 6, "archive/failed/dns": 1,
        "archive/failed/http-404": 5,
        outlet_key(HINDI, "homepage-failed"): "dns", outlet_key(HINDI, "listings"): 2,
        outlet_key(HINDI, "listings-failed"): 1,
        outlet_key(BUSY, "fetched"): 12, outlet_key(BUSY, "failed"): 4,
        outlet_key(BUSY, "listings"): 1,
        outlet_key(QUIET, "fetched"): 3, outlet_key(QUIET, "listings"): 1,
        "news/skipped/robots-txt": 7, "news/skipped/off-site-link": 40,
        "news/refused/private-address": 1, **extra,
    }
    for outlet, why in broken_outlets(stats).items():  # as the news spider does at close
        stats[outlet_key(outlet, "broken")] = why
    return stats


def test_the_run_summary_names_each_outlet_with_failures_broken_first() -> None:
    lines = format_summary("news", summary_stats()).splitlines()
    outlets = [line for line in lines if line.startswith("  outlet ")]
    assert outlets == [
        f"  outlet {HINDI}: BROKEN: its homepage failed (dns); check the homepage URL in the "
        "sources file, and whether the site moved or blocks the crawler (homepage failed "
        "(dns), 1 of 2 feeds/sitemaps failed)",
        f"  outlet {BUSY}: 4 of 12 pages failed",
    ]  # the healthy outlet has no line
    assert lines[-1] == ("  skipped:  7 disallowed by robots.txt, refused/private-address 1, "
                         "skipped/off-site-link 40")


def test_a_clean_run_summary_has_no_outlet_or_skip_lines() -> None:
    lines = format_summary("replay", {"archive/pages": 5}).splitlines()
    assert not [line for line in lines if line.startswith(("  outlet", "  skipped"))]


def test_a_real_crawl_summary_and_report_name_the_broken_outlet_and_failed_feeds(
    database_url: str, tmp_path: Path
) -> None:
    """The live crawl of the fixture news network (tests/test_news_crawl.py), one run: an
    outlet whose server is down, two broken feeds of Daily, robots.txt-disallowed pages."""
    network = NewsNetwork()
    network.start()
    try:
        down = f"http://127.0.0.1:{unused_port()}/"
        run = crawl(write_sources(tmp_path, network, down), database_url)
        daily = network.site("daily").url
    finally:
        network.stop()
    assert run.returncode == 1, run.stderr[-3000:]
    summary = run.stdout.splitlines()
    outlets = [line for line in summary if line.startswith("  outlet ")]
    assert outlets[0].startswith(
        "  outlet Down: BROKEN: its homepage failed (connection-refused); check the homepage")
    assert any(line.startswith("  outlet Daily: 2 of 3 feeds/sitemaps failed") for line in outlets)
    [skips] = [line for line in summary if line.startswith("  skipped:  ")]
    assert "disallowed by robots.txt" in skips and "skipped/off-site-link" in skips

    outlets_report = json.loads(report_of(database_url, "--format", "json"))
    assert outlets_report[0]["outlet"] == "Down" and outlets_report[0]["status"] == "failing"
    assert "its homepage failed (connection-refused)" in outlets_report[0]["why"]
    by_name = {o["outlet"]: o for o in outlets_report}
    engine = open_database(database_url)
    with Session(engine) as session:
        archived = {name: session.query(Article).join(Source, Source.id == Article.source_id)
                    .filter(Source.name == name).count() for name in by_name}
    engine.dispose()
    assert {name: o["articles"] for name, o in by_name.items()} == archived
    assert by_name["Daily"]["articles_24h"] == archived["Daily"] > 0
    assert {(f["url"], f["error"], f["from"]) for f in by_name["Daily"]["failed_listings"]} == {
        (f"{daily}/broken.xml", "malformed-feed", "sources-file"),
        (f"{daily}/bomb.xml", "xml-entities", "sources-file")}
    assert by_name["Daily"]["status"] == "ok"
    table = report_of(database_url)
    assert table.splitlines()[1].split()[:2] == ["failing", "Down"]
    assert f"failed feed/sitemap: {daily}/bomb.xml (xml-entities, from sources-file)" in table
