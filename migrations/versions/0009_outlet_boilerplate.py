"""outlet_boilerplate: the short blocks each outlet repeats across its articles

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00

Learned from the archive itself (``archive.outlet_boilerplate``): a block seen word
for word on the first copies of several stories of one outlet is that outlet's
furniture, and extraction removes it from the outlet's later pages. Empty on a new or
upgraded archive; it fills as pages are stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from archive.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outlet_boilerplate",
        sa.Column("source_id", ID, nullable=False),
        sa.Column("block_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pages_seen", sa.Integer(), nullable=False),
        sa.Column("example_text", sa.Text(), nullable=False),
        sa.Column("learned_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"],
                                name=op.f("fk_outlet_boilerplate_source_id_sources")),
        sa.PrimaryKeyConstraint("source_id", "block_key", name=op.f("pk_outlet_boilerplate")),
    )
    op.create_index(op.f("ix_outlet_boilerplate_learned_at"), "outlet_boilerplate",
                    ["learned_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outlet_boilerplate_learned_at"), table_name="outlet_boilerplate")
    op.drop_table("outlet_boilerplate")
