"""One call, from the dial to its stored end: place it, run its conversation, store and settle it.

:class:`CallRunner` is the part of the :class:`~reauto.dialer.engine.Dialer` that runs one claimed
lead's call: the telephony places it, the conversation runs on the call's pipeline while its
turns and slot readings are written as they happen (:class:`~reauto.dialer.journal.CallJournal`),
its budget hold is kept ahead of its cost, and at the end :class:`CallRecorder` completes the
stored call and moves the lead on; then the hold is settled at the call's cost.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reauto import metrics
from reauto.agent.inbound import CallerFacts
from reauto.audio.codec import SAMPLE_RATE, write_wav
from reauto.costs.budget import BudgetGuard, Hold
from reauto.costs.meter import CostMeter, LedgerLine
from reauto.costs.pricing import Catalogue
from reauto.dialer.admission import Admission
from reauto.dialer.caller_ids import CallerIdPool, NoCallerId
from reauto.dialer.handover import DETAILS_KEY, extra_leg_s, hand_over, price_leg
from reauto.dialer.inbound import Answering
from reauto.dialer.journal import CallJournal
from reauto.dialer.records import CallRecorder, CampaignPaused
from reauto.dialer.recovery import interrupted_call
from reauto.dialer.results import CallSummary, LiveCall, observe_call, percentile
from reauto.dialer.spool import store_unavailable
from reauto.leads.build import META_KEY
from reauto.sessions import SessionStore
from reauto.store.models import CallStatus, Lead
from reauto.stt.base import STTProvider
from reauto.telephony.base import CallHandle, Telephony
from reauto.tts.base import TTSProvider
from reauto.usage import current_meter
from reauto.voice.conversation import Brain, TurnRecord
from reauto.voice.pipeline import CallOutcome, CallSession

if TYPE_CHECKING:
    from reauto.dialer.engine import BrainFactory, DialerConfig

log = logging.getLogger(__name__)


def posted_at(lead: Lead) -> datetime | None:
    """When a lead that has never been called was posted to the intake (None: not posted, or called)."""
    stamp = (lead.custom or {}).get(META_KEY, {}).get("intake_at") if lead.attempts == 0 else None
    return datetime.fromisoformat(stamp) if stamp else None


#: Longest a dial waits for its opening to be synthesised (then it is synthesised after "hello?").
OPENING_READY_S = 20.0


@dataclass
class LiveSession(CallSession):
    """A call session whose latency the call's journal reads while the call goes on."""

    journal: CallJournal | None = None

    def build(self) -> Any:
        worker, conversation, latency, recorder = super().build()
        if self.journal is not None:
            self.journal.latency = latency.latency
        return worker, conversation, latency, recorder


