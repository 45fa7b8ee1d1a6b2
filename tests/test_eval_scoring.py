"""Scores of ``reauto eval``: known WER cases, slot comparison, outcome confusion, agent replay."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.agent.scripted import ScriptedBrain
from reauto.campaign import load_campaign
from reauto.dialer.assembly import script_config
from reauto.eval.runner import UNCONCLUDED, replay_agent
from reauto.eval.scoring import (
    NO_ERRORS,
    WordErrors,
    confidence_bins,
    confusion,
    slot_accuracy,
    slot_matches,
    total,
    word_errors,
)
from reauto.stt import wer

from .test_eval import ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("ref", "hyp", "expected"), [
    ("we are pre-approved", "we're pre approved", WordErrors(4, 0, 0, 0)),  # contraction, hyphen
    ("around $400k", "around four hundred thousand", WordErrors(4, 0, 0, 0)),  # spoken numbers
    ("In about 3 months.", "in about three months", WordErrors(4, 0, 0, 0)),  # case, punctuation, digits
    ("in about three months", "in about three nine", WordErrors(4, 1, 0, 0)),
    ("yes this is jane", "yes jane", WordErrors(4, 0, 2, 0)),
    ("hello", "oh hello there", WordErrors(1, 0, 0, 2)),
    ("hello", "", WordErrors(1, 0, 1, 0)),
    ("", "um", WordErrors(0, 0, 0, 1)),
])
def test_word_errors_known_cases(ref, hyp, expected):
    got = word_errors(ref, hyp)
    assert got == expected
    assert got.errors == expected.substitutions + expected.deletions + expected.insertions


def test_wer_is_none_for_an_empty_reference_and_sums_over_words():
    assert word_errors("", "um").wer is None
    assert word_errors("one two three four", "one two three").wer == 0.25
    # corpus WER weights by words: 1 error in 4 words + 1 error in 1 word = 2/5, not the mean 0.625
    assert total([word_errors("one two three four", "one two three"), word_errors("hello", "yellow")]).wer == 0.4
    assert total([]) == NO_ERRORS


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("yes no we are buying a house in three months".split()), max_size=8),
       st.lists(st.sampled_from("yes no we are buying a house in three months".split()), max_size=8))
def test_jiwer_alignment_agrees_with_plain_edit_distance(ref, hyp):
    assert word_errors(" ".join(ref), " ".join(hyp)).errors == wer.word_errors(ref, hyp)


@pytest.mark.parametrize(("slot", "label", "predicted", "right"), [
    ("budget_usd", 400000, {"low": 400000, "high": 400000}, True),
    ("budget_usd", 400000, {"low": 410000, "high": 410000}, True),  # within 5%
    ("budget_usd", 400000, {"low": 500000, "high": 500000}, False),
    ("budget_usd", 800000, {"low": None, "high": 1000000}, True),  # "under a million"
    ("budget_usd", 400000, {"low": None, "high": None}, False),
    ("budget_usd", 400000, 400000, True),
    ("budget_usd", 400000, "lots", False),
    ("timeline_months", 3, 3.0, True),
    ("timeline_months", 3, 3.5, True),
    ("timeline_months", 3, 4, False),
    ("timeline_months", 3, "soon", False),
    ("preapproved", True, True, True),
    ("preapproved", False, True, False),
    ("preapproved", True, "True", False),
    ("intent", "buy", "Buy", True),
    ("intent", "buy", "sell", False),
    ("intent", "buy", None, False),
])
def test_slot_matches(slot, label, predicted, right):
    assert slot_matches(slot, label, predicted) is right


def test_slot_accuracy_counts_only_labelled_slots():
    tallies = slot_accuracy([
        ({"intent": "buy", "timeline_months": 3}, {"intent": "buy", "timeline_months": 9, "budget_usd": 1}),
        ({"intent": "sell"}, {"intent": "buy"}),
        ({}, {"intent": "rent"}),
    ])
    assert {k: (t.right, t.labelled) for k, t in tallies.items()} == {"intent": (1, 2), "timeline_months": (0, 1)}
    assert tallies["intent"].accuracy == 0.5


def test_confusion_table_and_confidence_bins():
    table = confusion([("booked", "booked"), ("booked", "callback"), ("dnc", "dnc"), ("booked", "booked")])
    assert table == {"booked": {"booked": 2, "callback": 1}, "dnc": {"dnc": 1}}
    rows = confidence_bins([(0.2, word_errors("a b", "c d")), (0.9, word_errors("a b", "a b")),
                            (0.6, word_errors("a b", "a c")), (None, word_errors("a", "a"))])
    assert [(r["confidence"], r["turns"], r["wer"]) for r in rows] == [
        ("< 0.5", 1, 1.0), ("0.5–0.8", 1, 0.5), ("≥ 0.8", 1, 0.0), ("none", 1, 0.0)]


def _brain(first="Jane", answered_by="human"):
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml")
    return ScriptedBrain(script_config(campaign, first), answered_by=answered_by)


async def test_replay_answers_the_greeting_with_the_opening_then_follows_the_script():
    heard = ["hello", "yes this is jane", "we want to buy a house", "in about three months",
             "around four hundred thousand", "yes we are pre approved", "the first one works for me"]
    replies, slots, outcome = await replay_agent(_brain(), heard, [0.9] * len(heard))
    assert replies[0].startswith("Hi Jane, this is Ava")
    assert outcome == "booked" and len(replies) == len(heard)
    assert slots["intent"] == "buy" and slots["timeline_months"] == 3 and slots["preapproved"] is True
    assert slots["budget_usd"] == {"low": 400000, "high": 400000}


async def test_replay_known_slot_errors_from_misheard_turns():
    # the recogniser turned "three months" into "three nine": no timeline, the agent asks again
    heard = ["hello", "yes", "we want to buy a house", "in about three nine"]
    replies, slots, outcome = await replay_agent(_brain(), heard, [0.9] * len(heard))
    assert "timeline_months" not in slots and slots["intent"] == "buy"
    assert replies[-1].startswith("Sorry, I didn't quite catch that")
    assert outcome == UNCONCLUDED  # the recording ended before the agent concluded


async def test_replay_stops_at_the_reply_that_ends_the_call():
    heard = ["hello", "please do not call me again", "wait one more thing"]
    replies, _, outcome = await replay_agent(_brain("Tom"), heard, [None] * 3)
    assert outcome == "dnc" and len(replies) == 2
    replies, _, outcome = await replay_agent(_brain("Linda", "machine"), ["leave a message"], [None])
    assert outcome == "voicemail" and "call us back" in replies[0]
