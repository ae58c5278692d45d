"""Finding articles without a crawl: feeds, sitemaps, robots.txt, links, and the
decisions made on what is found (is it an article, fetch it again, retry when)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from parsel import Selector

from archive.writer import KnownPage
from crawler.discovery import (
    MAX_SITEMAP_LINKS,
    ListingError,
    feeds_in_page,
    links_in_page,
    parse_listing,
    sitemaps_in_robots,
)
from crawler.middlewares import retry_after_seconds
from crawler.spiders.news import should_fetch
from pipelines.article_filter import LinkKind, link_kind, not_article_reason, skip_reason
from pipelines.listing_metadata import fill_from_listing
from tests.fixture_site import BROKEN_FEED, XML_BOMB

MAX = 1024 * 1024

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Daily</title><language>hi</language>
<item><title>रूस को मिला साथ</title><link>/news/story-1.html?utm_source=rss</link>
<pubDate>Thu, 06 Jun 2025 07:26:00 +0530</pubDate></item>
<item><title>No link</title></item>
<item><title>Mail</title><link>mailto:desk@example.com</link></item>
</channel></rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Weekly</title>
<entry><title>Pact signed</title><link href="https://weekly.example/story/pact.html"/>
<id>tag:weekly,1</id><published>2024-06-19T17:34:00+05:30</published>
<updated>2024-06-20T09:00:00+05:30</updated></entry></feed>"""

NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://metro.example/city/metro-line-opens.html</loc>
<news:news><news:publication><news:name>Metro</news:name><news:language>hi</news:language>
</news:publication><news:publication_date>2025-08-14T10:00:00+05:30</news:publication_date>
<news:title>मेट्रो लाइन खुली</news:title></news:news></url></urlset>""".encode()

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://metro.example/city/bridge.html</loc><lastmod>2025-08-01</lastmod></url>
<url><loc>https://metro.example/city/no-date.html</loc></url></urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>/sitemap-news.xml</loc><lastmod>2025-08-14</lastmod></sitemap>
<sitemap><loc>https://metro.example/sitemap-2025.xml.gz</loc></sitemap></sitemapindex>"""


def test_rss_items_become_entries_with_their_listed_metadata() -> None:
    listing = parse_listing(RSS, "https://daily.example/rss.xml", MAX)
    assert listing.kind == "rss"
    assert [e.url for e in listing.entries] == [  # the crawl skips mailto: as not-http
        "https://daily.example/news/story-1.html?utm_source=rss", "mailto:desk@example.com"
    ]
    assert listing.entries[0].listing == {
        "from": "rss",
        "listed_in": "https://daily.example/rss.xml",
        "title": "रूस को मिला साथ",
        "published_at": "2025-06-06T07:26:00+05:30",
        "language": "hi",
    }


def test_atom_entry_keeps_published_and_updated_apart() -> None:
    entry = parse_listing(ATOM, "https://weekly.example/atom.xml", MAX).entries[0]
    assert entry.listing["from"] == "atom"
    assert entry.listing["published_at"] == "2024-06-19T17:34:00+05:30"
    assert entry.changed_at() == "2024-06-20T09:00:00+05:30"  # updated wins for re-fetching
    assert entry.listing["language"] == "en"


def test_google_news_sitemap_gives_title_date_and_language() -> None:
    listing = parse_listing(NEWS_SITEMAP, "https://metro.example/sitemap-news.xml", MAX)
    assert listing.kind == "news-sitemap"
    assert listing.entries[0].listing == {
        "from": "news-sitemap",
        "listed_in": "https://metro.example/sitemap-news.xml",
        "title": "मेट्रो लाइन खुली",
        "published_at": "2025-08-14T10:00:00+05:30",
        "language": "hi",
    }


def test_plain_sitemap_lastmod_is_a_change_date_not_a_publication_date() -> None:
    listing = parse_listing(gzip.compress(SITEMAP), "https://metro.example/s.xml.gz", MAX)
    assert listing.kind == "sitemap"
    bridge, undated = listing.entries
    assert bridge.changed_at() == "2025-08-01T00:00:00+00:00"
    assert "published_at" not in bridge.listing
    assert undated.changed_at() is None


