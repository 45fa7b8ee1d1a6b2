"""What is kept of a call whose dialer died: its transcript, slots, disposition, length and cost.

The recovery sweep closes such a call as ``interrupted`` (its status, and its disposition in every
export). Its turns are
in the store already (written as they were said, :mod:`reauto.dialer.journal`); the ones only the
conversation's session has (written in the same instant to Redis, the store's write still in
flight) are added. Its length runs from the answer to the last turn; it is billed for those
minutes when its own cost lines never reached the ledger; and a person who answered and heard
nothing from the agent within the abandon limit counts as abandoned, as on any call. A lead who
opted out on it (pressed the opt-out key, or heard the agent confirm they are off the list) is
never called back: :func:`opted_out` tells the sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reauto.compliance import ABANDON_AFTER_S
from reauto.agent.scripted.script import ENDINGS
from reauto.costs.meter import LedgerLine
from reauto.dialer.records import TurnRow, store_slots, store_turns
from reauto.store.models import Call, CallEvent, CallStatus, CostEntry, QualificationSnapshot, Turn
from reauto.voice.conversation import OPT_OUT_KEY

log = logging.getLogger(__name__)

#: Prices the minutes of an interrupted call: (call, seconds answered) → its ledger lines.
Biller = Callable[[Call, float], Sequence[LedgerLine]]


def session_rows(session: Mapping[str, Any] | None) -> list[TurnRow]:
    """The transcript a conversation's session holds (what cannot be read is left out)."""
    rows = []
    for raw in (session or {}).get("turns") or []:
        try:
            rows.append(TurnRow.from_json(raw))
        except (TypeError, ValueError):
            continue
    return rows


async def salvage(s: AsyncSession, call: Call, *, now: datetime, session: Mapping[str, Any] | None,
                  bill: Biller | None = None, abandon_after_s: float = ABANDON_AFTER_S) -> dict[str, Any]:
    """Close ``call`` as interrupted with all that is known of it; returns what was done (for its event)."""
    stored = {t.seq: t for t in (await s.execute(select(Turn).where(Turn.call_id == call.id))).scalars()}
    from_session = session_rows(session)
    missing = [row for row in from_session if row.seq not in stored]
    await store_turns(s, call.id, missing)
    snapshots = (await s.execute(select(func.count(QualificationSnapshot.id)).where(
        QualificationSnapshot.call_id == call.id))).scalar_one()
    slots = (session or {}).get("slots")
    # the session and the store are written at the same turns: the one with more turns is newer
    if isinstance(slots, dict) and (not snapshots or len(from_session) > len(stored)):
        score = (session or {}).get("score")
        await store_slots(s, call.lead_id, call.id, slots, float(score) if isinstance(score, int | float) else None)
    stamps = [t for t in [*(r.at for r in from_session), *(x for t in stored.values()
                                                           for x in (t.started_at, t.ended_at))] if t is not None]
    last = max(stamps, default=None)
    call.status = CallStatus.INTERRUPTED  # its disposition (reauto.export.records): interrupted
    answered_by = None
    if call.answered_at is not None:
        call.ended_at = max(last, call.answered_at) if last is not None else call.answered_at
        answered_by = (await s.execute(select(CallEvent.payload).where(
            CallEvent.call_id == call.id, CallEvent.type == "answered").limit(1))).scalar_one_or_none()
        answered_by = (answered_by or {}).get("answered_by", "human")
    else:
        call.ended_at = now
    if answered_by is not None and answered_by != "machine":
        call.abandoned = _abandoned(stored, from_session, abandon_after_s)
    billed = await _bill(s, call, bill)
    said = [(t.speaker, t.text) for t in stored.values()] + [(r.speaker, r.text) for r in missing]
    return {"turns_from_session": len(missing), "turns": len(stored) + len(missing), "billed_usd": str(billed),
            "answered": call.answered_at is not None, "opted_out": opted_out(said)}


def opted_out(said: Sequence[tuple[str, str]]) -> bool:
    """Whether the lead opted out on the call: pressed the opt-out key, or heard the agent's
    confirmation that the number is off the list (the scripted line)."""
    return any((speaker == "lead" and text == f"[pressed {OPT_OUT_KEY}]")
               or (speaker == "agent" and text.strip() == ENDINGS["dnc"][0]) for speaker, text in said)


def _abandoned(stored: Mapping[int, Turn], from_session: Sequence[TurnRow], after_s: float) -> bool:
    """A person answered: abandoned unless the agent's first reply is known to have played within the limit."""
    firsts = [(t.seq, t.first_audio_ms) for t in stored.values() if t.speaker == "agent"]
    firsts += [(r.seq, r.first_audio_ms) for r in from_session if r.speaker == "agent"]
    if not firsts:
        return True
    first_seq = min(seq for seq, _ in firsts)
    known = [ms for seq, ms in firsts if seq == first_seq and ms is not None]
    return not known or min(known) > after_s * 1000


async def _bill(s: AsyncSession, call: Call, bill: Biller | None) -> Decimal:
    """The call's cost: its ledger lines when stored, else the minutes from its answer to its last turn."""
    stored = list((await s.execute(select(CostEntry.amount).where(CostEntry.call_id == call.id))).scalars())
    if stored:
        call.cost_total = sum((Decimal(a) for a in stored), Decimal(0))
        return call.cost_total
    if bill is None or call.answered_at is None or call.ended_at is None:
        return Decimal(0)
    seconds = max(1.0, (call.ended_at - call.answered_at).total_seconds())
    lines = list(bill(call, seconds))
    for line in lines:
        s.add(CostEntry(call_id=call.id, campaign_id=call.campaign_id, ts=call.ended_at, component=line.component,
                        provider=line.provider, quantity=line.quantity, unit=line.unit,
                        unit_price=line.unit_price, amount=line.amount))
    call.cost_total = sum((line.amount for line in lines), Decimal(0))
    return call.cost_total
