"""Money held by dialers that died: found in the budget counters and settled at what was spent.

Every hold is named after its lead, its dialer and the instant it was taken
(:class:`~reauto.costs.holds.HoldRef`). A dialer holds money only for a lead it has leased, and
settles the hold when the call ends, after its end is stored. So a hold whose dialer no longer
has a valid lease on its lead, and whose call is closed (or was never opened), is a dead
dialer's — killed between its hold and its call, during the call (the recovery sweep closes the
call first), or between storing the call's end and settling. It is settled with what was metered
for its call: the call's ledger lines, which the recovery sweep writes from the answered minutes
when the call's own never reached the store; $0 when no call was placed. Settling is idempotent
(a hold already settled is gone from the counters), so racing a live dialer that settles the same
hold at the same amount changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.costs.budget import to_micros
from reauto.costs.holds import HeldMoney, HoldRef
from reauto.costs.reservations import Reservations
from reauto.store.models import Call, CostEntry, Lead, LeadStatus

log = logging.getLogger(__name__)

#: The call a hold paid for was opened at or after the hold (one clock); this much earlier is tolerated.
CLOCK_SLACK = timedelta(seconds=5)


@dataclass(frozen=True)
class Settled:
    """One dead dialer's hold, settled."""

    ref: str
    lead_id: int
    call_id: int | None
    spent: Decimal


async def settle_dead_holds(sessions: async_sessionmaker[AsyncSession], reservations: Reservations, *,
                            worker: str, now: datetime) -> list[Settled]:
    """Settle the holds of dialers that no longer call their lead (see the module's notes).

    ``worker``: the sweeping dialer; its own holds are its live calls' and are left alone.
    """
    out = []
    for money in await reservations.held():
        owner = money.owner
        if owner is None or owner.worker == worker:
            continue
        async with sessions() as s:
            spent, call_id = await _dead_holds_spend(s, owner, now)
        if spent is None:
            continue
        await _release(reservations, money, spent)
        out.append(Settled(money.ref, owner.lead_id, call_id, spent))
        log.warning("settled the $%s hold of a stopped dialer (lead %s, call %s)", spent, owner.lead_id, call_id)
    return out


async def _dead_holds_spend(s: AsyncSession, owner: HoldRef, now: datetime) -> tuple[Decimal | None, int | None]:
    """(what the hold's call cost, its id) when its dialer is gone; (None, …) while it may still be calling."""
    lead = await s.get(Lead, owner.lead_id)
    if (lead is not None and lead.status == LeadStatus.DIALING and lead.lease_owner == owner.worker
            and lead.lease_expires_at is not None and lead.lease_expires_at >= now):
        return None, None  # its dialer holds the lead: the call may be going on
    call = (await s.execute(select(Call).where(
        Call.lead_id == owner.lead_id, Call.worker == owner.worker, Call.created_at >= owner.at - CLOCK_SLACK,
    ).order_by(Call.created_at, Call.id).limit(1))).scalar_one_or_none()
    if call is None:
        return Decimal(0), None  # no call was placed for it
    if call.ended_at is None:
        return None, call.id  # the recovery sweep closes it first, with its cost
    spent = (await s.execute(select(func.coalesce(func.sum(CostEntry.amount), 0)).where(
        CostEntry.call_id == call.id))).scalar_one()
    return Decimal(spent), call.id


async def _release(reservations: Reservations, money: HeldMoney, spent: Decimal) -> None:
    await reservations.release(list(money.windows), money.ref, to_micros(spent))
