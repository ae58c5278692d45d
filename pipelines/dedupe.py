"""Pipeline step 2: the keys that recognise a page already archived.

Each article gets its canonical URL (same URL twice → one article) and a hash of its
normalised text (same text under two URLs → a linked duplicate). The database
decides what is new when the batch is stored (``archive.writer``), because only
it knows what earlier runs and other processes archived.
"""

from __future__ import annotations

from crawler.items import Page
from pipelines.keys.urls import article_url


class DedupePipeline:
    def process_item(self, page: Page) -> Page:
        if page.article is not None:
            page.article["url"] = article_url(page.url, page.article.get("canonical_url"))
            if "content_hash" not in page.article:  # else computed by the extraction worker
                # Imported here: the crawl process needs no numpy when workers extract.
                from pipelines.keys.copies import dedupe_keys

                page.article.update(dedupe_keys(page.article["text"]))
        return page
