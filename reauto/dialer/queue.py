"""One dialer's view of its campaign's dial queue: which leads it takes, and when it looks again.

The queue itself is in the store (:mod:`reauto.store.repositories`: dialable leads by priority,
then due time, claimed with a lease). A dialer claims up to its free call slots, leads just posted
first; with a hot lane the backlog never takes the lane's slots, so a fresh lead is dialed the
moment it arrives. Between claims the dialer naps until its next lead falls due, or for its poll
interval when that is sooner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.dialer.spool import store_unavailable
from reauto.store import repositories
from reauto.store.repositories import is_fresh
from reauto.store.models import Lead

CallTask = asyncio.Task[None]


@dataclass
class DialQueue:
    """Claims a campaign's due leads for one dialer.

    Args:
        lane: call slots the backlog never takes (the campaign's ``hot_lane``; at most all but one).
        poll_s: the longest nap between two looks at the queue.
        store_clock: the clock the store's due times are stamped with.
    """

    sessions: async_sessionmaker[AsyncSession]
    campaign_id: int
    worker: str
    lease: timedelta
    poll_s: float
    store_clock: Callable[[], datetime]
    lane: int = 0
    fresh_calls: set[CallTask] = field(default_factory=set)  # live calls to leads just posted (the lane's)

    async def claim(self, free: int, live: set[CallTask], limit: int) -> list[Lead]:
        """Claim up to ``free`` leads, fresh ones first; the backlog leaves the lane's slots free of
        ``limit`` (the ceiling, or what admission control allows now) and keeps at least one."""
        if not self.lane:
            return await self._claim(free)
        fresh = await self._claim(free, fresh=True)
        self.fresh_calls &= live
        room = min(free - len(fresh), max(1, limit - self.lane) - (len(live) - len(self.fresh_calls)))
        return [*fresh, *(await self._claim(room, fresh=False) if room > 0 else [])]

    def started(self, lead: Lead, call: CallTask) -> None:
        """A claimed lead's call is under way (a fresh lead's counts against the lane)."""
        if is_fresh(lead):
            self.fresh_calls.add(call)

    async def _claim(self, limit: int, *, fresh: bool | None = None) -> list[Lead]:
        async with self.sessions.begin() as s:
            leads = await repositories.claim_next_leads(s, self.campaign_id, worker=self.worker, lease=self.lease,
                                                        limit=limit, now=self.store_clock(), fresh=fresh)
            return list(leads)

    async def until_due(self) -> float:
        """Seconds to nap: ``poll_s``, or less when a lead falls due sooner (a callback booked for
        09:00 is dialed at 09:00, and a lead stamped by a server whose clock runs a little ahead of
        this one is dialed when this clock reaches its stamp, not a poll later)."""
        try:
            async with self.sessions() as s:
                at = await repositories.next_due_at(s, self.campaign_id, now=self.store_clock())
        except Exception as exc:  # noqa: BLE001 - the poll finds it; the store's outage is handled at the claim
            if not store_unavailable(exc):
                raise
            return self.poll_s
        if at is None:
            return self.poll_s
        return min(self.poll_s, max(0.05, (at - self.store_clock()).total_seconds() + 0.01))
