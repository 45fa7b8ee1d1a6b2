"""The scripted brain and its rule-based understanding of recognised speech."""

import asyncio
from datetime import date

import pytest

from reauto.agent.extract import extract, normalise
from reauto.agent.numbers.amounts import parse_number, words_to_number
from reauto.agent.numbers.durations import parse_duration_months
from reauto.agent.numbers.money import MoneyRange, parse_money_usd
from reauto.agent.scoring import score_slots
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig

pytestmark = pytest.mark.unit

QUESTIONS = [
    Question("intent", "Are you looking to buy or to sell?"),
    Question("timeline_months", "When are you hoping to move?"),
    Question("budget_usd", "What budget do you have in mind?"),
    Question("preapproved", "Are you pre-approved for a mortgage?"),
]


def config(**overrides):
    base = dict(agent_name="Ava", business="Acme Realty", questions=QUESTIONS,
                disclosures=["This call may be recorded."], lead_first_name="Jane",
                booking_slots=["Tuesday at 3 pm", "Wednesday at 10 am"], book_threshold=0.5,
                callback_number="512 555 0100", today=date(2026, 11, 24))
    base.update(overrides)
    return ScriptConfig(**base)


def say(brain, text):
    return asyncio.run(brain.respond(text, 0.9))


# --- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("words, value", [
    ("four hundred thousand", 400_000), ("one point two million", 1_200_000), ("twenty five", 25),
    ("a hundred and fifty thousand", 150_000), ("three", 3), ("two and a half", 2.5),
])
def test_words_to_number(words, value):
    assert words_to_number(words.split()) == pytest.approx(value)


@pytest.mark.parametrize("text, value", [
    ("about 450k", 450_000), ("$1.2m tops", 1_200_000), ("maybe 350,000", 350_000),
    ("around four hundred thousand dollars", 400_000), ("nothing here", None),
])
def test_parse_number(text, value):
    assert parse_number(text) == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize("text, low, high", [
    ("around four hundred thousand dollars", 400_000, 400_000),
    ("four hundred", 400_000, 400_000),  # said without the thousands
    ("one point five", 1_500_000, 1_500_000),
    ("between three and four hundred thousand", 300_000, 400_000),
    ("up to 500k", None, 500_000),
    ("at least six hundred thousand", 600_000, None),
])
def test_parse_money_reads_house_budgets(text, low, high):
    assert parse_money_usd(text) == MoneyRange(low, high)


def test_parse_money_without_a_budget():
    assert parse_money_usd("not sure yet") is None
    assert parse_money_usd("we have nothing") is None
    assert MoneyRange(300_000, 400_000).point == 350_000
    assert MoneyRange(None, 500_000).point == 500_000


@pytest.mark.parametrize("text, months", [
    ("in about three months", 3), ("six weeks or so", 1.38), ("a year and a half", 18),
    ("asap", 0), ("next month", 1), ("next spring", 5), ("by march", 4),
    ("two years", 24), ("next year", 7), ("by the end of the year", 1), ("in ten days", 0.33),
])
def test_parse_duration_months(text, months):
    # today is November
    assert parse_duration_months(text, today_month=11) == pytest.approx(months, abs=0.01)


def test_parse_duration_without_a_timeline():
    assert parse_duration_months("no idea really", 11) is None
    assert parse_duration_months("whenever", 11) is None


# --- extraction ----------------------------------------------------------------------------------
def test_normalise_strips_punctuation():
    assert normalise("Pre-approved, YES!") == "pre approved yes"


@pytest.mark.parametrize("text, intent", [
    ("please do not call me again", "dnc"), ("take me off your list", "dnc"), ("stop", "dnc"),
    ("wait are you a robot", "robot_question"), ("can i talk to a real person", "human_request"),
    ("you have the wrong number", "wrong_number"), ("no thanks not interested", "not_interested"),
    ("i'm driving right now", "callback_request"), ("sorry can you say that again", "repeat_request"),
])
def test_intents(text, intent):
    assert extract(text).has(intent)


