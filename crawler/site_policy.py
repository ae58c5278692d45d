"""Where an outlet's crawl may go: its own site, and never into a private network.

Feeds, sitemaps, links and redirects are written by the outlet (or by whoever broke
into it): a sitemap entry on another site would be archived under the outlet's name,
and one pointing at ``169.254.169.254`` or ``10.x`` would make the crawler fetch cloud
metadata or intranet pages. So every URL reached from an outlet is checked twice:

- **On site**: its registrable domain (public-suffix list, the offline snapshot that
  ships with tldextract) is the homepage's, with the same explicit port; an IP-literal
  homepage's site is that exact address. The sources file may add hosts per outlet
  (``allowed_hosts``: ``cdn.example`` or ``*.cdn.example``), and the hosts of the feeds
  and sitemaps it names are allowed implicitly: the operator chose them.
- **Public address**: the address the host is (or resolves to) is global, not
  loopback, private, link-local, multicast, reserved or unspecified, unless it is an
  address of the outlet's own homepage, feeds or sitemaps (an intranet outlet, or the
  test fixtures on 127.0.0.1), or an address literal in the same kind of network as
  those (then only the site check, and ``allowed_hosts``, decide).

The pure part lives here; :class:`crawler.middlewares.SitePolicyMiddleware` applies it
to every request before anything is sent.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import tldextract

if TYPE_CHECKING:
    from crawler.sources import NewsSource

# The public-suffix snapshot inside the package: no download, ever. Private suffixes
# (blogspot.com, github.io) count, so two blogs on one host company are two sites.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=True)
DEFAULT_PORTS = (80, 443)
HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}$")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_literal(host: str) -> Address | None:
    """The address a host is written as, IPv4-mapped IPv6 unwrapped, or None for a name."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def non_public_kind(address: Address) -> str | None:
    """Why an address is not on the public internet ("private", "link-local", ...)."""
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-global"


def normal_host(host: str) -> str:
    """A host as compared here: lower case, ASCII (IDNA), no trailing dot or brackets;
    Scrapy sends IDN hosts in their ``xn--`` form, a sources file may spell them out."""
    host = host.strip().lower().rstrip(".").strip("[]")
    if (address := ip_literal(host)) is not None:
        return str(address)
    try:
        return host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """``news.bbc.co.uk`` -> ``bbc.co.uk``; an IP or a single-label name stays whole."""
    host = normal_host(host)
    if ip_literal(host) is not None:
        return host
    return _EXTRACT(host).top_domain_under_public_suffix or host


def site_of(url: str) -> tuple[str, int | None]:
    """A URL's site: registrable domain, and the port when it is not 80/443."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a port number: a site of its own, matching no homepage
        port = -1
    return registrable_domain(parts.hostname or ""), None if port in DEFAULT_PORTS else port


def host_pattern(value: str) -> str | None:
    """An ``allowed_hosts`` entry in the form matching uses (IDNA, lower case), or None
    when it is neither a host name, a ``*.`` pattern nor an IP address."""
    host = normal_host(value)
    return host if ip_literal(host) is not None or HOST_PATTERN.match(host) else None


def matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@dataclass(frozen=True)
class OutletScope:
    """What one outlet's crawl may fetch (see the module docstring)."""

    name: str
    site: tuple[str, int | None]
    allowed: tuple[str, ...]  # host patterns: allowed_hosts and the named listings' hosts
    own_hosts: frozenset[str]  # homepage, feed and sitemap hosts: their addresses are its own

    @classmethod
    def of(cls, source: NewsSource) -> OutletScope:
        named = [normal_host(urlsplit(url).hostname or "")
                 for url in (*source.feeds, *source.sitemaps)]
        homepage = normal_host(urlsplit(source.homepage).hostname or "")
        allowed = tuple(dict.fromkeys((*source.allowed_hosts, *named)))
        return cls(source.name, site_of(source.homepage), allowed, frozenset({homepage, *named}))

    def on_site(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        host = normal_host(parts.hostname)
        return site_of(url) == self.site or any(matches(host, p) for p in self.allowed)

    def describe(self) -> str:
        domain, port = self.site
        return f"{domain}:{port}" if port else domain


def off_site_detail(url: str, via: str, *, scope: OutletScope) -> str:
    host = urlsplit(url).hostname or url
    return (f"{url}{via} is not on the site of {scope.name} ({scope.describe()}); not fetched. "
            f"If {scope.name} really serves pages from {host}, add \"{host}\" to its "
            "allowed_hosts in the sources file")


def private_address_detail(
    url: str, via: str, *, scope: OutletScope, address: Address, kind: str
) -> str:
    return (f"{url}{via} is on {address}, a {kind} address, not the public internet; not "
            f"fetched (an outlet's links must not reach internal networks). If it really is "
            f"{scope.name}'s own server, name it as the outlet's homepage, feed or sitemap in "
            "the sources file")
