import pytest
from sqlalchemy import select

from reauto.store.models import Campaign, Lead
from reauto.store.engine import session_factory

pytestmark = pytest.mark.integration


async def test_insert_and_read_back_on_postgres(pg_engine):
    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        c = Campaign(name="smoke")
        s.add(c)
        await s.flush()
        s.add(Lead(campaign_id=c.id, phone_e164="+15125550123", state="TX"))
    async with sessions() as s:
        lead = (await s.execute(select(Lead))).scalar_one()
        assert lead.status == "new"
        assert lead.created_at.tzinfo is not None


async def test_insert_and_read_back_on_sqlite(sqlite_engine):
    sessions = session_factory(sqlite_engine)
    async with sessions.begin() as s:
        c = Campaign(name="smoke")
        s.add(c)
        await s.flush()
        s.add(Lead(campaign_id=c.id, phone_e164="+15125550123"))
    async with sessions() as s:
        lead = (await s.execute(select(Lead))).scalar_one()
        assert lead.created_at.tzinfo is not None


async def test_naive_datetimes_are_refused(sqlite_engine):
    from datetime import datetime

    from sqlalchemy.exc import StatementError

    sessions = session_factory(sqlite_engine)
    with pytest.raises(StatementError, match="naive datetime"):
        async with sessions.begin() as s:
            s.add(Campaign(name="naive", created_at=datetime(2026, 1, 1)))
