"""Full-text search of the archive: one function for ``scrapy search`` and the tests.

The index (``articles_fts``, migration 0003) holds the search form of each title and
text; a query goes through the same ``search_form`` and is then tokenised by the same
database tokenizer as the text was, so a query word matches whole indexed words only
(``समर`` never matches ``समर्थन``).

Query syntax: words are all required; ``"quoted words"`` (or “curly quotes”) must
appear together in that order. Results come newest first (undated last).

Newest first at any archive size. Sorting every match by date costs as many rows as
match (a Hindi stop word is in every Hindi article); walking the articles newest first
until a page of them match costs as many rows as do not (a rare word). So a query first
walks: the ids of the newest articles that pass the filters, read from the newest-first
indexes alone (``ix_articles_newest_first``, ``ix_articles_source_newest_first``,
``ix_stories_newest_first``), :data:`WALK_CHUNK` at a time, each chunk checked against
the full-text index in one query. A page found (a common word), or the filtered archive
walked to its end, is the answer. After :data:`WALK_ROWS` ids (a rare word: at most a
few hundred matches in them), it sorts the matches instead, which are then few. On
PostgreSQL, where each walked article costs more, a query its planner expects to match
few articles sorts them at once (:func:`few_matches`). Either way the rows are the same,
in the same order (tests/test_search.py); figures in docs/benchmarks.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
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
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSVECTOR

from archive.models import Article, Source, Story
from pipelines.extraction.normalize import search_form, words

# A phrase in straight or curly double quotes (the closing one may be missing at the
# end), or a bare word.
_TERM = re.compile(r'["“”]([^"“”]*)(?:["“”]|$)|([^\s"“”]+)')

SQLITE_INDEX = table("articles_fts", column("rowid"))
POSTGRES_INDEX = table("articles_fts", column("article_id"), column("document", TSVECTOR))

# Ids walked newest first before a query sorts its matches instead: a query that finds
# no page of 50 in them matches at most 1 in 200 articles (5,000 at 1M articles).
WALK_ROWS = 10_000
# PostgreSQL: a query estimated to match at most this many articles sorts them at once.
SORT_ROWS = 10_000
WALK_CHUNK = 1000  # ids checked against the full-text index in one query
# SQLite: a chunk's id range is asked when at most this many times wider than the chunk.
SPAN_FACTOR = 200
NEWEST_ARTICLES = (Article.published_at_utc.desc().nulls_last(), Article.id.desc())
NEWEST_STORIES = (Story.first_published_at_utc.desc().nulls_last(), Story.story_id.desc())


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
    """Filters on a select over ``articles`` outer-joined with ``sources``.

    A date filter is also a range of ``published_at_utc`` a day wider than asked
    (offsets are at most 14 hours), so that the newest-first indexes start and stop
    where the dates do; the date the page states decides exactly.
    """
    published_date = func.substr(Article.published_at, 1, 10)
    if filters.source:
        statement = statement.where(
            or_(Source.name == filters.source, Source.domain == filters.source)
        )
    if filters.since:
        statement = statement.where(
            published_date >= filters.since.isoformat(),
            Article.published_at_utc >= _midnight(filters.since - timedelta(days=1)),
        )
    if filters.until:
        day_after = filters.until + timedelta(days=1)
        statement = statement.where(
            published_date < day_after.isoformat(),
            Article.published_at_utc < _midnight(day_after + timedelta(days=1)),
        )
    if filters.language:
        statement = statement.where(Article.language == filters.language)
    return statement


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _postgres_query(terms: list[str]) -> ColumnElement[Any]:
    simple = cast("simple", REGCONFIG)
    return reduce(
        lambda left, right: left.op("&&")(right),
        (func.phraseto_tsquery(simple, term) for term in terms),
    )


def matching_ids(connection: Connection, terms: list[str]) -> Select:
    """The ids of the articles matching every term, from the database's own index."""
    if connection.dialect.name == "sqlite":
        return select(SQLITE_INDEX.c.rowid).where(
            literal_column("articles_fts").op("MATCH")(sqlite_match(terms)))
    return select(POSTGRES_INDEX.c.article_id).where(
        POSTGRES_INDEX.c.document.op("@@")(_postgres_query(terms)))


