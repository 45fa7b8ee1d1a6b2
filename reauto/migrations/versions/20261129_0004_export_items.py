"""Export ledger: which call or text went to which target (each exactly once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reauto.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "export_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("item_key", sa.String(length=60), nullable=False),
        sa.Column("remote_id", sa.String(length=120), nullable=True),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("exported_at", reauto.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["export_runs.id"], name=op.f("fk_export_items_run_id_export_runs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_items")),
        sa.UniqueConstraint("target", "item_key", name="uq_export_items_target_key"),
    )


def downgrade() -> None:
    op.drop_table("export_items")
