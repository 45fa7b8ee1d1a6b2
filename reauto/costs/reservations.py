"""Budget counters shared by every dialer: spent and reserved dollars per budget window.

Amounts are integer micro-dollars. A call *holds* money before it is dialed and while it runs;
``reserve`` adds to a hold only if every window it touches still has room (all or nothing, in
one atomic step: a Lua script on Redis, a lock in-process), and ``settle`` turns a hold into
what was really spent. So concurrent dialers can never together commit more than a budget.

A window whose counters are missing (Redis restarted without persistence, or a key expired)
answers ``None``: the :class:`~reauto.costs.budget.BudgetGuard` restores it from the cost ledger
in the store and asks again.
"""

from __future__ import annotations

import asyncio
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from reauto.config import RedisSettings
from reauto.costs.holds import HeldMoney


def counter_errors() -> tuple[type[BaseException], ...]:
    """The errors a counter store raises when it is unreachable or times out.

    ``RedisError`` joins ``OSError`` and ``TimeoutError`` once the Redis client is imported
    (:class:`RedisReservations` imports it): before that no counter can raise one, and commands
    without ``[redis] url`` (``reauto budget status``) do not pay the client's import. Meant for
    ``except counter_errors():``, which Python evaluates only when an exception is on its way.
    """
    client_errors = sys.modules.get("redis.exceptions")
    if client_errors is None:
        return (OSError, TimeoutError)
    return (OSError, TimeoutError, client_errors.RedisError)


#: Counters live this long after their window ends (for ``budget status`` of a past period).
KEEP_AFTER_S = 8 * 24 * 3600


@dataclass(frozen=True)
class Counter:
    """One budget window's counters: its key, its limit and when it may be forgotten."""

    key: str
    limit: int
    expires_at: int  # unix seconds


class Reservations(ABC):
    """Spent / reserved counters per budget window."""

    @abstractmethod
    async def reserve(self, counters: Sequence[Counter], hold: str, amount: int) -> bool | None:
        """Add ``amount`` to ``hold`` in every window if all have room; None if one is missing."""

    @abstractmethod
    async def settle(self, counters: Sequence[Counter], hold: str, spent: int) -> None:
        """Release ``hold`` and add ``spent`` (a hold the counters no longer know adds nothing:
        the ledger the window was restored from already has it)."""

    @abstractmethod
    async def snapshot(self, counter: Counter) -> tuple[int, int] | None:
        """(spent, reserved), or None when the window's counters are missing."""

    @abstractmethod
    async def restore(self, counter: Counter, spent: int, holds: dict[str, int]) -> None:
        """Create a missing window from the ledger's spent total and the holds still running."""

    @abstractmethod
    async def held(self) -> list[HeldMoney]:
        """Every hold in every window the counters keep (current and past periods)."""

    @abstractmethod
    async def release(self, windows: Sequence[str], hold: str, spent: int) -> None:
        """:meth:`settle` by window keys (as :meth:`held` names them): a hold whose dialer is gone."""

    async def close(self) -> None:  # noqa: B027 (optional)
        """Release connections."""


class MemoryReservations(Reservations):
    """In-process counters (the embedded default: one dialer process)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._windows: dict[str, dict[str, int]] = {}

    async def reserve(self, counters: Sequence[Counter], hold: str, amount: int) -> bool | None:
        async with self._lock:
            if any(c.key not in self._windows for c in counters):
                return None
            for c in counters:
                w = self._windows[c.key]
                if w["spent"] + w["reserved"] + amount > c.limit:
                    return False
            for c in counters:
                w = self._windows[c.key]
                w["reserved"] += amount
                w["hold:" + hold] = w.get("hold:" + hold, 0) + amount
            return True

    async def settle(self, counters: Sequence[Counter], hold: str, spent: int) -> None:
        async with self._lock:
            for c in counters:
                w = self._windows.get(c.key)
                if w is None or ("hold:" + hold) not in w:
                    continue
                w["reserved"] -= w.pop("hold:" + hold)
                w["spent"] += spent

    async def snapshot(self, counter: Counter) -> tuple[int, int] | None:
        w = self._windows.get(counter.key)
        return None if w is None else (w["spent"], w["reserved"])

    async def restore(self, counter: Counter, spent: int, holds: dict[str, int]) -> None:
        async with self._lock:
            if counter.key not in self._windows:
                self._windows[counter.key] = {"spent": spent, "reserved": sum(holds.values()),
                                              **{"hold:" + h: a for h, a in holds.items()}}

    async def held(self) -> list[HeldMoney]:
        found: dict[str, dict[str, int]] = {}
        for key, w in self._windows.items():
            for name, amount in w.items():
                if name.startswith("hold:"):
                    found.setdefault(name[5:], {})[key] = amount
        return [HeldMoney(ref, windows) for ref, windows in sorted(found.items())]

    async def release(self, windows: Sequence[str], hold: str, spent: int) -> None:
        await self.settle([Counter(key, 0, 0) for key in windows], hold, spent)


_RESERVE = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then return -1 end
end
local amount = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  if spent + reserved + amount > tonumber(ARGV[2 + i]) then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'reserved', amount)
  redis.call('HINCRBY', key, 'hold:' .. ARGV[1], amount)
end
return 1
"""

