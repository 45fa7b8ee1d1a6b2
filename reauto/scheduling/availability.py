"""Free appointment slots of the human agent, how the voice agent says them, and busy time from iCalendar.

Slots follow the campaign's weekly ``booking.hours``, read in the calendar's zone: each wall-clock
start is converted through zoneinfo, so a time skipped by a spring-forward change is not offered
and an ambiguous time on a fall-back day is its first occurrence (``fold=0``). Every slot lasts
``slot_minutes`` of real time and is kept in UTC.

Busy time comes from the agent's own calendar as an iCalendar feed (a file or an http(s) URL),
recurring events expanded. Times without a zone — floating times and all-day (DATE) events — are
read in the feed's declared zone (``X-WR-TIMEZONE``) or, when it declares none, in the booking's
zone: an all-day event blocks that whole local day for the agent.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from reauto.campaign import Booking
from reauto.errors import ProviderError
from reauto.httpapi import HttpApi

__all__ = ["CalendarError", "Interval", "Slot", "busy_from_ics", "free_slots", "load_busy_calendar",
           "spoken_slot", "two_offers"]

#: A busy period, ``(start, end)``, timezone-aware.
Interval = tuple[datetime, datetime]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
#: A second offer is a real choice when it is on another day or this much later than the first.
OFFER_GAP = timedelta(hours=3)
#: How far a feed is read beyond the asked window, so floating and all-day times in any zone are seen.
ZONE_MARGIN = timedelta(days=1)


class CalendarError(ProviderError, ValueError):
    """A busy calendar cannot be used: unreachable, unreadable, or not valid iCalendar."""


@dataclass(frozen=True)
class Slot:
    """One appointment slot; ``start`` and ``end`` are timezone-aware, in UTC."""

    start: datetime
    end: datetime


def _utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {at.isoformat()}")
    return at.astimezone(UTC)


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{what}: unknown time zone {name!r}") from None


def _wall_to_utc(day: date, minutes: int, zone: ZoneInfo) -> datetime | None:
    """The instant of ``minutes`` past midnight of ``day`` on the wall clocks of ``zone``.

    Ambiguous times (fall-back) are their first occurrence; None for a time that does not exist
    (spring-forward), found by a round trip through UTC that does not come back to the same wall time.
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    at = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return at if at.astimezone(zone).replace(tzinfo=None) == wall else None


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _slot_starts(booking: Booking, day: date) -> list[int]:
    """Wall-clock minutes past midnight at which a slot starts on ``day``: on each window's start, then
    every slot length while the slot fits in the window (overlapping windows count once)."""
    starts: set[int] = set()
    for span in booking.hours.get(DAY_KEYS[day.weekday()], []):  # type: ignore[call-overload]
        first, last = (_minutes(part) for part in span.split("-"))
        starts.update(range(first, last - booking.slot_minutes + 1, booking.slot_minutes))
    return sorted(starts)


