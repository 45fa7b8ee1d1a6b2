"""Spoken numbers, money and timelines as a phone recogniser writes them (reauto.agent.numbers)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.agent.numbers.amounts import parse_number, words_to_number
from reauto.agent.numbers.durations import DurationRange, parse_duration, parse_duration_months
from reauto.agent.numbers.events import named_days
from reauto.agent.numbers.money import MoneyRange, house_money, parse_money_usd, parse_monthly_usd
from reauto.agent.numbers.words import NUMBER_WORDS, spoken_digits

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 24)  # a Tuesday in November

#: Budget amounts as spoken, read on their own (the table the module docstring's measurement uses).
CARDINALS = [
    ("four hundred thousand", 400_000), ("six hundred and twenty five thousand", 625_000),
    ("seven hundred fifty thousand", 750_000), ("one point two million", 1_200_000),
    ("a hundred and fifty thousand", 150_000), ("twenty five", 25), ("three", 3),
    ("nine hundred ninety nine thousand", 999_000), ("eighteen hundred", 1_800), ("thirty five hundred", 3_500),
    ("one million two hundred thousand", 1_200_000), ("two million", 2_000_000), ("fifty thousand", 50_000),
    ("ninety thousand", 90_000), ("four hundred fifty thousand", 450_000),
    ("three hundred and twenty thousand", 320_000), ("twelve hundred", 1_200), ("a million", 1_000_000),
    ("half a million", 500_000), ("a million and a half", 1_500_000), ("one and a half million", 1_500_000),
    ("a million two", 1_200_000), ("a million two hundred", 1_200_000), ("two point five million", 2_500_000),
    ("four fifty", 450), ("three twenty five", 325), ("one point five", 1.5), ("two and a half", 2.5),
    ("eleven thousand", 11_000), ("sixty five hundred", 6_500), ("four hundred k", 400_000),
    ("fifty grand", 50_000), ("a quarter million", 250_000), ("two hundred and five thousand", 205_000),
    ("one hundred thousand", 100_000), ("eight hundred and eighty eight thousand", 888_000),
    ("nineteen thousand five hundred", 19_500), ("three million four hundred thousand", 3_400_000),
    ("seven hundred", 700), ("sixteen fifty", 1_650),
]


@pytest.mark.parametrize("text, value", CARDINALS)
def test_spoken_amounts(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text, value", [
    ("about 450k", 450_000), ("$1.2m tops", 1_200_000), ("maybe 350,000", 350_000), ("nothing here", None),
    ("we have three kids", 3), ("twenty twenty seven", 2027), ("", None),
])
def test_parse_number_reads_the_first_number(text, value):
    assert parse_number(text) == (pytest.approx(value) if value is not None else None)


def test_words_to_number_keeps_its_list_api():
    assert words_to_number("four hundred and fifty thousand".split()) == 450_000
    assert words_to_number(["a", "hundred", "and", "fifty", "thousand"]) == 150_000
    assert words_to_number(["hello"]) is None
    assert {"hundred", "thousand", "million", "half", "point"} <= NUMBER_WORDS


def test_spoken_digits_writes_numbers_and_leaves_pronouns():
    assert spoken_digits("Tomorrow at two-thirty?") == "tomorrow at 2 30"
    assert spoken_digits("the one on elm, not that one") == "the one on elm not that one"
    assert spoken_digits("the twenty seventh") == "the 27th"


# --- money: what is a price and what is not --------------------------------------------------------
@pytest.mark.parametrize("text", [
    "we hope to move in about four months",
    "maybe six or seven weeks",
    "we pay around eighteen hundred a month now",
    "probably two or three years out",
    "eighteen months or so",
    "rent is about twenty two hundred a month",
    "we pay sixteen fifty in rent",
    "three bedrooms and two baths",
    "we have two kids and a dog",
    "our credit score is about seven twenty",
    "twenty percent down",
    "i make about ninety thousand a year",
    "at two",
    "i think the one on elm street",
    "four hundred dollars",
    "we pay about twelve hundred now",
    "not sure yet",
    "we have nothing",
    "in twenty twenty seven",
])
def test_units_and_context_say_when_a_number_is_no_price(text):
    assert parse_money_usd(text) is None


@pytest.mark.parametrize("text, asked, low, high", [
    # said with their size: a price whether or not it was asked
    ("around four hundred thousand dollars", False, 400_000, 400_000),
    ("maybe 450k", False, 450_000, 450_000),
    ("somewhere around six hundred and twenty five thousand", False, 625_000, 625_000),
    ("half a million", False, 500_000, 500_000),
    ("under half a mil", False, None, 500_000),
    ("a million and a half", False, 1_500_000, 1_500_000),
    ("one point two million", False, 1_200_000, 1_200_000),
    ("a million two", False, 1_200_000, 1_200_000),
    ("one million two fifty", False, 1_250_000, 1_250_000),
    ("a quarter million", False, 250_000, 250_000),
    # said without their size: a price only when asked
    ("four fifty", True, 450_000, 450_000),
    ("four fifty", False, None, None),
    ("probably three seventy five", True, 375_000, 375_000),
    ("one point two", True, 1_200_000, 1_200_000),
    ("one point two", False, None, None),
    ("eight hundred", True, 800_000, 800_000),
    ("our budget is about four fifty", False, 450_000, 450_000),  # the word "budget" asks
    ("we can afford five twenty five", False, 525_000, 525_000),
])
def test_a_bare_number_is_money_only_where_money_is_asked(text, asked, low, high):
    expected = None if low is None and high is None else MoneyRange(low, high)
    assert parse_money_usd(text, asked=asked) == expected


@pytest.mark.parametrize("text, low, high", [
    ("three to four hundred thousand", 300_000, 400_000),
    ("between three and four hundred thousand", 300_000, 400_000),
    ("somewhere between three fifty and four hundred", 350_000, 400_000),
    ("four fifty to five hundred", 450_000, 500_000),
    ("two fifty to three", 250_000, 300_000),
    ("anywhere from 300k to 350k", 300_000, 350_000),
    ("nine hundred thousand to one point two", 900_000, 1_200_000),
    ("one to one point five million", 1_000_000, 1_500_000),
    ("three or four hundred", 300_000, 400_000),
    ("four hundred maybe four twenty five", 400_000, 425_000),
    ("between five and six hundred", 500_000, 600_000),
])
def test_ranges(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


@pytest.mark.parametrize("text, low, high", [
    ("up to four fifty", None, 450_000),
    ("up to 500k", None, 500_000),
    ("under four hundred thousand", None, 400_000),
    ("no more than six hundred k", None, 600_000),
    ("nothing over a million", None, 1_000_000),
    ("three fifty tops", None, 350_000),
    ("four hundred max", None, 400_000),
    ("at least six hundred thousand", 600_000, None),
    ("at least three fifty", 350_000, None),
    ("seven hundred thousand or more", 700_000, None),
    ("over a million", 1_000_000, None),
])
def test_bounds(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


@pytest.mark.parametrize("text, low, high", [
    ("three hundred no wait four hundred", 400_000, 400_000),
    ("four hundred thousand no actually four fifty", 450_000, 450_000),
    ("three hundred thousand sorry i mean four", 400_000, 400_000),  # the size carries over
    ("maybe six hundred scratch that five", 500_000, 500_000),
    ("up to three fifty wait no up to four", None, 400_000),
])
def test_the_last_correction_counts(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


@pytest.mark.parametrize("text, low, high", [
    ("the mid fours", 425_000, 475_000),
    ("somewhere in the low five hundreds", 500_000, 533_000),
    ("high threes", 367_000, 400_000),
    ("probably the upper four hundreds", 467_000, 500_000),
    ("low to mid fours", 400_000, 475_000),
    ("in the six hundreds", 600_000, 700_000),
    ("the low millions", 1_000_000, 1_333_000),
    ("mid 400s", 425_000, 475_000),
])
def test_price_bands(text, low, high):
    assert parse_money_usd(text, asked=False) == MoneyRange(low, high)


@pytest.mark.parametrize("text, low, high", [
    ("we have fifty thousand saved and can do about four hundred", 400_000, 400_000),
    ("twenty percent down and around three fifty", 350_000, 350_000),
    ("three bedrooms two baths around four hundred", 400_000, 400_000),
    ("we pay two thousand a month in rent and want to stay under three fifty", None, 350_000),
    ("in about six months and around five hundred thousand", 500_000, 500_000),
    ("we're pre approved for a mortgage of four hundred", 400_000, 400_000),
    ("we can pay up to four fifty", None, 450_000),
    ("four hundred thousand cash", 400_000, 400_000),
    ("four hundred thousand and three bedrooms", 400_000, 400_000),
])
def test_the_price_among_other_numbers(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


@pytest.mark.parametrize("text, asked, low, high", [
    ("we pay around eighteen hundred a month now", False, 1_800, 1_800),
    ("two thousand a month", False, 2_000, 2_000),
    ("rent is sixteen fifty", False, 1_650, 1_650),
    ("about twenty two hundred per month", False, 2_200, 2_200),
    ("we pay two k in rent", False, 2_000, 2_000),
    ("between fifteen hundred and two thousand a month", False, 1_500, 2_000),
    ("no more than twenty five hundred a month", False, None, 2_500),
    ("around two and a half a month", False, 2_500, 2_500),
    ("we pay about twelve hundred now", False, 1_200, 1_200),
    ("sixteen fifty", True, 1_650, 1_650),
    ("sixteen fifty", False, None, None),
    ("four hundred thousand", False, None, None),
    ("in about four months", False, None, None),
])
def test_monthly_amounts(text, asked, low, high):
    expected = None if low is None and high is None else MoneyRange(low, high)
    assert parse_monthly_usd(text, asked=asked) == expected


# --- money: what a person means by a short answer to "what budget?" ------------------------------
@pytest.mark.parametrize("text, low, high", [
    ("maybe seven", 700_000, 700_000),                 # a single figure: hundreds of thousands
    ("somewhere near three", 300_000, 300_000),
    ("two and a half", 250_000, 250_000),
    ("six and a quarter", 625_000, 625_000),
    ("eight and change", 800_000, 800_000),
    ("like five or six", 500_000, 600_000),
    ("between two and three", 200_000, 300_000),
    ("one point four", 1_400_000, 1_400_000),          # a decimal point: millions
    ("one and three quarters million", 1_750_000, 1_750_000),
    ("a million and a quarter", 1_250_000, 1_250_000),
    ("a buck seventy five", 175_000, 175_000),         # slang: a buck is a hundred (thousand)
    ("a buck and a half", 150_000, 150_000),
    ("six figures", 100_000, 1_000_000),
    ("offers starting at eight", 800_000, None),       # "at" before a price is no time of day
])
def test_a_short_answer_is_read_at_the_size_of_a_house(text, low, high):
    assert parse_money_usd(text, asked=True) == MoneyRange(low, high)
    if "figures" not in text and "million" not in text:
        assert parse_money_usd(text, asked=False) is None  # unasked, a bare figure is no price


def test_a_single_figure_takes_the_size_of_a_price_said_beside_it():
    said = "our last house sold for two million and we want to spend about three"
    assert parse_money_usd(said) == MoneyRange(3_000_000, 3_000_000)


@pytest.mark.parametrize("text, low, high", [
    ("six no seven hundred", 700_000, 700_000),
    ("three twenty nope three forty", 340_000, 340_000),
    ("under five hundred no under five fifty", None, 550_000),
    ("four hundred my wife says four fifty", 450_000, 450_000),
    ("two fifty well maybe three", 300_000, 300_000),
    ("five fifty actually make it six", 600_000, 600_000),
])
def test_a_corrected_amount_is_the_last_said(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


@pytest.mark.parametrize("text, low, high", [
    ("we owe one fifty and we'd love to get four", 400_000, 400_000),
    ("we bought it for three twenty and hope to list at five", 500_000, 500_000),
    ("the bank qualified us for six hundred but we'd rather stay around five", 500_000, 500_000),
    ("the credit union said seven hundred but we want to stay under six", None, 600_000),
    ("we paid four hundred thousand", 400_000, 400_000),  # alone, the price they named
])
def test_what_was_paid_or_approved_gives_way_to_what_is_wanted(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


@pytest.mark.parametrize("text, monthly", [
    ("twelve fifty is what we pay right now", 1_250),
    ("the payment on our place is fourteen hundred", 1_400),
    ("our landlord gets nineteen fifty from us", 1_950),
    ("our monthly is about sixteen hundred", 1_600),
])
def test_a_monthly_amount_is_never_a_budget(text, monthly):
    assert parse_money_usd(text, asked=True) is None
    assert parse_monthly_usd(text, asked=True) == MoneyRange(monthly, monthly)


@pytest.mark.parametrize("text, price", [
    ("we pay rent now but want to buy around four fifty", 450_000),  # another clause
    ("we've saved a down payment for something near five", 500_000),
    ("two thousand dollars", None),                                  # no house costs that
])
def test_a_price_beside_monthly_words(text, price):
    expected = None if price is None else MoneyRange(price, price)
    assert parse_money_usd(text, asked=True) == expected


def test_house_money_keeps_its_scale():
    assert house_money(4.5) == 4_500_000 and house_money(450) == 450_000 and house_money(650_000) == 650_000


# --- durations -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, low, high", [
    ("a year and a half", 18, 18),
    ("eighteen months", 18, 18),
    ("couple of weeks", 0.46, 0.46),          # a week is 12/52 of a month
    ("in a couple weeks", 0.46, 0.46),
    ("maybe six or seven weeks", 1.38, 1.62),
    ("two or three years", 24, 36),
    ("a month or two", 1, 2),
    ("six months to a year", 6, 12),
    ("one and a half years", 18, 18),
    ("half a year", 6, 6),
    ("a few months", 3, 3),
    ("in ten days", 0.33, 0.33),
    ("three no wait four months", 4, 4),
    ("four months no actually six", 6, 6),
    ("we rent right now but want to buy in six months", 6, 6),
    ("we hope to move in about four months", 4, 4),
])
def test_counted_durations(text, low, high):
    found = parse_duration(text, today=TODAY)
    assert (found.low, found.high) == (pytest.approx(low, abs=0.01), pytest.approx(high, abs=0.01))


def test_a_range_point_is_its_middle():
    assert parse_duration_months("maybe six or seven weeks", today=TODAY) == pytest.approx(1.5, abs=0.01)
    assert parse_duration("six or seven weeks", today=TODAY).point == pytest.approx(1.5, abs=0.01)


@pytest.mark.parametrize("text, low, high", [
    ("within six months", None, 6),
    ("in the next three months", None, 3),
    ("less than a month", None, 1),
    ("at least a year", 12, None),
    ("not for another six months", 6, None),
])
def test_duration_bounds(text, low, high):
    assert parse_duration(text, today=TODAY) == DurationRange(low, high)


@pytest.mark.parametrize("text, months", [
    # counted in days from Tuesday 24 November 2026
    ("by the end of the year", 1.22),     # 31 December
    ("next spring", 4.67),                # mid-April: a season said alone is its middle month
    ("in march", 3.65),
    ("the lease is up in march", 3.65),   # a month named alone is its 15th, whatever ends in it
    ("our lease ends june thirtieth", 7.16),
    ("early next year", 1.71),
    ("next year", 6.67),
    ("late summer", 8.67),                # late in a season: its last month's 15th
    ("by christmas", 1.02),
    ("in twenty twenty seven", 6.67),
    ("next month", 1.0),
    ("next week", 0.23),
])
def test_calendar_timelines_count_from_today(text, months):
    assert parse_duration_months(text, today=TODAY) == pytest.approx(months, abs=0.01)


@pytest.mark.parametrize("text, months", [
    ("next spring", 5), ("by march", 4), ("in march", 4), ("next year", 7), ("by the end of the year", 1),
    ("the lease is up in march", 4), ("this summer", 8), ("in november", 0), ("next november", 12),
])
def test_today_month_counts_whole_months(text, months):
    assert parse_duration_months(text, 11) == pytest.approx(months)


@pytest.mark.parametrize("text", ["asap", "right away", "as soon as possible", "immediately if we can"])
def test_now_is_zero(text):
    assert parse_duration_months(text, today=TODAY) == 0


@pytest.mark.parametrize("text", [
    "not sure", "no rush", "someday", "no idea really", "whenever", "eventually i guess",
    "we've lived here for ten years", "we started looking two months ago", "we pay two thousand a month",
    "we may", "if the deal falls through",
])
def test_no_timeline(text):
    assert parse_duration_months(text, today=TODAY) is None


def test_a_time_said_with_doubt_still_counts():
    assert parse_duration_months("not sure maybe in six months", today=TODAY) == 6


# --- timelines: named days, the school year, now, corrections (from Tuesday 24 November 2026) -----
@pytest.mark.parametrize("text, months", [
    ("around memorial day", 6.18),          # 31 May 2027, from the US holiday calendar
    ("by easter", 4.07),                    # 28 March 2027
    ("after labor day", 9.4),               # 6 September 2027
    ("before thanksgiving", 0.07),          # this Thursday
    ("sometime around halloween", 11.2),
    ("after new year's", 1.25),             # the turn of the year: 1 January
    ("when school starts", 8.67),           # mid August
    ("after school lets out", 6.67),        # mid June
    ("come spring", 4.67),
    ("come fall", 10.68),
    ("the spring after next", 16.69),
    ("summer of next year", 7.66),
    ("by the end of spring", 5.65),         # late in a season: its last month's 15th
    ("the week after next", 0.46),
    ("a hundred and fifty days", 4.93),     # a day is 12/365 of a month
    ("march or april", 4.16),               # two dates: the middle
])
def test_named_days_and_seasons_count_from_today(text, months):
    assert parse_duration_months(text, today=TODAY) == pytest.approx(months, abs=0.01)


@pytest.mark.parametrize("text, months", [
    ("february nope march", 3.65),
    ("january sorry february", 2.73),
    ("two months actually closer to four", 4),
    ("six weeks i mean six months", 6),
])
def test_a_corrected_timeline_is_the_last_said(text, months):
    assert parse_duration_months(text, today=TODAY) == pytest.approx(months, abs=0.01)


@pytest.mark.parametrize("text, months", [
    ("tomorrow if possible", 0), ("we needed it yesterday", 0), ("we're ready now", 0),
    ("call me tomorrow", None), ("we looked at a house yesterday", None), ("we're renting now", None),
    ("prices might fall", None), ("let's march on", None), ("we may or may not", None),
])
def test_now_said_in_other_words(text, months):
    assert parse_duration_months(text, today=TODAY) == months


# --- properties ------------------------------------------------------------------------------------
FILLERS = ["a", "an", "and", "or", "to", "no", "wait", "about", "maybe", "up", "under", "at", "least", "the",
           "mid", "low", "high", "fours", "months", "weeks", "years", "a month", "in rent", "percent", "$", "k",
           "between", "half", "point", "dollars", "next", "spring", "march", "lease", "is", "end", "of", "year",
           "1.5", "400k", "-", ",", "'s", "zqband", "zqbanda", "onex", "1000000", "0", "00", "oh", "nope", "buck",
           "figures", "quarter", "quarters", "change", "i mean", "make it", "labor day", "easter", "school starts",
           "school lets out", "after next", "next year", "come", "fall", "may", "tomorrow", "yesterday", "now",
           "new year's", "christmas", "paid", "approved for", "landlord", "monthly", "starting at"]
words = st.lists(st.sampled_from(sorted(NUMBER_WORDS) + FILLERS), max_size=14).map(" ".join)
anything = st.one_of(st.text(max_size=80), words)


@settings(max_examples=400, deadline=None)
@given(anything)
def test_no_parser_raises_and_money_is_never_negative(text):
    for asked in (True, False):
        for found in (parse_money_usd(text, asked=asked), parse_monthly_usd(text, asked=asked)):
            if found is not None:
                assert all(v is None or v >= 0 for v in (found.low, found.high))
                assert found.low is None or found.high is None or found.low <= found.high
    parse_number(text)
    spoken_digits(text)
    words_to_number(text.split())
    parse_duration_months(text, 11)


@settings(max_examples=300, deadline=None)
@given(anything, st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_a_duration_point_lies_between_its_ends(text, today):
    found = parse_duration(text, today=today)
    if found is None:
        return
    assert all(v is None or v >= 0 for v in (found.low, found.high))
    if found.low is not None and found.high is not None:
        assert found.low <= found.point <= found.high


@settings(max_examples=300, deadline=None)
@given(anything, st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_named_days_never_raise_and_never_lie_behind_today(text, today):
    for start, day in named_days(text.split(), today):
        assert 0 <= start and day >= today
    found = parse_duration(text, today=today)
    assert found is None or all(v is None or v >= 0 for v in (found.low, found.high))
