from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reauto.dialer.records import CallRecorder, RetryPolicy
from reauto.store.engine import session_factory
from reauto.store.models import (Call, CallEvent, CallStatus, Campaign, ConsentRecord, DncEntry, Lead, LeadStatus,
                                 QualificationSnapshot, Turn)
from reauto.voice.conversation import TurnRecord
from reauto.voice.latency import CallLatency, TurnLatency

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


async def lead_and_recorder(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        camp = Campaign(name="rec")
        s.add(camp)
        await s.flush()
        lead = Lead(campaign_id=camp.id, phone_e164="+15125550100", lease_owner="w", status=LeadStatus.DIALING)
        s.add(lead)
    return lead, CallRecorder(sessions, clock=lambda: NOW), sessions  # one clock stamps every record


async def test_completed_call_stores_turns_latency_slots_and_moves_lead(pg_engine):
    lead, rec, sessions = await lead_and_recorder(pg_engine)
    call_id = await rec.open_call(lead, provider="sim", worker="w1", prompt_variant="A")
    await rec.answered(call_id, "SIM1", "human")
    latency = CallLatency([TurnLatency(vad_stop=1.0, agent_text=1.1, tts_first=1.15, first_audio=1.2, greeting=True,
                                       tts_ms=40)])
    turns = [TurnRecord("agent", "Hi, this is Ava."), TurnRecord("lead", "we want to buy", 0.8)]
    await rec.finish(call_id, status=CallStatus.COMPLETED, outcome="booked", turns=turns, latency=latency,
                     slots={"intent": "buy"}, score=0.8, now=NOW)
    await rec.finish(call_id, status=CallStatus.COMPLETED, outcome="booked", turns=[], slots={"intent": "buy",
                     "timeline_months": 3}, score=0.9, now=NOW)
    async with sessions() as s:
        call = await s.get(Call, call_id)
        assert call.status == CallStatus.COMPLETED and call.outcome == "booked" and call.provider_sid == "SIM1"
        rows = (await s.execute(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq))).scalars().all()
        assert [(r.speaker, r.text) for r in rows] == [("agent", "Hi, this is Ava."), ("lead", "we want to buy")]
        assert rows[0].first_audio_ms == pytest.approx(200.0) and rows[0].tts_ttfb_ms == 40
        snaps = (await s.execute(select(QualificationSnapshot).order_by(QualificationSnapshot.version))).scalars().all()
        assert [x.version for x in snaps] == [1, 2] and snaps[1].slots["timeline_months"] == 3  # history kept
        events = [e.type for e in (await s.execute(select(CallEvent).where(CallEvent.call_id == call_id)
                                                   .order_by(CallEvent.id))).scalars()]
        assert events[:2] == ["dial", "answered"] and events[-2:] == ["ended", "analysis"]
        moved = await s.get(Lead, lead.id)
        assert moved.status == LeadStatus.BOOKED and moved.attempts == 2 and moved.lease_owner is None


async def test_dnc_outcome_flags_lead_and_adds_internal_entry(pg_engine):
    lead, rec, sessions = await lead_and_recorder(pg_engine)
    call_id = await rec.open_call(lead, provider="sim", worker="w1")
    await rec.finish(call_id, status=CallStatus.COMPLETED, outcome="dnc", now=NOW)
    async with sessions() as s:
        moved = await s.get(Lead, lead.id)
        assert moved.dnc and moved.status == LeadStatus.DNC
        entry = (await s.execute(select(DncEntry))).scalar_one()
        assert entry.phone_e164 == lead.phone_e164 and entry.source == "internal"
    # asked again later: the same entry is refreshed, not duplicated
    call2 = await rec.open_call(lead, provider="sim", worker="w1")
    await rec.finish(call2, status=CallStatus.COMPLETED, outcome="dnc", now=NOW)
    async with sessions() as s:
        assert len((await s.execute(select(DncEntry))).scalars().all()) == 1


@pytest.mark.parametrize("outcome,attempts_before,status,delay", [
    ("no_answer", 0, LeadStatus.SCHEDULED, timedelta(hours=4)),
    ("voicemail", 1, LeadStatus.SCHEDULED, timedelta(days=1)),
    ("callback", 0, LeadStatus.CALLBACK, timedelta(days=1)),
    ("no_answer", 2, LeadStatus.EXHAUSTED, None),
    ("not_interested", 0, LeadStatus.NOT_INTERESTED, None),
])
async def test_retry_cadence(sqlite_engine, outcome, attempts_before, status, delay):
    lead, rec, sessions = await lead_and_recorder(sqlite_engine)
    async with sessions.begin() as s:
        (await s.get(Lead, lead.id)).attempts = attempts_before
    call_id = await rec.open_call(lead, provider="sim", worker="w1")
    await rec.event(call_id, "note", {"x": 1})
    await rec.finish(call_id, status=CallStatus.NO_ANSWER, outcome=outcome, retry=RetryPolicy(max_attempts=3), now=NOW)
    async with sessions() as s:
        moved = await s.get(Lead, lead.id)
        assert moved.status == status
        if delay is not None:
            assert moved.next_attempt_at == NOW + delay


async def test_abandoned_calls_are_counted_and_stop_the_campaign_at_the_ceiling(pg_engine):
    from reauto.compliance import ComplianceRules
    from reauto.dialer.assembly import CampaignGate
    from reauto.store import repositories

    lead, rec, sessions = await lead_and_recorder(pg_engine)
    async with sessions.begin() as s:
        row = await s.get(Lead, lead.id)
        row.has_written_consent, row.state, row.tz_candidates = True, "TX", ["America/Chicago"]
        s.add(ConsentRecord(lead_id=lead.id, kind="prior_express_written", covers_artificial_voice=True))
    gate = CampaignGate(sessions, ComplianceRules(max_attempts=100), clock=lambda: NOW, store_clock=lambda: NOW)
    assert await gate.abandon_rate(lead.campaign_id) is None  # nobody answered yet
    # 1 abandoned of 20 person-answered calls (5%), plus voicemails that do not count
    for i in range(22):
        call_id = await rec.open_call(lead, provider="sim", worker="w1")
        await rec.finish(call_id, status=CallStatus.COMPLETED, outcome="callback", now=NOW,
                         abandoned=None if i >= 20 else i == 0)
    async with sessions() as s:
        assert await repositories.abandoned_calls(s, lead.campaign_id, now=NOW) == (1, 20)
        assert await repositories.abandoned_calls(s, lead.campaign_id, now=NOW + timedelta(days=40)) == (0, 0)
        fresh = await s.get(Lead, lead.id)
    assert await gate.abandon_rate(lead.campaign_id) == pytest.approx(0.05)
    decision = await gate(fresh, NOW)
    assert not decision.allowed and "abandoned-call rate 5.0% over 3%" in decision.reason
    assert decision.next_allowed_at == NOW + timedelta(hours=1)  # looked at again later, not closed
    # without a consent covering an artificial voice the lead is not called at all
    async with sessions.begin() as s:
        (await s.execute(select(ConsentRecord))).scalar_one().covers_artificial_voice = False
    refused = await gate(fresh, NOW)
    assert not refused.allowed and "artificial (AI) voice" in refused.reason
