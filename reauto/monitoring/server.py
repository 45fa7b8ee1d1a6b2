"""The monitoring endpoint of a running dialer: ``/metrics``, ``/live`` and ``/healthz``.

``/metrics`` is Prometheus' text exposition of :mod:`reauto.metrics`; ``/live`` is a JSON list
of the calls in progress (lead name, stage, turns, elapsed, running cost — what ``reauto top``
shows; it is never scraped into Prometheus, so per-call detail stays out of the metrics). It
binds to loopback by default: put it behind the operator's network policy to expose it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from reauto.metrics import LOOP_LAG, exposition, served_registry


class MonitoringServer:
    """Serves the endpoints on ``host:port`` inside the dialer's event loop.

    Args:
        live: returns the calls in progress as JSON-ready dicts.
        host: bind address (loopback by default).
        port: TCP port (0: any free port; see :attr:`port` after :meth:`start`).
    """

    def __init__(self, live: Callable[[], list[dict[str, Any]]], *, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.live = live
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._lag: asyncio.Task[None] | None = None
        self._registry = served_registry()

    async def start(self) -> None:
        app = web.Application(client_max_size=1024)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/live", self._live)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._lag = asyncio.create_task(watch_loop_lag(), name="loop-lag")

    async def close(self) -> None:
        if self._lag is not None:
            self._lag.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=exposition(self._registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _live(self, _request: web.Request) -> web.Response:
        return web.json_response({"calls": self.live()})

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


async def watch_loop_lag(interval_s: float = 0.1) -> None:
    """Observe how late the event loop wakes a timer (a busy loop delays every call's audio)."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval_s)
        LOOP_LAG.observe(max(0.0, loop.time() - started - interval_s))


def live_rows(calls: dict[int, Any], now: float | None = None) -> list[dict[str, Any]]:
    """The dialer's live calls as JSON rows (no phone numbers: the last four digits only)."""
    now = now if now is not None else time.monotonic()
    rows = []
    for call_id, c in sorted(calls.items()):
        rows.append({"call_id": call_id, "lead": c.lead_name, "phone": "…" + c.phone[-4:], "stage": c.stage,
                     "turns": c.turns, "elapsed_s": round(max(0.0, now - c.started), 1),
                     "cost_usd": round(c.cost, 6), "last": c.last_text[-80:]})
    return rows


async def watch_store(engine: Any, count_due: Callable[[], Any], abandon_ratio: Callable[[], Any], campaign: str,
                      every_s: float = 10.0) -> None:
    """Every ``every_s``: the dial queue's depth, the pool's connections, the abandoned-call ratio."""
    from reauto.metrics import ABANDONED_RATIO, QUEUE_DEPTH
    from reauto.store.engine import pool_stats

    while True:
        try:
            QUEUE_DEPTH.labels(campaign=campaign).set(await count_due())
            ratio = await abandon_ratio()
            if ratio is not None:
                ABANDONED_RATIO.labels(campaign=campaign).set(ratio)
            pool_stats(engine)
        except Exception as exc:  # noqa: BLE001 (monitoring must never stop the calls)
            import logging

            logging.getLogger(__name__).warning("store metrics not updated: %s", exc)
        await asyncio.sleep(every_s)
