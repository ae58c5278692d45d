"""Bad input for the live crawl: one hostile fixture network, real ``scrapy crawl news``
runs over HTTP on loopback addresses, once per database (SQLite file and PostgreSQL).

- ``Hostile`` (127.0.0.1) lists, links and redirects to a second host (127.0.0.2) and to
  cloud-metadata and intranet addresses, loops its redirects, answers 4xx/5xx, empty,
  binary, huge, mislabelled and broken-gzip bodies, XML bombs and a sitemap past the
  protocol's 50,000 URLs. Every case is in :data:`CASES` with the reason its capture
  must hold. The 127.0.0.2 server must receive no request at all.
- ``Loopy`` (127.0.0.4) allows the host name ``localhost`` and lists a page there: the
  name resolves to 127.0.0.1, a loopback address that is not the outlet's own.
- ``Allowed`` names 127.0.0.3 in ``allowed_hosts``: a page there is fetched.
- ``Moved``'s homepage redirects to 127.0.0.2: refused, and the outlet is broken.
- ``Linky`` (a link crawl) is crawled twice on its own: dead links and redirects are
  not requested again, and dead links alone do not fail a run.
"""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.database import create_archive_engine
from archive.models import Article, Capture, CrawlRun
from tests.conftest import empty_database, run_scrapy
from tests.fixture_site import (
    BROKEN_FEED,
    PAGE_DATE,
    XML_BOMB,
    FixtureNetwork,
    Site,
    Story,
    article_html,
    listing_page,
    seed_stories,
    sitemap,
    sitemap_index,
)
from tests.test_news_crawl import TEST_SETTINGS

HOPS = 3  # REDIRECT_MAX_TIMES of these runs
METADATA = "http://169.254.169.254/latest/meta-data/"
INTRANET = "http://10.1.2.3/story-10007.html"
MAPPED = "http://[::ffff:10.0.0.1]/mapped-story-10014.html"
GOOD = "/news/good-story-10030.html"

# What the Hostile outlet's feed lists: path -> the reason its capture must fail with.
FEED_CASES = {
    "/go/perm-elsewhere-10003.html": "off-site",  # 301 to 127.0.0.2
    "/go/temp-elsewhere-10004.html": "off-site",  # 302 to 127.0.0.2
    "/go/refresh-elsewhere-10005.html": "off-site",  # meta refresh to 127.0.0.2
    "/go/metadata-10008.html": "private-address",  # 302 to 169.254.169.254
    "/loop/a-10009.html": "redirect-loop",  # a -> b -> a
    "/loop/self-10010.html": "redirect-loop",  # to itself
    "/loop/refresh-10011.html": "redirect-loop",  # meta refresh to itself
    "/hop/0": "too-many-redirects",  # /hop/0 -> /hop/1 -> ... past REDIRECT_MAX_TIMES
    "/go/ftp-10015.html": "http-301",  # a redirect to ftp: not followed, the 301 stays
    "/news/gone-10016.html": "http-404",
    "/news/removed-10017.html": "http-410",
    "/news/forbidden-10018.html": "http-403",
    "/news/broken-10019.html": "http-500",  # after its retries
    "/news/empty-10020.html": "empty",
    "/news/binary-10021.html": "binary",  # served as text/html
    "/news/octet-10022.html": "not-html",  # application/octet-stream
    "/news/photo-10023.html": "not-html",  # image/jpeg
    "/news/huge-10024.html": "too-large",
    "/news/no-text-10025.html": "no-article-text",
    "/news/bad-charset-10026.html": "bad-charset",  # cp1252 bytes declared UTF-8
}
# Feeds the sources file names: path -> reason.
FEEDS = {
    "/feed.xml": None,
    "/feed-broken-gzip.xml": "bad-gzip",
    "/feed-bomb.xml": "xml-entities",
    "/feed-malformed.xml": "malformed-feed",
    "/feed-missing.xml": "http-404",
    "/feed-empty.xml": "malformed-xml",
    "/feed-json.xml": "malformed-xml",  # JSON where XML should be
    "/feed-html.xml": "not-a-feed",  # an HTML page
}


