"""Writing pages into the archive database, one transaction per batch.

Everything here runs in a worker thread (see ``pipelines.store``), never on the
reactor. A batch is all-or-nothing: a crash mid-batch leaves no half article, and the
unique constraints on ``sources.name`` and ``articles.url`` keep two processes that
write at once from creating duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.items import Page
from pipelines.models import Article, ArticleVersion, Capture, CrawlRun, Source, utcnow


def body_hash(body: bytes) -> str | None:
    return hashlib.sha256(body).hexdigest() if body else None


def to_utc(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso).astimezone(UTC) if iso else None


class Archive:
    """The archive database as the pipelines see it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._source_ids: dict[str, int] = {}

    # Crawl runs -------------------------------------------------------------------

    def start_run(self, spider: str, arguments: dict[str, Any]) -> int:
        with Session(self.engine) as session, session.begin():
            run = CrawlRun(spider=spider, arguments=arguments, status="running", stats={})
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, reason: str | None, stats: dict) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(finished_at=utcnow(), status=status, finish_reason=reason, stats=stats)
            )

    # Pages ------------------------------------------------------------------------

    def write(self, pages: Sequence[Page], run_id: int | None) -> None:
        """Store a batch of pages in one transaction; sets each page's outcome."""
        try:
            self._write(pages, run_id)
        except Exception:
            self._source_ids.clear()  # ids created in the rolled-back transaction
            raise

    def _write(self, pages: Sequence[Page], run_id: int | None) -> None:
        with Session(self.engine) as session, session.begin():
            for page in pages:
                source_id = self.source_id(session, page)
                article_id = None
                if page.error is not None:
                    page.outcome = "failed"
                elif page.article is not None:
                    page.outcome, article_id = self.store_article(session, page, source_id)
                elif page.outcome is None:
                    page.outcome = "not-article"
                session.add(self.capture(page, run_id, source_id, article_id))

    def source_id(self, session: Session, page: Page) -> int | None:
        name = page.source
        if not name:
            return None
        if name not in self._source_ids:
            found = session.scalar(select(Source.id).where(Source.name == name))
            if found is None:
                found = self._insert_source(session, name, page.url)
            self._source_ids[name] = found
        return self._source_ids[name]

    def _insert_source(self, session: Session, name: str, url: str) -> int:
        host = urlsplit(url).hostname
        try:
            with session.begin_nested():
                source = Source(name=name, domain=host.removeprefix("www.") if host else None)
                session.add(source)
            return source.id
        except IntegrityError:  # another process created it first
            return session.scalar(select(Source.id).where(Source.name == name))

    def store_article(
        self, session: Session, page: Page, source_id: int | None
    ) -> tuple[str, int]:
        fields = page.article or {}
        existing = session.scalar(select(Article).where(Article.url == fields["url"]))
        if existing is None:
            try:
                with session.begin_nested():
                    return self._insert_article(session, page, source_id)
            except IntegrityError:  # another process archived this URL meanwhile
                existing = session.scalar(select(Article).where(Article.url == fields["url"]))
        return self._revisit_article(session, existing, page), existing.id

    def _insert_article(
        self, session: Session, page: Page, source_id: int | None
    ) -> tuple[str, int]:
        fields = page.article or {}
        original = session.execute(
            select(Article.id, Article.story_id)
            .where(Article.content_hash == fields["content_hash"])
            .where(Article.duplicate_of_id.is_(None))
            .order_by(Article.id)
            .limit(1)
        ).first()
        article = Article(
            source_id=source_id,
            first_seen_at=page.fetched_at,
            last_seen_at=page.fetched_at,
            duplicate_of_id=original.id if original else None,
            story_id=original.story_id if original else None,
            **self._content(fields),
        )
        session.add(article)
        session.flush()
        return ("duplicate" if original else "new"), article.id

    def _revisit_article(self, session: Session, article: Article, page: Page) -> str:
        fields = page.article or {}
        article.last_seen_at = max(article.last_seen_at, page.fetched_at)
        if article.content_hash == fields["content_hash"]:
            return "unchanged"
        if page.fetched_at < article.first_seen_at:
            return "unchanged"  # an older capture replayed late: not a newer version
        session.add(
            ArticleVersion(
                article_id=article.id,
                version=article.version,
                title=article.title,
                text=article.text,
                authors=article.authors,
                published_at=article.published_at,
                content_hash=article.content_hash,
                extractor=article.extractor,
                first_seen_at=article.first_seen_at,
                replaced_at=page.fetched_at,
            )
        )
        for name, value in self._content(fields).items():
            setattr(article, name, value)
        article.version += 1
        return "updated"

    @staticmethod
    def _content(fields: dict[str, Any]) -> dict[str, Any]:
        """The article columns that come from extraction."""
        return {
            "url": fields["url"],
            "title": fields.get("title"),
            "text": fields["text"],
            "authors": fields.get("authors") or [],
            "published_at": fields.get("published_at"),
            "published_at_utc": to_utc(fields.get("published_at")),
            "language": fields.get("language"),
            "description": fields.get("description"),
            "wire_agency": fields.get("agency"),
            "content_hash": fields["content_hash"],
            "extractor": fields.get("extractor"),
            "metadata_sources": fields.get("provenance") or {},
        }

    @staticmethod
    def capture(
        page: Page, run_id: int | None, source_id: int | None, article_id: int | None
    ) -> Capture:
        warc = page.warc or {}
        return Capture(
            crawl_run_id=run_id,
            source_id=source_id,
            url=page.requested_url or page.url,
            final_url=page.url,
            local_path=page.local_path,
            fetched_at=page.fetched_at,
            http_status=page.http_status,
            content_type=page.headers.get("content-type"),
            content_length=len(page.body) if page.body else None,
            content_hash=body_hash(page.body),
            etag=page.headers.get("etag"),
            last_modified=page.headers.get("last-modified"),
            outcome=page.outcome or "failed",
            error=page.error,
            error_detail=page.error_detail,
            article_id=article_id,
            listing=page.listing or None,
            warc_file=warc.get("file"),
            warc_offset=warc.get("offset"),
            warc_length=warc.get("length"),
        )
