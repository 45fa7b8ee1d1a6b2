"""``reauto report``: one campaign's calls over a day, week or month, computed from the store.

Definitions (every instant in UTC):

* **Period** — whole UTC calendar days. The last day is the UTC date of ``end`` (a date, or an
  aware datetime converted to UTC); ``day`` is that one day, ``week`` the 7 days and ``month``
  the 30 days ending with it: ``[00:00 of last − (n − 1) days, 00:00 of last + 1 day)``. A call
  belongs to the day of its ``created_at`` (when it was placed).
* **Placed** — every call row of the campaign created in the period, whatever its status.
* **Answered** (by a person) — status ``completed`` and outcome other than ``voicemail`` (a
  completed call without an outcome counts).
* **Qualified lead** — a lead with a call in the period whose latest qualification snapshot (the
  highest version among the snapshots tied to that call) scores ≥ :data:`QUALIFIED_SCORE`. A lead
  counts once per day and once over the period, so the period's total can be below the sum of
  its days.
* **Booking** — a call with outcome ``booked``; booking rate = bookings / answered calls.
* **Variant** — ``calls.prompt_variant``, NULL read as ``default``. Each variant's booking rate
  (bookings / answered) is compared with the reference variant — the one with the most calls
  placed, ties broken by name — by a two-sided, pooled two-proportion z-test; the result is
  flagged as a small sample when any expected count of the 2×2 table is below
  :data:`MIN_EXPECTED`.
* **Cost** — the sum of ``calls.cost_total`` of the calls placed; per call, per qualified lead and
  per booking rounded half-up to 6 decimals, None when the divisor is zero.
* **Quality** — over the turns of the calls placed: lead turns' STT confidence (turns that have
  one) mean and share strictly below :data:`LOW_CONFIDENCE`; agent turns' ``first_audio_ms``
  p50/p95 by nearest rank; abandoned calls (``calls.abandoned`` true) / answered calls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from reauto.errors import UsageError
from reauto.store.engine import session_factory
from reauto.store.models import Call, CallEvent, CallStatus, Campaign, Outcome, QualificationSnapshot, Turn

#: A call qualifies its lead when its latest snapshot scores at least this.
QUALIFIED_SCORE = 0.6
#: A lead turn heard with a confidence below this is a low-confidence turn.
LOW_CONFIDENCE = 0.45
#: Below this expected count in any cell, the z-test's normal approximation is not trusted.
MIN_EXPECTED = 5
#: How a call without a prompt variant is shown.
DEFAULT_VARIANT = "default"
#: Money per unit is rounded to the store's precision.
MICRO = Decimal("0.000001")
#: The outcome key of calls that have none (still running, busy, failed before an outcome).
NO_OUTCOME = "none"


class Period(StrEnum):
    """How many whole UTC days a report covers."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return {Period.DAY: 1, Period.WEEK: 7, Period.MONTH: 30}[self]


@dataclass(frozen=True)
class CallRow:
    """The columns of one call that the report needs."""

    id: int
    lead_id: int
    created_at: datetime
    status: str
    outcome: str | None
    variant: str
    cost: Decimal
    abandoned: bool
    score: float | None = None

    @property
    def answered(self) -> bool:
        """A person picked up: completed and not a voicemail."""
        return self.status == CallStatus.COMPLETED.value and self.outcome != Outcome.VOICEMAIL.value

    @property
    def booked(self) -> bool:
        """The call booked an appointment."""
        return self.outcome == Outcome.BOOKED.value

    @property
    def qualified(self) -> bool:
        """The call's latest qualification snapshot reached :data:`QUALIFIED_SCORE`."""
        return self.score is not None and self.score >= QUALIFIED_SCORE


@dataclass
class DayStats:
    """One UTC day of the period."""

    day: date
    calls: int
    answered: int
    qualified: int
    bookings: int
    booking_rate: float | None
    cost: Decimal


@dataclass
class Totals:
    """The whole period."""

    calls: int
    answered: int
    qualified: int
    bookings: int
    booking_rate: float | None


@dataclass
class OutcomeShare:
    """How many calls placed ended with one outcome, and their share of the calls placed."""

    outcome: str
    count: int
    share: float | None


@dataclass
class VariantStats:
    """Conversion of one prompt variant, tested against the reference variant."""

    variant: str
    calls: int
    answered: int
    bookings: int
    booking_rate: float | None
    versus: str | None = None
    p_value: float | None = None
    small_sample: bool = False


