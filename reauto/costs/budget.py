"""Budgets that are never overspent: windows, holds before dialing, top-ups, settlement, alerts.

A budget is an amount per day, week or month (UTC periods: days from midnight, weeks from Monday,
months from the 1st), for everything (``global``) or one campaign (``campaign:<name>``). Before a
call is dialed the :class:`BudgetGuard` holds its expected cost in every budget that covers it;
while the call runs it tops the hold up a minute at a time; when the call ends the hold becomes
the call's real cost (its ledger total). A call that cannot get a hold is not dialed; a running
call whose top-up is refused is ended. Spending stops at ``stop_dialing_at`` × the budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.config import BudgetSettings
from reauto.costs.alerts import Alerter
from reauto.costs.reservations import Counter, Reservations, counter_errors
from reauto.metrics import BUDGET_UTILISATION
from reauto.store.models import Budget, BudgetPeriod, Campaign, CostEntry
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

GLOBAL = "global"
MICROS = Decimal(1_000_000)


def campaign_scope(name: str) -> str:
    return f"campaign:{name}"


def to_micros(amount: Decimal) -> int:
    return int((amount * MICROS).to_integral_value())


def from_micros(micros: int) -> Decimal:
    return Decimal(micros) / MICROS


def period_bounds(period: BudgetPeriod | str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC period containing ``now``: [start, end)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period = BudgetPeriod(period)
    if period == BudgetPeriod.DAILY:
        return day, day + timedelta(days=1)
    if period == BudgetPeriod.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


@dataclass(frozen=True)
class Window:
    """One budget's current period."""

    scope: str
    period: BudgetPeriod
    amount: Decimal
    start: datetime
    end: datetime
    stop_at: float = 1.0

    @property
    def counter(self) -> Counter:
        key = f"{self.scope}:{self.period.value}:{self.start:%Y%m%d}"
        return Counter(key, to_micros(self.amount * Decimal(str(self.stop_at))), int(self.end.timestamp()))


async def windows_for(s: AsyncSession, scopes: Sequence[str], now: datetime, stop_at: float = 1.0) -> list[Window]:
    """The current windows of every budget set for ``scopes``."""
    rows = (await s.execute(select(Budget).where(Budget.scope.in_(list(scopes))).order_by(Budget.id))).scalars()
    out = []
    for b in rows:
        start, end = period_bounds(b.period, now)
        out.append(Window(b.scope, BudgetPeriod(b.period), Decimal(b.amount), start, end, stop_at))
    return out


async def ledger_spent(s: AsyncSession, scope: str, start: datetime, end: datetime) -> Decimal:
    """What the cost ledger says was spent in a scope between two instants."""
    query = select(func.coalesce(func.sum(CostEntry.amount), 0)).where(CostEntry.ts >= start, CostEntry.ts < end)
    if scope != GLOBAL:
        name = scope.split(":", 1)[1]
        query = query.join(Campaign, Campaign.id == CostEntry.campaign_id).where(Campaign.name == name)
    return Decimal((await s.execute(query)).scalar_one())


class CountersUnavailable(RuntimeError):
    """The shared budget counters cannot be reached: nothing may be spent until they can."""


@dataclass
class Hold:
    """Money held for one call."""

    call_ref: str
    windows: list[Window]
    amount: Decimal = Decimal(0)


