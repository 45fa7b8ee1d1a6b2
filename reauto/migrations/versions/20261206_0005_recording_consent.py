"""Calls: when the lead objected to being recorded, and when a recording's audio was purged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reauto.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("recording_declined_at", reauto.store.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column("calls", sa.Column("recording_purged_at", reauto.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("recording_purged_at")
        batch.drop_column("recording_declined_at")
