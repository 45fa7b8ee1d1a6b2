"""The rules' summary of a call: what the lead said, in words, for every shape a slot is stored in."""

from __future__ import annotations

import pytest

from reauto.dialer.postcall import analyse, described

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("budget", "said"), [
    ({"low": 400_000, "high": 400_000}, "budget $400,000"),
    ({"low": 300_000, "high": 450_000}, "budget $300,000 to $450,000"),
    ({"low": None, "high": 400_000}, "budget under $400,000"),  # "no more than four hundred"
    ({"low": 1_000_000, "high": None}, "budget over $1,000,000"),  # "a million plus"
    (525_000, "budget $525,000"),
])
def test_a_budget_is_described_whatever_its_ends(budget, said):
    assert described({"intent": "buy", "budget_usd": budget}) == f"wants to buy, {said}"


def test_a_budget_with_neither_end_says_nothing_of_it():
    assert described({"budget_usd": {"low": None, "high": None}, "preapproved": False}) == "not pre-approved"


def test_an_open_ended_budget_reaches_the_summary():
    analysis = analyse([("lead", "we want to buy"), ("lead", "under four hundred thousand")], outcome="callback",
                       slots={"intent": "buy", "budget_usd": {"low": None, "high": 400_000}})
    assert "under $400,000" in analysis.summary
