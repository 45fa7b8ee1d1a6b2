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
    ("first thing in the morning", None, time(11)),
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
    ("either one as long as it's after ten", "none", True),  # a condition: asked again, not booked
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


# --- picking an offer as a person does --------------------------------------------------------------
#: Offers that are not "Tuesday at 10 AM or Wednesday at 2 PM": Thursday 9:30 and Friday 4:30 PM.
THU_0930 = datetime(2026, 11, 26, 9, 30, tzinfo=CHICAGO)
FRI_1630 = datetime(2026, 11, 27, 16, 30, tzinfo=CHICAGO)
LATE_WEEK = [THU_0930, FRI_1630]
#: Both offers in the morning: a part of the day picks neither.
MORNINGS = [TUE_10, datetime(2026, 11, 25, 11, 0, tzinfo=CHICAGO)]
#: Both offers tomorrow.
TOMORROW = [datetime(2026, 11, 24, 13, 0, tzinfo=CHICAGO), datetime(2026, 11, 24, 17, 30, tzinfo=CHICAGO)]


@pytest.mark.parametrize("offers, text, accept", [
    # by the part of the day, matched against the offers' own times
    (LATE_WEEK, "i'd take the one in the morning", "first"),
    (LATE_WEEK, "afternoons suit me better", "second"),
    (LATE_WEEK, "evening's no good", None),
    (OFFERS, "put me in for the afternoon", "second"),
    (OFFERS, "early in the day is best", None),  # no part of the day named
    (OFFERS, "first thing would be great", "first"),
    (LATE_WEEK, "first thing", "first"),
    (MORNINGS, "first thing", "first"),  # 10:00 is first thing, 11:00 is not
    (MORNINGS, "the morning one", None),  # both are in the morning: which one is not said
    (MORNINGS, "mornings are great", None),
    (TOMORROW, "the one after work", "second"),
    # by the hour
    (LATE_WEEK, "nine thirty's fine", "first"),
    (LATE_WEEK, "four thirty would be good", "second"),
    (LATE_WEEK, "half past four", "second"),
    (LATE_WEEK, "ten works", None),  # neither offer is at ten
    (OFFERS, "let's say ten", "first"),
    (OFFERS, "two's good", "second"),
    (MORNINGS, "eleven o'clock please", "second"),
    # by the day, "tomorrow" included
    (TOMORROW, "tomorrow is fine", "either"),
    (TOMORROW, "tomorrow evening", "second"),
    (LATE_WEEK, "friday at nine thirty", None),  # the offers mixed: a time of their own
    (OFFERS, "wednesdays i have off so i'll take that", "second"),
    # by its place
    (OFFERS, "i'll go with whichever's earlier", "first"),
    (OFFERS, "that last one", "second"),
    (OFFERS, "not the first one the second", "second"),
    (OFFERS, "i can't do the first one", None),
])
def test_an_offer_is_picked_by_what_the_lead_says_of_it(offers, text, accept):
    assert read(text, offers=offers).accept == accept


@pytest.mark.parametrize("text", [
    "either of the two", "one of those two works", "makes no difference to me", "i really don't mind",
    "up to you", "it's all the same to me", "whatever you've got", "all week is open for me", "any day is good",
    "both of them are fine", "tuesday and wednesday both work", "i'm free either day",
])
def test_indifference_accepts_both(text):
    pref = read(text)
    assert pref.accept == "either" and pref.chosen == (TUE_10, WED_14)


@pytest.mark.parametrize("text, accept", [
    ("any day except tuesday", "second"),
    ("anything before wednesday is fine", "first"),
    ("anything after tuesday", "second"),
    ("anything after wednesday works", "none"),
])
def test_indifference_less_what_it_rules_out(text, accept):
    assert read(text).accept == accept


@pytest.mark.parametrize("text", [
    # turned down, the indifference word negated
    "i don't think either works", "i can't really do either of those", "i'm not flexible at all",
    "can't make it either day", "tuesday and wednesday are both out", "wednesday is a no",
    "i'm at the office both days", "i'm on shift tuesday", "tuesday won't do any more",
    # hedged
    "i'll probably do wednesday", "tuesday should work but i need to confirm", "tentatively tuesday",
    "wednesday for now but it could change", "tuesday in principle", "put me down for two but no promises",
    "tuesday unless my boss calls me in", "wednesday if my sister can watch the kids",
    "wednesday as long as the roads are clear", "i'll try for tuesday", "i doubt i can do wednesday",
    "i wish i could do tuesday", "the morning one might work", "ten is likely fine",
    "tuesday sounds good but my husband has to agree",
    # another time asked for
    "is there anything earlier on tuesday", "any chance of something later wednesday",
    "could we do tuesday at eleven instead",
])
def test_refused_hedged_or_elsewhere_accepts_no_offer(text):
    pref = read(text)
    assert pref.accept not in {"first", "second", "either"} and pref.chosen == ()


