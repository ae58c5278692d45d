"""The live crawl: ``scrapy crawl news -a sources=sources.toml``.

For each outlet of the sources file (:mod:`crawler.sources`) the spider fetches the
homepage, the feeds and sitemaps the file names, and finds the rest itself: feeds from the
homepage's ``<link rel="alternate">``, sitemaps from robots.txt ``Sitemap:`` lines (when
the file names none), and, for an outlet with neither feeds nor sitemaps, article links
on the homepage and its section pages up to ``NEWS_DEPTH`` links away.

The run is incremental through the database, not memory or JOBDIR: before requesting
what a feed, sitemap or section page lists, the spider asks the archive what it already
holds (one query per listing) and skips it, unless the listing says it changed since our
last capture: then it is fetched with ``If-None-Match``/``If-Modified-Since`` and a 304
is stored as ``not-modified``. A section link that was dead (404, 410, ...) is not
requested again, and one that redirected is followed to where it led last time.

An unchanged listing (homepage, feed, sitemap or section page whose body has the sha256
of its last capture, one that did not fail) adds no ``captures`` row: its links are
followed all the same, its WARC record is written, and the run counts it
(``news/listings/unchanged``, ``news/outlet/<name>/listings-unchanged``). The digests
come with the archive lookups the spider makes anyway (one query per batch of listings).
Listings are not fetched conditionally: a 304 carries no links, and a sitemap index or
homepage that answered one would hide what changed below it.

Every request stays on its outlet's site and off private networks
(:mod:`crawler.site_policy`, enforced by a downloader middleware on redirects too).
Every failure becomes a failed :class:`Page`, and per-outlet counters tell a broken
outlet from the usual dead link (:mod:`crawler.run_status`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from archive.database import database_url, open_database
from archive.outage import archive_call
from archive.writer import Archive, KnownPage, to_utc
from crawler.discovery import (
    MAX_SITEMAP_LINKS,
    Entry,
    ListingError,
    feeds_in_page,
    links_in_page,
    parse_listing,
    sitemaps_in_robots,
)
from crawler.fleet.connection import fleet_url
from crawler.fleet.cycle import Cycle
from crawler.fleet.scheduler import CLAIM
from crawler.items import Page, lower_headers
from crawler.lock import RunLock, lock_path
from crawler.middlewares import NotFetched, Refused
from crawler.run_status import broken_outlets, outlet_key
from crawler.site_policy import OutletScope
from crawler.sources import NewsSource, load_sources
from pipelines.article_filter import LinkKind, link_kind, skip_reason
from pipelines.keys.urls import canonical_url

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Failures worth trying again next run; any other failed page (404, not HTML, ...) is
# fetched again only when a feed or sitemap says it changed.
TRANSIENT_ERRORS = ("timeout", "dns", "connection", "data-loss", "http-5", "http-408",
                    "http-429", "store-failed", "extractor-died", "extractor-crash")
MAX_SITEMAP_NESTING = 3


def should_fetch(known: KnownPage | None, changed_at: str | None) -> tuple[bool, dict | None]:
    """Whether to request a listed page, and the stored validators to revalidate it with."""
    if known is None or failed_for_now(known):
        return True, None
    changed = to_utc(changed_at) if changed_at else None
    if changed is not None and changed > known.fetched_at:
        return True, {"etag": known.etag, "last_modified": known.last_modified}
    return False, None


def last_digest(known: KnownPage | None) -> str | None:
    """The payload digest an unchanged listing would have: that of its last capture,
    unless that capture failed (then the listing is stored again, recovered)."""
    return known.content_hash if known is not None and known.error is None else None


def failed_for_now(known: KnownPage) -> bool:
    """Whether the last capture failed for a passing reason (worth trying next run)."""
    return (known.error or "").startswith(TRANSIENT_ERRORS)


def merge_listing(listing: dict[str, Any], other: dict[str, Any]) -> None:
    """Add what another listing says of the same page; ``field_from`` names its route."""
    for name, value in other.items():
        if name not in listing:
            listing[name] = value
            listing.setdefault("field_from", {})[name] = other.get("from")


def failure_reason(failure: Failure, url: str, timeout: float) -> tuple[str, str]:
    """(reason code, sentence) for a failed download."""
    if failure.check(NotFetched):
        return failure.value.reason, failure.value.detail
    retries = failure.request.meta.get("retry_times", 0)  # type: ignore[attr-defined]
    tried = f" (after {retries} retries)" if retries else ""
    if failure.check(HttpError):
        status = failure.value.response.status
        return f"http-{status}", f"{url} answered HTTP {status}{tried}"
    if failure.check(DownloadTimeoutError, TimeoutError, TCPTimedOutError):
        return "timeout", (f"{url} did not answer within DOWNLOAD_TIMEOUT {timeout:g} s{tried}; "
                           "the site is slow or down")
    if failure.check(CannotResolveHostError, DNSLookupError):
        return "dns", f"the host of {url} does not resolve{tried}; check the URL"
    if failure.check(DownloadConnectionRefusedError, ConnectionRefusedError):
        return "connection-refused", f"{url} refused the connection{tried}"
    if failure.check(DownloadCancelledError):
        return "too-large", f"{url}: {failure.getErrorMessage()} (DOWNLOAD_MAXSIZE)"
    if failure.check(ResponseDataLossError):
        return "data-loss", f"{url} sent an incomplete answer{tried}"
    return "connection", f"fetching {url} failed{tried}: {failure.getErrorMessage()}"


class NewsSpider(scrapy.Spider):
    name = "news"
    # The -a arguments, checked and shown by scrapy crawl (crawler/commands/crawl.py).
    arguments: ClassVar[dict[str, str]] = {
        "sources": "sources file (TOML) naming the outlets to crawl (required)",
    }

    def __init__(self, sources: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not sources:
            raise ValueError("news needs a sources file: scrapy crawl news -a sources=sources.toml")
        self.sources_file = Path(sources).expanduser().resolve()
        self.sources = load_sources(self.sources_file)  # SourcesError: said by crawl
        self.run_arguments: dict[str, Any] = {
            "sources": str(self.sources_file),
            "outlets": [source.name for source in self.sources],
        }
        self.scopes = {source.name: OutletScope.of(source) for source in self.sources}
        self.outlets = {source.name: source for source in self.sources}
        self.listed: dict[str, dict[str, Any]] = {}  # URL -> what every listing said of it
        self.archive: Archive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.depth = settings.getint("NEWS_DEPTH", 2)
        spider.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        spider.timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        spider.run_arguments["depth"] = spider.depth
        # One crawl of these outlets at a time: a fleet's workers share it through
        # Redis (FleetError: said by the crawl command), a lone run holds a file lock.
        spider.cycle = Cycle.from_crawler(crawler, spider.identity())
        spider.lock = None
        if spider.cycle is None:
            spider.lock = RunLock(lock_path(spider.sources_file, settings.get("NEWS_LOCK_DIR")),
                                  str(spider.sources_file))
            spider.lock.acquire()  # LockHeld: said by the crawl command
        return spider

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        """With REDIS_URL, the fleet's shared frontier replaces the local scheduler."""
        super().update_settings(settings)
        if fleet_url(settings):
            settings.set("SCHEDULER", "crawler.fleet.scheduler.FleetScheduler",
                         priority="spider")

    def cycle_lost(self) -> None:
        """The fleet's Redis lost the cycle: what this worker listed was requested in the
        lost one, and must be requested again in the new one."""
        self.listed.clear()

    def identity(self) -> str:
        """What makes two workers' crawls one: the same outlets at the same homepages."""
        return "\n".join(sorted(f"{s.name}\t{s.homepage}" for s in self.sources))

    def closed(self, reason: str) -> None:
        """Names each broken outlet (before the run is recorded with these stats)."""
        if self.lock is not None:
            self.lock.release()
        stats = self.crawler.stats
        broken = broken_outlets(stats.get_stats())
        for outlet, why in broken.items():
            logger.error("broken outlet: %s", why)
            stats.set_value(outlet_key(outlet, "broken"), why)
        stats.set_value("news/broken-outlets", len(broken))
        if self.archive is not None:
            self.archive.engine.dispose()

    # Start: homepages, robots.txt, named feeds and sitemaps -----------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        url = database_url(self.settings.get("DATABASE_URL"))
        self.archive = Archive(await asyncio.to_thread(open_database, url))
        await archive_call(self.crawler, self.archive.register_sources, self.sources)
        if self.cycle is not None and not await asyncio.to_thread(self.cycle.claim_seeding):
            return  # a fleet worker joining a cycle another worker seeds
        async for request in self.seeds():
            yield request
        if self.cycle is not None:
            await asyncio.to_thread(self.cycle.seeded)

    async def seeds(self) -> AsyncIterator[scrapy.Request]:
        """Each outlet's first requests: robots.txt (then the homepage) and the named
        feeds and sitemaps, with the last digests of the listings (one query per 500)."""
        assert self.archive is not None
        known = await archive_call(
            self.crawler, self.archive.known_pages,
            [url for source in self.sources
             for url in (source.homepage, *source.feeds, *source.sitemaps)])
        for source in self.sources:
            homepage_digest = last_digest(known.get(source.homepage))
            if source.sitemaps:
                yield self.homepage_request(source, homepage_digest, robots_listings=0)
            else:  # robots.txt first: its Sitemap: lines decide whether links are followed
                yield self.request(
                    urljoin(source.homepage, "/robots.txt"), self.parse_robots, source,
                    errback=self.robots_failed, handle_httpstatus_all=True,
                    homepage_digest=homepage_digest,
                )
            for url in (*source.feeds, *source.sitemaps):
                yield self.listing_request(url, source, {"from": "sources-file"},
                                           last_digest=last_digest(known.get(url)))

    def homepage_request(
        self, source: NewsSource, digest: str | None, robots_listings: int
    ) -> scrapy.Request:
        """The homepage, carrying how many sitemaps robots.txt gave: discovery state
        travels in requests, so any worker of a fleet can take the next step."""
        return self.request(source.homepage, self.parse_homepage, source,
                            role="homepage", last_digest=digest, robots_listings=robots_listings)

    def request(
        self,
        url: str,
        callback: Callable[..., Any],
        source: NewsSource,
        errback: Callable[..., Any] | None = None,
        **meta: Any,
    ) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=errback or self.failed,
            meta={"source": source.name, "news_url": url, **meta},
        )

    def listing_request(
        self, url: str, source: NewsSource, listing: dict, nesting: int = 0,
        last_digest: str | None = None,
    ) -> scrapy.Request:
        return self.request(url, self.parse_listing, source, listing=listing, nesting=nesting,
                            role="listing", last_digest=last_digest)

    async def listing_requests(
        self, urls: Iterable[str], source: NewsSource, listing: dict, nesting: int = 0
    ) -> list[scrapy.Request]:
        """Requests for listings found on the way, with their last digests: one archive
        query for all of them."""
        urls = list(urls)
        if not urls:
            return []
        assert self.archive is not None
        known = await archive_call(self.crawler, self.archive.known_pages, urls)
        return [self.listing_request(url, source, dict(listing), nesting,
                                     last_digest(known.get(url))) for url in urls]

    def unchanged(self, response: Response) -> bool:
        """Whether a listing's body is its last capture's, counted as such: then the run
        stores no captures row for it (the WARC record is written all the same)."""
        digest = response.meta.get("last_digest")
        if digest is None or response.status != 200:
            return False
        if hashlib.sha256(response.body).hexdigest() != digest:
            return False
        stats = self.crawler.stats
        stats.inc_value("news/listings/unchanged")
        stats.inc_value(outlet_key(response.meta["source"], "listings-unchanged"))
        return True

    # Discovery ---------------------------------------------------------------------------

    async def parse_homepage(self, response: Response) -> AsyncIterator[Any]:
        source = self.outlets[response.meta["source"]]
        if not self.unchanged(response):
            yield self.page(response, outcome="not-article")
        if not self.is_html(response):
            return
        html = response.selector
        listings = (len(source.feeds) + len(source.sitemaps)
                    + response.meta.get("robots_listings", 0))
        if not source.feeds:
            feeds = list(self.http_only(feeds_in_page(html, response.url)))
            listings += len(feeds)
            for request in await self.listing_requests(
                    feeds, source, {"from": "homepage", "listed_in": response.url}):
                yield request
        if listings:
            return
        logger.info("%s has no feeds or sitemaps: following links up to depth %d",
                    source.name, self.depth)
        async for request in self.follow_links(
                response.url, links_in_page(html, response.url), 0, source):
            yield request

    async def parse_robots(self, response: Response) -> AsyncIterator[Any]:
        source = self.outlets[response.meta["source"]]
        sitemaps: list[str] = []
        if response.status == 200:
            sitemaps = list(self.http_only(sitemaps_in_robots(response.body, response.url)))
            for request in await self.listing_requests(
                    sitemaps, source, {"from": "robots.txt", "listed_in": response.url}):
                yield request
        yield self.homepage_request(source, response.meta["homepage_digest"], len(sitemaps))

    def robots_failed(self, failure: Failure) -> Iterable[scrapy.Request]:
        self.crawler.stats.inc_value("news/robots-txt-unavailable")
        meta = failure.request.meta  # type: ignore[attr-defined]
        return [self.homepage_request(self.outlets[meta["source"]], meta["homepage_digest"], 0)]

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        source = self.outlets[response.meta["source"]]
        try:
            listing = parse_listing(response.body, response.url, self.max_size)
        except ListingError as exc:
            self.count(response.meta, exc.reason)
            yield self.page(response).fail(exc.reason, exc.detail)
            return
        self.count(response.meta)
        if listing.dropped:  # used all the same: not a failed listing for the outlet
            self.crawler.stats.inc_value("news/sitemap-truncated")
            yield self.page(response).fail("sitemap-truncated", (
                f"{response.url} lists {MAX_SITEMAP_LINKS + listing.dropped:,} URLs, more than "
                f"the {MAX_SITEMAP_LINKS:,} a sitemap may hold; the first {MAX_SITEMAP_LINKS:,} "
                f"were used, {listing.dropped:,} ignored. Ask the site to split it into "
                "several sitemaps under a sitemap index"))
        elif not self.unchanged(response):
            yield self.page(response, outcome="not-article")
        self.crawler.stats.inc_value(f"news/listings/{listing.kind}")
        nesting = response.meta["nesting"] + 1
        children = list(self.http_only(listing.sitemaps))
        if nesting > MAX_SITEMAP_NESTING:
            for child in children:
                yield self.failed_page_for(child, source, "sitemap-too-deep", (
                    f"{child} is a sitemap nested more than {MAX_SITEMAP_NESTING} indexes deep "
                    f"(via {response.url}); not fetched"))
            children = []
        for request in await self.listing_requests(
                children, source, {"from": "sitemap-index", "listed_in": response.url}, nesting):
            yield request
        async for request in self.candidates(listing.entries, source):
            yield request

    async def parse_section(self, response: Response) -> AsyncIterator[Any]:
        """A homepage-crawl listing page: judged like any page, and its links followed."""
        source = self.outlets[response.meta["source"]]
        page = self.page(response)
        if not self.is_html(response):
            page.fail("not-html", self.not_html(response))
        self.count(response.meta, page.error)
        if page.error is not None or not self.unchanged(response):
            yield page
        if self.is_html(response):
            links = links_in_page(response.selector, response.url)
            depth = response.meta["link_depth"]
            async for request in self.follow_links(response.url, links, depth, source):
                yield request

    async def follow_links(
        self, page_url: str, links: Iterable[str], depth: int, source: NewsSource
    ) -> AsyncIterator[scrapy.Request]:
        """Links of a listing page one step deeper: sections to revisit, articles to check."""
        if depth + 1 > self.depth:
            return
        scope = self.scopes[source.name]
        entries, sections = [], []
        for link in links:
            if not scope.on_site(link):  # any page links elsewhere: not worth a capture
                self.crawler.stats.inc_value("news/skipped/off-site-link")
                continue
            url = canonical_url(link)
            if link_kind(url) is LinkKind.ARTICLE:
                entries.append(Entry(url, {"from": "link", "found_on": page_url}))
            elif not self.skipped(url):
                sections.append(url)
        for url, digest in await self.sections_to_fetch(sections, entries, page_url):
            yield self.request(url, self.parse_section, source, link_depth=depth + 1,
                               listing={"from": "link", "found_on": page_url}, role="page",
                               last_digest=digest)
        async for request in self.candidates(entries, source):
            yield request

    async def sections_to_fetch(
        self, sections: list[str], entries: list[Entry], page_url: str
    ) -> list[tuple[str, str | None]]:
        """The section links worth requesting, with their last digests: not those that
        were dead last time; a known redirect's target instead of the redirect; and a link
        that turned out to be an article (or redirects to one) joins ``entries``, fetched
        once like any."""
        if not sections:
            return []
        assert self.archive is not None
        known = await archive_call(self.crawler, self.archive.known_pages, sections)
        wanted: list[tuple[str, str | None]] = []
        targets: list[str] = []  # known redirects' targets, looked up together below
        for url in sections:
            last = known.get(url)
            if last is None or failed_for_now(last):
                wanted.append((url, None))
            elif last.error is not None:
                self.crawler.stats.inc_value("news/skipped/dead-link")
            elif last.article_id is not None:
                entries.append(Entry(url, {"from": "link", "found_on": page_url}))
            elif last.final_url and (target := canonical_url(last.final_url)) != url:
                self.crawler.stats.inc_value("news/skipped/known-redirect")
                if link_kind(target) is LinkKind.ARTICLE:
                    entries.append(Entry(target, {"from": "link", "found_on": page_url}))
                else:
                    targets.append(target)
            else:
                wanted.append((url, last_digest(last)))
        if targets:
            found = await archive_call(self.crawler, self.archive.known_pages, targets)
            wanted += [(url, last_digest(found.get(url))) for url in targets]
        return wanted

    # Articles ---------------------------------------------------------------------------

    async def candidates(
        self, entries: list[Entry], source: NewsSource
    ) -> AsyncIterator[scrapy.Request]:
        """Requests for the listed pages the archive lacks or that changed since.

        A page listed twice in a run (feed and sitemap) is requested once, and its
        listing gathers what each said (see :func:`merge_listing`).
        """
        wanted: dict[str, Entry] = {}
        for entry in entries:
            url = canonical_url(entry.url)
            if url != entry.url:
                entry.listing["link"] = entry.url
            if url in self.listed:
                merge_listing(self.listed[url], entry.listing)
            elif not self.skipped(url):
                wanted.setdefault(url, entry)
                self.listed[url] = entry.listing
        if not wanted:
            return
        assert self.archive is not None
        known = await archive_call(self.crawler, self.archive.known_pages, list(wanted))
        for url, entry in wanted.items():
            fetch, validators = should_fetch(known.get(url), entry.changed_at())
            if not fetch:
                self.crawler.stats.inc_value("news/skipped/archived")
                continue
            if source.language:
                entry.listing["source_language"] = source.language
            yield self.request(url, self.parse_article, source, listing=entry.listing,
                               revalidate=validators, role="page")

    def parse_article(self, response: Response) -> Iterable[Page]:
        if response.status == 304:
            page = self.page(response, outcome="not-modified")
        elif not self.is_html(response):
            page = self.page(response).fail("not-html", self.not_html(response))
        else:  # a charset the page lies about is caught by extraction, which decodes it
            page = self.page(response)
        self.count(response.meta, page.error)
        yield page

    # Pages and failures -----------------------------------------------------------------

    def page(self, response: Response, outcome: str | None = None) -> Page:
        requested = response.meta.get("news_url") or response.request.url
        page = Page(
            url=response.url,
            fetched_at=datetime.now(UTC),
            body=response.body,
            headers=lower_headers(response),
            http_status=response.status,
            requested_url=requested if requested != response.url else None,
            source=response.meta["source"],
            listing=dict(response.meta.get("listing") or {}),
            claim=response.meta.get(CLAIM),
        )
        page.outcome = outcome
        return page

    def failed(self, failure: Failure) -> Iterable[Page]:
        if failure.check(IgnoreRequest) and not failure.check(HttpError, NotFetched):
            # robots.txt forbids it: not fetched, by design
            self.crawler.stats.inc_value("news/skipped/robots-txt")
            return []
        page = self.failed_page(failure)
        meta = failure.request.meta  # type: ignore[attr-defined]
        # A refused page was never sent: it says nothing of the outlet's health. A refused
        # homepage (redirected to another site) does: the outlet moved.
        if meta.get("role") == "homepage" or not failure.check(Refused):
            self.count(meta, page.error)
        return [page]

    def count(self, meta: dict[str, Any], error: str | None = None) -> None:
        """The outlet's counters (crawler.run_status) for one answer, failed or not."""
        outlet, role, stats = meta["source"], meta.get("role"), self.crawler.stats
        if role == "homepage":
            if error:
                stats.set_value(outlet_key(outlet, "homepage-failed"), error)
            return
        if role in ("listing", "page"):
            total, failed = ("listings", "listings-failed") if role == "listing" else (
                "fetched", "failed")
            stats.inc_value(outlet_key(outlet, total))
            if error:
                stats.inc_value(outlet_key(outlet, failed))

    def failed_page(self, failure: Failure) -> Page:
        request = failure.request  # type: ignore[attr-defined]
        url = request.meta.get("news_url") or request.url
        reason, detail = failure_reason(failure, url, self.timeout)
        page = self.failed_page_for(url, self.outlets[request.meta["source"]], reason, detail)
        page.listing = dict(request.meta.get("listing") or {})
        page.claim = request.meta.get(CLAIM)
        if request.url != url:  # where the redirects had led when it failed
            page.url, page.requested_url = request.url, url
        if failure.check(HttpError):
            response = failure.value.response
            page.url, page.http_status = response.url, response.status
            page.headers = lower_headers(response)
            page.requested_url = url if url != response.url else None
        return page

    @staticmethod
    def failed_page_for(url: str, source: NewsSource, reason: str, detail: str) -> Page:
        return Page(url=url, fetched_at=datetime.now(UTC), source=source.name).fail(reason, detail)

    def http_only(self, urls: Iterable[str]) -> Iterator[str]:
        """The http(s) URLs of a listing's sitemaps or feeds; others are counted, skipped."""
        for url in urls:
            if urlsplit(url).scheme in ("http", "https"):
                yield url
            else:
                self.crawler.stats.inc_value("news/skipped/not-http")

    def skipped(self, url: str) -> bool:
        reason = skip_reason(url)
        if reason:
            self.crawler.stats.inc_value(f"news/skipped/{reason}")
        return reason is not None

    @staticmethod
    def content_type(response: Response) -> str:
        return response.headers.get(b"Content-Type", b"").decode("latin-1")

    def is_html(self, response: Response) -> bool:
        kind = self.content_type(response).split(";")[0].strip().lower()
        return isinstance(response, TextResponse) and (not kind or kind in HTML_TYPES)

    def not_html(self, response: Response) -> str:
        return (f"{response.url} is {self.content_type(response)}, not an HTML page; "
                "only HTML pages are archived")