@pytest.mark.parametrize("text, intents", [
    ("no longer interested", {"not_interested"}),
    ("we are no longer that interested thanks", {"not_interested"}),
    ("i'm driving right now", {"callback_request"}),  # "right now" is a time, not a yes
    ("i can not talk right at this moment", {"callback_request"}),
    ("that's right", {"affirm"}), ("right", {"affirm"}), ("right on", {"affirm"}), ("you are right", {"affirm"}),
])
def test_right_now_is_no_yes_and_no_longer_interested_is_a_refusal(text, intents):
    assert extract(text).intents == intents


def test_slots_in_context():
    assert extract("we want to buy a house").slots["intent"].value == "buy"
    assert extract("in about three months", expecting="timeline_months").slots["timeline_months"].value == 3
    # a bare number is a timeline only when a timeline was asked for
    assert "timeline_months" not in extract("three").slots
    budget = extract("around four hundred thousand dollars", expecting="budget_usd").slots["budget_usd"]
    assert budget.value == MoneyRange(400_000, 400_000) and budget.confidence >= 0.8
    assert extract("yes we are pre approved").slots["preapproved"].value is True
    assert extract("we haven't been pre approved yet").slots["preapproved"].value is False
    assert extract("yes", expecting="preapproved").slots["preapproved"].value is True
    assert extract("not yet", expecting="preapproved").slots["preapproved"].value is False
    cash = extract("we are paying cash")
    assert cash.slots["financing"].value == "cash" and cash.slots["preapproved"].value is True
    assert extract("a condo downtown").slots["property_type"].value == "condo"
    assert extract("somewhere near austin").slots["location"].value == "austin"
    assert extract("round rock", expecting="location").slots["location"].value == "round rock"
    assert extract("my job moved", expecting="motivation").slots["motivation"].value == "my job moved"


@pytest.mark.parametrize(("text", "expecting", "intent"), [
    ("renting", "intent", "rent"), ("we would like to lease a condo", None, "rent"),
    ("we are looking to rent", "timeline_months", "rent"), ("we are just renting right now", None, None),
    ("we rent an apartment downtown", "timeline_months", None), ("we want to buy a house", None, "buy"),
    ("we'd rent it out for now", None, None),  # renting a home out is an owner's plan, not renting one
])
def test_renting_is_an_intent_only_as_a_plan_unless_asked(text, expecting, intent):
    found = extract(text, expecting=expecting).slots.get("intent")
    assert (found.value if found else None) == intent


def test_an_intent_given_when_asked_is_not_overwritten_in_passing():
    brain = ScriptedBrain(ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                                       questions=[Question("intent", "Are you looking to buy or to sell?"),
                                                  Question("timeline_months", "When are you hoping to move?"),
                                                  Question("budget_usd", "What budget do you have in mind?")],
                                       today=date(2026, 11, 24)))
    asyncio.run(brain.respond("yes this is jane", 0.9))
    asyncio.run(brain.respond("buying", 0.9))
    asyncio.run(brain.respond("in three months, we would like to rent something first", 0.9))
    assert brain.slots["intent"] == "buy" and brain.slots["timeline_months"] == 3


# --- scoring -------------------------------------------------------------------------------------
def test_score_uses_only_what_the_lead_said():
    weights = {"intent": 0.2, "timeline_months": 0.3, "budget_usd": 0.2, "preapproved": 0.3}
    hot = {"intent": "buy", "timeline_months": 2, "budget_usd": {"low": 4e5, "high": 4e5}, "preapproved": True}
    assert score_slots(hot, weights) == 1.0
    assert score_slots({}, weights) == 0.0
    assert score_slots({"timeline_months": 5}, weights) == pytest.approx(0.21)
    assert score_slots({"timeline_months": 10}, weights) == pytest.approx(0.12)
    assert score_slots({"timeline_months": 30}, weights) == pytest.approx(0.03)
    assert score_slots(hot, {}) == 0.0


