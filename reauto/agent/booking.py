"""Booking as a negotiation: offer two times, read the answer, offer what fits, book only what was accepted.

The agent offers two times. The lead's answer is read as data (:func:`reauto.agent.when.answer.read_preference`):

* an offer accepted without a condition is booked and read back in the confirmation;
* a time of their own ("thursday afternoon", "any time after five") is matched against the
  calendar: an exact time that is free is booked and read back (the lead named it, without a
  hedge), otherwise up to two free times that fit are offered and the lead's yes is awaited; where
  what fits is one of the offers already made ("next tuesday"), that one is asked about alone;
* "neither" brings two other free times once, then a call back from a person;
* an answer that says nothing about time is asked again once, then left to a person.

Nothing is booked that the lead did not accept: a hedged or conditional yes ("sure, but not this
week", "wednesday but not at two", "probably thursday at four") accepts nothing and books no time
of their own, and "either" books the first offer.

The calendar is the human agent's (:class:`reauto.scheduling.booking.Scheduler`, free slots from
the campaign's hours and busy times) or, for a campaign with fixed offers only, :class:`FixedOffers`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from reauto.agent.when.answer import read_preference
from reauto.agent.when.preference import TimePreference, matching

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Calendar(Protocol):
    """Where the agent's offers come from and where bookings go."""

    store_failed: bool

    async def offers(self) -> list[str]:
        """Two free times as the agent says them (fewer when the calendar is full)."""

    async def book(self, spoken: str) -> bool:
        """Book an offered time; False when it was taken meanwhile or never offered."""

    async def find(self, pref: TimePreference, *, exclude: Collection[str] = ()) -> list[str]:
        """Up to two free times that fit ``pref`` (any free ones when it says nothing), not in ``exclude``."""

    def when(self, spoken: str) -> datetime | None:
        """The instant of an offered time (aware)."""

    def now(self) -> datetime:
        """The current time in the lead's zone (aware)."""


