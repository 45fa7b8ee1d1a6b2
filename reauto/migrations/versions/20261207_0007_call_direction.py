"""Calls: which way each call went (``outbound``: the dialer called the lead; ``inbound``: the lead
called the campaign's number).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("direction", sa.String(length=8), nullable=False, server_default="outbound"))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("direction")
