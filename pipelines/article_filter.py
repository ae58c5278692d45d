"""Is it an article? Before fetching (the link) and after extracting (the page).

A news site links to far more than articles: sections, tags, authors, about and contact
pages, PDFs, images. The link decides whether a URL is fetched at all and how (an article
candidate is fetched once; a listing page every run, for its links); the page decides
whether it is archived as an article. Only pages the crawl discovered are judged: pages a
person hands to ``replay`` are taken as the articles they are said to be.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from courlan import is_navigation_page, is_not_crawlable
from courlan.filters import INDEX_PAGE_FILTER
from scrapy.crawler import Crawler
from scrapy.linkextractors import IGNORED_EXTENSIONS

from crawler.items import Page
from pipelines.extraction.normalize import words

logger = logging.getLogger(__name__)

NOT_HTML = frozenset(IGNORED_EXTENSIONS) | {"xml", "json", "atom", "gz", "txt", "csv", "epub"}
# A date in the path (/2024/06/19/, /20240619-), a long numeric id, or a slug of three or
# more words: what article URLs look like across CMSes (Devanagari slugs included).
ARTICLE_PATH = re.compile(
    r"/(19|20)\d\d[/-]?[01]\d([/-]?[0-3]\d)?[/-]"
    r"|\d{5,}"
    r"|/[^/]*[^\W\d_][^/]*-[^/]*-[^/]*[^\W_][^/]*/?$",
)
# Where a stated publication date came from (pipelines/extraction/metadata.py): the
# page's own JSON-LD datePublished or its article:published_time meta tag. Pages state
# these for articles; a section page has no publication date.
STATED_DATE_SOURCES = ("json-ld", "og")
LISTING_TYPES = {"website", "collectionpage", "profilepage", "searchresultspage", "aboutpage",
                 "contactpage", "itempage", "itemlist", "profile", "blog", "video.other"}


class LinkKind(StrEnum):
    ARTICLE = "article"  # fetched once; again only when a listing says it changed
    LISTING = "listing"  # a homepage or section: fetched every run, links followed


def extension(url: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    return name.rsplit(".", 1)[1] if "." in name else ""


def skip_reason(url: str) -> str | None:
    """Why a listed or linked URL is not fetched as a page at all, or None."""
    if urlsplit(url).scheme not in ("http", "https"):
        return "not-http"
    if extension(url) in NOT_HTML:
        return "not-html"
    if is_not_crawlable(url):
        return "not-crawlable"
    return None


def link_kind(url: str) -> LinkKind:
    path = unquote(urlsplit(url).path) or "/"
    if path == "/" or INDEX_PAGE_FILTER.match(path) or is_navigation_page(url):
        return LinkKind.LISTING
    return LinkKind.ARTICLE if ARTICLE_PATH.search(path) else LinkKind.LISTING


def not_article_reason(
    url: str, article: dict, listing: dict, min_words: int
) -> str | None:
    """Why an extracted page is not an article (a short code), or None if it is one."""
    page_type = (article.get("page_type") or "").lower()
    path = unquote(urlsplit(url).path) or "/"
    if path == "/" or INDEX_PAGE_FILTER.match(path) or is_navigation_page(url):
        return "listing-url"
    count = article.get("word_count")  # counted by the extraction worker
    if count is None:
        count = len(words(article.get("text") or ""))
    if count < min_words:
        return "too-short"
    if listing.get("from") != "link":
        return None  # the outlet's feed or sitemap lists it: stronger than a page's og:type
    if page_type == "article":
        return None
    if page_type in LISTING_TYPES:
        return "listing-type"
    if (article.get("provenance") or {}).get("published_at") in STATED_DATE_SOURCES:
        return None  # found by a link, and says when it was published: an article
    if link_kind(url) is LinkKind.ARTICLE and article.get("published_at"):
        return None  # found by a link: an article URL and a date on the page
    return "no-article-signs"


class ArticleFilterPipeline:
    """Between extraction and dedupe: a page that is not an article is stored as such."""

    def __init__(self, min_words: int, crawler: Crawler) -> None:
        self.min_words = min_words
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticleFilterPipeline:
        return cls(crawler.settings.getint("NEWS_MIN_ARTICLE_WORDS", 60), crawler)

    def process_item(self, page: Page) -> Page:
        if page.article is None or "from" not in page.listing:
            return page
        reason = not_article_reason(page.url, page.article, page.listing, self.min_words)
        if reason:
            logger.debug("not an article (%s): %s", reason, page.url)
            self.stats.inc_value(f"news/not-article/{reason}")
            page.article = None
            page.outcome = "not-article"
        return page