@dataclass
class BudgetGuard:
    """Holds, tops up and settles calls against every budget that covers a campaign.

    Args:
        sessions: the store (budgets, and the ledger to restore lost counters from).
        reservations: the shared counters (Redis, or in-process).
        settings: ``[budget]``.
        campaign: the campaign's name.
        alerts: told of utilisation crossing the alert levels.
        clock: the current instant.
    """

    sessions: async_sessionmaker[AsyncSession]
    reservations: Reservations
    settings: BudgetSettings
    campaign: str
    alerts: Alerter | None = None
    clock: Callable[[], datetime] = utcnow
    holds: dict[str, Hold] = field(default_factory=dict)
    refusals: int = 0
    #: Utilisation after the last hold, top-up or settlement (read per utterance by the voice tier rule).
    last_utilisation: float = 0.0
    premium_off: bool = False  # the emergency breaker turned premium voices off

    async def _utilisation_changed(self, windows: Sequence[Window]) -> None:
        try:
            self.last_utilisation = await self.utilisation(windows)
        except counter_errors() as exc:
            log.error("budget counters unreachable (%s); utilisation not updated", exc)
            return
        if not self.premium_off and self.last_utilisation >= self.settings.premium_off_at and windows:
            self.premium_off = True
            await self.breaker_alert("premium_tts_off")

    async def breaker_alert(self, action: str) -> None:
        """Tell the operators the emergency breaker acted (premium voices off, dialing stopped)."""
        if self.alerts is not None:
            await self.alerts.raise_alert({"kind": "breaker", "action": action, "campaign": self.campaign,
                                           "utilisation": round(self.last_utilisation, 4)})

    @property
    def scopes(self) -> list[str]:
        return [GLOBAL, campaign_scope(self.campaign)]

    async def windows(self) -> list[Window]:
        async with self.sessions() as s:
            return await windows_for(s, self.scopes, self.clock(), self.settings.stop_dialing_at)

    async def hold(self, call_ref: str, amount: Decimal) -> Hold | None:
        """Hold ``amount`` for a call about to be dialed; None when a budget cannot cover it.

        Raises:
            CountersUnavailable: the shared counters cannot be reached (fail closed: the call is
                not dialed, and the caller may try again later).
        """
        hold = Hold(call_ref, await self.windows())
        if not await self._reserve(hold, amount, raise_unreachable=True):
            self.refusals += 1
            return None
        self.holds[call_ref] = hold
        await self._utilisation_changed(hold.windows)
        return hold

    async def top_up(self, hold: Hold, amount: Decimal) -> bool:
        """Add to a running call's hold; False when a budget cannot cover it (end the call)."""
        ok = await self._reserve(hold, amount)
        await self._utilisation_changed(hold.windows)
        return ok

    async def settle(self, hold: Hold, spent: Decimal) -> None:
        """The call ended having cost ``spent`` (its ledger total, already stored)."""
        self.holds.pop(hold.call_ref, None)
        try:
            await self.reservations.settle([w.counter for w in hold.windows], hold.call_ref, to_micros(spent))
            await self._utilisation_changed(hold.windows)
        except counter_errors() as exc:
            # the ledger has the call's cost; lost counters are rebuilt from it when reachable again
            log.error("budget counters unreachable while settling %s (%s)", hold.call_ref, exc)
            return
        await self.check_alerts(hold.windows)

    async def _reserve(self, hold: Hold, amount: Decimal, *, raise_unreachable: bool = False) -> bool:
        if not hold.windows or amount <= 0:
            hold.amount += max(amount, Decimal(0))
            return True
        counters = [w.counter for w in hold.windows]
        for _ in range(3):
            try:
                ok = await self.reservations.reserve(counters, hold.call_ref, to_micros(amount))
            except counter_errors() as exc:
                # fail closed: without the shared counters no dialer can prove the money is there
                log.error("budget counters unreachable (%s: %s): not spending", type(exc).__name__, exc)
                if raise_unreachable:
                    raise CountersUnavailable(f"budget counters unreachable: {type(exc).__name__}: {exc}") from exc
                return False
            if ok is None:  # counters lost: rebuild them from the ledger, then ask again
                await self.restore(hold.windows)
                continue
            if ok:
                hold.amount += amount
            return ok
        raise RuntimeError("budget counters could not be restored")

    async def restore(self, windows: Sequence[Window]) -> None:
        """Recreate missing counters from the cost ledger and the holds this process runs."""
        for w in windows:
            if await self.reservations.snapshot(w.counter) is not None:
                continue
            async with self.sessions() as s:
                spent = await ledger_spent(s, w.scope, w.start, w.end)
            holds = {ref: to_micros(h.amount) for ref, h in self.holds.items()
                     if any(x.counter.key == w.counter.key for x in h.windows)}
            log.warning("budget %s %s: counters missing, restored from the ledger (spent $%.2f, %d calls held)",
                        w.scope, w.period.value, spent, len(holds))
            await self.reservations.restore(w.counter, to_micros(spent), holds)

    async def utilisation(self, windows: Sequence[Window] | None = None) -> float:
        """The highest (spent + held) / budget over the campaign's budgets (0 without budgets)."""
        worst = 0.0
        for w in windows if windows is not None else await self.windows():
            try:
                snap = await self.reservations.snapshot(w.counter)
                if snap is None:
                    await self.restore([w])
                    snap = await self.reservations.snapshot(w.counter) or (0, 0)
            except counter_errors() as exc:
                log.error("budget counters unreachable (%s); utilisation from the last reading", exc)
                return self.last_utilisation
            if w.amount > 0:
                share = float(from_micros(snap[0] + snap[1]) / w.amount)
                BUDGET_UTILISATION.labels(scope=w.scope, period=w.period.value).set(share)
                worst = max(worst, share)
        return worst

    async def full_windows(self, amount: Decimal) -> list[Window]:
        """The campaign's windows that cannot hold ``amount`` more now (spent + held + amount over the limit)."""
        full = []
        for w in await self.windows():
            snap = await self.reservations.snapshot(w.counter)
            spent, reserved = snap if snap is not None else (0, 0)
            if spent + reserved + to_micros(amount) > w.counter.limit:
                full.append(w)
        return full

    async def fits_without_others(self, amount: Decimal) -> bool:
        """Whether ``amount`` would fit in every window if other dialers' holds were settled.

        A refused hold is worth waiting for when it would fit then: those holds end with their
        calls, or are settled by the recovery sweep once their dialer is known to have died.
        """
        windows = await self.windows()
        if not windows:
            return True
        others: dict[str, int] = {}
        for held in await self.reservations.held():
            if held.ref in self.holds:
                continue
            for key, micros in held.windows.items():
                others[key] = others.get(key, 0) + micros
        for w in windows:
            snap = await self.reservations.snapshot(w.counter)
            spent, reserved = snap if snap is not None else (0, 0)
            if spent + reserved - others.get(w.counter.key, 0) + to_micros(amount) > w.counter.limit:
                return False
        return True

    async def check_alerts(self, windows: Sequence[Window]) -> None:
        if self.alerts is None:
            return
        for w in windows:
            snap = await self.reservations.snapshot(w.counter)
            if snap is None or w.amount <= 0:
                continue
            spent = from_micros(snap[0])
            await self.alerts.utilisation(w.scope, w.period.value, w.start, spent, w.amount)
