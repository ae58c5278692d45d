"""full-text search index over article titles and texts

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 21:20:00

The index is a table ``articles_fts`` on both databases, filled by triggers on
``articles`` so that every writer (the crawl, a command, a hand-written UPDATE through
the archive's engine) keeps it in step, and it holds the *search form* of the text
(``pipelines.extraction.normalize.search_form``: NFC, zero-width characters removed),
the same form ``archive.search`` gives the query:

- SQLite: an FTS5 table whose tokenizer keeps Devanagari vowel signs and viramas inside
  words (the default one splits ``समर्थन`` so that ``समर`` matches it). Triggers cannot
  run Python by themselves, so ``archive.database`` registers ``search_form`` as an
  SQL function on every connection. A connection without it (the ``sqlite3`` shell)
  can read and search, but writing an article there fails with "no such function:
  search_form" instead of indexing text in another form. The FTS5 table keeps its own
  copy of the normalised text: deleting or updating a row then needs only its rowid,
  and ``rebuild``/``integrity-check`` stay correct (an external-content or contentless
  table would need the old text re-normalised identically, forever).
- PostgreSQL: ``articles_fts(article_id, document tsvector)`` with a GIN index, the
  ``simple`` configuration (whole words, no stemming: the same matching as SQLite), and
  an SQL function ``search_form`` equal to the Python one (tested). The database must
  have a UTF-8 ctype, or the danda and curly quotes stick to words.

SQLite: a later migration that rebuilds ``articles`` in batch mode drops these
triggers with the old table, and must create them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = [
    """
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text,
        tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'"
    )
    """,
    """
    INSERT INTO articles_fts (rowid, title, text)
    SELECT id, search_form(title), search_form(text) FROM articles
    """,
    """
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts (rowid, title, text)
        VALUES (new.id, search_form(new.title), search_form(new.text));
    END
    """,
    """
    CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        UPDATE articles_fts SET title = search_form(new.title), text = search_form(new.text)
        WHERE rowid = new.id;
    END
    """,
    """
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        DELETE FROM articles_fts WHERE rowid = old.id;
    END
    """,
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER articles_fts_delete",
    "DROP TRIGGER articles_fts_update",
    "DROP TRIGGER articles_fts_insert",
    "DROP TABLE articles_fts",
]

# The title weighs more than the text in ts_rank (A > B).
POSTGRES_DOCUMENT = """
    setweight(to_tsvector('simple', search_form(coalesce({row}title, ''))), 'A')
    || setweight(to_tsvector('simple', search_form({row}text)), 'B')
"""

POSTGRES_UPGRADE = [
    # Python's search_form: NFC, then zero-width space, non-joiner, joiner, word joiner
    # and byte-order mark removed.
    """
    CREATE FUNCTION search_form(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT translate(normalize(value, NFC), U&'\\200B\\200C\\200D\\2060\\FEFF', '') $$
    """,
    """
    CREATE TABLE articles_fts (
        article_id integer PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )
    """,
    "CREATE INDEX ix_articles_fts_document ON articles_fts USING gin (document)",
    f"""
    INSERT INTO articles_fts (article_id, document)
    SELECT id, {POSTGRES_DOCUMENT.format(row="")} FROM articles
    """,
    f"""
    CREATE FUNCTION articles_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO articles_fts (article_id, document)
        VALUES (NEW.id, {POSTGRES_DOCUMENT.format(row="NEW.")})
        ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER articles_fts_sync AFTER INSERT OR UPDATE OF title, text ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_fts_sync()
    """,
]

POSTGRES_DOWNGRADE = [
    "DROP TRIGGER articles_fts_sync ON articles",
    "DROP FUNCTION articles_fts_sync()",
    "DROP TABLE articles_fts",
    "DROP FUNCTION search_form(text)",
]


def statements(upgrade: bool) -> list[str]:
    if op.get_bind().dialect.name == "sqlite":
        return SQLITE_UPGRADE if upgrade else SQLITE_DOWNGRADE
    return POSTGRES_UPGRADE if upgrade else POSTGRES_DOWNGRADE


def upgrade() -> None:
    for statement in statements(upgrade=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in statements(upgrade=False):
        op.execute(statement)
