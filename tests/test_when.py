"""A lead's answer to offered appointment times, read as data (reauto.agent.when)."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.agent.when.answer import read_preference
from reauto.agent.when.preference import TimePreference, matching

pytestmark = pytest.mark.unit

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=CHICAGO)  # Monday morning
TUE_10 = datetime(2026, 11, 24, 10, 0, tzinfo=CHICAGO)
WED_14 = datetime(2026, 11, 25, 14, 0, tzinfo=CHICAGO)
OFFERS = [TUE_10, WED_14]  # "Would Tuesday at 10 AM or Wednesday at 2 PM work for you?"


def d(month, day):
    return date(2026, month, day)


def read(text, offers=OFFERS, now=NOW):
    return read_preference(text, offers=offers, now=now)


#: The phrases the date libraries were measured on (module docstring): a day the answer names or
#: allows, and the time it names (``at``) or starts from (``after``).
LIBRARY_PHRASES = [
    ("tomorrow at two", d(11, 24), "at", time(14)),
    ("thursday around three thirty", d(11, 26), "at", time(15, 30)),
    ("any time after five", None, "after", time(17)),
    ("monday or tuesday morning", d(11, 30), None, None),
    ("next friday afternoon", d(12, 4), None, None),
    ("wednesday at ten", d(11, 25), "at", time(10)),
    ("the day after tomorrow", d(11, 25), None, None),
    ("tomorrow morning", d(11, 24), None, None),
    ("friday at noon", d(11, 27), "at", time(12)),
    ("how about saturday", d(11, 28), None, None),
    ("on the twenty seventh at four", d(11, 27), "at", time(16)),
    ("december second", d(12, 2), None, None),
    ("in two days", d(11, 25), None, None),
    ("before noon on thursday", d(11, 26), "before", time(12)),
    ("four fifteen tomorrow", d(11, 24), "at", time(16, 15)),
    ("at eleven", None, "at", time(11)),
    ("at seven", None, "at", time(19)),
    ("tomorrow evening around six", d(11, 24), "at", time(18)),
    ("this coming monday", d(11, 30), None, None),
    ("a week from today", d(11, 30), None, None),
    ("tuesday at two pm", d(11, 24), "at", time(14)),
    ("wednesday at 2", d(11, 25), "at", time(14)),
    ("thursday at nine thirty in the morning", d(11, 26), "at", time(9, 30)),
    ("friday the fourth", d(12, 4), None, None),
    ("tomorrow", d(11, 24), None, None),
    ("today at three", d(11, 23), "at", time(15)),
    ("sometime next week", d(11, 30), None, None),
    ("the first of december", d(12, 1), None, None),
    ("tuesday december first", d(12, 1), None, None),
    ("monday at one", d(11, 30), "at", time(13)),
    ("saturday morning at eight", d(11, 28), "at", time(8)),
    ("in a couple of days", d(11, 25), None, None),
    ("wednesday at two thirty", d(11, 25), "at", time(14, 30)),
    ("three pm thursday", d(11, 26), "at", time(15)),
    ("next tuesday", d(12, 1), None, None),
    ("this friday", d(11, 27), None, None),
]


@pytest.mark.parametrize("text, day, which, clock", LIBRARY_PHRASES)
def test_days_and_times_said_on_the_phone(text, day, which, clock):
    pref = read(text)
    if day is not None:
        assert day in pref.days
    if which is not None:
        assert getattr(pref, which) == clock


def test_a_date_beside_a_weekday_is_the_day_meant():
    assert read("tuesday december first").days == {d(12, 1)}
    assert read("friday the fourth").days == {d(12, 4)}


@pytest.mark.parametrize("text, clock", [
    ("at two", time(14)), ("around five", time(17)), ("one o'clock", time(13)), ("at seven", time(19)),
    ("at eight", time(8)), ("ten thirty", time(10, 30)), ("at twelve", time(12)),
    ("at two in the morning", time(2)), ("seven am", time(7)), ("six in the morning", time(6)),
    ("eight tonight", time(20)), ("nine pm", time(21)), ("half past three", time(15, 30)),
    ("quarter to five", time(16, 45)), ("at noon", time(12)),
])
def test_an_hour_alone_is_read_in_business_hours(text, clock):
    assert read(text).at == clock


@pytest.mark.parametrize("text, after, before", [
    ("any time after five", time(17), None),
    ("anytime after four thirty", time(16, 30), None),
    ("before noon", None, time(12)),
    ("no later than three", None, time(15)),
    ("between two and four", time(14), time(16)),
    ("from ten to noon", time(10), time(12)),
    ("after lunch", time(13), None),
    ("first thing in the morning", None, time(10)),
    ("no mornings please", time(12), None),
    ("i can't do evenings", None, time(17)),
])
def test_bounds_on_the_time_of_day(text, after, before):
    pref = read(text)
    assert (pref.after, pref.before) == (after, before)


@pytest.mark.parametrize("text, days, not_days", [
    ("not this week", set(), {d(11, 23) + timedelta(days=k) for k in range(7)}),
    ("not monday", set(), {d(11, 30)}),
    ("any day but friday", set(), {d(11, 27)}),
    ("i'm busy thursday", set(), {d(11, 26)}),
    ("thursday doesn't work", set(), {d(11, 26)}),
    ("next week", {d(11, 30) + timedelta(days=k) for k in range(7)}, set()),
    ("early next week", {d(11, 30), d(12, 1), d(12, 2)}, set()),
    ("this weekend", {d(11, 28), d(11, 29)}, set()),
    ("thursday or friday but not monday", {d(11, 26), d(11, 27)}, {d(11, 30)}),
])
def test_days_named_and_ruled_out(text, days, not_days):
    pref = read(text)
    assert (pref.days, pref.not_days) == (days, not_days)


@pytest.mark.parametrize("text, accept, conditional", [
    # one of the offers
    ("the first one", "first", False),
    ("tuesday works", "first", False),
    ("tuesday morning is perfect", "first", False),
    ("ten o'clock is good", "first", False),
    ("the earlier one please", "first", False),
    ("the second one works", "second", False),
    ("two works for me", "second", False),
    ("let's do wednesday", "second", False),
    ("the later one", "second", False),
    # both
    ("either", "either", False),
    ("either is fine", "either", False),
    ("whichever", "either", False),
    ("doesn't matter", "either", False),
    ("both work for us", "either", False),
    ("yeah sure", "either", False),
    ("either one as long as it's after ten", "either", True),
    # an acceptance whose own condition rules the offer out
    ("wednesday but not at two", "none", True),
    ("sure but not this week", "none", True),
    ("tuesday works but could we do eleven instead", "none", True),
    ("the first one but not in the morning", "none", True),
    ("sure but not tuesday", "second", True),
    # no acceptance
    ("neither", "none", False),
    ("none of those", "none", False),
    ("none of those work for me", "none", False),
    ("we'd rather wait", "none", False),
    ("nah neither", "none", False),
    ("nothing works right now", "none", False),
    ("i was out yesterday", None, False),
    ("how about thursday instead", None, False),
    ("tomorrow at two", None, False),  # tomorrow's offer is at ten: another time is asked for
    ("hold on a second", None, False),
])
def test_what_the_answer_says_about_the_offers(text, accept, conditional):
    pref = read(text)
    assert (pref.accept, pref.conditional) == (accept, conditional)


@pytest.mark.parametrize("text", ["neither", "none of those", "we'd rather wait", "i was out yesterday",
                                  "nothing works right now", "hmm let me check with my wife"])
def test_answers_that_accept_nothing_match_nothing(text):
    pref = read(text)
    assert pref.accept not in {"first", "second", "either"}
    assert matching(pref, OFFERS + [TUE_10 + timedelta(hours=4)]) == []


def test_the_past_says_nothing():
    pref = read("i was out yesterday and last friday")
    assert pref == TimePreference(zone=CHICAGO)


# --- matching --------------------------------------------------------------------------------------
FREE = [TUE_10, TUE_10 + timedelta(hours=5), WED_14, WED_14 + timedelta(hours=3),
        datetime(2026, 11, 26, 15, 30, tzinfo=CHICAGO), datetime(2026, 11, 26, 9, 0, tzinfo=CHICAGO),
        datetime(2026, 12, 1, 10, 0, tzinfo=CHICAGO), datetime(2026, 12, 2, 17, 30, tzinfo=CHICAGO)]


@pytest.mark.parametrize("text, expected", [
    ("the first one", [TUE_10]),
    ("either works", [TUE_10, WED_14]),
    ("thursday around three thirty", [datetime(2026, 11, 26, 15, 30, tzinfo=CHICAGO)]),
    ("thursday morning", [datetime(2026, 11, 26, 9, 0, tzinfo=CHICAGO)]),
    ("any time after five", [WED_14 + timedelta(hours=3), datetime(2026, 12, 2, 17, 30, tzinfo=CHICAGO)]),
    ("sure but not this week", [datetime(2026, 12, 1, 10, 0, tzinfo=CHICAGO),
                                datetime(2026, 12, 2, 17, 30, tzinfo=CHICAGO)]),
    ("wednesday but not at two", [WED_14 + timedelta(hours=3)]),
    ("tuesday afternoon", [TUE_10 + timedelta(hours=5)]),
    ("next tuesday", [datetime(2026, 12, 1, 10, 0, tzinfo=CHICAGO)]),
])
def test_matching_picks_the_free_slots_that_fit(text, expected):
    assert matching(read(text), FREE) == expected


def test_an_accepted_offer_already_taken_falls_back_to_what_was_said():
    pref = read("tuesday works")
    assert pref.chosen == (TUE_10,)
    assert matching(pref, FREE[1:]) == [TUE_10 + timedelta(hours=5)]


def test_slots_in_another_zone_are_read_in_the_leads():
    utc = [s.astimezone(timezone.utc) for s in FREE]
    found = matching(read("thursday around three thirty"), utc)
    assert found == [datetime(2026, 11, 26, 21, 30, tzinfo=timezone.utc)]
    # an offer made in UTC is still Tuesday at ten for the lead
    assert read("tuesday works", offers=[o.astimezone(timezone.utc) for o in OFFERS]).accept == "first"


def test_days_count_in_the_leads_zone():
    # 23:30 on Monday in Chicago is already Tuesday in UTC: "tomorrow" is still Tuesday
    late = datetime(2026, 11, 24, 5, 30, tzinfo=timezone.utc).astimezone(CHICAGO)
    assert read("tomorrow", now=late).days == {d(11, 24)}


# --- properties ------------------------------------------------------------------------------------
WORDS = ["tomorrow", "today", "yesterday", "monday", "tuesday", "wednesday", "next", "this", "week", "weekend",
         "not", "but", "at", "after", "before", "between", "and", "or", "two", "three", "thirty", "ten", "noon",
         "morning", "afternoon", "evening", "either", "neither", "the", "first", "second", "one", "works", "sure",
         "december", "twenty", "seventh", "in", "days", "a", "couple", "of", "pm", "am", "o'clock", "half", "past",
         "quarter", "to", "no", "busy", "any", "time", "1st", "2nd", "31st", "99", "0"]
phrases = st.one_of(st.text(max_size=60), st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2098, 12, 1),
                        timezones=st.sampled_from([CHICAGO, timezone.utc, ZoneInfo("Pacific/Kiritimati")]))


@settings(max_examples=300, deadline=None)
@given(phrases, instants, st.lists(instants, max_size=5))
def test_never_raises_and_matching_returns_only_given_slots(text, now, slots):
    offers = slots[:2]
    pref = read_preference(text, offers=offers, now=now)
    assert pref.accept in {None, "first", "second", "either", "none"}
    assert set(pref.chosen) <= set(offers)
    found = matching(pref, slots)
    assert all(any(f is s for s in slots) for f in found)
    assert not pref.days & pref.not_days