def test_sitemap_index_lists_its_sitemaps_absolute() -> None:
    listing = parse_listing(INDEX, "https://metro.example/sitemap_index.xml", MAX)
    assert listing.kind == "sitemap-index"
    assert listing.sitemaps == ["https://metro.example/sitemap-news.xml",
                                "https://metro.example/sitemap-2025.xml.gz"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (XML_BOMB, "xml-entities"),
        (XML_BOMB.replace(b"<rss", b"<urlset").replace(b"</rss>", b"</urlset>"), "xml-entities"),
        (BROKEN_FEED, "malformed-feed"),
        (b"", "malformed-xml"),
        (b"<html><body>Not a feed</body></html>", "not-a-feed"),
        (gzip.compress(b"<urlset>" + b" " * (2 * MAX) + b"</urlset>"), "too-large"),
        (b"\x1f\x8b not really gzip", "bad-gzip"),
        (b"\x1f\x8b\x08\x00not gzip at all", "bad-gzip"),  # a gzip header, then junk
    ],
)
def test_unusable_listings_are_rejected_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(ListingError) as error:
        parse_listing(body, "https://daily.example/feed.xml", MAX)
    assert error.value.reason == reason
    assert "https://daily.example/feed.xml" in error.value.detail


def test_a_sitemap_past_the_protocols_limit_keeps_the_first_urls_and_says_how_many_not(
) -> None:
    urls = "".join(f"<url><loc>/news/{n}-story.html</loc></url>" for n in range(50_003))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    listing = parse_listing(body.encode(), "https://metro.example/sitemap.xml", 10 * MAX)
    assert len(listing.entries) == MAX_SITEMAP_LINKS == 50_000
    assert listing.entries[-1].url == "https://metro.example/news/49999-story.html"
    assert listing.dropped == 3


def test_xml_bomb_is_rejected_without_being_expanded() -> None:
    # Expanded, lol9 would be 10^9 "lol"s; rejection must come from the declarations.
    with pytest.raises(ListingError, match="declares XML entities"):
        parse_listing(XML_BOMB, "https://daily.example/bomb.xml", MAX)


def test_robots_txt_sitemap_lines() -> None:
    robots = b"User-agent: *\nDisallow: /drafts/\nSitemap: /sitemap_index.xml\n" \
             b"sitemap: https://cdn.example/news.xml\n"
    assert sitemaps_in_robots(robots, "https://metro.example/robots.txt") == [
        "https://metro.example/sitemap_index.xml", "https://cdn.example/news.xml"]


def test_homepage_announces_its_feeds() -> None:
    page = Selector(text="""<html><head>
        <link rel="alternate" type="application/rss+xml" href="/rss.xml">
        <link rel="Alternate" type="application/atom+xml; charset=utf-8" href="atom.xml">
        <link rel="alternate" hreflang="en" href="/en/">
        <link rel="stylesheet" type="text/css" href="/s.css"></head></html>""")
    assert feeds_in_page(page, "https://weekly.example/hi/") == [
        "https://weekly.example/rss.xml", "https://weekly.example/hi/atom.xml"]


def test_page_links_are_absolute_once_each_without_fragments() -> None:
    page = Selector(text="""<html><head><base href="https://town.example/news/"></head><body>
        <a href="story-1.html#comments">1</a><a href="/india/">India</a>
        <a href="story-1.html">again</a><a href="javascript:void(0)">x</a>
        <a href="mailto:desk@town.example">mail</a></body></html>""")
    assert links_in_page(page, "https://town.example/") == [
        "https://town.example/news/story-1.html", "https://town.example/india/"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://town.example/", LinkKind.LISTING),
        ("https://town.example/india/", LinkKind.LISTING),
        ("https://town.example/tag/elections/", LinkKind.LISTING),
        ("https://town.example/category/sports/page/2/", LinkKind.LISTING),
        ("https://town.example/about-us.html", LinkKind.LISTING),
        ("https://town.example/india/modi-visits-moscow-today.html", LinkKind.ARTICLE),
        ("https://town.example/2024/06/19/pact", LinkKind.ARTICLE),
        ("https://town.example/news/story-12345", LinkKind.ARTICLE),
        ("https://town.example/समाचार/रूस-कोरिया-समझौता", LinkKind.ARTICLE),
    ],
)
def test_link_kind_from_the_url(url: str, kind: LinkKind) -> None:
    assert link_kind(url) is kind


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://town.example/files/budget.pdf", "not-html"),
        ("https://town.example/img/photo.JPG", "not-html"),
        ("https://town.example/video/clip.mp4", "not-html"),
        ("https://town.example/contact/", "not-crawlable"),
        ("https://town.example/login", "not-crawlable"),
        ("ftp://town.example/story.html", "not-http"),
        ("https://town.example/india/story-1.html", None),
    ],
)
def test_urls_that_are_never_fetched(url: str, reason: str | None) -> None:
    assert skip_reason(url) == reason


