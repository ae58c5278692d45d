"""The live crawl end to end: ``scrapy crawl news`` against the fixture news network.

Two real runs per database (SQLite file and PostgreSQL) over real HTTP on 127.0.0.1,
shared by the tests of this module: the first archives the network; between the runs
one feed says an unchanged page changed and another page really changes; the second
run must fetch only those two (conditionally) and the transiently failed page.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive.database import create_archive_engine
from archive.models import Article, ArticleVersion, Capture, CrawlRun
from pipelines.keys.urls import canonical_url
from tests.conftest import empty_database, run_scrapy
from tests.fixture_site import (
    PAGE_DATE,
    Logged,
    NewsNetwork,
    corpus_page,
    seed_stories,
    unused_port,
)

KIM = "/news/kim-backs-russia-unconditionally.html"  # listed as changed, is not: 304
FEATURE = "/story/weekly-feature-98765.html"  # listed as changed, and is: updated
SLOW = "/news/slow-story-12347.html"  # times out every run
DEVANAGARI = "/समाचार/रूस-कोरिया-समझौता-खबर.html"
DISCOVERY = {"/", "/robots.txt", "/rss.xml", "/broken.xml", "/bomb.xml", "/atom.xml",
             "/sitemap_index.xml", "/sitemap-news.xml", "/sitemap-pages.xml.gz",
             "/sitemap-bomb.xml", "/india/", "/world/", "/tag/elections/", "/about-us.html",
             "/india/archive/"}
TEST_SETTINGS = {  # fast and deterministic on loopback; the politeness logic stays on
    "DOWNLOAD_TIMEOUT": "1", "AUTOTHROTTLE_START_DELAY": "0", "DOWNLOAD_DELAY": "0",
    "RETRY_TIMES": "2", "RETRY_BACKOFF_BASE": "0.1", "EXTRACT_WORKERS": "1",
    "DOWNLOAD_MAXSIZE": str(1024 * 1024),
    # Pages stored at close only: StorePipeline cancels a periodic flush that is still
    # writing at close, and that batch's pages go uncounted in the run's stats.
    "STORE_FLUSH_SECONDS": "600",
}


@dataclass
class TwoRuns:
    network: NewsNetwork
    down: str  # the homepage of an outlet whose server is down
    engine: Engine
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    logs: tuple[dict[str, list[Logged]], dict[str, list[Logged]]]  # site -> requests, per run

    def url(self, site: str, path: str) -> str:
        return canonical_url(self.network.site(site).link(path))

    def requested(self, run: int, site: str, path: str) -> list[Logged]:
        return [r for r in self.logs[run][site] if unquote(r.path).split("?")[0] == path]

    def paths(self, run: int) -> set[tuple[str, str]]:
        return {(site, unquote(r.path).split("?")[0])
                for site, log in self.logs[run].items() for r in log}

    def captures(self, run: int) -> list[Capture]:
        with Session(self.engine) as session:
            run_id = session.scalars(select(CrawlRun.id).order_by(CrawlRun.id)).all()[run]
            return list(session.scalars(select(Capture).where(Capture.crawl_run_id == run_id)))

    def capture(self, run: int, url: str) -> Capture:
        return next(c for c in self.captures(run) if url in (c.url, c.final_url))

    def articles(self) -> dict[str, Article]:
        with Session(self.engine) as session:
            return {a.url: a for a in session.scalars(select(Article))}


def write_sources(folder: Path, network: NewsNetwork, down: str) -> Path:
    daily, weekly, metro, town = (network.site(n).url for n in ("daily", "weekly", "metro", "town"))
    path = folder / "sources.toml"
    path.write_text(f"""
[[source]]
name = "Daily"
homepage = "{daily}/"
language = "hi"
feeds = ["{daily}/rss.xml", "{daily}/broken.xml", "{daily}/bomb.xml"]

[[source]]
name = "Weekly"
homepage = "{weekly}/"

[[source]]
name = "Metro"
homepage = "{metro}/"

[[source]]
name = "Town Crier"
homepage = "{town}/"

