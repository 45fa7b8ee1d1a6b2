"""A live call's turns and slots reach the store and the session as they are said; the call's end
completes them (no duplicates); a journal that waited in the spool is stored once."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reauto.dialer.journal import CallJournal
from reauto.dialer.records import CallRecorder, RetryPolicy, TurnRow
from reauto.dialer.spool import SpoolingRecorder, decode, encode
from reauto.sessions import MemorySessions
from reauto.store.engine import session_factory
from reauto.store.models import CallStatus, Campaign, Lead, LeadStatus, QualificationSnapshot, Turn
from reauto.voice.conversation import TurnRecord
from reauto.voice.latency import CallLatency, TurnLatency

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


class Brain:
    """What the journal reads of a brain: its snapshot, slots and score."""

    def __init__(self) -> None:
        self.slots: dict = {}
        self.score = 0.0
        self.agent = "greeter"

    def snapshot(self) -> dict:
        return {"agent": self.agent, "slots": dict(self.slots)}


async def a_call(engine, recorder_class=CallRecorder, **kwargs):
    sessions = session_factory(engine)
    async with sessions.begin() as s:
        camp = Campaign(name="journal")
        s.add(camp)
        await s.flush()
        lead = Lead(campaign_id=camp.id, phone_e164="+15125550100", lease_owner="w", status=LeadStatus.DIALING)
        s.add(lead)
    recorder = recorder_class(sessions, clock=lambda: NOW, **kwargs)
    call_id = await recorder.open_call(lead, provider="sim", worker="w")
    await recorder.answered(call_id, "SIM1", "human")
    return sessions, recorder, call_id


async def stored(sessions, call_id):
    async with sessions() as s:
        turns = (await s.execute(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq))).scalars().all()
        snaps = (await s.execute(select(QualificationSnapshot).where(QualificationSnapshot.call_id == call_id)
                                 .order_by(QualificationSnapshot.version))).scalars().all()
    return list(turns), list(snaps)


async def until(check, what: str, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_turns_and_slots_are_stored_as_they_happen_and_the_end_completes_them(pg_engine):
    sessions, recorder, call_id = await a_call(pg_engine)
    conversations = MemorySessions()
    journal = CallJournal(call_id, recorder, sessions=conversations, clock=lambda: NOW)
    brain = Brain()
    greeting = TurnRecord("agent", "Hi, this is Ava from Lone Star Realty. Are you looking to buy?")
    journal.record(greeting, brain)  # returns at once: the write is the journal's own task

    async def first_turn():
        turns, _ = await stored(sessions, call_id)
        return turns

    [first] = await until(first_turn, "the greeting in the store")
    assert (first.seq, first.speaker, first.started_at, first.first_audio_ms) == (0, "agent", NOW, None)
    # the greeting has played (its latency is complete) and the lead answered
    journal.latency = CallLatency([TurnLatency(vad_stop=1.0, agent_text=1.1, tts_first=1.15, first_audio=1.3,
                                               greeting=True, tts_ms=40)])
    brain.slots, brain.score = {"intent": "buy"}, 0.2
    journal.record(TurnRecord("lead", "we want to buy a house", 0.81), brain)
    reply = TurnRecord("agent", "Great. And when are you hoping to make your move?")
    journal.record(reply, brain)

    async def three_turns_and_latency():
        turns, snaps = await stored(sessions, call_id)
        return len(turns) == 3 and turns[0].first_audio_ms is not None and snaps and (turns, snaps)

    turns, snaps = await until(three_turns_and_latency, "three turns, the greeting's latency and the slots")
    assert turns[0].first_audio_ms == pytest.approx(300.0) and turns[0].tts_ttfb_ms == 40
    assert (turns[1].ended_at, turns[1].confidence) == (NOW, 0.81)
    assert [(s.version, s.slots) for s in snaps] == [(1, {"intent": "buy"})]
    state = await conversations.load(call_id)
    assert [t["text"] for t in state["turns"]] == [t.text for t in (greeting, turns[1], reply)]
    assert state["brain"]["slots"] == {"intent": "buy"} and state["slots"] == {"intent": "buy"}
    # the lead cut the reply short; the call ends
    reply.text, reply.interrupted = "Great. And when", True
    await journal.close()
    latency = CallLatency([TurnLatency(vad_stop=1.0, agent_text=1.1, tts_first=1.15, first_audio=1.3, greeting=True,
                                       tts_ms=40),
                           TurnLatency(vad_stop=5.0, agent_text=5.2, tts_first=5.3, first_audio=5.45, brain_ms=150)])
    await recorder.finish(call_id, status=CallStatus.COMPLETED, outcome="callback",
                          turns=[greeting, TurnRecord("lead", "we want to buy a house", 0.81), reply],
                          latency=latency, slots={"intent": "buy"}, score=0.2, retry=RetryPolicy(), now=NOW)
    turns, snaps = await stored(sessions, call_id)
    assert [(t.seq, t.text, t.interrupted) for t in turns] == [
        (0, greeting.text, False), (1, "we want to buy a house", False), (2, "Great. And when", True)]
    assert turns[2].llm_ttft_ms == 150 and turns[0].started_at == NOW  # a known time is kept
    assert len(snaps) == 1  # the same slots again add no version


async def test_a_journal_the_store_could_not_take_waits_in_the_spool_and_is_stored_once(pg_engine, tmp_path):
    sessions, recorder, call_id = await a_call(pg_engine, SpoolingRecorder, directory=tmp_path, worker="w")
    rows = [TurnRow(0, "agent", "Hi, this is Ava.", started_at=NOW, first_audio_ms=420.0),
            TurnRow(1, "lead", "hello", 0.9, ended_at=NOW + timedelta(seconds=2))]
    line = encode("journal", call_id, {"rows": rows, "slots": {"intent": "sell"}, "score": 0.3})
    op, decoded_call, kwargs = decode(line)
    assert (op, decoded_call, kwargs["rows"]) == ("journal", call_id, rows)
    await recorder._apply(line)
    await recorder._apply(line)  # replayed again (the process died before noting it done)
    turns, snaps = await stored(sessions, call_id)
    assert [(t.seq, t.text, t.first_audio_ms) for t in turns] == [(0, "Hi, this is Ava.", 420.0), (1, "hello", None)]
    assert [s.slots for s in snaps] == [{"intent": "sell"}]


def test_a_spooled_retry_policy_keeps_its_call_back_delay():
    retry = RetryPolicy(dropped=timedelta(minutes=7), cadence=(timedelta(0), timedelta(hours=1)))
    _, _, kwargs = decode(encode("finish", 1, {"retry": retry}))
    assert kwargs["retry"] == retry


async def test_the_embedded_database_takes_turns_twice_without_duplicates(sqlite_engine):
    sessions, recorder, call_id = await a_call(sqlite_engine)
    rows = [TurnRow(0, "agent", "Hi, this is Ava.", started_at=NOW), TurnRow(1, "lead", "hello", 0.9)]
    await recorder.journal(call_id, rows=rows, slots={"intent": "buy"}, score=0.2)
    await recorder.finish(call_id, status=CallStatus.COMPLETED, outcome="callback", now=NOW,
                          turns=[TurnRecord("agent", "Hi, this is Ava."), TurnRecord("lead", "hello there", 0.9)],
                          slots={"intent": "buy"}, score=0.2)
    turns, snaps = await stored(sessions, call_id)
    assert [(t.seq, t.text, t.started_at) for t in turns] == [(0, "Hi, this is Ava.", NOW), (1, "hello there", None)]
    assert len(snaps) == 1
