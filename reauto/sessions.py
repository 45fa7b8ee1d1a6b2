"""Conversation session state: where each live call's conversation stands, outside the process.

The dialer checkpoints every call's brain (active agent, history, slots, the offers on the table)
after each turn. In Redis (``[redis] url``) a session is shared by every worker and survives a
restart of the one running the call; the embedded default keeps sessions in this process. Each
session expires ``ttl_s`` after its last checkpoint, and is deleted when the call ends. While
Redis cannot be reached, sessions are kept in this process instead (a call resumed by this
process still finds them); they go back to Redis with the next checkpoint once it answers.
"""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from typing import Any

log = logging.getLogger(__name__)

#: A session outlives its last checkpoint by this long (longer than any call: Twilio's limit is 4 h).
DEFAULT_TTL_S = 6 * 3600.0


class SessionStore(ABC):
    """Save, load and delete one call's session (a JSON-able dict) by call id."""

    name = "memory"

    def __init__(self, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.ttl_s = ttl_s

    @abstractmethod
    async def save(self, call_id: int, state: dict[str, Any]) -> None: ...

    @abstractmethod
    async def load(self, call_id: int) -> dict[str, Any] | None: ...

    @abstractmethod
    async def delete(self, call_id: int) -> None: ...

    @abstractmethod
    async def live(self) -> list[int]:
        """The calls that have a session now."""

    async def close(self) -> None:
        """Release connections."""


class MemorySessions(SessionStore):
    """In this process (the embedded default): gone with the process."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S) -> None:
        super().__init__(ttl_s)
        self._items: dict[int, tuple[float, str]] = {}

    def _expire(self) -> None:
        now = time.monotonic()
        for call_id in [k for k, (until, _) in self._items.items() if until <= now]:
            del self._items[call_id]

    async def save(self, call_id: int, state: dict[str, Any]) -> None:
        self._expire()
        self._items[call_id] = (time.monotonic() + self.ttl_s, json.dumps(state))

    async def load(self, call_id: int) -> dict[str, Any] | None:
        self._expire()
        found = self._items.get(call_id)
        return json.loads(found[1]) if found else None

    async def delete(self, call_id: int) -> None:
        self._items.pop(call_id, None)

    async def live(self) -> list[int]:
        self._expire()
        return sorted(self._items)


class RedisSessions(SessionStore):
    """``<key_prefix>session:<call id>`` in Redis, JSON, with an expiry refreshed at every save.

    A save, load or delete that fails because Redis is unreachable falls back to an in-process
    copy, so an outage never costs the live calls their checkpoints.
    """

    name = "redis"

    def __init__(self, url: str, *, key_prefix: str = "reauto:", ttl_s: float = DEFAULT_TTL_S,
                 timeout_s: float = 2.0) -> None:
        super().__init__(ttl_s)
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        self.prefix = f"{key_prefix}session:"
        self._client = aioredis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
        self.local = MemorySessions(ttl_s)  # what could not reach Redis
        self.degraded = False

    def _down(self, exc: BaseException) -> None:
        if not self.degraded:
            log.warning("sessions: Redis unreachable (%s: %s); keeping them in this process", type(exc).__name__, exc)
        self.degraded = True

    def _up(self) -> None:
        if self.degraded:
            log.info("sessions: Redis answers again")
        self.degraded = False

    async def save(self, call_id: int, state: dict[str, Any]) -> None:
        try:
            await self._client.set(f"{self.prefix}{call_id}", json.dumps(state), px=int(self.ttl_s * 1000))
        except self._errors as exc:
            self._down(exc)
            await self.local.save(call_id, state)
            return
        self._up()
        await self.local.delete(call_id)  # Redis has the newest copy again

    async def load(self, call_id: int) -> dict[str, Any] | None:
        local = await self.local.load(call_id)
        if local is not None:
            return local  # saved while Redis was away: newer than any copy there
        try:
            raw = await self._client.get(f"{self.prefix}{call_id}")
        except self._errors as exc:
            self._down(exc)
            return None
        return json.loads(raw) if raw else None

    async def delete(self, call_id: int) -> None:
        await self.local.delete(call_id)
        try:
            await self._client.delete(f"{self.prefix}{call_id}")
        except self._errors as exc:
            self._down(exc)  # it expires by itself

    async def live(self) -> list[int]:
        found = set(await self.local.live())
        try:
            keys = [k.decode() async for k in self._client.scan_iter(match=f"{self.prefix}*", count=500)]
        except self._errors as exc:
            self._down(exc)
            return sorted(found)
        found.update(int(k.rsplit(":", 1)[1]) for k in keys if k.rsplit(":", 1)[1].isdigit())
        return sorted(found)

    async def close(self) -> None:
        await self._client.aclose()


def sessions_for(redis: Any, ttl_s: float = DEFAULT_TTL_S) -> SessionStore:
    """Redis sessions when ``[redis] url`` is set, else in-process ones."""
    if redis.url:
        return RedisSessions(redis.url, key_prefix=redis.key_prefix, ttl_s=ttl_s, timeout_s=redis.socket_timeout_s)
    return MemorySessions(ttl_s)
