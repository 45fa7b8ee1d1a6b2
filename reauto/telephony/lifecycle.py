"""A call's lifecycle as an explicit state machine, driven by provider callbacks and the dialer.

    queued → ringing → in-progress → completed | voicemail
       └────────┴──────────┴──────→ busy | no-answer | failed | canceled

Callbacks arrive late, twice, or out of order (Twilio retries, and its callbacks race each
other). :func:`advance` therefore only ever moves a call forward: a state already passed is
ignored, a terminal state is final — except that ``completed`` may be refined to ``voicemail``
once the call is known to have reached a machine. :func:`apply_status` stores a callback once
(keyed by its status), under a row lock, so duplicates leave one correct record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.store.models import Call, CallEvent, CallStatus
from reauto.store.types import utcnow

#: Forward order of the non-terminal states.
_RANK = {CallStatus.QUEUED: 0, CallStatus.RINGING: 1, CallStatus.IN_PROGRESS: 2}
TERMINAL = frozenset({CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED,
                      CallStatus.CANCELED, CallStatus.VOICEMAIL, CallStatus.INTERRUPTED})

#: Twilio's CallStatus values → reauto's (``initiated`` is still queued on our side).
TWILIO_STATUS = {
    "queued": CallStatus.QUEUED, "initiated": CallStatus.QUEUED, "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS, "answered": CallStatus.IN_PROGRESS, "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY, "no-answer": CallStatus.NO_ANSWER, "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
}


def advance(current: CallStatus, new: CallStatus) -> CallStatus:
    """The state after ``new`` is reported for a call in ``current`` (never backwards)."""
    if current in TERMINAL:
        return new if (current, new) == (CallStatus.COMPLETED, CallStatus.VOICEMAIL) else current
    if new in TERMINAL:
        return new
    return new if _RANK[new] > _RANK[current] else current


def parse_twilio_status(value: str) -> CallStatus:
    """Twilio's ``CallStatus`` form value as a reauto status (ValueError when unknown)."""
    try:
        return TWILIO_STATUS[value]
    except KeyError:
        raise ValueError(f"unknown Twilio CallStatus {value!r}") from None


async def apply_status(
    sessions: async_sessionmaker[AsyncSession], call_id: int, status: CallStatus, *,
    sid: str | None = None, payload: Mapping[str, Any] | None = None, now: datetime | None = None,
) -> CallStatus | None:
    """Record a provider status for a call; returns the call's status after it (None: no such call).

    The first report of each status is kept as a ``status:<value>`` event; repeats are ignored.
    """
    now = now or utcnow()
    async with sessions.begin() as s:
        call = (await s.execute(select(Call).where(Call.id == call_id).with_for_update())).scalar_one_or_none()
        if call is None:
            return None
        kind = f"status:{status.value}"
        seen = (await s.execute(select(CallEvent.id).where(CallEvent.call_id == call_id, CallEvent.type == kind)
                                .limit(1))).first()
        if seen is None:
            s.add(CallEvent(call_id=call_id, type=kind, ts=now, payload=dict(payload or {})))
        if sid and not call.provider_sid:
            call.provider_sid = sid
        after = advance(call.status, status)
        call.status = after
        if status == CallStatus.IN_PROGRESS and call.answered_at is None:
            call.answered_at = now  # answered, even when "completed" was reported first
        if after in TERMINAL and call.ended_at is None:
            call.ended_at = now
        return after
