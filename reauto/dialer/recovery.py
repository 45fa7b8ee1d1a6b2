"""Calls of a dialer that died: marked interrupted, their leads back in the queue, the conversation resumable.

A dialer holds a lease on every lead it is calling and renews it while the call lasts. When a
dialer is killed (SIGKILL, a lost host) its leases run out; any dialer of the campaign (or the
restarted one) then finds those leads still ``dialing`` with an expired lease, closes their open
calls as ``interrupted`` (status and disposition, with an ``interrupted`` event; the transcript,
slots, length and cost are kept: :mod:`reauto.dialer.salvage`), counts the attempt and puts the
leads back in the queue, due at once, remembering the interrupted call. The next call to such a
lead resumes the conversation from its last checkpoint when the session is still stored ("we got
cut off — you were saying …"). A lead is never dialed while another dialer's lease on it is
valid, so it is never called twice at once. A lead who opted out on the interrupted call is put on
the internal do-not-call list instead of being called back. The money the dead dialer held for
those calls is settled by :mod:`reauto.dialer.holds`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import events
from reauto.compliance import ABANDON_AFTER_S
from reauto.dialer.records import RECOVERY_KEY, add_internal_dnc
from reauto.dialer.salvage import Biller, salvage
from reauto.sessions import SessionStore
from reauto.store.models import Call, CallEvent, CallStatus, Lead, LeadStatus
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

__all__ = ["OPEN", "RECOVERY_KEY", "Recovered", "interrupted_call", "recover_expired", "renew_leases"]

OPEN = (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS)


@dataclass
class Recovered:
    """What sweeps found: the re-queued leads, the calls closed as interrupted, the holds settled."""

    leads: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)


async def recover_expired(sessions: async_sessionmaker[AsyncSession], campaign_id: int, *,
                          now: datetime | None = None, calling: Collection[int] = (),
                          conversations: SessionStore | None = None, bill: Biller | None = None,
                          abandon_after_s: float = ABANDON_AFTER_S) -> Recovered:
    """Re-queue the campaign's leads whose dialer's lease ran out; close their open calls as interrupted.

    Args:
        calling: the leads the sweeping dialer is calling itself (their leases may have run out
            while the store was unreachable; the calls are alive, so they are never taken back).
        conversations: the calls' sessions, for the turns the store did not get.
        bill: prices an interrupted call's answered minutes when its cost lines were never stored.
        abandon_after_s: the abandon limit (a person who heard nothing from the agent this long).
    """
    now = now or utcnow()
    found = Recovered()
    async with sessions.begin() as s:
        query = select(Lead).where(
            Lead.campaign_id == campaign_id, Lead.status == LeadStatus.DIALING, Lead.lease_expires_at < now)
        if calling:
            query = query.where(Lead.id.not_in(list(calling)))
        leads = (await s.execute(query.with_for_update(skip_locked=True))).scalars().all()
        interrupted: list[tuple[Call, Lead, dict[str, Any]]] = []
        for lead in leads:
            calls = (await s.execute(select(Call).where(
                Call.lead_id == lead.id, Call.status.in_(OPEN), Call.ended_at.is_(None),
            ).order_by(Call.id).with_for_update())).scalars().all()
            opted_out = False
            for call in calls:
                kept = await salvage(s, call, now=now, session=await _session(conversations, call.id), bill=bill,
                                     abandon_after_s=abandon_after_s)
                s.add(CallEvent(call_id=call.id, type="interrupted", ts=now,
                                payload={"reason": "the dialer's lease expired (it stopped without ending the call)",
                                         "worker": call.worker, **kept}))
                found.calls.append(call.id)
                interrupted.append((call, lead, kept))
                opted_out = opted_out or kept["opted_out"]
            if opted_out:  # never called back: the opt-out is honoured as on a call that ended
                lead.attempts += 1
                lead.status, lead.dnc, lead.lease_owner, lead.lease_expires_at = LeadStatus.DNC, True, None, None
                await add_internal_dnc(s, lead.phone_e164, "asked on a call", now, campaign_id=lead.campaign_id)
                found.leads.append(lead.id)
                continue
            if calls:
                lead.attempts += 1
                lead.last_attempt_at = calls[-1].created_at
                lead.custom = {**(lead.custom or {}), RECOVERY_KEY: {"call_id": calls[-1].id,
                                                                    "at": now.isoformat()}}
            lead.status, lead.next_attempt_at = LeadStatus.SCHEDULED, now  # due at once
            lead.lease_owner, lead.lease_expires_at = None, None
            found.leads.append(lead.id)
        for call, lead, kept in interrupted:  # the receivers of events hear of them as of any ended call
            duration = ((call.ended_at - call.answered_at).total_seconds()
                        if call.ended_at is not None and call.answered_at is not None else None)
            events.record(s, "call.ended", campaign_id=call.campaign_id, at=now, call_id=call.id, lead_id=lead.id,
                          direction=call.direction, status=CallStatus.INTERRUPTED.value, outcome=None,
                          duration_s=round(duration, 1) if duration is not None else None,
                          cost_usd=float(kept["billed_usd"]), lead_status=lead.status.value)
    if found.leads:
        log.warning("re-queued %d leads of a dialer that stopped (%d calls marked interrupted)", len(found.leads),
                    len(found.calls))
    return found


async def _session(conversations: SessionStore | None, call_id: int) -> dict[str, Any] | None:
    """The call's conversation session, or None (none kept, or unreadable: the store's turns stand)."""
    if conversations is None:
        return None
    try:
        return await conversations.load(call_id)
    except Exception as exc:  # noqa: BLE001 - the turns written to the store stand on their own
        log.warning("call %s: session unreadable while recovering it: %s: %s", call_id, type(exc).__name__, exc)
        return None


async def renew_leases(sessions: async_sessionmaker[AsyncSession], lead_ids: list[int], *, worker: str,
                       until: datetime) -> int:
    """Extend this worker's leases on the leads it is calling; returns how many it still holds."""
    if not lead_ids:
        return 0
    async with sessions.begin() as s:
        result = await s.execute(update(Lead).where(
            Lead.id.in_(lead_ids), Lead.lease_owner == worker).values(lease_expires_at=until))
        return int(getattr(result, "rowcount", 0) or 0)


async def keep_leases(sessions: async_sessionmaker[AsyncSession], calling: Callable[[], list[int]], *, worker: str,
                      lease: timedelta, clock: Callable[[], datetime], now: asyncio.Event) -> None:
    """Renew the leases of the leads being called (``calling()``), forever, so only a dialer that
    died loses them: every quarter of the lease, and at once when ``now`` is set (the store answers
    after an outage: the leases may have run out meanwhile, other dialers must see them valid again)."""
    every = max(1.0, lease.total_seconds() / 4)
    while True:
        try:
            await asyncio.wait_for(now.wait(), every)
        except TimeoutError:
            pass
        now.clear()
        try:
            await renew_leases(sessions, calling(), worker=worker, until=clock() + lease)
        except Exception as exc:  # noqa: BLE001 - retried at the next beat, well before expiry
            log.warning("could not renew leases: %s: %s", type(exc).__name__, exc)


def interrupted_call(lead: Lead) -> int | None:
    """The call that was cut off, for a lead re-queued by :func:`recover_expired` (None otherwise)."""
    found = (lead.custom or {}).get(RECOVERY_KEY)
    return int(found["call_id"]) if isinstance(found, dict) and found.get("call_id") else None
