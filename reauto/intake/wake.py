"""Wake dialers in other processes when a lead is posted: Redis pub/sub or PostgreSQL LISTEN/NOTIFY.

``reauto serve`` may take leads while ``reauto dial`` workers run elsewhere. The process that stores
a posted lead publishes the campaign's id; every dialer of that campaign listening on the bus looks
for due leads at once instead of at its next poll. Which bus: Redis when ``[redis] url`` is set,
else PostgreSQL's ``LISTEN``/``NOTIFY`` when the store is PostgreSQL, else in-process only (the
embedded SQLite store serves one process). A lost wake-up only costs a poll interval: publishing
never fails a request, and a listener that loses its connection reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.breaker import Breaker

log = logging.getLogger(__name__)

#: The PostgreSQL channel (and, with the key prefix, the Redis channel) posted campaign ids go to.
CHANNEL = "reauto_leads_posted"
OnWake = Callable[[int], None]


class WakeBus(ABC):
    """Publishes "a lead was posted to campaign N" and calls ``on_wake(N)`` for every publication
    heard, this process's own included (so one bus serves the server and the dialer alike)."""

    name = "local"

    def __init__(self, *, timeout_s: float = 2.0) -> None:
        self.timeout_s = timeout_s
        self._listeners: list[OnWake] = []
        self.breaker = Breaker(threshold=3, reset_s=10.0, name=f"wake:{self.name}")

    def subscribe(self, on_wake: OnWake) -> None:
        self._listeners.append(on_wake)

    async def start(self) -> None:
        """Begin listening (a bus with no subscriber only publishes)."""

    async def close(self) -> None:
        """Stop listening and release connections."""

    async def publish(self, campaign_id: int) -> None:
        """Wake this process's listeners at once, then the other processes' (best effort)."""
        self._deliver(campaign_id)
        if not self.breaker.allow():
            return
        try:
            await asyncio.wait_for(self._send(campaign_id), self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - the lead is stored; other dialers find it at their poll
            self.breaker.failure()
            log.warning("could not wake other dialers through %s (they will poll): %s: %s", self.name,
                        type(exc).__name__, exc)
        else:
            self.breaker.success()

    async def _send(self, campaign_id: int) -> None:
        """Tell the other processes (nothing to do in-process)."""

    def _deliver(self, campaign_id: int) -> None:
        for listener in self._listeners:
            try:
                listener(campaign_id)
            except Exception:  # noqa: BLE001 - one broken listener must not silence the others
                log.exception("wake listener failed")

    def _heard(self, payload: Any, own: set[str] | None = None) -> None:
        """A publication from the bus (our own ones were delivered already at publish)."""
        raw = payload.decode() if isinstance(payload, bytes) else str(payload)
        sender, _, campaign = raw.partition(":")
        if own is not None and sender in own:
            return
        if campaign.isdigit():
            self._deliver(int(campaign))


class LocalWake(WakeBus):
    """In-process only: the embedded (SQLite) store is served by one process."""

    name = "local"


class _ListeningBus(WakeBus):
    """A bus with a background listener that reconnects after a lost connection."""

    retry_s = (0.2, 0.5, 1.0, 2.0, 5.0)

    def __init__(self, *, timeout_s: float = 2.0) -> None:
        super().__init__(timeout_s=timeout_s)
        import uuid

        self.sender = uuid.uuid4().hex[:12]
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        if self._listeners and self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name=f"wake-{self.name}")
            try:  # a publication right after start must be heard: wait for the subscription
                await asyncio.wait_for(self.listening.wait(), self.timeout_s * 2)
            except TimeoutError:
                log.warning("%s wake-up listener not connected yet; retrying in the background", self.name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect; dialers poll meanwhile
                self.listening.clear()
                delay = self.retry_s[min(failures, len(self.retry_s) - 1)]
                failures += 1
                log.warning("%s wake-up listener lost (%s: %s); reconnecting in %.1f s", self.name,
                            type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    @abstractmethod
    async def _listen(self) -> None:
        """Subscribe, set :attr:`listening`, and deliver what is heard until the connection ends."""

    def _payload(self, campaign_id: int) -> str:
        return f"{self.sender}:{campaign_id}"


class RedisWake(_ListeningBus):
    """Redis pub/sub on ``<key_prefix>leads:posted``."""

    name = "redis"

    def __init__(self, url: str, *, key_prefix: str = "reauto:", timeout_s: float = 2.0) -> None:
        super().__init__(timeout_s=timeout_s)
        import redis.asyncio as aioredis

        self.channel = f"{key_prefix}leads:posted"
        self._client = aioredis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._url = url

    async def _send(self, campaign_id: int) -> None:
        await self._client.publish(self.channel, self._payload(campaign_id))

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        # a subscriber blocks on reads: no socket timeout on its own connection
        client = aioredis.from_url(self._url, socket_connect_timeout=self.timeout_s, socket_timeout=None)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.listening.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._heard(message["data"], {self.sender})
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def close(self) -> None:
        await super().close()
        await self._client.aclose()


class PostgresWake(_ListeningBus):
    """PostgreSQL ``NOTIFY reauto_leads_posted`` (published through the store's engine) and a
    dedicated ``LISTEN`` connection."""

    name = "postgresql"

    def __init__(self, engine: AsyncEngine, *, timeout_s: float = 2.0) -> None:
        super().__init__(timeout_s=timeout_s)
        self.engine = engine

    async def _send(self, campaign_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                               {"channel": CHANNEL, "payload": self._payload(campaign_id)})

    async def _listen(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        conn = await psycopg.AsyncConnection.connect(url.render_as_string(hide_password=False),
                                                     autocommit=True, connect_timeout=max(1, int(self.timeout_s)))
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            async for note in conn.notifies():
                self._heard(note.payload, {self.sender})
        finally:
            await conn.close()


def wake_bus_for(cfg: Any, engine: AsyncEngine) -> WakeBus:
    """The bus the settings call for: Redis if configured, else PostgreSQL, else in-process."""
    if cfg.redis.url:
        return RedisWake(cfg.redis.url, key_prefix=cfg.redis.key_prefix, timeout_s=cfg.redis.socket_timeout_s)
    if engine.dialect.name == "postgresql":
        return PostgresWake(engine, timeout_s=cfg.database.connect_timeout_s)
    return LocalWake()
