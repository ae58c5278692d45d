"""64-bit ids: an archive at revision 0005, built by a real replay, upgrades to 0006 on
SQLite and PostgreSQL keeping every row, and then stores pages whose ids pass 2^31."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from archive.database import alembic_config, create_archive_engine, open_database
from archive.models import Article, Capture, StoryBand
from archive.search import search
from tests.conftest import REPO, run_scrapy
from tests.test_stories import copies

PAST_32_BITS = 3_000_000_000
TABLES = ["sources", "crawl_runs", "articles", "captures", "article_versions", "story_bands"]
# Every id and reference to one (PostgreSQL types; on SQLite INTEGER is 64-bit already).
ID_COLUMNS = {
    ("sources", "id"), ("crawl_runs", "id"), ("articles", "id"), ("articles", "source_id"),
    ("articles", "duplicate_of_id"), ("articles", "story_id"), ("captures", "id"),
    ("captures", "crawl_run_id"), ("captures", "source_id"), ("captures", "article_id"),
    ("article_versions", "id"), ("article_versions", "article_id"),
    ("story_bands", "article_id"), ("articles_fts", "article_id"),
}


def replay(folder: Path, database_url: str) -> None:
    result = run_scrapy("crawl", "replay", "-a", f"path={folder}", "-s", "EXTRACT_WORKERS=0",
                        database_url=database_url)
    assert result.returncode == 0, result.stderr[-3000:]


def rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of the archive's tables, in a stable order."""
    with engine.connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(text(f"SELECT * FROM {name}"))), key=repr)
            for name in TABLES
        }


def id_types(engine: Engine) -> set[str]:
    """The PostgreSQL types of the id columns and of the id sequences."""
    with engine.connect() as connection:
        columns = connection.execute(text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public'")).all()
        sequences = connection.execute(text(
            "SELECT data_type FROM information_schema.sequences")).scalars().all()
    return {kind for table, name, kind in columns if (table, name) in ID_COLUMNS} | {
        f"sequence {kind}" for kind in sequences}


def copies_folder(folder: Path) -> Path:
    """The first seed again under another URL (an exact duplicate) and a trimmed copy of
    it on another outlet (a copy of its story), fetched now (the files' times)."""
    folder.mkdir()
    manifest = []
    for kind in ("original", "trimmed"):
        url, body, _ = copies(0)[kind]
        name = f"{kind}.txt" if kind == "original" else f"{kind}.html"
        (folder / name).write_bytes(body)
        manifest.append({"file": name, "url": url})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    return folder


def test_an_archive_at_0005_upgrades_keeping_every_row_then_takes_ids_past_2_31(
    database_url: str, tmp_path: Path
) -> None:
    replay(REPO / "seeds", database_url)
    command.downgrade(alembic_config(database_url), "0005")
    old = create_archive_engine(database_url)
    postgres = old.dialect.name == "postgresql"
    if postgres:
        assert id_types(old) == {"integer", "sequence integer"}
    else:
        assert "WITHOUT ROWID" not in story_bands_ddl(old)
    before = rows(old)
    old.dispose()
    assert len(before["articles"]) == 5 and len(before["story_bands"]) == 5 * 43

    engine = open_database(database_url)  # upgrades to 0006, as the next crawl would
    assert rows(engine) == before
    if postgres:
        assert id_types(engine) == {"bigint", "sequence bigint"}
    else:
        assert "WITHOUT ROWID" in story_bands_ddl(engine)
    indexes = {index["name"] for index in inspect(engine).get_indexes("articles")}
    assert {"ix_articles_duplicate_of_id", "ix_articles_first_seen_at"} <= indexes

    with engine.begin() as connection:  # rows numbered past 2^31, as after years of crawling
        connection.execute(text(
            "INSERT INTO articles (id, url, text, authors, content_hash, first_seen_at, "
            "last_seen_at, version, metadata_sources) VALUES (:id, 'https://example.in/x', "
            "'तीन अरब', '[]', :hash, :when, :when, 1, '{}')"),
            {"id": PAST_32_BITS, "hash": "f" * 64, "when": datetime(2026, 1, 1)})
        connection.execute(text(
            "INSERT INTO captures (id, url, fetched_at, outcome, article_id) VALUES "
            "(:id, 'https://example.in/x', :when, 'new', :id)"),
            {"id": PAST_32_BITS, "when": datetime(2026, 1, 1)})
        if postgres:  # the sequences, not only the columns, must go past 2^31
            for table in ("articles", "captures"):
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {PAST_32_BITS})"))

    replay(copies_folder(tmp_path / "copies"), database_url)
    with Session(engine) as session:
        original, duplicate, trimmed = (
            session.scalars(select(Article).where(Article.url == url)).one()
            for url in (seed_url(session), *(copies(0)[k][0] for k in ("original", "trimmed")))
        )
        assert original.id < 2**31 < PAST_32_BITS < duplicate.id < trimmed.id
        assert duplicate.duplicate_of_id == original.id
        assert duplicate.story_id == trimmed.story_id == original.story_id
        assert session.scalars(select(Capture.id).where(Capture.article_id == trimmed.id)).one(
        ) > PAST_32_BITS
        assert session.scalar(
            select(func.count()).where(StoryBand.article_id == trimmed.id)) == 43
        longest = max(trimmed.text.split(), key=len)
    with engine.connect() as connection:
        assert trimmed.url in [result.url for result in search(connection, longest)]
    engine.dispose()


def story_bands_ddl(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'story_bands'")) or ""


def seed_url(session: Session) -> str:
    """The URL the seeds replay gave the first seed (the copies' original)."""
    digest = session.scalars(select(Article.content_hash).where(
        Article.url == copies(0)["original"][0])).first()
    return session.scalars(select(Article.url).where(
        Article.content_hash == digest, Article.duplicate_of_id.is_(None))).one()
