"""Canonical URLs: one spelling per page, so the same page is never archived twice.

courlan does the normalising (host lower-cased, IDN hosts decoded, default ports and
tracking parameters such as ``utm_*``, ``fbclid``, ``gclid`` removed, query sorted);
fragments never name a different page, so they go too.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url


def canonical_url(url: str) -> str:
    """The canonical form of an http(s) URL; other URLs (file://) only lose the fragment."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return urlunsplit(parts._replace(fragment=""))
    try:
        normal = normalize_url(url.strip(), strict=False)
    except ValueError:
        normal = url.strip()
    return urlunsplit(urlsplit(normal)._replace(fragment=""))


def site_of(url: str) -> str:
    """The host without ``www.``: what "the same site" means for rel=canonical."""
    return (urlsplit(url).hostname or "").removeprefix("www.")


def article_url(page_url: str, stated_canonical: str | None) -> str:
    """The URL an article is archived under: rel=canonical when it stays on the site."""
    if stated_canonical and site_of(stated_canonical) == site_of(page_url):
        return canonical_url(stated_canonical)
    return canonical_url(page_url)
