"""64-bit ids, indexes for the story window and duplicates, SQLite story_bands WITHOUT ROWID

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 22:30:00

- PostgreSQL: every id (``serial``, 32-bit) and every column pointing at one becomes
  ``bigint``, and so do the id sequences (PostgreSQL 10+ creates a ``serial``'s sequence
  ``AS integer``: a bigint column would still stop at 2^31 - 1). The views over
  ``articles`` refuse a change of its column types while they exist, so they are
  dropped and created again from their own stored definitions (``pg_get_viewdef``),
  whatever revision wrote them. Each ``ALTER TABLE`` rewrites its table once.
- SQLite: INTEGER is already 64-bit, so no id changes. ``story_bands`` becomes a
  WITHOUT ROWID table (its rows live in the primary-key b-tree only, not also in a rowid
  table), rebuilt with a copy of its rows.
- Both: indexes on ``articles.duplicate_of_id`` (a foreign key nothing indexed: every
  delete of an article scanned the table) and ``articles.first_seen_at`` (the story
  window, ``archive.stories``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) of every id and reference to one, referenced tables' ids first.
ID_COLUMNS = [
    ("sources", "id"),
    ("crawl_runs", "id"),
    ("articles", "id"),
    ("articles", "source_id"),
    ("articles", "duplicate_of_id"),
    ("articles", "story_id"),
    ("captures", "id"),
    ("captures", "crawl_run_id"),
    ("captures", "source_id"),
    ("captures", "article_id"),
    ("article_versions", "id"),
    ("article_versions", "article_id"),
    ("story_bands", "article_id"),
    ("articles_fts", "article_id"),
]
SEQUENCES = ["sources", "crawl_runs", "articles", "captures", "article_versions"]
VIEWS = ["representative_articles", "stories"]  # in order of creation: stories reads the other
NEW_INDEXES = [("ix_articles_duplicate_of_id", "duplicate_of_id"),
               ("ix_articles_first_seen_at", "first_seen_at")]


def postgres_id_types(connection: sa.Connection, sql_type: str) -> None:
    """Every id column, and its sequence, as ``sql_type``; the views re-created."""
    views = {
        name: connection.scalar(sa.text("SELECT pg_get_viewdef(CAST(:name AS regclass))"),
                                {"name": name})
        for name in VIEWS
    }
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    tables: dict[str, list[str]] = {}
    for table, column in ID_COLUMNS:
        tables.setdefault(table, []).append(column)
    for table, columns in tables.items():  # one rewrite per table
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {sql_type}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
    for table in SEQUENCES:
        sequence = connection.scalar(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
        op.execute(f"ALTER SEQUENCE {sequence} AS {sql_type}")
    for name in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {views[name]}")


def sqlite_story_bands(with_rowid: bool) -> None:
    """Rebuild ``story_bands`` as a rowid table or a WITHOUT ROWID one, rows kept."""
    op.create_table(
        "story_bands_rebuilt",
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"],
                                name="fk_story_bands_article_id_articles", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band", "hash", "article_id", name="pk_story_bands"),
        sqlite_with_rowid=with_rowid,
    )
    op.execute("INSERT INTO story_bands_rebuilt (band, hash, article_id) "
               "SELECT band, hash, article_id FROM story_bands")
    op.drop_table("story_bands")  # its index goes with it
    op.rename_table("story_bands_rebuilt", "story_bands")
    op.create_index("ix_story_bands_article_id", "story_bands", ["article_id"])


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        postgres_id_types(connection, "bigint")
    else:
        sqlite_story_bands(with_rowid=False)
    for name, column in NEW_INDEXES:
        op.create_index(name, "articles", [column])


def downgrade() -> None:
    """Back to 32-bit ids: fails, changing nothing, once an id passed 2^31 - 1."""
    connection = op.get_bind()
    for name, _ in NEW_INDEXES:
        op.drop_index(name, table_name="articles")
    if connection.dialect.name == "postgresql":
        postgres_id_types(connection, "integer")
    else:
        sqlite_story_bands(with_rowid=True)
