"""Load shedding: while the event loop runs late, take no new calls — the live ones come first.

Every call's audio is paced by the event loop (20 ms frames). When the loop wakes a 100 ms timer
late, live calls are already at risk of audio gaps and slow replies; dialing more would make every
call worse. The shedder measures that lateness continuously; while the 90th percentile of the
last ``window`` samples is over ``max_lag_s`` the dialer claims no new leads (they stay due and
are dialed once the loop keeps time again: below half the limit, so it does not flap).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from reauto import metrics

log = logging.getLogger(__name__)


class LoadShedder:
    """Event-loop lag → whether to take new calls (with hysteresis)."""

    def __init__(self, max_lag_s: float = 0.25, *, window: int = 20, campaign: str = "",
                 listener: Callable[[float], None] | None = None) -> None:
        self.max_lag_s = max_lag_s
        self.campaign = campaign
        self.listener = listener  # also told every measurement (admission control)
        self._lags: deque[float] = deque(maxlen=window)
        self.shedding = False
        self.episodes = 0  # how many times shedding started

    def observe(self, lag_s: float) -> None:
        self._lags.append(max(0.0, lag_s))
        if self.listener is not None:
            self.listener(lag_s)
        ordered = sorted(self._lags)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        if not self.shedding and len(ordered) >= 3 and p90 > self.max_lag_s:
            self.shedding = True
            self.episodes += 1
            log.warning("event loop %.0f ms late (p90): taking no new calls until it keeps time", p90 * 1000)
        elif self.shedding and p90 < self.max_lag_s / 2:
            self.shedding = False
            log.info("event loop on time again (p90 %.0f ms): taking new calls", p90 * 1000)
        metrics.SHEDDING.labels(campaign=self.campaign).set(1 if self.shedding else 0)

    async def watch(self, interval_s: float = 0.1) -> None:
        """Measure how late the loop wakes a timer, forever."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(interval_s)
            self.observe(loop.time() - started - interval_s)
