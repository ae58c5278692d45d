"""The Python API (``import newsarchive``) and the archive's readable JSON, on both
databases: a real replay of the seeds, read back through the API, through ``scrapy
search`` and through the database drivers themselves."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import column, make_url, table

import newsarchive
from archive.database import alembic_config, create_archive_engine
from archive.models import UTCDateTime
from tests.conftest import SEEDS, run_scrapy

HINDI_BYLINE = "शिवेन्द्र कुमार राय"  # seeds/003 states it
PRINTLINES_SEED = SEEDS / "002_9c510a5b21a12fa2.txt"  # named in seeds/manifest.jsonl


def raw_rows(url: str, sql: str) -> list[tuple]:
    """Rows exactly as a person's client shows them: the driver, no SQLAlchemy types."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(parsed.database) as connection:
            return connection.execute(sql).fetchall()
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        return connection.execute(sql).fetchall()


def test_the_api_reads_the_demo_archive_as_the_commands_do(database_url: str) -> None:
    replay = run_scrapy("crawl", "replay", "-a", f"path={SEEDS}", database_url=database_url)
    assert replay.returncode == 0, replay.stderr[-3000:]

    with newsarchive.open(database_url) as archive:
        articles = list(archive.articles())
        assert len(articles) == 5 and all(a.language == "hi" for a in articles)
        assert [a.authors for a in articles if HINDI_BYLINE in a.authors] == [[HINDI_BYLINE]]
        # The manifest names the outlet seed 002 shows; the page keeps its file:// URL.
        printlines = list(archive.articles(source="The Printlines"))
        assert [a.url for a in printlines] == [PRINTLINES_SEED.as_uri()]
        # Dates as the pages state them: seed 003 is the only one from 2024.
        old = list(archive.articles(until="2024-12-31"))
        assert [a.authors for a in old] == [[HINDI_BYLINE]]
        assert HINDI_BYLINE not in {n for a in archive.articles(since=date(2025, 1, 1))
                                    for n in a.authors}

        stories = list(archive.stories())
        assert len(stories) == 5 and sum(s.copies for s in stories) == 5

        hits = archive.search("किम", limit=0)
        cli = run_scrapy("search", "किम", "--limit", "0", database_url=database_url)
        assert cli.returncode == 0, cli.stderr
        assert [h.url for h in hits] == [line.split("\t")[0] for line in cli.stdout.splitlines()]
        assert len(hits) == 5
        only = archive.search('"बिना शर्त" समर्थन', source="The Printlines")
        assert [h.source for h in only] == ["The Printlines"]

        with pytest.raises(newsarchive.SearchError, match="no words"):
            archive.search("?!")
        with pytest.raises(ValueError, match="use YYYY-MM-DD"):
            list(archive.articles(since="last week"))

    # What sqlite3, Datasette and psql show: the byline itself, not \u escapes.
    stored = stored_json(database_url)
    assert json.dumps([HINDI_BYLINE], ensure_ascii=False) in stored["articles.authors"]
    assert not [v for values in stored.values() for v in values if "\\u" in v]