# --- the brain -----------------------------------------------------------------------------------
def test_opening_names_the_lead_discloses_and_offers_opt_out():
    brain = ScriptedBrain(config())
    reply = brain.opening()
    assert reply.text.startswith("Hi Jane, this is Ava, an AI assistant calling from Acme Realty.")
    assert "may be recorded" in reply.text and "say stop or press 9" in reply.text and reply.text.endswith("Is this Jane?")
    anonymous = ScriptedBrain(config(lead_first_name=None)).opening()
    assert anonymous.text.endswith("Do you have a quick minute?")


def test_voicemail_leaves_a_callback_message():
    reply = ScriptedBrain(config(), answered_by="machine").opening()
    assert reply.end_call and reply.outcome == "voicemail" and "512 555 0100" in reply.text


def test_a_campaign_may_hang_up_on_machines_and_the_keypad_opts_out():
    reply = ScriptedBrain(config(leave_voicemail=False), answered_by="machine").opening()
    assert (reply.text, reply.end_call, reply.outcome) == ("", True, "voicemail")
    brain = ScriptedBrain(config())
    brain.opening()
    out = brain.opt_out()
    assert out.end_call and out.outcome == "dnc" and "off our list" in out.text


def test_a_qualified_lead_is_booked():
    brain = ScriptedBrain(config())
    brain.opening()
    assert say(brain, "yes this is jane").text == "Great. Are you looking to buy or to sell?"
    assert "When" in say(brain, "we want to buy").text
    assert "budget" in say(brain, "in about three months").text
    assert "pre-approved" in say(brain, "around four hundred thousand dollars").text
    offer = say(brain, "yes we are pre approved")
    assert brain.agent == "scheduler" and "Tuesday at 3 pm or Wednesday at 10 am" in offer.text
    booked = say(brain, "the second one works")
    assert booked.end_call and booked.outcome == "booked" and "Wednesday at 10 am" in booked.text
    assert brain.slots["budget_usd"] == {"low": 400_000, "high": 400_000}
    assert brain.slots["appointment"] == "Wednesday at 10 am"
    assert brain.score == 1.0
    assert [t[:2] for t in brain.transitions] == [("greeter", "qualifier"), ("qualifier", "scheduler"),
                                                  ("scheduler", "closer")]


def test_answers_given_early_are_not_asked_again():
    brain = ScriptedBrain(config())
    brain.opening()
    reply = say(brain, "yes we want to buy in about two months")
    assert "budget" in reply.text  # intent and timeline already known


def test_unclear_answer_is_asked_once_more_then_moved_on():
    brain = ScriptedBrain(config())
    brain.opening()
    say(brain, "yes")
    assert say(brain, "hmm").text.startswith("Sorry, I didn't quite catch that. Are you looking")
    assert "When" in say(brain, "hmm").text


def test_a_badly_heard_answer_is_asked_again_as_a_bad_line_once():
    brain = ScriptedBrain(config(min_confidence=0.45))
    brain.opening()
    say(brain, "yes")

    def heard(text, confidence):
        return asyncio.run(brain.respond(text, confidence))

    assert heard("wee wand two bye", 0.2).text.startswith("Sorry, the line broke up for a second. Are you looking")
    assert heard("mumble", 0.2).text.startswith("Sorry, I didn't quite catch that. Are you looking")
    assert "When" in heard("mumble", 0.2).text  # then the script moves on, as for any unclear answer
    # a low-confidence answer that still says what was asked is taken as it is
    clear = ScriptedBrain(config(min_confidence=0.45))
    clear.opening()
    say(clear, "yes")
    assert "When" in asyncio.run(clear.respond("we want to buy", 0.3)).text and clear.slots["intent"] == "buy"
    # without a threshold (the default) confidence changes nothing
    plain = ScriptedBrain(config())
    plain.opening()
    say(plain, "yes")
    assert asyncio.run(plain.respond("wee wand two bye", 0.1)).text.startswith("Sorry, I didn't quite catch")