def spoken_time(text: str, today: date, zone: object = UTC) -> datetime | None:
    """The next instant a fixed offer ("Tuesday at 10 AM", "tomorrow at 2:30 PM") names after ``today``."""
    t = text.lower()
    found = re.search(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", t)
    if found is None:
        return None
    hour, minute = int(found.group(1)) % 12, int(found.group(2) or 0)
    if (found.group(3) or "").startswith("p") or (found.group(3) is None and 1 <= hour <= 7):
        hour += 12
    day = today + timedelta(days=1)
    if "today" in t:
        day = today
    elif "tomorrow" not in t:
        named = next((i for i, name in enumerate(_DAYS) if name in t), None)
        if named is not None:
            day = today + timedelta(days=(named - today.weekday()) % 7 or 7)
    return datetime.combine(day, time(hour, minute), zone)  # type: ignore[arg-type]


@dataclass
class FixedOffers:
    """A campaign's fixed offers ("Tuesday at 10 AM", "Wednesday at 2 PM"): no calendar behind them,
    so a time of the lead's own can only match one of them."""

    spoken: Sequence[str]
    today: date
    store_failed: bool = False

    async def offers(self) -> list[str]:
        return list(self.spoken)

    async def book(self, spoken: str) -> bool:
        return spoken in self.spoken

    async def find(self, pref: TimePreference, *, exclude: Collection[str] = ()) -> list[str]:
        times = {s: self.when(s) for s in self.spoken if s not in exclude}
        fits = matching(pref, [t for t in times.values() if t is not None]) if pref.constrained else []
        return [s for s, t in times.items() if t in fits][:2]

    def when(self, spoken: str) -> datetime | None:
        return spoken_time(spoken, self.today)

    def now(self) -> datetime:
        return datetime.combine(self.today, time(9), UTC)


@dataclass(frozen=True)
class Step:
    """What the agent says after the lead's answer, and where the booking stands."""

    say: str
    outcome: str | None = None  # booked, callback; None: the negotiation goes on
    booked: str | None = None


CALLBACK = "No problem, one of our agents will reach out to find a time that works for you. Goodbye."
def _sentence(text: str) -> str:
    """``text`` with its first letter a capital (the rest as written: "Goodbye" keeps its own)."""
    return text[:1].upper() + text[1:]


UNREACHABLE = "Sorry, I can't reach the calendar right now. An agent will call you back to find a time. Goodbye."


@dataclass
class Negotiation:
    """One call's booking: the times on the table and what the lead has said about them."""

    calendar: Calendar
    offered: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    unclear: bool = False  # asked again once after an answer that said nothing about time
    declined: bool = False  # other times were offered once after a "neither"

    async def open(self) -> bool:
        """Load the first two offers; False when there is nothing to offer."""
        self.offered = list(await self.calendar.offers())
        self.shown = list(self.offered)
        return bool(self.offered)

    def offer_line(self) -> str:
        return f"I can set up a call with one of our agents. Would {self._either()} work for you?"

    def _either(self) -> str:
        return " or ".join(self.offered[:2])

    def preference(self, text: str) -> TimePreference:
        times = [t for t in (self.calendar.when(s) for s in self.offered) if t is not None]
        return read_preference(text, offers=times, now=self.calendar.now())

    def answers(self, text: str) -> bool:
        """Whether ``text`` says anything about the times (the lead's turn may end at once)."""
        pref = self.preference(text)
        return pref.accept is not None or pref.constrained

    async def answer(self, text: str) -> Step:
        """The agent's next step after the lead's ``text``."""
        pref = self.preference(text)
        if pref.accept in ("first", "second", "either") and not pref.conditional:
            choice = self.offered[1] if pref.accept == "second" and len(self.offered) > 1 else self.offered[0]
            return await self._book(choice, f"Perfect, you're booked for {choice}.")
        if pref.constrained:
            return await self._their_time(pref)
        if pref.accept == "none":
            return await self._other_times()
        return await self._unclear()

    async def _unclear(self) -> Step:
        """Ask once which of the times on the table; then leave it to a person."""
        if self.unclear:
            return Step(CALLBACK, "callback")
        self.unclear = True
        if len(self.offered) == 1:
            return Step(f"Sorry, would {self.offered[0]} work for you?")
        return Step(f"Sorry, which works better: {self._either()}?")

    async def _book(self, choice: str, said: str) -> Step:
        if await self.calendar.book(choice):
            return Step(f"{said} You'll get a confirmation shortly. Thanks, and goodbye!", "booked", choice)
        if self.calendar.store_failed:
            return Step(UNREACHABLE, "callback")
        self.offered = (await self.calendar.find(TimePreference(), exclude=[choice]))[:2]
        self.shown += [s for s in self.offered if s not in self.shown]
        if self.offered:  # another call took it a moment ago
            return Step(f"Sorry, that time was just taken. Would {self._either()} work for you instead?")
        return Step("Sorry, that time was just taken and nothing else is open right now. An agent will reach out "
                    "to find a time. Goodbye.", "callback")

    async def _their_time(self, pref: TimePreference) -> Step:
        """The lead named a time of their own: book it when exact and free, else offer what fits."""
        fits = await self.calendar.find(pref)
        if self.calendar.store_failed:
            return Step(UNREACHABLE, "callback")
        if fits and pref.at is not None and pref.days and not pref.hedged:  # "thursday at four", not "at four"
            exact = [s for s in fits if (w := self.calendar.when(s)) is not None
                     and w.astimezone(self.calendar.now().tzinfo).time().replace(tzinfo=None) == pref.at
                     and not (pref.accept == "none" and s in self.offered)]  # an offer declined stays declined
            if exact:
                return await self._book(exact[0], f"{exact[0]} works. You're booked for {exact[0]}.")
        if fits and set(fits[:2]) <= set(self.offered):  # what fits is on the table already
            if len(fits) < len(self.offered):  # one offer of those made: that one, for a plain yes
                self.offered = fits[:1]
                return Step(f"I have {self.offered[0]}. Would that work for you?")
            return await self._unclear()
        if fits:
            self.offered = fits[:2]
            self.shown += [s for s in self.offered if s not in self.shown]
            line = (f"I have {self.offered[0]}. Would that work for you?" if len(self.offered) == 1 else
                    f"I have {self.offered[0]} or {self.offered[1]}. Would either of those work?")
            return Step(line)
        return await self._other_times(prefix="I'm sorry, I don't have anything open then. ")

    async def _other_times(self, prefix: str = "") -> Step:
        """Two times not offered yet, once; then a person calls back."""
        if self.declined:
            return Step(CALLBACK, "callback")
        self.declined = True
        others = await self.calendar.find(TimePreference(), exclude=self.shown)
        if self.calendar.store_failed or not others:
            return Step((prefix or "No problem. ") + _sentence(CALLBACK.removeprefix("No problem, ")), "callback")
        self.offered = others[:2]
        self.shown += self.offered
        return Step(f"{prefix or 'No problem. '}I could also do {self._either()}. Would either of those work?")
