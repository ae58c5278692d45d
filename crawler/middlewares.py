"""Downloader middlewares of the live crawl: conditional requests, polite retries, and
a meta refresh that reads only the head of a page.

Conditional requests: a request whose ``meta["revalidate"]`` holds what the archive
stored of the page (``{"etag": ..., "last_modified": ...}``) is sent with
``If-None-Match`` / ``If-Modified-Since``, and a 304 answer reaches the spider (which
stores it as ``not-modified`` without extracting anything).

Retries: Scrapy's RetryMiddleware retries at once. On a 429 or 503 the server asked us
to slow down, so this one waits: ``Retry-After`` when the answer has one (seconds or an
HTTP date; longer than ``RETRY_AFTER_MAX`` means give up and record the failure), else an
exponential backoff of ``RETRY_BACKOFF_BASE`` × 2^(attempt-1), capped at
``RETRY_BACKOFF_MAX``. The wait is an asyncio sleep: the reactor keeps serving others.

Meta refresh: Scrapy's middleware looks for ``<meta http-equiv="refresh">`` in the first
4,096 characters of a page, but decodes the whole page to get them, and the text stays
cached on the response until every item of the response is stored: 2 to 4 times the
page's size, for 30-40 pages in flight (~20 MB in the crawl process). Ours decodes only
the first bytes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import HtmlResponse, Response
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)


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


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
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
