"""Calls leads place to a campaign's number: the agent greets a known lead by name and goes on from
what the store holds (slots not asked again, a booking confirmed), an opted-out number is told so
and how to opt back in, and a call no agent can take is answered with the unavailable line and a
call back. Whole calls run with real audio through VAD, STT and TTS, on the simulated telephony
and through Twilio's protocol (the loopback double posts the incoming-call webhook)."""

import asyncio
import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from reauto.agent.inbound import CallerFacts, InboundLines, follow_up_close
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.campaign import Campaign, load_campaign
from reauto.dialer import assembly
from reauto.dialer.building import DialOptions
from reauto.dialer.inbound import identify
from reauto.dialer.run import DialRun
from reauto.errors import ConfigError
from reauto.serve.embed import start_server
from reauto.sim.lead import LeadScript
from reauto.store.engine import make_engine, session_factory
from reauto.store.models import (
    Appointment,
    Call,
    CallEvent,
    DncEntry,
    DncSource,
    Lead,
    LeadStatus,
    QualificationSnapshot,
    Turn,
)
from reauto.telephony.base import IncomingCall
from reauto.telephony.twilio import CallRegistry

ROOT = Path(__file__).resolve().parents[1]
CALLER_ID = "+15125550100"
AT = datetime.fromisoformat("2026-11-24T19:30:00-06:00")
QUESTIONS = [Question("intent", "Are you looking to buy or sell?"),
             Question("timeline_months", "When are you hoping to move?"),
             Question("budget_usd", "What budget do you have in mind?"),
             Question("preapproved", "Are you pre-approved for a mortgage?")]
_numbers = itertools.count(3000)


def new_number() -> str:
    return f"+1512555{next(_numbers):04d}"


def brain(first_name: str | None = None, **extra: Any) -> ScriptedBrain:
    return ScriptedBrain(ScriptConfig(agent_name="Ava", business="Sunrise Realty", questions=QUESTIONS,
                                      lead_first_name=first_name, disclosures=["This call may be recorded."],
                                      booking_slots=["Tuesday at 10 AM", "Wednesday at 2 PM"],
                                      today=date(2026, 11, 24), **extra))


# --- what the agent says ------------------------------------------------------------------------

@pytest.mark.unit
async def test_a_known_caller_is_greeted_by_name_and_not_asked_again_what_they_said():
    b = brain("Nora")
    await b.call_in(CallerFacts(known=True, first_name="Nora", slots={"intent": "buy", "timeline_months": 3}))
    opening = b.opening()
    assert opening.text.startswith("Hi Nora! Thanks for calling Sunrise Realty. This is Ava, an AI assistant.")
    assert "This call may be recorded." in opening.text and "say stop" in opening.text
    assert "Last time you told me you want to buy and your timeline is 3 months." in opening.text
    assert opening.text.endswith("What budget do you have in mind?") and b.agent == "qualifier"
    assert "Is this Nora" not in opening.text  # the number identified them
    nxt = await b.respond("about four hundred thousand", 0.9)
    assert nxt.text.endswith("Are you pre-approved for a mortgage?")
    offer = await b.respond("yes we are", 0.9)
    assert b.agent == "scheduler" and "Tuesday at 10 AM" in offer.text
    booked = await b.respond("tuesday at ten works", 0.9)
    assert booked.outcome == "booked" and b.slots["intent"] == "buy"


@pytest.mark.unit
async def test_a_caller_whose_qualification_is_complete_is_offered_times_at_once():
    b = brain("Nora")
    await b.call_in(CallerFacts(known=True, first_name="Nora", slots={
        "intent": "buy", "timeline_months": 2, "budget_usd": {"low": 400000, "high": 400000}, "preapproved": True}))
    opening = b.opening()
    assert b.agent == "scheduler" and "Would Tuesday at 10 AM or Wednesday at 2 PM work for you?" in opening.text
    cold = brain("Sam")  # all answered, not enough to book: anything to help with, then a person follows up
    await cold.call_in(CallerFacts(known=True, first_name="Sam", slots={
        "intent": "rent", "timeline_months": 24, "budget_usd": {"low": 900, "high": 900}, "preapproved": False}))
    assert cold.opening().text.endswith("Is there anything I can help you with?") and cold.agent == "follow_up"
    done = await cold.respond("no that's all thanks", 0.9)
    assert done.end_call and done.outcome == "callback"


