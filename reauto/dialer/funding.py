"""A call's money before it is dialed: its expected cost held against the campaign's budgets.

:class:`Funding` is the part of the :class:`~reauto.dialer.engine.Dialer` that holds a call's
expected cost before the lead is dialed (:class:`~reauto.costs.budget.BudgetGuard`). A refused
hold stops the run with a budget :class:`~reauto.dialer.stops.RunStop`, unless the money is held
by other dialers' calls: then new dials wait a while for those calls to end, or for the recovery
sweep to settle what dialers that died still hold (:mod:`reauto.dialer.holds`). Counters that do
not answer fail closed: no call is placed until they do.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto import metrics
from reauto.costs.budget import BudgetGuard, CountersUnavailable, Hold
from reauto.costs.holds import HoldRef
from reauto.costs.pricing import Catalogue
from reauto.costs.reservations import counter_errors
from reauto.dialer.holds import settle_dead_holds
from reauto.dialer.recovery import Recovered
from reauto.dialer.stops import RunStop
from reauto.store.models import Lead
from reauto.telephony.base import Telephony

if TYPE_CHECKING:
    from reauto.dialer.engine import DialerConfig

log = logging.getLogger(__name__)


class Funding(ABC):
    """Holds the money of a :class:`~reauto.dialer.engine.Dialer`'s calls (the attributes and the
    hook of the dialer it reads, declared here)."""

    config: DialerConfig
    sessions: async_sessionmaker[AsyncSession]
    telephony: Telephony
    guard: BudgetGuard | None
    catalogue: Catalogue | None
    store_clock: Callable[[], datetime]
    counters_down: bool
    recovered: Recovered
    denied: list[tuple[int, str]]
    stopped: RunStop | None
    _money_wait: tuple[float, float]

    @abstractmethod
    async def _release(self, lead: Lead, due: datetime | None = None) -> None:
        """Give a claimed lead back untouched (it stays due; from ``due`` when given)."""

    async def _hold(self, lead: Lead) -> Hold | None | bool:
        """Hold the call's expected cost before dialing; False (lead released) when refused."""
        if self.guard is None or self.catalogue is None:
            return None
        estimate = self.catalogue.call_estimate(self.telephony.name, self.config.call_estimate_min,
                                                amd=self.config.amd)
        try:
            ref = str(HoldRef(lead.id, self.config.worker, self.store_clock()))
            hold = await self.guard.hold(ref, estimate)
            if hold is None and await self._settle_dead_holds():
                hold = await self.guard.hold(ref, estimate)  # a dead dialer's money came back
            if hold is None and await self._wait_for_money(estimate):
                await self._release(lead)
                return False
        except (CountersUnavailable, *counter_errors()):
            # fail closed until the counters answer: no call can prove its money is there
            self.counters_down = True
            metrics.BREAKER_STATE.labels(dependency="redis").set(metrics.BREAKER_CODES["open"])
            await self._release(lead)
            return False
        if self.counters_down:
            metrics.BREAKER_STATE.labels(dependency="redis").set(metrics.BREAKER_CODES["closed"])
        self.counters_down = False
        if hold is not None:
            self._money_wait = (0.0, 0.0)
            return hold
        metrics.LEADS_REFUSED.labels(campaign=self.config.campaign_name, reason="budget").inc()
        await self.guard.breaker_alert("dialing_stopped")
        reason = f"budget: cannot cover a new call (${estimate:.4f} held per call); dialing stops"
        self.denied.append((lead.id, reason))
        log.warning("lead %s not dialed: %s", lead.id, reason)
        await self._release(lead)
        try:
            full = await self.guard.full_windows(estimate)
        except counter_errors():
            full = []
        # calls may go again when the last full budget's period ends
        self.stopped = RunStop("budget", f"cannot cover a new call (${estimate:.4f} held per call)"
                               + "".join(f"; {w.scope} {w.period.value} budget ${w.amount:,.2f} is used up"
                                         for w in full),
                               max((w.end for w in full), default=None))
        return False

    async def _wait_for_money(self, estimate: Decimal) -> bool:
        """A refused hold that would fit without other dialers' holds: wait a while for them (their calls
        end, or a sweep settles them once their dialer is known to have died); False when waiting cannot help."""
        assert self.guard is not None
        if not await self.guard.fits_without_others(estimate):
            return False
        loop = asyncio.get_running_loop()
        since = self._money_wait[0] or loop.time()
        # a dead dialer's lease runs out, and a sweep settles its holds, within this long
        limit = 1.5 * self.config.lease.total_seconds() + self.config.recover_every_s
        if loop.time() - since > limit:
            return False
        if not self._money_wait[0]:
            log.warning("the budget is held by other dialers' calls; waiting for them to end or be settled")
        self._money_wait = (since, loop.time() + min(5.0, self.config.recover_every_s))
        return True

    async def _settle_dead_holds(self) -> int:
        """Settle the money dialers that died still hold; how many holds were settled."""
        if self.guard is None:
            return 0
        try:
            settled = await settle_dead_holds(self.sessions, self.guard.reservations, worker=self.config.worker,
                                              now=self.store_clock())
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("could not settle the holds of stopped dialers: %s: %s", type(exc).__name__, exc)
            return 0
        self.recovered.holds += [h.ref for h in settled]
        return len(settled)
