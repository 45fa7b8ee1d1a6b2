"""Booking on the call: two real free slots offered in the lead's time, the chosen one booked, a confirmation.

One :class:`Scheduler` per call. Free time is the campaign's weekly hours minus the calendar's
appointments (every call's, stored) and the human agent's own busy calendar (an iCalendar feed).
A slot is booked by inserting the appointment: the store's unique index on (calendar, start)
refuses a second booking of the same start, so two calls that offered the same slot can never
both book it — the second is told it was just taken and gets two new offers. A booking gets a
meeting link (from the campaign's template) and a confirmation: a text when consent covers
texts, else an email with the RFC 5545 invite written to ``[scheduling] outbox_dir``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reauto.agent.when.preference import TimePreference, matching
from reauto.campaign import Campaign
from reauto.config import SchedulingSettings
from reauto.scheduling.availability import CalendarError, Slot, free_slots, load_busy_calendar, spoken_slot, two_offers
from reauto.scheduling.invite import confirmation_email, invite
from reauto.store.engine import store_unavailable
from reauto.store.models import Appointment, Lead, Touch
from reauto.store.types import utcnow

log = logging.getLogger(__name__)

Busy = list[tuple[datetime, datetime]]


@dataclass
class BusyFeed:
    """The human agent's busy calendar, fetched at most every ``cache_s`` and kept when a fetch fails
    (a stale copy beats offering the agent's dentist appointment)."""

    source: str
    zone: str
    cache_s: float = 300.0
    timeout_s: float = 5.0
    _busy: Busy = field(default_factory=list)
    _fetched: float | None = None

    async def busy(self, start: datetime, end: datetime) -> Busy:
        if not self.source:
            return []
        if self._fetched is None or time.monotonic() - self._fetched > self.cache_s:
            try:
                self._busy = await load_busy_calendar(self.source, start, end + timedelta(days=1),
                                                      default_zone=self.zone, timeout_s=self.timeout_s)
                self._fetched = time.monotonic()
            except CalendarError as exc:
                if self._fetched is None:
                    raise
                log.warning("busy calendar %s: %s; using the copy from %.0f s ago", self.source, exc,
                            time.monotonic() - self._fetched)
        return self._busy


class Scheduler:
    """Offers and books appointments for one lead on one call."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], campaign: Campaign, lead: Lead, *,
                 settings: SchedulingSettings, feed: BusyFeed | None = None, texter: Any = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions, self.campaign, self.lead = sessions, campaign, lead
        self.settings, self.feed, self.texter, self.clock = settings, feed, texter, clock
        self.booking = campaign.booking
        self.zone = lead.timezone or (lead.tz_candidates or [None])[0] or self.booking.timezone
        self.offered: dict[str, Slot] = {}
        self.appointment_id: int | None = None
        self.confirmations: list[asyncio.Task[None]] = []
        self.store_failed = False  # the store could not be reached: nothing could be offered or booked

    async def _booked(self, start: datetime, end: datetime) -> Busy:
        async with self.sessions() as s:
            rows = await s.execute(select(Appointment.starts_at, Appointment.ends_at).where(
                Appointment.calendar == self.booking.calendar, Appointment.status != "canceled",
                Appointment.ends_at > start, Appointment.starts_at < end))
            return [(a, b) for a, b in rows]

    async def _busy(self, now: datetime, end: datetime) -> list[tuple[datetime, datetime]] | None:
        """Busy time between ``now`` and ``end`` (booked appointments and the agent's own calendar);
        None when it cannot be known (offering blind could double-book the agent)."""
        try:
            busy = await self._booked(now, end)
        except Exception as exc:
            if not store_unavailable(exc):
                raise
            log.warning("the store is unreachable (%s): no slots offered; an agent will follow up", exc)
            self.store_failed = True
            return None
        if self.feed is not None:
            try:
                busy += await self.feed.busy(now, end)
            except CalendarError as exc:
                log.warning("busy calendar unavailable (%s): no slots offered; an agent will follow up", exc)
                return None
        return busy

    async def offers(self) -> list[str]:
        """Two free slots as the agent says them in the lead's time (none when the calendar is full)."""
        return await self.find(TimePreference())

    async def find(self, pref: TimePreference, *, exclude: Collection[str] = ()) -> list[str]:
        """Up to two free slots that fit what the lead said (any two free ones when it said nothing
        about days or times), not among ``exclude``; they become offered."""
        now = self.clock()
        busy = await self._busy(now, now + timedelta(days=self.booking.horizon_days))
        if busy is None:
            return []
        free = [slot for slot in free_slots(self.booking, busy, now, limit=200)
                if spoken_slot(slot, self.zone, now) not in exclude]
        if pref.constrained:
            fits = set(matching(pref, [slot.start for slot in free]))
            free = [slot for slot in free if slot.start in fits]
            chosen = free[:2]  # the two earliest that fit
        else:
            chosen = two_offers(free, self.booking.timezone)
        spoken = {spoken_slot(slot, self.zone, now): slot for slot in chosen}
        self.offered.update(spoken)
        return list(spoken)

    def when(self, spoken: str) -> datetime | None:
        """The instant of an offered slot."""
        slot = self.offered.get(spoken)
        return slot.start if slot is not None else None

    def now(self) -> datetime:
        """The current time in the lead's zone."""
        return self.clock().astimezone(ZoneInfo(self.zone))

    async def book(self, spoken: str) -> bool:
        """Book the offered slot; False when another call booked it first (or it was never offered)."""
        slot = self.offered.get(spoken)
        if slot is None:
            return False
        try:
            async with self.sessions.begin() as s:
                appointment = Appointment(lead_id=self.lead.id, calendar=self.booking.calendar, starts_at=slot.start,
                                          ends_at=slot.end, timezone=self.zone, status="booked")
                s.add(appointment)
                await s.flush()
                if self.booking.meeting_link:
                    appointment.meeting_link = self.booking.meeting_link.format(
                        appointment_id=appointment.id, calendar=self.booking.calendar, lead_id=self.lead.id)[:500]
        except IntegrityError:
            log.info("slot %s on %s was booked by another call", slot.start.isoformat(), self.booking.calendar)
            return False
        except Exception as exc:
            if not store_unavailable(exc):
                raise
            log.warning("the store is unreachable (%s): slot %s not booked; an agent will follow up", exc,
                        slot.start.isoformat())
            self.store_failed = True
            return False
        self.appointment_id = appointment.id
        if self.booking.confirm != "none":
            self.confirmations.append(asyncio.create_task(
                self._confirm(appointment, spoken), name=f"confirm-{appointment.id}"))
        return True

    async def drain(self) -> None:
        """Wait for the confirmations sent in the background."""
        await asyncio.gather(*self.confirmations, return_exceptions=True)

    async def _confirm(self, appointment: Appointment, spoken: str) -> None:
        """A text when the campaign wants one and may send it; else the email with the invite."""
        business = self.campaign.persona.business
        link = f" Join: {appointment.meeting_link}." if appointment.meeting_link else ""
        try:
            if self.booking.confirm == "sms" and self.texter is not None:
                body = (f"You're booked with {business} {spoken} (your time).{link} "
                        f"Questions: {self.campaign.persona.callback_number or self.campaign.caller_id}. "
                        "Reply STOP to opt out.")
                touch = await self.texter.send_text(self.lead, "confirmation", body)
                if touch.status == "sent":
                    return
            await self._email(appointment, spoken)
        except Exception:  # noqa: BLE001 - the booking stands; the agent follows up
            log.exception("confirmation of appointment %s failed", appointment.id)

    async def _email(self, appointment: Appointment, spoken: str) -> None:
        lead, business = self.lead, self.campaign.persona.business
        touch = Touch(campaign_id=lead.campaign_id, lead_id=lead.id, channel="email", kind="confirmation",
                      status="skipped")
        if not lead.email:
            touch.reason = "no email address and no text allowed"
        else:
            organizer = self.settings.organizer_name or business
            ics = invite(uid=f"reauto-appointment-{appointment.id}@{self.booking.calendar}", start=appointment.starts_at,
                         end=appointment.ends_at, summary=f"Call with {business}",
                         description=f"Booked on a call with {self.campaign.persona.agent_name} of {business}."
                                     + (f" Join: {appointment.meeting_link}" if appointment.meeting_link else ""),
                         location=appointment.meeting_link or "", organizer_name=organizer,
                         organizer_email=self.settings.organizer_email or "no-reply@invalid",
                         attendee_name=" ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email,
                         attendee_email=lead.email)
            message = confirmation_email(
                to=lead.email, sender=self.settings.organizer_email or "no-reply@invalid",
                subject=f"Your call with {business}: {spoken}",
                body=f"Hi {lead.first_name or 'there'},\n\nyou're booked with {business} {spoken} (your time)."
                     + (f"\nJoin: {appointment.meeting_link}" if appointment.meeting_link else "")
                     + "\n\nThe invite is attached.\n", ics=ics)
            outbox = Path(self.settings.outbox_dir)
            outbox.mkdir(parents=True, exist_ok=True)
            path = outbox / f"appointment-{appointment.id}.eml"
            path.write_bytes(bytes(message))
            touch.status, touch.body = "queued", str(path)
        async with self.sessions.begin() as s:
            s.add(touch)