@pytest.mark.unit
async def test_a_booked_caller_hears_the_booking_and_a_question_goes_to_a_person():
    b = brain("Nora")
    await b.call_in(CallerFacts(known=True, first_name="Nora", slots={"intent": "buy"}, booked="tomorrow at 10 AM"))
    assert "booked to talk with one of our agents tomorrow at 10 AM" in b.opening().text
    fine = await b.respond("nope just wanted to check", 0.9)
    assert fine.end_call and fine.outcome == "booked" and "talk to you tomorrow at 10 AM" in fine.text
    assert follow_up_close("can we move it to friday", "tomorrow at 10 AM")[1] == "callback"
    again = brain("Nora")
    await again.call_in(CallerFacts(known=True, first_name="Nora", booked="tomorrow at 10 AM"))
    again.opening()
    stop = await again.respond("actually please take me off your list", 0.9)
    assert stop.outcome == "dnc"  # an opt-out is heard whatever the call is about


@pytest.mark.unit
async def test_an_opted_out_caller_is_told_so_and_how_to_opt_back_in_and_an_unknown_one_is_qualified():
    b = brain("Nora")
    await b.call_in(CallerFacts(known=True, first_name="Nora", opted_out=True, slots={"intent": "buy"}))
    said = b.opening()
    assert said.end_call and said.outcome == "dnc"
    assert "do-not-call list" in said.text and "START" in said.text and "Budget" not in said.text
    stranger = brain(None, inbound=InboundLines(greeting="Sunrise Realty, {agent_name} speaking."))
    await stranger.call_in(CallerFacts())
    opening = stranger.opening()
    assert opening.text.startswith("Sunrise Realty, Ava speaking.") and "Hi " not in opening.text
    assert opening.text.endswith("Are you looking to buy or sell?") and stranger.agent == "qualifier"


@pytest.mark.unit
def test_inbound_lines_name_only_what_they_may(tmp_path):
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["inbound"] = {"greeting": "Hello from {business}, {phone}"}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"inbound.greeting: unknown \{phone\}"):
        load_campaign(path)


# --- who is calling (the store) -------------------------------------------------------------------

async def campaign_id_of(sessions: Any, name: str = "inbound") -> int:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["name"] = name
    return await assembly.upsert_campaign(sessions, Campaign.model_validate(data))


async def known_lead(sessions: Any, campaign_id: int, phone: str, *, status: LeadStatus = LeadStatus.SCHEDULED,
                     slots: dict[str, Any] | None = None, due_in: timedelta = timedelta(days=3)) -> int:
    async with sessions.begin() as s:
        lead = Lead(campaign_id=campaign_id, phone_e164=phone, first_name="Jane", state="TX",
                    tz_candidates=["America/Chicago"], has_written_consent=True, status=status, attempts=1,
                    next_attempt_at=datetime.now(UTC) + due_in)
        s.add(lead)
        await s.flush()
        if slots:
            call = Call(campaign_id=campaign_id, lead_id=lead.id, provider="sim", status="completed",
                        outcome="callback")
            s.add(call)
            await s.flush()
            s.add(QualificationSnapshot(lead_id=lead.id, call_id=call.id, version=1, slots=slots, score=0.3))
        return lead.id


