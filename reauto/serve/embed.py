"""The web server of a process that dials or serves: webhooks, media streams, lead intake, health.

``reauto serve`` starts it alone; ``reauto dial`` (with ``telephony: twilio``) and ``reauto serve
--campaign`` give :func:`start_server` to their dial run (:class:`reauto.dialer.run.DialRun`), which
starts it beside its telephony, so Twilio's media streams reach the process whose dialer placed the call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from reauto.config import Settings
from reauto.serve.app import create_app
from reauto.serve.context import ServeContext
from reauto.serve.server import WebServer
from reauto.telephony.twilio import CallRegistry


def readiness_checks(cfg: Settings, engine: Any) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Probes for ``/readyz``: the store, and Redis when one is configured."""
    from reauto.store.engine import ping

    checks: dict[str, Callable[[], Awaitable[Any]]] = {"database": lambda: ping(engine)}
    if cfg.redis.url:
        url, timeout = cfg.redis.url, cfg.redis.socket_timeout_s

        async def redis_ping() -> None:
            import redis.asyncio as aioredis

            client = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
            try:
                await client.ping()
            finally:
                await client.aclose()

        checks["redis"] = redis_ping
    return checks


async def start_server(cfg: Settings, *, registry: CallRegistry, sessions: Any, engine: Any,
                       breakers: list[Any], live: Callable[[], list[dict[str, Any]]] | None,
                       host: str | None = None, port: int | None = None,
                       handle_signals: bool = False, on_intake: Callable[[int], Any] | None = None) -> WebServer:
    """The webhook/media/intake/health/metrics server, listening."""
    fub = None
    if cfg.followupboss.intake_campaign:
        from reauto.intake.followupboss import FollowUpBoss

        fub = FollowUpBoss(cfg.followupboss)  # its breaker is a metric, not readiness: calls go on
    app = create_app(ServeContext(cfg.twilio, registry, sessions, checks=readiness_checks(cfg, engine),
                                  breakers=breakers, live=live, intake=cfg.intake, engine=engine,
                                  region=cfg.default_region, on_intake=on_intake, followupboss=fub))
    server = WebServer(app, host=host or cfg.twilio.listen_host,
                       port=cfg.twilio.listen_port if port is None else port, handle_signals=handle_signals)
    if fub is not None:
        server.closers.append(fub.close)
    try:
        await server.start()
    except BaseException:
        if fub is not None:
            await fub.close()
        raise
    return server