@dataclass
class Crawl:
    network: HostileNetwork
    engine: Engine
    hostile: subprocess.CompletedProcess[str]
    linky: tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]
    linky_logs: tuple[set[str], set[str]]

    def runs(self) -> list[CrawlRun]:
        with Session(self.engine) as session:
            return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))

    def failed(self, run: int) -> dict[str, Capture]:
        run_id = self.runs()[run].id
        with Session(self.engine) as session:
            return {c.url: c for c in session.scalars(select(Capture).where(
                Capture.crawl_run_id == run_id, Capture.outcome == "failed"))}


class HostileNetwork(FixtureNetwork):
    def __init__(self) -> None:
        super().__init__()
        self.other = self.add_site("other", "127.0.0.2")  # must receive nothing
        self.third = self.add_site("third", "127.0.0.3")  # allowed by Allowed
        self.hostile = self.add_site("hostile")
        self.loopy = self.add_site("loopy", "127.0.0.4")
        self.allowed = self.add_site("allowed")
        self.linky = self.add_site("linky")
        self.moved = self.add_site("moved")
        self.moved.redirect("/", f"{self.other.url}/", 301)
        stories = seed_stories()
        self.build_hostile(self.hostile, stories[0])
        port = urlsplit(self.hostile.url).port
        self.loopy.add("/", listing_page("Loopy", []))
        self.loopy.add("/feed.xml", rss_of([f"http://localhost:{port}{GOOD}"]),
                       content_type="application/rss+xml")
        self.allowed.add("/", listing_page("Allowed", []))
        self.allowed.add("/feed.xml", rss_of([f"{self.third.url}/allowed-story-10031.html"]),
                         content_type="application/rss+xml")
        self.third.add("/allowed-story-10031.html",
                       article_html(stories[1], published=PAGE_DATE).encode())
        self.build_linky(self.linky, stories)

    def build_hostile(self, site: Site, story: Story) -> None:
        other = self.other.url
        site.add("/", listing_page("Hostile", []))
        site.add("/robots.txt", (f"User-agent: *\nSitemap: {site.url}/sitemap_index.xml\n"
                                 f"Sitemap: {other}/robots-sitemap.xml\n"
                                 f"Sitemap: ftp://{urlsplit(site.url).netloc}/ftp.xml\n").encode(),
                 content_type="text/plain")
        site.add("/sitemap_index.xml", sitemap_index(site, ["/sitemap-main.xml",
                                                             "/sitemap-huge.xml.gz"])
                 .replace(b"</sitemapindex>",
                          f"<sitemap><loc>{other}/child-sitemap.xml</loc></sitemap>"
                          "</sitemapindex>".encode()),
                 content_type="application/xml")
        main = sitemap(site, [GOOD])().replace(b"</urlset>", "".join(
            f"<url><loc>{url}</loc></url>" for url in (
                f"{other}/sitemap-story-10002.html", METADATA, INTRANET, MAPPED)
        ).encode() + b"</urlset>")
        site.add("/sitemap-main.xml", main, content_type="application/xml")
        over = b"<url><loc>%s</loc></url>" % GOOD.encode() * 50_001
        site.add("/sitemap-huge.xml.gz", gzip.compress(
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + over + b"</urlset>"), content_type="application/gzip")
        site.add(GOOD, article_html(story, published=PAGE_DATE - timedelta(hours=1)).encode())

        site.add("/feed.xml", rss_of([
            f"{other}/feed-story-10001.html", "javascript:alert(1)", "ftp://example.org/x.html",
            GOOD, *FEED_CASES]), content_type="application/rss+xml")
        site.add("/feed-broken-gzip.xml", b"\x1f\x8b\x08\x00not gzip at all",
                 content_type="application/rss+xml")
        site.add("/feed-bomb.xml", XML_BOMB, content_type="application/rss+xml")
        site.add("/feed-malformed.xml", BROKEN_FEED, content_type="application/rss+xml")
        site.add("/feed-empty.xml", b"", content_type="application/rss+xml")
        site.add("/feed-json.xml", b'{"items": []}', content_type="application/json")
        site.add("/feed-html.xml", listing_page("Not a feed", []))

        site.redirect("/go/perm-elsewhere-10003.html", f"{other}/moved-10003.html", 301)
        site.redirect("/go/temp-elsewhere-10004.html", f"{other}/moved-10004.html", 302)
        site.add("/go/refresh-elsewhere-10005.html", refresh_page(f"{other}/moved-10005.html"))
        site.redirect("/go/metadata-10008.html", METADATA, 302)
        site.redirect("/loop/a-10009.html", "/loop/b-10009.html", 302)
        site.redirect("/loop/b-10009.html", "/loop/a-10009.html", 302)
        site.redirect("/loop/self-10010.html", "/loop/self-10010.html", 301)
        site.add("/loop/refresh-10011.html", refresh_page("/loop/refresh-10011.html"))
        for hop in range(HOPS + 2):
            site.redirect(f"/hop/{hop}", f"/hop/{hop + 1}", 302)
        site.redirect("/go/ftp-10015.html", "ftp://example.org/story.html", 301)
        site.add("/news/removed-10017.html", b"gone", status=410)
        site.add("/news/forbidden-10018.html", b"no", status=403)
        site.add("/news/broken-10019.html", b"", fail_first=1000)
        site.add("/news/empty-10020.html", b"")
        site.add("/news/binary-10021.html", bytes(range(256)) * 64)
        site.add("/news/octet-10022.html", b"\x00\x01\x02", content_type="application/octet-stream")
        site.add("/news/photo-10023.html", b"\xff\xd8\xff\xe0JFIF", content_type="image/jpeg")
        site.add("/news/huge-10024.html", b"<html><body>" + b"<p>words here</p>" * 200_000)
        site.add("/news/no-text-10025.html", b"<html><head><title>x</title></head><body></body>"
                                             b"</html>")
        site.add("/news/bad-charset-10026.html", (
            "<html><head><meta charset='utf-8'><title>Caf\xe9</title></head><body><article>"
            + "<p>Un caf\xe9 cr\xe8me \xe0 la terrasse, na\xefve r\xe9sum\xe9. </p>" * 40
            + "</article></body></html>").encode("cp1252"))

    def build_linky(self, site: Site, stories: list[Story]) -> None:
        """A link crawl with dead links, redirecting links, an off-site link, and an
        article whose URL does not look like one but which states its publication."""
        published = PAGE_DATE - timedelta(hours=2)
        site.add("/", listing_page("Linky", [(p, p) for p in (
            "/india/", "/news/linky-good-story-20001.html", "/news/dead-story-20002.html",
            "/dead-section/", "/old-section/", "/r/moved", "/features/monsoon-rains",
            f"{self.other.url}/linked-story-20004.html")]))
        site.add("/india/", listing_page("India", [("/news/linky-good-story-20001.html", "")]))
        site.add("/news/linky-good-story-20001.html",
                 article_html(stories[2], published=published, style="og").encode())
        site.redirect("/old-section/", "/india/", 301)
        site.redirect("/r/moved", "/news/linky-moved-story-20003.html", 301)
        site.add("/news/linky-moved-story-20003.html",
                 article_html(stories[3], published=published, style="og").encode())
        stated = article_html(stories[4], style="plain").replace(
            "<head>", '<head><meta property="article:published_time" '
            f'content="{published.isoformat()}">', 1)
        site.add("/features/monsoon-rains", stated.encode())


