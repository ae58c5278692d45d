"""stories as a table, newest-first indexes for search, SQLite full-text index without a copy

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:30:00

- ``stories`` was a view grouping every article (4 s at 1M articles): it becomes a table
  with the same columns (and ``first_published_at_utc``, to sort stories), filled here
  from the view, then kept by the archive writer in the transaction that changes a
  story's copies (``archive.stories.refresh_stories``). ``representative_articles``
  stays a view, now a join of ``stories`` with the first copy's ``articles`` row
  (``rank_in_story`` is always 1).
- ``articles``: the single-column indexes on ``published_at_utc`` and ``source_id`` give
  way to ``ix_articles_newest_first`` (published_at_utc DESC NULLS LAST, id DESC) and
  ``ix_articles_source_newest_first`` (the same after ``source_id``): the order of search
  results, which a query matching many articles walks instead of sorting its matches
  (``archive.search``). The second still serves every lookup by ``source_id``.
- SQLite: ``articles_fts`` kept its own copy of the normalised title and text (half the
  archive's size). It becomes an external-content FTS5 table over the view
  ``articles_search_text`` (``search_form`` of each title and text, computed when read),
  rebuilt from it. The triggers remove an old row with the ``'delete'`` command and the
  old values in search form, which is why ``search_form`` may change only together with
  a migration that rebuilds the index (``INSERT INTO articles_fts(articles_fts) VALUES
  ('rebuild')``). PostgreSQL's index keeps ``tsvector``s, not the text: unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from archive import models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STORY_COLUMNS = (
    "story_id, title, first_article_id, first_url, first_source, first_published_at, "
    "first_published_at_utc, wire_agency, copies, outlets, first_seen_at, last_seen_at"
)
REPRESENTATIVE_ARTICLES = """
CREATE VIEW representative_articles AS
SELECT articles.*, 1 AS rank_in_story
FROM stories JOIN articles ON articles.id = stories.first_article_id
"""
# PostgreSQL: DESC NULLS LAST as written; SQLite allows no NULLS LAST in an index, and
# its ascending index scanned backward is already newest first, undated last.
NEW_INDEXES = {
    "ix_articles_newest_first": ("articles", ["published_at_utc", "id"]),
    "ix_articles_source_newest_first": ("articles", ["source_id", "published_at_utc", "id"]),
    "ix_stories_newest_first": ("stories", ["first_published_at_utc", "story_id"]),
}
NEWEST_FIRST = {"published_at_utc": "DESC NULLS LAST", "first_published_at_utc":
                "DESC NULLS LAST", "id": "DESC", "story_id": "DESC"}
OLD_INDEXES = {"ix_articles_published_at_utc": "published_at_utc",
               "ix_articles_source_id": "source_id"}
STORY_INDEXES = ["first_article_id", "wire_agency", "first_seen_at"]

SQLITE_FTS_TRIGGERS = ["articles_fts_insert", "articles_fts_update", "articles_fts_delete"]
SQLITE_EXTERNAL_FTS = [
    """
    CREATE VIEW articles_search_text AS
    SELECT id, search_form(title) AS title, search_form(text) AS text FROM articles
    """,
    """
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text,
        content = 'articles_search_text', content_rowid = 'id',
        tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'"
    )
    """,
    "INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')",
    """
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts (rowid, title, text)
        VALUES (new.id, search_form(new.title), search_form(new.text));
    END
    """,
    """
    CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.id, search_form(old.title), search_form(old.text));
        INSERT INTO articles_fts (rowid, title, text)
        VALUES (new.id, search_form(new.title), search_form(new.text));
    END
    """,
    """
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.id, search_form(old.title), search_form(old.text));
    END
    """,
]


def sqlite_fts(upgrade: bool) -> None:
    """Swap the full-text index between its own copy (0003) and external content."""
    for trigger in SQLITE_FTS_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE articles_fts")
    if upgrade:
        statements = SQLITE_EXTERNAL_FTS
    else:
        op.execute("DROP VIEW articles_search_text")
        statements = op.get_context().script.get_revision("0003").module.SQLITE_UPGRADE
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "stories_table",
        sa.Column("story_id", ID, nullable=False, autoincrement=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("first_article_id", ID, nullable=False),
        sa.Column("first_url", sa.Text(), nullable=False),
        sa.Column("first_source", sa.String(length=200), nullable=True),
        sa.Column("first_published_at", sa.String(length=40), nullable=True),
        sa.Column("first_published_at_utc", models.UTCDateTime(), nullable=True),
        sa.Column("wire_agency", sa.String(length=40), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("outlets", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("story_id", name="pk_stories"),
        # A hand-deleted first copy takes its story's row: the next write to one of
        # the story's copies brings it back.
        sa.ForeignKeyConstraint(["first_article_id"], ["articles.id"], ondelete="CASCADE",
                                name="fk_stories_first_article_id_articles"),
    )
    # From the views, which hold the definition the archive writer keeps.
    op.execute(f"""
        INSERT INTO stories_table ({STORY_COLUMNS})
        SELECT s.story_id, s.title, s.first_article_id, s.first_url, s.first_source,
               s.first_published_at, a.published_at_utc, s.wire_agency, s.copies,
               s.outlets, s.first_seen_at, s.last_seen_at
        FROM stories AS s JOIN articles AS a ON a.id = s.first_article_id
    """)
    op.execute("DROP VIEW stories")
    op.execute("DROP VIEW representative_articles")
    op.rename_table("stories_table", "stories")
    for column in STORY_INDEXES:
        op.create_index(f"ix_stories_{column}", "stories", [column])
    op.execute(REPRESENTATIVE_ARTICLES)
    for name in OLD_INDEXES:
        op.drop_index(name, table_name="articles")
    for name, (table, columns) in NEW_INDEXES.items():
        op.create_index(name, table, columns, postgresql_ops=NEWEST_FIRST)
    if sqlite:
        sqlite_fts(upgrade=True)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        sqlite_fts(upgrade=False)
    for name, (table, _) in NEW_INDEXES.items():
        if table == "articles":
            op.drop_index(name, table_name=table)
    for name, column in OLD_INDEXES.items():
        op.create_index(name, "articles", [column])
    op.execute("DROP VIEW representative_articles")
    op.drop_table("stories")
    views = op.get_context().script.get_revision("0001").module
    op.execute(views.REPRESENTATIVE_ARTICLES)
    op.execute(views.STORIES)
