"""One dial run: a campaign's dialer and everything it calls through, built, run and closed.

``reauto dial``, ``reauto serve --campaign``, the tests and the benchmarks dial a campaign
through :class:`DialRun`. It checks that the store is migrated, opens the voice (recognition,
speech, the LLM), the phone lines (simulated, or Twilio with its webhook server), the
collaborators the calls report to (texts, bookings, the second listen, the LLM's post-call
analysis, the real-time CRM push) and the store's gauges, runs the
:class:`~reauto.dialer.engine.Dialer` until it stops, and closes everything it opened, in one
order, also when a step fails part-way. It prints nothing: its lines go to ``on_message``, and
the live table of calls in progress is the caller's (:class:`LiveView`).

Example::

    result = await DialRun(settings, load_campaign("campaigns/demo.yaml"), DialOptions(max_calls=5)).run()
    print(len(result.summaries), result.extra["spend"]["total_usd"])
"""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reauto.agent.llm import LLMParts
from reauto.campaign import Campaign
from reauto.config import Settings
from reauto.costs.alerts import Alerter
from reauto.costs.budget import BudgetGuard
from reauto.costs.pricing import Catalogue
from reauto.costs.reservations import Reservations, reservations_for
from reauto.costs.tiering import TierStats, tiered_tts
from reauto.dialer import assembly
from reauto.dialer.control import is_paused
from reauto.dialer.engine import Dialer, DialerConfig
from reauto.dialer.inbound import spoken
from reauto.dialer.postcall import LLMAnalyst
from reauto.dialer.results import CallSummary, LiveCall
from reauto.dialer.second_listen import Follower, SecondListen
from reauto.dialer.texting import Texter
from reauto.errors import UsageError
from reauto.export.realtime import RealtimeExport
from reauto.intake.wake import WakeBus, wake_bus_for
from reauto.monitoring.server import MonitoringServer, live_rows, watch_store
from reauto.runtime import settled_gc
from reauto.scheduling.booking import BusyFeed, Scheduler
from reauto.sessions import SessionStore, sessions_for
from reauto.store import repositories
from reauto.store.engine import make_engine, ping, session_factory
from reauto.store.migrate import current, history
from reauto.store.models import Lead
from reauto.stt.pool import ProcessPoolSTT
from reauto.telephony.base import Telephony
from reauto.telephony.sim import SimTelephony
from reauto.tts.base import TTSProvider
from reauto.tts.cache import AudioCache
from reauto.tts.factory import create_tiers
from reauto.voice.pipeline import quiet_pipecat

if TYPE_CHECKING:  # the web stack is the `serve` extra: imported only by a run that serves
    from reauto.serve.server import WebServer


@dataclass(frozen=True)
class DialOptions:
    """How one dial run goes; the defaults are ``reauto dial``'s without options.

    Attributes:
        max_calls: stop after placing this many calls (``None``: no limit).
        concurrency: the most calls at once (``None``: the campaign's).
        admission: fewer calls at once while the machine has no headroom for them (admission control).
        clock_start: simulated telephony: the instant the calling rules are evaluated at as the
            run starts, moving on in real time (``None``: the real time).
        speed: the simulated leads' clock speed (1: real time).
        recordings: the directory for dual-channel recordings (``None``: no recording).
        seed: simulated telephony: add the campaign's personas as leads.
        forever: serve (``reauto serve --campaign``): keep waiting for due and posted leads until
            SIGINT or SIGTERM, which stop new dials while the live calls finish; a simulated
            campaign gets the lead intake server too.
        poll_s: seconds between two looks for due leads while none is due.
        metrics: serve /metrics (Prometheus) and /live on this (host, port); port 0: any free one.
        agent_text_tap: Twilio: told each line the agent speaks, as (call SID, text).
        on_start: told the dialer before its first call (tests and benchmarks).
    """

    max_calls: int | None = None
    concurrency: int | None = None
    admission: bool = True
    clock_start: datetime | None = None
    speed: float = 1.0
    recordings: Path | None = None
    seed: bool = True
    forever: bool = False
    poll_s: float = 0.5
    metrics: tuple[str, int] | None = None
    agent_text_tap: Callable[[str, str], None] | None = None
    on_start: Callable[[Dialer], None] | None = None


