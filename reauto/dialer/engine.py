"""The dial loop: claim leads, ask the compliance gate, place calls, run them concurrently.

Leads are claimed from the store with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
several dialer workers can share a campaign. A lead the gate refuses is released with the gate's
next allowed time (or closed for good); an allowed lead's expected cost is held
(:mod:`reauto.dialer.funding`) and it becomes a call (:mod:`reauto.dialer.calling`).
Every ``recover_every_s`` the dialer takes back what dialers that died left: their leads and
calls (:mod:`reauto.dialer.recovery`) and the money they held (:mod:`reauto.dialer.holds`).

The run stops early when a gate stops the campaign (:class:`~reauto.dialer.stops.RunStop`): the
abandoned-call rate is over its ceiling, or a budget cannot cover another call. Money that other
dialers hold is waited for instead (their calls end, or the sweep settles a dead dialer's holds).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
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
from reauto.costs.budget import BudgetGuard
from reauto.costs.meter import CostMeter, LedgerLine
from reauto.costs.pricing import Catalogue
from reauto.dialer.admission import Admission
from reauto.dialer.caller_ids import CallerIdPool
from reauto.dialer.calling import CallRunner, posted_at
from reauto.dialer.funding import Funding
from reauto.dialer.reception import Reception
from reauto.dialer.queue import DialQueue
from reauto.dialer.records import CallRecorder, RetryPolicy
from reauto.dialer.recovery import Recovered, keep_leases, recover_expired
from reauto.dialer.results import CallSummary, LiveCall, refusal_kind
from reauto.dialer.shedding import LoadShedder
from reauto.dialer.spool import SpoolingRecorder, store_unavailable
from reauto.dialer.stops import RunStop, abandon_standing
from reauto.dialer.texting import Texter
from reauto.sessions import SessionStore
from reauto.store.models import Call, Lead, LeadStatus
from reauto.store.types import utcnow
from reauto.stt.base import STTProvider
from reauto.telephony.base import Telephony
from reauto.tts.base import TTSProvider
from reauto.voice.conversation import Brain
from reauto.voice.pipeline import TurnTaking

__all__ = ["BrainFactory", "Dialer", "DialerConfig", "Gate", "GateDecision", "posted_at"]

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
    admission: bool = True  # learn how many calls at once the machine serves now (reauto.dialer.admission)
    hot_lane: int = 0  # call slots the backlog never takes: kept for leads just posted (campaign hot_lane)
    keep_until_objection: bool = False  # campaign recording.on_objection: keep the audio before an objection
    admission_start: int = 2  # calls at once to begin with
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # unique per process, also after a restart on the same host: a dead dialer's holds are told apart by it
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
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
    abandon_ceiling: float = 0.03  # the gate's ceiling, for the next allowed time of a stopped campaign
    transfer: Any = None  # the campaign's transfer settings (reauto.campaign.Transfer) when it has a person
    answer_calls: bool = True  # take the calls leads place to the campaign's number (campaign inbound.answer)
    unavailable: str = ""  # what a caller hears when no agent can take their call (campaign inbound.unavailable)
    region: str = "US"  # how a caller's number is read when it comes without a country code


class Dialer(CallRunner, Reception, Funding):
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
        caller_pool: CallerIdPool | None = None,
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
        self.caller_pool = caller_pool  # the numbers calls come from (local presence, caps); None: caller_id
        self._variants: dict[int, str | None] = {}  # call id → its variant, for the call's metrics
        self._calling: dict[int, int] = {}  # call id → lead id, for the lease heartbeat
        self.recovered = Recovered()  # what this dialer re-queued for dialers that stopped
        self.admission = (Admission(config.concurrency, start=config.admission_start, campaign=config.campaign_name,
                                    backlog=stt.backlog if stt is not None else None)
                          if config.admission else None)
        self.shedder = (LoadShedder(config.max_loop_lag_s, campaign=config.campaign_name,
                                    listener=self.admission.loop_lag if self.admission is not None else None)
                        if config.max_loop_lag_s > 0 else None)
        self.overspent: list[tuple[int, Decimal, Decimal]] = []  # (call, spent, held): must stay empty
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._renew_now = asyncio.Event()
        self._cut_off = asyncio.Event()  # the shutdown grace ran out: live calls end now
        self._placed = 0
        self._tasks: set[asyncio.Task[None]] | None = None  # the dial loop's calls (incoming calls join them)
        self._answering: set[asyncio.Task[None]] = set()  # calls leads placed (the run ends after them)
        self.running = asyncio.Event()  # set while run() runs (calls leads place can be taken)
        self.queue = DialQueue(sessions, config.campaign_id, config.worker, config.lease, config.poll_s, store_clock,
                               lane=min(config.hot_lane, max(0, config.concurrency - 1)))  # the backlog keeps a slot
        self.stopped: RunStop | None = None  # a gate stopped the campaign: no new calls
        self._resume_at: float | None = None  # a serving dialer stopped by the abandoned-call gate dials again then
        self._money_wait = (0.0, 0.0)  # (since, until) loop time: waiting for money other dialers hold

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

    async def _nap(self, tasks: set[asyncio.Task[None]], timeout: float | None = None) -> set[asyncio.Task[None]]:
        """Wait up to ``timeout`` (``poll_s``) for a call to end or a :meth:`wake`; returns the calls that ended."""
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait([*tasks, waker], timeout=self.config.poll_s if timeout is None else timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
        self._wake.clear()
        done.discard(waker)
        return done  # type: ignore[return-value]

    async def run(self) -> list[CallSummary]:
        """Dial until no lead is due (or :meth:`stop`), then wait for live calls to end."""
        tasks: set[asyncio.Task[None]] = set()
        self._tasks = tasks
        self.running.set()
        heartbeat = keep_leases(self.sessions, lambda: list(self._calling.values()), worker=self.config.worker,
                                lease=self.config.lease, clock=self.store_clock, now=self._renew_now)
        helpers = [asyncio.create_task(heartbeat, name="lease-heartbeat")]
        if self.shedder is not None:
            helpers.append(asyncio.create_task(self.shedder.watch(), name="load-shedder"))
        try:
            if isinstance(self.recorder, SpoolingRecorder):
                try:
                    await self.recorder.replay_orphans()  # records a dialer that died left waiting
                except Exception as exc:  # noqa: BLE001 - its flusher, or the next start, tries again
                    log.warning("could not replay spooled call records: %s: %s", type(exc).__name__, exc)
            summaries = await self._dial(tasks)
            self._tasks = None  # a call taken from now on is awaited here, not by the loop
            while self._answering:
                await asyncio.gather(*list(self._answering), return_exceptions=True)
            await self._drain_spool()
            return summaries
        finally:
            self._tasks = None
            self.running.clear()
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
        """Take back the leads, calls and money of dialers that stopped without ending their calls."""
        try:
            found = await recover_expired(self.sessions, self.config.campaign_id, now=self.store_clock(),
                                          calling=set(self._calling.values()), conversations=self.session_store,
                                          bill=self._bill if self.catalogue is not None else None,
                                          abandon_after_s=self.config.abandon_after_s)
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("recovery sweep failed: %s: %s", type(exc).__name__, exc)
        else:
            self.recovered.leads += found.leads
            self.recovered.calls += found.calls
        await self._settle_dead_holds()

    def _bill(self, call: Call, seconds: float) -> list[LedgerLine]:
        """What telephony bills for ``seconds`` of an interrupted call (its minutes and answering-machine check)."""
        assert self.catalogue is not None
        meter = CostMeter(self.catalogue)
        meter.record_call_time(call.provider, seconds, amd=self.config.amd)
        return meter.lines

    async def _dial(self, tasks: set[asyncio.Task[None]]) -> list[CallSummary]:
        loop = asyncio.get_running_loop()
        swept = -math.inf
        while True:
            if loop.time() - swept >= self.config.recover_every_s and not self._stopping.is_set():
                swept = loop.time()
                await self._recover()
            claimed: list[Lead] = []
            if not self._stopping.is_set() and not self._no_new_calls(loop.time()):
                free = self.config.concurrency - len(tasks)
                if self.shedder is not None and self.shedder.shedding:
                    free = 0  # saturated: the live calls come first; due leads wait
                if self.admission is not None and free > 0:
                    free = min(free, self.admission.free(len(tasks)))  # what the machine serves now
                if loop.time() < self._money_wait[1]:
                    free = 0  # other dialers hold the money: their calls end, or the sweep settles them
                if self.config.max_calls is not None:
                    free = min(free, self.config.max_calls - self._placed)
                try:
                    limit = self.admission.limit if self.admission is not None else self.config.concurrency
                    claimed = await self.queue.claim(free, tasks, limit) if free > 0 else []
                    for lead in claimed:
                        await self._start(lead, tasks)
                    self._store_answers()
                except Exception as exc:
                    if not store_unavailable(exc):
                        raise
                    self._store_fails(exc)
            if not tasks:
                shedding = self.shedder is not None and self.shedder.shedding
                # a dependency is away, or money others hold is coming free: wait for it, do not end
                waiting = (self.store_down or self.counters_down or loop.time() < self._money_wait[1]
                           or (self.admission is not None and self.admission.paused))
                idle = self.config.stop_when_idle and not claimed and not shedding and not waiting
                if idle or self._stopping.is_set() or self._run_over():
                    break
                await self._nap(tasks, await self.queue.until_due())  # wait for leads to fall due, or to be posted
                continue
            may_claim = len(tasks) < self.config.concurrency and not self._stopping.is_set()
            for task in await self._nap(tasks, await self.queue.until_due() if may_claim else None):
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
        if self.stopped is not None or asyncio.get_running_loop().time() < self._money_wait[1]:
            await self._release(lead)  # claimed in the same batch: due again when calls may go
            return
        decision = await self.gate(lead, self.clock())
        if not decision.allowed:
            await self._release_denied(lead, decision)
            if refusal_kind(decision.reason) == "abandon":  # the campaign's condition: every lead gets it
                await self._stop_for_abandonment(decision)
            return
        hold = await self._hold(lead)
        if hold is False:
            return
        self._placed += 1
        task = asyncio.create_task(self._call(lead, decision.may_record, hold or None), name=f"call-lead-{lead.id}")
        tasks.add(task)
        self.queue.started(lead, task)

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

    def _capped(self) -> bool:
        return self.config.max_calls is not None and self._placed >= self.config.max_calls

    def _no_new_calls(self, now: float) -> bool:
        """No claims now: the call cap is reached, or a gate stopped the campaign (a serving dialer
        stopped by the abandoned-call gate dials again at the next allowed time)."""
        if self.stopped is not None and self._resume_at is not None and now >= self._resume_at:
            log.info("the abandoned-call gate's next allowed time has come: dialing resumes")
            self.stopped, self._resume_at = None, None
        return self._capped() or self.stopped is not None

    def _run_over(self) -> bool:
        """The run ends: the call cap is reached, or a gate stopped it (a serving dialer stopped by
        the abandoned-call gate waits instead)."""
        return self._capped() or (self.stopped is not None and self._resume_at is None)

    async def _stop_for_abandonment(self, decision: GateDecision) -> None:
        """The abandoned-call rate is over its ceiling: no call until it is back under it."""
        gate_next = (self.store_clock() + (decision.next_allowed_at - self.clock())
                     if decision.next_allowed_at is not None else None)
        try:
            async with self.sessions() as s:
                standing = await abandon_standing(s, self.config.campaign_id, now=self.store_clock(),
                                                  ceiling=self.config.abandon_ceiling)
            reason = (f"{decision.reason} ({standing.abandoned} of {standing.answered} person-answered calls "
                      f"in 30 days)")
            next_at = standing.clears_at or gate_next
        except Exception as exc:  # noqa: BLE001 - the gate's own recheck time stands
            log.warning("abandoned-call standing unreadable: %s: %s", type(exc).__name__, exc)
            reason, next_at = decision.reason, gate_next
        self.stopped = RunStop("abandoned_rate", reason, next_at)
        if not self.config.stop_when_idle and next_at is not None:
            wait_s = max(self.config.poll_s, (next_at - self.store_clock()).total_seconds())
            self._resume_at = asyncio.get_running_loop().time() + wait_s
        log.error("%s", self.stopped.line())

    async def _release(self, lead: Lead, due: datetime | None = None) -> None:
        """Give a claimed lead back untouched: its status from before the claim (due again, from ``due`` if given)."""
        async with self.sessions.begin() as s:
            row = await s.get(Lead, lead.id)
            assert row is not None
            row.lease_owner, row.lease_expires_at = None, None
            if due is not None:
                row.next_attempt_at = due
            if row.status == LeadStatus.DIALING:
                row.status = lead.claimed_from or (LeadStatus.SCHEDULED if row.attempts else LeadStatus.NEW)

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
