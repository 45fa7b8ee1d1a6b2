"""A dialer that dies: its calls are marked interrupted, its leads re-queued once its leases run out
(never while another dialer holds them), and the conversation resumes where it was cut off."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.dialer.recovery import RECOVERY_KEY, interrupted_call, recover_expired, renew_leases
from reauto.store.engine import session_factory
from reauto.store.models import Call, CallEvent, CallStatus, Campaign, Event, Lead, LeadStatus, Turn
from reauto.store.types import utcnow

ROOT = Path(__file__).resolve().parents[1]


async def leased(sessions, *, expires_in: timedelta, call_status=CallStatus.IN_PROGRESS):
    now = utcnow()
    async with sessions.begin() as s:
        campaign = (await s.execute(select(Campaign))).scalars().first()
        if campaign is None:
            campaign = Campaign(name="c")
            s.add(campaign)
            await s.flush()
        lead = Lead(campaign_id=campaign.id, phone_e164=f"+1512555{uuid.uuid4().int % 10000:04d}", state="TX",
                    status=LeadStatus.DIALING, lease_owner="dead-worker", lease_expires_at=now + expires_in)
        s.add(lead)
        await s.flush()
        call = Call(campaign_id=campaign.id, lead_id=lead.id, provider="sim", worker="dead-worker", status=call_status)
        s.add(call)
        await s.flush()
    return lead, call


@pytest.mark.integration
async def test_expired_leases_are_taken_back_and_valid_ones_left_alone(pg_engine):
    sessions = session_factory(pg_engine)
    dead, dead_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    alive, alive_call = await leased(sessions, expires_in=timedelta(minutes=2))
    found = await recover_expired(sessions, dead.campaign_id)
    assert (found.leads, found.calls) == ([dead.id], [dead_call.id])
    async with sessions() as s:
        lead, call = await s.get(Lead, dead.id), await s.get(Call, dead_call.id)
        untouched, live_call = await s.get(Lead, alive.id), await s.get(Call, alive_call.id)
        [event] = (await s.execute(select(CallEvent).where(CallEvent.call_id == dead_call.id))).scalars()
        [ended] = (await s.execute(select(Event).where(Event.type == "call.ended"))).scalars()
    assert (call.status, call.ended_at is not None, event.type) == (CallStatus.INTERRUPTED, True, "interrupted")
    assert ended.payload["call_id"] == dead_call.id and ended.payload["status"] == "interrupted"
    assert ended.payload["outcome"] is None and ended.payload["lead_status"] == "scheduled"  # due again at once
    assert (lead.status, lead.lease_owner, lead.attempts) == (LeadStatus.SCHEDULED, None, 1)
    assert interrupted_call(lead) == dead_call.id and lead.next_attempt_at <= utcnow()
    assert (untouched.status, untouched.lease_owner, live_call.status) == (
        LeadStatus.DIALING, "dead-worker", CallStatus.IN_PROGRESS)  # its dialer may still be talking
    assert (await recover_expired(sessions, dead.campaign_id)).leads == []  # once
    # a live dialer keeps its leases; another worker's renewal changes nothing
    assert await renew_leases(sessions, [alive.id], worker="someone-else", until=utcnow()) == 0
    assert await renew_leases(sessions, [alive.id], worker="dead-worker", until=utcnow() + timedelta(hours=1)) == 1


@pytest.mark.unit
async def test_a_resumed_conversation_says_we_got_cut_off_and_asks_where_it_stopped():
    config = ScriptConfig(agent_name="Ava", business="Lone Star Realty", lead_first_name="Jane",
                          disclosures=["This call may be recorded."],
                          questions=[Question("intent", "Buying or selling?"), Question("budget_usd", "What budget?"),
                                     Question("preapproved", "Are you pre-approved?")])
    before = ScriptedBrain(config)
    before.opening()
    await before.respond("yes this is Jane", None)
    await before.respond("we want to buy", None)
    await before.respond("around four hundred thousand dollars", None)
    after = ScriptedBrain(config)
    after.restore(before.snapshot())
    after.resume()
    opening = after.opening().text
    assert opening.startswith("Hi Jane, this is Ava again, the AI assistant from Lone Star Realty. "
                              "I think we got cut off. This call may be recorded.")
    assert "you want to buy and your budget is about $400,000" in opening
    assert opening.endswith("Are you pre-approved?")


@pytest.mark.integration
@pytest.mark.slow
async def test_sigkill_with_ten_live_calls_then_restart_loses_nothing_and_dials_no_one_twice(tmp_path, redis_settings):
    from reauto.campaign import load_campaign
    from reauto.config import DatabaseSettings, Settings
    from reauto.dialer.building import DialOptions
    from reauto.dialer.run import DialRun
    from reauto.store import migrate

    from .conftest import create_database, drop_database
    from .test_dial import rows

    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    jane = next(p for p in data["sim_personas"] if p["name"] == "Jane Doe")
    data["concurrency"] = 10
    data["sim_personas"] = [{**jane, "name": f"Lead {i}", "phone": f"+1512555{i:04d}"} for i in range(10, 20)]
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    name = f"reauto_kill_{uuid.uuid4().hex[:8]}"
    cfg = Settings(database=DatabaseSettings(url=create_database(name)), redis=redis_settings)
    dialer = None
    try:
        migrate.upgrade(cfg)
        env = {**os.environ, "REAUTO_DATABASE_URL": cfg.database.url, "REAUTO_REDIS_URL": redis_settings.url,
               "REAUTO_REDIS_KEY_PREFIX": redis_settings.key_prefix}
        # ten calls at once whatever the machine's headroom: the crash is what is under test
        dialer = subprocess.Popen([str(Path(sys.executable).parent / "reauto"), "dial", str(path), "--at",
                                   "2026-11-24T14:00:00-06:00", "--json", "--fixed-concurrency"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # wait for ten conversations in progress
            if len(rows(cfg, Call, Call.status == CallStatus.IN_PROGRESS)) >= 10:
                break
            await asyncio.sleep(0.3)
        from reauto.sessions import sessions_for

        store = sessions_for(redis_settings)
        talking: dict[int, str] = {}
        greeted: set[int] = set()
        # some conversations are past the greeting, and every lead has heard it: a person cut off
        # before the agent spoke is an abandoned call, which the restart's gate rightly counts
        while time.monotonic() < deadline:
            states = [await store.load(c) for c in await store.live()]
            talking = {st["call_id"]: st["brain"]["agent"] for st in states if st}
            greeted = {st["call_id"] for st in states if st and any(
                t.get("speaker") == "agent" and t.get("first_audio_ms") is not None for t in st.get("turns") or [])}
            if len(greeted) >= 10 and sum(agent in ("qualifier", "scheduler") for agent in talking.values()) >= 3:
                break
            await asyncio.sleep(0.3)
        assert len(greeted) >= 10, f"only {len(greeted)} of 10 greetings played before the deadline"
        os.killpg(dialer.pid, signal.SIGKILL)  # the dialer and its speech-recognition workers, like a lost host
        dialer.wait(10)
        states = [await store.load(c) for c in await store.live()]  # what survived the dialer
        await store.close()
        resumable = {st["call_id"] for st in states if st and st["brain"]["agent"] in ("qualifier", "scheduler")}
        assert len(resumable) >= 3
        cut = rows(cfg, Call)
        assert len(cut) == 10 and all(c.status == CallStatus.IN_PROGRESS for c in cut)

        # the restarted dialer (or any other) takes the leads back once the dead one's leases ran out
        from reauto.store.engine import make_engine

        engine = make_engine(cfg.database)
        campaign_id = cut[0].campaign_id
        assert (await recover_expired(session_factory(engine), campaign_id)).leads == []  # leases still valid
        async with session_factory(engine).begin() as s:  # three minutes pass: the dead dialer's leases run out
            for lead in (await s.execute(select(Lead).where(Lead.campaign_id == campaign_id))).scalars():
                if lead.lease_expires_at is not None:
                    lead.lease_expires_at -= timedelta(minutes=3)
        later = await recover_expired(session_factory(engine), campaign_id)
        assert sorted(later.calls) == sorted(c.id for c in cut) and len(later.leads) == 10
        # every lead heard the greeting, so a call judged abandoned is one whose greeting came over
        # the 2 s limit (a busy machine, ten calls at once): the sweep judged it right. The
        # abandoned-call gate has tests of its own (test_gates.py); this one is about the restart,
        # which that gate would stop, so such a call's flag is cleared here, after checking it
        async with session_factory(engine).begin() as s:
            for call in (await s.execute(select(Call).where(Call.campaign_id == campaign_id,
                                                            Call.abandoned.is_(True)))).scalars():
                greeting = (await s.execute(select(Turn.first_audio_ms).where(
                    Turn.call_id == call.id, Turn.speaker == "agent").order_by(Turn.seq).limit(1))).scalar()
                assert greeting is None or greeting > 2000, (call.id, greeting)  # None: known from the session only
                call.abandoned = False
        await engine.dispose()
        summaries = (await DialRun(cfg, load_campaign(path), DialOptions(
            max_calls=10, concurrency=4, speed=2.0, seed=False,
            clock_start=datetime.fromisoformat("2026-11-24T14:05:00-06:00"))).run()).summaries
    finally:
        if dialer is not None and dialer.poll() is None:
            os.killpg(dialer.pid, signal.SIGKILL)
        calls, leads, events, turns = rows(cfg, Call), rows(cfg, Lead), rows(cfg, CallEvent), rows(cfg, Turn)
        drop_database(name)
    assert len(summaries) == 10
    by_lead: dict[int, list[Call]] = {}
    for call in calls:
        by_lead.setdefault(call.lead_id, []).append(call)
    # every lead: the interrupted call, then exactly one new one; no record lost
    assert len(by_lead) == 10 and all(len(c) == 2 for c in by_lead.values())
    assert all(c[0].status == CallStatus.INTERRUPTED and c[1].status != CallStatus.INTERRUPTED
               for c in (sorted(v, key=lambda x: x.id) for v in by_lead.values()))
    assert sum(e.type == "interrupted" for e in events) == 10
    assert all(RECOVERY_KEY not in (lead.custom or {}) for lead in leads)
    assert sum(e.type == "ended" for e in events) == 10
    # the sessions were in Redis: every conversation past its greeting continued where it stood
    first_words = {t.call_id: t.text for t in sorted(turns, key=lambda t: -t.seq) if t.speaker == "agent"}
    continued = {calls_of[0].id for calls_of in (sorted(v, key=lambda x: x.id) for v in by_lead.values())
                 if "got cut off" in first_words.get(calls_of[1].id, "")}
    assert continued == resumable


@pytest.mark.integration
async def test_an_interrupted_call_keeps_its_sessions_turns_slots_length_and_answered_minutes(pg_engine):
    from decimal import Decimal

    from reauto.config import PricingSettings
    from reauto.costs.meter import CostMeter
    from reauto.costs.pricing import Catalogue
    from reauto.export.records import call_record, disposition_of
    from reauto.sessions import MemorySessions
    from reauto.store.models import CostEntry, QualificationSnapshot

    sessions = session_factory(pg_engine)
    conversations = MemorySessions()
    t0 = utcnow() - timedelta(minutes=5)

    def bill(call, seconds):
        meter = CostMeter(Catalogue(PricingSettings()))
        meter.record_call_time(call.provider, seconds, amd=True)
        return meter.lines

    async def answered(call, by: str, greeting_ms: float | None):
        async with sessions.begin() as s:
            row = await s.get(Call, call.id)
            row.answered_at = t0
            s.add(CallEvent(call_id=call.id, type="answered", payload={"answered_by": by}, ts=t0))
            s.add(Turn(call_id=call.id, seq=0, speaker="agent", text="Hi, this is Ava.", started_at=t0 + timedelta(seconds=1),
                       first_audio_ms=greeting_ms))
            s.add(Turn(call_id=call.id, seq=1, speaker="lead", text="yes this is Jane", ended_at=t0 + timedelta(seconds=3)))

    talked, talked_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    await answered(talked_call, "human", 800.0)
    # the session got two more turns than the store (its last writes were in flight at the kill)
    await conversations.save(talked_call.id, {"call_id": talked_call.id, "brain": {"agent": "qualifier"},
                                              "slots": {"intent": "buy"}, "score": 0.2, "turns": [
        {"seq": 0, "speaker": "agent", "text": "Hi, this is Ava.", "started_at": (t0 + timedelta(seconds=1)).isoformat()},
        {"seq": 1, "speaker": "lead", "text": "yes this is Jane", "ended_at": (t0 + timedelta(seconds=3)).isoformat()},
        {"seq": 2, "speaker": "agent", "text": "Are you looking to buy?", "started_at": (t0 + timedelta(seconds=70)).isoformat()},
        {"seq": 3, "speaker": "lead", "text": "we want to buy", "confidence": 0.8,
         "ended_at": (t0 + timedelta(seconds=75)).isoformat()},
        {"seq": "x", "speaker": "lead"},  # unreadable: left out
    ]})
    late, late_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    await answered(late_call, "human", 2500.0)  # the greeting came after 2.5 s: abandoned
    machine, machine_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    await answered(machine_call, "machine", None)
    ringing, ringing_call = await leased(sessions, expires_in=timedelta(seconds=-1), call_status=CallStatus.QUEUED)

    found = await recover_expired(sessions, talked.campaign_id, conversations=conversations, bill=bill)
    assert sorted(found.calls) == sorted(c.id for c in (talked_call, late_call, machine_call, ringing_call))
    async with sessions() as s:
        calls = {c.id: c for c in (await s.execute(select(Call))).scalars()}
        turns = (await s.execute(select(Turn).where(Turn.call_id == talked_call.id).order_by(Turn.seq))).scalars().all()
        costs = (await s.execute(select(CostEntry).where(CostEntry.call_id == talked_call.id))).scalars().all()
        [snap] = (await s.execute(select(QualificationSnapshot))).scalars().all()
        [event] = (await s.execute(select(CallEvent).where(CallEvent.call_id == talked_call.id,
                                                           CallEvent.type == "interrupted"))).scalars()
        lead = await s.get(Lead, talked.id)
    cut = calls[talked_call.id]
    assert (cut.status, cut.outcome, cut.abandoned) == (CallStatus.INTERRUPTED, None, False)
    assert [t.text for t in turns] == ["Hi, this is Ava.", "yes this is Jane", "Are you looking to buy?", "we want to buy"]
    assert cut.ended_at == t0 + timedelta(seconds=75)  # its last turn
    assert sorted((c.component, c.quantity) for c in costs) == [("amd", 1), ("media_stream", 2), ("telephony", 2)]
    assert cut.cost_total == Decimal("0.0435")  # two started minutes × (0.014 + 0.004) + 0.0075
    assert (snap.call_id, snap.slots, snap.score) == (cut.id, {"intent": "buy"}, 0.2)
    assert event.payload["turns_from_session"] == 2 and event.payload["turns"] == 4
    assert calls[late_call.id].abandoned is True and calls[machine_call.id].abandoned is None
    unanswered = calls[ringing_call.id]
    assert (unanswered.status, unanswered.answered_at, unanswered.abandoned, unanswered.cost_total) == (
        CallStatus.INTERRUPTED, None, None, Decimal(0))
    record = call_record(cut, lead, "c", snap.slots, snap.score, [{"speaker": t.speaker, "text": t.text} for t in turns],
                         None, None)
    assert (record["disposition"], record["status"], record["duration_s"]) == ("interrupted", "interrupted", 75.0)
    assert record["summary"].startswith("Interrupted (score 0.20): intent buy") and "cut off" in record["summary"]
    assert disposition_of(unanswered) == "interrupted"  # never "no answer"


@pytest.mark.integration
async def test_a_lead_who_opted_out_on_an_interrupted_call_is_never_called_back(pg_engine):
    from reauto.agent.scripted.script import ENDINGS
    from reauto.store.models import DncEntry, DncSource

    sessions = session_factory(pg_engine)
    pressed, pressed_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    told, told_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    talking, talking_call = await leased(sessions, expires_in=timedelta(seconds=-1))
    async with sessions.begin() as s:
        s.add(Turn(call_id=pressed_call.id, seq=0, speaker="lead", text="[pressed 9]"))
        s.add(Turn(call_id=told_call.id, seq=0, speaker="lead", text="please take me off your list"))
        s.add(Turn(call_id=told_call.id, seq=1, speaker="agent", text=ENDINGS["dnc"][0]))
        s.add(Turn(call_id=talking_call.id, seq=0, speaker="lead", text="we want to sell"))
    found = await recover_expired(sessions, pressed.campaign_id)
    assert len(found.calls) == 3
    async with sessions() as s:
        leads = {lead.id: lead for lead in (await s.execute(select(Lead))).scalars()}
        listed = {e.phone_e164 for e in (await s.execute(select(DncEntry).where(
            DncEntry.source == DncSource.INTERNAL))).scalars()}
    for opted in (pressed, told):
        lead = leads[opted.id]
        assert (lead.status, lead.dnc, interrupted_call(lead)) == (LeadStatus.DNC, True, None)
    assert listed == {pressed.phone_e164, told.phone_e164}
    assert leads[talking.id].status == LeadStatus.SCHEDULED and interrupted_call(leads[talking.id]) == talking_call.id
