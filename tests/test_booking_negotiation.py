"""Booking as a negotiation (reauto.agent.booking): nothing is booked that the lead did not accept."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.agent.booking import FixedOffers, Negotiation, spoken_time
from reauto.agent.extract import APPOINTMENT, extract
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.agent.when.preference import TimePreference, matching
from reauto.corpus import entries

pytestmark = pytest.mark.unit

THURSDAY = date(2026, 6, 18)  # the demo offers fall next week, never "tomorrow"
OFFERS = ["Tuesday at 10 AM", "Wednesday at 2 PM"]
ZONE = ZoneInfo("America/Chicago")


@dataclass
class FreeCalendar:
    """A calendar with the given free times (the real one is tested in tests/test_booking.py)."""

    free: list[datetime]
    today: datetime = datetime.combine(THURSDAY, time(11), ZONE)
    booked: list[str] = field(default_factory=list)
    store_failed: bool = False

    def say(self, at: datetime) -> str:
        minutes = f":{at.minute:02d}" if at.minute else ""
        return f"{at:%A} at {at.hour % 12 or 12}{minutes} {'AM' if at.hour < 12 else 'PM'}"

    async def offers(self) -> list[str]:
        return [self.say(t) for t in self.free[:2]]

    async def find(self, pref: TimePreference, *, exclude: Collection[str] = ()) -> list[str]:
        free = [t for t in self.free if self.say(t) not in exclude]
        return [self.say(t) for t in (matching(pref, free) if pref.constrained else free)][:2]

    async def book(self, spoken: str) -> bool:
        self.booked.append(spoken)
        return True

    def when(self, spoken: str) -> datetime | None:
        return next((t for t in self.free if self.say(t) == spoken), None)

    def now(self) -> datetime:
        return self.today


def week() -> list[datetime]:
    """Free times Monday to Friday of next week, 10:00, 14:00 and 16:00."""
    monday = THURSDAY + timedelta(days=4)
    return [datetime.combine(monday + timedelta(days=d), time(h), ZONE) for d in range(5) for h in (10, 14, 16)]


def answer(calendar, *texts: str) -> list:
    async def run() -> list:
        talk = Negotiation(calendar)
        await talk.open()
        return [await talk.answer(t) for t in texts]
    return asyncio.run(run())


def test_fixed_offers_are_times():
    assert spoken_time("Tuesday at 10 AM", THURSDAY) == datetime.combine(date(2026, 6, 23), time(10), ZoneInfo("UTC"))
    assert spoken_time("Wednesday at 2:30 PM", THURSDAY).time() == time(14, 30)
    assert spoken_time("tomorrow at 2", THURSDAY).date() == date(2026, 6, 19)
    assert spoken_time("whenever", THURSDAY) is None


@pytest.mark.parametrize("said, booked", [
    ("the second one please", "Wednesday at 2 PM"),
    ("tuesday works", "Tuesday at 10 AM"),
    ("either is fine", "Tuesday at 10 AM"),
    ("two o'clock wednesday", "Wednesday at 2 PM"),
])
def test_an_offer_accepted_is_booked_and_read_back(said, booked):
    [step] = answer(FixedOffers(OFFERS, THURSDAY), said)
    assert (step.outcome, step.booked) == ("booked", booked) and booked in step.say


@pytest.mark.parametrize("said", [
    "neither of those works for me", "sure but not this week", "wednesday would be okay but not at two",
    "we would rather hold off for now", "i'm busy both days", "probably tuesday let me check with my wife",
    "tuesday hmm no actually neither",
])
def test_a_refused_or_hedged_answer_books_nothing(said):
    steps = answer(FixedOffers(OFFERS, THURSDAY), said, said, said)
    assert all(s.outcome != "booked" for s in steps) and any(s.outcome == "callback" for s in steps)


def test_no_refusal_in_the_corpus_books_a_time():
    """Every corpus answer that accepts neither offer (and names no time of its own) books nothing."""
    refusals = [e.text for e in entries("booking") if e.split != "test"  # measured, never tuned on
                and (e.expect.get("booking") or {}).get("accept") == "none" and "propose" not in e.expect["booking"]]
    assert len(refusals) > 50
    booked = [t for t in refusals if answer(FixedOffers(OFFERS, THURSDAY), t)[0].outcome == "booked"]
    assert booked == []


def test_no_answer_in_the_corpus_books_an_offer_its_lead_did_not_accept():
    """Refusals, hedges, conditions and times of their own book no offer; a choice books only the one chosen."""
    allowed = {"first": OFFERS[:1], "second": OFFERS[1:], "either": OFFERS, "none": []}
    wrong = []
    for entry in entries("booking"):
        accept = (entry.expect.get("booking") or {}).get("accept")
        [step] = answer(FixedOffers(OFFERS, THURSDAY), entry.text)
        if accept is not None and step.outcome == "booked" and step.booked not in allowed[accept]:
            wrong.append((entry.text, step.booked))
    assert wrong == []


#: Plain words of an answer about the offers (none of them takes back what was said before it).
PLAIN = ["tuesday", "wednesday", "ten", "two", "the", "first", "second", "one", "works", "sure", "yes", "either",
         "both", "morning", "afternoon", "at", "is", "fine", "please", "that", "i", "can", "do", "book", "okay"]
#: Refusals and hedges in words of our own.
REFUSALS = ["neither", "none of those", "i can't do either", "no thanks", "let's hold off",
            "i don't think either works"]
HEDGES = ["maybe", "probably", "i might have to cancel", "let me check", "i'll get back to you", "if my boss agrees",
          "not sure", "unless something comes up", "tentatively"]
words = st.lists(st.sampled_from(PLAIN), max_size=6)


@settings(max_examples=150, deadline=None)
@given(words, st.sampled_from(REFUSALS + HEDGES), words)
def test_a_refusal_or_a_hedge_anywhere_books_no_offer(before, cue, after):
    [step] = answer(FixedOffers(OFFERS, THURSDAY), " ".join([*before, cue, *after]))
    assert step.outcome != "booked"


@settings(max_examples=150, deadline=None)
@given(words, st.sampled_from(HEDGES), words, st.sampled_from(["thursday at four", "monday at two", "at ten"]))
def test_a_hedge_anywhere_books_no_time_at_all(before, cue, after, own_time):
    calendar = FreeCalendar(week())
    answer(calendar, " ".join([*before, cue, *after, own_time]))
    assert calendar.booked == []


def test_a_hedged_time_of_their_own_is_offered_back_not_booked():
    calendar = FreeCalendar(week())
    first, second = answer(calendar, "probably thursday at four but let me check", "yes that works")
    assert first.outcome is None and first.say == "I have Thursday at 4 PM. Would that work for you?"
    assert second.outcome == "booked" and calendar.booked == ["Thursday at 4 PM"]  # once said without a hedge


def test_an_answer_that_fits_one_offer_without_picking_it_gets_that_offer_asked_about_alone():
    # "the tuesday after next"? "next tuesday" may be either Tuesday: asked, then booked on a plain yes
    first, second = answer(FixedOffers(OFFERS, THURSDAY), "next tuesday", "yes")
    assert first.outcome is None and first.say == "I have Tuesday at 10 AM. Would that work for you?"
    assert (second.outcome, second.booked) == ("booked", "Tuesday at 10 AM")


def test_asked_again_about_one_offer_the_question_names_it_alone():
    first, second = answer(FixedOffers(OFFERS, THURSDAY), "next tuesday", "next tuesday")
    assert second.say == "Sorry, would Tuesday at 10 AM work for you?" and second.outcome is None


def test_a_time_of_their_own_is_booked_when_exact_and_free_else_offered_back():
    calendar = FreeCalendar(week())
    [step] = answer(calendar, "could we do thursday at four instead")
    assert step.outcome == "booked" and step.booked == "Thursday at 4 PM" and "Thursday at 4 PM" in step.say
    calendar = FreeCalendar(week())
    first, second = answer(calendar, "thursday afternoon would be better", "the second one")
    assert first.outcome is None and "Thursday at 2 PM or Thursday at 4 PM" in first.say
    assert second.outcome == "booked" and calendar.booked == ["Thursday at 4 PM"]  # only once accepted


def test_neither_brings_other_times_once_then_a_person():
    calendar = FreeCalendar(week())
    first, second = answer(calendar, "neither of those", "no none of those either")
    assert first.outcome is None and "Monday at 2 PM" not in first.say and "I could also do" in first.say
    assert second.outcome == "callback" and not calendar.booked


def test_with_no_other_time_free_a_person_calls_back_and_the_line_reads_as_written():
    first, = answer(FreeCalendar(week()[:2]), "neither of those")
    assert first.outcome == "callback" and not first.say.endswith("goodbye.")
    assert first.say == "No problem. One of our agents will reach out to find a time that works for you. Goodbye."


def test_a_time_nobody_has_free_gets_other_times_then_a_person():
    calendar = FreeCalendar(week())
    first, second = answer(calendar, "saturday morning", "no")
    assert "don't have anything open then" in first.say and first.outcome is None
    assert second.outcome == "callback" and not calendar.booked


def test_an_unclear_answer_is_asked_again_once():
    first, second = answer(FixedOffers(OFFERS, THURSDAY), "hmm", "uh")
    assert first.say.startswith("Sorry, which works better") and second.outcome == "callback"


def test_the_scripted_brain_negotiates_and_books_only_what_was_accepted():
    config = ScriptConfig(agent_name="Ava", business="Acme", questions=[Question("intent", "Buying or selling?")],
                          book_threshold=0.0, booking_slots=OFFERS, today=THURSDAY)
    brain = ScriptedBrain(config)
    brain.opening()
    for said in ("yes", "we want to buy"):
        reply = asyncio.run(brain.respond(said, 0.9))
    assert "Tuesday at 10 AM or Wednesday at 2 PM" in reply.text and brain.answers("the second one")
    assert not brain.answers("hmm let me think")
    reply = asyncio.run(brain.respond("neither really", 0.9))
    assert reply.end_call and reply.outcome == "callback" and "appointment" not in brain.slots


def test_days_and_weeks_said_while_booking_leave_the_moves_timeline_alone():
    config = ScriptConfig(agent_name="Ava", business="Acme",
                          questions=[Question("timeline_months", "When are you hoping to move?")],
                          book_threshold=0.0, booking_slots=OFFERS, today=THURSDAY)
    brain = ScriptedBrain(config)
    brain.opening()
    for said in ("yes", "in about six months"):
        reply = asyncio.run(brain.respond(said, 0.9))
    assert "Tuesday at 10 AM or Wednesday at 2 PM" in reply.text and brain.slots["timeline_months"] == 6
    asyncio.run(brain.respond("this week is packed maybe the week after", 0.9))
    assert brain.slots["timeline_months"] == 6
    assert "timeline_months" not in extract("next week sometime", expecting=APPOINTMENT).slots
    assert extract("next week sometime").slots["timeline_months"].value < 1  # unasked elsewhere: still a timeline