@dataclass
class CostStats:
    """What the period's calls cost."""

    total: Decimal
    per_call: Decimal | None
    per_qualified_lead: Decimal | None
    per_booking: Decimal | None


@dataclass
class QualityStats:
    """How well the agent heard and how fast it answered."""

    lead_turns: int
    confidence_mean: float | None
    low_confidence_share: float | None
    agent_turns: int
    first_audio_p50_ms: float | None
    first_audio_p95_ms: float | None
    abandoned: int
    abandon_rate: float | None


@dataclass
class SpeedToLead:
    """Posted leads' first calls: intake → dial started and → answered, in seconds."""

    posted_leads_dialed: int = 0
    dial_p50_s: float | None = None
    dial_p95_s: float | None = None
    answered: int = 0
    answered_p50_s: float | None = None
    answered_p95_s: float | None = None


def speed_to_lead(timings: Iterable[Mapping[str, float]]) -> SpeedToLead:
    """Percentiles of the ``speed_to_lead`` timings stored with each posted lead's first call."""
    dial = [t["dial_s"] for t in timings if "dial_s" in t]
    answered = [t["answered_s"] for t in timings if "answered_s" in t]
    return SpeedToLead(len(dial), percentile(dial, 50), percentile(dial, 95),
                       len(answered), percentile(answered, 50), percentile(answered, 95))


@dataclass
class CampaignReport:
    """Everything ``reauto report`` shows; ``end`` is exclusive (00:00 UTC after the last day)."""

    campaign: str
    period: str
    start: datetime
    end: datetime
    days: list[DayStats]
    totals: Totals
    outcomes: list[OutcomeShare]
    variants: list[VariantStats]
    cost: CostStats
    quality: QualityStats
    notes: list[str] = field(default_factory=list)
    speed: SpeedToLead = field(default_factory=SpeedToLead)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data: dates and instants as ISO 8601, Decimals as strings."""
        data = _plain(dataclasses.asdict(self))
        data["thresholds"] = {"qualified_score": QUALIFIED_SCORE, "low_confidence": LOW_CONFIDENCE,
                              "min_expected_count": MIN_EXPECTED}
        return data


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


# ---------------------------------------------------------------------------------------------
# Small pure helpers


def period_window(period: Period | str, end: date | datetime) -> tuple[datetime, datetime]:
    """The period's ``[start, end)`` in UTC: whole days, the last one being ``end``'s UTC date.

    Raises:
        ValueError: ``end`` is a naive datetime.
    """
    if isinstance(end, datetime):
        if end.tzinfo is None:
            raise ValueError(f"end {end.isoformat()} has no UTC offset")
        end = end.astimezone(UTC).date()
    days = Period(period).days
    start = datetime.combine(end - timedelta(days=days - 1), time(), tzinfo=UTC)
    return start, datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or None when ``whole`` is zero."""
    return part / whole if whole else None


