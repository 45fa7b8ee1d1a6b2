"""The pre-dial compliance gate: a pure function of (lead, rules, now, history) → allow or deny.

Rules are data (:class:`ComplianceRules`, defaults from 47 CFR 64.1200, 16 CFR 310 and the state
statutes in COMPLIANCE.md) so counsel can change them. The gate enforces the lead's local calling
window in *every* candidate time zone, federal holidays, national and internal DNC, prior express
written consent for artificial-voice calls, the attempt cap, the 3-calls-in-24-hours states and the
campaign's abandoned-call ceiling. A time-based denial carries the first legal minute to try again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

#: Time zones by US state, for leads whose number gave none (first is the most populous): the
#: table lead import uses, so the gate and the stored candidates never disagree.
from reauto.leads.normalize import STATE_ZONES

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

@dataclass(frozen=True)
class Hours:
    """A daily window [start, end) in local time, with an optional later Sunday start."""

    start: time
    end: time
    sunday_start: time | None = None


#: A call is abandoned unless the agent's first audio starts this soon after the person's greeting.
ABANDON_AFTER_S = 2.0
#: A lead refused because the campaign's abandoned-call rate is over its ceiling is looked at again after this.
ABANDON_RECHECK = timedelta(hours=1)


@dataclass(frozen=True)
class ComplianceRules:
    """The calling rules as data."""

    federal: Hours = Hours(time(8), time(21))
    states: Mapping[str, Hours] = field(default_factory=lambda: {
        "FL": Hours(time(8), time(20)),
        "OK": Hours(time(8), time(20)),
        "MD": Hours(time(8), time(20)),
        "TX": Hours(time(9), time(21), sunday_start=time(12)),
    })
    campaign: Hours = Hours(time(0), time(23, 59))
    days: frozenset[str] = frozenset(DAYS)
    federal_holidays: bool = True
    three_in_24h_states: frozenset[str] = frozenset({"FL", "OK", "MD"})
    max_attempts: int = 3
    require_written_consent: bool = True
    require_ai_voice_consent: bool = True  # the consent on record covers artificial-voice calls (FCC 24-17)
    abandon_ceiling: float = 0.03
    abandon_after_s: float = ABANDON_AFTER_S
    all_party_states: frozenset[str] = frozenset(
        {"CA", "FL", "IL", "MD", "MA", "MT", "NH", "PA", "WA", "CT", "DE", "NV", "MI"}
    )
    record_calls: bool = True
    record_one_party_only: bool = False  # record only leads in one-party-consent states (state known)


@dataclass(frozen=True)
class LeadFacts:
    """What the gate needs to know about a lead."""

    phone_e164: str
    state: str | None
    zones: tuple[str, ...]
    has_written_consent: bool
    ai_voice_consent: bool = False  # a consent on record, not revoked, covers artificial-voice calls
    dnc_internal: bool = False
    dnc_national: bool = False
    attempts: int = 0


@dataclass(frozen=True)
class Decision:
    """The gate's answer."""

    allowed: bool
    reason: str = "ok"
    next_allowed_at: datetime | None = None
    may_record: bool = False
    must_announce_recording: bool = False
    disclosures: tuple[str, ...] = ()


def zones_for(lead: LeadFacts) -> tuple[str, ...]:
    """Candidate zones: the lead's, else its state's (all of them), else none."""
    if lead.zones:
        return lead.zones
    return STATE_ZONES.get((lead.state or "").upper(), ())


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays_lib.US(years=year).keys())


def window(rules: ComplianceRules, state: str | None, day: date) -> tuple[time, time] | None:
    """The legal window on ``day`` (local) for a lead in ``state``: federal ∩ state ∩ campaign."""
    if DAYS[day.weekday()] not in rules.days:
        return None
    if rules.federal_holidays and day in _holidays(day.year):
        return None
    parts = [rules.federal, rules.campaign]
    if state and state.upper() in rules.states:
        parts.append(rules.states[state.upper()])
    sunday = day.weekday() == 6
    start = max((h.sunday_start if sunday and h.sunday_start else h.start) for h in parts)
    end = min(h.end for h in parts)
    return (start, end) if start < end else None


def in_window(rules: ComplianceRules, state: str | None, zone: str, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(zone))
    span = window(rules, state, local.date())
    return span is not None and span[0] <= local.time().replace(tzinfo=None) < span[1]


def recording(rules: ComplianceRules, state: str | None) -> tuple[bool, bool]:
    """(may record, must announce): every recorded call is announced; all-party states require it.
    A campaign that records only where one party's consent suffices records no lead of an
    all-party state, nor one whose state is unknown."""
    if not rules.record_calls:
        return False, False
    if rules.record_one_party_only and (state is None or state.upper() in rules.all_party_states):
        return False, False
    return True, True


