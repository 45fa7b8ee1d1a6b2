"""The opt-out safety net: each recorded call's lead side heard again after the call.

A live call hears each answer once, within a few hundred milliseconds, with a search pruned
for speed (:data:`reauto.stt.pocketsphinx.SEARCH`); an opt-out misheard there would be lost, and
the FCC makes an opt-out by any reasonable means binding. After the call, off the live path, the
lead's channel of the recording is cut into utterances (Silero VAD,
:func:`reauto.voice.utterances.speech_spans`) and each is decoded again with the thorough search
(:data:`reauto.stt.pocketsphinx.THOROUGH`: wider beams and the second pass) and the campaign's
models, and read for an opt-out as the agent reads a live answer: the best reading, or two of
its other readings, say so (:func:`reauto.agent.intents.intents_of`).

The work runs in a process of its own at a low CPU priority (``nice`` 10) while calls may be live:
they are served first, and a decode never holds the dialer's event loop. Once a dialer's calls
are over, what is left is heard at normal priority.

An opt-out found puts the number on the internal do-not-call list, makes the call's outcome
``dnc`` (every export says so) and the lead's status DNC, and leaves a ``second_listen`` event
with what was heard and the live outcome it replaced. A call that was not recorded (no consent)
keeps its live result, and its event says it could not be heard again. Every call answered by a
person gets exactly one ``second_listen`` event: :func:`pending` finds the ones still without one
(a dialer that stopped before it heard them again), so none is skipped after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import metrics
from reauto.agent.intents import intents_of
from reauto.config import SttSettings
from reauto.dialer.records import add_internal_dnc
from reauto.errors import UsageError
from reauto.stt.base import STTProvider, Transcript
from reauto.store.models import Call, CallEvent, CallStatus, Lead, LeadStatus, Outcome

log = logging.getLogger(__name__)

EVENT = "second_listen"
#: Other readings of an utterance that must agree on an opt-out when the best one does not say it.
AGREEING_READINGS = 2
#: Readings of each utterance read for an opt-out (the best one and its n-best list).
READINGS = 6
#: Longest a dialer that ends waits for its calls to be heard again (the next dialer hears the rest).
DRAIN_S = 600.0
#: The worker process's CPU priority while calls may be live (Unix ``nice``): below every live call,
#: yet not starved by other busy processes (19 would be: a machine kept busy by other work gives it
#: under 1% of a core). A dialer that has ended its calls hears the rest at normal priority.
NICE = 10


@dataclass(frozen=True)
class Heard:
    """What a second listen found on one call."""

    call_id: int
    checked: bool  # the lead's side was heard again (False: not recorded, or unreadable)
    opt_out: bool = False
    utterances: int = 0
    said: str | None = None  # the utterance that opted out
    at_s: float | None = None  # where it starts in the recording
    reason: str | None = None  # why it was not heard again


def thorough_stt(settings: SttSettings) -> STTProvider:
    """The configured recogniser with its most accurate settings (time is no concern here)."""
    if settings.provider == "faster-whisper":
        from reauto.stt.factory import create_stt

        own = settings.faster_whisper
        thorough = own.model_copy(update={"beam_size": max(5, own.beam_size)})
        return create_stt(settings.model_copy(update={"faster_whisper": thorough}))
    from reauto.stt.pocketsphinx import THOROUGH, PocketSphinxSTT

    return PocketSphinxSTT(vocabulary_bias=settings.vocabulary_bias, domain_weight=settings.domain_weight,
                           noise_removal=settings.noise_removal, search=THOROUGH)


def says_opt_out(transcript: Transcript) -> bool:
    """Whether an utterance opts out: its best reading says so, or two other readings agree."""
    if "dnc" in intents_of(transcript.text):
        return True
    agreeing = sum("dnc" in intents_of(a) for a in transcript.alternatives[:READINGS])
    return agreeing >= AGREEING_READINGS


def lead_side(path: Path) -> bytes:
    """The lead's channel of a call recording as 16 kHz PCM16.

    Raises:
        UsageError: the recording is missing or malformed.
    """
    from reauto.audio.codec import split_channels, to_internal

    lead, _agent, rate = split_channels(path)
    return to_internal(lead, rate)


async def pending(s: AsyncSession, campaign_id: int | None = None, limit: int | None = None) -> list[int]:
    """Calls answered by a person, not ended as opt-outs, that have not been heard again, oldest first."""
    done = select(CallEvent.call_id).where(CallEvent.type == EVENT)
    query = (select(Call.id).where(Call.status == CallStatus.COMPLETED, Call.outcome.is_not(None),
                                   Call.outcome != Outcome.DNC, Call.id.not_in(done))
             .order_by(Call.id))
    if campaign_id is not None:
        query = query.where(Call.campaign_id == campaign_id)
    if limit is not None:
        query = query.limit(limit)
    return list((await s.execute(query)).scalars())


class SecondListen:
    """Hears recorded calls again, one at a time in a low-priority process, and acts on an opt-out found.

    Args:
        sessions: the store.
        stt: the recogniser settings (:func:`thorough_stt` builds it in the worker process).
        clock: the store's clock (the do-not-call entry and the event are stamped with it).
        vocabulary: the campaign's words, for the recogniser's bias.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], stt: SttSettings, *,
                 clock: Callable[[], datetime], vocabulary: Sequence[str] = ()) -> None:
        self.sessions = sessions
        self.settings = stt
        self.clock = clock
        self.vocabulary = list(vocabulary)
        self._pool: ProcessPoolExecutor | None = None
        self._nice = True  # the worker runs below the live calls (until :meth:`hurry`)
        self._lock = asyncio.Lock()  # one call at a time

    async def hurry(self) -> None:
        """No call is live any more: hear what is left at normal priority. A low-priority worker is
        stopped (a check it was running fails and stays pending, to be heard again at once)."""
        self._nice = False
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):  # a worker busy at nice 10
                process.terminate()
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def close(self) -> None:
        """Stop the worker process."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def check(self, call_id: int) -> Heard:
        """Hear one call again (once: a call already heard again, or ended as an opt-out, is left alone)."""
        async with self._lock:
            async with self.sessions() as s:
                call = await s.get(Call, call_id)
                if call is None or not await _due(s, call_id):
                    return Heard(call_id, checked=False, reason="not due")
                path = call.recording_path if call.recorded else None
            if path is None:
                heard = Heard(call_id, checked=False, reason="not recorded: the live result stands")
            else:
                try:
                    heard = await self._hear(call_id, Path(path))
                except UsageError as exc:
                    heard = Heard(call_id, checked=False, reason=f"recording unreadable: {exc}")
            await self._store(heard)
        result = "opt_out" if heard.opt_out else "clear" if heard.checked else "not_heard"
        metrics.SECOND_LISTEN.labels(result=result).inc()
        if heard.opt_out:
            log.warning("call %s: an opt-out the live call missed was heard in its recording: the number is on "
                        "the do-not-call list", call_id)
        elif not heard.checked:
            log.info("call %s not heard again: %s", call_id, heard.reason)
        return heard

    async def run_pending(self, campaign_id: int | None = None, limit: int | None = None) -> list[Heard]:
        """Hear again every call still waiting for it (after a restart, or from ``reauto calls recheck``)."""
        async with self.sessions() as s:
            calls = await pending(s, campaign_id, limit)
        return [await self.check(call_id) for call_id in calls]

    async def _hear(self, call_id: int, path: Path) -> Heard:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_low_priority if self._nice else _worker_start)
        loop = asyncio.get_running_loop()
        try:
            utterances, said, at_s = await loop.run_in_executor(
                self._pool, hear_file, str(path), self.settings.model_dump(), tuple(self.vocabulary))
        except BrokenProcessPool:
            # the worker died (out of memory, killed, or stopped by hurry): the next check starts a new one
            self._pool = None
            raise
        return Heard(call_id, checked=True, opt_out=said is not None, utterances=utterances, said=said, at_s=at_s)

    async def _store(self, heard: Heard) -> None:
        now = self.clock()
        async with self.sessions.begin() as s:
            call = await s.get(Call, heard.call_id, with_for_update=True)
            assert call is not None
            payload: dict[str, Any] = {"checked": heard.checked, "opt_out": heard.opt_out,
                                       "utterances": heard.utterances}
            if heard.reason:
                payload["reason"] = heard.reason
            if heard.opt_out:
                payload |= {"said": heard.said, "at_s": heard.at_s,
                            "live_outcome": call.outcome.value if call.outcome else None}
                call.outcome = Outcome.DNC
                lead = await s.get(Lead, call.lead_id, with_for_update=True)
                assert lead is not None
                lead.status, lead.dnc, lead.next_attempt_at = LeadStatus.DNC, True, None
                await add_internal_dnc(s, lead.phone_e164, "opt-out heard again in the call's recording", now,
                                      campaign_id=lead.campaign_id)
            s.add(CallEvent(call_id=heard.call_id, type=EVENT, ts=now, payload=payload))


class Follower:
    """Hears a dialer's calls again as they end: each call once its records are stored, and on
    start the ones a dialer that stopped left waiting.

    Args:
        listen: what hears them.
        campaign_id: the dialer's campaign.
    """

    def __init__(self, listen: SecondListen, campaign_id: int) -> None:
        self.listen = listen
        self.campaign_id = campaign_id
        self.heard: list[Heard] = []
        self._due = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._due.set()  # what an earlier dialer left first
        self._task = asyncio.create_task(self._run(), name="second-listen")

    def call_ended(self, call_id: int) -> None:  # noqa: ARG002 - any stored call may be due now
        """A call's records are stored: it may be heard again."""
        self._due.set()

    async def finish(self, within_s: float = DRAIN_S) -> dict[str, Any]:
        """Hear what is still waiting (up to ``within_s``), stop, and say what was heard; a call
        left waiting is heard by the next dialer of the campaign, or ``reauto calls recheck``."""
        if self._task is not None:
            await self.listen.hurry()  # the calls are over: nothing to yield the CPU to
            self._due.set()
            self._idle.clear()
            try:
                await asyncio.wait_for(self._idle.wait(), within_s)
            except TimeoutError:
                log.warning("calls still waiting to be heard again after %.0f s: the next dialer hears them", within_s)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.listen.close()
        try:
            async with self.listen.sessions() as s:
                waiting = len(await pending(s, self.campaign_id))
        except Exception:  # noqa: BLE001 - the store is away: unknown
            waiting = None
        return {"heard": sum(h.checked for h in self.heard), "opt_outs_found": sum(h.opt_out for h in self.heard),
                "not_heard": sum(not h.checked and h.reason != "not due" for h in self.heard), "waiting": waiting}

    async def _run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            try:
                self.heard += await self.listen.run_pending(self.campaign_id)
            except Exception as exc:  # noqa: BLE001 - the calls stay pending: the next round hears them
                log.warning("hearing calls again failed: %s: %s", type(exc).__name__, exc)
            if not self._due.is_set():
                self._idle.set()


