"""A fixture news network on 127.0.0.1: small news sites, each on its own port.

Tests and benchmarks crawl it with the real ``scrapy crawl news`` over real HTTP::

    network = news_network()          # or large_site(3000) for benchmarks
    urls = network.start()            # {"daily": "http://127.0.0.1:41234", ...}
    ...                               # crawl, then network.site("daily").requests("/rss.xml")
    network.stop()

Pages come from the seed texts (wrapped into article HTML, some with JSON-LD or og tags,
some with none) and from the WCXB corpus pages. Every site logs each request (path,
headers, status), so a test can assert what was fetched, and answers conditional
requests from the ETag and Last-Modified it sends. The listings (feeds, sitemaps) are
rendered per request from ``Site.listed`` dates, so a test can make a feed say a page
changed (:meth:`NewsNetwork.touch`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

from tests.conftest import CORPUS, SEEDS

CORPUS_HTML = CORPUS / "html"
HTML = "text/html; charset=utf-8"
NOW = datetime.now(UTC).replace(microsecond=0)
PAGE_DATE = NOW - timedelta(days=2)  # Last-Modified of every page


@dataclass
class Logged:
    path: str  # path and query, as requested
    headers: dict[str, str]  # lower-case names
    status: int  # 0 while the answer is being prepared
    at: float  # time.monotonic() when the request came in


@dataclass
class Resource:
    """What a path answers. ``body`` may be a function, rendered per request."""

    body: bytes | Callable[[], bytes] = b""
    content_type: str | None = HTML
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    validators: bool = True  # send ETag/Last-Modified and answer 304 when they match
    delay: float = 0.0  # seconds before answering
    fail_first: int = 0  # answer fail_status this many times before succeeding
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)
    served: int = 0

    def content(self) -> bytes:
        return self.body() if callable(self.body) else self.body


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a crawler closing a kept-alive connection is not worth a traceback


class Site:
    """One news site: a threaded HTTP/1.1 server on a loopback address (127.0.0.1 unless
    told: Linux routes all of 127/8 to lo, so other addresses are other hosts) with an
    ephemeral port."""

    def __init__(self, name: str, host: str = "127.0.0.1") -> None:
        self.name = name
        self.routes: dict[str, Resource] = {}
        self.log: list[Logged] = []
        self.listed: dict[str, datetime] = {}  # path -> the lastmod its listings state
        self.lock = threading.Lock()
        self.active = 0  # requests being answered now
        self.most_active = 0  # the most at once since the start (or clear_logs)
        self.server = QuietServer((host, 0), self.handler())
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread: threading.Thread | None = None

    def add(self, path: str, body: bytes | Callable[[], bytes] = b"", **options) -> Resource:
        self.routes[path] = resource = Resource(body, **options)
        return resource

    def redirect(self, path: str, target: str, status: int = 301) -> None:
        self.add(path, content_type=None, status=status, validators=False,
                 headers={"Location": target})

    def link(self, path: str) -> str:
        return self.url + quote(path, safe="/?=&%")

    def requests(self, path: str | None = None) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if path is None or r.path == path]

    def start(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name=f"fixture-{self.name}")
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        entry = Logged(path, headers, 0, time.monotonic())
        with self.lock:
            self.log.append(entry)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        route = unquote(path)
        resource = self.routes.get(route) or self.routes.get(route.split("?", 1)[0])
        try:
            status, headers, body = self.respond(resource, handler)
        finally:
            with self.lock:
                self.active -= 1
        entry.status = status
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def respond(
        self, resource: Resource | None, handler: BaseHTTPRequestHandler
    ) -> tuple[int, dict[str, str], bytes]:
        if resource is None:
            return 404, {"Content-Type": HTML}, b"<html><body><h1>Not found</h1></body></html>"
        if resource.delay:
            time.sleep(resource.delay)
        with self.lock:
            resource.served += 1
            failing = resource.served <= resource.fail_first
        if failing:
            return resource.fail_status, {"Content-Type": HTML, **resource.fail_headers}, b"error"
        body = resource.content()
        headers = dict(resource.headers)
        if resource.content_type:
            headers["Content-Type"] = resource.content_type
        if resource.validators and resource.status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = format_datetime(PAGE_DATE, usegmt=True)
            if not_modified(handler, etag):
                return 304, {"ETag": etag}, b""
        return resource.status, headers, body

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.answer(self)

            do_HEAD = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then freed): a site that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def not_modified(handler: BaseHTTPRequestHandler, etag: str) -> bool:
    if (wanted := handler.headers.get("If-None-Match")) is not None:
        return etag in [tag.strip() for tag in wanted.split(",")]
    if since := handler.headers.get("If-Modified-Since"):
        try:
            return parsedate_to_datetime(since) >= PAGE_DATE
        except (TypeError, ValueError):
            return False
    return False


class FixtureNetwork:
    """Several sites; start() binds nothing new (ports are taken at construction)."""

    def __init__(self) -> None:
        self.sites: dict[str, Site] = {}

    def add_site(self, name: str, host: str = "127.0.0.1") -> Site:
        self.sites[name] = site = Site(name, host)
        return site

    def site(self, name: str) -> Site:
        return self.sites[name]

    def start(self) -> dict[str, str]:
        for site in self.sites.values():
            site.start()
        return {name: site.url for name, site in self.sites.items()}

    def stop(self) -> None:
        for site in self.sites.values():
            site.stop()

    def clear_logs(self) -> None:
        for site in self.sites.values():
            with site.lock:
                site.log.clear()
                site.most_active = site.active

    def __enter__(self) -> FixtureNetwork:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# Page makers -------------------------------------------------------------------------


@dataclass
class Story:
    title: str
    paragraphs: list[str]


@cache
def seed_stories() -> list[Story]:
    """The seed page dumps as stories: the first long Devanagari line is the title,
    the long lines after it the paragraphs (menus and teasers are short)."""
    stories = []
    for path in sorted(SEEDS.glob("*.txt")):
        lines = [line.strip() for line in path.read_text("utf-8").splitlines()]
        hindi = [line for line in lines if any("\u0900" <= c <= "\u097f" for c in line)]
        title = next(line for line in hindi if len(line.split()) >= 6)
        body = [line for line in hindi[hindi.index(title) + 1:] if len(line.split()) >= 15]
        stories.append(Story(title, body))
    return stories


def variant(story: Story, outlet: str) -> Story:
    """The same story as another outlet runs it: an own standfirst, so a different text."""
    return Story(story.title, [f"{outlet} की विशेष रिपोर्ट: {story.title}", *story.paragraphs])


@cache
def corpus_files() -> list[Path]:
    """The WCXB pages by size, past the 40 smallest (stubs): 45 KB and up, so a test
    crawl extracts quickly and a benchmark cycles through sizes."""
    files = sorted(CORPUS_HTML.glob("*.html.gz"), key=lambda path: (path.stat().st_size, path.name))
    return files[40:] + files[:40]


@cache
def corpus_page(number: int) -> bytes:
    """A WCXB article page (real HTML)."""
    files = corpus_files()
    return gzip.decompress(files[number % len(files)].read_bytes())


def article_html(
    story: Story,
    *,
    published: datetime | None = None,
    style: str = "json-ld",  # json-ld | og | plain
    canonical: str | None = None,
    charset: str | None = "utf-8",
    lang: str = "hi",
) -> str:
    """An article page around a story, with the metadata style asked for."""
    head = [f'<meta charset="{charset}">'] if charset else []
    head.append(f"<title>{html.escape(story.title)} | Fixture News</title>")
    if canonical:
        head.append(f'<link rel="canonical" href="{html.escape(canonical)}">')
    if style == "json-ld":
        date = f', "datePublished": "{published.isoformat()}"' if published else ""
        head.append('<script type="application/ld+json">{"@context": "https://schema.org", '
                    f'"@type": "NewsArticle", "headline": "{html.escape(story.title)}"{date}}}'
                    "</script>")
    elif style == "og":
        head += ['<meta property="og:type" content="article">',
                 f'<meta property="og:title" content="{html.escape(story.title)}">']
        if published:
            head.append('<meta property="article:published_time" '
                        f'content="{published.isoformat()}">')
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{"".join(head)}</head><body>'
        '<header><nav><a href="/">Home</a> <a href="/india/">India</a></nav></header>'
        f"<main><article><h1>{html.escape(story.title)}</h1>{paragraphs}</article></main>"
        "<footer><p>© Fixture News</p></footer></body></html>"
    )


def listing_page(title: str, links: list[tuple[str, str]], extra_head: str = "") -> bytes:
    items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>'
                    for href, text in links)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta property="og:type" content="website">{extra_head}</head>'
            f"<body><h1>{html.escape(title)}</h1><ul>{items}</ul></body></html>").encode()


def rss(site: Site, items: list[tuple[str, str]]) -> Callable[[], bytes]:
    """An RSS 2.0 feed of (link, title); pubDate from ``site.listed`` of each path."""
    def render() -> bytes:
        entries = "".join(
            f"<item><title>{html.escape(title)}</title><link>{html.escape(site.url + link)}</link>"
            f"<pubDate>{format_datetime(site.listed.get(link.split('?')[0], PAGE_DATE))}</pubDate>"
            "</item>"
            for link, title in items
        )
        return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>{site.name}</title><link>{site.url}/</link><language>hi</language>"
                f"{entries}</channel></rss>").encode()
    return render


def atom(site: Site, items: list[tuple[str, str]]) -> Callable[[], bytes]:
    def render() -> bytes:
        entries = "".join(
            f"<entry><title>{html.escape(title)}</title>"
            f'<link href="{html.escape(site.url + link)}"/><id>{html.escape(site.url + link)}</id>'
            f"<published>{PAGE_DATE.isoformat()}</published><updated>"
            f"{site.listed.get(link.split('?')[0], PAGE_DATE).isoformat()}</updated></entry>"
            for link, title in items
        )
        return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
                f'xml:lang="hi"><title>{site.name}</title><id>{site.url}/</id>'
                f"<updated>{NOW.isoformat()}</updated>{entries}</feed>").encode()
    return render


SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def sitemap(site: Site, paths: list[str]) -> Callable[[], bytes]:
    def render() -> bytes:
        urls = "".join(
            f"<url><loc>{html.escape(site.link(p))}</loc>"
            f"<lastmod>{site.listed.get(p, PAGE_DATE).isoformat()}</lastmod></url>"
            for p in paths
        )
        return f'<?xml version="1.0"?><urlset {SITEMAP_NS}>{urls}</urlset>'.encode()
    return render


def news_sitemap(site: Site, items: list[tuple[str, str]]) -> Callable[[], bytes]:
    def render() -> bytes:
        urls = "".join(
            f"<url><loc>{html.escape(site.link(p))}</loc><news:news><news:publication>"
            "<news:name>Metro</news:name><news:language>hi</news:language></news:publication>"
            f"<news:publication_date>{site.listed.get(p, PAGE_DATE).isoformat()}"
            f"</news:publication_date><news:title>{html.escape(title)}</news:title>"
            "</news:news></url>"
            for p, title in items
        )
        return (f'<?xml version="1.0" encoding="UTF-8"?><urlset {SITEMAP_NS} {NEWS_NS}>'
                f"{urls}</urlset>").encode()
    return render


def sitemap_index(site: Site, paths: list[str]) -> bytes:
    entries = "".join(f"<sitemap><loc>{site.url}{p}</loc></sitemap>" for p in paths)
    return f'<?xml version="1.0"?><sitemapindex {SITEMAP_NS}>{entries}</sitemapindex>'.encode()


XML_BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
            + b"".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">'.encode() for n in range(1, 10))
            + b']>\n<rss version="2.0"><channel><title>&lol9;</title></channel></rss>')
BROKEN_FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>'
               b"<item><title>cut off here")


# The standard network ----------------------------------------------------------------


class NewsNetwork(FixtureNetwork):
    """Four outlets, one per discovery route, and the failures a crawl meets.

    - ``daily``: named RSS feed (tracking parameters, 301/302 redirects, 500 once, 429
      with Retry-After, 404, a slow page, cp1252 bytes declared UTF-8, a Hindi page with
      no charset, a Devanagari path, rel=canonical, a page over 1 MB, a video, a PDF, a
      robots.txt-disallowed page),
      plus a malformed feed and an XML bomb.
    - ``weekly``: homepage only; an Atom feed announced by ``<link rel="alternate">``;
      its pages state no date or title metadata, the feed does.
    - ``metro``: homepage only; robots.txt names a sitemap index with a Google News
      sitemap, a gzipped sitemap and an XML bomb, and disallows /drafts/.
    - ``town``: homepage and section pages only: the link crawl, with an about page, a
      tag page, a contact page, a PDF and an article beyond NEWS_DEPTH.
    """

    def __init__(self) -> None:
        super().__init__()
        self.articles: dict[str, set[str]] = {}  # site -> paths that are articles
        stories = seed_stories()
        self.build_daily(self.add_site("daily"), stories)
        self.build_weekly(self.add_site("weekly"), stories)
        self.build_metro(self.add_site("metro"), stories)
        self.build_town(self.add_site("town"), stories)

    def touch(self, site: str, path: str) -> None:
        """Make the site's feeds and sitemaps say the page changed now."""
        self.sites[site].listed[path] = datetime.now(UTC) + timedelta(minutes=1)

    def article(self, site: Site, path: str, body: bytes | str, **options) -> None:
        site.add(path, body.encode() if isinstance(body, str) else body, **options)
        self.articles.setdefault(site.name, set()).add(path)

    def build_daily(self, site: Site, stories: list[Story]) -> None:
        published = PAGE_DATE - timedelta(hours=3)
        self.article(site, "/news/kim-backs-russia-unconditionally.html",
                     article_html(stories[0], published=published))
        self.article(site, "/news/moved-story-final.html",
                     article_html(stories[1], published=published, style="og"))
        site.redirect("/r/moved-story", "/news/moved-story-final.html", 301)
        self.article(site, "/news/temp-story-final.html", corpus_page(0))
        site.redirect("/r/temp-story", "/news/temp-story-final.html", 302)
        self.article(site, "/news/flaky-story-12345.html", corpus_page(1), fail_first=1)
        self.article(site, "/news/throttled-story-12346.html", corpus_page(2), fail_first=1,
                     fail_status=429, fail_headers={"Retry-After": "1"})
        site.add("/news/slow-story-12347.html", corpus_page(3), delay=15)
        latin = ("<html><head><title>Caf\xe9 cr\xe8me story</title></head><body><article>"
                 + "<p>Un caf\xe9 cr\xe8me \xe0 la terrasse, na\xefve r\xe9sum\xe9. </p>" * 40
                 + "</article></body></html>")
        site.add("/news/cafe-creme-story.html", latin.encode("cp1252"))  # declared UTF-8
        self.article(site, "/news/hindi-no-charset-story.html",
                     article_html(stories[4], published=published, charset=None),
                     content_type="text/html")
        self.article(site, "/समाचार/रूस-कोरिया-समझौता-खबर.html",
                     article_html(stories[2], published=published))
        site.add("/news/canonical-story-12348.html", corpus_page(4))
        self.articles["daily"].add("/news/canonical-story-12348.html")  # via print-story
        canonical = f'<link rel="canonical" href="{site.url}/news/canonical-story-12348.html">'
        site.add("/news/print-story-12348.html",
                 re.sub(rb"<head[^>]*>", lambda m: m[0] + canonical.encode(), corpus_page(4),
                        count=1))
        site.add("/private/secret-story-12349.html", corpus_page(5))
        site.add("/news/huge-story-12350.html",  # past the tests' DOWNLOAD_MAXSIZE of 1 MB
                 article_html(Story("Huge", ["शब्द " * 300_000])).encode())
        site.add("/news/video-story-12351", b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
        site.add("/files/annual-report.pdf", b"%PDF-1.4 not html", content_type="application/pdf")
        site.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        items = [
            ("/news/kim-backs-russia-unconditionally.html?utm_source=rss&utm_medium=feed&fbclid=x1",
             stories[0].title),
            ("/r/moved-story", "Moved"), ("/r/temp-story", "Temporary"),
            ("/news/flaky-story-12345.html", "Flaky"), ("/news/throttled-story-12346.html", "Busy"),
            ("/news/missing-story-404.html", "Gone"), ("/news/slow-story-12347.html", "Slow"),
            ("/news/cafe-creme-story.html", "Café"),
            ("/news/hindi-no-charset-story.html", stories[4].title),
            (quote("/समाचार/रूस-कोरिया-समझौता-खबर.html"), stories[2].title),
            ("/news/print-story-12348.html", "Printable"),
            ("/news/huge-story-12350.html", "Huge"), ("/news/video-story-12351", "Video"),
            ("/private/secret-story-12349.html", "Secret"),
            ("/files/annual-report.pdf", "Report"),
        ]
        site.add("/rss.xml", rss(site, items), content_type="application/rss+xml", validators=False)
        site.add("/broken.xml", BROKEN_FEED, content_type="application/rss+xml")
        site.add("/bomb.xml", XML_BOMB, content_type="application/rss+xml")
        site.add("/", listing_page("Daily", [(p, p) for p, _ in items[:3]]))

    def build_weekly(self, site: Site, stories: list[Story]) -> None:
        bare = article_html(stories[3], style="plain")  # no date anywhere on the page
        self.article(site, "/story/putin-kim-pact-signed.html", bare)
        self.article(site, "/story/weekly-feature-98765.html", corpus_page(6))
        items = [("/story/putin-kim-pact-signed.html?fbclid=abc", "पुतिन और किम का समझौता"),
                 ("/story/weekly-feature-98765.html", "Feature")]
        site.add("/atom.xml", atom(site, items), content_type="application/atom+xml",
                 validators=False)
        site.add("/", listing_page("Weekly", [(p, t) for p, t in items], extra_head=(
            '<link rel="alternate" type="application/atom+xml" title="Weekly" href="/atom.xml">')))

    def build_metro(self, site: Site, stories: list[Story]) -> None:
        news = [("/city/metro-line-opens-54321.html", "मेट्रो लाइन खुली"),
                ("/city/council-votes-budget-54322.html", "Council budget")]
        # No date on the first page: the news sitemap's publication date fills it.
        self.article(site, news[0][0], article_html(variant(stories[0], "मेट्रो"), style="plain"))
        self.article(site, news[1][0], corpus_page(7))
        pages = ["/city/metro-line-opens-54321.html", "/city/bridge-repair-54323.html",
                 "/drafts/unpublished-54324.html"]
        self.article(site, "/city/bridge-repair-54323.html", corpus_page(9))
        site.add("/drafts/unpublished-54324.html", corpus_page(10))
        site.add("/sitemap-news.xml", news_sitemap(site, news), content_type="application/xml",
                 validators=False)
        plain = sitemap(site, pages)
        site.add("/sitemap-pages.xml.gz", lambda: gzip.compress(plain()),
                 content_type="application/gzip", validators=False)
        site.add("/sitemap-bomb.xml", XML_BOMB, content_type="application/xml")
        site.add("/sitemap_index.xml", sitemap_index(
            site, ["/sitemap-news.xml", "/sitemap-pages.xml.gz", "/sitemap-bomb.xml"]),
            content_type="application/xml")
        site.add("/robots.txt", (f"User-agent: *\nDisallow: /drafts/\n\n"
                                 f"Sitemap: {site.url}/sitemap_index.xml\n").encode(),
                 content_type="text/plain")
        site.add("/", listing_page("Metro", [("/city/", "City")]))

    def build_town(self, site: Site, stories: list[Story]) -> None:
        published = PAGE_DATE - timedelta(hours=5)
        self.article(site, "/india/modi-visits-moscow-today.html",
                     article_html(variant(stories[1], "टाउन"), published=published, style="og"))
        self.article(site, "/india/kim-putin-summit-report.html", corpus_page(8))
        self.article(site, "/world/alaska-summit-phone-call.html",
                     article_html(variant(stories[4], "टाउन"), published=published))
        site.add("/india/archive/very-old-story-11111.html", corpus_page(12))
        site.add("/india/archive/", listing_page("Archive", [
            ("/india/archive/very-old-story-11111.html", "Old")]))
        about = Story("About Town Crier", [
            "Town Crier is a fixture newspaper that exists only inside the test suite. " * 6])
        site.add("/about-us.html", article_html(about, style="plain").replace(
            "<head>", '<head><meta property="og:type" content="website">', 1).encode())
        site.add("/tag/elections/", listing_page("Elections", [
            ("/india/kim-putin-summit-report.html", "Summit")]))
        site.add("/india/", listing_page("India", [
            ("/india/kim-putin-summit-report.html", "Summit"), ("/india/archive/", "Archive"),
            ("/", "Home")]))
        site.add("/world/", listing_page("World", [
            ("/world/alaska-summit-phone-call.html", "Alaska")]))
        site.add("/files/town-budget.pdf", b"%PDF-1.4", content_type="application/pdf")
        site.add("/", listing_page("Town Crier", [
            ("/india/", "India"), ("/world/", "World"), ("/about-us.html", "About"),
            ("/contact/", "Contact"), ("/tag/elections/", "Elections"),
            ("/files/town-budget.pdf", "Budget"),
            ("/india/modi-visits-moscow-today.html", "Modi"),
            ("http://127.0.0.1:9/elsewhere-story-22222.html", "Elsewhere"),
        ]))


def news_network() -> NewsNetwork:
    return NewsNetwork()


class FleetNetwork(FixtureNetwork):
    """Outlets for a fleet of crawl workers (six unless told), ``articles`` distinct
    articles each. Of every six, three have listings (a feed named in the sources file,
    a feed announced on the homepage, a sitemap named in robots.txt) and three are
    reachable only by links (homepage → two sections → articles). Every answer takes
    ``delay`` seconds, so a worker's requests overlap and it can be killed mid-cycle.
    Each outlet has its own loopback address (127.0.0.10, .11, ...)."""

    ROUTES = ("named-feed", "announced-feed", "robots-sitemap", "links", "links", "links")

    def __init__(self, articles: int = 12, delay: float = 0.05, outlets: int = 6) -> None:
        super().__init__()
        self.articles: dict[str, list[str]] = {}  # site -> article paths
        words = " ".join(p for story in seed_stories() for p in story.paragraphs).split()
        for number in range(outlets):
            route = self.ROUTES[number % len(self.ROUTES)]
            # An address of its own: Scrapy keeps one download slot (concurrency, delay,
            # AutoThrottle) per host, as for outlets on their own domains.
            site = self.add_site(f"outlet{number}", host=f"127.0.0.{10 + number}")
            paths = [f"/news/story-{number}-{k}-{10000 + k}.html" for k in range(articles)]
            self.articles[site.name] = paths
            for k, path in enumerate(paths):
                draw = random.Random(f"{number}-{k}")  # distinct texts: no two are copies
                text = [" ".join(draw.choices(words, k=40)) for _ in range(4)]
                story = Story(f"Outlet {number} story {k} {text[0][:40]}", text)
                page = article_html(story, published=PAGE_DATE - timedelta(hours=k))
                site.add(path, page.encode(), delay=delay)
            links = [(path, f"Story {k}") for k, path in enumerate(paths)]
            if route == "links":
                half = len(links) // 2
                site.add("/india/", listing_page("India", links[:half]), delay=delay)
                site.add("/world/", listing_page("World", links[half:]), delay=delay)
                home = listing_page(site.name, [("/india/", "India"), ("/world/", "World")])
            else:
                home = listing_page(site.name, [], extra_head=(
                    '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
                    if route == "announced-feed" else ""))
                site.add("/feed.xml", rss(site, links), content_type="application/rss+xml",
                         delay=delay)
                site.add("/sitemap.xml", sitemap(site, paths), content_type="application/xml",
                         delay=delay)
            if route == "robots-sitemap":
                site.add("/robots.txt", f"User-agent: *\nSitemap: {site.url}/sitemap.xml\n"
                         .encode(), content_type="text/plain")
            site.add("/", home, delay=delay)

    def sources_toml(self) -> str:
        """The sources file naming the outlets (the named-feed ones with their feed)."""
        entries = []
        for number, (name, site) in enumerate(self.sites.items()):
            route = self.ROUTES[number % len(self.ROUTES)]
            feeds = f'\nfeeds = ["{site.url}/feed.xml"]' if route == "named-feed" else ""
            entries.append(f'[[source]]\nname = "{name}"\nhomepage = "{site.url}/"{feeds}\n')
        return "\n".join(entries)


# A large site for benchmarks ------------------------------------------------------------


class LargeSite(FixtureNetwork):
    """One site with ``pages`` distinct article pages (the WCXB corpus replicated as in
    ``benchmarks/corpus.py``: numbered titles, a sentence of their own), listed in a
    sitemap index of 1,000-URL sitemaps that robots.txt names. Pages are made per
    request, so thousands of them cost no memory."""

    def __init__(self, pages: int) -> None:
        from benchmarks.corpus import distinguish, originals

        super().__init__()
        self.site_ = site = self.add_site("large")
        corpus = [html for _, html in originals()]
        self.paths = [f"/article/{n}-story-number-{n}.html" for n in range(pages)]
        for n, path in enumerate(self.paths):
            site.add(path, functools.partial(distinguish, corpus[n % len(corpus)], n))
        chunks = [self.paths[i:i + 1000] for i in range(0, pages, 1000)]
        names = [f"/sitemap-{i}.xml" for i in range(len(chunks))]
        for name, chunk in zip(names, chunks, strict=True):
            site.add(name, sitemap(site, chunk), content_type="application/xml", validators=False)
        site.add("/sitemap_index.xml", sitemap_index(site, names), content_type="application/xml")
        site.add("/robots.txt", f"User-agent: *\nSitemap: {site.url}/sitemap_index.xml\n".encode(),
                 content_type="text/plain")
        site.add("/", listing_page("Large", []))

    @property
    def urls(self) -> list[str]:
        return [self.site_.url + path for path in self.paths]