class CallRunner(ABC):
    """Runs the calls of a :class:`~reauto.dialer.engine.Dialer` (its attributes and the two hooks
    it implements, declared here)."""

    config: DialerConfig
    telephony: Telephony
    stt: STTProvider
    tts: TTSProvider
    brain_factory: BrainFactory
    recorder: CallRecorder
    guard: BudgetGuard | None
    catalogue: Catalogue | None
    live: dict[int, LiveCall]
    summaries: list[CallSummary]
    admission: Admission | None
    overspent: list[tuple[int, Decimal, Decimal]]
    warmers: list[Callable[[], Awaitable[None]]]
    steps: list[str]
    session_store: SessionStore | None
    caller_pool: CallerIdPool | None
    variant_for: Callable[[Lead], str | None] | None
    on_call_end: Callable[[int], None] | None
    store_clock: Callable[[], datetime]
    _variants: dict[int, str | None]
    _calling: dict[int, int]
    _cut_off: asyncio.Event

    @abstractmethod
    def _changed(self) -> None:
        """The live calls changed (the live view redraws)."""

    @abstractmethod
    async def _release(self, lead: Lead, due: datetime | None = None) -> None:
        """Give a claimed lead back untouched (it stays due; from ``due`` when given)."""

    @abstractmethod
    def _store_fails(self, exc: BaseException) -> None:
        """The store could not be reached: no new dials until it answers."""

    async def _call(self, lead: Lead, may_record: bool, hold: Hold | None = None,
                    incoming: Answering | None = None) -> None:
        """One call: placed to ``lead``, or (``incoming``) the call the lead placed, already opened."""
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.phone_e164
        loop = asyncio.get_running_loop()
        intake_at = posted_at(lead) if incoming is None else None
        variant = self.variant_for(lead) if self.variant_for is not None else None
        caller_id: str | None = None
        try:
            if incoming is not None:
                call_id = incoming.call_id
            else:
                call_id, caller_id = await self.recorder.open_dial(
                    lead, provider=self.telephony.name, worker=self.config.worker, prompt_variant=variant,
                    step=lead.cadence_step if self.steps else None, pool=self.caller_pool)
        except Exception as exc:
            if hold is not None and self.guard is not None:
                await self.guard.settle(hold, Decimal(0))  # nothing was spent: the money is free again
            if isinstance(exc, CampaignPaused):  # paused since the claim: the lead is due again on resume
                await self._release(lead)
                return
            if isinstance(exc, NoCallerId):  # every number at its cap: the lead waits for one to free up
                await self._release(lead, due=exc.free_at)
                return
            if not store_unavailable(exc):
                raise
            self._store_fails(exc)  # not dialed; the lead's lease runs out and it is due again
            return
        self._calling[call_id] = lead.id
        self._variants[call_id] = variant
        # the conversation reaches the store and the session turn by turn
        journal = CallJournal(call_id, self.recorder, sessions=self.session_store, clock=self.store_clock)
        speed: dict[str, float] = {}
        live = self.live[call_id] = LiveCall(name, lead.phone_e164, started=loop.time())
        meter = self._meter(live)
        current_meter.set(meter)  # this task's context: every task the call starts reports here
        campaign = self.config.campaign_name
        amd = self.config.amd and incoming is None  # a caller is a person
        if incoming is None:
            metrics.CALLS_PLACED.labels(campaign=campaign).inc()
        metrics.CALLS_ACTIVE.labels(campaign=campaign).inc()
        self._changed()
        warming = asyncio.create_task(self._warm_opening(lead) if incoming is None else asyncio.sleep(0),
                                      name=f"warm-{call_id}")
        # the call's VAD and end-of-turn models load while the phone rings, not after "hello?"
        models = asyncio.ensure_future(asyncio.to_thread(self.config.turn_taking.models))
        watchdog: asyncio.Task[None] | None = None
        person = False  # a person answered: a call that fails from here on counts as abandoned
        keep_session = False
        try:
            # the opening is ready before the number is dialed: on a busy machine its synthesis
            # would otherwise run after "hello?", into the 2 seconds the lead may wait. A lead who
            # just asked to be called is dialed at once: the opening has the ringing to be ready
            if incoming is not None:  # the lead is calling: connect them
                handle = await self.telephony.answer(incoming.call, str(call_id))
            elif intake_at is None:
                await asyncio.wait([warming], timeout=OPENING_READY_S)
            else:  # a posted lead's first call: how fast was the number dialed?
                speed["dial_s"] = round((self.store_clock() - intake_at).total_seconds(), 3)
                metrics.SPEED_TO_LEAD.labels(stage="dial").observe(speed["dial_s"])
            if incoming is None:
                handle = await self.telephony.place_call(
                    to=lead.phone_e164, caller_id=caller_id or self.config.caller_id, call_ref=str(call_id)
                )
            # "unknown": asynchronous answering-machine detection reports during the call; until
            # it says machine, whoever answered is treated as a person (the 2-second rule applies)
            person = handle.transport is not None and handle.answered_by != "machine"
            if not person:
                warming.cancel()
            if handle.transport is None:
                status = CallStatus(handle.status)
                outcome = "no_answer"  # busy and failed keep their own call status
                details = {"speed_to_lead": speed} if speed else {}
                await self.recorder.finish(call_id, status=status, outcome=outcome, retry=self.config.retry,
                                           details=details, inbound=incoming is not None)
                self._summarise(call_id, lead, name, outcome, status.value, None, {}, None, details, meter=meter)
                return
            answered = loop.time()
            if intake_at is not None:
                speed["answered_s"] = round((self.store_clock() - intake_at).total_seconds(), 3)
                metrics.SPEED_TO_LEAD.labels(stage="answered").observe(speed["answered_s"])
            if hold is not None and meter is not None:
                watchdog = asyncio.create_task(self._watch_spend(call_id, hold, meter, handle, answered),
                                               name=f"spend-{call_id}")
            await self.recorder.answered(call_id, handle.sid, handle.answered_by)
            live.stage = "talking"
            self._changed()
            result, brain = await self._converse(lead, handle, may_record, live, models, journal=journal,
                                                 call_id=call_id, caller=incoming.facts if incoming else None)
            person = handle.answered_by != "machine"
            if result.outcome != "transferred":  # a transferred lead talks with the person until one hangs up
                await self.telephony.hang_up(handle)
            details = await self.telephony.finished(handle)
            if DETAILS_KEY in handle.details:
                details = {**details, DETAILS_KEY: handle.details[DETAILS_KEY]}
            if speed:
                details = {**details, "speed_to_lead": speed}
            if watchdog is not None:
                watchdog.cancel()
            if meter is not None:  # billed time: the telephony's own clock when it has one
                seconds = details.get("duration_s") or (loop.time() - answered)
                meter.record_call_time(self.telephony.name, float(seconds), amd=amd)
                price_leg(meter, self.telephony.name, handle)
            recording = self._save_recording(call_id, result) if may_record else None
            if result.recording_declined_s is not None:  # every export says so
                details = {**details, "recording": "declined",
                           "recording_declined_s": round(result.recording_declined_s, 2),
                           "recording_kept": recording is not None}
            outcome = result.outcome or ("voicemail" if handle.answered_by == "machine" else "callback")
            # the media connection was lost mid-conversation, or the shutdown grace ran out before
            # the conversation ended: call back soon and resume it
            cut_off_by_shutdown = self._cut_off.is_set() and result.outcome is None
            if cut_off_by_shutdown:
                details = {**details, "ended_by": "shutdown"}
            dropped = (bool(details.get("media_dropped")) or cut_off_by_shutdown) and person and result.outcome is None
            keep_session = dropped
            settle = getattr(brain, "settle", None)
            if settle is not None:  # what the LLM is still reading goes into the slots
                await settle()
            slots = dict(getattr(brain, "slots", {}) or {})
            score = getattr(brain, "score", None)
            # measured at the far end when the telephony can (what the lead waited), else by us
            greeting_ms = details.get("hello_to_first_audio_ms") or result.latency.hello_to_first_audio_ms
            # the abandoned-call rule is about calls placed to leads, not calls they place
            abandoned = ((greeting_ms is None or greeting_ms > self.config.abandon_after_s * 1000)
                         if person and incoming is None else None)
            if person and greeting_ms is None and self.admission is not None and incoming is None:
                self.admission.greeting(None)  # a person answered and never heard the agent
            await journal.close()  # what is still being written lands before the call's end
            await self.recorder.finish(
                call_id, status=CallStatus.VOICEMAIL if handle.answered_by == "machine" else CallStatus.COMPLETED,
                outcome=outcome, turns=result.turns, latency=result.latency, slots=slots, score=score,
                recording_path=recording, retry=self.config.retry, details=details, abandoned=abandoned,
                costs=meter.lines if meter is not None else (), dropped=dropped,
                recording_declined_s=result.recording_declined_s, inbound=incoming is not None,
            )
            self._summarise(call_id, lead, name, outcome, "completed", result, slots, score, details,
                            recorded=recording is not None, greeting_ms=greeting_ms, meter=meter)
        except Exception as exc:
            log.exception("call %s to lead %s failed", call_id, lead.id)
            await journal.close()
            await self.recorder.finish(call_id, status=CallStatus.FAILED, outcome="callback",
                                       retry=self.config.retry, details={"error": str(exc)},
                                       abandoned=True if person and incoming is None else None,
                                       costs=meter.lines if meter is not None else (), inbound=incoming is not None)
            self._summarise(call_id, lead, name, "callback", "failed", None, {}, None, {"error": str(exc)},
                            meter=meter)
        finally:
            if self.admission is not None:
                self.admission.call_ended()
            metrics.CALLS_ACTIVE.labels(campaign=campaign).dec()
            warming.cancel()
            models.cancel()
            if watchdog is not None:
                watchdog.cancel()
            if hold is not None and self.guard is not None:
                spent = meter.total if meter is not None else Decimal(0)
                if spent > hold.amount:
                    self.overspent.append((call_id, spent, hold.amount))
                    log.error("call %s spent $%s, more than the $%s held", call_id, spent, hold.amount)
                await self.guard.settle(hold, spent)
            self.live.pop(call_id, None)
            self._calling.pop(call_id, None)
            self._changed()
            await journal.close()
            if not keep_session:  # a dropped call's conversation is resumed by the call-back
                await self._end_session(call_id)
            cut_off = interrupted_call(lead)
            if cut_off is not None:  # the conversation it continued is over too
                await self._end_session(cut_off)
            if self.on_call_end is not None:
                self.on_call_end(call_id)

    async def _resume(self, lead: Lead, brain: Brain, answered_by: str) -> None:
        """A lead whose last call was cut off: continue that conversation where it stood."""
        cut_off = interrupted_call(lead)
        restore = getattr(brain, "restore", None)
        if cut_off is None or self.session_store is None or restore is None or answered_by == "machine":
            return
        try:
            state = await self.session_store.load(cut_off)
        except Exception as exc:  # noqa: BLE001 - start the conversation afresh
            log.warning("lead %s: session of call %s unreadable (%s); starting afresh", lead.id, cut_off, exc)
            return
        if state and state.get("brain"):
            restore(state["brain"])
            brain.resume()  # type: ignore[attr-defined]
            log.info("lead %s: resuming the conversation of call %s", lead.id, cut_off)

    async def _end_session(self, call_id: int) -> None:
        if self.session_store is None:
            return
        try:
            await self.session_store.delete(call_id)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            log.warning("call %s: session not deleted (%s); it expires by itself", call_id, exc)

    def _meter(self, live: LiveCall) -> CostMeter | None:
        if self.catalogue is None:
            return None

        def on_line(line: LedgerLine) -> None:
            live.cost = max(live.cost, float(meter.total))
            metrics.COST.labels(campaign=self.config.campaign_name, component=line.component).inc(float(line.amount))
            self._changed()

        meter = CostMeter(self.catalogue, on_line=on_line)
        return meter

    async def _watch_spend(self, call_id: int, hold: Hold, meter: CostMeter, handle: CallHandle,
                           answered: float, every_s: float = 1.0, lookahead_s: float = 15.0) -> None:
        """Keep the call's hold ahead of its cost; end the call when a budget cannot cover more."""
        assert self.guard is not None and self.catalogue is not None
        provider = self.telephony.name
        per_min = (self.catalogue.price("telephony", provider).unit_price
                   + self.catalogue.price("media_stream", provider).unit_price)
        amd = self.catalogue.price("amd", provider).unit_price if self.config.amd else Decimal(0)
        speed = float(getattr(self.telephony, "speed", 1.0))  # a simulated clock may run faster
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every_s)
            elapsed = (loop.time() - answered) * speed
            person_s = extra_leg_s(handle, loop.time(), speed)  # a hand-over's second leg costs too
            live = self.live.get(call_id)
            if live is not None:  # the running total: what is metered plus the minutes begun so far
                live.cost = float(meter.total + max(1, math.ceil(elapsed / 60)) * per_min + amd)
                self._changed()
            minutes = math.ceil((elapsed + lookahead_s) / 60)
            projected = meter.total + minutes * per_min + amd
            if person_s:
                projected += math.ceil((person_s + lookahead_s) / 60) * self.catalogue.price(
                    "telephony", provider).unit_price
            if projected <= hold.amount:
                continue
            step = max(projected - hold.amount, per_min * Decimal(str(self.config.top_up_min)))
            if await self.guard.top_up(hold, step):
                continue
            log.warning("call %s: the budget cannot cover another minute; ending the call", call_id)
            await self.telephony.hang_up(handle)
            return

    async def _warm_opening(self, lead: Lead) -> None:
        """While the phone rings: synthesise the opening (so "hello?" is answered from cache) and
        wake the other providers (the LLM loads its model if it was unloaded)."""
        async def opening() -> None:
            warm = getattr(self.tts, "warm", None)
            if warm is not None:
                brain = self.brain_factory(lead, "human")
                await self._resume(lead, brain, "human")  # a call cut off opens with "we got cut off …"
                await warm([brain.opening().text])

        for result in await asyncio.gather(opening(), *(w() for w in self.warmers), return_exceptions=True):
            if isinstance(result, Exception):  # the call itself does the work again
                log.warning("could not prepare lead %s's call while it rang: %s", lead.id, result)

    async def _converse(
        self, lead: Lead, handle: CallHandle, may_record: bool, live: LiveCall,
        models: asyncio.Future[Any] | None = None, *, journal: CallJournal | None = None, call_id: int = 0,
        caller: CallerFacts | None = None,
    ) -> tuple[CallOutcome, Brain]:
        brain = self.brain_factory(lead, handle.answered_by)
        handing_over: list[asyncio.Task[Any]] = []

        def on_transfer(since_request_s: float | None) -> None:  # the brain hands the lead over: dial now
            def stage(name: str) -> None:
                live.stage = name
                self._changed()

            if self.config.transfer is None:
                handing_over.append(asyncio.ensure_future(session.transfer_result(
                    bridged=False, reason="the campaign has no person to transfer to")))
                return
            handing_over.append(asyncio.create_task(hand_over(
                call_id=call_id, handle=handle, telephony=self.telephony, settings=self.config.transfer,
                caller_id=self.config.caller_id, brain=brain, session=session, recorder=self.recorder,
                campaign=self.config.campaign_name, on_stage=stage, since_request_s=since_request_s),
                name=f"transfer-{call_id}"))
        meter = current_meter.get()
        if meter is not None:  # the voice tier rule reads the lead's score as the call goes
            meter.lead_score = lambda: float(getattr(brain, "score", 0.0) or 0.0)

        def on_turn(turn: TurnRecord) -> None:
            live.turns += 1
            live.last_text = f"{turn.speaker}: {turn.text}"
            live.stage = "agent speaking" if turn.speaker == "agent" else "lead spoke"
            self._changed()
            if journal is not None:
                journal.record(turn, brain)

        def greeted(seconds: float | None) -> None:
            if self.admission is not None:
                self.admission.greeting(seconds)
            if journal is not None:
                journal.played()

        assert handle.transport is not None
        line_ends, line_watch = self._line_ends(getattr(handle.far_end, "hung_up", None))
        session = LiveSession(
            handle.transport, self.stt, self.tts, brain,
            turn_taking=self.config.turn_taking,
            record=may_record,
            keep_until_objection=self.config.keep_until_objection,
            on_agent_text=handle.on_agent_text,
            on_turn=on_turn,
            greet_on_first_words=handle.answered_by != "machine" and caller is None,
            speaks_first=caller is not None,  # the lead called: they wait for the agent's greeting
            timeout_s=self.config.call_timeout_s,
            hung_up=line_ends,
            journal=journal,
            on_stt_timing=(lambda t: self.admission.recognition(t.elapsed_ms / 1000)) if self.admission else None,
            on_greeting=greeted,
            on_transfer=on_transfer,
        )
        if models is not None:
            session.use_models(await models)
        call_in = getattr(brain, "call_in", None)
        if caller is not None and call_in is not None:
            await call_in(caller)  # greeted as a caller; the call goes on from what the store knows
        else:
            await self._resume(lead, brain, handle.answered_by)
        if getattr(brain, "recording_declined", False):  # declined on the call this one continues
            session.record = False
        detected = getattr(self.telephony, "amd_result", None)
        amd = detected(handle) if detected is not None and caller is None else None
        watcher = (asyncio.create_task(self._follow_amd(amd, lead, handle, session, live), name="amd")
                   if amd is not None else None)
        try:
            return await session.run(), brain
        finally:
            for task in handing_over:  # the lead hung up, or the call ended, while it rang
                task.cancel()
            line_watch.cancel()
            if watcher is not None:
                watcher.cancel()

    def _line_ends(self, far_end: asyncio.Event | None) -> tuple[asyncio.Event, asyncio.Future[None]]:
        """An event set when the far end hangs up or the shutdown grace runs out (the call ends)."""
        ends = asyncio.Event()
        waits = [self._cut_off.wait(), *([far_end.wait()] if far_end is not None else [])]

        async def watch() -> None:
            pending = [asyncio.ensure_future(w) for w in waits]
            try:
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                ends.set()
            finally:
                for task in pending:
                    task.cancel()

        return ends, asyncio.ensure_future(watch())

    async def _follow_amd(self, amd: asyncio.Future[str], lead: Lead, handle: CallHandle, session: CallSession,
                          live: LiveCall) -> None:
        """Answering-machine detection reported during the call: a machine gets the voicemail."""
        handle.answered_by = await asyncio.shield(amd)
        if handle.answered_by != "machine":
            return
        live.stage = "voicemail"
        self._changed()
        await session.switch_brain(self.brain_factory(lead, "machine"), "answering machine detected")

    def _save_recording(self, call_id: int, result: CallOutcome) -> str | None:
        if self.config.recordings_dir is None or not result.recording:
            return None
        path = self.config.recordings_dir / f"call-{call_id}.wav"
        write_wav(path, result.recording, rate=result.recording_rate or SAMPLE_RATE, channels=2)
        return str(path)

    def _summarise(
        self, call_id: int, lead: Lead, name: str, outcome: str, status: str,
        result: CallOutcome | None, slots: dict[str, Any], score: float | None,
        details: dict[str, Any], *, recorded: bool = False, greeting_ms: float | None = None,
        meter: CostMeter | None = None,
    ) -> None:
        metrics.CALLS_COMPLETED.labels(campaign=self.config.campaign_name, outcome=outcome, status=status,
                                       variant=self._variants.pop(call_id, None) or "default").inc()
        if result is not None:
            observe_call(result, greeting_ms, self.config.turn_taking.vad_stop_s)
        firsts = [t.first_audio_ms for t in result.latency.completed()] if result else []
        overheads = [t.overhead_ms for t in result.latency.completed()] if result else []
        values = [v for v in firsts if v is not None]
        over = [v for v in overheads if v is not None]
        self.summaries.append(CallSummary(
            call_id=call_id, lead_id=lead.id, lead_name=name, phone=lead.phone_e164, outcome=outcome,
            status=status, slots=slots, score=score,
            turns=len(result.turns) if result else 0,
            first_audio_p50_ms=statistics.median(values) if values else None,
            first_audio_p95_ms=percentile(values, 95),
            hello_to_first_audio_ms=greeting_ms,
            overhead_p95_ms=percentile(over, 95),
            cost_usd=float(meter.total) if meter is not None else 0.0,
            recorded=recorded,
            details=details,
        ))

