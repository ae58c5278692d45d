"""Where an outlet's crawl may go (crawler/site_policy.py), decided without a crawl.

The crawl itself (tests/test_news_hostile.py) shows the decisions applied before any
connection, on redirects too; here are the decisions: which URLs are an outlet's site,
which addresses are outside the public internet, what allowed_hosts accepts.
"""

from __future__ import annotations

import ipaddress

import pytest

from crawler.site_policy import OutletScope, host_pattern, ip_literal, non_public_kind
from crawler.sources import NewsSource

NEWS = OutletScope.of(NewsSource(
    "News", "https://www.news.co.uk/", feeds=("https://feeds.feedhost.example/news.rss",),
    allowed_hosts=("cdn.newsimg.example", "*.newsstatic.example", "10.0.0.7")))
FIXTURE = OutletScope.of(NewsSource("Fixture", "http://127.0.0.1:8080/"))
BLOG = OutletScope.of(NewsSource("Blog", "https://ourpaper.blogspot.com/"))


@pytest.mark.parametrize(
    ("scope", "url", "on_site"),
    [
        (NEWS, "https://www.news.co.uk/india/story.html", True),
        (NEWS, "http://hindi.news.co.uk/story.html", True),  # same registrable domain
        (NEWS, "https://news.co.uk.evil.example/story.html", False),
        (NEWS, "https://other.co.uk/story.html", False),  # co.uk is a public suffix
        (NEWS, "https://feeds.feedhost.example/other.rss", True),  # a feed's host: named
        (NEWS, "https://www.feedhost.example/", False),  # ... not its whole domain
        (NEWS, "https://CDN.newsimg.example/photo.html", True),  # allowed_hosts
        (NEWS, "https://a.b.newsstatic.example/x", True),  # *.pattern
        (NEWS, "https://newsstatic.example/x", False),  # *. means subdomains only
        (NEWS, "http://10.0.0.7/x", True),
        (NEWS, "https://www.news.co.uk:8443/x", False),  # another port: another site
        (NEWS, "ftp://www.news.co.uk/x", False),
        (NEWS, "javascript:alert(1)", False),
        (FIXTURE, "http://127.0.0.1:8080/news/a.html", True),
        (FIXTURE, "http://127.0.0.1:9/news/a.html", False),
        (FIXTURE, "http://127.0.0.2:8080/news/a.html", False),  # an IP site is that address
        (FIXTURE, "http://localhost:8080/", False),
        (BLOG, "https://ourpaper.blogspot.com/2024/06/story.html", True),
        (BLOG, "https://theirpaper.blogspot.com/", False),  # a private suffix counts
    ],
)
def test_an_outlets_site_is_its_registrable_domain_and_the_hosts_the_file_names(
    scope: OutletScope, url: str, on_site: bool
) -> None:
    assert scope.on_site(url) is on_site


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None), ("2001:4860:4860::8888", None),
        ("127.0.0.1", "loopback"), ("::1", "loopback"),
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("172.16.5.4", "private"),
        ("fd00::1", "private"), ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
    ],
)
def test_addresses_outside_the_public_internet_are_named(address: str, kind: str | None) -> None:
    literal = ip_literal(address)
    assert isinstance(literal, ipaddress.IPv4Address | ipaddress.IPv6Address)
    assert non_public_kind(literal) == kind


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        ("cdn.example.com", "cdn.example.com"), ("CDN.Example.com.", "cdn.example.com"),
        ("*.static.example", "*.static.example"), ("भारत.example", "xn--h2brj9c.example"),
        ("10.0.0.7", "10.0.0.7"), ("[::1]", "::1"),
        ("https://cdn.example.com/", None), ("cdn.example.com:8080", None), ("*", None),
        ("cdn .example", None), ("*.*.example", None), ("", None),
    ],
)
def test_allowed_hosts_entries_are_host_names_patterns_or_addresses(
    entry: str, pattern: str | None
) -> None:
    assert host_pattern(entry) == pattern


def test_a_name_is_never_taken_for_an_address() -> None:
    assert ip_literal("localhost") is None
    assert ip_literal("10.0.0.1.example") is None