def _calls_in_24h(history: Sequence[datetime], now: datetime) -> list[datetime]:
    return sorted(t for t in history if now - timedelta(hours=24) < t <= now)


def _timed_ok(lead: LeadFacts, rules: ComplianceRules, zones: Sequence[str], at: datetime,
              history: Sequence[datetime]) -> str | None:
    for zone in zones:
        if not in_window(rules, lead.state, zone, at):
            return f"outside the calling window in {zone}"
    if (lead.state or "").upper() in rules.three_in_24h_states and len(_calls_in_24h(history, at)) >= 3:
        return f"3 calls in 24 hours already ({lead.state})"
    return None


def check(
    lead: LeadFacts,
    rules: ComplianceRules,
    now: datetime,
    history: Sequence[datetime] = (),
    *,
    abandon_rate: float | None = None,
) -> Decision:
    """May this lead be called at ``now``?

    Args:
        lead: the lead's facts.
        rules: the campaign's calling rules.
        now: the instant of the dial (timezone-aware).
        history: start instants of earlier calls to this lead on this subject.
        abandon_rate: the campaign's abandoned-call rate over the last 30 days.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if lead.dnc_national or lead.dnc_internal:
        which = "national" if lead.dnc_national else "internal"
        return Decision(False, f"dnc: on the {which} do-not-call list")
    if rules.require_written_consent and not lead.has_written_consent:
        return Decision(False, "no prior express written consent for an artificial-voice call")
    if rules.require_ai_voice_consent and not lead.ai_voice_consent:
        return Decision(False, "no consent on record covers calls with an artificial (AI) voice")
    if lead.attempts >= rules.max_attempts:
        return Decision(False, f"attempts exhausted ({lead.attempts}/{rules.max_attempts})")
    if abandon_rate is not None and abandon_rate > rules.abandon_ceiling:
        # the campaign's condition, not the lead's: try again later (the rate falls as the window moves)
        return Decision(False, f"campaign abandoned-call rate {abandon_rate:.1%} over {rules.abandon_ceiling:.0%}",
                        next_allowed_at=now + ABANDON_RECHECK)
    zones = zones_for(lead)
    if not zones:
        return Decision(False, "unknown time zone: the lead has no zone, state or usable number")
    reason = _timed_ok(lead, rules, zones, now, history)
    if reason is not None:
        return Decision(False, reason, next_allowed_at=next_allowed(lead, rules, now, history))
    may_record, announce = recording(rules, lead.state)
    lines = ("This call may be recorded for quality and training.",) if announce else ()
    return Decision(True, "ok", may_record=may_record, must_announce_recording=announce, disclosures=lines)


def answering(rules: ComplianceRules, state: str | None) -> Decision:
    """The rules for answering a call the lead placed to the campaign's number.

    The rules of placing a call (calling hours, consent, do-not-call lists, attempts, the
    abandoned-call rate) govern calls to the lead, not the lead's own call: it is answered. The
    recording rules apply as to any call (two-party states are told it may be recorded). A number
    that opted out is told so by the agent and the call ends (:mod:`reauto.agent.inbound`).
    """
    may_record, announce = recording(rules, state)
    lines = ("This call may be recorded for quality and training.",) if announce else ()
    return Decision(True, "the lead called", may_record=may_record, must_announce_recording=announce,
                    disclosures=lines)


def next_allowed(lead: LeadFacts, rules: ComplianceRules, now: datetime,
                 history: Sequence[datetime] = (), *, horizon_days: int = 14) -> datetime | None:
    """The first instant ≥ ``now`` (to the minute) at which the timed rules all allow a call.

    The allowed set is an intersection of daily windows and the 24-hour rule, so its first point
    is ``now``, the start of some zone's window, or the moment a call leaves the 24-hour span.
    """
    zones = zones_for(lead)
    candidates = {now}
    for zone in zones:
        tz = ZoneInfo(zone)
        local_today = now.astimezone(tz).date()
        for offset in range(horizon_days + 1):
            day = local_today + timedelta(days=offset)
            span = window(rules, lead.state, day)
            if span is not None:
                candidates.add(datetime.combine(day, span[0], tzinfo=tz).astimezone(UTC))
    for t in history:
        candidates.add(t + timedelta(hours=24, minutes=1))
    for at in sorted(c for c in candidates if c >= now):
        if _timed_ok(lead, rules, zones, at, history) is None:
            return at.astimezone(UTC).replace(second=0, microsecond=0) if at != now else at
    return None
