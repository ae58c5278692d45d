"""Full-text search finds Hindi words whole, never by fragment, on both databases, and
the index follows what the archive stores."""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from archive import search as search_module
from archive.database import open_database
from archive.models import Article, ArticleVersion, Capture, Source, Story
from archive.search import Filters, SearchError, parse_query, search, search_stories
from archive.writer import Archive
from crawler.items import Page
from pipelines.extraction.normalize import search_form, words
from pipelines.keys.copies import content_hash
from tests.conftest import run_scrapy

FETCHED = datetime(2025, 6, 6, 12, tzinfo=UTC)

SUPPORT = {  # has समर्थन and देय, never समर or दिया
    "url": "https://example.in/support", "title": "रूस को मिला उत्तर कोरिया का समर्थन",
    "text": "किम जोंग ने बिना शर्त समर्थन देने का ऐलान किया। कर देय है।",
    "published_at": "2025-06-05T09:00:00+05:30", "language": "hi",
}
BATTLE = {  # has समर and दिया; शर्त and बिना apart
    "url": "https://example.in/battle", "title": "समर का दिन",
    "text": "उसने शर्त रखी और बिना देर किए जवाब दिया।",
    "published_at": "2025-06-06T09:00:00+05:30", "language": "hi",
}


def archive(database_url: str, *articles: dict[str, Any], fetched_at: datetime = FETCHED) -> Engine:
    """The archive at database_url with these articles stored through ``Archive.write``."""
    engine = open_database(database_url)
    pages = []
    for fields in articles:
        fields = dict(fields)
        source = fields.pop("source", "example")
        page = Page(url=fields["url"], fetched_at=fetched_at, source=source)
        page.article = {"content_hash": content_hash(fields["text"]), **fields}
        pages.append(page)
    Archive(engine).write(pages, None)
    return engine


def urls(engine: Engine, query: str, **filters: Any) -> list[str]:
    with engine.connect() as connection:
        return [row.url for row in search(connection, query, Filters(**filters))]


def test_hindi_words_are_found_whole_never_by_fragment(database_url: str) -> None:
    engine = archive(database_url, SUPPORT, BATTLE)
    assert urls(engine, "समर") == [BATTLE["url"]]
    assert urls(engine, "दिया") == [BATTLE["url"]]
    assert urls(engine, "समर्थन") == [SUPPORT["url"]]
    assert urls(engine, "देय") == [SUPPORT["url"]]
    assert urls(engine, "शर्") == []  # a fragment of शर्त
    assert urls(engine, "रूस") == [SUPPORT["url"]]  # title words are indexed too
    engine.dispose()


def test_index_and_query_use_the_same_normal_form(database_url: str) -> None:
    # ढ़ as one code point (NFC splits it: composition exclusion), a ZWJ inside a word,
    # and a decomposed title: the index and the query must agree on one form.
    article = {
        "url": "https://example.in/forms", "title": unicodedata.normalize("NFD", "पढ़ाई"),
        "text": "स्\u200dवागत है, \u095dोल बजा।",
    }
    engine = archive(database_url, article)
    for query in ("स्वागत", "स्\u200cवागत", "\u0922\u093cोल", "\u095dोल", "प\u095dाई"):
        assert urls(engine, query) == [article["url"]], query
    engine.dispose()


def test_sql_search_form_is_the_python_one(database_url: str) -> None:
    """PostgreSQL's trigger uses an SQL copy of search_form; SQLite calls Python's."""
    format_characters = "".join(
        chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Cf"
    )
    sample = unicodedata.normalize("NFD", "क़लम ड़ ॐ é") + format_characters + "न\u200dहीं"
    engine = open_database(database_url)
    with engine.connect() as connection:
        in_sql = connection.execute(text("SELECT search_form(:s)"), {"s": sample}).scalar()
    assert in_sql == search_form(sample)
    engine.dispose()


def test_quoted_words_are_a_phrase(database_url: str) -> None:
    engine = archive(database_url, SUPPORT, BATTLE)
    assert urls(engine, '"बिना शर्त"') == [SUPPORT["url"]]
    assert sorted(urls(engine, "बिना शर्त")) == sorted([SUPPORT["url"], BATTLE["url"]])
    assert urls(engine, '"बिना शर्त" ऐलान') == [SUPPORT["url"]]
    assert urls(engine, "“बिना शर्त”") == [SUPPORT["url"]]
    assert urls(engine, '"बिना शर्त" दिया') == []
    engine.dispose()


