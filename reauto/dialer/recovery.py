"""Calls of a dialer that died: marked interrupted, their leads back in the queue, the conversation resumable.

A dialer holds a lease on every lead it is calling and renews it while the call lasts. When a
dialer is killed (SIGKILL, a lost host) its leases run out; any dialer of the campaign (or the
restarted one) then finds those leads still ``dialing`` with an expired lease, marks their open
calls ``interrupted`` (with an ``interrupted`` event), counts the attempt and puts the leads back
in the queue, due at once, remembering the interrupted call. The next call to such a lead resumes
the conversation from its last checkpoint when the session is still stored ("we got cut off —
you were saying …"). A lead is never dialed while another dialer's lease on it is valid, so it is
never called twice at once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.store.models import Call, CallEvent, CallStatus, Lead, LeadStatus
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

#: Where a re-queued lead keeps the call that was cut off (in ``Lead.custom``).
RECOVERY_KEY = "_recovery"
OPEN = (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS)


@dataclass
class Recovered:
    """What one sweep found: the re-queued leads and the calls marked interrupted."""

    leads: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)


async def recover_expired(sessions: async_sessionmaker[AsyncSession], campaign_id: int, *,
                          now: datetime | None = None, calling: Collection[int] = ()) -> Recovered:
    """Re-queue the campaign's leads whose dialer's lease ran out; mark their open calls interrupted.

    ``calling``: the leads the sweeping dialer is calling itself (their leases may have run out
    while the store was unreachable; the calls are alive, so they are never taken back).
    """
    now = now or utcnow()
    found = Recovered()
    async with sessions.begin() as s:
        query = select(Lead).where(
            Lead.campaign_id == campaign_id, Lead.status == LeadStatus.DIALING, Lead.lease_expires_at < now)
        if calling:
            query = query.where(Lead.id.not_in(list(calling)))
        leads = (await s.execute(query.with_for_update(skip_locked=True))).scalars().all()
        for lead in leads:
            calls = (await s.execute(select(Call).where(
                Call.lead_id == lead.id, Call.status.in_(OPEN), Call.ended_at.is_(None),
            ).order_by(Call.id).with_for_update())).scalars().all()
            for call in calls:
                call.status, call.ended_at = CallStatus.INTERRUPTED, now
                s.add(CallEvent(call_id=call.id, type="interrupted", ts=now,
                                payload={"reason": "the dialer's lease expired (it stopped without ending the call)",
                                         "worker": call.worker}))
                found.calls.append(call.id)
            if calls:
                lead.attempts += 1
                lead.last_attempt_at = calls[-1].created_at
                lead.custom = {**(lead.custom or {}), RECOVERY_KEY: {"call_id": calls[-1].id,
                                                                    "at": now.isoformat()}}
            lead.status, lead.next_attempt_at = LeadStatus.SCHEDULED, now  # due at once
            lead.lease_owner, lead.lease_expires_at = None, None
            found.leads.append(lead.id)
    if found.leads:
        log.warning("re-queued %d leads of a dialer that stopped (%d calls marked interrupted)", len(found.leads),
                    len(found.calls))
    return found


async def renew_leases(sessions: async_sessionmaker[AsyncSession], lead_ids: list[int], *, worker: str,
                       until: datetime) -> int:
    """Extend this worker's leases on the leads it is calling; returns how many it still holds."""
    if not lead_ids:
        return 0
    async with sessions.begin() as s:
        result = await s.execute(update(Lead).where(
            Lead.id.in_(lead_ids), Lead.lease_owner == worker).values(lease_expires_at=until))
        return int(getattr(result, "rowcount", 0) or 0)


def interrupted_call(lead: Lead) -> int | None:
    """The call that was cut off, for a lead re-queued by :func:`recover_expired` (None otherwise)."""
    found = (lead.custom or {}).get(RECOVERY_KEY)
    return int(found["call_id"]) if isinstance(found, dict) and found.get("call_id") else None
