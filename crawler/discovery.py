"""Finding article URLs: feeds, sitemaps, robots.txt, and links on listing pages.

Pure functions of bytes and URLs, so each route is tested without a crawl. Feeds and
sitemaps are untrusted XML: a document that declares entities (the "billion laughs" XML
bomb and its relatives) is rejected, never expanded; lxml parses with
``resolve_entities=False, huge_tree=False, no_network=True``, and a gzipped sitemap may
not unpack past the size limit. A rejected document raises :class:`ListingError` with a
reason code; the crawl stores it as a failed page and goes on with the rest.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree
from parsel import Selector
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import sitemap_urls_from_robots

from pipelines.extraction.dates import parse_date

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
FEED_ROOTS = {"rss", "feed", "RDF"}
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
MAX_SITEMAP_LINKS = 50_000  # the sitemap protocol's own limit per file


class ListingError(Exception):
    """A feed or sitemap that cannot be used; ``reason`` is a short code for stats."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Entry:
    """One page a feed or sitemap lists, and what it says of it (``Page.listing``)."""

    url: str
    listing: dict[str, Any]

    def changed_at(self) -> str | None:
        """When the listing says the page last changed: lastmod/updated, else published."""
        return self.listing.get("updated_at") or self.listing.get("published_at")


@dataclass
class Listing:
    kind: str  # rss | atom | sitemap | news-sitemap | sitemap-index
    entries: list[Entry] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # children of a sitemap index
    dropped: int = 0  # URLs past MAX_SITEMAP_LINKS, not used


def parse_listing(body: bytes, url: str, max_size: int) -> Listing:
    """A feed (RSS, Atom, RDF) or a sitemap (index, urlset, Google News) from its bytes."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            reason = "too-large" if "max" in str(exc).lower() else "bad-gzip"
            raise ListingError(reason, f"{url} does not unpack within {max_size} bytes "
                               f"or is not gzip ({exc})") from None
    root = safe_xml(body, url)
    name = etree.QName(root).localname
    if name in FEED_ROOTS:
        return parse_feed(body, url)
    if name == "sitemapindex":
        children = [child_text(e, "loc") for e in root if etree.QName(e).localname == "sitemap"]
        return Listing("sitemap-index", sitemaps=[urljoin(url, c) for c in children if c])
    if name == "urlset":
        return parse_urlset(root, url)
    raise ListingError(
        "not-a-feed", f"{url} is XML with root <{name}>, neither a feed nor a sitemap; "
        "check the URL in the sources file"
    )


def safe_xml(body: bytes, url: str) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, huge_tree=False, no_network=True, load_dtd=False, recover=True
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        root, error = None, exc
    else:
        error = parser.error_log.last_error
    if root is None:
        raise ListingError(
            "malformed-xml", f"{url} is not readable XML ({error}); "
            "tell the site or remove the URL from the sources file"
        )
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ListingError(
            "xml-entities", f"{url} declares XML entities (the shape of an XML bomb); "
            "it was rejected unexpanded"
        )
    return root


def parse_feed(body: bytes, url: str) -> Listing:
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    kind = "atom" if parsed.version.startswith("atom") else "rss"
    feed_language = parsed.feed.get("language")
    entries = []
    for item in parsed.entries:
        link = item.get("link") or item.get("id")
        if not link:  # a non-http link stays: the crawl counts it as skipped (not-http)
            continue
        listing = {
            "from": kind,
            "listed_in": url,
            "title": item.get("title") or None,
            # dict.get: feedparser's own get() passes pubDate off as "updated"
            "published_at": parse_date(dict.get(item, "published") or ""),
            "updated_at": parse_date(dict.get(item, "updated") or ""),
            "language": item.get("language") or feed_language or None,
        }
        entries.append(Entry(urljoin(url, link), without_empty(listing)))
    if parsed.bozo and not entries:
        raise ListingError(
            "malformed-feed", f"{url} is a broken feed with no readable entries "
            f"({parsed.get('bozo_exception')}); tell the site or remove the URL"
        )
    return Listing(kind, entries=entries)


def parse_urlset(root: etree._Element, url: str) -> Listing:
    entries = []
    is_news = False
    dropped = 0
    for element in root:
        if etree.QName(element).localname != "url":
            continue
        loc = child_text(element, "loc")
        if not loc:
            continue
        if len(entries) == MAX_SITEMAP_LINKS:
            dropped += 1
            continue
        listing: dict[str, Any] = {"from": "sitemap", "listed_in": url}
        if lastmod := child_text(element, "lastmod"):
            listing["updated_at"] = parse_date(lastmod)
        news = element.find(f"{{{NEWS_NS}}}news")
        if news is not None:
            is_news = True
            listing["from"] = "news-sitemap"
            listing["title"] = text_of(news.find(f"{{{NEWS_NS}}}title"))
            published = text_of(news.find(f"{{{NEWS_NS}}}publication_date"))
            listing["published_at"] = parse_date(published) if published else None
            listing["language"] = text_of(
                news.find(f"{{{NEWS_NS}}}publication/{{{NEWS_NS}}}language")
            )
        entries.append(Entry(urljoin(url, loc), without_empty(listing)))
    return Listing("news-sitemap" if is_news else "sitemap", entries=entries, dropped=dropped)


def child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return text_of(child)
    return None


def text_of(element: etree._Element | None) -> str | None:
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def without_empty(listing: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in listing.items() if v not in (None, "")}


def sitemaps_in_robots(robots: bytes, url: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt, absolute."""
    return list(dict.fromkeys(sitemap_urls_from_robots(robots, base_url=url)))


def feeds_in_page(html: Selector, url: str) -> list[str]:
    """Feeds a page announces with ``<link rel="alternate" type="application/rss+xml">``."""
    found = []
    for link in html.xpath("//link[@href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            found.append(urljoin(url, link.attrib["href"].strip()))
    return list(dict.fromkeys(found))


def links_in_page(html: Selector, url: str) -> list[str]:
    """Absolute http(s) links of ``<a href>`` on the page, in page order, once each."""
    base = html.xpath("//base/@href").get()
    base_url = urljoin(url, base.strip()) if base else url
    found = []
    for href in html.xpath("//a/@href").getall():
        absolute = urljoin(base_url, href.strip())
        if urlsplit(absolute).scheme in ("http", "https"):
            found.append(absolute.split("#", 1)[0])
    return list(dict.fromkeys(found))