async def _due(s: AsyncSession, call_id: int) -> bool:
    call = await s.get(Call, call_id)
    if call is None or call.status != CallStatus.COMPLETED or call.outcome in (None, Outcome.DNC):
        return False
    done = await s.execute(select(CallEvent.id).where(CallEvent.call_id == call_id, CallEvent.type == EVENT).limit(1))
    return done.first() is None


# --- the worker process -------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}  # the worker process's event loop and recogniser, kept between calls


def _worker_start() -> None:
    from reauto.runtime import exit_with_parent

    exit_with_parent()  # a dialer that dies takes its worker with it


def _low_priority() -> None:
    _worker_start()
    try:
        os.nice(NICE - os.nice(0))
    except OSError:  # not permitted here: the work still runs
        pass


def hear_file(path: str, settings: dict[str, Any], vocabulary: tuple[str, ...]) -> tuple[int, str | None, float | None]:
    """In the worker process: the lead side of ``path`` cut into utterances and decoded again;
    returns (utterances, the one that opts out or None, where it starts in seconds)."""
    from reauto.audio.codec import SAMPLE_RATE, SAMPLE_WIDTH
    from reauto.voice.utterances import speech_spans

    loop = _WORKER.get("loop") or _WORKER.setdefault("loop", asyncio.new_event_loop())
    key = (repr(sorted(settings.items())), vocabulary)
    if _WORKER.get("key") != key:
        stt = thorough_stt(SttSettings.model_validate(settings))
        stt.set_vocabulary(list(vocabulary))
        loop.run_until_complete(stt.start())
        _WORKER.update(key=key, stt=stt)
    stt = _WORKER["stt"]
    pcm = lead_side(Path(path))
    spans = speech_spans(pcm)
    per_s = SAMPLE_RATE * SAMPLE_WIDTH
    for start, end in spans:
        piece = pcm[int(start * per_s) // 2 * 2:int(end * per_s) // 2 * 2]
        transcript = loop.run_until_complete(stt.transcribe(piece))
        if says_opt_out(transcript):
            return len(spans), transcript.text, round(start, 2)
    return len(spans), None, None
