"""The live crawl's meta refresh: Scrapy's behaviour, without decoding whole pages.

Scrapy's MetaRefreshMiddleware decodes every HTML page to read its first 4,096
characters, and the decoded copy stays on the response while the page's item is
extracted and stored (measured: ~20 MB of the live crawl process's peak). Ours must
follow the same refreshes and leave the page undecoded.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.middlewares import HeadMetaRefreshMiddleware

REFRESH = '<meta http-equiv="refresh" content="0; url=/news/moved-here.html">'
ARTICLE = "<p>" + "उत्तर कोरिया ने रूस के साथ समझौते पर हस्ताक्षर किए। " * 3000 + "</p>"


def page(head: str, charset: str | None = "utf-8", body: str = ARTICLE) -> bytes:
    declared = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{declared}{head}</head><body>{body}</body></html>".encode()


def process(body: bytes) -> tuple[Response | Request, Response]:
    middleware = HeadMetaRefreshMiddleware.from_crawler(get_crawler())
    request = Request("https://daily.example/news/old-address.html")
    response = HtmlResponse(request.url, body=body, request=request,
                            headers={"Content-Type": "text/html"})
    return middleware.process_response(request, response), response


def test_the_project_uses_the_head_only_meta_refresh_instead_of_scrapys() -> None:
    middlewares = project_settings.DOWNLOADER_MIDDLEWARES
    assert middlewares["scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware"] is None
    assert middlewares["crawler.middlewares.HeadMetaRefreshMiddleware"] == 580


def test_a_refresh_in_the_head_of_a_large_page_is_followed() -> None:
    body = page(REFRESH)
    assert len(body) > 10 * HeadMetaRefreshMiddleware.HEAD_BYTES
    for charset in ("utf-8", None):  # declared in the page, or only guessed from its bytes
        answer, _ = process(page(REFRESH, charset))
        assert isinstance(answer, Request), charset
        assert answer.url == "https://daily.example/news/moved-here.html"
        assert answer.meta["redirect_reasons"] == ["meta refresh"]


def test_a_page_without_refresh_passes_through_undecoded() -> None:
    answer, response = process(page(""))
    assert answer is response
    # Nothing decoded the page: no text cached on the response (what Scrapy's kept).
    assert response._cached_ubody is None


def test_a_refresh_past_the_first_4096_characters_is_ignored_as_by_scrapy() -> None:
    late = page("", body="<p>" + "ख" * 5000 + "</p>" + REFRESH + ARTICLE)
    answer, response = process(late)
    assert answer is response


def test_a_page_smaller_than_the_head_is_read_whole() -> None:
    small = page(REFRESH, body="<p>छोटा पन्ना</p>")
    assert len(small) < HeadMetaRefreshMiddleware.HEAD_BYTES
    answer, _ = process(small)
    assert isinstance(answer, Request)