def test_a_manifest_line_may_name_the_outlet_without_a_url(
    database_url: str, tmp_path: Path
) -> None:
    """A dump that shows its outlet but not its address keeps its file:// URL."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for name in ("named.txt", "domain.txt", "neither.txt"):
        (folder / name).write_bytes((SEEDS / "003_1e3141995383dc93.txt").read_bytes()
                                    .replace("पुतिन".encode(), name.encode()))
    (folder / "manifest.jsonl").write_text(
        '{"file": "named.txt", "source": "लोकमत"}\n'
        '{"file": "domain.txt", "source": "lokmat.com", "fetched_at": "2025-06-06T03:00:00Z"}\n'
        '{"file": "neither.txt", "fetched_at": "2025-06-06T03:00:00Z"}\n', encoding="utf-8")
    replay = run_scrapy("crawl", "replay", "-a", f"path={folder}", database_url=database_url)
    assert replay.returncode == 1, replay.stderr[-3000:]  # the third line is bad
    assert "bad-manifest-line" in replay.stdout

    with newsarchive.open(database_url) as archive:
        sources = {a.url.rsplit("/", 1)[1]: a.source for a in archive.articles()}
    # The line naming no url and no source fails; its file is archived as any other.
    assert sources == {"named.txt": "लोकमत", "domain.txt": "lokmat.com",
                       "neither.txt": "dumps"}


def test_open_says_what_is_wrong_with_an_unusable_archive(tmp_path: Path) -> None:
    with pytest.raises(newsarchive.DatabaseError, match="Check that the folder"):
        newsarchive.open(f"sqlite:///{tmp_path / 'missing' / 'archive.sqlite'}")


def escaped_rows(authors: list[str]) -> dict[str, list[dict]]:
    """A row with Hindi JSON in every JSON column of the schema (revision 0004)."""
    when = datetime(2025, 6, 6, 7, 26, tzinfo=UTC)
    article = {"source_id": 1, "text": "पाठ", "authors": authors, "version": 2,
               "metadata_sources": {"title": "शीर्षक"}, "first_seen_at": when,
               "last_seen_at": when}
    return {
        "sources": [{"id": 1, "name": "पंजाब", "created_at": when}],
        "crawl_runs": [{"id": 1, "spider": "replay", "status": "finished",
                        "arguments": {"path": "/समाचार"}, "stats": {"पन्ने": 3},
                        "started_at": when}],
        # More rows than the migration's batch (500), so its batching is exercised too.
        "articles": [{**article, "id": n, "url": f"https://example.in/{n}",
                      "content_hash": f"{n:064d}"} for n in range(1, 503)],
        "article_versions": [{"id": 1, "article_id": 1, "version": 1, "text": "पुराना",
                              "authors": authors[:1], "content_hash": "f" * 64,
                              "first_seen_at": when, "replaced_at": when}],
        "captures": [{"id": 1, "source_id": 1, "url": "https://example.in/1", "outcome": "new",
                      "fetched_at": when, "listing": {"title": "किम जोंग"}}],
    }


JSON_COLUMNS = ("articles.authors", "articles.metadata_sources", "article_versions.authors",
                "captures.listing", "crawl_runs.arguments", "crawl_runs.stats")


def stored_json(url: str) -> dict[str, list[str]]:
    """The text of every JSON column, as stored (json::text on PostgreSQL)."""
    postgres = make_url(url).get_backend_name() == "postgresql"
    return {
        name: [row[0] for row in raw_rows(url, (
            f"SELECT {name.split('.')[1]}{'::text' if postgres else ''} "
            f"FROM {name.split('.')[0]} ORDER BY id"))]
        for name in JSON_COLUMNS
    }


def test_an_archive_written_with_escapes_is_rewritten_readable_by_the_upgrade(
    database_url: str,
) -> None:
    command.upgrade(alembic_config(database_url), "0004")
    authors = [HINDI_BYLINE, "IANS", "C:\\users\\ना"]  # a real backslash-u stays one
    escaped = create_archive_engine(database_url)
    with escaped.begin() as connection:
        for name, rows in escaped_rows(authors).items():
            # JSON as the engine wrote it before: json.dumps's default, ensure_ascii.
            rows = [{k: json.dumps(v) if f"{name}.{k}" in JSON_COLUMNS else v
                     for k, v in row.items()} for row in rows]
            typed = [column(key, UTCDateTime if key.endswith("_at") else None)
                     for key in rows[0]]
            connection.execute(table(name, *typed).insert(), rows)
    escaped.dispose()
    before = stored_json(database_url)
    assert all("\\u09" in value for values in before.values() for value in values)

    newsarchive.open(database_url).close()  # opening upgrades it (in a child process)

    after = stored_json(database_url)
    assert {k: [json.loads(v) for v in values] for k, values in after.items()} == {
        k: [json.loads(v) for v in values] for k, values in before.items()}
    assert not [v for values in after.values() for v in values if "\\u09" in v]
    assert set(after["articles.authors"]) == {json.dumps(authors, ensure_ascii=False)}
    assert after["crawl_runs.stats"] == ['{"पन्ने": 3}']


ARTICLE_PAGE = """<!doctype html><html lang="hi"><head><meta charset="utf-8">
<title>रूस को मिला उत्तर कोरिया का साथ | समाचार</title>
<meta property="og:title" content="रूस को मिला उत्तर कोरिया का साथ">
<meta property="og:type" content="article">
<meta property="article:published_time" content="2025-06-06T07:26:00+05:30">
<meta name="author" content="आशा वर्मा">
<link rel="canonical" href="https://example.in/world/russia-korea">
</head><body><nav><a href="/">मुखपृष्ठ</a></nav><article><h1>रूस को मिला उत्तर कोरिया का साथ</h1>
{paragraphs}</article></body></html>"""
PARAGRAPHS = "\n".join(
    f"<p>उत्तर कोरिया और रूस के बीच जो आपसी रक्षा संधि हुई है, उसके सभी नियमों को निभाया "
    f"जाएगा। किम जोंग-उन ने यह बात प्योंगयांग में बैठक {n} के दौरान कही।</p>" for n in range(8)
)


def test_extract_one_page_without_a_database(tmp_path: Path) -> None:
    seed = newsarchive.extract(str(SEEDS / "003_1e3141995383dc93.txt"))
    assert seed.title and seed.title.startswith("पुतिन और किम जोंग उन के बीच समझौता")
    assert (seed.authors, seed.published_at, seed.language) == (
        [HINDI_BYLINE], "2024-06-19T17:34:00+05:30", "hi")
    assert seed.url == (SEEDS / "003_1e3141995383dc93.txt").as_uri()
    as_bytes = newsarchive.extract((SEEDS / "003_1e3141995383dc93.txt").read_bytes(),
                                   url="https://example.in/003.txt")
    assert (as_bytes.title, as_bytes.text) == (seed.title, seed.text)

    html = ARTICLE_PAGE.format(paragraphs=PARAGRAPHS)
    page = newsarchive.extract(html, url="https://example.in/world/russia-korea?utm_source=x")
    assert page.title == "रूस को मिला उत्तर कोरिया का साथ"
    assert (page.authors, page.published_at, page.language) == (
        ["आशा वर्मा"], "2025-06-06T07:26:00+05:30", "hi")
    assert page.canonical_url == "https://example.in/world/russia-korea"
    assert "बैठक 7 के दौरान" in page.text and "मुखपृष्ठ" not in page.text
    saved = tmp_path / "पन्ना.html.gz"
    saved.write_bytes(gzip.compress(html.encode("utf-8")))
    assert newsarchive.extract(saved).text == page.text

    with pytest.raises(newsarchive.ExtractionError) as empty:
        newsarchive.extract(b"   ")
    assert empty.value.reason == "empty"
