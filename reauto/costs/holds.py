"""Whose money a budget hold is: the lead it was taken for, the dialer that took it, and when.

A hold's name (its field in every budget window it is held in) says who placed it, so money held
by a dialer that died can be found and settled by any other one:
``lead-<lead id>-<unix ms>-<nonce>@<worker>``. The call the hold paid for is the first call that
worker opened to that lead at or after that instant (the hold is taken just before the call row).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

_PATTERN = re.compile(r"lead-(\d{1,18})-(\d{1,16})-([0-9a-f]{1,32})@(.+)")


@dataclass(frozen=True)
class HoldRef:
    """The owner of one call's hold.

    Attributes:
        lead_id: the lead the call dials.
        worker: the dialer that took the hold (``DialerConfig.worker``).
        at: when the hold was taken, on the store's clock (to the millisecond).
        nonce: tells two holds of one worker and lead apart.
    """

    lead_id: int
    worker: str
    at: datetime
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __str__(self) -> str:
        return f"lead-{self.lead_id}-{int(self.at.timestamp() * 1000)}-{self.nonce}@{self.worker}"

    @classmethod
    def parse(cls, ref: str) -> HoldRef | None:
        """The owner named by ``ref``; None for a hold named otherwise (never raises)."""
        found = _PATTERN.fullmatch(ref) if isinstance(ref, str) else None
        if found is None:
            return None
        lead, millis, nonce, worker = found.groups()
        try:
            at = datetime.fromtimestamp(int(millis) / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return cls(int(lead), worker, at, nonce)


@dataclass(frozen=True)
class HeldMoney:
    """One hold as the counters know it: its name and what it holds in each window (micro-dollars)."""

    ref: str
    windows: dict[str, int]

    @property
    def owner(self) -> HoldRef | None:
        return HoldRef.parse(self.ref)