def sort_all(connection: Connection, rows: Select, order: tuple[Any, ...],
             limit: int | None) -> list[Row]:
    """rows (a select without order) sorted by order, first ``limit`` of them. The rows
    are materialised first, then sorted: otherwise PostgreSQL's planner, misjudging what
    a walk costs, walks an index in that order and probes the matches (a rare word:
    0.9 s at 200k articles instead of 3 ms)."""
    keys = [key.label(f"sort_{n}") for n, key in enumerate(order)]
    found = rows.add_columns(*keys).cte("found").prefix_with("MATERIALIZED")
    sort = [found.c[key.name].desc().nulls_last() for key in keys]
    statement = select(*(found.c[column.key] for column in rows.selected_columns))
    return list(connection.execute(statement.order_by(*sort).limit(limit)))


def matching_among(connection: Connection, terms: list[str], ids: list[int]) -> set[int]:
    """Which of these article ids match every term: one query.

    SQLite: FTS5 answers a MATCH limited to a rowid range by reading that stretch of
    each word's list (~0.1 µs an article in it), but spends ~30 µs on each rowid given
    one by one. Ids walked newest first are mostly close together (ids grow as articles
    arrive), so the range is asked unless it is hundreds of times wider than the ids.
    """
    if connection.dialect.name == "sqlite":
        low, high = min(ids), max(ids)
        if high - low < SPAN_FACTOR * len(ids):
            where = SQLITE_INDEX.c.rowid.between(low, high)
        else:
            where = SQLITE_INDEX.c.rowid.in_(ids)
        found = connection.scalars(matching_ids(connection, terms).where(where))
    else:
        found = connection.scalars(matching_ids(connection, terms).where(
            POSTGRES_INDEX.c.article_id == func.any(cast(ids, ARRAY(BigInteger)))))
    return set(found).intersection(ids)


def _chunks(connection: Connection, ordered: Select) -> Iterator[Sequence[Row[Any]]]:
    """ordered's first WALK_ROWS rows, WALK_CHUNK at a time, streamed (a server-side
    cursor on PostgreSQL) and closed however the walk ends."""
    with connection.execute(ordered.limit(WALK_ROWS),
                            execution_options={"yield_per": WALK_CHUNK}) as result:
        yield from result.partitions()


def _walk(connection: Connection, ordered_ids: Select, limit: int,
          matching: Callable[[list[int]], set[int]]) -> list[int] | None:
    """The first ``limit`` ids of ordered_ids (at most WALK_ROWS of them) that
    ``matching`` keeps, in order; None when WALK_ROWS were walked without a page."""
    hits: list[int] = []
    walked = 0
    for chunk in _chunks(connection, ordered_ids):
        ids = [row[0] for row in chunk]
        walked += len(ids)
        found = matching(ids)
        hits += (row_id for row_id in ids if row_id in found)
        if len(hits) >= limit:
            return hits[:limit]
    return hits if walked < WALK_ROWS else None


def few_matches(connection: Connection, terms: list[str]) -> bool:
    """Whether the query is expected to match so few articles that sorting them beats
    walking: on PostgreSQL, by the planner's estimate (from its statistics of the most
    common words; a fraction of a millisecond), because there each walked article costs
    ~10 µs (its ``tsvector`` is read and decompressed) while the GIN index lists a rare
    word's articles at once. SQLite answers a walk's chunks from its index alone, so it
    always walks."""
    if connection.dialect.name != "postgresql":
        return False
    compiled = matching_ids(connection, terms).compile(connection)
    plan = connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
    return plan[0]["Plan"]["Plan Rows"] <= SORT_ROWS


def _article_ids(connection: Connection, filters: Filters, *columns: Any) -> Select:
    """The ids (and columns) of the articles passing the filters, newest first, through
    the indexes (the source's own when it names one), reading no article row."""
    statement = apply_filters(select(Article.id, *columns), replace(filters, source=None))
    if filters.source:
        sources = connection.scalars(select(Source.id).where(
            or_(Source.name == filters.source, Source.domain == filters.source))).all()
        statement = statement.where(Article.source_id.in_(sources))
    return statement.order_by(*NEWEST_ARTICLES)


