"""Full-text search of the archive: one function for ``scrapy search`` and the tests.

The index (``articles_fts``, migration 0003) holds the search form of each title and
text; a query goes through the same ``search_form`` and is then tokenised by the same
database tokenizer as the text was, so a query word matches whole indexed words only
(``समर`` never matches ``समर्थन``).

Query syntax: words are all required; ``"quoted words"`` (or “curly quotes”) must
appear together in that order. Results come newest first (undated last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce

from sqlalchemy import (
    Connection,
    Row,
    Select,
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR

from pipelines.extraction.normalize import search_form, words
from pipelines.models import Article, Source

# A phrase in straight or curly double quotes (the closing one may be missing at the
# end), or a bare word.
_TERM = re.compile(r'["“”]([^"“”]*)(?:["“”]|$)|([^\s"“”]+)')

SQLITE_INDEX = table("articles_fts", column("rowid"))
POSTGRES_INDEX = table("articles_fts", column("article_id"), column("document", TSVECTOR))
STORIES = table(  # the view of migration 0001
    "stories", *map(column, ("story_id", "first_article_id", "first_url",
                             "first_published_at", "first_source", "title", "copies",
                             "outlets")),
)


class SearchError(ValueError):
    """A query that cannot be run; the message says why."""


@dataclass(frozen=True)
class Filters:
    """Which articles to consider. Dates are the publication dates the pages state."""

    source: str | None = None  # a source name or domain
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive
    language: str | None = None  # ISO 639-1 code, as stored (hi, en, ...)


def parse_query(query: str) -> list[str]:
    """The query's terms in search form; each is a phrase of one or more words.

    Punctuation-only terms are dropped; the database tokenizer splits each term into
    words exactly as it split the indexed text.
    """
    terms = []
    for match in _TERM.finditer(search_form(query)):
        term = " ".join((match.group(1) or match.group(2) or "").split())
        if words(term):
            terms.append(term)
    if not terms:
        raise SearchError(f"the query {query!r} has no words to search for")
    return terms


def sqlite_match(terms: list[str]) -> str:
    """The FTS5 MATCH expression for parsed terms (also what ``scrapy serve`` runs).

    Each term quoted: an FTS5 string, never query syntax (terms have no quotes).
    """
    return " AND ".join(f'"{term}"' for term in terms)


def apply_filters(statement: Select, filters: Filters) -> Select:
    """Filters on a select over ``articles`` outer-joined with ``sources``."""
    published_date = func.substr(Article.published_at, 1, 10)
    if filters.source:
        statement = statement.where(
            or_(Source.name == filters.source, Source.domain == filters.source)
        )
    if filters.since:
        statement = statement.where(published_date >= filters.since.isoformat())
    if filters.until:
        day_after = filters.until + timedelta(days=1)
        statement = statement.where(published_date < day_after.isoformat())
    if filters.language:
        statement = statement.where(Article.language == filters.language)
    return statement


def where_matching(connection: Connection, statement: Select, terms: list[str]) -> Select:
    """statement (a select over ``articles``) narrowed to the articles matching every
    term, through the database's own index."""
    if connection.dialect.name == "sqlite":
        fts_query = sqlite_match(terms)
        return statement.join(SQLITE_INDEX, SQLITE_INDEX.c.rowid == Article.id).where(
            literal_column("articles_fts").op("MATCH")(fts_query)
        )
    simple = cast("simple", REGCONFIG)
    tsquery = reduce(
        lambda left, right: left.op("&&")(right),
        (func.phraseto_tsquery(simple, term) for term in terms),
    )
    return statement.join(POSTGRES_INDEX, POSTGRES_INDEX.c.article_id == Article.id).where(
        POSTGRES_INDEX.c.document.op("@@")(tsquery)
    )


def matching(connection: Connection, statement: Select, query: str,
             filters: Filters | None) -> Select:
    """statement (over ``articles`` outer-joined with ``sources``) narrowed to the
    articles that match the query and pass the filters."""
    statement = where_matching(connection, statement, parse_query(query))
    return apply_filters(statement, filters or Filters())


def search(
    connection: Connection, query: str, filters: Filters | None = None, limit: int | None = 50
) -> list[Row]:
    """Articles matching every term of query: rows of (url, published_at, source, title)."""
    statement = (
        select(Article.url, Article.published_at, Source.name.label("source"), Article.title)
        .outerjoin(Source, Source.id == Article.source_id)
        .order_by(Article.published_at_utc.desc().nulls_last(), Article.id.desc())
        .limit(limit)
    )
    return list(connection.execute(matching(connection, statement, query, filters)))


def search_stories(
    connection: Connection, query: str, filters: Filters | None = None, limit: int | None = 50
) -> list[Row]:
    """One row per story with a copy that matches (and passes the filters): the story's
    first published copy, as (url, published_at, source, title, copies, outlets).

    Syndicated wire copies otherwise fill a page of hits with one story; the copy
    shown is the ``stories`` view's (migration 0001), the one every other view agrees on.
    """
    story_ids = matching(
        connection,
        select(Article.story_id).outerjoin(Source, Source.id == Article.source_id),
        query,
        filters,
    )
    statement = (
        select(
            STORIES.c.first_url.label("url"),
            STORIES.c.first_published_at.label("published_at"),
            STORIES.c.first_source.label("source"),
            STORIES.c.title,
            STORIES.c.copies,
            STORIES.c.outlets,
        )
        .join(Article, Article.id == STORIES.c.first_article_id)
        .where(STORIES.c.story_id.in_(story_ids))
        .order_by(Article.published_at_utc.desc().nulls_last(), STORIES.c.story_id.desc())
        .limit(limit)
    )
    return list(connection.execute(statement))
