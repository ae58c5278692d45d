"""Pipeline step 1b: what a feed or sitemap said fills what the page itself left out.

Many article pages state no date, a title cut by the site name, or no language, while
their RSS item or Google News sitemap entry states all three. The page's own value
always wins; a listed value is used only for a missing field, and
``metadata_sources`` (the extraction's ``provenance``) records where it came from:
``rss``, ``atom``, ``sitemap`` or ``news-sitemap`` (``field_from`` names the route of a
value a second listing of the page added). Last comes the language the sources
file gives the outlet (``source_language``), recorded as ``sources-file``.
"""

from __future__ import annotations

from crawler.items import Page

FIELDS = ("title", "published_at", "language")


def fill_from_listing(article: dict, listing: dict) -> None:
    """Copy listed values into article's missing fields, recording their source."""
    provenance = article.setdefault("provenance", {})
    for name in FIELDS:
        if not article.get(name) and listing.get(name):
            article[name] = listing[name]
            provenance[name] = listing.get("field_from", {}).get(name) or listing.get("from")
    if not article.get("language") and listing.get("source_language"):
        article["language"] = listing["source_language"]
        provenance["language"] = "sources-file"


class ListingMetadataPipeline:
    def process_item(self, page: Page) -> Page:
        if page.article is not None and page.listing:
            fill_from_listing(page.article, page.listing)
        return page
