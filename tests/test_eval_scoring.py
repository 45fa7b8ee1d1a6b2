"""Scores of ``reauto eval``: known WER cases, slot comparison, outcome confusion, agent replay."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reauto.agent.scripted.brain import ScriptedBrain
from reauto.campaign import load_campaign
from reauto.dialer.assembly import script_config
from reauto.eval.runner import UNCONCLUDED, replay_agent
from reauto.eval.scoring import (
    NO_ERRORS,
    WordErrors,
    confidence_bins,
    confusion,
    opt_outs,
    slot_accuracy,
    slot_confusion,
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


def test_slot_confusion_matrices_and_number_counts():
    pairs = [
        ({"intent": "buy", "budget_usd": 400000, "preapproved": True},
         {"intent": "buy", "budget_usd": {"low": 410000, "high": 410000}, "preapproved": False}),
        ({"intent": "buy", "budget_usd": 400000, "timeline_months": 3}, {"intent": "sell", "timeline_months": 9}),
        ({"intent": "sell"}, {}),
        ({}, {"intent": "rent", "budget_usd": 300000, "location": "austin"}),  # nothing labelled: all spurious
        ({}, {}),
    ]
    table = slot_confusion(pairs, ("intent", "timeline_months", "budget_usd", "preapproved"))
    assert list(table) == ["budget_usd", "intent", "preapproved", "timeline_months"]
    assert table["intent"] == {"kind": "category", "matrix": {
        "buy": {"buy": 1, "sell": 1}, "sell": {"(none)": 1}, "(none)": {"rent": 1}}}
    assert table["preapproved"] == {"kind": "category", "matrix": {"true": {"false": 1}}}
    assert table["budget_usd"] == {"kind": "number", "right": 1, "wrong": 0, "missing": 1, "spurious": 1,
                                   "labelled": 2, "unlabelled": 3}
    assert table["timeline_months"] == {"kind": "number", "right": 0, "wrong": 1, "missing": 0, "spurious": 0,
                                        "labelled": 1, "unlabelled": 4}
    # every labelled call lands in exactly one cell
    n_intent = sum(n for row in table["intent"]["matrix"].values() for n in row.values())
    assert n_intent == 4 and "location" not in table


def test_opt_out_recall_and_false_opt_outs():
    got = opt_outs([("tom", "dnc", "dnc"), ("ann", "dnc", "callback"), ("bob", "booked", "dnc"),
                    ("eve", None, "dnc"), ("sam", "not_interested", "not_interested")])
    assert got == {"labelled": 2, "predicted": 1, "recall": 0.5, "false_opt_outs": 1, "false_opt_out_calls": ["bob"]}
    assert opt_outs([("sam", "booked", "booked")])["recall"] is None


def _brain(first="Jane", answered_by="human"):
    campaign = load_campaign(ROOT / "campaigns" / "demo.yaml")
    return ScriptedBrain(script_config(campaign, first), answered_by=answered_by)


async def test_replay_answers_the_greeting_with_the_opening_then_follows_the_script():
    heard = ["hello", "yes this is jane", "we want to buy a house", "in about three months",
             "around four hundred thousand", "yes we are pre approved", "the first one works for me"]
    agent = await replay_agent(_brain(), heard, [0.9] * len(heard))
    assert agent.replies[0].startswith("Hi Jane, this is Ava")
    assert agent.outcome == "booked" and len(agent.replies) == len(heard)
    slots = agent.slots
    assert slots["intent"] == "buy" and slots["timeline_months"] == 3 and slots["preapproved"] is True
    assert slots["budget_usd"] == {"low": 400000, "high": 400000}
    # what each turn told the agent: nothing from the greeting, then the slot each answer gives
    assert agent.understood[0] == {} and agent.understood[2] == {"intent": "buy", "property_type": "house"}
    assert agent.understood[3] == {"timeline_months": 3}
    assert agent.understood[4] == {"budget_usd": {"low": 400000, "high": 400000}}
    assert agent.understood[5] == {"preapproved": True, "financing": "mortgage"}  # pre-approved: a mortgage
    merged = {k: v for turn in agent.understood if turn for k, v in turn.items()}
    assert {k: merged[k] for k in ("intent", "timeline_months", "budget_usd", "preapproved")} == {
        k: slots[k] for k in ("intent", "timeline_months", "budget_usd", "preapproved")}


async def test_replay_known_slot_errors_from_misheard_turns():
    # the recogniser turned "three months" into "three nine": no timeline, the agent asks again
    heard = ["hello", "yes", "we want to buy a house", "in about three nine"]
    agent = await replay_agent(_brain(), heard, [0.9] * len(heard))
    assert "timeline_months" not in agent.slots and agent.slots["intent"] == "buy"
    assert agent.replies[-1].startswith("Sorry, I didn't quite catch that")
    assert "timeline_months" not in agent.understood[-1]  # the misheard answer gave no timeline
    assert agent.outcome == UNCONCLUDED  # the recording ended before the agent concluded


async def test_replay_stops_at_the_reply_that_ends_the_call():
    heard = ["hello", "please do not call me again", "wait one more thing"]
    agent = await replay_agent(_brain("Tom"), heard, [None] * 3)
    assert agent.outcome == "dnc" and len(agent.replies) == 2
    assert agent.understood[2] is None  # the call was over before the last turn
    agent = await replay_agent(_brain("Linda", "machine"), ["leave a message"], [None])
    assert agent.outcome == "voicemail" and "call us back" in agent.replies[0]


@pytest.mark.parametrize(("day", "months"), [("2026-01-10", 2), ("2026-10-01", 5), (None, None)])
async def test_the_agent_judges_relative_answers_from_the_day_of_the_call(tmp_path, day, months):
    from datetime import date

    from reauto.cli.eval_cmd import scripted_brain
    from reauto.eval.recordings import load_call
    from reauto.audio.codec import write_wav

    doc = {"campaign": "demo", "lead": {"name": "Jane Doe"},
           "turns": [{"speaker": "lead", "text": "hello", "start": 0.1, "end": 0.5}]}
    if day is not None:
        doc["date"] = day
    (tmp_path / "call.yaml").write_text(yaml.safe_dump(doc))
    write_wav(tmp_path / "lead.wav", b"\x00\x00" * 16000, rate=16000)
    call = load_call(tmp_path)
    assert call.spec.date == (date.fromisoformat(day) if day else None)
    brain = scripted_brain(load_campaign(ROOT / "campaigns" / "demo.yaml"), call)
    if day is None:  # the day the brain was made
        assert abs((brain.config.today - date.today()).days) <= 1
    agent = await replay_agent(brain, ["hello", "yes", "we want to buy", "in march"], [0.9] * 4)
    # "in march" is two months after January, five after October; without a date: from today
    expected = months if months is not None else (3 - brain.config.today.month) % 12 or 12
    assert agent.understood[3] == {"timeline_months": pytest.approx(expected, abs=0.5)}  # to mid-March