def rss_of(links: list[str]) -> bytes:
    items = "".join(f"<item><title>{n}</title><link>{link.replace('&', '&amp;')}</link></item>"
                    for n, link in enumerate(links))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode()


def refresh_page(target: str) -> bytes:
    return (f'<html><head><meta http-equiv="refresh" content="0; url={target}"></head>'
            "<body><p>moved</p></body></html>").encode()


def crawl(sources: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    settings = {**TEST_SETTINGS, "DOWNLOAD_MAXSIZE": str(3 * 1024 * 1024),
                "REDIRECT_MAX_TIMES": str(HOPS)}
    arguments = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    return run_scrapy("crawl", "news", "-a", f"sources={sources}", *arguments,
                      database_url=database_url, timeout=180)


def paths(site: Site) -> set[str]:
    return {r.path for r in site.requests()}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawl]:
    folder = tmp_path_factory.mktemp("hostile")
    database_url = empty_database(request, folder)
    network = HostileNetwork()
    network.start()
    try:
        h, loopy, allowed = network.hostile.url, network.loopy.url, network.allowed.url
        feeds = ", ".join(f'"{h}{path}"' for path in FEEDS)
        sources = folder / "sources.toml"
        sources.write_text(f"""
[[source]]
name = "Hostile"
homepage = "{h}/"
feeds = [{feeds}]

[[source]]
name = "Loopy"
homepage = "{loopy}/"
feeds = ["{loopy}/feed.xml"]
allowed_hosts = ["localhost"]

[[source]]
name = "Allowed"
homepage = "{allowed}/"
feeds = ["{allowed}/feed.xml"]
allowed_hosts = ["127.0.0.3"]

[[source]]
name = "Moved"
homepage = "{network.moved.url}/"
""", encoding="utf-8")
        first = crawl(sources, database_url)
        linky_sources = folder / "linky.toml"
        linky_sources.write_text(
            f'[[source]]\nname = "Linky"\nhomepage = "{network.linky.url}/"\n', encoding="utf-8")
        linky_first = crawl(linky_sources, database_url)
        first_log = paths(network.linky)
        network.linky.log.clear()
        linky_second = crawl(linky_sources, database_url)
        engine = create_archive_engine(database_url)
        yield Crawl(network, engine, first, (linky_first, linky_second),
                    (first_log, paths(network.linky)))
        engine.dispose()
    finally:
        network.stop()


