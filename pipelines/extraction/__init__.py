"""Article extraction as a plain function of a page: (body bytes, URL, headers).

Nothing here knows about Scrapy or the database, so any page can be extracted and
tested on its own, and the crawl can run extraction in worker processes.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from charset_normalizer import from_bytes
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
)

from pipelines.extraction.normalize import drop_controls, nfc


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
UNICODE_CODECS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                            "utf-32-le", "utf-32-be"})
# charset-normalizer's "chaos" of a reading: 0 for clean text; honest legacy-charset
# pages measured 0.0, mislabelled ones 0.18-0.2 (tests/test_html_page.py).
CLEAN_CHAOS = 0.1


# Control bytes that text does not hold: below 32, but tab, line breaks and form feed.
_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])


def _is_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    # Counted in C (bytes.translate deleting them), not byte by byte in Python.
    control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return control > len(head) // 20


def decode_text_page(body: bytes) -> str:
    """Decode a plain-text dump: UTF-8 (with or without BOM) or a clear error."""
    try:
        return nfc(drop_controls(body.decode("utf-8-sig")))
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            "invalid-utf8",
            f"byte {exc.start} is not UTF-8; re-save the file as UTF-8",
        ) from None


def decode_html(body: bytes, headers: Mapping[str, str], url: str) -> tuple[str, str | None]:
    """Decode HTML by BOM, HTTP charset, <meta charset>, then detection (w3lib); returns
    the text and, when the page's bytes are not the charset it declares but another one
    beyond doubt, a note saying which (for ``metadata_sources``).

    A page whose bytes are not in the charset it declares either gets its real charset
    (:func:`real_charset`) or is refused (``bad-charset``): the decoder replaces bad
    bytes silently, and a single-byte charset decodes anything, so without these checks
    the archive would keep mojibake. Checked here, where the page is decoded anyway, not
    on the crawl's reactor.
    """
    content_type = headers.get("content-type")
    encoding, text = html_to_unicode(content_type, body)
    declared = http_content_type_encoding(content_type) or html_body_declared_encoding(body)
    legacy = codecs.lookup(encoding).name not in UNICODE_CODECS
    note = None
    if declared and legacy and not body.isascii() and (real := real_charset(body, encoding)):
        text, note = body.decode(real, "replace"), f"{real} (declared {declared})"
    elif declared and "\ufffd" in text:
        _strict_decode(body, encoding, url)  # raises bad-charset when the bytes lie
    return nfc(text), note


def _strict_decode(body: bytes, encoding: str, url: str) -> None:
    try:
        body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExtractionError("bad-charset", (
            f"{url} declares charset {encoding} but byte 0x{body[exc.start]:02x} at "
            f"offset {exc.start} is not {encoding}: archived text would be garbled; "
            "the site mislabels its encoding")) from None


def real_charset(body: bytes, declared: str) -> str | None:
    """The charset of a page that declares a legacy (non-Unicode) one, when its bytes
    are another beyond doubt; None when the declared one reads as well as any.

    Bytes that are valid UTF-8 with multi-byte sequences are UTF-8: a legacy-charset
    text that happens to be valid UTF-8 is vanishingly rare (and a CMS that sends UTF-8
    under an old charset header is common). Otherwise charset-normalizer judges how
    garbled the declared reading is, and only a clearly cleaner reading replaces it.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    stated = from_bytes(body, cp_isolation=[declared]).best()
    if stated is not None and stated.chaos < CLEAN_CHAOS:
        return None
    best = from_bytes(body).best()
    if best is None or best.chaos >= (stated.chaos if stated else 1.0) / 2:
        return None
    return best.encoding


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
        text, charset = decode_html(body, headers, url)
        result = extract_html(text, url)
        if charset:
            result.provenance["charset"] = charset
    if not result.text.strip():
        raise ExtractionError("no-article-text", "no article text found on the page")
    return without_controls(result)


def without_controls(result: Extracted) -> Extracted:
    """The extracted fields without control characters, which lxml and trafilatura pass
    through from the page. Cleaned here, on the few kilobytes extracted, not on the
    whole page (4 ms a page on the corpus's 186k-character pages)."""
    result.text = drop_controls(result.text)
    result.authors = [drop_controls(name) for name in result.authors]
    for name in ("title", "description"):
        if value := getattr(result, name):
            setattr(result, name, drop_controls(value))
    return result