@pytest.mark.parametrize("text, hedged", [
    ("probably the first one", True), ("the first one if that's okay", False), ("ten if possible", False),
    ("wednesday hope that's alright", False), ("wednesday at two works", False), ("let me check with my wife", True),
])
def test_a_hedge_is_told_from_politeness(text, hedged):
    assert read(text).hedged is hedged


@pytest.mark.parametrize("text, accept", [
    ("tuesday no wednesday", "second"),
    ("wednesday oh no wait tuesday is better", "first"),
    ("the first one hold on the second", "second"),
    ("none of those actually tuesday works", "first"),
])
def test_what_is_said_after_a_correction_stands(text, accept):
    assert read(text).accept == accept


def test_next_tuesday_may_be_either_tuesday_so_it_picks_no_offer():
    # Monday: "next tuesday" is tomorrow to some people and a week later to others
    for text in ("next tuesday", "yes next tuesday works", "tuesday next week"):
        pref = read(text, offers=[datetime(2026, 12, 1, 10, tzinfo=CHICAGO), WED_14])
        assert pref.accept != "first" and pref.chosen == ()
    assert read("wednesday next week").days == {d(12, 2)}  # a weekday with its week is one day


def test_a_count_of_the_offers_is_no_time():
    assert read("either of the two").at is None and read("both of the two").at is None
    assert read("whichever one is earlier").at is None and read("at one").at == time(13)


@pytest.mark.parametrize("text, days, not_days", [
    ("any day but thursday or friday", set(), {d(11, 26), d(11, 27)}),
    ("thursday and friday are out", set(), {d(11, 26), d(11, 27)}),
    ("not monday nor friday", set(), {d(11, 30), d(11, 27)}),
    ("thursday but not friday", {d(11, 26)}, {d(11, 27)}),
    ("before thursday", {d(11, 23), d(11, 24), d(11, 25)}, set()),
    ("by wednesday", {d(11, 23), d(11, 24), d(11, 25)}, set()),
    ("i'm away until wednesday", set(), {d(11, 23), d(11, 24)}),
])
def test_a_negation_carries_over_a_list_and_bounds_span_days(text, days, not_days):
    pref = read(text)
    assert (pref.days, pref.not_days) == (days, not_days)


def test_after_a_day_reaches_the_horizon():
    pref = read("after friday")
    assert min(pref.days) == d(11, 28) and d(12, 15) in pref.days and d(11, 27) not in pref.days


#: Words an answer about the offers is made of; none of them takes back what came before it.
PLAIN_WORDS = ["tuesday", "wednesday", "ten", "two", "am", "pm", "o'clock", "the", "first", "second", "one", "works",
               "sure", "yes", "yeah", "either", "both", "whichever", "morning", "afternoon", "at", "is", "fine",
               "good", "great", "please", "that", "i", "can", "do", "for", "me", "let's", "book", "okay", "perfect",
               "sounds", "on", "in", "any", "day", "free", "better", "earlier", "later", "thanks", "and", "or"]
#: Ways of turning the offers down or of committing to nothing, in words of our own.
REFUSALS = ["neither", "none of those", "i can't do either", "no thanks", "not interested", "i'll pass",
            "those don't work", "i'd rather not", "let's hold off", "nothing works", "can't make either",
            "maybe", "probably", "i might cancel", "let me check", "i'll let you know", "not sure", "in theory",
            "if my shift allows", "unless something comes up", "tentatively", "i'll have to confirm", "i doubt it",
            "hopefully", "pencil me in", "depends on work", "i don't think either works"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PLAIN_WORDS), max_size=8), st.sampled_from(REFUSALS),
       st.lists(st.sampled_from(PLAIN_WORDS), max_size=8))
def test_an_answer_that_refuses_or_hedges_never_accepts_an_offer(before, refusal, after):
    pref = read(" ".join([*before, refusal, *after]))
    assert pref.accept not in {"first", "second", "either"} and pref.chosen == ()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.lists(instants, min_size=0, max_size=3))
def test_any_string_is_read_without_raising(text, offers):
    pref = read_preference(text, offers=offers, now=NOW)
    assert pref.accept in {None, "first", "second", "either", "none"} and set(pref.chosen) <= set(offers)


@pytest.mark.parametrize("text", [
    "my brother handles one and two of the bills he said",
    "i spoke with three agents last year and none called back",
    "hold on the kids are yelling two of them at once",
])
def test_a_stray_number_inside_other_talk_picks_no_offer(text):
    pref = read(text)
    assert pref.at is None and pref.accept is None and not pref.chosen


@pytest.mark.parametrize("text, accept", [
    ("two", "second"), ("uh ten", "first"), ("two works", "second"), ("let's say ten", "first"),
    ("ten's good for me", "first"), ("i could do it around two", "second"),
])
def test_a_bare_hour_said_as_a_time_still_picks_its_offer(text, accept):
    assert read(text).accept == accept
