"""Canonical URLs: one spelling per page."""

from __future__ import annotations

import pytest

from pipelines.keys.urls import article_url, canonical_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://WWW.Example.COM/World/?utm_source=rss&utm_medium=x&id=5#top",
         "https://www.example.com/World/?id=5"),
        ("https://example.com/a?fbclid=abc&gclid=1&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("http://example.com:80/news", "http://example.com/news"),
        # Devanagari paths and IDN hosts survive (path percent-encoded, host readable).
        ("https://समाचार.भारत/देश/लेख-1", "https://समाचार.भारत/%E0%A4%A6%E0%A5%87%E0%A4%B6/"
         "%E0%A4%B2%E0%A5%87%E0%A4%96-1"),
        ("https://xn--bcher-kva.de/a", "https://bücher.de/a"),
        ("file:///tmp/seeds/a.txt#x", "file:///tmp/seeds/a.txt"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical  # idempotent


def test_rel_canonical_is_honoured_only_on_the_same_site() -> None:
    assert article_url("https://a.com/x?utm_source=1", "https://www.a.com/x-c") == (
        "https://www.a.com/x-c"
    )
    assert article_url("https://a.com/x", "https://elsewhere.com/y") == "https://a.com/x"
