"""Building a dial run: what :class:`~reauto.dialer.run.DialRun` opens and builds, in order.

:class:`DialBuild` checks that the store is migrated, opens the voice (recognition, speech, the
LLM), the phone lines (simulated, or Twilio with its web server), the collaborators the calls
report to (texts, bookings, the second listen, the LLM's post-call analysis, the real-time CRM
push), and builds the :class:`~reauto.dialer.engine.Dialer` over them; each part it opens is kept
where :class:`~reauto.dialer.run.DialRun`, which runs the dialer, closes it. The web server is
started by the caller's ``web`` (:func:`reauto.serve.embed.start_server`): the dialer does not
import the web stack that serves it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reauto.agent.llm import LLMParts
from reauto.breaker import Breaker
from reauto.campaign import Campaign
from reauto.config import Settings
from reauto.costs.alerts import Alerter
from reauto.costs.budget import BudgetGuard
from reauto.costs.pricing import Catalogue
from reauto.costs.reservations import Reservations, reservations_for
from reauto.costs.tiering import TierStats, tiered_tts
from reauto.dialer import assembly
from reauto.dialer.engine import Dialer, DialerConfig
from reauto.dialer.inbound import spoken
from reauto.dialer.postcall import LLMAnalyst
from reauto.dialer.second_listen import Follower, SecondListen
from reauto.dialer.texting import Texter
from reauto.errors import UsageError
from reauto.export.realtime import RealtimeExport
from reauto.intake.wake import WakeBus, wake_bus_for
from reauto.monitoring.server import live_rows
from reauto.scheduling.booking import BusyFeed, Scheduler
from reauto.sessions import SessionStore, sessions_for
from reauto.store import repositories
from reauto.store.engine import ping, session_factory
from reauto.store.migrate import current, history
from reauto.store.models import Lead
from reauto.stt.pool import ProcessPoolSTT
from reauto.telephony import REGISTRY as TELEPHONY
from reauto.telephony.base import Lines, Telephony
from reauto.telephony.twilio import CallRegistry
from reauto.tts.base import TTSProvider
from reauto.tts.cache import AudioCache
from reauto.tts.factory import create_tiers


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


class WebFront(Protocol):
    """A listening web server (webhooks, media streams, lead intake): closed when the run ends."""

    host: str
    port: int

    async def close(self) -> None:
        """Stop listening."""


class StartWeb(Protocol):
    """Starts the web server of a run whose calls Twilio reaches, or that serves (lead intake):
    :func:`reauto.serve.embed.start_server`."""

    def __call__(self, cfg: Settings, *, registry: CallRegistry, sessions: Any, engine: Any,
                 breakers: list[Breaker], live: Callable[[], list[dict[str, Any]]] | None,
                 on_intake: Callable[[int], Any] | None = None) -> Awaitable[WebFront]:
        """The server, listening."""


class DialBuild:
    """Opens and builds a campaign's dial run, in this order: the store (schema check, the
    campaign's row, the compliance gate), the voice (recognition, tiered speech, the LLM), the
    lines (conversation state, wake bus, telephony and its web server), the collaborators and the
    dialer. What it opened is in its attributes (``None``: not opened), for the run to close.

    Args:
        settings: the settings.
        campaign: the campaign to dial.
        options: how the run goes.
        on_message: told each line worth showing a person (the servers' addresses, a warning
            starting ``warning: ``); ``None``: they are dropped.
        web: starts the web server of a Twilio campaign, or of a run that serves
            (``options.forever``); ``None``: such a run is refused.
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
                 on_message: Callable[[str], None] | None = None, web: StartWeb | None = None) -> None:
        self.settings = settings
        self.campaign = campaign
        self.options = options
        self.dialer: Dialer | None = None
        self._say = on_message or _drop
        self._start_web = web
        # what the run opens: DialRun closes each that was opened
        self._engine: AsyncEngine | None = None
        self._stt: ProcessPoolSTT | None = None
        self._tts: TTSProvider | None = None
        self._llm: LLMParts | None = None
        self._reservations: Reservations | None = None
        self._conversations: SessionStore | None = None
        self._bus: WakeBus | None = None
        self._telephony: Telephony | None = None
        self._web: WebFront | None = None
        self._realtime: RealtimeExport | None = None
        self._follower: Follower | None = None
        self._analyst: LLMAnalyst | None = None
        self._schedulers: list[Scheduler] = []  # this run's calls that may still be sending a booking confirmation

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
        calls = CallRegistry(cfg.twilio.public_url if campaign.telephony == "twilio" else "")
        lines = Lines(amd=campaign.amd, on_agent_text=self.options.agent_text_tap, calls=calls,
                      speed=self.options.speed, personas=assembly.lead_scripts(campaign),
                      human_agents=assembly.human_agents(campaign))
        telephony = self._telephony = TELEPHONY.create(campaign.telephony, cfg, lines)
        await telephony.start()
        if telephony.webhooks or self.options.forever:  # a serving simulated campaign still takes posted leads
            self._web = await self._serve(engine, calls, [telephony.breaker] if telephony.breaker else [])
        await bus.start()
        web = self._web
        if web is not None:
            self._say(f"webhooks, media streams and lead intake (/v1/leads) on http://{web.host}:{web.port}")

    async def _serve(self, engine: AsyncEngine, registry: CallRegistry, breakers: list[Breaker]) -> WebFront:
        """The run's web server (webhooks, media streams, lead intake), listening.

        Raises:
            UsageError: the run was given no ``web`` to start it with.
        """
        if self._start_web is None:
            raise UsageError("this dial run needs a web server (Twilio telephony, or serving): give it `web`")
        assert self._bus is not None  # opened by _open_lines
        return await self._start_web(self.settings, registry=registry, sessions=self._sessions, engine=engine,
                                     breakers=breakers, live=self._live, on_intake=self._bus.publish)

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
