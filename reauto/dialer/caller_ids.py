"""Which number a call comes from: a campaign's caller-ID pool, local presence, caps and rest.

A campaign lists its numbers (``caller_ids.pool``; its ``caller_id`` is always one of them). Each
call uses a number with room under its caps — calls in the last hour and day, and a minimum
spacing between two calls — that is not resting, preferring one with the lead's area code, then
one in the lead's state, then any; among equals the least used in the last hour. When every
number is at a cap the lead waits until the first one frees up (:class:`NoCallerId`).

The choice is made in the transaction that stores the call (under the campaign row's lock), so
dialers sharing a campaign never take a number past its cap together. Usage is read from the
calls themselves (``calls.caller_id``).

A number whose answer rate over its last ``rest_after_calls`` calls falls under ``rest_below`` of
its pool's is rested for ``rest_hours`` (carriers label numbers that many people decline as
spam): it is logged, counted in ``reauto_caller_ids_rested_total`` and shown by ``reauto numbers``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reauto import metrics
from reauto.leads.normalize import InvalidPhone, parse_phone
from reauto.store.models import Call, CallEvent, CallerNumber, Campaign, Lead

log = logging.getLogger(__name__)

#: An answered call shorter than this is a short call (hung up on at once: a spam label's sign).
SHORT_CALL_S = 10.0
#: How often a dialer looks at its pool's answer rates (at the next dial after this long).
REVIEW_EVERY = timedelta(minutes=1)
#: The window whose calls the answer rates are read over.
RATE_WINDOW = timedelta(days=7)


class NoCallerId(Exception):
    """Every number of the pool is at a cap (or resting); ``free_at`` is when the first frees up."""

    def __init__(self, free_at: datetime) -> None:
        super().__init__(f"every caller ID is at its cap until {free_at.isoformat()}")
        self.free_at = free_at


@dataclass(frozen=True)
class PoolNumber:
    """One number of a pool, and where it is local."""

    number: str
    area: str | None
    state: str | None


@dataclass(frozen=True)
class Usage:
    """How much a number was used: calls in the last hour and day, the last call, rested until."""

    last_hour: int = 0
    last_day: int = 0
    last_at: datetime | None = None
    rested_until: datetime | None = None


@dataclass(frozen=True)
class Caps:
    """A number's limits (None: none)."""

    per_hour: int | None = None
    per_day: int | None = None
    min_spacing_s: float = 0.0


@dataclass(frozen=True)
class RestRule:
    """When a number is rested: its answer rate under ``below`` × its pool's, over its last ``after`` calls."""

    below: float = 0.5
    after: int = 30
    hours: float = 24.0


def area_of(number: str) -> str | None:
    """The area code of a North American number (``+1`` and ten digits), else None."""
    return number[2:5] if number.startswith("+1") and len(number) == 12 else None


def pool_number(number: str) -> PoolNumber:
    """``number`` with its area code and state."""
    try:
        state = parse_phone(number).state
    except InvalidPhone:
        state = None
    return PoolNumber(number, area_of(number), state)


def room(usage: Usage, caps: Caps, now: datetime) -> bool:
    """Whether a number may place a call now."""
    if usage.rested_until is not None and usage.rested_until > now:
        return False
    if caps.per_hour is not None and usage.last_hour >= caps.per_hour:
        return False
    if caps.per_day is not None and usage.last_day >= caps.per_day:
        return False
    return not (caps.min_spacing_s and usage.last_at is not None
                and (now - usage.last_at).total_seconds() < caps.min_spacing_s)


def pick(pool: Sequence[PoolNumber], usage: Mapping[str, Usage], *, area: str | None, state: str | None,
         caps: Caps, now: datetime) -> str | None:
    """The number to call from (see the module); None when every number is at a cap or resting."""
    open_ = [n for n in pool if room(usage.get(n.number, Usage()), caps, now)]
    if not open_:
        return None

    def rank(item: tuple[int, PoolNumber]) -> tuple[int, int, int]:
        i, n = item
        local = 0 if area is not None and n.area == area else 1 if state is not None and n.state == state else 2
        return local, usage.get(n.number, Usage()).last_hour, i

    return min(enumerate(open_), key=rank)[1].number


