"""Reading an archive from Python: articles, stories and search, streamed.

The queries are the commands' own: ``scrapy export``'s selects
(``crawler.commands.export.EXPORTS``) and ``scrapy search``'s matching
(``archive.search``), so a script sees exactly what the commands show.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Engine, Row

from archive.database import database_url, mask_url, open_database
from archive.search import Filters, apply_filters, search
from crawler.commands.export import EXPORTS

# Rows fetched at a time by articles() and stories(): memory stays flat (a server-side
# cursor on PostgreSQL), however large the archive.
BATCH_ROWS = 500
R = TypeVar("R")


@dataclass(frozen=True)
class ArticleRecord:
    """One article, as ``scrapy export articles`` writes it (README: Tables)."""

    id: int
    url: str
    source: str | None
    title: str | None
    text: str
    authors: list[str]
    published_at: str | None  # as the page states it, with its UTC offset
    published_at_utc: datetime | None
    language: str | None
    description: str | None
    wire_agency: str | None
    story_id: int | None
    duplicate_of_id: int | None
    version: int
    first_seen_at: datetime
    last_seen_at: datetime
    content_hash: str
    extractor: str | None


@dataclass(frozen=True)
class StoryRecord:
    """One story (the ``stories`` view): its first published copy and how many ran it."""

    story_id: int
    title: str | None
    first_article_id: int
    first_url: str
    first_source: str | None
    first_published_at: str | None
    wire_agency: str | None
    copies: int
    outlets: int
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class SearchHit:
    """One article matching a search, as ``scrapy search`` prints it."""

    url: str
    published_at: str | None
    source: str | None
    title: str | None


def _record(kind: type[R], row: Row) -> R:
    values = row._mapping
    return kind(**{f.name: values[f.name] for f in fields(kind)})  # type: ignore[arg-type]


def _day(value: date | str | None, name: str) -> date | None:
    """A date, or an ISO ``YYYY-MM-DD`` string (as ``scrapy search --since`` takes)."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a date: use YYYY-MM-DD") from None


class Archive:
    """An open archive, for reading. Use it as a context manager, or call close()."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    def __repr__(self) -> str:
        return f"<newsarchive.Archive {mask_url(self.url)}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def articles(
        self, source: str | None = None, since: date | str | None = None,
        until: date | str | None = None,
    ) -> Iterator[ArticleRecord]:
        """Every article, oldest id first, fetched BATCH_ROWS at a time: iterate over a
        million articles in the memory of a few hundred. ``source`` is a source name or
        domain; ``since``/``until`` (inclusive) compare with the date the page states."""
        filters = Filters(source, _day(since, "since"), _day(until, "until"))
        yield from self._stream(ArticleRecord, apply_filters(EXPORTS["articles"], filters))

    def stories(self) -> Iterator[StoryRecord]:
        """Every story (copies of one story count once), by story_id, streamed."""
        yield from self._stream(StoryRecord, EXPORTS["stories"])

    def search(self, query: str, source: str | None = None,
               limit: int | None = 50) -> list[SearchHit]:
        """Articles whose title or text holds every word of query (whole words;
        "quoted words" as a phrase), newest first: the same as ``scrapy search``.
        ``limit`` None or 0: all. Raises SearchError for a query with no words."""
        with self.engine.connect() as connection:
            rows = search(connection, query, Filters(source), limit or None)
        return [_record(SearchHit, row) for row in rows]

    def _stream(self, kind: type[R], statement: Any) -> Iterator[R]:
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=BATCH_ROWS).execute(statement)
            for row in result:
                yield _record(kind, row)


def open(url: str | None = None) -> Archive:
    """The archive at url (a SQLAlchemy URL); by default DATABASE_URL, else
    ``sqlite:///archive.sqlite``, as the commands choose. An archive at an older schema
    is upgraded first, as every command does. Raises DatabaseError, whose message says
    what is wrong and what to do, when it cannot be used."""
    url = database_url(url)
    return Archive(open_database(url), url)
