"""One dial run: a campaign's dialer and everything it calls through, built, run and closed.

``reauto dial``, ``reauto serve --campaign``, the tests and the benchmarks dial a campaign
through :class:`DialRun`. It builds the run (:class:`~reauto.dialer.building.DialBuild`: the
store, the voice, the phone lines, the collaborators the calls report to, the dialer), starts the
store's gauges, runs the :class:`~reauto.dialer.engine.Dialer` until it stops, and closes
everything it opened, in one order, also when a step fails part-way. It prints nothing: its lines
go to ``on_message``, and the live table of calls in progress is the caller's (:class:`LiveView`).

Example::

    result = await DialRun(settings, load_campaign("campaigns/demo.yaml"), DialOptions(max_calls=5)).run()
    print(len(result.summaries), result.extra["spend"]["total_usd"])
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from reauto.campaign import Campaign
from reauto.config import Settings
from reauto.dialer.building import DialBuild, DialOptions, StartWeb
from reauto.dialer.control import is_paused
from reauto.dialer.engine import Dialer
from reauto.dialer.results import CallSummary, LiveCall
from reauto.monitoring.server import MonitoringServer, watch_store
from reauto.runtime import settled_gc
from reauto.store import repositories
from reauto.store.engine import make_engine
from reauto.voice.pipeline import quiet_pipecat


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


class DialRun(DialBuild):
    """Builds a campaign's dial run (:class:`~reauto.dialer.building.DialBuild`), runs it, and
    closes everything it opened.

    A ``DialRun`` runs once. What runs beside the calls (metrics, signal handlers) is started
    after the dialer is built.

    Args:
        settings, campaign, options, on_message, web: as :class:`~reauto.dialer.building.DialBuild`
            takes them (``web``: :func:`reauto.serve.embed.start_server`).
        view: the live view of the calls in progress; ``None``: none.
    """

    def __init__(self, settings: Settings, campaign: Campaign, options: DialOptions, *,
                 on_message: Callable[[str], None] | None = None, view: LiveView | None = None,
                 web: StartWeb | None = None) -> None:
        super().__init__(settings, campaign, options, on_message=on_message, web=web)
        self._view = view
        # what runs beside the calls: _close() closes each that was started
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
            UsageError: the database schema is not up to date (``reauto db upgrade``), or the
                run needs a web server (Twilio, or ``options.forever``) and was given no ``web``.
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