def per_unit(total: Decimal, units: int) -> Decimal | None:
    """``total / units`` rounded half-up to :data:`MICRO`; None when there are no units."""
    return (total / units).quantize(MICRO, rounding=ROUND_HALF_UP) if units else None


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``pct`` % of values ≤ it.

    Args:
        values: the sample, in any order.
        pct: 0 to 100; 0 gives the minimum, 100 the maximum.

    Returns:
        A value of the sample (never interpolated), or None for an empty sample.
    """
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is outside 0..100")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct * len(ordered) / 100))
    return ordered[rank - 1]


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of ``k1/n1`` against ``k2/n2``.

    ``z = (p1 − p2) / sqrt(p (1 − p) (1/n1 + 1/n2))`` with the pooled ``p = (k1 + k2) / (n1 + n2)``
    (the same test as a 2×2 chi-square without continuity correction); ``p = erfc(|z| / √2)``.

    Returns:
        The p-value; 1.0 when both samples are all successes or all failures (no variance);
        None when either sample is empty.

    Raises:
        ValueError: a count is negative or above its sample size.
    """
    if n1 < 0 or n2 < 0 or not (0 <= k1 <= max(n1, 0) and 0 <= k2 <= max(n2, 0)):
        raise ValueError(f"invalid counts {k1}/{n1} vs {k2}/{n2}")
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def small_sample(k1: int, n1: int, k2: int, n2: int) -> bool:
    """Whether any expected count of the 2×2 table (under the pooled rate) is below 5."""
    if n1 == 0 or n2 == 0:
        return True
    pooled = (k1 + k2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    return min(expected) < MIN_EXPECTED


# ---------------------------------------------------------------------------------------------
# From call rows to the report's sections


def daily_stats(rows: Sequence[CallRow], start: datetime, days: int) -> list[DayStats]:
    """One entry per UTC day from ``start``, days without calls included."""
    buckets: dict[date, list[CallRow]] = {}
    for r in rows:
        buckets.setdefault(r.created_at.astimezone(UTC).date(), []).append(r)
    first = start.astimezone(UTC).date()
    return [_day(day, buckets.get(day, [])) for day in (first + timedelta(days=i) for i in range(days))]


def _day(day: date, rows: Sequence[CallRow]) -> DayStats:
    answered = sum(r.answered for r in rows)
    bookings = sum(r.booked for r in rows)
    return DayStats(day=day, calls=len(rows), answered=answered, qualified=qualified_leads(rows),
                    bookings=bookings, booking_rate=ratio(bookings, answered),
                    cost=sum((r.cost for r in rows), Decimal(0)))


def qualified_leads(rows: Iterable[CallRow]) -> int:
    """Distinct leads with at least one qualified call among ``rows``."""
    return len({r.lead_id for r in rows if r.qualified})


def totals(rows: Sequence[CallRow]) -> Totals:
    """Calls, answered, qualified leads and bookings over the whole period."""
    answered = sum(r.answered for r in rows)
    bookings = sum(r.booked for r in rows)
    return Totals(calls=len(rows), answered=answered, qualified=qualified_leads(rows), bookings=bookings,
                  booking_rate=ratio(bookings, answered))


def outcome_mix(rows: Sequence[CallRow]) -> list[OutcomeShare]:
    """Every outcome (zero counts included) and ``none``, as counts and shares of calls placed."""
    keys = [o.value for o in Outcome] + [NO_OUTCOME]
    counts = dict.fromkeys(keys, 0)
    for r in rows:
        counts[r.outcome or NO_OUTCOME] += 1
    return [OutcomeShare(k, counts[k], ratio(counts[k], len(rows))) for k in keys]


def variant_stats(rows: Sequence[CallRow]) -> list[VariantStats]:
    """Per variant, most calls first; each one tested against the first (the reference)."""
    groups: dict[str, list[CallRow]] = {}
    for r in rows:
        groups.setdefault(r.variant, []).append(r)
    out = []
    for name, mine in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        answered = sum(r.answered for r in mine)
        bookings = sum(r.booked for r in mine)
        out.append(VariantStats(name, len(mine), answered, bookings, ratio(bookings, answered)))
    if out:
        ref = out[0]
        for v in out[1:]:
            v.versus = ref.variant
            v.p_value = two_proportion_p(v.bookings, v.answered, ref.bookings, ref.answered)
            v.small_sample = small_sample(v.bookings, v.answered, ref.bookings, ref.answered)
    return out


def variant_notes(variants: Sequence[VariantStats]) -> list[str]:
    """One line per comparison whose result should not be trusted."""
    notes = []
    for v in variants:
        if v.versus is None:
            continue
        if v.p_value is None:
            notes.append(f"variant {v.variant!r} vs {v.versus!r}: no answered calls on one side, no test")
        elif v.small_sample:
            notes.append(f"variant {v.variant!r} vs {v.versus!r}: an expected count is below {MIN_EXPECTED}; "
                         f"the sample is too small for the z-test (p = {v.p_value:.3f} is unreliable)")
    return notes


def cost_stats(rows: Sequence[CallRow], total: Totals) -> CostStats:
    """Total cost and cost per call, per qualified lead and per booking."""
    spent = sum((r.cost for r in rows), Decimal(0))
    return CostStats(total=spent, per_call=per_unit(spent, total.calls),
                     per_qualified_lead=per_unit(spent, total.qualified),
                     per_booking=per_unit(spent, total.bookings))


def summarise(campaign: str, period: Period | str, start: datetime, end: datetime, rows: Sequence[CallRow],
              quality: QualityStats, speed: SpeedToLead | None = None) -> CampaignReport:
    """Assemble the report from the period's call rows and its quality figures."""
    total = totals(rows)
    variants = variant_stats(rows)
    notes = variant_notes(variants)
    if not rows:
        notes.append("no calls placed in this period")
    return CampaignReport(campaign=campaign, period=Period(period).value, start=start, end=end,
                          days=daily_stats(rows, start, (end - start).days), totals=total,
                          outcomes=outcome_mix(rows), variants=variants, cost=cost_stats(rows, total),
                          quality=quality, notes=notes, speed=speed or SpeedToLead())


# ---------------------------------------------------------------------------------------------
# Queries


async def build_report(engine: AsyncEngine, campaign: str, period: Period | str,
                       end: date | datetime) -> CampaignReport:
    """Compute the report of ``campaign`` for the ``period`` whose last UTC day is ``end``'s.

    Raises:
        UsageError: no campaign has that name.
    """
    start, stop = period_window(period, end)
    async with session_factory(engine)() as s:
        campaign_id = await _campaign_id(s, campaign)
        in_period = (Call.campaign_id == campaign_id) & (Call.created_at >= start) & (Call.created_at < stop)
        rows = await _call_rows(s, in_period)
        quality = await _quality(s, in_period, answered=sum(r.answered for r in rows),
                                 abandoned=sum(r.abandoned for r in rows))
        ended = (await s.execute(select(CallEvent.payload).join(Call, Call.id == CallEvent.call_id)
                                 .where(in_period, CallEvent.type == "ended"))).scalars()
        speed = speed_to_lead(p["speed_to_lead"] for p in ended if isinstance(p, dict) and "speed_to_lead" in p)
    return summarise(campaign, period, start, stop, rows, quality, speed)


async def _campaign_id(s: AsyncSession, name: str) -> int:
    found = (await s.execute(select(Campaign.id).where(Campaign.name == name))).scalar_one_or_none()
    if found is None:
        raise UsageError(f"no campaign named {name!r}")
    return found


async def _call_rows(s: AsyncSession, in_period: ColumnElement[bool]) -> list[CallRow]:
    snap = QualificationSnapshot
    latest = (select(snap.call_id, func.max(snap.version).label("version"))
              .join(Call, Call.id == snap.call_id).where(in_period).group_by(snap.call_id).subquery())
    scores = dict((await s.execute(
        select(snap.call_id, snap.score)
        .join(latest, (snap.call_id == latest.c.call_id) & (snap.version == latest.c.version))
    )).all())
    calls = await s.execute(
        select(Call.id, Call.lead_id, Call.created_at, Call.status, Call.outcome, Call.prompt_variant,
               Call.cost_total, Call.abandoned).where(in_period).order_by(Call.created_at, Call.id))
    return [CallRow(id=i, lead_id=lead, created_at=at, status=_value(status), outcome=_value(outcome),
                    variant=variant or DEFAULT_VARIANT, cost=Decimal(cost or 0), abandoned=bool(abandoned),
                    score=scores.get(i))
            for i, lead, at, status, outcome, variant, cost, abandoned in calls]


def _value(member: Any) -> str | None:
    return None if member is None else getattr(member, "value", member)


async def _quality(s: AsyncSession, in_period: ColumnElement[bool], *, answered: int,
                   abandoned: int) -> QualityStats:
    heard = Turn.confidence.is_not(None) & (Turn.speaker == "lead")
    count, mean, low = (await s.execute(
        select(func.count(Turn.id), func.avg(Turn.confidence),
               func.coalesce(func.sum(case((Turn.confidence < LOW_CONFIDENCE, 1), else_=0)), 0))
        .join(Call, Call.id == Turn.call_id).where(in_period, heard)
    )).one()
    first_audio = list((await s.execute(
        select(Turn.first_audio_ms).join(Call, Call.id == Turn.call_id)
        .where(in_period, Turn.speaker == "agent", Turn.first_audio_ms.is_not(None))
    )).scalars())
    return QualityStats(lead_turns=count, confidence_mean=None if mean is None else float(mean),
                        low_confidence_share=ratio(int(low), count), agent_turns=len(first_audio),
                        first_audio_p50_ms=percentile(first_audio, 50),
                        first_audio_p95_ms=percentile(first_audio, 95),
                        abandoned=abandoned, abandon_rate=ratio(abandoned, answered))
