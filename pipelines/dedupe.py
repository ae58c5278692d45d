"""Pipeline step 2: the keys that recognise a page already archived.

Each article gets its canonical URL (same URL twice → one article) and a hash of its
normalised text (same text under two URLs → a linked duplicate). The database
decides what is new when the batch is stored (``pipelines.archive``), because only
it knows what earlier runs and other processes archived.
"""

from __future__ import annotations

import hashlib

from crawler.items import Page
from pipelines.extraction.normalize import words
from pipelines.stories import story_signature
from pipelines.urls import article_url


def content_hash(text: str) -> str:
    """sha256 of the text's words: blind to white space, punctuation and Unicode form."""
    return hashlib.sha256(" ".join(words(text)).encode("utf-8")).hexdigest()


class DedupePipeline:
    def process_item(self, page: Page) -> Page:
        if page.article is not None:
            page.article["url"] = article_url(page.url, page.article.get("canonical_url"))
            if "content_hash" not in page.article:  # else computed by the extraction worker
                page.article["content_hash"] = content_hash(page.article["text"])
                page.article["story_signature"] = story_signature(page.article["text"])
        return page