def search(
    connection: Connection, query: str, filters: Filters | None = None, limit: int | None = 50
) -> list[Row]:
    """Articles matching every term of query: rows of (url, published_at, source, title)."""
    filters = filters or Filters()
    terms = parse_query(query)
    hits = (
        select(Article.url, Article.published_at, Source.name.label("source"), Article.title)
        .outerjoin(Source, Source.id == Article.source_id)
    )
    if limit is not None and not few_matches(connection, terms):
        found = _walk(connection, _article_ids(connection, filters), limit,
                      lambda ids: matching_among(connection, terms, ids))
        if found is not None:
            return list(connection.execute(
                hits.where(Article.id.in_(found)).order_by(*NEWEST_ARTICLES)))
    matches = apply_filters(hits.where(Article.id.in_(matching_ids(connection, terms))),
                            filters)
    return sort_all(connection, matches, (Article.published_at_utc, Article.id), limit)


def search_stories(
    connection: Connection, query: str, filters: Filters | None = None, limit: int | None = 50
) -> list[Row]:
    """One row per story with a copy that matches (and passes the filters): the story's
    first published copy, as (url, published_at, source, title, copies, outlets),
    newest first.

    Syndicated wire copies otherwise fill a page of hits with one story; the copy
    shown is the ``stories`` table's, the one every other view agrees on.
    """
    filters = filters or Filters()
    terms = parse_query(query)
    hits = select(
        Story.first_url.label("url"), Story.first_published_at.label("published_at"),
        Story.first_source.label("source"), Story.title, Story.copies, Story.outlets,
    )
    if limit is not None and not few_matches(connection, terms):
        found = _walk_stories(connection, terms, filters, limit)
        if found is not None:
            return list(connection.execute(
                hits.where(Story.story_id.in_(found)).order_by(*NEWEST_STORIES)))
    copies = apply_filters(
        select(Article.story_id).outerjoin(Source, Source.id == Article.source_id)
        .where(Article.id.in_(matching_ids(connection, terms))), filters)
    return sort_all(connection, hits.where(Story.story_id.in_(copies)),
                    (Story.first_published_at_utc, Story.story_id), limit)


def _walk_stories(connection: Connection, terms: list[str], filters: Filters, limit: int
                  ) -> list[int] | None:
    """The ``limit`` newest stories with a matching copy, from a walk of the articles
    newest first; None when the walk is not conclusive (then the matches are sorted).

    A story's first copy is published no later than any of its dated copies, so once
    the walk of dated articles is down to date T, a story not met yet was first
    published at T or before: the stories met and first published after T are the
    newest, in their order. An undated copy can belong to a story first published at
    any date, so the undated articles that pass the filters are walked first, whole.
    """
    met: dict[int, datetime | None] = {}  # story -> first published

    def meet(article_ids: Collection[int]) -> None:
        stories = set(connection.scalars(select(Article.story_id).where(
            Article.id.in_(article_ids), Article.story_id.is_not(None))))
        met.update(connection.execute(select(Story.story_id, Story.first_published_at_utc)
                                      .where(Story.story_id.in_(stories - met.keys()))).all())

    def matching(ids: list[int]) -> set[int]:
        return matching_among(connection, terms, ids)

    if filters.since is None and filters.until is None:  # else undated pages fail them
        undated = _walk(connection, _article_ids(connection, filters).where(
            Article.published_at_utc.is_(None)), WALK_ROWS + 1, matching)
        if undated is None:
            return None
        meet(undated)
    walked = 0
    dated = _article_ids(connection, filters, Article.published_at_utc).where(
        Article.published_at_utc.is_not(None))
    for chunk in _chunks(connection, dated):
        walked += len(chunk)
        found = matching([row.id for row in chunk])
        if found:
            meet(found)
        reached = chunk[-1].published_at_utc
        final = [story for story, first in met.items() if first and first > reached]
        if len(final) >= limit:
            return sorted(final, key=lambda story: (met[story], story), reverse=True)[:limit]
    if walked == WALK_ROWS:
        return None
    return sorted(met, reverse=True, key=lambda story: (  # undated last
        met[story] is not None, met[story] or datetime.min, story))[:limit]