[[source]]
name = "Down"
homepage = "{down}"
""", encoding="utf-8")
    return path


def crawl(sources: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    settings = [arg for name, value in TEST_SETTINGS.items() for arg in ("-s", f"{name}={value}")]
    return run_scrapy("crawl", "news", "-a", f"sources={sources}", *settings,
                      database_url=database_url, timeout=120)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoRuns]:
    folder = tmp_path_factory.mktemp("news")
    database_url = empty_database(request, folder)
    network = NewsNetwork()
    network.start()
    try:
        down = f"http://127.0.0.1:{unused_port()}/"
        sources = write_sources(folder, network, down)
        first = crawl(sources, database_url)
        first_logs = {name: site.requests() for name, site in network.sites.items()}
        network.clear_logs()
        network.touch("daily", KIM)
        network.site("weekly").routes[FEATURE].body = corpus_page(13)
        network.touch("weekly", FEATURE)
        second = crawl(sources, database_url)
        second_logs = {name: site.requests() for name, site in network.sites.items()}
        engine = create_archive_engine(database_url)
        yield TwoRuns(network, down, engine, first, second, (first_logs, second_logs))
        engine.dispose()
    finally:
        network.stop()


def test_every_discovery_route_finds_its_articles(runs: TwoRuns) -> None:
    expected = {runs.url(site, path) for site, paths in runs.network.articles.items()
                for path in paths}
    archived = runs.articles()
    assert set(archived) == expected, runs.first.stderr[-3000:]
    found = {c.article_id: (c.listing or {}).get("from") for c in runs.captures(0)}
    route = {url: found[article.id] for url, article in archived.items()}
    assert route[runs.url("daily", KIM)] == "rss"  # named feed
    assert route[runs.url("weekly", FEATURE)] == "atom"  # feed announced by the homepage
    assert route[runs.url("metro", "/city/council-votes-budget-54322.html")] == "news-sitemap"
    assert route[runs.url("metro", "/city/bridge-repair-54323.html")] == "sitemap"  # gzipped
    assert route[runs.url("town", "/world/alaska-summit-phone-call.html")] == "link"  # depth 2
    found_by = {urlsplit(c.url).path: (c.listing or {}).get("from") for c in runs.captures(0)}
    assert found_by["/atom.xml"] == "homepage"
    assert found_by["/sitemap_index.xml"] == "robots.txt"
    assert found_by["/sitemap-news.xml"] == "sitemap-index"


def test_disallowed_non_html_and_too_deep_links_are_never_requested(runs: TwoRuns) -> None:
    requested = runs.paths(0) | runs.paths(1)
    for site, path in [
        ("daily", "/private/secret-story-12349.html"),  # robots.txt Disallow
        ("metro", "/drafts/unpublished-54324.html"),  # robots.txt Disallow, in a sitemap
        ("daily", "/files/annual-report.pdf"), ("town", "/files/town-budget.pdf"),
        ("town", "/contact/"),
        ("town", "/india/archive/very-old-story-11111.html"),  # 3 links from the homepage
    ]:
        assert (site, path) not in requested
    assert ("town", "/india/archive/") in requested  # depth 2: fetched, links not followed


def test_article_urls_are_canonical(runs: TwoRuns) -> None:
    archived = runs.articles()
    daily = runs.network.site("daily").url
    assert f"{daily}{KIM}" in archived  # utm_* and fbclid dropped
    assert f"{daily}/news/moved-story-final.html" in archived  # 301 followed
    assert f"{daily}/news/temp-story-final.html" in archived  # 302 followed
    assert f"{daily}/news/canonical-story-12348.html" in archived  # rel=canonical, same site
    assert not any("print-story" in url or "/r/" in url for url in archived)
    devanagari = runs.url("daily", DEVANAGARI)
    assert devanagari in archived and unquote(devanagari).endswith(DEVANAGARI)
    moved = runs.capture(0, f"{daily}/r/moved-story")
    assert (moved.final_url, moved.http_status) == (f"{daily}/news/moved-story-final.html", 200)
    assert "utm_source=rss" in runs.capture(0, f"{daily}{KIM}").listing["link"]


def test_a_server_error_is_retried_and_retry_after_is_waited_for(runs: TwoRuns) -> None:
    flaky = runs.requested(0, "daily", "/news/flaky-story-12345.html")
    assert [r.status for r in flaky] == [500, 200]
    busy = runs.requested(0, "daily", "/news/throttled-story-12346.html")
    assert [r.status for r in busy] == [429, 200]
    assert busy[1].at - busy[0].at >= 1.0  # the server said Retry-After: 1
    archived = runs.articles()
    assert runs.url("daily", "/news/flaky-story-12345.html") in archived
    assert runs.url("daily", "/news/throttled-story-12346.html") in archived


def test_failures_are_stored_with_their_reasons_and_a_broken_outlet_fails_the_run(
    runs: TwoRuns,
) -> None:
    # Exit 1 because an outlet is broken (Down's homepage), not for Daily's dead link,
    # timeout or bad feeds: those are stored and counted, and Daily is healthy.
    assert runs.first.returncode == 1, runs.first.stderr[-3000:]
    failed = {c.url: c for c in runs.captures(0) if c.outcome == "failed"}
    daily = runs.network.site("daily").url
    assert {url: c.error for url, c in failed.items()} == {
        f"{daily}/news/missing-story-404.html": "http-404",
        f"{daily}{SLOW}": "timeout",
        f"{daily}/news/cafe-creme-story.html": "bad-charset",
        f"{daily}/news/huge-story-12350.html": "too-large",
        f"{daily}/news/video-story-12351": "not-html",
        f"{daily}/broken.xml": "malformed-feed",
        f"{daily}/bomb.xml": "xml-entities",
        f"{runs.network.site('metro').url}/sitemap-bomb.xml": "xml-entities",
        runs.down: "connection-refused",
    }
    for url, capture in failed.items():
        assert url in capture.error_detail
    assert len(runs.requested(0, "daily", SLOW)) == 3  # tried, then retried twice
    with Session(runs.engine) as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).first()
    assert run.status == "failed" and run.spider == "news"
    assert run.arguments["outlets"] == ["Daily", "Weekly", "Metro", "Town Crier", "Down"]
    assert run.stats["archive/failed"] == 9
    assert run.stats["archive/failed/xml-entities"] == 2
    assert "timeout: 1" in runs.first.stdout
    assert run.stats["news/broken-outlets"] == 1
    why = run.stats["news/outlet/Down/broken"]
    assert why.startswith("Down: its homepage failed (connection-refused)")
    assert f"broken outlet: {why}" in runs.first.stderr
    assert run.stats["news/outlet/Daily/failed"] == 4  # 404, timeout, too large, not HTML


def test_only_articles_become_articles(runs: TwoRuns) -> None:
    outcomes = {(urlsplit(c.url).port, urlsplit(c.url).path): c.outcome for c in runs.captures(0)}
    town = urlsplit(runs.network.site("town").url).port
    for path in ("/", "/india/", "/world/", "/tag/elections/", "/about-us.html",
                 "/india/archive/"):
        assert outcomes[(town, path)] == "not-article", path
    for site in ("daily", "weekly", "metro"):
        assert outcomes[(urlsplit(runs.network.site(site).url).port, "/")] == "not-article"
    assert not [url for url in runs.articles() if urlsplit(url).path.endswith("/")]


def test_listing_metadata_fills_what_the_page_lacks(runs: TwoRuns) -> None:
    archived = runs.articles()
    pact = archived[runs.url("weekly", "/story/putin-kim-pact-signed.html")]  # no date on page
    assert datetime.fromisoformat(pact.published_at) == PAGE_DATE
    assert pact.metadata_sources["published_at"] == "atom"
    metro = archived[runs.url("metro", "/city/metro-line-opens-54321.html")]
    assert datetime.fromisoformat(metro.published_at) == PAGE_DATE
    assert metro.metadata_sources["published_at"] == "news-sitemap"
    kim = archived[runs.url("daily", KIM)]  # the page states its own date
    assert kim.metadata_sources["published_at"] == "json-ld"


def test_hindi_page_without_a_charset_is_decoded(runs: TwoRuns) -> None:
    page = runs.articles()[runs.url("daily", "/news/hindi-no-charset-story.html")]
    assert page.title == seed_stories()[4].title
    assert seed_stories()[4].paragraphs[0][:60] in page.text


def test_second_run_fetches_no_article_again_and_adds_nothing(runs: TwoRuns) -> None:
    assert runs.second.returncode == 1  # Down is still down (its homepage is an alarm)
    fetched = {path for _, path in runs.paths(1)} - DISCOVERY
    assert fetched == {KIM, FEATURE, SLOW}
    outcomes = [c.outcome for c in runs.captures(1)]
    assert "new" not in outcomes and "duplicate" not in outcomes
    archived = runs.articles()
    with Session(runs.engine) as session:
        first_run_articles = session.scalar(
            select(func.count(func.distinct(Capture.article_id))).where(
                Capture.crawl_run_id == runs.captures(0)[0].crawl_run_id))
        versions = session.scalars(select(ArticleVersion)).all()
    assert len(archived) == first_run_articles
    assert [v.article_id for v in versions] == [archived[runs.url("weekly", FEATURE)].id]


def test_a_listing_saying_changed_brings_a_conditional_request(runs: TwoRuns) -> None:
    first = runs.capture(0, runs.url("daily", KIM))
    [again] = runs.requested(1, "daily", KIM)
    assert again.headers["if-none-match"] == first.etag
    assert again.status == 304
    revisit = runs.capture(1, runs.url("daily", KIM))
    assert (revisit.outcome, revisit.http_status) == ("not-modified", 304)
    assert revisit.content_length is None  # no body, nothing extracted
    [changed] = runs.requested(1, "weekly", FEATURE)
    assert "if-none-match" in changed.headers and changed.status == 200
    assert runs.capture(1, runs.url("weekly", FEATURE)).outcome == "updated"
    assert runs.articles()[runs.url("weekly", FEATURE)].version == 2


def test_an_unchanged_listing_adds_no_capture_and_is_counted(runs: TwoRuns) -> None:
    """Homepages, feeds, sitemaps and sections whose body is the same as last run's are
    fetched and followed (their links found) but store no row; a changed one is stored."""
    listing_paths = DISCOVERY - {"/robots.txt"}
    first = {(c.url, c.content_hash) for c in runs.captures(0)
             if urlsplit(c.url).path in listing_paths and c.error is None}
    second = {c.url: c for c in runs.captures(1) if urlsplit(c.url).path in listing_paths}
    changed = {runs.network.site("daily").link("/rss.xml"),  # says KIM changed
               runs.network.site("weekly").link("/atom.xml")}  # says FEATURE changed
    # The gzipped sitemap is compressed anew for each request (a new gzip mtime): its
    # bytes as received, what the digest is of, may differ from last run's.
    regzipped = {runs.network.site("metro").link("/sitemap-pages.xml.gz")}
    stored = {url for url, c in second.items() if c.error is None}
    assert changed <= stored <= changed | regzipped
    for url in stored:  # stored with the new digest
        assert (url, second[url].content_hash) not in first
    unchanged = {url for url, _ in first} - stored
    expected = {runs.network.site(site).link("/") for site in ("daily", "weekly", "metro", "town")}
    expected |= {runs.network.site("metro").link(path)
                 for path in ("/sitemap_index.xml", "/sitemap-news.xml")}
    expected |= {runs.network.site("town").link(path) for path in (
        "/india/", "/world/", "/tag/elections/", "/about-us.html", "/india/archive/")}
    assert expected <= unchanged <= expected | regzipped
    with Session(runs.engine) as session:
        stats = session.scalars(select(CrawlRun.stats).order_by(CrawlRun.id)).all()
    assert "news/listings/unchanged" not in stats[0]
    assert stats[1]["news/listings/unchanged"] == len(unchanged)
    assert stats[1]["news/outlet/Town Crier/listings-unchanged"] == 6  # homepage, sections
    # Fetched all the same: the link crawl below an unchanged homepage still ran.
    assert ("town", "/india/archive/") in runs.paths(1)
    # A failed listing is no unchanged one: stored again, as failed.
    assert second[runs.network.site("daily").link("/broken.xml")].error == "malformed-feed"
