"""A circuit breaker: stop calling a dependency that keeps failing, try again after a pause.

Closed (calls go through) → after ``threshold`` consecutive failures, open (calls are refused at
once, so a call in progress falls back instead of waiting on timeouts) → after ``reset_s`` one
trial call is let through (half-open): success closes the breaker, failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Breaker:
    """Consecutive-failure circuit breaker (not thread-safe; one per event loop)."""

    threshold: int = 3
    reset_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    name: str = ""  # the dependency, for the reauto_breaker_state metric (unnamed: not exported)
    failures: int = field(default=0, init=False)
    opened_at: float | None = field(default=None, init=False)
    _trial: bool = field(default=False, init=False)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.reset_s else "open"

    def allow(self) -> bool:
        """Whether a call may go through now (half-open lets exactly one trial through)."""
        state = self.state
        if state == "closed":
            return True
        self._export()  # an open breaker turns half-open with time: the gauge follows on each attempt
        if state == "half-open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self.failures, self.opened_at, self._trial = 0, None, False
        self._export()

    def failure(self) -> None:
        self.failures += 1
        self._trial = False
        if self.failures >= self.threshold or self.opened_at is not None:
            self.opened_at = self.clock()
        self._export()

    def _export(self) -> None:
        if self.name:
            from reauto.metrics import BREAKER_CODES, BREAKER_STATE

            BREAKER_STATE.labels(dependency=self.name).set(BREAKER_CODES[self.state])
