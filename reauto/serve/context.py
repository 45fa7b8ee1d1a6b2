"""What a ``reauto serve`` app's routes share: one :class:`ServeContext` on the app's state.

:func:`~reauto.serve.app.create_app` puts the context on ``app.state``; each route takes it as
the :data:`Context` dependency.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from reauto.breaker import Breaker
from reauto.config import IntakeSettings, TwilioSettings
from reauto.dialer.records import CallRecorder
from reauto.metrics import served_registry
from reauto.serve.security import ReplayGuard
from reauto.telephony.twilio import CallRegistry


@dataclass
class ServeContext:
    """What the server needs from the process it runs in.

    Attributes:
        settings: ``[twilio]`` (auth token, public URL, proxy trust, body limit).
        registry: the calls this process placed (TwiML, tokens, waiting dialers).
        sessions: the store, for the call lifecycle (None: callbacks only reach the registry).
        checks: readiness probes by name (database, redis …); each raises when not ready.
        breakers: breakers whose state ``/readyz`` reports (an open one makes it not ready).
        live: the calls in progress as JSON rows (``/live``, read by ``reauto top``).
    """

    settings: TwilioSettings
    registry: CallRegistry
    sessions: async_sessionmaker[AsyncSession] | None = None
    checks: dict[str, Callable[[], Awaitable[Any]]] = field(default_factory=dict)
    breakers: list[Breaker] = field(default_factory=list)
    live: Callable[[], list[dict[str, Any]]] | None = None
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    media_start_timeout_s: float = 10.0
    intake: IntakeSettings | None = None
    engine: AsyncEngine | None = None
    region: str = "US"
    on_intake: Callable[[int], Any] | None = None  # wakes the campaign's dialers (by id; may be async)
    followupboss: Any = None  # reauto.intake.followupboss.FollowUpBoss when its webhooks are taken

    @functools.cached_property
    def recorder(self) -> CallRecorder | None:
        """The call lifecycle's events (answering-machine results); None without a store."""
        return CallRecorder(self.sessions) if self.sessions is not None else None

    @functools.cached_property
    def metrics_registry(self) -> CollectorRegistry:
        """The registry ``/metrics`` serves (:func:`reauto.metrics.served_registry`)."""
        return served_registry()


def serve_context(connection: HTTPConnection) -> ServeContext:
    """The app's context, for a route (HTTP or WebSocket)."""
    context: ServeContext = connection.app.state.context
    return context


#: A route's parameter for the app's context.
Context = Annotated[ServeContext, Depends(serve_context)]