def test_filters_and_newest_first(database_url: str) -> None:
    english = {"url": "https://other.test/en", "title": "समर in English",
               "text": "An English page that quotes समर.", "language": "en",
               "published_at": "2025-06-04T23:30:00-04:00", "source": "other"}
    undated = {"url": "https://example.in/undated", "title": None, "text": "समर बिना तारीख",
               "language": "hi"}
    engine = archive(database_url, english, BATTLE, undated)
    assert urls(engine, "समर") == [BATTLE["url"], english["url"], undated["url"]]
    assert urls(engine, "समर", language="hi") == [BATTLE["url"], undated["url"]]
    assert urls(engine, "समर", source="other") == [english["url"]]
    assert urls(engine, "समर", source="example.in") == [BATTLE["url"], undated["url"]]
    # Dates are the pages' own: 2025-06-04 in New York, though 2025-06-05 in UTC.
    assert urls(engine, "समर", since=date(2025, 6, 5)) == [BATTLE["url"]]
    assert urls(engine, "समर", until=date(2025, 6, 4)) == [english["url"]]
    assert urls(engine, "समर", since=date(2025, 6, 4), until=date(2025, 6, 4)) == [english["url"]]
    with engine.connect() as connection:
        assert [r.url for r in search(connection, "समर", limit=1)] == [BATTLE["url"]]
    engine.dispose()


def test_index_follows_new_versions_and_deletions(database_url: str) -> None:
    first = {"url": "https://example.in/live", "title": "पहला शीर्षक", "text": "पुराना पाठ"}
    engine = archive(database_url, first)
    assert urls(engine, "पुराना") == [first["url"]]

    changed = {**first, "title": "नया शीर्षक", "text": "बदला हुआ पाठ"}
    archive(database_url, changed, fetched_at=FETCHED + timedelta(hours=1)).dispose()
    assert urls(engine, "पुराना") == []
    assert urls(engine, "पहला") == []
    assert urls(engine, "बदला") == [first["url"]]
    assert urls(engine, "नया") == [first["url"]]

    with Session(engine) as session, session.begin():
        for model in (Capture, ArticleVersion, Article):
            session.execute(delete(model))
    assert urls(engine, "बदला") == []
    engine.dispose()


@pytest.mark.parametrize("query", ["", "  ।, — “ ”", '""'])
def test_a_query_without_words_is_refused(query: str) -> None:
    with pytest.raises(SearchError, match="no words"):
        parse_query(query)


def test_scrapy_search_command(database_url: str) -> None:
    archive(database_url, SUPPORT, BATTLE).dispose()
    found = run_scrapy("search", "समर", database_url=database_url)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        f"{BATTLE['url']}\t{BATTLE['published_at']}\texample\t{BATTLE['title']}"
    ]
    phrase = run_scrapy("search", '"बिना शर्त"', "--since", "2025-06-01", "--limit", "5",
                        database_url=database_url)
    assert phrase.returncode == 0, phrase.stderr
    assert [line.split("\t")[0] for line in phrase.stdout.splitlines()] == [SUPPORT["url"]]


def test_no_match_is_said_on_stderr_with_exit_status_1(database_url: str) -> None:
    archive(database_url, SUPPORT).dispose()
    found = run_scrapy("search", "हाथी", database_url=database_url)
    assert found.returncode == 1, found.stderr
    assert found.stdout == ""  # nothing for a pipe to mistake for a hit
    assert found.stderr.strip() == "no matches for हाथी"


def test_stories_give_one_hit_per_story(database_url: str) -> None:
    copy = {**SUPPORT, "url": "https://other.test/copy", "source": "other",
            "published_at": "2025-06-05T10:00:00+05:30"}  # a later copy, archived first
    engine = archive(database_url, copy, SUPPORT, BATTLE)
    assert sorted(urls(engine, "समर्थन")) == sorted([SUPPORT["url"], copy["url"]])
    with engine.connect() as connection:
        stories = search_stories(connection, "बिना")
        assert [(s.url, s.source, s.copies, s.outlets) for s in stories] == [
            (BATTLE["url"], "example", 1, 1), (SUPPORT["url"], "example", 2, 2)]
        # A story is found by any of its copies, and shown by its first published one.
        only_other = search_stories(connection, "समर्थन", Filters(source="other"))
        assert [s.url for s in only_other] == [SUPPORT["url"]]
    engine.dispose()

    found = run_scrapy("search", "--stories", "समर्थन", database_url=database_url)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        f"{SUPPORT['url']}\t{SUPPORT['published_at']}\texample\t{SUPPORT['title']}\t2\t2"
    ]


# Both ways of answering (a walk of the newest articles, a sort of every match) ---------

WORDS = [f"शब्द{chr(0x915 + i)}" for i in range(30)]  # filler words
MARKERS = {"हर": 1.0, "अक्सर": 0.3, "कभी": 0.05}  # a word in every, many, few articles
ALONE = "इकलौता"  # in one article only


