"""Downloader middlewares of the live crawl: the outlet's site and nothing else,
conditional requests, polite retries, redirects that cannot loop unseen, and a meta
refresh that reads only the head of a page.

Site policy (:mod:`crawler.site_policy`): every request that names its outlet
(``meta["source"]``) is checked before anything is sent, redirects and meta refreshes
included (they come back through the middlewares as new requests). An off-site URL or
a non-public address raises :class:`Refused`; the spider stores it as a failed capture
(``off-site``, ``private-address``) and the stats count it (``news/refused/<reason>``).
The verdict is cached per (outlet, host), and the host is resolved through the
reactor's caching resolver, whose answer the connection then uses (Scrapy's DNS cache
keeps ``DNSCACHE_SIZE`` names without expiry: no second lookup to rebind within a run).

Conditional requests: a request whose ``meta["revalidate"]`` holds what the archive
stored of the page (``{"etag": ..., "last_modified": ...}``) is sent with
``If-None-Match`` / ``If-Modified-Since``, and a 304 answer reaches the spider (which
stores it as ``not-modified`` without extracting anything).

Retries: Scrapy's RetryMiddleware retries at once. On a 429 or 503 the server asked us
to slow down, so this one waits: ``Retry-After`` when the answer has one (seconds or an
HTTP date; longer than ``RETRY_AFTER_MAX`` means give up and record the failure), else an
exponential backoff of ``RETRY_BACKOFF_BASE`` × 2^(attempt-1), capped at
``RETRY_BACKOFF_MAX``. The wait is an asyncio sleep: the reactor keeps serving others.

Redirects: a chain that comes back to a URL it passed (which Scrapy's duplicate filter
dropped without a word) fails as ``redirect-loop``, one longer than
``REDIRECT_MAX_TIMES`` as ``too-many-redirects`` (:class:`RedirectFailed`). Every other
hop is sent even when its target was already requested in the run, so each redirecting
URL ends in a capture, and the next run knows where it leads.

Meta refresh: Scrapy's middleware looks for ``<meta http-equiv="refresh">`` in the first
4,096 characters of a page, but decodes the whole page to get them, and the text stays
cached on the response until every item of the response is stored: 2 to 4 times the
page's size, for 30-40 pages in flight (~20 MB in the crawl process). Ours decodes only
the first bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.error import DNSLookupError

from crawler.site_policy import (
    Address,
    OutletScope,
    ip_literal,
    non_public_kind,
    normal_host,
    off_site_detail,
    private_address_detail,
)

logger = logging.getLogger(__name__)


class NotFetched(IgnoreRequest):
    """A request given up on purpose; ``reason`` and ``detail`` go into its capture."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Refused(NotFetched):
    """Never sent: off the outlet's site, or on an address outside the public internet."""


class RedirectFailed(NotFetched):
    """Sent, but its redirects come back to where they passed, or go on too long."""


def came_from(request: Request) -> str:
    """Where a request's URL was found, for a failure's sentence."""
    if redirects := request.meta.get("redirect_urls"):
        first = f", first requested as {redirects[0]}" if len(redirects) > 1 else ""
        return f" (redirected from {redirects[-1]}{first})"
    listing = request.meta.get("listing") or {}
    where = listing.get("listed_in") or listing.get("found_on")
    return f" (listed in {where})" if where else ""


# (reason, the sentence for (url, where it came from)) of a refused host; None: allowed
Verdict = tuple[str, Callable[[str, str], str]] | None
UNJUDGED: Any = object()  # the cache holds no verdict on the host yet


class SitePolicyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.verdicts: dict[tuple[str, str, str], Verdict] = {}  # (outlet, scheme, netloc)
        self.own: dict[str, set[Address]] = {}  # outlet -> its named hosts' addresses

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SitePolicyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        scopes: dict[str, OutletScope] = getattr(self.crawler.spider, "scopes", {})
        scope = scopes.get(request.meta.get("source", ""))
        if scope is None:  # not an outlet's request: robots.txt, another spider
            return
        parts = urlparse_cached(request)
        key = (scope.name, parts.scheme, parts.netloc)
        verdict = self.verdicts.get(key, UNJUDGED)
        if verdict is UNJUDGED:
            verdict, final = await self.judge(scope, request.url)
            if final:
                self.verdicts[key] = verdict
        if verdict is not None:
            reason, detail = verdict
            self.stats.inc_value(f"news/refused/{reason}")
            raise Refused(reason, detail(request.url, came_from(request)))

    async def judge(self, scope: OutletScope, url: str) -> tuple[Verdict, bool]:
        """The verdict on a URL's host for an outlet, and whether it may be cached (not
        when the host did not resolve: the download then fails and says so itself).

        A non-public address is refused unless it is the outlet's own, or, written as
        an address, is in the same kind of network as the outlet's own (an intranet
        outlet, the loopback fixtures): there the site check decides, so allowed_hosts
        can name a neighbour. A host *name* resolving into a non-public network (a
        planted DNS record) is refused whatever the sources file allows; a name off the
        site is refused without being resolved."""
        host = normal_host(urlsplit(url).hostname or "")
        on_site = scope.on_site(url)
        literal = address = ip_literal(host)
        if address is None and on_site and (address := await self.address(host)) is None:
            return None, False
        kind = non_public_kind(address) if address is not None else None
        if kind and host not in scope.own_hosts:
            own = await self.own_addresses(scope)
            neighbour = literal is not None and kind in {non_public_kind(a) for a in own}
            if address not in own and not neighbour:
                return ("private-address", partial(private_address_detail, scope=scope,
                                                   address=address, kind=kind)), True
        if not on_site:
            return ("off-site", partial(off_site_detail, scope=scope)), True
        return None, True

    async def own_addresses(self, scope: OutletScope) -> set[Address]:
        if scope.name not in self.own:
            found = [await self.address(host) for host in scope.own_hosts]
            self.own[scope.name] = {address for address in found if address is not None}
        return self.own[scope.name]

    @staticmethod
    async def address(host: str) -> Address | None:
        """The address a host is, or resolves to through the reactor's (caching) resolver."""
        if (literal := ip_literal(host)) is not None:
            return literal
        from twisted.internet import reactor  # the installed one: imported when it is

        try:
            resolved = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
        except DNSLookupError:
            return None
        return ip_literal(resolved)


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        stored = request.meta.get("revalidate")
        if not stored:
            return
        if stored.get("etag"):
            request.headers.setdefault(b"If-None-Match", stored["etag"])
        if stored.get("last_modified"):
            request.headers.setdefault(b"If-Modified-Since", stored["last_modified"])
        allowed = request.meta.setdefault("handle_httpstatus_list", [])
        if 304 not in allowed:
            allowed.append(304)
        self.stats.inc_value("news/conditional/requests")

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == 304 and request.meta.get("revalidate"):
            self.stats.inc_value("news/conditional/not-modified")
        return response


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay-seconds or HTTP-date) as seconds from now, or None."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits before each retry and honours Retry-After."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = super().from_crawler(crawler)
        settings = crawler.settings
        middleware.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        middleware.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        middleware.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)
        return middleware

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None and wait > self.retry_after_max:
            logger.warning(
                "%s asks to retry after %.0f s, over RETRY_AFTER_MAX %.0f s: not retried",
                request.url, wait, self.retry_after_max,
            )
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await asyncio.sleep(wait if wait is not None else self.backoff(retry.meta["retry_times"]))
        return retry

    async def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions_to_retry):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await asyncio.sleep(self.backoff(retry.meta["retry_times"]))
        return retry


class LoopCheck:
    """Turns Scrapy's silent ends of a redirect chain into recorded failures."""

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            hops = " -> ".join([*chain[chain.index(redirected.url):], redirected.url])
            raise RedirectFailed("redirect-loop", (
                f"{chain[0]} redirects in a loop ({hops}); not archived: the site's "
                "redirects are broken, tell the site if it lasts"))
        try:
            redirected = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:
            raise RedirectFailed("too-many-redirects", (
                f"{chain[0]} redirects more than REDIRECT_MAX_TIMES "
                f"{self.max_redirect_times} times (last to {redirected.url}); not archived. "  # type: ignore[attr-defined]
                "Tell the site, or raise REDIRECT_MAX_TIMES")) from None
        redirected.dont_filter = True  # its capture records where the chain led
        return redirected


class LoopCheckRedirectMiddleware(LoopCheck, RedirectMiddleware):
    """Scrapy's 3xx redirects, with loops and overlong chains recorded."""


class HeadMetaRefreshMiddleware(LoopCheck, MetaRefreshMiddleware):
    """Scrapy's meta refresh, given only the first :attr:`HEAD_BYTES` of an HTML page
    (enough bytes for the 4,096 characters Scrapy reads, at up to 4 bytes a character)."""

    HEAD_BYTES = 4 * 4096

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if not isinstance(response, HtmlResponse) or len(response.body) <= self.HEAD_BYTES:
            return super().process_response(request, response)
        # Not response.replace(): that reads response.encoding, which decodes the whole
        # page when neither the headers nor the page's head declare a charset.
        head = HtmlResponse(url=response.url, status=response.status, headers=response.headers,
                            body=response.body[: self.HEAD_BYTES], request=request)
        answer = super().process_response(request, head)
        return response if answer is head else answer