def test_a_lead_who_is_not_qualified_gets_a_callback_not_a_booking():
    brain = ScriptedBrain(config(book_threshold=0.9))
    brain.opening()
    for text in ("yes", "we want to rent", "maybe in two years", "not sure", "no idea", "no"):
        reply = say(brain, text)
    assert reply.end_call and reply.outcome == "callback" and brain.agent == "closer"


@pytest.mark.parametrize("text, outcome", [
    ("please do not call me again", "dnc"), ("wrong number", "bad_number"),
    ("no thanks not interested", "not_interested"), ("i'm at work call me later", "callback"),
])
def test_ending_intents_end_the_call(text, outcome):
    brain = ScriptedBrain(config())
    brain.opening()
    reply = say(brain, text)
    assert reply.end_call and reply.outcome == outcome


def test_robot_question_is_answered_honestly_and_the_question_repeated():
    brain = ScriptedBrain(config())
    brain.opening()
    say(brain, "yes")
    reply = say(brain, "wait are you a robot")
    assert reply.text.startswith("Yes, I'm an AI assistant") and reply.text.endswith("buy or to sell?")
    assert brain.agent == "qualifier" and ("qualifier", "objection", "asked if AI") in brain.transitions


def test_repeat_request_repeats_the_last_line():
    brain = ScriptedBrain(config())
    brain.opening()
    asked = say(brain, "yes").text
    assert say(brain, "sorry can you say that again").text == asked


def test_booking_needs_a_clear_choice():
    brain = ScriptedBrain(config(questions=[QUESTIONS[0]], book_threshold=0.1))
    brain.opening()
    say(brain, "yes")
    assert brain.agent == "qualifier"
    say(brain, "we want to buy")
    assert brain.agent == "scheduler"
    assert say(brain, "hmm").text.startswith("Sorry, which works better: Tuesday")
    assert say(brain, "wednesday please").outcome == "booked"
    brain = ScriptedBrain(config(questions=[QUESTIONS[0]], book_threshold=0.1))
    brain.opening()
    say(brain, "yes")
    say(brain, "we want to buy")
    say(brain, "hmm")
    final = say(brain, "hmm")
    assert final.outcome == "callback" and final.end_call


def test_interruption_keeps_only_what_was_heard():
    brain = ScriptedBrain(config())
    brain.opening()
    brain.interrupted("Hi Jane, this is")
    assert brain.history[-1] == ("agent", "Hi Jane, this is")


def test_a_lone_season_word_is_not_a_timeline_unless_asked():
    # "yes this is me autumn" is a misrecognised greeting, not a plan to move in autumn
    assert "timeline_months" not in extract("yes this is me autumn").slots
    assert extract("we want to buy next spring").slots["timeline_months"].value == pytest.approx(4, abs=12)
    assert "timeline_months" in extract("maybe in six months").slots
    assert "timeline_months" in extract("autumn", expecting="timeline_months").slots


def test_robot_question_during_the_greeting_starts_the_questions():
    brain = ScriptedBrain(config())
    brain.opening()
    reply = say(brain, "wait are you a robot")
    assert reply.text.startswith("Yes, I'm an AI assistant") and reply.text.endswith("buy or to sell?")
    assert brain.agent == "qualifier"
    assert "When" in say(brain, "we want to buy").text  # no question skipped


def test_asking_for_a_person_gets_a_callback_from_an_agent():
    brain = ScriptedBrain(config())
    brain.opening()
    reply = say(brain, "can i talk to a real person")
    assert reply.end_call and reply.outcome == "callback" and "licensed agents" in reply.text