@pytest.mark.integration
async def test_a_caller_is_identified_claimed_and_told_of_their_booking(pg_engine):
    sessions = session_factory(pg_engine)
    campaign_id = await campaign_id_of(sessions)
    phone = new_number()
    lead_id = await known_lead(sessions, campaign_id, phone, slots={"intent": "buy", "timeline_months": 3})
    now = datetime.now(UTC)
    async with sessions.begin() as s:
        s.add(QualificationSnapshot(lead_id=lead_id, version=2, slots={"timeline_months": 2, "budget_usd": None}))
        s.add(Appointment(lead_id=lead_id, calendar="austin-team", starts_at=now + timedelta(days=3),
                          ends_at=now + timedelta(days=3, minutes=30), timezone="America/Chicago"))
    caller = await identify(sessions, campaign_id=campaign_id, phone=phone, worker="w1", lease=timedelta(minutes=2),
                            now=now)
    assert caller.claimed and caller.facts.known and caller.facts.first_name == "Jane"
    assert caller.facts.slots == {"intent": "buy", "timeline_months": 2}  # the latest reading of each slot
    assert caller.facts.booked and caller.facts.booked.startswith("on ")
    async with sessions() as s:
        row = await s.get(Lead, lead_id)
        assert (row.status, row.lease_owner) == (LeadStatus.DIALING, "w1")  # no dialer calls them meanwhile
    stranger = new_number()
    unknown = await identify(sessions, campaign_id=campaign_id, phone=stranger, worker="w1",
                             lease=timedelta(minutes=2), now=now)
    assert not unknown.facts.known and unknown.lead.source == "inbound" and not unknown.lead.has_written_consent


# --- the webhook without a dialer ----------------------------------------------------------------------

@pytest.mark.integration
async def test_a_server_without_a_dialer_says_the_unavailable_line_and_schedules_a_call_back(pg_engine, tmp_path):
    from .test_inbound_texts import campaign_row, context, stored_lead
    from .test_serve import Server

    sessions = session_factory(pg_engine)
    campaign_id = await campaign_row(sessions, tmp_path, name="inbound-desk")
    phone, opted = new_number(), new_number()
    lead_id = await stored_lead(sessions, campaign_id, phone, status=LeadStatus.EXHAUSTED)
    async with sessions.begin() as s:
        s.add(DncEntry(phone_e164=opted, source=DncSource.INTERNAL, reason="opted out by text"))
    form = {"CallSid": "CA" + "1" * 32, "AccountSid": "AC1", "From": phone, "To": CALLER_ID,
            "CallStatus": "ringing", "Direction": "inbound"}
    async with Server(context(pg_engine)) as srv:
        status, answer = await srv.post("/twilio/voice", form)
        assert status == 200 and "<Say>" in answer and "call you back" in answer and answer.endswith(
            "<Hangup/></Response>")
        async with sessions() as s:
            lead = await s.get(Lead, lead_id)
            assert lead.status == LeadStatus.CALLBACK and lead.next_attempt_at <= datetime.now(UTC)
        status, answer = await srv.post("/twilio/voice", {**form, "From": opted})
        assert status == 200 and "do-not-call list" in answer
        status, _ = await srv.post("/twilio/voice", form, signature="forged")
        assert status == 403


# --- whole calls ---------------------------------------------------------------------------------------

def twilio_or_sim_campaign(tmp_path: Path, telephony: str) -> Any:
    data = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    data["name"] = f"inbound-{telephony}"
    data["telephony"] = telephony
    jane = next(p for p in data["sim_personas"] if p["name"] == "Jane Doe")
    data["sim_personas"] = [jane]
    path = tmp_path / f"{telephony}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_campaign(path)


