"""story_link_log: which articles each batch linked into stories, in order

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:30:00

Several writers storing into one PostgreSQL archive link their batches into stories
against the committed archive, without a lock; under the story lock, each then reads
the articles other writers linked since (this log) instead of searching all its
candidates again, so the part of a batch that writers do one at a time stays short
(``archive.stories.BatchLinks``). Empty on SQLite, and on a new or upgraded archive.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "story_link_log",
        sa.Column("batch", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("batch", "article_id", name=op.f("pk_story_link_log")),
    )


def downgrade() -> None:
    op.drop_table("story_link_log")
