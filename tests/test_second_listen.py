"""The opt-out safety net: recorded calls heard again after they end (reauto.dialer.second_listen).

Real speech (flite voices) through the telephone's 8 kHz, the real Silero VAD and pocketsphinx
with its thorough search, in the low-priority worker process, against the real PostgreSQL store.
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from reauto.config import SttSettings
from reauto.dialer.second_listen import EVENT, Follower, SecondListen, pending, says_opt_out
from reauto.stt.base import Transcript
from reauto.store.engine import session_factory
from reauto.store.models import (Call, CallEvent, CallStatus, Campaign, DncEntry, DncSource, Lead, LeadStatus,
                                 Outcome)
from reauto.audio.codec import read_wav, resample, write_wav

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
RATE = 8_000  # what a phone call's recording holds


@pytest.mark.unit
def test_an_opt_out_is_read_from_the_best_reading_or_from_two_other_readings_that_agree():
    assert says_opt_out(Transcript("please stop calling me", 0.8, 1.0))
    assert says_opt_out(Transcript("lease top collie me", 0.5, 1.0,
                                   alternatives=("please stop calling me", "please don't call me again")))
    assert not says_opt_out(Transcript("lease top collie me", 0.5, 1.0, alternatives=("please stop calling me",)))
    assert not says_opt_out(Transcript("yes we are looking in the spring", 0.9, 1.0,
                                       alternatives=("yes we are looking in spring",)))


def _speech(text: str, voice: str, tmp: Path) -> np.ndarray:
    out = tmp / f"{uuid.uuid4().hex}.wav"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True, capture_output=True)
    audio = read_wav(out)
    return resample(np.frombuffer(audio.pcm, dtype=np.int16), audio.rate, RATE)


def _recording(path: Path, answers: list[str], voice: str, tmp: Path) -> str:
    """A two-channel call recording: the lead's answers on the left, a second of silence between
    them (the agent speaking on the right)."""
    gap = np.zeros(RATE, dtype=np.int16)
    lead = np.concatenate([gap, *(np.concatenate([_speech(a, voice, tmp), gap]) for a in answers)])
    agent = np.zeros_like(lead)
    agent[: RATE // 2] = (np.sin(np.arange(RATE // 2) * 0.2) * 3000).astype(np.int16)  # the greeting's start
    write_wav(path, np.column_stack([lead, agent]).astype(np.int16).tobytes(), rate=RATE, channels=2)
    return str(path)


async def _call(s, campaign_id: int, phone: str, outcome: Outcome, recording: str | None,
                status: CallStatus = CallStatus.COMPLETED) -> Call:
    lead = Lead(campaign_id=campaign_id, phone_e164=phone, state="TX", status=LeadStatus.CALLBACK,
                next_attempt_at=NOW + timedelta(days=1), attempts=1)
    s.add(lead)
    await s.flush()
    call = Call(lead_id=lead.id, campaign_id=campaign_id, provider="sim", status=status, outcome=outcome, answered_at=NOW,
                ended_at=NOW + timedelta(minutes=1), recorded=recording is not None, recording_path=recording)
    s.add(call)
    await s.flush()
    return call


@pytest.mark.integration
@pytest.mark.slow
async def test_an_opt_out_the_live_call_missed_puts_the_number_on_the_list_and_corrects_the_outcome(
        pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    tag = uuid.uuid4().int % 10_000
    phones = [f"+1737555{(tag + i) % 10_000:04d}" for i in range(4)]
    async with sessions.begin() as s:
        camp = Campaign(name=f"second-listen-{uuid.uuid4().hex[:6]}")
        s.add(camp)
        await s.flush()
        missed = await _call(s, camp.id, phones[0], Outcome.CALLBACK, _recording(
            tmp_path / "missed.wav", ["yes this is jane", "please stop calling me"], "slt", tmp_path))
        clear = await _call(s, camp.id, phones[1], Outcome.BOOKED, _recording(
            tmp_path / "clear.wav", ["yes speaking", "we want to buy a house in the spring",
                                     "tuesday at two works for me"], "rms", tmp_path))
        unrecorded = await _call(s, camp.id, phones[2], Outcome.NOT_INTERESTED, None)
        voicemail = await _call(s, camp.id, phones[3], Outcome.VOICEMAIL, None, status=CallStatus.VOICEMAIL)
        ids = (missed.id, clear.id, unrecorded.id, voicemail.id)
    async with sessions() as s:
        assert sorted(await pending(s, camp.id)) == sorted(ids[:3])  # a voicemail is no person's answer

    listen = SecondListen(sessions, SttSettings(), clock=lambda: NOW + timedelta(minutes=2))
    follower = Follower(listen, camp.id)
    follower.start()  # what is waiting is heard at once
    summary = await follower.finish(within_s=300)
    assert summary == {"heard": 2, "opt_outs_found": 1, "not_heard": 1, "waiting": 0}

    async with sessions() as s:
        calls = {c.id: c for c in (await s.execute(select(Call).where(Call.id.in_(ids)))).scalars()}
        leads = {c.id: await s.get(Lead, calls[c.id].lead_id) for c in calls.values()}
        events = {e.call_id: e.payload for e in (await s.execute(
            select(CallEvent).where(CallEvent.call_id.in_(ids), CallEvent.type == EVENT))).scalars()}
        listed = set((await s.execute(select(DncEntry.phone_e164).where(
            DncEntry.phone_e164.in_(phones), DncEntry.source == DncSource.INTERNAL,
            DncEntry.removed_at.is_(None)))).scalars())
    # the missed opt-out: on the list, the call's outcome and the lead corrected, what was heard kept
    assert listed == {phones[0]}
    assert calls[missed.id].outcome == Outcome.DNC
    assert leads[missed.id].status == LeadStatus.DNC and leads[missed.id].dnc and leads[missed.id].next_attempt_at is None
    assert events[missed.id]["opt_out"] and events[missed.id]["live_outcome"] == "callback"
    assert "stop" in events[missed.id]["said"] and events[missed.id]["at_s"] > 1.0
    # a lead who did not opt out is left as the live call ended
    assert calls[clear.id].outcome == Outcome.BOOKED and leads[clear.id].status == LeadStatus.CALLBACK
    assert events[clear.id] == {"checked": True, "opt_out": False, "utterances": events[clear.id]["utterances"]}
    assert events[clear.id]["utterances"] >= 3
    # not recorded: the live result stands, and the event says so
    assert calls[unrecorded.id].outcome == Outcome.NOT_INTERESTED and not events[unrecorded.id]["checked"]
    assert "not recorded" in events[unrecorded.id]["reason"]
    assert voicemail.id not in events

    # each call is heard again once
    again = SecondListen(sessions, SttSettings(), clock=lambda: NOW)
    assert [h.reason for h in [await again.check(i) for i in ids]] == ["not due"] * 4
    assert await again.run_pending(camp.id) == []


@pytest.mark.integration
async def test_an_unreadable_recording_keeps_the_live_result_and_says_why(pg_engine, tmp_path):
    sessions = session_factory(pg_engine)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    async with sessions.begin() as s:
        camp = Campaign(name=f"second-listen-{uuid.uuid4().hex[:6]}")
        s.add(camp)
        await s.flush()
        call = await _call(s, camp.id, f"+1737556{uuid.uuid4().int % 10_000:04d}", Outcome.CALLBACK, str(broken))
    listen = SecondListen(sessions, SttSettings(), clock=lambda: NOW)
    heard = await listen.check(call.id)
    await listen.close()
    assert not heard.checked and heard.reason.startswith("recording unreadable") and str(broken) in heard.reason
    async with sessions() as s:
        stored = await s.get(Call, call.id)
        assert stored.outcome == Outcome.CALLBACK and await pending(s, camp.id) == []


@pytest.mark.unit
def test_the_thorough_faster_whisper_keeps_its_section_with_a_wider_beam():
    from reauto.dialer.second_listen import thorough_stt

    settings = SttSettings(provider="faster-whisper", fallback="none",
                           faster_whisper={"model": "/srv/whisper", "device": "cuda", "device_index": 1,
                                           "beam_size": 2})
    stt = thorough_stt(settings)
    assert (stt._model_name, stt._device, stt._device_index, stt._beam_size) == ("/srv/whisper", "cuda", 1, 5)
    assert settings.faster_whisper.beam_size == 2  # the live settings are not changed
