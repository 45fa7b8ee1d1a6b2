"""Repositories for the hot queries: the dial queue, a lead's history, calls and events.

Each function takes an :class:`AsyncSession` and leaves transaction control to the caller, so a
claim and the call record it leads to can commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from reauto.store.models import DIAL_QUEUE_PREDICATE, Call, CallEvent, Campaign, Lead, LeadStatus, Turn
from reauto.store.types import utcnow


#: Where a posted lead sits in the dial queue (imported leads have 0; higher is dialed first).
FRESH_PRIORITY = 100


def _dial_queue(campaign_id: int, now: datetime, limit: int, fresh: bool | None = None) -> Any:
    # The predicate is repeated verbatim so PostgreSQL can use the partial index.
    query = (
        select(Lead)
        .where(Lead.campaign_id == campaign_id, text(DIAL_QUEUE_PREDICATE))
        .where(or_(Lead.next_attempt_at.is_(None), Lead.next_attempt_at <= now))
        .order_by(Lead.priority.desc(), Lead.next_attempt_at, Lead.id)
        .limit(limit)
    )
    if fresh is not None:
        just_posted = and_(Lead.priority >= FRESH_PRIORITY, Lead.attempts == 0)  # as is_fresh says
        query = query.where(just_posted if fresh else ~just_posted)
    return query


def is_fresh(lead: Lead) -> bool:
    """A lead just posted (intake, a form, a CRM webhook) and never called: the hot lane's."""
    return (lead.priority or 0) >= FRESH_PRIORITY and not lead.attempts


async def due_count(session: AsyncSession, campaign_id: int, *, now: datetime | None = None,
                    cap: int = 100_000) -> int:
    """How many leads are due to be dialed (counted up to ``cap``, so a huge queue stays cheap)."""
    due = _dial_queue(campaign_id, now or utcnow(), cap).with_only_columns(Lead.id).order_by(None)
    return int((await session.execute(select(func.count()).select_from(due.subquery()))).scalar_one())


async def next_due_at(session: AsyncSession, campaign_id: int, *, now: datetime | None = None) -> datetime | None:
    """When the campaign's next lead not yet due falls due (None: no such lead)."""
    now = now or utcnow()
    query = (select(func.min(Lead.next_attempt_at))
             .where(Lead.campaign_id == campaign_id, text(DIAL_QUEUE_PREDICATE), Lead.next_attempt_at > now))
    at: datetime | None = (await session.execute(query)).scalar_one()
    return at


async def peek_next_leads(
    session: AsyncSession, campaign_id: int, *, now: datetime | None = None, limit: int = 1
) -> Sequence[Lead]:
    """The next leads the dialer would take, without claiming them."""
    result = await session.execute(_dial_queue(campaign_id, now or utcnow(), limit))
    return result.scalars().all()


async def campaign_paused(session: AsyncSession, campaign_id: int) -> bool:
    """Whether the campaign is paused (``reauto campaign pause``), read under a share lock.

    A pause takes the campaign's row for update, so it waits for the claims and call openings
    already reading it, and every one after it sees the pause: once the pause is stored, no
    dialer starts a new call (on PostgreSQL; SQLite serialises writers instead).
    """
    active = await session.scalar(select(Campaign.active).where(Campaign.id == campaign_id)
                                  .with_for_update(read=True))
    return active is False


async def claim_next_leads(
    session: AsyncSession,
    campaign_id: int,
    *,
    worker: str,
    lease: timedelta,
    now: datetime | None = None,
    limit: int = 1,
    fresh: bool | None = None,
) -> Sequence[Lead]:
    """Claim up to ``limit`` dialable leads for ``worker`` until the lease expires.

    ``fresh``: only leads just posted and never called (True), only the others (False), or any.
    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers
    never claim the same lead; SQLite serialises writers instead. Claimed leads move to
    ``dialing`` with ``lease_owner`` and ``lease_expires_at`` set. A paused campaign gives none.
    """
    now = now or utcnow()
    if await campaign_paused(session, campaign_id):
        return []
    query = _dial_queue(campaign_id, now, limit, fresh).with_for_update(skip_locked=True, of=Lead)
    leads = (await session.execute(query)).scalars().all()
    if not leads:
        return leads
    for lead in leads:
        lead.claimed_from = lead.status  # type: ignore[assignment] - what a release restores
    await session.execute(
        update(Lead)
        .where(Lead.id.in_([lead.id for lead in leads]))
        .values(status=LeadStatus.DIALING, lease_owner=worker, lease_expires_at=now + lease)
        .execution_options(synchronize_session="fetch")
    )
    return leads


async def lead_history(session: AsyncSession, lead_id: int, *, limit: int = 50) -> Sequence[Call]:
    """A lead's calls, newest first."""
    query = (
        select(Call)
        .where(Call.lead_id == lead_id)
        .order_by(Call.created_at.desc(), Call.id.desc())
        .limit(limit)
    )
    return (await session.execute(query)).scalars().all()


