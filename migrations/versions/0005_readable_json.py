"""JSON columns as readable UTF-8: rewrite rows stored with \\u escapes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 22:00:00

Until now every JSON value was written with Python's default ``ensure_ascii``, so a
plain ``SELECT authors FROM articles`` showed a Hindi byline as ``["\\u0936..."]`` in
sqlite3, Datasette and psql. The engine now writes readable UTF-8
(``archive.database.readable_json``); this revision rewrites the rows written before.
It changes no schema: on PostgreSQL the columns are ``json``, which keeps the text as
written (unlike ``jsonb``), so the stored text itself is rewritten. Only rows whose text
holds a ``\\u`` are read, in batches of :data:`BATCH_ROWS` by primary key, so memory
stays flat on a large archive. The downgrade leaves the rows as they are: readable JSON
is the same JSON to every reader.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from archive.database import readable_json

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_ROWS = 500
JSON_COLUMNS = {
    "articles": ("authors", "metadata_sources"),
    "article_versions": ("authors",),
    "captures": ("listing",),
    "crawl_runs": ("arguments", "stats"),
}


def rewrite(connection: sa.Connection, table: str, column: str) -> None:
    """Re-serialise every value of table.column that holds an escape, a batch at a time."""
    postgres = connection.dialect.name == "postgresql"
    as_text = f"CAST({column} AS TEXT)" if postgres else column
    # ESCAPE '!': PostgreSQL's LIKE takes a backslash as its escape character by default.
    select = sa.text(
        f"SELECT id, {as_text} FROM {table} WHERE id > :after "
        f"AND {as_text} LIKE '%\\u%' ESCAPE '!' ORDER BY id LIMIT :limit"
    )
    value = "CAST(:value AS json)" if postgres else ":value"
    update = sa.text(f"UPDATE {table} SET {column} = {value} WHERE id = :id")
    after = 0
    while rows := connection.execute(select, {"after": after, "limit": BATCH_ROWS}).all():
        after = rows[-1][0]
        changed = []
        for row_id, stored in rows:
            readable = readable_json(json.loads(stored))
            if readable != stored:
                changed.append({"id": row_id, "value": readable})
        if changed:
            connection.execute(update, changed)


def upgrade() -> None:
    connection = op.get_bind()
    for table, columns in JSON_COLUMNS.items():
        for column in columns:
            rewrite(connection, table, column)


def downgrade() -> None:
    pass  # readable JSON is valid JSON: nothing to undo