def _blocked(busy: Sequence[Interval], buffer: timedelta) -> tuple[list[datetime], list[datetime]]:
    """Busy intervals widened by ``buffer`` on both sides and merged: their starts and their ends,
    both ascending (the intervals are disjoint)."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    widened = sorted((_utc(b, "busy start") - buffer, _utc(e, "busy end") + buffer) for b, e in busy)
    for begin, end in widened:
        if ends and begin <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(begin)
            ends.append(end)
    return starts, ends


def free_slots(booking: Booking, busy: Sequence[Interval], now: datetime, *, limit: int = 50) -> list[Slot]:
    """The agent's free slots, soonest first, at most ``limit``.

    A slot starts at least ``min_notice_minutes`` after ``now`` and ends at most ``horizon_days``
    after it, lies inside the weekly ``hours`` of a day that is not a blackout date (both in the
    calendar's zone), and does not overlap a busy interval widened by ``buffer_minutes`` on each side.

    Args:
        booking: the campaign's booking settings.
        busy: the agent's busy intervals (timezone-aware), e.g. from :func:`load_busy_calendar`.
        now: the current instant (timezone-aware).
        limit: most slots returned.
    """
    zone = ZoneInfo(booking.timezone)
    now = _utc(now, "now")
    earliest = now + timedelta(minutes=booking.min_notice_minutes)
    latest = now + timedelta(days=booking.horizon_days)
    length = timedelta(minutes=booking.slot_minutes)
    busy_starts, busy_ends = _blocked(busy, timedelta(minutes=booking.buffer_minutes))
    blackout = set(booking.blackout_dates)
    slots: list[Slot] = []
    day, last_day = earliest.astimezone(zone).date(), latest.astimezone(zone).date()
    while day <= last_day and len(slots) < limit:
        for minutes in [] if day in blackout else _slot_starts(booking, day):
            start = _wall_to_utc(day, minutes, zone)
            if start is None or start < earliest or start + length > latest:
                continue
            i = bisect_left(busy_starts, start + length) - 1  # the last busy period starting before the slot ends
            if i >= 0 and busy_ends[i] > start:
                continue
            slots.append(Slot(start, start + length))
            if len(slots) == limit:
                break
        day += timedelta(days=1)
    return slots


def two_offers(slots: Sequence[Slot], booking_tz: str) -> list[Slot]:
    """The two slots the agent offers: the first free one, and the first one after it that is a real
    choice — on another day of the calendar (``booking_tz``) or at least 3 hours later.

    Fewer when there are none (one slot only when no later slot is a real choice).
    """
    ordered = sorted(slots, key=lambda slot: slot.start)
    if not ordered:
        return []
    zone = ZoneInfo(booking_tz)
    first = ordered[0]
    first_day = first.start.astimezone(zone).date()
    for slot in ordered[1:]:
        if slot.start.astimezone(zone).date() != first_day or slot.start - first.start >= OFFER_GAP:
            return [first, slot]
    return [first]


def spoken_slot(slot: Slot, zone: str, now: datetime) -> str:
    """How the agent says ``slot`` in the lead's ``zone``: ``today at 4 PM``, ``tomorrow at 10 AM``,
    ``Thursday at 2:30 PM`` (within 6 days), ``Monday, December 7 at 9 AM`` (further)."""
    tz = ZoneInfo(zone)
    local = slot.start.astimezone(tz)
    days = (local.date() - _utc(now, "now").astimezone(tz).date()).days
    minutes = f":{local.minute:02d}" if local.minute else ""
    clock = f"{local.hour % 12 or 12}{minutes} {'AM' if local.hour < 12 else 'PM'}"
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif 1 < days <= 6:
        day = DAY_NAMES[local.weekday()]
    else:
        day = f"{DAY_NAMES[local.weekday()]}, {MONTH_NAMES[local.month - 1]} {local.day}"
    return f"{day} at {clock}"


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DATE is its midnight, a floating time is read in ``zone``; the result is in UTC."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _blocks_time(event: Any) -> bool:
    """Whether an event occurrence makes the agent busy (not cancelled, not marked free)."""
    return (str(event.get("STATUS", "")).upper() != "CANCELLED"
            and str(event.get("TRANSP", "")).upper() != "TRANSPARENT")


def busy_from_ics(data: bytes, start: datetime, end: datetime, *, default_zone: str) -> list[Interval]:
    """The busy intervals (UTC, sorted) of an iCalendar feed that overlap ``start``…``end``.

    Recurring events are expanded (RRULE, RDATE, EXDATE and moved occurrences); cancelled
    (``STATUS:CANCELLED``) and free (``TRANSP:TRANSPARENT``) events are not busy. Floating times and
    all-day events are read in the feed's ``X-WR-TIMEZONE``, else in ``default_zone`` (the booking's
    zone); an all-day event blocks its whole days there. Include the booking's buffer in the window:
    an event just outside it can still block a slot inside.

    Raises:
        CalendarError: the data is not a valid iCalendar feed.
    """
    start, end = _utc(start, "start"), _utc(end, "end")
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise CalendarError(f"not an iCalendar feed ({exc})") from None
    if calendar.name != "VCALENDAR":
        raise CalendarError(f"not an iCalendar feed (found {calendar.name}, expected VCALENDAR)")
    declared = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    zone = _zone(declared, "X-WR-TIMEZONE") if declared else _zone(default_zone, "default zone")
    busy: list[Interval] = []
    try:
        for event in recurring_ical_events.of(calendar).between(start - ZONE_MARGIN, end + ZONE_MARGIN):
            if not _blocks_time(event):
                continue
            begin = _instant(event["DTSTART"].dt, zone)
            finish = _instant(event["DTEND"].dt, zone) if "DTEND" in event else begin
            if begin <= end and finish >= start:
                busy.append((begin, finish))
    except (ValueError, KeyError, TypeError) as exc:  # icalendar and recurring_ical_events errors are ValueErrors
        raise CalendarError(f"invalid event in the feed ({type(exc).__name__}: {exc})") from None
    return sorted(busy)


async def _fetch(url: str, timeout_s: float) -> bytes:
    """The body of ``url`` (``webcal://`` is read as ``https://``), through :class:`HttpApi`."""
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    parts = urlsplit(url)
    if not parts.netloc:
        raise CalendarError("no host in the URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    api = HttpApi(f"{parts.scheme}://{parts.netloc}", name="busy_calendar", timeout_s=timeout_s,
                  transient=CalendarError, permanent=CalendarError)
    try:
        response = await api.request("GET", path, headers={"Accept": "text/calendar"})
    finally:
        await api.close()
    return response.content


async def load_busy_calendar(source: str, start: datetime, end: datetime, *, default_zone: str,
                             timeout_s: float = 5.0) -> list[Interval]:
    """The busy intervals of the agent's calendar (``booking.busy_calendar``) between ``start`` and ``end``.

    Args:
        source: a file path, or an ``http(s)://`` (or ``webcal://``) URL of an iCalendar feed;
            empty: no busy calendar, nothing is busy.
        start: beginning of the window (timezone-aware).
        end: end of the window (timezone-aware).
        default_zone: the booking's zone, for floating and all-day times (see :func:`busy_from_ics`).
        timeout_s: per request, for a URL (transient failures are retried).

    Raises:
        CalendarError: the feed cannot be fetched, read or parsed; the message names ``source``.
    """
    source = source.strip()
    if not source:
        return []
    try:
        if source.lower().startswith(("http://", "https://", "webcal://")):
            data = await _fetch(source, timeout_s)
        else:
            try:
                data = await asyncio.to_thread(Path(source).expanduser().read_bytes)
            except OSError as exc:
                raise CalendarError(f"cannot read it ({exc.strerror or exc})") from None
        return busy_from_ics(data, start, end, default_zone=default_zone)
    except CalendarError as exc:
        raise CalendarError(f"busy calendar {source}: {exc}") from None
