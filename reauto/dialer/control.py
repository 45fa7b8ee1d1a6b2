"""Pausing and resuming a campaign while its dialers run (``reauto campaign pause|resume``, and the
same over ``reauto serve``).

A pause is stored on the campaign's row under a row lock that every claim and every call opening
reads under a share lock (:func:`reauto.store.repositories.campaign_paused`): when
:func:`set_paused` returns, no dialer of the campaign, in any process, places another call. Calls
already live go on to their end; leads claimed but not yet dialed are given back, still due. A
``reauto dial`` run whose campaign is paused ends once its live calls have; a serving one
(``reauto serve --campaign``) waits, and a resume wakes it at once (the wake-up bus of lead
intake), or at its next poll.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from reauto.errors import UsageError
from reauto.store.models import Campaign
from reauto.store.types import utcnow


@dataclass(frozen=True)
class Control:
    """What a pause or a resume did."""

    campaign: str
    paused: bool
    changed: bool
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "paused": self.paused, "changed": self.changed, "at": self.at}


async def set_paused(engine: AsyncEngine, name: str, paused: bool, *,
                     wake: Callable[[int], Any] | None = None) -> Control:
    """Pause (``paused``) or resume the campaign named ``name``; a resume calls ``wake(id)``.

    Raises:
        UsageError: no campaign of that name is in the store.
    """
    now = utcnow()
    async with AsyncSession(engine) as s, s.begin():
        row = (await s.execute(select(Campaign).where(Campaign.name == name).with_for_update())).scalar_one_or_none()
        if row is None:
            raise UsageError(f"no campaign named {name!r} in the database (it is registered by its first dial)")
        changed = row.active == paused
        row.active, row.updated_at = not paused, now
        campaign_id = row.id
    if not paused and wake is not None:
        woken = wake(campaign_id)
        if inspect.isawaitable(woken):
            await woken
    return Control(name, paused, changed, now)


async def is_paused(session: AsyncSession, campaign_id: int) -> bool:
    """Whether the campaign is paused now (no lock: for reports)."""
    return await session.scalar(select(Campaign.active).where(Campaign.id == campaign_id)) is False
