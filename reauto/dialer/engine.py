"""The dial loop: claim leads, ask the compliance gate, place calls, run them concurrently.

Leads are claimed from the store with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
several dialer workers can share a campaign. A lead the gate refuses is released with the gate's
next allowed time (or closed for good); an allowed lead becomes a call: telephony places it, the
call's pipeline runs to the end, and :class:`CallRecorder` stores the result and moves the lead on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import statistics
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import metrics
from reauto.compliance import ABANDON_AFTER_S
from reauto.costs.budget import BudgetGuard, CountersUnavailable, Hold
from reauto.costs.meter import CostMeter, LedgerLine, current_meter
from reauto.costs.pricing import Catalogue
from reauto.dialer.records import CallRecorder, RetryPolicy
from reauto.dialer.recovery import Recovered, interrupted_call, recover_expired, renew_leases
from reauto.dialer.spool import SpoolingRecorder, store_unavailable
from reauto.dialer.shedding import LoadShedder
from reauto.dialer.texting import Texter
from reauto.sessions import SessionStore
from reauto.leads.build import META_KEY
from reauto.store import repositories
from reauto.store.models import CallStatus, Lead, LeadStatus
from reauto.store.types import utcnow
from reauto.stt.base import STTProvider
from reauto.telephony.base import CallHandle, Telephony
from reauto.tts.base import TTSProvider
from reauto.voice.audio import SAMPLE_RATE, write_wav
from reauto.voice.conversation import Brain, TurnRecord
from reauto.voice.pipeline import CallOutcome, CallSession, TurnTaking
from reauto.dialer.results import CallSummary, LiveCall, observe_call, percentile, refusal_kind

log = logging.getLogger(__name__)


class GateDecision(Protocol):
    """What the compliance gate answers for one lead at one instant."""

    allowed: bool
    reason: str
    next_allowed_at: datetime | None
    may_record: bool


#: Asks the gate about a lead now (the adapter reads the call history it needs).
Gate = Callable[[Lead, datetime], Awaitable[GateDecision]]
#: Builds the conversation agent for a lead (``answered_by`` is human or machine).
BrainFactory = Callable[[Lead, str], Brain]


@dataclass(frozen=True)
class DialerConfig:
    """How one dialer worker runs a campaign."""

    campaign_id: int
    caller_id: str
    concurrency: int = 4
    lease: timedelta = timedelta(minutes=2)  # renewed every lease/4 while the call lasts
    recover_every_s: float = 30.0  # how often the dialer looks for leads of dialers that died
    max_loop_lag_s: float = 0.25  # take no new calls while the event loop runs this late (p90); 0: never shed
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{id(object())}")
    recordings_dir: Path | None = None
    turn_taking: TurnTaking = field(default_factory=TurnTaking)
    max_calls: int | None = None
    poll_s: float = 0.5
    stop_when_idle: bool = True
    call_timeout_s: float = 600.0
    abandon_after_s: float = ABANDON_AFTER_S
    amd: bool = True  # answering-machine detection on every call (billed per call)
    campaign_name: str = ""  # the metrics' campaign label
    call_estimate_min: float = 3.0  # minutes of call held against the budget before dialing
    top_up_min: float = 1.0  # minutes added to a running call's hold at a time
    spool_dir: Path | None = None  # where call records wait while the store is down; None: no spool
    spool_drain_s: float = 30.0  # at the end of a run, how long to wait for spooled records to be stored
    shutdown_grace_s: float = 300.0  # after stop(), calls still live this long are ended, to be resumed


def posted_at(lead: Lead) -> datetime | None:
    """When a lead that has never been called was posted to the intake (None: not posted, or called)."""
    stamp = (lead.custom or {}).get(META_KEY, {}).get("intake_at") if lead.attempts == 0 else None
    return datetime.fromisoformat(stamp) if stamp else None


class Dialer:
    """Runs one campaign's calls on one worker."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        telephony: Telephony,
        *,
        stt: STTProvider,
        tts: TTSProvider,
        brain_factory: BrainFactory,
        gate: Gate,
        config: DialerConfig,
        on_change: Callable[[dict[int, LiveCall]], None] | None = None,
        catalogue: Catalogue | None = None,
        guard: BudgetGuard | None = None,
        clock: Callable[[], datetime] = utcnow,
        store_clock: Callable[[], datetime] = utcnow,
        warmers: Sequence[Callable[[], Awaitable[None]]] = (),
        texter: Texter | None = None,
        steps: Sequence[str] = (),
        on_call_end: Callable[[int], None] | None = None,
        sessions_store: SessionStore | None = None,
        variant_for: Callable[[Lead], str | None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.telephony = telephony
        self.stt, self.tts = stt, tts
        self.brain_factory = brain_factory
        self.gate = gate
        self.config = config
        self.recorder = (SpoolingRecorder(sessions, config.spool_dir, config.worker, clock=store_clock)
                         if config.spool_dir is not None else CallRecorder(sessions, store_clock))
        self.store_down = False  # the last claim found the store unreachable: no new dials
        self.counters_down = False  # the budget counters were unreachable at the last hold: no new dials
        self.on_change = on_change
        self.live: dict[int, LiveCall] = {}
        self.summaries: list[CallSummary] = []
        self.denied: list[tuple[int, str]] = []
        self.catalogue = catalogue
        self.guard = guard
        # the instant the gate evaluates the calling rules at (a simulated campaign may run its own
        # clock); the queue, the leases and the records keep the store's clock, and a reschedule
        # is carried over from one to the other
        self.clock = clock
        self.store_clock = store_clock
        self.warmers = list(warmers)  # other providers to wake while a phone rings (the LLM's model)
        self.texter = texter  # the campaign's texts (cadence steps, after-hours notices to posted leads)
        self.steps = list(steps)  # the cadence's actions ("call", "sms"); empty: every attempt is a call
        self.on_call_end = on_call_end  # told each call's id once its records are stored (real-time export)
        self.session_store = sessions_store  # each live call's conversation, checkpointed after every turn
        self.variant_for = variant_for  # each lead's A/B prompt variant, stored on its calls
        self._variants: dict[int, str | None] = {}  # call id → its variant, for the call's metrics
        self._checkpoints: set[asyncio.Task[None]] = set()
        self._calling: dict[int, int] = {}  # call id → lead id, for the lease heartbeat
        self.recovered = Recovered()  # what this dialer re-queued for dialers that stopped
        self.shedder = (LoadShedder(config.max_loop_lag_s, campaign=config.campaign_name)
                        if config.max_loop_lag_s > 0 else None)
        self.overspent: list[tuple[int, Decimal, Decimal]] = []  # (call, spent, held): must stay empty
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._renew_now = asyncio.Event()
        self._cut_off = asyncio.Event()  # the shutdown grace ran out: live calls end now
        self._placed = 0
        self._out_of_budget = False

    def stop(self) -> None:
        """Stop claiming new leads; calls in progress finish, or are ended after ``shutdown_grace_s``
        (stored with what was said, and the lead called back to resume the conversation)."""
        if not self._stopping.is_set():
            asyncio.get_running_loop().call_later(self.config.shutdown_grace_s, self._cut_off.set)
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Look for due leads now, not at the next poll (a lead was just posted)."""
        self._wake.set()

    async def _nap(self, tasks: set[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
        """Wait up to ``poll_s`` for a call to end or a :meth:`wake`; returns the calls that ended."""
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait([*tasks, waker], timeout=self.config.poll_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
        self._wake.clear()
        done.discard(waker)
        return done  # type: ignore[return-value]

    async def run(self) -> list[CallSummary]:
        """Dial until no lead is due (or :meth:`stop`), then wait for live calls to end."""
        tasks: set[asyncio.Task[None]] = set()
        helpers = [asyncio.create_task(self._keep_leases(), name="lease-heartbeat")]
        if self.shedder is not None:
            helpers.append(asyncio.create_task(self.shedder.watch(), name="load-shedder"))
        try:
            if isinstance(self.recorder, SpoolingRecorder):
                try:
                    await self.recorder.replay_orphans()  # records a dialer that died left waiting
                except Exception as exc:  # noqa: BLE001 - its flusher, or the next start, tries again
                    log.warning("could not replay spooled call records: %s: %s", type(exc).__name__, exc)
            summaries = await self._dial(tasks)
            await self._drain_spool()
            return summaries
        finally:
            for helper in helpers:
                helper.cancel()

    async def _drain_spool(self) -> None:
        """Give the store a while to come back for the call records still waiting in the spool."""
        recorder = self.recorder
        if not isinstance(recorder, SpoolingRecorder) or not recorder.pending:
            return
        deadline = asyncio.get_running_loop().time() + self.config.spool_drain_s
        while recorder.pending and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
        if recorder.pending:
            log.error("%d call records still wait for the store in %s; the next dialer to start stores them",
                      recorder.pending, recorder.spool.path)

    async def _recover(self) -> None:
        """Take back the leads of dialers that stopped without ending their calls."""
        try:
            found = await recover_expired(self.sessions, self.config.campaign_id, now=self.store_clock(),
                                          calling=set(self._calling.values()))
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("recovery sweep failed: %s: %s", type(exc).__name__, exc)
            return
        self.recovered.leads += found.leads
        self.recovered.calls += found.calls

    async def _keep_leases(self) -> None:
        """Renew the leases of the leads being called, so only a dialer that died loses them.

        Renewed every quarter of the lease, and at once when the store answers after an outage
        (the leases may have run out meanwhile: other dialers must see them valid again).
        """
        every = max(1.0, self.config.lease.total_seconds() / 4)
        while True:
            try:
                await asyncio.wait_for(self._renew_now.wait(), every)
            except TimeoutError:
                pass
            self._renew_now.clear()
            try:
                await renew_leases(self.sessions, list(self._calling.values()), worker=self.config.worker,
                                   until=self.store_clock() + self.config.lease)
            except Exception as exc:  # noqa: BLE001 - retried at the next beat, well before expiry
                log.warning("could not renew leases: %s: %s", type(exc).__name__, exc)

    async def _dial(self, tasks: set[asyncio.Task[None]]) -> list[CallSummary]:
        loop = asyncio.get_running_loop()
        swept = -math.inf
        while True:
            if loop.time() - swept >= self.config.recover_every_s and not self._stopping.is_set():
                swept = loop.time()
                await self._recover()
            claimed: list[Lead] = []
            if not self._stopping.is_set() and not self._budget_spent():
                free = self.config.concurrency - len(tasks)
                if self.shedder is not None and self.shedder.shedding:
                    free = 0  # saturated: the live calls come first; due leads wait
                if self.config.max_calls is not None:
                    free = min(free, self.config.max_calls - self._placed)
                try:
                    claimed = await self._claim(free) if free > 0 else []
                    for lead in claimed:
                        await self._start(lead, tasks)
                    self._store_answers()
                except Exception as exc:
                    if not store_unavailable(exc):
                        raise
                    self._store_fails(exc)
            if not tasks:
                shedding = self.shedder is not None and self.shedder.shedding
                waiting = self.store_down or self.counters_down  # a dependency is away: wait for it, do not end
                idle = self.config.stop_when_idle and not claimed and not shedding and not waiting
                if idle or self._stopping.is_set() or self._budget_spent():
                    break
                await self._nap(tasks)  # wait for leads to fall due, or to be posted
                continue
            for task in await self._nap(tasks):
                tasks.discard(task)
                if task.exception() is not None:
                    log.error("call task failed: %s", task.exception())
        return self.summaries

    async def _start(self, lead: Lead, tasks: set[asyncio.Task[None]]) -> None:
        """A claimed lead: its text step, or the gate, the budget hold and its call."""
        if self._is_text_step(lead):  # a text takes no call slot and no budget hold
            assert self.texter is not None
            await self.texter.cadence_step(lead)
            return
        if self._out_of_budget:  # claimed in the same batch: due again when money is
            await self._release(lead)
            return
        decision = await self.gate(lead, self.clock())
        if not decision.allowed:
            await self._release_denied(lead, decision)
            return
        hold = await self._hold(lead)
        if hold is False:
            return
        self._placed += 1
        tasks.add(asyncio.create_task(self._call(lead, decision.may_record, hold or None),
                                      name=f"call-lead-{lead.id}"))

    def _store_fails(self, exc: BaseException) -> None:
        """The store cannot be reached: no new dials (claimed leads' leases run out; live calls go on)."""
        metrics.BREAKER_STATE.labels(dependency="postgres").set(metrics.BREAKER_CODES["open"])
        if not self.store_down:
            log.error("the store is unreachable (%s: %s): no new dials until it answers; live calls go on "
                      "and their records wait in the spool", type(exc).__name__, exc)
        self.store_down = True

    def _store_answers(self) -> None:
        if self.store_down:
            log.info("the store answers again: dialing resumes")
            metrics.BREAKER_STATE.labels(dependency="postgres").set(metrics.BREAKER_CODES["closed"])
            self._renew_now.set()
        self.store_down = False

    def _is_text_step(self, lead: Lead) -> bool:
        step = lead.cadence_step or 0
        return self.texter is not None and step < len(self.steps) and self.steps[step] == "sms"

    def _budget_spent(self) -> bool:
        """No more dials: the call cap is reached, or a budget could not cover the last one."""
        return self._out_of_budget or (self.config.max_calls is not None and self._placed >= self.config.max_calls)

    async def _hold(self, lead: Lead) -> Hold | None | bool:
        """Hold the call's expected cost before dialing; False (lead released) when refused."""
        if self.guard is None or self.catalogue is None:
            return None
        estimate = self.catalogue.call_estimate(self.telephony.name, self.config.call_estimate_min,
                                                amd=self.config.amd)
        try:
            hold = await self.guard.hold(f"lead-{lead.id}-{uuid.uuid4().hex[:8]}", estimate)
        except CountersUnavailable:
            # fail closed until the counters answer: no call can prove its money is there
            self.counters_down = True
            metrics.BREAKER_STATE.labels(dependency="redis").set(metrics.BREAKER_CODES["open"])
            await self._release(lead)
            return False
        if self.counters_down:
            metrics.BREAKER_STATE.labels(dependency="redis").set(metrics.BREAKER_CODES["closed"])
        self.counters_down = False
        if hold is not None:
            return hold
        self._out_of_budget = True
        metrics.LEADS_REFUSED.labels(campaign=self.config.campaign_name, reason="budget").inc()
        await self.guard.breaker_alert("dialing_stopped")
        reason = f"budget: cannot cover a new call (${estimate:.4f} held per call); dialing stops"
        self.denied.append((lead.id, reason))
        log.warning("lead %s not dialed: %s", lead.id, reason)
        await self._release(lead)
        return False

    async def _release(self, lead: Lead) -> None:
        """Give a claimed lead back untouched: its status from before the claim, so it stays due."""
        async with self.sessions.begin() as s:
            row = await s.get(Lead, lead.id)
            assert row is not None
            row.lease_owner, row.lease_expires_at = None, None
            if row.status == LeadStatus.DIALING:
                row.status = lead.claimed_from or (LeadStatus.SCHEDULED if row.attempts else LeadStatus.NEW)

    async def _claim(self, limit: int) -> list[Lead]:
        async with self.sessions.begin() as s:
            leads = await repositories.claim_next_leads(
                s, self.config.campaign_id, worker=self.config.worker, lease=self.config.lease, limit=limit,
                now=self.store_clock(),
            )
            return list(leads)

    async def _release_denied(self, lead: Lead, decision: GateDecision) -> None:
        self.denied.append((lead.id, decision.reason))
        metrics.LEADS_REFUSED.labels(campaign=self.config.campaign_name, reason=refusal_kind(decision.reason)).inc()
        async with self.sessions.begin() as s:
            row = await s.get(Lead, lead.id)
            assert row is not None
            row.lease_owner, row.lease_expires_at = None, None
            if decision.next_allowed_at is not None:
                # "in 13 hours" on the gate's clock is in 13 hours of real time
                row.status = LeadStatus.SCHEDULED
                row.next_attempt_at = self.store_clock() + (decision.next_allowed_at - self.clock())
            elif "dnc" in decision.reason.lower():
                row.status, row.dnc = LeadStatus.DNC, True
            else:
                row.status = LeadStatus.EXHAUSTED
        if self.texter is not None and decision.next_allowed_at is not None and posted_at(lead) is not None:
            await self.texter.after_hours(lead, decision.next_allowed_at)  # "we'll call you at 9:00 AM"

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.live)

    async def _call(self, lead: Lead, may_record: bool, hold: Hold | None = None) -> None:
        name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.phone_e164
        loop = asyncio.get_running_loop()
        intake_at = posted_at(lead)
        variant = self.variant_for(lead) if self.variant_for is not None else None
        try:
            call_id = await self.recorder.open_call(lead, provider=self.telephony.name, worker=self.config.worker,
                                                    prompt_variant=variant,
                                                    step=lead.cadence_step if self.steps else None)
        except Exception as exc:
            if hold is not None and self.guard is not None:
                await self.guard.settle(hold, Decimal(0))  # nothing was spent: the money is free again
            if not store_unavailable(exc):
                raise
            self._store_fails(exc)  # not dialed; the lead's lease runs out and it is due again
            return
        self._calling[call_id] = lead.id
        self._variants[call_id] = variant
        speed: dict[str, float] = {}
        if intake_at is not None:  # a posted lead's first call: how fast did we dial?
            speed["dial_s"] = round((self.store_clock() - intake_at).total_seconds(), 3)
            metrics.SPEED_TO_LEAD.labels(stage="dial").observe(speed["dial_s"])
        live = self.live[call_id] = LiveCall(name, lead.phone_e164, started=loop.time())
        meter = self._meter(live)
        current_meter.set(meter)  # this task's context: every task the call starts reports here
        campaign = self.config.campaign_name
        metrics.CALLS_PLACED.labels(campaign=campaign).inc()
        metrics.CALLS_ACTIVE.labels(campaign=campaign).inc()
        self._changed()
        warming = asyncio.create_task(self._warm_opening(lead), name=f"warm-{call_id}")
        # the call's VAD and end-of-turn models load while the phone rings, not after "hello?"
        models = asyncio.ensure_future(asyncio.to_thread(self.config.turn_taking.models))
        watchdog: asyncio.Task[None] | None = None
        person = False  # a person answered: a call that fails from here on counts as abandoned
        keep_session = False
        try:
            handle = await self.telephony.place_call(
                to=lead.phone_e164, caller_id=self.config.caller_id, call_ref=str(call_id)
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
                                           details=details)
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
            result, brain = await self._converse(lead, handle, may_record, live, models, call_id=call_id)
            person = handle.answered_by != "machine"
            await self.telephony.hang_up(handle)
            details = await self.telephony.finished(handle)
            if speed:
                details = {**details, "speed_to_lead": speed}
            if watchdog is not None:
                watchdog.cancel()
            if meter is not None:  # billed time: the telephony's own clock when it has one
                seconds = details.get("duration_s") or (loop.time() - answered)
                meter.record_call_time(self.telephony.name, float(seconds), amd=self.config.amd)
            recording = self._save_recording(call_id, result) if may_record else None
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
            abandoned = (greeting_ms is None or greeting_ms > self.config.abandon_after_s * 1000) if person else None
            await self.recorder.finish(
                call_id, status=CallStatus.VOICEMAIL if handle.answered_by == "machine" else CallStatus.COMPLETED,
                outcome=outcome, turns=result.turns, latency=result.latency, slots=slots, score=score,
                recording_path=recording, retry=self.config.retry, details=details, abandoned=abandoned,
                costs=meter.lines if meter is not None else (), dropped=dropped,
            )
            self._summarise(call_id, lead, name, outcome, "completed", result, slots, score, details,
                            recorded=recording is not None, greeting_ms=greeting_ms, meter=meter)
        except Exception as exc:
            log.exception("call %s to lead %s failed", call_id, lead.id)
            await self.recorder.finish(call_id, status=CallStatus.FAILED, outcome="callback",
                                       retry=self.config.retry, details={"error": str(exc)},
                                       abandoned=True if person else None,
                                       costs=meter.lines if meter is not None else ())
            self._summarise(call_id, lead, name, "callback", "failed", None, {}, None, {"error": str(exc)},
                            meter=meter)
        finally:
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

    def _checkpoint(self, call_id: int, brain: Brain) -> None:
        """Store where the conversation stands (in the background: the call never waits for it)."""
        snapshot = getattr(brain, "snapshot", None)
        if self.session_store is None or snapshot is None:
            return
        store, state = self.session_store, {"call_id": call_id, "brain": snapshot()}

        async def save() -> None:
            try:
                await store.save(call_id, state)
            except Exception as exc:  # noqa: BLE001 - the call goes on; only its checkpoint is late
                log.warning("call %s: session checkpoint failed: %s: %s", call_id, type(exc).__name__, exc)

        task = asyncio.create_task(save(), name=f"checkpoint-{call_id}")
        self._checkpoints.add(task)
        task.add_done_callback(self._checkpoints.discard)

    async def _end_session(self, call_id: int) -> None:
        if self.session_store is None:
            return
        await asyncio.gather(*[t for t in self._checkpoints if t.get_name() == f"checkpoint-{call_id}"],
                             return_exceptions=True)
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
            live = self.live.get(call_id)
            if live is not None:  # the running total: what is metered plus the minutes begun so far
                live.cost = float(meter.total + max(1, math.ceil(elapsed / 60)) * per_min + amd)
                self._changed()
            minutes = math.ceil((elapsed + lookahead_s) / 60)
            projected = meter.total + minutes * per_min + amd
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
                await warm([self.brain_factory(lead, "human").opening().text])

        for result in await asyncio.gather(opening(), *(w() for w in self.warmers), return_exceptions=True):
            if isinstance(result, Exception):  # the call itself does the work again
                log.warning("could not prepare lead %s's call while it rang: %s", lead.id, result)

    async def _converse(
        self, lead: Lead, handle: CallHandle, may_record: bool, live: LiveCall,
        models: asyncio.Future[Any] | None = None, *, call_id: int | None = None,
    ) -> tuple[CallOutcome, Brain]:
        brain = self.brain_factory(lead, handle.answered_by)
        meter = current_meter.get()
        if meter is not None:  # the voice tier rule reads the lead's score as the call goes
            meter.lead_score = lambda: float(getattr(brain, "score", 0.0) or 0.0)

        def on_turn(turn: TurnRecord) -> None:
            live.turns += 1
            live.last_text = f"{turn.speaker}: {turn.text}"
            live.stage = "agent speaking" if turn.speaker == "agent" else "lead spoke"
            self._changed()
            if call_id is not None and turn.speaker == "agent":
                self._checkpoint(call_id, brain)

        assert handle.transport is not None
        line_ends, line_watch = self._line_ends(getattr(handle.far_end, "hung_up", None))
        session = CallSession(
            handle.transport, self.stt, self.tts, brain,
            turn_taking=self.config.turn_taking,
            record=may_record,
            on_agent_text=handle.on_agent_text,
            on_turn=on_turn,
            greet_on_first_words=handle.answered_by != "machine",
            timeout_s=self.config.call_timeout_s,
            hung_up=line_ends,
        )
        if models is not None:
            session.use_models(await models)
        await self._resume(lead, brain, handle.answered_by)
        detected = getattr(self.telephony, "amd_result", None)
        amd = detected(handle) if detected is not None else None
        watcher = (asyncio.create_task(self._follow_amd(amd, lead, handle, session, live), name="amd")
                   if amd is not None else None)
        try:
            return await session.run(), brain
        finally:
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
