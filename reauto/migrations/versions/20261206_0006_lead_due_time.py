"""Leads: an index on when each dialable lead falls due, so a dialer finds the next one in a probe.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIALABLE = "status IN ('new', 'scheduled', 'callback') AND dnc = false"


def upgrade() -> None:
    op.create_index("ix_leads_due_time", "leads", ["campaign_id", "next_attempt_at"], unique=False,
                    postgresql_where=sa.text(DIALABLE), sqlite_where=sa.text(DIALABLE))


def downgrade() -> None:
    op.drop_index("ix_leads_due_time", table_name="leads")