@dataclass(frozen=True)
class DialResult:
    """What a dial run did.

    Attributes:
        summaries: one per call placed or answered.
        denied: (lead id, reason) for each due lead that was not dialed (the gate, the budget).
        extra: the run's totals as ``reauto dial --json`` prints them: ``tts_cache``,
            ``tts_tiers``, ``spend``, ``abandoned_30d``, ``stopped`` (a gate's stop as JSON, or
            ``None``), ``recovered``, ``admission``, ``second_listen`` and ``paused``.
    """

    summaries: list[CallSummary]
    denied: list[tuple[int, str]]
    extra: dict[str, Any]


class LiveView(Protocol):
    """The caller's view of the calls in progress (``reauto dial``'s live table)."""

    def update(self, calls: dict[int, LiveCall]) -> None:
        """The calls in progress, each time one of them changes."""

    def showing(self) -> AbstractContextManager[object]:
        """Entered before the dialer's first call, left after its last."""


@dataclass(frozen=True)
class _Ended:
    """What the run reads once the dialer has stopped, before anything is closed."""

    summaries: list[CallSummary]
    heard: dict[str, Any] | None
    abandoned: int
    answered: int
    paused: bool
    utilisation: float


class DialRun:
    """Builds a campaign's dial run, runs it, and closes everything it opened.

    A ``DialRun`` runs once. Its building blocks are opened in this order: the store (schema
    check, the campaign's row, the compliance gate), the voice (recognition, tiered speech, the
    LLM), the lines (conversation state, wake bus, telephony and its web server), the
    collaborators, the dialer, and what runs beside the calls (metrics, signal handlers).

    Args:
        settings: the settings.
        campaign: the campaign to dial.
        options: how the run goes.
        on_message: told each line worth showing a person (the servers' addresses, a warning
            starting ``warning: ``); ``None``: they are dropped.
        view: the live view of the calls in progress; ``None``: none.
    """

    # set while the run is built (each before anything reads it)
    _sessions: async_sessionmaker[AsyncSession]
    _campaign_id: int
    _gate: assembly.CampaignGate
    _cache: AudioCache
    _catalogue: Catalogue
    _guard: BudgetGuard
    _tiers: TierStats
    _texter: Texter
    _feed: BusyFeed

    def __init__(self, settings: Settings, campaign: Campaign, options: DialOptions, *,
                 on_message: Callable[[str], None] | None = None, view: LiveView | None = None) -> None:
        self.settings = settings
        self.campaign = campaign
        self.options = options
        self.dialer: Dialer | None = None
        self._say = on_message or _drop
        self._view = view
        # what the run opens: _close() closes each that was opened
        self._engine: AsyncEngine | None = None
        self._stt: ProcessPoolSTT | None = None
        self._tts: TTSProvider | None = None
        self._llm: LLMParts | None = None
        self._reservations: Reservations | None = None
        self._conversations: SessionStore | None = None
        self._bus: WakeBus | None = None
        self._telephony: Telephony | None = None
        self._web: WebServer | None = None
        self._realtime: RealtimeExport | None = None
        self._follower: Follower | None = None
        self._analyst: LLMAnalyst | None = None
        self._schedulers: list[Scheduler] = []  # this run's calls that may still be sending a booking confirmation
        self._watcher: asyncio.Task[None] | None = None
        self._server: MonitoringServer | None = None
        self._signals: list[signal.Signals] = []

    async def run(self) -> DialResult:
        """Build the run, dial until the dialer stops, and close everything that was opened.

        When a step fails, what was opened before it is closed in the same order, then the error
        is raised.

        Returns:
            What the run did.

        Raises:
            UsageError: the database schema is not up to date (``reauto db upgrade``).
            RuntimeError: this ``DialRun`` has run already.
        """
        if self._engine is not None:
            raise RuntimeError("a DialRun runs once: make another")
        quiet_pipecat("ERROR")
        self._engine = make_engine(self.settings.database)
        try:
            await self._open_store(self._engine)
            await self._open_voice()
            await self._open_lines(self._engine)
            self._build_collaborators(self._engine)
            dialer = self._build_dialer()
            await self._start(dialer)
            ended = await self._dial(dialer)
        finally:
            await self._close()
        return self._result(dialer, ended)

    # --- building -----------------------------------------------------------------------------

    async def _open_store(self, engine: AsyncEngine) -> None:
        """Check the store answers and is migrated, store the campaign (and a simulated one's
        personas as leads), and set up the compliance gate on the run's clock."""
        cfg, campaign = self.settings, self.campaign
        await ping(engine)
        head = [r.revision for r in history(cfg, with_state=False) if r.is_head]
        if sorted(current(cfg)) != sorted(head):
            raise UsageError("the database schema is not up to date: run `reauto db upgrade` first")
        self._sessions = session_factory(engine)
        self._campaign_id = await assembly.upsert_campaign(self._sessions, campaign)
        if self.options.seed and campaign.telephony == "sim":
            await assembly.seed_sim_leads(self._sessions, self._campaign_id, campaign)
        rules = assembly.rules_for(campaign)
        start = self.options.clock_start
        if start is not None:  # the rules run at a simulated instant that moves on in real time
            started = time.monotonic()
            self._gate = assembly.CampaignGate(self._sessions, rules, clock=lambda: start + _elapsed(started))
        else:
            self._gate = assembly.CampaignGate(self._sessions, rules)

    async def _open_voice(self) -> None:
        """Start recognition and speech, and connect the LLM for ``[llm] brain = ollama``.

        The budget guard is set up here: the tiered speech reads its utilisation to choose
        between the premium and the local voice.
        """
        cfg, campaign = self.settings, self.campaign
        stt = self._stt = ProcessPoolSTT(cfg.stt, workers=assembly.stt_workers(),
                                         vocabulary=assembly.vocabulary(campaign))
        self._cache = AudioCache()
        self._catalogue = Catalogue(cfg.pricing, campaign.pricing)
        self._reservations = reservations_for(cfg.redis)
        # money is spent in real time, whatever instant --at evaluates the calling rules at
        guard = self._guard = BudgetGuard(self._sessions, self._reservations, cfg.budget, campaign.name,
                                          alerts=Alerter(cfg.budget))
        self._tiers = TierStats()
        tts = self._tts = tiered_tts(create_tiers(cfg.tts, cache=self._cache, meter=True), mode=campaign.tts_tier,
                                     share_cap=campaign.premium_share_cap, premium_off_at=cfg.budget.premium_off_at,
                                     utilisation=lambda: guard.last_utilisation, stats=self._tiers)
        await asyncio.gather(stt.start(), tts.start())
        if cfg.llm.brain == "ollama":
            self._llm = await LLMParts.connect(cfg, on_unready=lambda why: self._say(f"warning: {why}"))

    async def _open_lines(self, engine: AsyncEngine) -> None:
        """Open the calls' shared state and the wake bus, then the phone lines: Twilio with its
        webhook, media-stream and intake server, or the simulated leads (with the intake server
        when the run serves)."""
        cfg, campaign = self.settings, self.campaign
        self._conversations = sessions_for(cfg.redis)  # each live call's conversation state (shared through Redis)
        bus = self._bus = wake_bus_for(cfg, engine)  # posted here or to any other process's server
        bus.subscribe(self._wake)
        if campaign.telephony == "twilio":
            from reauto.serve.embed import twilio_stack

            self._telephony, self._web = await twilio_stack(
                cfg, sessions=self._sessions, engine=engine, amd=campaign.amd, live=self._live,
                on_agent_text=self.options.agent_text_tap, on_intake=bus.publish)
        else:
            self._telephony = SimTelephony(assembly.lead_scripts(campaign), speed=self.options.speed,
                                           human_agents=assembly.human_agents(campaign))
            if self.options.forever:  # a serving simulated campaign still takes posted leads
                from reauto.serve.embed import start_server
                from reauto.telephony.twilio import CallRegistry

                self._web = await start_server(cfg, registry=CallRegistry(""), sessions=self._sessions, engine=engine,
                                               breakers=[], live=self._live, on_intake=bus.publish)
        await bus.start()
        web = self._web
        if web is not None:
            self._say(f"webhooks, media streams and lead intake (/v1/leads) on http://{web.host}:{web.port}")

    def _build_collaborators(self, engine: AsyncEngine) -> None:
        """What the calls report to: texts (cadence, after-hours intake), bookings, the second
        listen, the LLM's post-call analysis and the real-time CRM push."""
        cfg, campaign, gate = self.settings, self.campaign, self._gate
        assert self._telephony is not None  # opened by _open_lines
        self._texter = Texter(self._sessions, self._telephony, campaign, gate.rules,
                              waits=assembly.retry_for(campaign).cadence, clock=gate.clock,
                              store_clock=gate.store_clock)
        self._feed = BusyFeed(campaign.booking.busy_calendar, campaign.booking.timezone,
                              cache_s=cfg.scheduling.busy_cache_s, timeout_s=cfg.scheduling.feed_timeout_s)
        if cfg.stt.second_listen:  # the opt-out safety net: each recorded call heard again after it ends
            self._follower = Follower(SecondListen(self._sessions, cfg.stt, clock=gate.store_clock,
                                                   vocabulary=assembly.vocabulary(campaign)), self._campaign_id)
        if self._llm is not None:  # each answered call's analysis is written again by the LLM, after the rules'
            self._analyst = LLMAnalyst(self._llm.chat, self._sessions,
                                       model=cfg.llm.models.get("analysis") or cfg.llm.model, clock=gate.store_clock)
            self._analyst.start()
        self._realtime = RealtimeExport(engine, cfg, campaign.name, campaign.export_targets)  # CRM push at call end

    def _build_dialer(self) -> Dialer:
        """The dialer over everything opened so far; calls placed to the campaign's number come to it."""
        cfg, campaign, gate, llm = self.settings, self.campaign, self._gate, self._llm
        assert self._stt is not None and self._tts is not None and self._telephony is not None  # opened above
        realtime, follower, analyst = self._realtime, self._follower, self._analyst
        dialer = self.dialer = Dialer(
            self._sessions, self._telephony, stt=self._stt, tts=self._tts, gate=gate,
            brain_factory=assembly.brain_factory(campaign, gate, llm=llm, scheduler_for=self._scheduler_for
                                                 if assembly.uses_calendar(campaign) else None,
                                                 min_confidence=cfg.stt.min_confidence),
            config=self._dialer_config(),
            on_change=self._view.update if self._view is not None else None, catalogue=self._catalogue,
            guard=self._guard, clock=gate.clock, store_clock=gate.store_clock,
            warmers=[llm.chat.warm, *(functools.partial(llm.chat.warm, m)
                                      for m in sorted(set(cfg.llm.models.values())))]
            if llm else [],  # every model a call may use is kept loaded while the phone rings
            texter=self._texter if campaign.cadence or campaign.sms.after_hours_intake else None,
            steps=[step.action for step in campaign.cadence],
            on_call_end=_each(realtime.call_ended if realtime else None, follower.call_ended if follower else None,
                              analyst.call_ended if analyst else None),
            sessions_store=self._conversations,
            variant_for=assembly.variant_for(campaign),
            caller_pool=assembly.caller_pool(campaign, self._campaign_id),
        )
        self._telephony.answerer = dialer.pick_up
        return dialer

    def _dialer_config(self) -> DialerConfig:
        """The dialer's configuration, from the campaign, the settings and the options."""
        cfg, campaign, options, rules = self.settings, self.campaign, self.options, self._gate.rules
        return DialerConfig(
            campaign_id=self._campaign_id, caller_id=campaign.caller_id,
            concurrency=options.concurrency or campaign.concurrency, retry=assembly.retry_for(campaign),
            admission=options.admission, hot_lane=campaign.hot_lane,
            keep_until_objection=campaign.recording.on_objection == "keep_until_objection",
            recordings_dir=options.recordings, max_calls=options.max_calls,
            abandon_after_s=rules.abandon_after_s, abandon_ceiling=rules.abandon_ceiling,
            amd=campaign.amd,
            call_estimate_min=cfg.budget.call_estimate_min, top_up_min=cfg.budget.top_up_min,
            campaign_name=campaign.name, stop_when_idle=not options.forever, poll_s=options.poll_s,
            spool_dir=cfg.resilience.spool_dir, shutdown_grace_s=cfg.resilience.shutdown_grace_s,
            transfer=campaign.transfer if campaign.transfer.to else None,
            answer_calls=campaign.inbound.answer, region=cfg.default_region,
            unavailable=spoken(campaign.inbound.unavailable, campaign.model_dump(mode="json")))

    # --- running ------------------------------------------------------------------------------

    async def _start(self, dialer: Dialer) -> None:
        """Start what runs beside the calls (the CRM push, the second listen, the metrics), make
        SIGINT and SIGTERM stop new dials when the run serves, and load the voice models."""
        if self.options.on_start is not None:  # tests and benchmarks: the dialer, before its first call
            self.options.on_start(dialer)
        assert self._realtime is not None  # built by _build_collaborators
        self._realtime.start()
        if self._follower is not None:
            self._follower.start()
        await self._start_metrics()
        if self.options.forever:  # reauto serve --campaign: a signal stops new dials, live calls finish
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, dialer.stop)
                self._signals.append(sig)
        await asyncio.to_thread(dialer.config.turn_taking.models)  # the voice models open before the first call

    async def _start_metrics(self) -> None:
        """The store's gauges (due leads, abandoned ratio, connections) when metrics are served or
        the run serves (a serving worker's /metrics is its web server's), and the /metrics and
        /live endpoint on ``options.metrics``."""
        metrics, gate, campaign_id = self.options.metrics, self._gate, self._campaign_id
        if metrics is not None or self.options.forever:
            assert self._engine is not None  # opened by run()
            self._watcher = asyncio.create_task(watch_store(self._engine, self._count_due,
                                                            lambda: gate.abandon_rate(campaign_id), self.campaign.name),
                                                name="store-metrics")
        if metrics is not None:
            self._server = MonitoringServer(self._live, host=metrics[0], port=metrics[1])
            await self._server.start()
            self._say(f"metrics on http://{metrics[0]}:{self._server.port}/metrics, live calls on /live")

    async def _dial(self, dialer: Dialer) -> _Ended:
        """Run the dialer until it stops (inside the live view), hear again what the second listen
        has left, and read where the campaign stands."""
        view = self._view
        # settled_gc: what is loaded now is not walked by the collector while calls run
        with settled_gc(), (view.showing() if view is not None else nullcontext()):
            summaries = await dialer.run()
        heard = await self._follower.finish() if self._follower is not None else None
        async with self._sessions() as s:
            abandoned, answered = await repositories.abandoned_calls(s, self._campaign_id,
                                                                     now=self._gate.store_clock())
            paused = await is_paused(s, self._campaign_id)
        utilisation = await self._guard.utilisation()
        return _Ended(summaries, heard, abandoned, answered, paused, utilisation)

    async def _close(self) -> None:
        """Close what was opened, in this order: signal handlers, gauges, metrics endpoint, second
        listen, analyst, budget counters, telephony, web server, wake bus, booking confirmations
        in flight, CRM push, conversation state, voice (speech, recognition, LLM), store."""
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        if self._watcher is not None:
            self._watcher.cancel()
        if self._server is not None:
            await self._server.close()
        if self._follower is not None:
            await self._follower.finish(0)  # a failed run: the next dialer hears what is left
        if self._analyst is not None:
            await self._analyst.finish()
        if self._reservations is not None:
            await self._reservations.close()
        if self._telephony is not None:
            await self._telephony.close()
        if self._web is not None:
            await self._web.close()
        if self._bus is not None:
            await self._bus.close()
        await asyncio.gather(*(s.drain() for s in self._schedulers))
        if self._realtime is not None:
            await self._realtime.close()
        if self._conversations is not None:
            await self._conversations.close()
        await asyncio.gather(*(part.close() for part in (self._stt, self._tts, self._llm) if part is not None))
        if self._engine is not None:
            await self._engine.dispose()

    def _result(self, dialer: Dialer, ended: _Ended) -> DialResult:
        summaries, guard, gate = ended.summaries, self._guard, self._gate
        alerts = list(guard.alerts.raised) if guard.alerts is not None else []
        return DialResult(summaries, dialer.denied, {
            "tts_cache": {"hits": self._cache.hits, "misses": self._cache.misses},
            "tts_tiers": {"premium": self._tiers.premium, "local": self._tiers.local},
            "spend": {"total_usd": round(sum(c.cost_usd for c in summaries), 6),
                      "budget_utilisation": round(ended.utilisation, 4),
                      "refused_for_budget": guard.refusals, "alerts": alerts,
                      "overspent_calls": [{"call_id": c, "spent_usd": str(x), "held_usd": str(h)}
                                          for c, x, h in dialer.overspent]},
            "abandoned_30d": {"calls": ended.abandoned, "answered_by_a_person": ended.answered,
                              "rate": ended.abandoned / ended.answered if ended.answered else None,
                              "ceiling": gate.rules.abandon_ceiling},
            "stopped": dialer.stopped.as_json() if dialer.stopped is not None else None,
            "recovered": {"leads": len(dialer.recovered.leads), "calls": len(dialer.recovered.calls),
                          "holds": len(dialer.recovered.holds)},
            "admission": dialer.admission.status() if dialer.admission is not None else None,
            "second_listen": ended.heard,
            "paused": ended.paused,
        })

    # --- callbacks ----------------------------------------------------------------------------

    def _wake(self, posted_to: int) -> None:
        """A lead was posted (here or to another process's server): dial it now, not at the next poll."""
        if posted_to == self._campaign_id and self.dialer is not None:
            self.dialer.wake()

    def _live(self) -> list[dict[str, Any]]:
        """The calls in progress, for /live."""
        return live_rows(self.dialer.live) if self.dialer is not None else []

    def _scheduler_for(self, lead: Lead) -> Scheduler:
        """A booking call's scheduler; the run waits for its confirmations before it closes."""
        self._schedulers[:] = [s for s in self._schedulers if any(not t.done() for t in s.confirmations)]
        scheduler = Scheduler(self._sessions, self.campaign, lead, settings=self.settings.scheduling, feed=self._feed,
                              texter=self._texter, clock=self._gate.clock)
        self._schedulers.append(scheduler)
        return scheduler

    async def _count_due(self) -> int:
        async with self._sessions() as s:
            return await repositories.due_count(s, self._campaign_id, now=self._gate.store_clock())


def _each(*listeners: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """One callback that tells each of ``listeners`` (None: none given)."""
    told = [f for f in listeners if f is not None]
    if not told:
        return None

    def tell(call_id: int) -> None:
        for listener in told:
            listener(call_id)
    return tell


def _elapsed(started: float) -> timedelta:
    """The real time since ``started`` (a :func:`time.monotonic` reading)."""
    return timedelta(seconds=time.monotonic() - started)


def _drop(_line: str) -> None:
    """``on_message`` when none is given."""