def wide_archive(database_url: str) -> Engine:
    """~150 articles of 5 outlets over 40 days (some undated), stories of 1-3 copies,
    stored in an order unrelated to their dates, so ids do not follow dates."""
    rng = random.Random(7)
    pages = []
    for story in range(60):
        body = [rng.choice(WORDS) for _ in range(60)]
        body += [word for word, share in MARKERS.items() if rng.random() < share]
        if story == 17:
            body.append(ALONE)
        for copy in range(rng.choice((1, 1, 2, 3))):
            text = body[:-2] if copy else body  # a copy trims the end: same story
            source = f"outlet{rng.randrange(5)}"
            day = FETCHED - timedelta(days=rng.randrange(40), hours=rng.randrange(24))
            pages.append({
                "url": f"https://{source}.test/{story}-{copy}", "source": source,
                "title": f"खबर {story}", "text": " ".join(text), "language": "hi",
                "published_at": None if rng.random() < 0.1 else day.isoformat(),
            })
    rng.shuffle(pages)
    engine = open_database(database_url)
    for start in range(0, len(pages), 50):
        archive(database_url, *pages[start:start + 50]).dispose()
    return engine


def expected_articles(engine: Engine, word: str, filters: Filters) -> list[str]:
    """The search done by hand: every article holding word, filtered, newest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(Article, Source.name).outerjoin(Source, Source.id == Article.source_id)
        ).all()
    kept = [
        article for article, source in rows
        if word in words(f"{article.title} {article.text}")
        and filters.source in (None, source)
        and (filters.since is None or (article.published_at or "")[:10] >= str(filters.since))
        and (filters.until is None or (article.published_at or "9")[:10] <= str(filters.until))
    ]
    kept.sort(key=lambda a: (a.published_at_utc is not None, a.published_at_utc or FETCHED,
                             a.id), reverse=True)
    return [article.url for article in kept]


WAYS = {  # (WALK_ROWS, WALK_CHUNK, SPAN_FACTOR, SORT_ROWS) of archive.search
    "sort every match": (0, 1000, 200, -1),
    "as configured": tuple(getattr(search_module, name) for name in (
        "WALK_ROWS", "WALK_CHUNK", "SPAN_FACTOR", "SORT_ROWS")),
    "walk in chunks of 7": (100_000, 7, 200, -1),
    "walk id by id (ids far apart)": (100_000, 7, 0, -1),
    "walk gives up after 20 ids, then sort": (20, 7, 200, -1),
}
QUERIES = [(word, filters) for word in (*MARKERS, ALONE, "नहीं")
           for filters in (Filters(), Filters(source="outlet2"),
                           Filters(since=date(2025, 5, 20), until=date(2025, 6, 1)))]


@pytest.mark.parametrize("limit", [5, 40])
def test_every_way_of_answering_gives_the_same_newest_first_page(
    database_url: str, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    engine = wide_archive(database_url)
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(Article))
        assert total > 100
        answers: dict[str, list[Any]] = {}
        for way, settings in WAYS.items():
            for name, value in zip(("WALK_ROWS", "WALK_CHUNK", "SPAN_FACTOR", "SORT_ROWS"),
                                   settings, strict=True):
                monkeypatch.setattr(search_module, name, value)
            answers[way] = [
                ([r.url for r in search(connection, word, filters, limit)],
                 [(r.url, r.copies) for r in search_stories(connection, word, filters, limit)])
                for word, filters in QUERIES
            ]
        stories = {row.story_id: row for row in connection.execute(select(Story))}
    for (word, filters), (found, _) in zip(QUERIES, answers["sort every match"], strict=True):
        assert found == expected_articles(engine, word, filters)[:limit], (word, filters)
    assert any(len(found) == limit for found, _ in answers["sort every match"])
    for way, answer in answers.items():
        assert answer == answers["sort every match"], way
    # The stories found are the stories of the articles found, one row each, newest first.
    for (word, filters), (_, found) in zip(QUERIES, answers["sort every match"], strict=True):
        with engine.connect() as connection:
            story_ids = set(connection.scalars(select(Article.story_id).where(
                Article.url.in_(expected_articles(engine, word, filters)))))
        mine = sorted((stories[i] for i in story_ids), reverse=True, key=lambda s: (
            s.first_published_at_utc is not None, s.first_published_at_utc or FETCHED,
            s.story_id))
        assert found == [(s.first_url, s.copies) for s in mine][:limit], (word, filters)
    engine.dispose()


def test_sqlite_index_reads_the_archives_own_text_for_snippets(tmp_path: Path) -> None:
    """The SQLite index keeps no copy of the text (migration 0007): snippet() and a
    rebuild read it from ``articles`` through ``articles_search_text``, in search form."""
    engine = archive(f"sqlite:///{tmp_path / 'archive.sqlite'}", SUPPORT, BATTLE)
    with engine.begin() as connection:
        assert connection.scalar(text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'articles_fts_content'")) == 0
        connection.execute(text("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')"))
        connection.execute(text(
            "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')"))
        snippet = connection.scalar(text(
            "SELECT snippet(articles_fts, 1, '[', ']', '…', 4) FROM articles_fts"
            " WHERE articles_fts MATCH 'समर्थन'"))
    assert "[समर्थन]" in snippet
    assert urls(engine, "समर") == [BATTLE["url"]]
    engine.dispose()