def test_a_lead_going_on_over_the_next_question_hears_it_again_as_it_was_asked():
    """"Yes, … this is Jane.": the answer ends the turn at "yes", the lead goes on over "Great.",
    before a word of the question. That turn ends at once (nothing to wait for: the question comes
    again), the question is asked as before, not as "didn't catch that", and the lead's one retry
    at answering it is still there."""
    brain = ScriptedBrain(ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                                       questions=[Question("timeline_months", "When are you hoping to buy?")],
                                       today=date(2026, 11, 24)))
    brain.opening()
    assert asyncio.run(brain.respond("yes", 0.9)).text == "Great. When are you hoping to buy?"
    brain.interrupted("Great.")
    assert brain.answers("this is jane") and not brain.answers("") and brain.history[-1] == ("agent", "Great.")
    assert asyncio.run(brain.respond("this is jane", 0.9)).text == "When are you hoping to buy?"
    assert not brain.answers("this is jane")  # heard in full this time: judged as usual
    assert asyncio.run(brain.respond("hmm", 0.9)).text == "Sorry, I didn't quite catch that. When are you hoping to buy?"
    brain.interrupted("Sorry, I didn't quite catch that. When are")  # cut inside the question
    assert not brain.answers("well let me think")
    assert "Sorry" not in asyncio.run(brain.respond("in three months", 0.9)).text
    assert brain.slots["timeline_months"] == 3


def test_a_seller_is_scored_on_what_applies_to_selling():
    weights = {"intent": 0.2, "timeline_months": 0.3, "budget_usd": 0.2, "preapproved": 0.3}
    seller = {"intent": "sell", "timeline_months": 12, "budget_usd": {"low": 500_000, "high": 500_000},
              "preapproved": False}
    buyer = {**seller, "intent": "buy"}
    # no mortgage approval to have: the seller is judged on intent, timeline and price alone
    assert score_slots(seller, weights) == pytest.approx((0.2 + 0.3 * 0.4 + 0.2) / 0.7, abs=1e-3)
    assert score_slots(buyer, weights) == pytest.approx(0.2 + 0.3 * 0.4 + 0.2, abs=1e-3)


@pytest.mark.parametrize("text", ["she's at work right now", "this is her husband, she stepped out",
                                  "no, he's not home", "she is not available can i take a message"])
def test_when_the_lead_is_not_there_the_agent_qualifies_no_one_and_calls_back(text):
    brain = ScriptedBrain(config())
    brain.opening()
    reply = say(brain, text)
    assert reply.end_call and reply.outcome == "callback" and "Jane another time" in reply.text
    assert brain.slots == {}


def test_an_unheard_turn_never_moves_the_conversation_on():
    from reauto.voice.services import UNHEARD

    brain = ScriptedBrain(config())
    brain.opening()
    first = say(brain, UNHEARD)  # the recogniser failed on the lead's first answer
    assert first.text == "Sorry, the line broke up. Could you say that again?" and brain.agent == "greeter"
    say(brain, "yes this is jane")
    asked = brain._ask_current()
    # a lead's opt-out is still heard after a broken turn
    again = say(brain, UNHEARD)
    assert again.text.endswith(asked) and not again.end_call and brain.slots == {}
    closed = say(brain, UNHEARD)
    assert closed.end_call and closed.outcome == "callback" and "breaking up" in closed.text
    opted = ScriptedBrain(config())
    opted.opening()
    say(opted, "yes")
    say(opted, UNHEARD)
    assert say(opted, "please do not call me again").outcome == "dnc"


def test_an_answer_missed_in_the_best_reading_is_read_from_the_next_best():
    brain = ScriptedBrain(config())
    brain.opening()
    say(brain, "yes")
    brain.hear(["we want to buy a house", "we want to by a house"])
    say(brain, "we want to pie a mouse")  # the best reading says nothing the agent can use
    assert brain.slots["intent"] == "buy" and brain.values["intent"].confidence < 0.9  # trusted less
    # an opt-out two readings agree on ends the call, even when the best one misses it
    brain.hear(["please do not call me again", "please do not call me a gain", "please do knot call me again"])
    assert say(brain, "please do not fall me again").outcome == "dnc"
    # one stray reading is not enough
    other = ScriptedBrain(config())
    other.opening()
    say(other, "yes")
    other.hear(["we want to buy stop calling", "we want to buy a house"])
    assert say(other, "we want to buy a house").outcome is None