def free_at(pool: Sequence[PoolNumber], usage: Mapping[str, Usage], caps: Caps, now: datetime) -> datetime:
    """The earliest instant a number of the pool may call again (an estimate, re-checked then)."""
    soonest = now + timedelta(hours=1)
    for n in pool:
        used = usage.get(n.number, Usage())
        if used.rested_until is not None and used.rested_until > now:
            soonest = min(soonest, used.rested_until)
            continue
        if caps.min_spacing_s and used.last_at is not None:
            soonest = min(soonest, used.last_at + timedelta(seconds=caps.min_spacing_s))
        if caps.per_day is not None and used.last_day >= caps.per_day:
            continue  # a day's cap frees within the hour's estimate at best
        soonest = min(soonest, now + timedelta(minutes=1))
    return max(soonest, now + timedelta(seconds=1))


class CallerIdPool:
    """A campaign's caller-ID pool (one per dialer); :meth:`choose` runs in the call's transaction."""

    def __init__(self, campaign_id: int, numbers: Sequence[str], caps: Caps, rest: RestRule | None = None,
                 campaign: str = "") -> None:
        self.campaign_id = campaign_id
        self.pool = [pool_number(n) for n in dict.fromkeys(numbers)]
        self.caps = caps
        self.rest = rest
        self.campaign = campaign
        self._reviewed: datetime | None = None

    async def lock(self, s: AsyncSession) -> None:
        """Take the campaign row's lock for the transaction: one choice at a time across dialers."""
        await s.execute(select(Campaign.id).where(Campaign.id == self.campaign_id).with_for_update())

    async def choose(self, s: AsyncSession, lead: Lead, now: datetime) -> str:
        """The number ``lead``'s call comes from.

        Raises:
            NoCallerId: every number is at a cap or resting.
        """
        await self.lock(s)
        if self.rest is not None and (self._reviewed is None or now - self._reviewed >= REVIEW_EVERY):
            self._reviewed = now
            await self.review(s, now)
        usage = await self.usage(s, now)
        try:
            state = lead.state or parse_phone(lead.phone_e164).state
        except InvalidPhone:
            state = lead.state
        chosen = pick(self.pool, usage, area=area_of(lead.phone_e164), state=state, caps=self.caps, now=now)
        if chosen is None:
            raise NoCallerId(free_at(self.pool, usage, self.caps, now))
        return chosen

    async def usage(self, s: AsyncSession, now: datetime) -> dict[str, Usage]:
        numbers = [n.number for n in self.pool]
        hour = now - timedelta(hours=1)
        rows = (await s.execute(
            select(Call.caller_id, func.count(), func.sum(case((Call.created_at > hour, 1), else_=0)),
                   func.max(Call.created_at))
            .where(Call.campaign_id == self.campaign_id, Call.caller_id.in_(numbers),
                   Call.created_at > now - timedelta(days=1))
            .group_by(Call.caller_id))).all()
        rested = dict((await s.execute(select(CallerNumber.number, CallerNumber.rested_until).where(
            CallerNumber.campaign_id == self.campaign_id, CallerNumber.rested_until > now))).all())
        found = {number: Usage(int(hour_n or 0), int(day_n), last, rested.get(number))
                 for number, day_n, hour_n, last in rows}
        for number, until in rested.items():
            found.setdefault(number, Usage(rested_until=until))
        return found

    async def review(self, s: AsyncSession, now: datetime) -> list[str]:
        """Rest the numbers whose answer rate fell well under their pool's (see the module)."""
        assert self.rest is not None
        rates = await answer_rates(s, self.campaign_id, [n.number for n in self.pool], since=now - RATE_WINDOW,
                                   last=self.rest.after)
        placed = sum(n for n, _ in rates.values())
        if len(rates) < 2 or not placed:
            return []
        pool_rate = sum(a for _, a in rates.values()) / placed
        rested = []
        for number, (calls, answered) in rates.items():
            if calls < self.rest.after or answered / calls >= self.rest.below * pool_rate:
                continue
            row = (await s.execute(select(CallerNumber).where(CallerNumber.campaign_id == self.campaign_id,
                                                              CallerNumber.number == number))).scalar_one_or_none()
            if row is not None and row.rested_until is not None and row.rested_until > now:
                continue
            if row is None:
                row = CallerNumber(campaign_id=self.campaign_id, number=number)
                s.add(row)
            row.rested_until = now + timedelta(hours=self.rest.hours)
            row.rest_reason = (f"answer rate {answered / calls:.0%} over its last {calls} calls, under "
                               f"{self.rest.below:.0%} of the pool's {pool_rate:.0%}")
            metrics.CALLER_IDS_RESTED.labels(campaign=self.campaign).inc()
            log.warning("caller ID …%s rested for %g h: %s", number[-4:], self.rest.hours, row.rest_reason)
            rested.append(number)
        return rested