_SETTLE = """
for i, key in ipairs(KEYS) do
  local held = redis.call('HGET', key, 'hold:' .. ARGV[1])
  if held then
    redis.call('HINCRBY', key, 'reserved', -tonumber(held))
    redis.call('HDEL', key, 'hold:' .. ARGV[1])
    redis.call('HINCRBY', key, 'spent', tonumber(ARGV[2]))
  end
end
return 1
"""

_RESTORE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spent', ARGV[1], 'reserved', ARGV[2])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], 'hold:' .. ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
"""


def reservations_for(settings: RedisSettings) -> Reservations:
    """The shared counters in Redis when ``[redis] url`` is set, else in-process ones."""
    if settings.url:
        return RedisReservations(settings.url, prefix=settings.key_prefix, timeout_s=settings.socket_timeout_s)
    return MemoryReservations()


class RedisReservations(Reservations):
    """Counters in Redis, shared by every dialer process (atomic Lua scripts).

    Args:
        url: the Redis server.
        prefix: key prefix (``[redis] key_prefix``).
        timeout_s: per-command timeout.
    """

    def __init__(self, url: str, *, prefix: str = "reauto:", timeout_s: float = 2.0) -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix
        self.client = aioredis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                        retry_on_timeout=True, health_check_interval=10)
        self._reserve = self.client.register_script(_RESERVE)
        self._settle = self.client.register_script(_SETTLE)
        self._restore = self.client.register_script(_RESTORE)

    def _key(self, counter: Counter) -> str:
        return f"{self.prefix}budget:{counter.key}"

    async def reserve(self, counters: Sequence[Counter], hold: str, amount: int) -> bool | None:
        if not counters:
            return True
        result = int(await self._reserve(keys=[self._key(c) for c in counters],
                                         args=[hold, amount, *(c.limit for c in counters)]))
        return None if result < 0 else bool(result)

    async def settle(self, counters: Sequence[Counter], hold: str, spent: int) -> None:
        if counters:
            await self._settle(keys=[self._key(c) for c in counters], args=[hold, spent])

    async def snapshot(self, counter: Counter) -> tuple[int, int] | None:
        values = await self.client.hmget(self._key(counter), ["spent", "reserved"])
        if values[0] is None:
            return None
        return int(values[0]), int(values[1] or 0)

    async def restore(self, counter: Counter, spent: int, holds: dict[str, int]) -> None:
        flat = [x for h, a in holds.items() for x in (h, a)]
        await self._restore(keys=[self._key(counter)],
                            args=[spent, sum(holds.values()), counter.expires_at + KEEP_AFTER_S, *flat])

    async def held(self) -> list[HeldMoney]:
        found: dict[str, dict[str, int]] = {}
        start = len(self._key(Counter("", 0, 0)))
        async for raw in self.client.scan_iter(match=self._key(Counter("*", 0, 0)), count=500):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            fields = await self.client.hgetall(key)
            for name, amount in fields.items():
                name = name.decode() if isinstance(name, bytes) else str(name)
                if name.startswith("hold:"):
                    found.setdefault(name[5:], {})[key[start:]] = int(amount)
        return [HeldMoney(ref, windows) for ref, windows in sorted(found.items())]

    async def release(self, windows: Sequence[str], hold: str, spent: int) -> None:
        await self.settle([Counter(key, 0, 0) for key in windows], hold, spent)

    async def close(self) -> None:
        await self.client.aclose()
