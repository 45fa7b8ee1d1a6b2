"""What one lead utterance says, read in the context of the question asked (reauto.agent.extract)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.agent.extract import extract
from reauto.agent.numbers.money import MoneyRange

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 24)
ASKED = (None, "intent", "timeline_months", "budget_usd", "preapproved", "location", "motivation")


def _slot(text: str, asked: str) -> object:
    found = extract(text, expecting=asked, today=TODAY).slots.get(asked)
    return None if found is None else found.value


@pytest.mark.parametrize("text, approved", [
    # an approval said without the word
    ("the bank okayed us last month", True),
    ("we got green lit on tuesday", True),
    ("we have all the paperwork from the lender", True),
    ("the mortgage application went through", True),
    ("we got the thumbs up from our loan officer", True),
    ("underwriting took forever but we're cleared for the loan now", True),  # done, said last
    # under way, turned down or refused: a no
    ("the underwriter is still reviewing everything", False),
    ("we sent the application and we're waiting to hear", False),
    ("we turned in the paperwork on friday", False),
    ("nobody has approved us yet", False),
    ("we weren't approved", False),
    ("we were turned down last month", False),
    ("no what would that take", False),                                     # a no, then a question
    # a question back leaves it open
    ("what counts as pre approved", None),
    ("is that different from prequalified", None),
    ("depends on which lender you mean", None),
])
def test_pre_approval_said_in_other_words(text, approved):
    assert _slot(text, "preapproved") is approved


def test_a_no_before_paying_cash_is_still_a_no():
    found = extract("not yet but we'll probably pay cash", expecting="preapproved", today=TODAY)
    assert found.slots["preapproved"].value is False and found.slots["financing"].value == "cash"
    plain = extract("we'll pay cash", expecting="preapproved", today=TODAY)
    assert plain.slots["financing"].value == "cash"


@pytest.mark.parametrize("text, budget", [
    ("maybe seven", MoneyRange(700_000, 700_000)),
    ("four and a half is our ceiling", MoneyRange(None, 450_000)),
    ("our monthly is sixteen hundred", None),
    ("the rent we pay is about two grand", None),
])
def test_a_budget_is_read_at_house_size_and_never_from_a_monthly_amount(text, budget):
    assert _slot(text, "budget_usd") == budget


@pytest.mark.parametrize("text, months", [
    ("around labor day", 9.4), ("before school starts", 8.67), ("tomorrow if we can", 0.0),
    ("june nope july", 7.66),
])
def test_timelines_when_asked(text, months):
    assert _slot(text, "timeline_months") == pytest.approx(months, abs=0.01)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.sampled_from(ASKED))
def test_extract_never_raises(text, asked):
    extract(text, expecting=asked, today=TODAY)