LONG = "शब्द " * 100


@pytest.mark.parametrize(
    ("url", "article", "listing", "reason"),
    [
        ("https://t.example/", {"text": LONG, "page_type": "article"}, {"from": "link"},
         "listing-url"),
        ("https://t.example/tag/x/", {"text": LONG}, {"from": "rss"}, "listing-url"),
        ("https://t.example/about-us.html", {"text": LONG, "page_type": "website"},
         {"from": "link"}, "listing-type"),
        ("https://t.example/india/a-b-c.html", {"text": "बहुत छोटा", "page_type": "article"},
         {"from": "link"}, "too-short"),
        ("https://t.example/india/a-b-c.html", {"text": LONG}, {"from": "link"},
         "no-article-signs"),  # an article URL, but no type and no date on the page
        ("https://t.example/world/", {"text": LONG, "published_at": "2025-01-01"},
         {"from": "link"}, "no-article-signs"),  # a section page with a date on it
        ("https://t.example/india/a-b-c.html", {"text": LONG, "published_at": "2025-01-01"},
         {"from": "link"}, None),
        ("https://t.example/page", {"text": LONG, "page_type": "article"}, {"from": "link"}, None),
        # the page states its publication (article:published_time, JSON-LD datePublished):
        # an article, whatever its URL looks like; a date found in the text is no statement
        ("https://t.example/features/monsoon", {"text": LONG, "published_at": "2025-01-01",
         "provenance": {"published_at": "og"}}, {"from": "link"}, None),
        ("https://t.example/features/monsoon", {"text": LONG, "published_at": "2025-01-01",
         "provenance": {"published_at": "json-ld"}}, {"from": "link"}, None),
        ("https://t.example/features/monsoon", {"text": LONG, "published_at": "2025-01-01",
         "provenance": {"published_at": "htmldate"}}, {"from": "link"}, "no-article-signs"),
        ("https://t.example/features/", {"text": LONG, "published_at": "2025-01-01",
         "page_type": "collectionpage", "provenance": {"published_at": "json-ld"}},
         {"from": "link"}, "listing-type"),
        # listed by the outlet's own feed: its og:type "website" does not overrule that
        ("https://t.example/cloud", {"text": LONG, "page_type": "website"}, {"from": "rss"}, None),
    ],
)
def test_only_articles_are_articles(
    url: str, article: dict, listing: dict, reason: str | None
) -> None:
    assert not_article_reason(url, article, listing, min_words=60) == reason


def test_listing_fills_only_what_the_page_lacks_and_says_so() -> None:
    article = {"title": "Page title", "published_at": None, "language": None,
               "provenance": {"title": "json-ld"}}
    fill_from_listing(article, {"from": "atom", "title": "Feed title",
                                "published_at": "2024-06-19T17:34:00+05:30",
                                "source_language": "hi"})
    assert article["title"] == "Page title"
    assert article["published_at"] == "2024-06-19T17:34:00+05:30"
    assert article["language"] == "hi"
    assert article["provenance"] == {"title": "json-ld", "published_at": "atom",
                                     "language": "sources-file"}


CAPTURED = datetime(2025, 6, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("known", "changed_at", "expected"),
    [
        (None, None, (True, None)),
        (KnownPage(CAPTURED, '"e1"', "Fri"), None, (False, None)),
        (KnownPage(CAPTURED, '"e1"', "Fri"), "2025-06-06T17:00:00+05:30", (False, None)),
        (KnownPage(CAPTURED, '"e1"', "Fri"), "2025-06-06T18:00:00+05:30",
         (True, {"etag": '"e1"', "last_modified": "Fri"})),
        (KnownPage(CAPTURED, error="timeout"), None, (True, None)),
        (KnownPage(CAPTURED, error="http-503"), None, (True, None)),
        (KnownPage(CAPTURED, error="http-404"), None, (False, None)),
    ],
)
def test_archived_pages_are_fetched_again_only_when_listed_as_changed(
    known: KnownPage | None, changed_at: str | None, expected: tuple
) -> None:
    assert should_fetch(known, changed_at) == expected


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2025, 6, 6, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds(b"Fri, 06 Jun 2025 12:00:30 GMT", now) == 30
    assert retry_after_seconds(b"Fri, 06 Jun 2025 11:00:00 GMT", now) == 0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None
