"""One page in, one article out, with no database: ``newsarchive.extract``.

The same extraction the crawl and ``replay`` run (``pipelines.extraction.extract_page``),
on a page given as bytes, as HTML text, or as a saved file (the file kinds ``replay``
reads: ``.txt`` plain-text dumps, ``.html``/``.htm``, ``.html.gz``).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

from crawler.spiders.replay import CONTENT_TYPES, page_suffix
from pipelines.extraction import ExtractionError, extract_page


@dataclass(frozen=True)
class ExtractedPage:
    """What one page gives. ``metadata_sources`` says where each value came from
    (``{"title": "json-ld", "published_at": "meta"}``), as ``articles.metadata_sources``."""

    url: str
    title: str | None
    text: str  # paragraphs separated by a blank line, NFC
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None  # ISO 8601 with the offset the page states
    language: str | None = None  # ISO 639-1
    description: str | None = None
    wire_agency: str | None = None  # IANS, PTI, ANI, ... when the page states it
    canonical_url: str | None = None  # the page's rel=canonical, when it gives one
    extractor: str = ""  # name and version, as articles.extractor
    metadata_sources: dict[str, str] = field(default_factory=dict)


def _as_path(page: bytes | str | os.PathLike[str]) -> Path | None:
    """The file to read, when page names one: a PathLike, or a str naming a page file
    (no markup in it). Any other str is the page's own HTML or text."""
    if isinstance(page, os.PathLike):
        return Path(page)
    if isinstance(page, str) and "<" not in page and page_suffix(Path(page)):
        return Path(page)
    return None


def extract(page: bytes | str | os.PathLike[str], url: str | None = None) -> ExtractedPage:
    """Extract the article of one page.

    ``page`` is the page's bytes (charset found as the crawl finds it), its HTML as a
    str, or a path (``Path`` or str) to a ``.html``, ``.htm``, ``.html.gz`` or ``.txt``
    file. ``url`` is where the page lives: it resolves relative links and canonical
    URLs, and a ``.txt`` URL marks bytes as a plain-text dump; for a file it defaults
    to the file's ``file://`` URL. Raises ExtractionError (``.reason``: ``empty``,
    ``binary``, ``no-article-text``, ...) for a page with no article, and OSError for
    a file that cannot be read.
    """
    headers: dict[str, str] = {}
    path = _as_path(page)
    if path is not None:
        path = path.expanduser()
        suffix = page_suffix(path)
        if suffix is None:
            raise ExtractionError(
                "not-a-page", f"{path} is not a page file ({', '.join(CONTENT_TYPES)})"
            )
        body = path.read_bytes()
        if suffix == ".html.gz":
            body = gzip.decompress(body)
        headers["content-type"] = CONTENT_TYPES[suffix]
        url = url or path.resolve().as_uri()
    elif isinstance(page, str):
        body = page.encode("utf-8")
        headers["content-type"] = "text/html; charset=utf-8"
    else:
        body = bytes(page)
    result = extract_page(body, url or "", headers)
    return ExtractedPage(
        url=url or "",
        title=result.title,
        text=result.text,
        authors=result.authors,
        published_at=result.published_at,
        language=result.language,
        description=result.description,
        wire_agency=result.agency,
        canonical_url=result.canonical_url,
        extractor=result.extractor,
        metadata_sources=result.provenance,
    )
