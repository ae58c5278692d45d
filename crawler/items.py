"""The one item that flows through the pipelines: a page, and what became of it.

Spiders fill the capture half (what was fetched or read); the pipelines fill the rest
(extract → deduplicate → store). Keeping it one plain dataclass lets extraction run
in worker processes and lets tests build pages without Scrapy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.http import Response


def lower_headers(response: Response) -> dict[str, str]:
    """A response's headers as ``Page.headers`` holds them: lower-case names, one value."""
    return {
        key.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
        for key, values in response.headers.items()
    }


@dataclass
class Page:
    url: str  # the page's own URL: stated by a manifest or WARC, or the fetched URL
    fetched_at: datetime  # aware; the original fetch time when replaying
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    http_status: int | None = None
    requested_url: str | None = None  # before redirects, when it differs
    local_path: str | None = None  # the replayed file
    source: str | None = None  # source name (sources file, or the replay's)
    # Set when fetching or reading failed: a short reason code and a sentence.
    error: str | None = None
    error_detail: str | None = None
    # What a feed or sitemap said of the page: {"title": ..., "published_at": ...}.
    listing: dict[str, Any] = field(default_factory=dict)
    warc: dict[str, Any] | None = None  # {"file", "offset", "length"} of the record
    # A fleet worker's claim on the request that fetched it (crawler/fleet/scheduler.py),
    # settled once the page is stored; not stored itself.
    claim: str | None = None
    # Filled by the pipelines.
    article: dict[str, Any] | None = None  # Extracted.as_dict() plus dedupe keys
    outcome: str | None = None
    # What the archive records of the body once the bytes are dropped (drop_body).
    body_length: int | None = None
    body_sha256: str | None = None

    def __repr__(self) -> str:  # Scrapy logs items: never dump the body
        return f"Page({self.url!r}, outcome={self.outcome!r}, error={self.error!r})"

    def drop_body(self) -> None:
        """Keep the body's length and sha256, not its bytes: a page waiting in a store
        batch need not hold its HTML (200 pages of a batch: ~30 MB)."""
        if self.body:
            self.body_length = len(self.body)
            self.body_sha256 = hashlib.sha256(self.body).hexdigest()
            self.body = b""

    def fail(self, reason: str, detail: str) -> Page:
        self.error, self.error_detail = reason, detail
        return self