async def answer_rates(s: AsyncSession, campaign_id: int, numbers: Sequence[str], *, since: datetime,
                       last: int) -> dict[str, tuple[int, int]]:
    """Per number: (calls, answered) over its last ``last`` calls since ``since``."""
    out: dict[str, tuple[int, int]] = {}
    for number in numbers:
        recent = (select(Call.answered_at).where(Call.campaign_id == campaign_id, Call.caller_id == number,
                                                 Call.created_at > since, Call.ended_at.is_not(None))
                  .order_by(Call.created_at.desc()).limit(last).subquery())
        calls, answered = (await s.execute(select(func.count(), func.count(recent.c.answered_at)))).one()
        if calls:
            out[number] = (int(calls), int(answered))
    return out


async def number_stats(s: AsyncSession, campaign_id: int, *, since: datetime, now: datetime) -> list[dict[str, Any]]:
    """What ``reauto numbers stats`` shows: per number used by the campaign since ``since``."""
    duration = func.extract("epoch", Call.ended_at - Call.answered_at) if s.bind.dialect.name == "postgresql" \
        else (func.julianday(Call.ended_at) - func.julianday(Call.answered_at)) * 86400
    rows = (await s.execute(
        select(Call.caller_id, func.count(), func.count(Call.answered_at),
               func.sum(case((duration < SHORT_CALL_S, 1), else_=0)), func.max(Call.created_at))
        .where(Call.campaign_id == campaign_id, Call.caller_id.is_not(None), Call.created_at > since,
               Call.direction == "outbound")
        .group_by(Call.caller_id).order_by(Call.caller_id))).all()
    rested = {r.number: r for r in (await s.execute(select(CallerNumber).where(
        CallerNumber.campaign_id == campaign_id))).scalars()}
    out = []
    for number, calls, answered, short, last in rows:
        attestation = (await s.execute(
            select(CallEvent.payload).join(Call, Call.id == CallEvent.call_id)
            .where(Call.campaign_id == campaign_id, Call.caller_id == number, CallEvent.type == "status:completed")
            .order_by(CallEvent.id.desc()).limit(1))).scalar_one_or_none() or {}
        row = rested.get(number)
        resting = row is not None and row.rested_until is not None and row.rested_until > now
        out.append({"number": number, "calls": int(calls), "answered": int(answered),
                    "answer_rate": round(answered / calls, 3) if calls else None,
                    "short_calls": int(short or 0),
                    "short_rate": round(int(short or 0) / answered, 3) if answered else None,
                    "attestation": attestation.get("StirStatus") or attestation.get("StirVerstat"),
                    "last_call": last.isoformat() if last else None,
                    "rested_until": row.rested_until.isoformat() if resting and row else None,
                    "rest_reason": row.rest_reason if resting and row else None})
    return out
