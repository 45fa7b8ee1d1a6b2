"""One call, from the dial to its stored end: place it, run its conversation, store and settle it.

:class:`CallRunner` is the part of the :class:`~reauto.dialer.engine.Dialer` that runs one claimed
lead's call: the telephony places it, the conversation runs on the call's pipeline
(:class:`~reauto.dialer.conversing.Conversing`) while its turns and slot readings are written as
they happen (:class:`~reauto.dialer.journal.CallJournal`), its budget hold is kept ahead of its
cost, and at the end :class:`CallRecorder` completes the stored call and moves the lead on; then
the hold is settled at the call's cost.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from reauto import metrics
from reauto.agent.inbound import CallerFacts
from reauto.audio.codec import SAMPLE_RATE, write_wav
from reauto.costs.budget import BudgetGuard, Hold
from reauto.costs.meter import CostMeter, LedgerLine
from reauto.costs.pricing import Catalogue
from reauto.dialer.caller_ids import CallerIdPool, NoCallerId
from reauto.dialer.conversing import Conversing
from reauto.dialer.handover import DETAILS_KEY, extra_leg_s, price_leg
from reauto.dialer.inbound import Answering
from reauto.dialer.journal import CallJournal
from reauto.dialer.records import CampaignPaused
from reauto.dialer.recovery import interrupted_call
from reauto.dialer.results import CallSummary, LiveCall, observe_call, percentile
from reauto.dialer.spool import store_unavailable
from reauto.leads.build import META_KEY
from reauto.store.models import CallStatus, Lead
from reauto.telephony.base import CallHandle
from reauto.usage import current_meter
from reauto.voice.conversation import Brain
from reauto.voice.pipeline import CallOutcome

log = logging.getLogger(__name__)


def posted_at(lead: Lead) -> datetime | None:
    """When a lead that has never been called was posted to the intake (None: not posted, or called)."""
    stamp = (lead.custom or {}).get(META_KEY, {}).get("intake_at") if lead.attempts == 0 else None
    return datetime.fromisoformat(stamp) if stamp else None


#: Longest a dial waits for its opening to be synthesised (then it is synthesised after "hello?").
OPENING_READY_S = 20.0


@dataclass
class _Dial:
    """One call's state while :meth:`CallRunner._call` runs it."""

    lead: Lead
    call_id: int
    name: str
    hold: Hold | None
    incoming: Answering | None  # the call the lead placed (None: we placed it)
    caller_id: str | None  # the number a placed call goes out with (None: the campaign's)
    intake_at: datetime | None  # when a lead never called yet was posted
    journal: CallJournal
    live: LiveCall
    meter: CostMeter | None
    warming: asyncio.Task[None]
    models: asyncio.Future[Any]
    speed: dict[str, float] = field(default_factory=dict)  # speed to lead, seconds (a posted lead)
    watchdog: asyncio.Task[None] | None = None
    person: bool = False  # a person answered: a call that fails from here on counts as abandoned
    keep_session: bool = False  # a dropped call: the call-back resumes its conversation


