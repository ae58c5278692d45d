"""crawl_runs.host, pid and heartbeat_at: telling a dead run from a live one

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:05:00

A run killed by SIGKILL or the OOM killer never closes its ``crawl_runs`` row. The next
run marks it ``interrupted`` when its process is gone from this host (pid no longer
running, or reused by a process started after the run), or, on any host, when its
heartbeat is older than ``RUN_STALE_SECONDS``. Rows written before this revision have
no host, pid or heartbeat: only the heartbeat rule (on ``started_at``) applies to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from archive.models import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
        batch.drop_column("host")
