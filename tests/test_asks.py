"""What an agent's line asks (reauto.agent.asks): the check that keeps a reworded line on plan."""

from __future__ import annotations

import pytest

from reauto.agent.asks import asks_about, offers_kept, questions

pytestmark = pytest.mark.unit

PLANNED = {
    "intent": "Are you looking to buy a home, or to sell one?",
    "timeline_months": "And when are you hoping to make your move?",
    "budget_usd": "What budget do you have in mind?",
    "preapproved": "Are you already pre-approved for a mortgage?",
    "neighbourhood": "Which neighbourhoods are you most drawn to?",
}


@pytest.mark.parametrize("slot, line, keeps", [
    ("intent", "Thanks! So, are you thinking of buying or selling?", True),
    ("intent", "Great to hear. Is it a purchase you're planning, or a sale?", True),
    ("intent", "Thanks! And when are you hoping to move?", False),
    ("intent", "Great.", False),
    ("timeline_months", "Got it. What's your timeline for buying?", True),
    ("timeline_months", "Perfect. How soon would you like to be in your new place?", True),
    ("timeline_months", "What price range are you looking at?", False),
    ("budget_usd", "And roughly how much are you looking to spend?", True),
    ("budget_usd", "When you buy, what price range feels comfortable?", True),
    ("budget_usd", "Have you been pre-approved yet?", False),
    ("preapproved", "Do you already have financing lined up with a lender?", True),
    ("preapproved", "Have you spoken with a bank about a mortgage yet?", True),
    ("preapproved", "When would you like to move?", False),
    ("neighbourhood", "Nice. Any neighbourhoods you're especially drawn to?", True),
    ("neighbourhood", "Nice. What's your budget?", False),
])
def test_a_reworded_question_is_read_for_the_slot_it_asks(slot, line, keeps):
    assert asks_about(line, slot, PLANNED[slot]) is keeps


def test_questions_and_offers():
    assert questions("Thanks. Would Tuesday at 10 AM work? Or later?") == ["Would Tuesday at 10 AM work?", "Or later?"]
    offers = ["Tuesday at 10 AM", "Wednesday at 2 PM"]
    assert offers_kept("I could do Tuesday at 10 AM or Wednesday at 2 PM. Which suits you?", offers)
    assert not offers_kept("I could do Tuesday at 10 AM. Does that suit you?", offers)
    assert not offers_kept("Would Tuesday at 11 AM or Wednesday at 2 PM work?", offers)
