"""Why a dial run stopped before its queue was empty, and where a campaign stands with its gates.

A run ends normally when no lead is due (or ``--max-calls`` is reached). Two gates stop it
earlier, each with its own exit status of ``reauto dial`` so cron and systemd see it:

* the abandoned-call gate (exit 4): over the last 30 days, more than the ceiling (3 %) of the
  calls a person answered were abandoned — the person heard nothing from the agent within 2 s of
  their greeting (47 CFR 64.1200(a)(7)); no call is placed until the rate is back under it;
* the budget (exit 5): a budget covering the campaign cannot hold the cost of one more call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reauto.store.models import Call

#: ``reauto dial``'s exit status when the abandoned-call gate stopped the campaign.
EXIT_ABANDON_GATE = 4
#: ``reauto dial``'s exit status when a budget could not cover another call.
EXIT_BUDGET = 5
#: The window the abandoned-call rate is measured over.
ABANDON_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class RunStop:
    """A gate stopped the run: which one, its reason, and when calls may go again (store clock)."""

    kind: str  # "abandoned_rate" or "budget"
    reason: str
    next_allowed_at: datetime | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_ABANDON_GATE if self.kind == "abandoned_rate" else EXIT_BUDGET

    def line(self) -> str:
        """One line for the operator: the reason and the next allowed time."""
        when = self.next_allowed_at.isoformat(timespec="seconds") if self.next_allowed_at else "unknown"
        return f"stopped by the {self.kind.replace('_', ' ')} gate: {self.reason}; next allowed at {when}"

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.kind, "message": self.reason, "line": self.line(), "exit_code": self.exit_code,
                "next_allowed_at": self.next_allowed_at.isoformat() if self.next_allowed_at else None}


@dataclass(frozen=True)
class AbandonStanding:
    """A campaign's abandoned-call rate over the last 30 days.

    Attributes:
        abandoned: calls a person answered and that were abandoned.
        answered: calls a person answered.
        ceiling: the highest rate at which calls may still be placed.
        clears_at: when the rate is back at or under the ceiling as calls leave the 30-day window,
            with no call placed meanwhile (None: it is not over the ceiling).
    """

    abandoned: int
    answered: int
    ceiling: float
    clears_at: datetime | None = None

    @property
    def rate(self) -> float | None:
        return self.abandoned / self.answered if self.answered else None

    @property
    def over(self) -> bool:
        return self.rate is not None and self.rate > self.ceiling

    @property
    def calls_to_clear(self) -> int:
        """Person-answered calls without abandonment that bring the rate to the ceiling or under it."""
        limit = Fraction(str(self.ceiling))
        if not self.abandoned or Fraction(self.abandoned, self.answered) <= limit:
            return 0
        if limit <= 0:
            return -1  # never: a zero ceiling allows no abandoned call at all
        return max(0, math.ceil(Fraction(self.abandoned) / limit) - self.answered)

    def as_json(self) -> dict[str, Any]:
        return {"abandoned": self.abandoned, "answered_by_a_person": self.answered, "rate": self.rate,
                "ceiling": self.ceiling, "over": self.over, "calls_to_clear": self.calls_to_clear,
                "clears_at": self.clears_at.isoformat() if self.clears_at else None}


def clears_at(calls: Sequence[tuple[datetime, bool]], ceiling: float, now: datetime) -> datetime | None:
    """When the rate of ``calls`` (created, abandoned) — the person-answered calls of the window —
    falls to ``ceiling`` or under as the oldest ones leave it; None when it already is."""
    ordered = sorted(calls)
    abandoned, answered = sum(a for _, a in ordered), len(ordered)
    limit = Fraction(str(ceiling))
    if not answered or Fraction(abandoned, answered) <= limit:
        return None
    for created, was_abandoned in ordered:
        abandoned, answered = abandoned - was_abandoned, answered - 1
        if not answered or Fraction(abandoned, answered) <= limit:
            # a call counts while created_at >= now - 30 days: it has left one second after that
            return max(now, created + ABANDON_WINDOW + timedelta(seconds=1))
    return None  # pragma: no cover - the last call leaving always clears it


async def abandon_standing(s: AsyncSession, campaign_id: int, *, now: datetime, ceiling: float) -> AbandonStanding:
    """The campaign's standing with the abandoned-call gate at ``now`` (the store's clock)."""
    rows = [(created, bool(abandoned)) for created, abandoned in (await s.execute(
        select(Call.created_at, Call.abandoned).where(
            Call.campaign_id == campaign_id, Call.created_at >= now - ABANDON_WINDOW, Call.abandoned.is_not(None))
    )).all()]
    return AbandonStanding(sum(a for _, a in rows), len(rows), ceiling, clears_at(rows, ceiling, now))