async def campaign_calls_between(
    session: AsyncSession,
    campaign_id: int,
    start: datetime,
    end: datetime,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int = 200,
) -> Sequence[Call]:
    """A page of a campaign's calls created in ``[start, end)``, oldest first.

    Pages by keyset: pass the ``(created_at, id)`` of the last call of a page as ``after`` to
    get the next one, so deep pages cost the same as the first.
    """
    query = select(Call).where(
        and_(Call.campaign_id == campaign_id, Call.created_at >= start, Call.created_at < end)
    )
    if after is not None:
        query = query.where(tuple_(Call.created_at, Call.id) > tuple_(*after))
    query = query.order_by(Call.created_at, Call.id).limit(limit)
    return (await session.execute(query)).scalars().all()


async def abandoned_calls(
    session: AsyncSession, campaign_id: int, *, now: datetime | None = None, days: int = 30
) -> tuple[int, int]:
    """(abandoned, answered by a person) among the campaign's calls of the last ``days`` days."""
    since = (now or utcnow()) - timedelta(days=days)
    row = (await session.execute(
        select(func.count(case((Call.abandoned.is_(True), 1))), func.count(Call.abandoned))
        .where(Call.campaign_id == campaign_id, Call.created_at >= since)
    )).one()
    return int(row[0]), int(row[1])


async def call_events(session: AsyncSession, call_id: int) -> Sequence[CallEvent]:
    """A call's events in time order."""
    query = select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.ts, CallEvent.id)
    return (await session.execute(query)).scalars().all()


def add_event(
    session: AsyncSession, call_id: int, type_: str, payload: dict[str, Any] | None = None,
    *, ts: datetime | None = None,
) -> CallEvent:
    """Append one event to a call's time series."""
    event = CallEvent(call_id=call_id, type=type_, payload=payload or {}, ts=ts or utcnow())
    session.add(event)
    return event


async def recent_calls(session: AsyncSession, *, campaign: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Calls newest first, with campaign, lead name and turn count (for ``reauto calls list``)."""
    turns = select(func.count(Turn.id)).where(Turn.call_id == Call.id).correlate(Call).scalar_subquery()
    query = (select(Call, Campaign.name, Lead.first_name, Lead.last_name, turns.label("turns"))
             .join(Campaign, Campaign.id == Call.campaign_id).join(Lead, Lead.id == Call.lead_id)
             .order_by(Call.created_at.desc(), Call.id.desc()).limit(limit))
    if campaign is not None:
        query = query.where(Campaign.name == campaign)
    out = []
    for call, camp, first, last, n in (await session.execute(query)).all():
        out.append({"id": call.id, "campaign": camp, "lead": " ".join(p for p in (first, last) if p),
                    "status": call.status.value if call.status else None,
                    "outcome": call.outcome.value if call.outcome else None, "turns": n,
                    "direction": call.direction, "recording_path": call.recording_path, "recording": recording_state(call),
                    "created_at": call.created_at})
    return out


async def call_detail(session: AsyncSession, call_id: int) -> dict[str, Any] | None:
    """One call as ``reauto calls show`` prints it: the call, its lead, its latest analysis, its turns."""
    row = (await session.execute(select(Call, Campaign.name, Lead).join(Campaign, Campaign.id == Call.campaign_id)
                                 .join(Lead, Lead.id == Call.lead_id).where(Call.id == call_id))).first()
    if row is None:
        return None
    call, campaign, lead = row
    analysis = (await session.execute(select(CallEvent.payload).where(
        CallEvent.call_id == call_id, CallEvent.type == "analysis").order_by(CallEvent.id.desc()).limit(1))
    ).scalar_one_or_none()
    turns = (await session.execute(select(Turn.speaker, Turn.text).where(Turn.call_id == call_id)
                                   .order_by(Turn.seq))).all()
    return {"id": call.id, "campaign": campaign, "lead_id": lead.id,
            "lead": " ".join(p for p in (lead.first_name, lead.last_name) if p), "direction": call.direction,
            "caller_id": call.caller_id, "status": call.status.value if call.status else None,
            "outcome": call.outcome.value if call.outcome else None, "created_at": call.created_at,
            "answered_at": call.answered_at, "ended_at": call.ended_at, "cost_usd": float(call.cost_total or 0),
            "recording": recording_state(call), "analysis": dict(analysis) if analysis else None,
            "turns": [{"speaker": speaker, "text": text} for speaker, text in turns]}


def recording_state(call: Call) -> str:
    """What became of the call's recording: ``kept``, ``declined`` (the lead objected; what was kept of
    it, if anything, ends there), ``purged`` (retention deleted the audio) or ``none``."""
    if call.recording_declined_at is not None:
        return "declined"
    if call.recording_purged_at is not None:
        return "purged"
    return "kept" if call.recording_path else "none"