class CallRunner(Conversing):
    """Runs the calls of a :class:`~reauto.dialer.engine.Dialer` (its attributes and the hooks it
    implements, declared here and by :class:`~reauto.dialer.conversing.Conversing`)."""

    guard: BudgetGuard | None
    catalogue: Catalogue | None
    live: dict[int, LiveCall]
    summaries: list[CallSummary]
    overspent: list[tuple[int, Decimal, Decimal]]
    steps: list[str]
    caller_pool: CallerIdPool | None
    variant_for: Callable[[Lead], str | None] | None
    on_call_end: Callable[[int], None] | None
    store_clock: Callable[[], datetime]
    _variants: dict[int, str | None]
    _calling: dict[int, int]

    @abstractmethod
    async def _release(self, lead: Lead, due: datetime | None = None) -> None:
        """Give a claimed lead back untouched (it stays due; from ``due`` when given)."""

    @abstractmethod
    def _store_fails(self, exc: BaseException) -> None:
        """The store could not be reached: no new dials until it answers."""

    async def _call(self, lead: Lead, may_record: bool, hold: Hold | None = None,
                    incoming: Answering | None = None) -> None:
        """One call: placed to ``lead``, or (``incoming``) the call the lead placed, already opened."""
        variant = self.variant_for(lead) if self.variant_for is not None else None
        intake_at = posted_at(lead) if incoming is None else None
        opened = await self._open(lead, hold, incoming, variant)
        if opened is None:
            return
        call = self._begin(lead, hold, incoming, variant, intake_at, *opened)
        try:
            await self._run(call, may_record)
        except Exception as exc:
            log.exception("call %s to lead %s failed", call.call_id, lead.id)
            await self._failed(call, exc)
        finally:
            await self._wind_up(call)

    async def _open(self, lead: Lead, hold: Hold | None, incoming: Answering | None,
                    variant: str | None) -> tuple[int, str | None] | None:
        """The stored call (its id, and the caller ID a placed call goes out with); None when the
        lead is not dialed now (paused, no caller ID free, the store away: the hold is settled)."""
        try:
            if incoming is not None:
                return incoming.call_id, None
            return await self.recorder.open_dial(
                lead, provider=self.telephony.name, worker=self.config.worker, prompt_variant=variant,
                step=lead.cadence_step if self.steps else None, pool=self.caller_pool)
        except Exception as exc:
            if hold is not None and self.guard is not None:
                await self.guard.settle(hold, Decimal(0))  # nothing was spent: the money is free again
            if isinstance(exc, CampaignPaused):  # paused since the claim: the lead is due again on resume
                await self._release(lead)
                return None
            if isinstance(exc, NoCallerId):  # every number at its cap: the lead waits for one to free up
                await self._release(lead, due=exc.free_at)
                return None
            if not store_unavailable(exc):
                raise
            self._store_fails(exc)  # not dialed; the lead's lease runs out and it is due again
            return None

    def _begin(self, lead: Lead, hold: Hold | None, incoming: Answering | None, variant: str | None,
               intake_at: datetime | None, call_id: int, caller_id: str | None) -> _Dial:
        """The call's state once it is stored: its journal, live row, meter and metrics, and the
        opening and the turn-taking models made ready while the phone rings."""
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.phone_e164
        self._calling[call_id] = lead.id
        self._variants[call_id] = variant
        live = self.live[call_id] = LiveCall(name, lead.phone_e164, started=asyncio.get_running_loop().time())
        meter = self._meter(live)
        current_meter.set(meter)  # this task's context: every task the call starts reports here
        if incoming is None:
            metrics.CALLS_PLACED.labels(campaign=self.config.campaign_name).inc()
        metrics.CALLS_ACTIVE.labels(campaign=self.config.campaign_name).inc()
        self._changed()
        return _Dial(
            lead=lead, call_id=call_id, name=name, hold=hold, incoming=incoming, caller_id=caller_id,
            intake_at=intake_at,
            # the conversation reaches the store and the session turn by turn
            journal=CallJournal(call_id, self.recorder, sessions=self.session_store, clock=self.store_clock),
            live=live, meter=meter,
            warming=asyncio.create_task(self._warm_opening(lead) if incoming is None else asyncio.sleep(0),
                                        name=f"warm-{call_id}"),
            # the call's VAD and end-of-turn models load while the phone rings, not after "hello?"
            models=asyncio.ensure_future(asyncio.to_thread(self.config.turn_taking.models)),
        )

    async def _run(self, call: _Dial, may_record: bool) -> None:
        """Connect the call, run its conversation when a line opened, and store how it ended."""
        handle = await self._connect(call)
        # "unknown": asynchronous answering-machine detection reports during the call; until
        # it says machine, whoever answered is treated as a person (the 2-second rule applies)
        call.person = handle.transport is not None and handle.answered_by != "machine"
        if not call.person:
            call.warming.cancel()
        if handle.transport is None:
            await self._unanswered(call, handle)
            return
        answered = asyncio.get_running_loop().time()
        if call.intake_at is not None:
            call.speed["answered_s"] = round((self.store_clock() - call.intake_at).total_seconds(), 3)
            metrics.SPEED_TO_LEAD.labels(stage="answered").observe(call.speed["answered_s"])
        if call.hold is not None and call.meter is not None:
            call.watchdog = asyncio.create_task(
                self._watch_spend(call.call_id, call.hold, call.meter, handle, answered), name=f"spend-{call.call_id}")
        await self.recorder.answered(call.call_id, handle.sid, handle.answered_by)
        call.live.stage = "talking"
        self._changed()
        result, brain = await self._converse(call.lead, handle, may_record, call.live, call.models,
                                             journal=call.journal, call_id=call.call_id,
                                             caller=call.incoming.facts if call.incoming else None)
        call.person = handle.answered_by != "machine"
        if result.outcome != "transferred":  # a transferred lead talks with the person until one hangs up
            await self.telephony.hang_up(handle)
        details = await self._line_details(call, handle, answered)
        await self._finish_answered(call, handle, result, brain, details, may_record)

    async def _connect(self, call: _Dial) -> CallHandle:
        """Answer the lead's call, or place ours once its opening is ready."""
        # the opening is ready before the number is dialed: on a busy machine its synthesis
        # would otherwise run after "hello?", into the 2 seconds the lead may wait. A lead who
        # just asked to be called is dialed at once: the opening has the ringing to be ready
        if call.incoming is not None:  # the lead is calling: connect them
            return await self.telephony.answer(call.incoming.call, str(call.call_id))
        if call.intake_at is None:
            await asyncio.wait([call.warming], timeout=OPENING_READY_S)
        else:  # a posted lead's first call: how fast was the number dialed?
            call.speed["dial_s"] = round((self.store_clock() - call.intake_at).total_seconds(), 3)
            metrics.SPEED_TO_LEAD.labels(stage="dial").observe(call.speed["dial_s"])
        return await self.telephony.place_call(
            to=call.lead.phone_e164, caller_id=call.caller_id or self.config.caller_id, call_ref=str(call.call_id)
        )

    async def _unanswered(self, call: _Dial, handle: CallHandle) -> None:
        """No line opened (no answer, busy, failed): store and summarise the call."""
        status = CallStatus(handle.status)
        outcome = "no_answer"  # busy and failed keep their own call status
        details = {"speed_to_lead": call.speed} if call.speed else {}
        await self.recorder.finish(call.call_id, status=status, outcome=outcome, retry=self.config.retry,
                                   details=details, inbound=call.incoming is not None)
        self._summarise(call.call_id, call.lead, call.name, outcome, status.value, None, {}, None, details,
                        meter=call.meter)

    async def _line_details(self, call: _Dial, handle: CallHandle, answered: float) -> dict[str, Any]:
        """What the telephony says of the ended call, with the hand-over and the speed to lead; its
        time and legs are billed on the call's meter."""
        details = await self.telephony.finished(handle)
        if DETAILS_KEY in handle.details:
            details = {**details, DETAILS_KEY: handle.details[DETAILS_KEY]}
        if call.speed:
            details = {**details, "speed_to_lead": call.speed}
        if call.watchdog is not None:
            call.watchdog.cancel()
        if call.meter is not None:  # billed time: the telephony's own clock when it has one
            seconds = details.get("duration_s") or (asyncio.get_running_loop().time() - answered)
            amd = self.config.amd and call.incoming is None  # a caller is a person
            call.meter.record_call_time(self.telephony.name, float(seconds), amd=amd)
            price_leg(call.meter, self.telephony.name, handle)
        return details

    async def _finish_answered(self, call: _Dial, handle: CallHandle, result: CallOutcome, brain: Brain,
                               details: dict[str, Any], may_record: bool) -> None:
        """Store an answered call's end: outcome, recording, slots, score and the abandoned-call
        verdict; then summarise it."""
        call_id, incoming = call.call_id, call.incoming
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
        dropped = (bool(details.get("media_dropped")) or cut_off_by_shutdown) and call.person and result.outcome is None
        call.keep_session = dropped
        settle = getattr(brain, "settle", None)
        if settle is not None:  # what the LLM is still reading goes into the slots
            await settle()
        slots = dict(getattr(brain, "slots", {}) or {})
        score = getattr(brain, "score", None)
        # measured at the far end when the telephony can (what the lead waited), else by us
        greeting_ms = details.get("hello_to_first_audio_ms") or result.latency.hello_to_first_audio_ms
        # the abandoned-call rule is about calls placed to leads, not calls they place
        abandoned = ((greeting_ms is None or greeting_ms > self.config.abandon_after_s * 1000)
                     if call.person and incoming is None else None)
        if call.person and greeting_ms is None and self.admission is not None and incoming is None:
            self.admission.greeting(None)  # a person answered and never heard the agent
        await call.journal.close()  # what is still being written lands before the call's end
        meter = call.meter
        await self.recorder.finish(
            call_id, status=CallStatus.VOICEMAIL if handle.answered_by == "machine" else CallStatus.COMPLETED,
            outcome=outcome, turns=result.turns, latency=result.latency, slots=slots, score=score,
            recording_path=recording, retry=self.config.retry, details=details, abandoned=abandoned,
            costs=meter.lines if meter is not None else (), dropped=dropped,
            recording_declined_s=result.recording_declined_s, inbound=incoming is not None,
        )
        self._summarise(call_id, call.lead, call.name, outcome, "completed", result, slots, score, details,
                        recorded=recording is not None, greeting_ms=greeting_ms, meter=meter)

    async def _failed(self, call: _Dial, exc: Exception) -> None:
        """The call failed part-way: stored as failed (abandoned when a person had answered our call)."""
        meter = call.meter
        await call.journal.close()
        await self.recorder.finish(call.call_id, status=CallStatus.FAILED, outcome="callback",
                                   retry=self.config.retry, details={"error": str(exc)},
                                   abandoned=True if call.person and call.incoming is None else None,
                                   costs=meter.lines if meter is not None else (), inbound=call.incoming is not None)
        self._summarise(call.call_id, call.lead, call.name, "callback", "failed", None, {}, None, {"error": str(exc)},
                        meter=meter)

    async def _wind_up(self, call: _Dial) -> None:
        """Whatever became of the call: its slot, tasks and live row go, its hold is settled at its
        cost, and the conversation state it no longer needs is deleted."""
        call_id, hold, meter = call.call_id, call.hold, call.meter
        if self.admission is not None:
            self.admission.call_ended()
        metrics.CALLS_ACTIVE.labels(campaign=self.config.campaign_name).dec()
        call.warming.cancel()
        call.models.cancel()
        if call.watchdog is not None:
            call.watchdog.cancel()
        if hold is not None and self.guard is not None:
            spent = meter.total if meter is not None else Decimal(0)
            if spent > hold.amount:
                self.overspent.append((call_id, spent, hold.amount))
                log.error("call %s spent $%s, more than the $%s held", call_id, spent, hold.amount)
            await self.guard.settle(hold, spent)
        self.live.pop(call_id, None)
        self._calling.pop(call_id, None)
        self._changed()
        await call.journal.close()
        if not call.keep_session:  # a dropped call's conversation is resumed by the call-back
            await self._end_session(call_id)
        cut_off = interrupted_call(call.lead)
        if cut_off is not None:  # the conversation it continued is over too
            await self._end_session(cut_off)
        if self.on_call_end is not None:
            self.on_call_end(call_id)

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