async def serving(cfg: Any, campaign: Any, **kw: Any) -> tuple[Any, asyncio.Task[Any]]:
    """``reauto serve --campaign``'s run, and its dialer once it takes calls."""
    if campaign.telephony == "sim":  # its intake server listens on a free port
        cfg = cfg.model_copy(update={"twilio": cfg.twilio.model_copy(update={"listen_port": 0})})
    started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    run = asyncio.create_task(DialRun(cfg, campaign, DialOptions(
        concurrency=2, clock_start=AT, speed=1.5, seed=False, forever=True, on_start=started.set_result,
        **kw), web=start_server).run())
    done, _ = await asyncio.wait([started, run], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    assert started in done, run.result() if run.done() else "the dialer did not start"
    dialer = started.result()
    await asyncio.wait_for(dialer.running.wait(), 60)
    return dialer, run


async def prepare(cfg: Any, campaign: Any, phone: str) -> int:
    engine = make_engine(cfg.database)
    try:
        sessions = session_factory(engine)
        campaign_id = await assembly.upsert_campaign(sessions, campaign)
        return await known_lead(sessions, campaign_id, phone, slots={"intent": "buy", "timeline_months": 3})
    finally:
        await engine.dispose()


async def sim_caller(cfg: Any, tmp_path: Path) -> tuple[Any, str, int]:
    """A sim campaign, the number of its one persona (Jane), and her lead with two slots answered."""
    campaign = twilio_or_sim_campaign(tmp_path, "sim")
    jane = next(iter(assembly.lead_scripts(campaign)))
    return campaign, jane, await prepare(cfg, campaign, jane)


async def ended(dialer: Any, limit_s: float = 120.0) -> list[Any]:
    """The dialer's call summaries once one call has ended (the call runs on the dialer)."""
    for _ in range(int(limit_s / 0.1)):
        if dialer.summaries:
            break
        await asyncio.sleep(0.1)
    return list(dialer.summaries)


async def stored(cfg: Any, lead_id: int) -> tuple[Lead, list[Call], list[str]]:
    engine = make_engine(cfg.database)
    try:
        async with session_factory(engine)() as s:
            lead = await s.get(Lead, lead_id)
            calls = list((await s.execute(select(Call).where(Call.lead_id == lead_id).order_by(Call.id))).scalars())
            said = list((await s.execute(select(Turn.text).where(Turn.call_id == calls[-1].id, Turn.speaker == "agent")
                                         .order_by(Turn.seq))).scalars())
            events = list((await s.execute(select(CallEvent.type).where(CallEvent.call_id == calls[-1].id))).scalars())
            assert "incoming" in events and "dial" not in events
            return lead, calls, said
    finally:
        await engine.dispose()


def assert_resumed(said: list[str]) -> None:
    opening = said[0]
    assert opening.startswith("Hi Jane! Thanks for calling"), said
    assert "Last time you told me you want to buy and your timeline is 3 months" in opening, said
    assert not any("buy a home, or to sell" in s or "hoping to make your move" in s for s in said), said
    assert any("budget" in s.lower() for s in said), said


@pytest.mark.integration
@pytest.mark.slow
async def test_a_lead_who_calls_back_on_the_sim_is_greeted_by_name_and_the_call_goes_on(fresh_db_cfg, tmp_path):
    campaign, jane, lead_id = await sim_caller(fresh_db_cfg, tmp_path)
    dialer, run = await serving(fresh_db_cfg, campaign)
    try:
        pickup = await dialer.telephony.call_in(jane, CALLER_ID)
        assert pickup.call_ref is not None
        [summary] = await ended(dialer)
    finally:
        dialer.stop()
        await asyncio.wait_for(run, 60)
    lead, calls, said = await stored(fresh_db_cfg, lead_id)
    assert calls[-1].direction == "inbound" and str(calls[-1].id) == pickup.call_ref
    assert_resumed(said)
    assert summary.outcome == "booked", said
    assert lead.status == LeadStatus.BOOKED and lead.attempts == 1  # a lead's own call is not an attempt
    assert calls[-1].abandoned is None
    from .test_dial import cli

    files = fresh_db_cfg.model_copy(update={"export": fresh_db_cfg.export.model_copy(update={"out_dir": tmp_path})})
    exported = await asyncio.to_thread(cli, files, "export", "--to", "jsonl", "--json")
    assert exported.exit_code == 0, exported.output
    records = [json.loads(line) for line in Path(json.loads(exported.stdout)["file"]).read_text().splitlines()]
    [record] = [r for r in records if r["key"] == f"call:{pickup.call_ref}"]
    assert record["direction"] == "inbound" and record["summary"].startswith("Inbound: the lead called. Booked")


@pytest.mark.integration
@pytest.mark.slow
async def test_a_lead_who_calls_the_twilio_number_is_answered_by_the_agent(fresh_db_cfg, tmp_path):
    from .fakes.twilio import TwilioDouble
    from .test_twilio import free_port, twilio_settings

    campaign = twilio_or_sim_campaign(tmp_path, "twilio")
    scripts = assembly.lead_scripts(campaign)
    jane = next(iter(scripts))
    lead_id = await prepare(fresh_db_cfg, campaign, jane)
    async with TwilioDouble(personas=scripts, speed=1.5, ring_s=0.5) as double:
        cfg = fresh_db_cfg.model_copy(update={"twilio": twilio_settings(double, free_port())})
        dialer, run = await serving(cfg, campaign, agent_text_tap=double.agent_text)
        try:
            call = double.incoming_call(f"{cfg.twilio.public_url}/twilio/voice", from_=jane, to=CALLER_ID)
            report = await double.finished(call.sid, timeout=180)
            stranger = double.incoming_call(f"{cfg.twilio.public_url}/twilio/voice", from_=new_number(),
                                            to=CALLER_ID, script=LeadScript(name="Sam", answers={
                                                "intent": "just browsing", "default": "no thanks not interested"}))
            await double.finished(stranger.sid, timeout=180)
        finally:
            dialer.stop()
            await asyncio.wait_for(run, 60)
    assert call.twiml and "<Connect><Stream" in call.twiml and call.direction == "inbound"
    assert report["hello_to_first_audio_ms"] is not None and not call.said
    lead, calls, said = await stored(cfg, lead_id)
    assert calls[-1].provider_sid == call.sid and calls[-1].direction == "inbound"
    assert_resumed(said)
    assert calls[-1].outcome in ("booked", "callback"), said
    assert lead.attempts == 1
    # an unknown caller got a lead of their own, with no consent: never dialed until one is recorded
    engine = make_engine(cfg.database)
    try:
        async with session_factory(engine)() as s:
            [new] = (await s.execute(select(Lead).where(Lead.source == "inbound"))).scalars().all()
            assert not new.has_written_consent and new.attempts == 0
    finally:
        await engine.dispose()


@pytest.mark.integration
@pytest.mark.slow
async def test_an_opted_out_caller_hears_so_and_a_busy_dialer_says_it_will_call_back(fresh_db_cfg, tmp_path):
    campaign, jane, lead_id = await sim_caller(fresh_db_cfg, tmp_path)
    engine = make_engine(fresh_db_cfg.database)
    async with session_factory(engine).begin() as s:
        s.add(DncEntry(phone_e164=jane, source=DncSource.INTERNAL, reason="opted out by text"))
        (await s.get(Lead, lead_id)).dnc = True
    await engine.dispose()
    dialer, run = await serving(fresh_db_cfg, campaign)
    try:
        # not yet a slot free: both taken by calls that never end
        held = asyncio.Event()
        calls = [asyncio.create_task(held.wait()) for _ in range(2)]
        dialer._tasks.update(calls)
        busy = await dialer.pick_up(IncomingCall("SIMbusy", new_number(), CALLER_ID))
        assert busy.call_ref is None and "call you back" in busy.say
        held.set()
        await asyncio.gather(*calls)  # they end: the slots are free again
        pickup = await dialer.telephony.call_in(jane, CALLER_ID)
        assert pickup.call_ref is not None
        await ended(dialer)
    finally:
        dialer.stop()
        await asyncio.wait_for(run, 60)
    lead, calls, said = await stored(fresh_db_cfg, lead_id)
    assert "do-not-call list" in said[0] and len(said) == 1
    assert calls[-1].outcome == "dnc" and lead.status == LeadStatus.SCHEDULED and lead.dnc
    engine = make_engine(fresh_db_cfg.database)
    try:
        async with session_factory(engine)() as s:
            [entry] = (await s.execute(select(DncEntry).where(DncEntry.phone_e164 == jane))).scalars().all()
            assert entry.reason == "opted out by text"  # START may still lift it for texts
    finally:
        await engine.dispose()


@pytest.mark.unit
def test_registry_expects_an_incoming_call_once():
    registry = CallRegistry("http://127.0.0.1:1")

    async def go() -> None:
        first = registry.expect("7", "CA1")
        assert registry.expect("7", "CA1") is first and first.incoming and first.sid == "CA1"
        assert "<Connect><Stream" in registry.twiml("7")
    asyncio.run(go())
