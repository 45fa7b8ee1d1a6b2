"""Budget holds say whose they are; the holds of dialers that died are settled at what their calls cost."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reauto.config import BudgetSettings
from reauto.costs.budget import BudgetGuard, period_bounds, to_micros
from reauto.costs.holds import HoldRef
from reauto.costs.reservations import Counter, MemoryReservations, RedisReservations
from reauto.dialer.holds import settle_dead_holds
from reauto.store.engine import session_factory
from reauto.store.models import Budget, BudgetPeriod, Call, CallStatus, Campaign, CostEntry, Lead, LeadStatus
from reauto.store.types import utcnow

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


@pytest.mark.unit
def test_a_hold_ref_names_its_lead_dialer_and_instant_and_parsing_never_raises():
    ref = HoldRef(42, "host-1:977:a1b2c3", NOW + timedelta(microseconds=123456), nonce="deadbeef")
    assert str(ref) == f"lead-42-{int(NOW.timestamp()) * 1000 + 123}-deadbeef@host-1:977:a1b2c3"
    parsed = HoldRef.parse(str(ref))
    assert parsed == HoldRef(42, "host-1:977:a1b2c3", NOW + timedelta(milliseconds=123), "deadbeef")
    for other in ("a", "lead-1-abc", "lead-1-2-zz@w", "lead-1-2-ab@", "lead-x-2-ab@w", "", "lead-1-99999999999999999-a@w"):
        assert HoldRef.parse(other) is None, other


@pytest.mark.unit
@given(st.text())
def test_parsing_any_hold_name_never_raises(name):
    assert HoldRef.parse(name) is None or isinstance(HoldRef.parse(name), HoldRef)


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_the_counters_list_every_hold_and_release_one_by_its_windows(backend, redis_settings):
    store = (MemoryReservations() if backend == "memory"
             else RedisReservations(redis_settings.url, prefix=redis_settings.key_prefix))
    day, month = Counter("global:daily:20261124", 1_000_000, 2_000_000_000), Counter("global:monthly:20261101", 9_000_000,
                                                                                     2_000_000_000)
    try:
        for c in (day, month):
            await store.restore(c, 0, {})
        assert await store.reserve([day, month], "a", 300_000) and await store.reserve([day], "b", 200_000)
        assert {h.ref: h.windows for h in await store.held()} == {
            "a": {day.key: 300_000, month.key: 300_000}, "b": {day.key: 200_000}}
        await store.release([day.key, month.key], "a", 100_000)
        await store.release([day.key, month.key], "a", 100_000)  # settled already: nothing changes
        assert [h.ref for h in await store.held()] == ["b"]
        assert await store.snapshot(day) == (100_000, 200_000) and await store.snapshot(month) == (100_000, 0)
    finally:
        await store.close()


async def _lead(s, campaign_id: int, phone: str, **kwargs) -> Lead:
    lead = Lead(campaign_id=campaign_id, phone_e164=phone, state="TX", **kwargs)
    s.add(lead)
    await s.flush()
    return lead


@pytest.mark.integration
async def test_only_holds_of_dialers_that_no_longer_call_their_lead_are_settled_at_their_calls_cost(
        pg_engine, redis_settings):
    sessions = session_factory(pg_engine)
    now = utcnow()
    store = RedisReservations(redis_settings.url, prefix=redis_settings.key_prefix)
    async with sessions.begin() as s:
        camp = Campaign(name="holds")
        s.add(camp)
        await s.flush()
        # died before its call row: its lease ran out, no call
        queued = await _lead(s, camp.id, "+15125550101", status=LeadStatus.DIALING, lease_owner="w1",
                             lease_expires_at=now - timedelta(seconds=1))
        # alive: its lease is valid (the call may be going on)
        live = await _lead(s, camp.id, "+15125550102", status=LeadStatus.DIALING, lease_owner="w2",
                           lease_expires_at=now + timedelta(minutes=2))
        # died after storing its call's end: the lead moved on, the call's cost is in the ledger
        ended = await _lead(s, camp.id, "+15125550103", status=LeadStatus.NOT_INTERESTED)
        # died mid-call and not yet recovered: the sweep closes the call (and bills it) first
        open_ = await _lead(s, camp.id, "+15125550104", status=LeadStatus.DIALING, lease_owner="w4",
                            lease_expires_at=now - timedelta(seconds=1))
        done = Call(campaign_id=camp.id, lead_id=ended.id, provider="sim", worker="w3", status=CallStatus.COMPLETED,
                    created_at=now, ended_at=now)
        talking = Call(campaign_id=camp.id, lead_id=open_.id, provider="sim", worker="w4",
                       status=CallStatus.IN_PROGRESS, created_at=now)
        s.add_all([done, talking])
        await s.flush()
        s.add(CostEntry(call_id=done.id, campaign_id=camp.id, ts=now, component="telephony", provider="twilio",
                        quantity=Decimal(1), unit="minute", unit_price=Decimal("0.018"), amount=Decimal("0.018")))
    refs = {name: str(HoldRef(lead.id, worker, now - timedelta(seconds=1)))
            for name, lead, worker in (("queued", queued, "w1"), ("live", live, "w2"), ("ended", ended, "w3"),
                                       ("open", open_, "w4"), ("mine", queued, "me"))}
    window = Counter("global:daily:x", 10_000_000, 2_000_000_000)
    try:
        await store.restore(window, 0, {})
        for ref in [*refs.values(), "legacy-name"]:
            assert await store.reserve([window], ref, 61_500)
        settled = await settle_dead_holds(sessions, store, worker="me", now=now)
        assert {(h.lead_id, h.call_id, h.spent) for h in settled} == {
            (queued.id, None, Decimal(0)), (ended.id, done.id, Decimal("0.018"))}
        left = {h.ref for h in await store.held()}
        assert left == {refs["live"], refs["open"], refs["mine"], "legacy-name"}
        assert await store.snapshot(window) == (to_micros(Decimal("0.018")), 4 * 61_500)
        assert await settle_dead_holds(sessions, store, worker="me", now=now) == []  # once
    finally:
        await store.close()


@pytest.mark.integration
async def test_a_guard_tells_a_full_budget_from_one_other_dialers_hold(pg_engine, redis_settings):
    sessions = session_factory(pg_engine)
    async with sessions.begin() as s:
        s.add(Budget(scope="global", period=BudgetPeriod.DAILY, amount=Decimal("0.10")))
    store = RedisReservations(redis_settings.url, prefix=redis_settings.key_prefix)
    mine = BudgetGuard(sessions, store, BudgetSettings(), "c")
    other = BudgetGuard(sessions, store, BudgetSettings(), "c")
    try:
        assert await other.hold("theirs", Decimal("0.06")) is not None
        assert await mine.hold("mine", Decimal("0.06")) is None  # 0.06 + 0.06 > 0.10
        assert await mine.fits_without_others(Decimal("0.06"))  # it would, once their call ends
        assert [w.scope for w in await mine.full_windows(Decimal("0.06"))] == ["global"]
        assert not await mine.fits_without_others(Decimal("0.11"))  # never: the budget itself is too small
        [window] = await mine.windows()
        assert window.end == period_bounds(BudgetPeriod.DAILY, utcnow())[1]  # calls may go again then
    finally:
        await store.close()
