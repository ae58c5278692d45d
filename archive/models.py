"""The archive's SQL schema: the one place where tables are described.

The schema is a public interface (people query it directly), so names say what a
column holds, and it changes only through Alembic revisions in ``migrations/``.
Timestamps are UTC; ``articles.published_at`` keeps the offset the page stated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every dialect (SQLite's DATETIME drops the offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: archive timestamps must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Row ids: 64-bit (a capture per listing fetch at 10,000 outlets overflows 32 bits in
# about 2.4 years). On SQLite, INTEGER is already 64-bit, and only an INTEGER primary
# key is the rowid alias that numbers new rows: a BIGINT one would not.
ID = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Source(Base):
    """An outlet: a sources-file entry, or a site found in replayed pages."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    homepage: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CrawlRun(Base):
    """One process run of a spider (a crawl or a replay), with Scrapy's final stats."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    spider: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # running | finished | failed (a person must act: crawler/run_status.py) | aborted
    # (the run itself failed) | interrupted (stopped by a signal, or its process died
    # and a later run marked it)
    status: Mapped[str] = mapped_column(String(20), default="running")
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the run's process is, and when it last said it was alive: how a later run,
    # on this machine or another, tells a dead run from a live one.
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Capture(Base):
    """One page as fetched or read: what came back, and what became of it."""

    __tablename__ = "captures"
    __table_args__ = (Index(None, "url", "fetched_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ID, ForeignKey("crawl_runs.id"), index=True)
    source_id: Mapped[int | None] = mapped_column(ID, ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)  # the page's URL as requested or stated
    final_url: Mapped[str | None] = mapped_column(Text)  # after redirects
    local_path: Mapped[str | None] = mapped_column(Text)  # replayed file
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of the body
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # new | unchanged | updated | duplicate | not-article | not-modified | failed
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    error: Mapped[str | None] = mapped_column(String(60), index=True)  # reason code
    error_detail: Mapped[str | None] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ID, ForeignKey("articles.id"), index=True)
    # What a feed or sitemap said of the page (title, published date, language, ...).
    listing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    warc_file: Mapped[str | None] = mapped_column(Text)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)


class Article(Base):
    """The latest extracted state of one canonical URL."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)  # canonical
    # Indexed with the publication date below: an outlet's articles newest first.
    source_id: Mapped[int | None] = mapped_column(ID, ForeignKey("sources.id"))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[str | None] = mapped_column(String(40))  # ISO 8601, page's offset
    published_at_utc: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(16), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    wire_agency: Mapped[str | None] = mapped_column(String(40), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256, normal text
    # Indexed: the story window (archive.stories) is measured on it.
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    story_id: Mapped[int | None] = mapped_column(ID, index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ID, ForeignKey("articles.id"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    extractor: Mapped[str | None] = mapped_column(String(100))
    # Where each metadata value came from: {"title": "json-ld", "published_at": "feed"}
    metadata_sources: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


def newest_first_index(name: str, *columns: Any) -> None:
    """An index in the order "newest first, undated last" of ``columns``' last two
    (a date, then the id that breaks its ties): the order search walks (archive.search).
    SQLite allows no NULLS LAST in an index and needs none: its NULLs sort first, so its
    ascending index scanned backward is already in this order."""
    *leading, published, row_id = columns
    Index(name, *leading, published.desc().nulls_last(), row_id.desc(),
          info={"dialect": "postgresql"}).ddl_if(dialect="postgresql")
    Index(name, *columns, info={"dialect": "sqlite"}).ddl_if(dialect="sqlite")


newest_first_index("ix_articles_newest_first", Article.published_at_utc, Article.id)
# Also serves every lookup by source.
newest_first_index("ix_articles_source_newest_first", Article.source_id,
                   Article.published_at_utc, Article.id)


class ArticleVersion(Base):
    """An earlier text of an article, kept when a later capture found it changed."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    article_id: Mapped[int] = mapped_column(ID, ForeignKey("articles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[str | None] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64))
    extractor: Mapped[str | None] = mapped_column(String(100))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Story(Base):
    """One row per story, kept by the archive writer in the transaction that changes
    any of its copies (``archive.stories.refresh_stories``), so that story questions
    read one row a story instead of grouping every article. The first copy is the
    first published one (the first archived when no copy states a date)."""

    __tablename__ = "stories"

    story_id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=False)
    title: Mapped[str | None] = mapped_column(Text)  # of the first copy
    first_article_id: Mapped[int] = mapped_column(
        ID, ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    first_url: Mapped[str] = mapped_column(Text)
    first_source: Mapped[str | None] = mapped_column(String(200))
    first_published_at: Mapped[str | None] = mapped_column(String(40))
    # Sorts stories newest first (``scrapy search --stories``).
    first_published_at_utc: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wire_agency: Mapped[str | None] = mapped_column(String(40), index=True)
    copies: Mapped[int] = mapped_column(Integer)
    outlets: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


newest_first_index("ix_stories_newest_first", Story.first_published_at_utc, Story.story_id)


class StoryBand(Base):
    """MinHash LSH band hashes: articles sharing a (band, hash) are copy candidates.
    Only articles first seen within the story window keep theirs (archive.stories).
    On SQLite the table is WITHOUT ROWID: a rowid table would store each row in its
    table and again in its primary-key index."""

    __tablename__ = "story_bands"
    __table_args__ = ({"sqlite_with_rowid": False},)

    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ID, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StoryLinkLog(Base):
    """The articles each batch indexed in ``story_bands``, numbered in the order the
    batches were linked (PostgreSQL; SQLite's writers are serialised and never need
    it). A writer links its batch against the committed archive, then reads here which
    articles were linked by others since, and checks only those under the story lock
    (``archive.stories.BatchLinks``). Old batches are pruned; a writer that falls
    behind the log checks all its candidates again instead."""

    __tablename__ = "story_link_log"

    batch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(ID, primary_key=True)


class OutletBlock(Base):
    """A short block one outlet repeats, word for word, across the first copies of
    different stories: its learned boilerplate ("यह भी पढ़ें: ...", a newsletter box).
    Extraction removes these blocks from the outlet's later pages; ``scrapy reextract``
    removes them from the pages stored before they were learned
    (``archive.outlet_boilerplate``)."""

    __tablename__ = "outlet_boilerplate"

    source_id: Mapped[int] = mapped_column(ID, ForeignKey("sources.id"), primary_key=True)
    # The block's words hashed (pipelines.extraction.outlet_blocks.block_key).
    block_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pages_seen: Mapped[int] = mapped_column(Integer)
    example_text: Mapped[str] = mapped_column(Text)
    # Writers read what the others learned since their last read by this index.
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
