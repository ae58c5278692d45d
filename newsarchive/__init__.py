"""newsarchive as a library: read an archive from Python, or extract one page.

::

    import newsarchive

    with newsarchive.open() as archive:          # DATABASE_URL, else archive.sqlite
        for article in archive.articles(source="seeds", since="2025-06-01"):
            print(article.url, article.title, article.authors)
        hits = archive.search("किम", limit=10)   # the same matching as `scrapy search`

    page = newsarchive.extract("seeds/003_1e3141995383dc93.txt")   # no database
    print(page.title, page.authors, page.published_at)

Everything here reuses the crawl's own code (``archive.database``,
``archive.search``, ``pipelines.extraction``), so the library, the commands and the
archive always agree.
"""

from __future__ import annotations

from archive.database import DatabaseError
from archive.search import SearchError
from newsarchive.archive import Archive, ArticleRecord, SearchHit, StoryRecord, open
from newsarchive.extract import ExtractedPage, extract
from pipelines.extraction import ExtractionError

__all__ = [
    "Archive",
    "ArticleRecord",
    "DatabaseError",
    "ExtractedPage",
    "ExtractionError",
    "SearchError",
    "SearchHit",
    "StoryRecord",
    "extract",
    "open",
]