def test_every_bad_input_is_a_failed_capture_with_its_reason(hostile: Crawl) -> None:
    h, other = hostile.network.hostile.url, hostile.network.other.url
    expected = {f"{h}{path}": reason for path, reason in FEED_CASES.items()}
    expected |= {f"{h}{path}": reason for path, reason in FEEDS.items() if reason}
    expected |= {
        f"{other}/feed-story-10001.html": "off-site",  # a feed entry
        f"{other}/sitemap-story-10002.html": "off-site",  # a sitemap entry
        f"{other}/child-sitemap.xml": "off-site",  # a sitemap index's child
        f"{other}/robots-sitemap.xml": "off-site",  # a robots.txt Sitemap: line
        METADATA: "private-address",
        INTRANET: "private-address",
        MAPPED: "private-address",
        f"{h}/sitemap-huge.xml.gz": "sitemap-truncated",
        f"http://localhost:{urlsplit(h).port}{GOOD}": "private-address",  # Loopy's
        f"{hostile.network.moved.url}/": "off-site",  # Moved's homepage, redirected
    }
    failed = hostile.failed(0)
    assert {url: c.error for url, c in failed.items()} == expected, hostile.hostile.stderr[-3000:]
    for capture in failed.values():
        assert capture.error_detail, capture.url


def test_nothing_reaches_another_host_or_a_private_address(hostile: Crawl) -> None:
    assert hostile.network.other.requests() == []
    # Loopy's localhost URL was refused before any connection: no request came with it.
    hosts = {r.headers.get("host", "") for r in hostile.network.hostile.requests()}
    assert not any(host.startswith("localhost") for host in hosts)
    failed = hostile.failed(0)
    h, other = hostile.network.hostile.url, hostile.network.other.url
    redirected = failed[f"{h}/go/perm-elsewhere-10003.html"]
    assert redirected.final_url == f"{other}/moved-10003.html"
    assert f"redirected from {h}/go/perm-elsewhere-10003.html" in redirected.error_detail
    assert "allowed_hosts" in redirected.error_detail and "Hostile" in redirected.error_detail
    listed = failed[f"{other}/sitemap-story-10002.html"].error_detail
    assert f"listed in {h}/sitemap-main.xml" in listed
    assert "169.254.169.254, a link-local address" in failed[METADATA].error_detail
    assert "10.1.2.3, a private address" in failed[INTRANET].error_detail
    stats = hostile.runs()[0].stats
    assert stats["news/refused/off-site"] == 8
    assert stats["news/refused/private-address"] == 5
    assert stats["archive/failed/off-site"] == 8
    assert stats["news/skipped/not-http"] == 3  # javascript: and ftp: entries, ftp: Sitemap


