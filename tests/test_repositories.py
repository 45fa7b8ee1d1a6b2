import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from reauto.store import repositories as repo
from reauto.store.engine import session_factory
from reauto.store.models import Call, Campaign, Lead, LeadStatus

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


async def seed(engine, n=6):
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        camp = Campaign(name="queue")
        s.add(camp)
        await s.flush()
        leads = [
            Lead(campaign_id=camp.id, phone_e164=f"+1512555{i:04d}", next_attempt_at=NOW - timedelta(minutes=i))
            for i in range(n)
        ]
        leads[0].priority = 10  # fresh intake lead jumps the queue
        leads[1].dnc = True
        leads[2].next_attempt_at = NOW + timedelta(hours=1)  # not yet due
        leads[3].status = LeadStatus.BOOKED
        s.add_all(leads)
    return camp.id, sessions


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request):
    return request.getfixturevalue("pg_engine" if request.param == "postgres" else "sqlite_engine")


async def test_dial_queue_order_and_filters(engine):
    camp_id, sessions = await seed(engine)
    async with sessions() as s:
        order = [lead.phone_e164[-4:] for lead in await repo.peek_next_leads(s, camp_id, now=NOW, limit=10)]
    # priority first, then the longest-waiting; DNC, not-yet-due and booked leads never appear
    assert order == ["0000", "0005", "0004"]


async def test_next_due_at_is_the_soonest_lead_not_yet_due(engine):
    camp_id, sessions = await seed(engine)
    async with sessions() as s:
        assert await repo.next_due_at(s, camp_id, now=NOW) == NOW + timedelta(hours=1)
        # a DNC or booked lead never falls due; past the last one nothing is waiting
        assert await repo.next_due_at(s, camp_id, now=NOW + timedelta(hours=1)) is None


async def test_claims_split_fresh_leads_from_the_backlog(engine):
    camp_id, sessions = await seed(engine)
    async with sessions.begin() as s:
        fresh = Lead(campaign_id=camp_id, phone_e164="+15125559990", priority=repo.FRESH_PRIORITY, next_attempt_at=NOW)
        called = Lead(campaign_id=camp_id, phone_e164="+15125559991", priority=repo.FRESH_PRIORITY, attempts=1,
                      next_attempt_at=NOW)  # posted, but called once already: back in the backlog
        s.add_all([fresh, called])
    async with sessions.begin() as s:
        only_fresh = await repo.claim_next_leads(s, camp_id, worker="w", lease=timedelta(seconds=9), now=NOW,
                                                 limit=10, fresh=True)
    assert [lead.phone_e164[-4:] for lead in only_fresh] == ["9990"]
    async with sessions.begin() as s:
        backlog = await repo.claim_next_leads(s, camp_id, worker="w", lease=timedelta(seconds=9), now=NOW,
                                              limit=10, fresh=False)
    assert [lead.phone_e164[-4:] for lead in backlog] == ["9991", "0000", "0005", "0004"]


async def test_claim_sets_lease_and_status(engine):
    camp_id, sessions = await seed(engine)
    async with sessions.begin() as s:
        claimed = await repo.claim_next_leads(s, camp_id, worker="w1", lease=timedelta(seconds=90), now=NOW)
    assert [lead.phone_e164[-4:] for lead in claimed] == ["0000"]
    async with sessions() as s:
        lead = await s.get(Lead, claimed[0].id)
        assert lead.status == LeadStatus.DIALING
        assert lead.lease_owner == "w1"
        assert lead.lease_expires_at == NOW + timedelta(seconds=90)
        # a claimed lead has left the queue
        nxt = await repo.peek_next_leads(s, camp_id, now=NOW, limit=10)
        assert claimed[0].id not in {x.id for x in nxt}
    async with sessions.begin() as s:
        assert len(await repo.claim_next_leads(s, camp_id, worker="w1", lease=timedelta(seconds=9), now=NOW, limit=10)) == 2
    async with sessions.begin() as s:
        assert await repo.claim_next_leads(s, camp_id, worker="w1", lease=timedelta(seconds=9), now=NOW) == []


async def test_concurrent_claims_never_share_a_lead(pg_engine):
    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        camp = Campaign(name="race")
        s.add(camp)
        await s.flush()
        s.add_all(Lead(campaign_id=camp.id, phone_e164=f"+1512556{i:04d}", next_attempt_at=NOW) for i in range(40))

    async def worker(name):
        got = []
        while True:
            async with sessions.begin() as s:
                leads = await repo.claim_next_leads(s, camp.id, worker=name, lease=timedelta(minutes=1), now=NOW, limit=3)
                await asyncio.sleep(0)  # hold the row locks while the others try
            if not leads:
                return got
            got += [lead.id for lead in leads]

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    claimed = [lead_id for r in results for lead_id in r]
    assert len(claimed) == 40 and len(set(claimed)) == 40


async def test_history_calls_and_events(engine):
    camp_id, sessions = await seed(engine, n=4)
    async with sessions.begin() as s:
        lead = (await repo.peek_next_leads(s, camp_id, now=NOW))[0]
        calls = [Call(campaign_id=camp_id, lead_id=lead.id, provider="sim", created_at=NOW - timedelta(hours=h))
                 for h in (30, 2, 1)]
        s.add_all(calls)
        await s.flush()
        for i, kind in enumerate(["ringing", "answered", "turn"]):
            repo.add_event(s, calls[2].id, kind, {"i": i}, ts=NOW + timedelta(seconds=i))
        repo.add_event(s, calls[2].id, "ended", ts=NOW + timedelta(minutes=3))
    async with sessions() as s:
        history = await repo.lead_history(s, lead.id)
        assert [c.created_at for c in history] == [NOW - timedelta(hours=h) for h in (1, 2, 30)]
        day = NOW.replace(hour=0)
        today = await repo.campaign_calls_between(s, camp_id, day, day + timedelta(days=1))
        assert [c.id for c in today] == [calls[1].id, calls[2].id]
        first = await repo.campaign_calls_between(s, camp_id, day, day + timedelta(days=1), limit=1)
        rest = await repo.campaign_calls_between(
            s, camp_id, day, day + timedelta(days=1), after=(first[0].created_at, first[0].id)
        )
        assert [c.id for c in first + list(rest)] == [calls[1].id, calls[2].id]
        events = await repo.call_events(s, calls[2].id)
        assert [e.type for e in events] == ["ringing", "answered", "turn", "ended"]
        assert events[1].payload == {"i": 1}
