"""Touches (texts and skipped cadence steps) and each lead's place in its campaign's cadence.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reauto.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("cadence_step", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "touches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", reauto.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_touches_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_touches_lead_id_leads"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_touches")),
    )
    op.create_index("ix_touches_lead_created", "touches", ["lead_id", "created_at"])
    op.create_index("ix_touches_campaign_created", "touches", ["campaign_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_touches_campaign_created", table_name="touches")
    op.drop_index("ix_touches_lead_created", table_name="touches")
    op.drop_table("touches")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("cadence_step")
