"""``reauto calls stats``: a campaign's calls grouped by prompt variant, outcome or day.

Per group: calls, answered (a person picked up), bookings, the booking rate (bookings /
answered), the mean qualification score and the cost per call. Grouped by variant, each
variant's booking rate is tested against the variant with the most calls (two-proportion
z-test, as in ``reauto report``), with a note when the sample is too small to trust.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from reauto.analytics.report import CallRow, _call_rows, _campaign_id, per_unit, ratio, variant_stats
from reauto.store.engine import session_factory
from reauto.store.models import Call

GroupBy = Literal["variant", "outcome", "day"]

_KEYS: dict[str, Callable[[CallRow], str]] = {
    "variant": lambda r: r.variant,
    "outcome": lambda r: r.outcome or "(open)",
    "day": lambda r: r.created_at.date().isoformat(),
}


@dataclass
class GroupStats:
    """One group's calls and what they achieved."""

    group: str
    calls: int
    answered: int
    bookings: int
    booking_rate: float | None
    mean_score: float | None
    cost_per_call: Decimal | None
    versus: str | None = None
    p_value: float | None = None
    small_sample: bool = False


def group_stats(rows: Sequence[CallRow], by: GroupBy) -> list[GroupStats]:
    """The rows grouped by ``by``: variants most calls first (tested), others in key order."""
    key = _KEYS[by]
    groups: dict[str, list[CallRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    out = []
    for name, mine in groups.items():
        answered = sum(r.answered for r in mine)
        bookings = sum(r.booked for r in mine)
        scores = [r.score for r in mine if r.score is not None]
        out.append(GroupStats(name, len(mine), answered, bookings, ratio(bookings, answered),
                              round(sum(scores) / len(scores), 4) if scores else None,
                              per_unit(sum((r.cost for r in mine), Decimal(0)), len(mine))))
    if by != "variant":
        return sorted(out, key=lambda g: g.group)
    tested = {v.variant: v for v in variant_stats(rows)}
    for g in out:
        v = tested[g.group]
        g.versus, g.p_value, g.small_sample = v.versus, v.p_value, v.small_sample
    return sorted(out, key=lambda g: (-g.calls, g.group))


async def campaign_stats(engine: AsyncEngine, campaign: str, by: GroupBy, since: datetime) -> list[GroupStats]:
    """``campaign``'s calls since ``since``, grouped by ``by``.

    Raises:
        UsageError: no campaign has that name.
    """
    async with session_factory(engine)() as s:
        campaign_id = await _campaign_id(s, campaign)
        rows = await _call_rows(s, (Call.campaign_id == campaign_id) & (Call.created_at >= since))
    return group_stats(rows, by)
