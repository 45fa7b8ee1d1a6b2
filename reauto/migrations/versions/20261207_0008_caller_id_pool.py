"""Caller-ID pools: the number each call came from (indexed for per-number caps), and rested numbers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reauto.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("caller_id", sa.String(length=20), nullable=True))
    op.create_index("ix_calls_campaign_caller_created", "calls", ["campaign_id", "caller_id", "created_at"],
                    unique=False)
    op.create_table(
        "caller_numbers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("rested_until", reauto.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rest_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "number", name="uq_caller_numbers_campaign_number"),
    )


def downgrade() -> None:
    op.drop_table("caller_numbers")
    op.drop_index("ix_calls_campaign_caller_created", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("caller_id")
