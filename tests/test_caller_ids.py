"""Caller-ID pools: each call from a number local to the lead where the pool has one, no number past
its caps (also with two dialers choosing at once), low-answer numbers rested, and ``reauto numbers``."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from reauto.campaign import CallerIds
from reauto.dialer.caller_ids import (
    CallerIdPool,
    Caps,
    NoCallerId,
    PoolNumber,
    RestRule,
    Usage,
    area_of,
    pick,
    pool_number,
    room,
)
from reauto.dialer.records import CallRecorder
from reauto.store.engine import session_factory
from reauto.store.models import Call, CallerNumber, Campaign, Lead

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
AREAS = ["512", "214", "713", "210", "817", "915", "806", "361", "409", "254"]  # ten Texas area codes
POOL = ["+15125550100", "+12145550100", "+17135550100", "+12105550100"]  # local to four of them


# --- the choice -----------------------------------------------------------------------------------

usages = st.builds(Usage, last_hour=st.integers(0, 12), last_day=st.integers(0, 40),
                   last_at=st.one_of(st.none(), st.integers(0, 120).map(lambda s: NOW - timedelta(seconds=s))),
                   rested_until=st.one_of(st.none(), st.integers(-60, 60).map(lambda m: NOW + timedelta(minutes=m))))
caps = st.builds(Caps, per_hour=st.one_of(st.none(), st.integers(1, 10)), per_day=st.one_of(st.none(),
                                                                                             st.integers(1, 30)),
                 min_spacing_s=st.sampled_from([0.0, 5.0, 60.0]))
pools = st.lists(st.sampled_from([pool_number(n) for n in POOL] + [PoolNumber("+19725550100", "972", "TX")]),
                 min_size=1, max_size=5, unique=True)


@pytest.mark.unit
@settings(max_examples=400, deadline=None)
@given(pool=pools, used=st.lists(usages, min_size=5, max_size=5), cap=caps, area=st.sampled_from(AREAS),
       state=st.sampled_from(["TX", "CA", None]))
def test_a_number_is_never_taken_past_its_caps_and_a_local_one_wins_when_it_has_room(pool, used, cap, area, state):
    usage = {n.number: u for n, u in zip(pool, used, strict=False)}
    chosen = pick(pool, usage, area=area, state=state, caps=cap, now=NOW)
    open_ = [n for n in pool if room(usage.get(n.number, Usage()), cap, NOW)]
    if not open_:
        assert chosen is None
        return
    assert chosen in {n.number for n in open_}
    got = next(n for n in pool if n.number == chosen)
    if any(n.area == area for n in open_):
        assert got.area == area  # local presence first
    elif state is not None and any(n.state == state for n in open_):
        assert got.state == state
    u = usage.get(chosen, Usage())
    assert cap.per_hour is None or u.last_hour < cap.per_hour
    assert cap.per_day is None or u.last_day < cap.per_day


@pytest.mark.unit
def test_pool_numbers_know_where_they_are_local_and_the_campaign_section_checks_them():
    assert area_of("+15125550100") == "512" and area_of("+447700900123") is None
    assert pool_number("+15125550100") == PoolNumber("+15125550100", "512", "TX")
    section = CallerIds(pool=["+1 (214) 555-0100"], per_hour=30)
    assert section.pool == ["+12145550100"] and section.active()
    assert not CallerIds().active()
    with pytest.raises(ValueError, match="E.164"):
        CallerIds(pool=["+1555"])


# --- in the store: 200 leads, 10 area codes, a 4-number pool ------------------------------------------

async def campaign_with_leads(sessions, n: int = 200):
    async with sessions.begin() as s:
        campaign = Campaign(name=f"pool-{n}")
        s.add(campaign)
        await s.flush()
        leads = [Lead(campaign_id=campaign.id, phone_e164=f"+1{AREAS[i % 10]}555{1000 + i:04d}", state="TX",
                      has_written_consent=True) for i in range(n)]
        s.add_all(leads)
        await s.flush()
        return campaign.id, leads


@pytest.mark.integration
async def test_two_hundred_calls_are_local_where_the_pool_allows_and_no_number_passes_its_cap(pg_engine):
    sessions = session_factory(pg_engine)
    campaign_id, leads = await campaign_with_leads(sessions)
    cap = 40
    pool = CallerIdPool(campaign_id, POOL, Caps(per_hour=cap, per_day=cap))
    clock = iter(NOW + timedelta(seconds=10 * i) for i in range(10_000))
    # two dialers choose at once, as two processes sharing the campaign would
    recorders = [CallRecorder(sessions, clock=lambda: next(clock)) for _ in range(2)]
    chosen: dict[int, str | None] = {}
    refused = 0

    async def dial(worker: int, batch: list[Lead]) -> None:
        nonlocal refused
        for lead in batch:
            try:
                call_id, number = await recorders[worker].open_dial(lead, provider="sim", worker=f"w{worker}",
                                                                    pool=pool)
            except NoCallerId:
                refused += 1
                continue
            chosen[lead.id] = number
    await asyncio.gather(dial(0, leads[0::2]), dial(1, leads[1::2]))
    async with sessions() as s:
        per_number = dict((await s.execute(select(Call.caller_id, func.count()).where(
            Call.campaign_id == campaign_id).group_by(Call.caller_id))).all())
    assert all(count <= cap for count in per_number.values()), per_number  # 4 × 40 = 160 calls at most
    assert sum(per_number.values()) == 160 and refused == 40
    local_possible = [lead for lead in leads if lead.id in chosen and area_of(lead.phone_e164) in
                      {area_of(n) for n in POOL}]
    local = [lead for lead in local_possible if area_of(chosen[lead.id]) == area_of(lead.phone_e164)]
    assert len(local) >= 0.9 * len(local_possible), (len(local), len(local_possible))


@pytest.mark.integration
async def test_a_number_far_under_its_pools_answer_rate_rests_and_the_lead_waits_when_all_are_capped(pg_engine):
    sessions = session_factory(pg_engine)
    campaign_id, leads = await campaign_with_leads(sessions, 4)
    async with sessions.begin() as s:  # a week of calls: 512's number answered 2 in 30, the others 15 in 30
        for i in range(90):
            number = POOL[i % 3]
            answered = (i // 3) < (2 if number == POOL[0] else 15)
            at = NOW - timedelta(hours=30) + timedelta(minutes=i)
            s.add(Call(campaign_id=campaign_id, lead_id=leads[0].id, provider="twilio", caller_id=number,
                       status="completed", created_at=at, ended_at=at + timedelta(seconds=40),
                       answered_at=at + timedelta(seconds=5) if answered else None))
    pool = CallerIdPool(campaign_id, POOL[:3], Caps(per_hour=1), RestRule(below=0.5, after=30, hours=24),
                        campaign="pool-4")
    recorder = CallRecorder(sessions, clock=lambda: NOW)
    _, number = await recorder.open_dial(leads[0], provider="sim", worker="w", pool=pool)  # a 512 lead
    assert number != POOL[0]  # its local number is resting
    async with sessions() as s:
        [rested] = (await s.execute(select(CallerNumber))).scalars().all()
        assert rested.number == POOL[0] and rested.rested_until == NOW + timedelta(hours=24)
        assert "answer rate 7% over its last 30 calls" in rested.rest_reason
    await recorder.open_dial(leads[1], provider="sim", worker="w", pool=pool)
    with pytest.raises(NoCallerId) as capped:  # each number placed its one call this hour
        await recorder.open_dial(leads[2], provider="sim", worker="w", pool=pool)
    assert NOW < capped.value.free_at <= NOW + timedelta(hours=1)


@pytest.mark.integration
def test_numbers_stats_shows_each_number_and_why_one_rests(fresh_db_cfg):
    from reauto.store.engine import make_engine

    from .test_dial import cli

    async def seed() -> None:
        engine = make_engine(fresh_db_cfg.database)
        sessions = session_factory(engine)
        campaign_id, leads = await campaign_with_leads(sessions, 2)
        now = datetime.now(UTC)
        async with sessions.begin() as s:
            for i, (number, answered, seconds) in enumerate([(POOL[0], True, 60), (POOL[0], True, 4),
                                                              (POOL[1], False, 0)]):
                at = now - timedelta(hours=1, minutes=i)
                s.add(Call(campaign_id=campaign_id, lead_id=leads[0].id, provider="twilio", caller_id=number,
                           status="completed", created_at=at, answered_at=at if answered else None,
                           ended_at=at + timedelta(seconds=seconds)))
            s.add(CallerNumber(campaign_id=campaign_id, number=POOL[1], rested_until=now + timedelta(hours=2),
                               rest_reason="answer rate 0% over its last 30 calls"))
        await engine.dispose()
    asyncio.run(seed())
    shown = cli(fresh_db_cfg, "numbers", "stats", "--campaign", "pool-2", "--json")
    assert shown.exit_code == 0, shown.output
    rows = {r["number"]: r for r in json.loads(shown.stdout)}
    assert rows[POOL[0]]["calls"] == 2 and rows[POOL[0]]["answer_rate"] == 1.0 and rows[POOL[0]]["short_rate"] == 0.5
    assert rows[POOL[1]]["answer_rate"] == 0.0 and rows[POOL[1]]["rest_reason"].startswith("answer rate 0%")
    table = cli(fresh_db_cfg, "numbers", "stats", "--campaign", "pool-2")
    assert "+15125550100" in table.output and "50%" in table.output
    missing = cli(fresh_db_cfg, "numbers", "stats", "--campaign", "nope")
    assert missing.exit_code != 0 and "no campaign named 'nope'" in str(missing.exception or missing.output)
