"""Every Alembic revision upgrades and downgrades on SQLite and PostgreSQL, from an empty
database and from the previous revision with data in it; the models and the migrations
describe the same schema (``alembic check`` finds nothing to generate)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Engine, column, inspect, select, table, text

from archive.database import SCHEMA_REVISION, alembic_config
from archive.models import UTCDateTime
from archive.search import search
from tests.conftest import REPO

SCRIPTS = ScriptDirectory(alembic_config("sqlite://").get_main_option("script_location"))
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
WITH_PREVIOUS = [r for r in REVISIONS if SCRIPTS.get_revision(r).down_revision is not None]
WHEN = datetime(2025, 6, 6, 7, 26, tzinfo=UTC)

# Rows written at an older revision, with the columns every revision since 0001 has.
SOURCES = table("sources", column("id"), column("name"), column("created_at", UTCDateTime))
ARTICLES = table(
    "articles",
    *map(column, ("id", "url", "source_id", "title", "text", "content_hash", "version")),
    column("authors", JSON),
    column("metadata_sources", JSON),
    column("first_seen_at", UTCDateTime),
    column("last_seen_at", UTCDateTime),
)
CAPTURES = table(
    "captures", *map(column, ("id", "source_id", "url", "outcome", "article_id")),
    column("fetched_at", UTCDateTime),
)
ARTICLE_ROWS = [
    {"id": 1, "url": "https://example.in/a", "source_id": 1, "title": "रूस को मिला साथ",
     "text": "किम जोंग ने बिना शर्त समर्थन देने का ऐलान किया।", "content_hash": "a" * 64,
     "version": 1, "authors": ["आईएएनएस"], "metadata_sources": {"title": "json-ld"},
     "first_seen_at": WHEN, "last_seen_at": WHEN},
    {"id": 2, "url": "https://example.in/b", "source_id": 1, "title": None,
     "text": "उसने जवाब दिया।", "content_hash": "b" * 64, "version": 2, "authors": [],
     "metadata_sources": {}, "first_seen_at": WHEN, "last_seen_at": WHEN},
]


def schema(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    return set(inspector.get_table_names()) | set(inspector.get_view_names())


def write_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(SOURCES.insert(), [{"id": 1, "name": "example", "created_at": WHEN}])
        connection.execute(ARTICLES.insert(), ARTICLE_ROWS)
        connection.execute(CAPTURES.insert(), [
            {"id": 1, "source_id": 1, "url": "https://example.in/a", "outcome": "new",
             "article_id": 1, "fetched_at": WHEN},
        ])


def read_rows(engine: Engine) -> list[dict]:
    with engine.connect() as connection:
        articles = connection.execute(
            select(ARTICLES).order_by(ARTICLES.c.id)
        ).mappings().all()
        captures = connection.execute(select(CAPTURES.c.article_id)).scalars().all()
    return [*map(dict, articles), {"captures": captures}]


@pytest.mark.parametrize("revision", REVISIONS)
def test_revision_upgrades_and_downgrades_from_empty(
    database_url: str, engine: Engine, revision: str
) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, revision)
    assert "articles" in schema(engine)
    command.downgrade(config, "base")
    assert schema(engine) <= {"alembic_version"}
    # Nothing left behind (a function, a trigger) that would stop a second upgrade.
    command.upgrade(config, revision)
    command.downgrade(config, "base")


@pytest.mark.parametrize("revision", WITH_PREVIOUS)
def test_revision_keeps_data_from_previous_revision(
    database_url: str, engine: Engine, revision: str
) -> None:
    previous = SCRIPTS.get_revision(revision).down_revision
    config = alembic_config(database_url)
    command.upgrade(config, previous)
    write_rows(engine)
    before = read_rows(engine)
    assert before[0]["authors"] == ["आईएएनएस"]

    command.upgrade(config, revision)
    assert read_rows(engine) == before
    command.downgrade(config, previous)
    assert read_rows(engine) == before


def test_fulltext_revision_indexes_articles_already_archived(
    database_url: str, engine: Engine
) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, SCRIPTS.get_revision("0003").down_revision)
    write_rows(engine)
    command.upgrade(config, "head")  # 0003 indexes them; 0007 rebuilds the index
    with engine.connect() as connection:
        assert [r.url for r in search(connection, "समर्थन")] == ["https://example.in/a"]
        assert [r.url for r in search(connection, "दिया")] == ["https://example.in/b"]
    command.downgrade(config, SCRIPTS.get_revision("0003").down_revision)
    assert not {name for name in schema(engine) if name.startswith("articles_fts")}


def test_models_match_migrations(database_url: str) -> None:
    """What ``alembic check`` does: autogenerate against head finds no change."""
    config = alembic_config(database_url)
    command.upgrade(config, "head")
    command.check(config)  # raises AutogenerateDiffsDetected, listing the differences


def test_schema_revision_is_the_newest_migration() -> None:
    """open_database skips Alembic for a database at SCHEMA_REVISION: a new migration
    must move it, or databases would never be upgraded to it."""
    assert SCRIPTS.get_current_head() == SCHEMA_REVISION


def test_opening_the_archive_leaves_alembic_out_of_the_process(database_url: str) -> None:
    """The crawl process opens the archive once and runs for hours: Alembic (22 MB with
    Mako and Pygments) upgrades the schema in a child process and is never imported."""
    script = (
        "import sys\n"
        "from sqlalchemy import inspect\n"
        "from archive.database import open_database\n"
        "for _ in range(2):  # an empty database, then one at the newest revision\n"
        "    engine = open_database(sys.argv[1])\n"
        "    assert 'articles' in inspect(engine).get_table_names()\n"
        "    engine.dispose()\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in\n"
        "             ('alembic', 'mako', 'pygments')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, database_url], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_stories_become_a_table_with_what_the_views_said(
    database_url: str, engine: Engine
) -> None:
    """0007: the ``stories`` view becomes a table holding the view's rows (plus the first
    copy's UTC date), ``representative_articles`` still picks the same articles, the
    full-text index is rebuilt (SQLite: over the articles' own text); and back."""
    config = alembic_config(database_url)
    command.upgrade(config, "0006")
    write_rows(engine)
    dated = {"at": "2025-06-06T09:00:00+00:00", "utc": datetime(2025, 6, 6, 9)}
    with engine.begin() as connection:  # a story of two copies (b first), one alone
        connection.execute(text(
            "UPDATE articles SET story_id = 2, published_at = :at, published_at_utc = :utc"
            " WHERE id = 2"), dated)
        connection.execute(ARTICLES.insert(), [{
            **ARTICLE_ROWS[0], "id": 3, "url": "https://example.in/c", "text": "समर्थन की खबर",
            "content_hash": "c" * 64}])
        connection.execute(text("UPDATE articles SET story_id = 2 WHERE id = 3"))
        connection.execute(text("UPDATE articles SET story_id = 1 WHERE id = 1"))

    def stories() -> list[dict]:
        with engine.connect() as connection:
            return [dict(row) for row in connection.execute(text(
                "SELECT story_id, title, first_article_id, first_url, first_source,"
                " first_published_at, wire_agency, copies, outlets FROM stories"
                " ORDER BY story_id")).mappings()]

    def representatives() -> list[tuple]:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT id, story_id, url FROM representative_articles ORDER BY id")).all()

    before, chosen = stories(), representatives()
    assert [(s["story_id"], s["first_article_id"], s["copies"]) for s in before] == [
        (1, 1, 1), (2, 2, 2)]
    command.upgrade(config, "0007")
    assert "stories" in inspect(engine).get_table_names()
    assert stories() == before
    assert representatives() == chosen
    with engine.connect() as connection:
        assert connection.scalar(text(
            "SELECT first_published_at_utc FROM stories WHERE story_id = 2")) is not None
        assert sorted(r.url for r in search(connection, "समर्थन")) == [
            "https://example.in/a", "https://example.in/c"]
    command.downgrade(config, "0006")
    assert "stories" in inspect(engine).get_view_names()
    assert stories() == before
    assert representatives() == chosen