def test_an_allowed_host_is_fetched_robots_txt_included(hostile: Crawl) -> None:
    third = hostile.network.third
    assert paths(third) == {"/robots.txt", "/allowed-story-10031.html"}
    with Session(hostile.engine) as session:
        urls = set(session.scalars(select(Article.url)))
    assert f"{third.url}/allowed-story-10031.html" in urls
    assert f"{hostile.network.hostile.url}{GOOD}" in urls


def test_redirect_loops_and_overlong_chains_are_named(hostile: Crawl) -> None:
    failed = hostile.failed(0)
    h = hostile.network.hostile.url
    loop = failed[f"{h}/loop/a-10009.html"].error_detail
    assert f"{h}/loop/a-10009.html -> {h}/loop/b-10009.html -> {h}/loop/a-10009.html" in loop
    assert f"REDIRECT_MAX_TIMES {HOPS}" in failed[f"{h}/hop/0"].error_detail
    assert paths(hostile.network.hostile) >= {f"/hop/{n}" for n in range(HOPS + 1)}
    assert f"/hop/{HOPS + 1}" not in paths(hostile.network.hostile)


def test_a_sitemap_past_50000_urls_is_used_and_its_cut_recorded(hostile: Crawl) -> None:
    capture = hostile.failed(0)[f"{hostile.network.hostile.url}/sitemap-huge.xml.gz"]
    assert "50,001 URLs" in capture.error_detail and "1 ignored" in capture.error_detail
    assert hostile.runs()[0].stats["news/sitemap-truncated"] == 1


def test_a_broken_outlet_fails_the_run_and_is_named(hostile: Crawl) -> None:
    run = hostile.hostile
    assert run.returncode == 1, run.stderr[-3000:]
    stats = hostile.runs()[0].stats
    assert stats["news/broken-outlets"] == 2  # not Loopy, not Allowed
    for outlet, why in [("Hostile", "Hostile: 12 of its 17 page fetches failed"),
                        ("Moved", "Moved: its homepage failed (off-site)")]:
        line = stats[f"news/outlet/{outlet}/broken"]
        assert line.startswith(why)
        assert f"broken outlet: {line}" in run.stderr
    assert "Traceback" not in run.stderr


def test_dead_links_are_remembered_and_do_not_fail_the_run(hostile: Crawl) -> None:
    first, second = hostile.linky
    assert (first.returncode, second.returncode) == (0, 0), first.stderr[-3000:]
    runs = hostile.runs()
    failed = {urlsplit(url).path: c.error for url, c in hostile.failed(1).items()}
    assert failed == {"/news/dead-story-20002.html": "http-404", "/dead-section/": "http-404"}
    assert runs[1].stats["news/skipped/off-site-link"] == 1
    # Second run: the homepage, robots.txt and the one live section, nothing else.
    first_log, second_log = hostile.linky_logs
    assert {"/dead-section/", "/old-section/", "/r/moved"} <= first_log
    assert second_log == {"/", "/robots.txt", "/india/"}
    assert runs[2].stats["news/skipped/dead-link"] == 1
    assert runs[2].stats["news/skipped/known-redirect"] == 1  # /old-section/ -> /india/


def test_a_page_stating_its_publication_is_an_article_whatever_its_url(hostile: Crawl) -> None:
    with Session(hostile.engine) as session:
        article = session.scalars(select(Article).where(
            Article.url == f"{hostile.network.linky.url}/features/monsoon-rains")).one()
    assert article.metadata_sources["published_at"] == "og"
