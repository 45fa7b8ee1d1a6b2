"""What a lead said about when to meet (:class:`TimePreference`), and the free slots that fit it
(:func:`matching`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Literal

Accept = Literal["first", "second", "either", "none"]
Part = Literal["morning", "afternoon", "evening"]

#: Where each part of the day starts and ends, for matching slots.
PARTS: dict[str, tuple[time, time]] = {"morning": (time(5), time(12)), "afternoon": (time(12), time(17)),
                                       "evening": (time(17), time(23, 59))}


@dataclass(frozen=True)
class TimePreference:
    """What a lead said about when to meet.

    Attributes:
        accept: about the offers made: ``first``, ``second``, ``either``, ``none`` (declined, hedged,
            or every offer it accepted is ruled out by its own condition), or None (not said).
        days: days they named or allowed ("thursday", "tomorrow", "next week").
        not_days: days they ruled out ("not this week", "not monday").
        after, before, at: times of day ("after five", "before noon", "at two"), in their zone.
        part: part of the day they asked for.
        conditional: an acceptance with a condition ("sure, but not this week").
        hedged: the answer commits to nothing ("probably tuesday", "put me down, i may have to
            cancel", "wednesday if the car is fixed"): it accepts no offer, and a time of their own
            in it is offered back, never booked.
        chosen: the offers accepted, as offered.
        not_at: times ruled out ("wednesday but not at two").
        zone: the lead's time zone; days and times are local to it.
    """

    accept: Accept | None = None
    days: frozenset[date] = frozenset()
    not_days: frozenset[date] = frozenset()
    after: time | None = None
    before: time | None = None
    at: time | None = None
    part: Part | None = None
    conditional: bool = False
    hedged: bool = False
    chosen: tuple[datetime, ...] = ()
    not_at: frozenset[time] = frozenset()
    zone: tzinfo | None = field(default=None, compare=False)

    @property
    def constrained(self) -> bool:
        """Whether it says anything about days or times of its own."""
        return bool(self.days or self.not_days or self.after or self.before or self.at or self.part or self.not_at)


def fits(pref: TimePreference, slot: datetime, *, ignore_days: bool = False) -> bool:
    """Whether a slot, in the lead's zone, is on a day and at a time the preference allows."""
    local = slot.astimezone(pref.zone) if pref.zone is not None and slot.tzinfo is not None else slot
    day, clock = local.date(), local.time().replace(second=0, microsecond=0, tzinfo=None)
    if not ignore_days and pref.days and day not in pref.days:
        return False
    if day in pref.not_days or clock in pref.not_at:
        return False
    if pref.at is not None and clock != pref.at:
        return False
    if pref.after is not None and clock < pref.after:
        return False
    if pref.before is not None and clock >= pref.before:
        return False
    if pref.part is not None:
        low, high = PARTS[pref.part]
        if not low <= clock < high:
            return False
    return True


def matching(pref: TimePreference, slots: Sequence[datetime]) -> list[datetime]:
    """The free slots that fit a preference, in the order given.

    An accepted offer that is still free is the answer; otherwise the slots that fit what was said
    about days and times; nothing when nothing was said ("neither", "we'd rather wait").
    """
    if pref.chosen:
        picked = [s for s in slots if any(s == c for c in pref.chosen)]
        if picked:
            return picked
    if not pref.constrained:
        return []
    return [s for s in slots if fits(pref, s)]
