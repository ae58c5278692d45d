"""Article extraction as a plain function of a page: (body bytes, URL, headers).

Nothing here knows about Scrapy or the database, so any page can be extracted and
tested on its own, and the crawl can run extraction in worker processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
)

from pipelines.extraction.normalize import nfc


class ExtractionError(Exception):
    """A page that cannot give an article; ``reason`` is a short stable code for stats."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Extracted:
    """What a page gives: the article and where each metadata value came from."""

    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None  # ISO 8601 with offset
    language: str | None = None
    description: str | None = None
    agency: str | None = None  # wire agency stated on the page (IANS, PTI, ...)
    canonical_url: str | None = None
    page_type: str | None = None  # "article" when the page says so (og:type, JSON-LD)
    provenance: dict[str, str] = field(default_factory=dict)  # field -> source of value
    extractor: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


TEXT_TYPES = ("text/plain",)


def _is_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > len(head) // 20


def decode_text_page(body: bytes) -> str:
    """Decode a plain-text dump: UTF-8 (with or without BOM) or a clear error."""
    try:
        return nfc(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            "invalid-utf8",
            f"byte {exc.start} is not UTF-8; re-save the file as UTF-8",
        ) from None


def decode_html(body: bytes, headers: Mapping[str, str], url: str) -> str:
    """Decode HTML by BOM, HTTP charset, <meta charset>, then detection (w3lib).

    A page whose bytes are not in the charset it declares is refused (``bad-charset``):
    the decoder replaces bad bytes silently, and the archive would keep mojibake. Checked
    here, where the page is decoded anyway (strictly again only when a replacement
    character shows up), not by a decode of its own on the crawl's reactor.
    """
    content_type = headers.get("content-type")
    encoding, text = html_to_unicode(content_type, body)
    replaced = "\ufffd" in text
    if replaced and (http_content_type_encoding(content_type) or html_body_declared_encoding(body)):
        try:
            body.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ExtractionError("bad-charset", (
                f"{url} declares charset {encoding} but byte 0x{body[exc.start]:02x} at "
                f"offset {exc.start} is not {encoding}: archived text would be garbled; "
                "the site mislabels its encoding")) from None
    return nfc(text)


def is_text_page(url: str, headers: Mapping[str, str]) -> bool:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type:
        return content_type in TEXT_TYPES
    return url.lower().split("?")[0].endswith(".txt")


def extract_page(
    body: bytes, url: str, headers: Mapping[str, str] | None = None
) -> Extracted:
    """Extract the article of one page. Raises ExtractionError with a reason code.

    ``headers`` uses lower-case names; ``content-type`` decides between a plain-text
    page dump and HTML (without it, a ``.txt`` URL means plain text).
    """
    from pipelines.extraction.html_page import extract_html
    from pipelines.extraction.text_page import extract_text_page

    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not body.strip():
        raise ExtractionError("empty", "the page has no content")
    if _is_binary(body[:8192]):
        raise ExtractionError("binary", "the page is binary, not text or HTML")
    if is_text_page(url, headers):
        result = extract_text_page(decode_text_page(body), url)
    else:
        result = extract_html(decode_html(body, headers, url), url)
    if not result.text.strip():
        raise ExtractionError("no-article-text", "no article text found on the page")
    return result
