"""scripts/make_eval_set.py: the committed set as it is, and generated sets from a corpus.

The generated calls are checked against the agent's flow by an independent walk through each
call.yaml (lead turn, agent reply, lead turn …) with the corpus's meaning of every sentence:
questions in the campaign's order, one already answered skipped, one answered without its value
asked once more, side questions answered and the same question asked again, the booking offer
exactly when the true slots score enough, and an outcome that follows from the last turn.
"""

import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from reauto.agent.scoring import score_slots
from reauto.agent.scripted.script import ENDINGS
from reauto.campaign import load_campaign
from reauto.eval.recordings import load_set

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = load_campaign(ROOT / "campaigns" / "demo.yaml")
QUESTIONS = [(q.slot, q.text) for q in CAMPAIGN.questions]
JANE = "we want to buy a house"  # a demo persona's answer (campaigns/demo.yaml): never spoken


def _script():
    spec = importlib.util.spec_from_file_location("make_eval_set", ROOT / "scripts" / "make_eval_set.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_eval_set"] = module
    spec.loader.exec_module(module)
    return module


make_eval_set = _script()
from evalset.dialogue import Planner  # noqa: E402  (importable once the script put scripts/ on the path)
from evalset.corpus import Pools, persona_sentences, read_entries  # noqa: E402
from reauto.dialer.assembly import script_config  # noqa: E402


@dataclass(frozen=True)
class Entry:
    text: str
    context: str
    split: str
    expect: dict[str, Any]


def E(text: str, context: str, split: str = "dev", **expect: Any) -> Entry:  # noqa: N802
    return Entry(text, context, split, expect)


CORPUS = [
    E("yes you've got her", "identity", intents=["affirm"]),
    E("speaking go on", "identity", intents=["affirm"]),
    E("yes and we plan to sell in two months", "identity", intents=["affirm"], intent="sell", timeline_months=2),
    E("she isn't in", "identity", intents=["deny"]),
    E("jane here go ahead", "identity", intents=["affirm"]),
    E("nobody by that name lives here", "identity", intents=["wrong_number"]),
    E("buying for sure", "intent", intent="buy"),
    E("selling the old place", "intent", intent="sell"),
    E("buying a condo within three months", "intent", intent="buy", timeline_months=3),
    E("hard to say", "intent", vague=True),
    E("we're done looking thanks", "intent", intents=["not_interested"]),
    E(JANE, "intent", intent="buy"),
    E("in a month or so", "timeline_months", timeline_months=1),
    E("a year from now", "timeline_months", timeline_months=12),
    E("no idea honestly", "timeline_months", timeline_months=None, vague=True),
    E("four hundred grand", "budget_usd", budget_usd=400000),
    E("between two and three hundred thousand", "budget_usd", budget_usd={"low": 200000, "high": 300000}),
    E("six hundred thousand and the bank already approved us", "budget_usd", budget_usd=600000, preapproved=True),
    E("we rent for fifteen hundred now", "budget_usd", rent_monthly=1500),
    E("yes fully approved", "preapproved", preapproved=True, intents=["affirm"]),
    E("not yet no", "preapproved", preapproved=False, intents=["deny"]),
    E("the first one", "booking", booking={"accept": "first"}),
    E("make it the second", "booking", booking={"accept": "second"}),
    E("either one", "booking", booking={"accept": "either"}),
    E("neither maybe friday morning", "booking", booking={"accept": "none", "propose": {"day": "friday"}}),
    E("never call me again", "any", intents=["dnc"]),
    E("we're not in the market", "any", intents=["not_interested"]),
    E("try me tomorrow evening", "any", intents=["callback_request"]),
    E("i want a real agent on the line", "any", intents=["human_request"]),
    E("is this a robot talking", "any", intents=["robot_question"]),
    E("come again please", "any", intents=["repeat_request"]),
    E("wrong person sorry", "any", intents=["wrong_number"]),
    E("i do not consent to a recording", "any", intents=["recording_objection"]),
    E("yes that's right", "identity", "train", intents=["affirm"]),  # the other split: never in dev calls
]
MEANING = {e.text: e.expect for e in CORPUS}


@pytest.fixture
def corpus(monkeypatch):
    """The tiny corpus above in place of the reauto.corpus package."""
    module = types.ModuleType("reauto.corpus")
    module.entries = lambda context=None, split=None: [  # type: ignore[attr-defined]
        e for e in CORPUS if (split is None or e.split == split) and (context is None or e.context == context)]
    monkeypatch.setitem(sys.modules, "reauto.corpus", module)
    return CORPUS


# --- an independent check of a call's flow ---------------------------------------------------------
def question(slot: str) -> str:
    return dict(QUESTIONS)[slot]


def slots_of(text: str) -> dict[str, Any]:
    exp = MEANING[text]
    return {k: exp[k] for k, _ in QUESTIONS if exp.get(k) is not None}


def label(slot: str, value: Any) -> Any:
    if slot == "budget_usd" and isinstance(value, dict):
        return (value["low"] + value["high"]) / 2
    return value


def check_flow(turns: list[dict[str, Any]], labels: dict[str, Any], lead: dict[str, str],
               answered_by: str = "human") -> str:
    """Walk one call as the agent's rules say it goes; returns the last step ("booked", "dnc" …)."""
    pairs = []
    for turn in turns:
        if turn["speaker"] == "lead":
            pairs.append([turn["text"], ""])
        else:
            pairs[-1][1] = turn["text"]
    if answered_by == "machine":
        assert len(pairs) == 1 and labels == {"outcome": "voicemail"}
        return "voicemail"
    hello, opening = pairs[0]
    first = lead["name"].split()[0]
    assert hello not in MEANING and opening.startswith(f"Hi {first},") and opening.endswith(f"Is this {first}?")
    said = [w for text, _ in pairs[1:] for w in text.split()]
    assert "jane" not in said or first == "Jane"  # the lead is who the corpus's sentences name
    if first.lower() in hello.split():  # "this is rosa": only from the one asked for
        assert not any("wrong_number" in (MEANING[t].get("intents") or ()) for t, _ in pairs[1:])
    known: dict[str, Any] = {}
    stage, last_agent = "identity", opening
    asked: set[str] = set()
    retried: set[str] = set()
    for i, (text, agent) in enumerate(pairs[1:], 1):
        assert text in MEANING and text != JANE and text != "yes that's right"
        intents = set(MEANING[text].get("intents") or ())
        assert "recording_objection" not in intents
        final = i == len(pairs) - 1
        before, last_agent = last_agent, agent
        ending = next((k for k in ENDINGS if k in intents), None)
        if ending:
            assert final and agent == ENDINGS[ending][0] and labels["outcome"] == ENDINGS[ending][1]
            break
        if "repeat_request" in intents:
            assert agent == before
            continue
        for k, v in slots_of(text).items():
            assert known.setdefault(k, v) == v, "an answer contradicts an earlier one"
        if "robot_question" in intents:
            assert agent.startswith("Yes, I'm an AI assistant") and not slots_of(text)
            if stage != "identity":
                assert agent.endswith(question(stage) if stage != "booking" else "work for you?")
                continue
        elif stage == "identity" and "deny" in intents and "affirm" not in intents:
            # not there, or no time: called back another time
            assert final and agent == f"No problem, I'll try {first} another time. Thanks, and goodbye."
            assert labels["outcome"] == "callback" and not slots_of(text)
            break
        elif stage == "identity":
            pass  # who they are: the questions start
        elif stage == "booking":
            accept = MEANING[text]["booking"]["accept"]
            assert final and labels["outcome"] == ("booked" if accept != "none" else "callback")
            break
        else:
            assert before.endswith(question(stage))
            if stage not in known and stage not in retried:
                retried.add(stage)
                assert agent == f"Sorry, I didn't quite catch that. {question(stage)}"
                continue
            asked.add(stage)
        nxt = next((s for s, _ in QUESTIONS if s not in known and s not in asked), None)
        if nxt is not None:
            assert agent.endswith(question(nxt)), (agent, nxt)
            stage = nxt
        elif score_slots(known, CAMPAIGN.scoring) >= CAMPAIGN.booking.book_threshold:
            assert "Would Tuesday at 10 AM or Wednesday at 2 PM work for you?" in agent
            stage = "booking"
        else:
            assert final and agent.endswith("Goodbye.") and labels["outcome"] == "callback"
            break
    else:
        raise AssertionError("the call ends without an ending, a booking answer or a close")
    assert {k: v for k, v in labels.items() if k != "outcome"} == {k: label(k, v) for k, v in known.items()}
    return labels["outcome"]


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, dtype=np.int16).astype(float) ** 2)))


# --- tests ------------------------------------------------------------------------------------------
@pytest.mark.unit
def test_planned_calls_follow_the_agents_flow_and_cover_every_ending(corpus):
    pools = Pools(read_entries("dev"), [s.name for s in CAMPAIGN.slots], persona_sentences(ROOT))
    assert pools.excluded == 2  # the persona's sentence and the recording objection
    planner = Planner(pools, script_config(CAMPAIGN, None))
    outcomes, steps, firsts = set(), set(), set()
    for n in range(400):
        d = planner.plan(np.random.default_rng([7, n]), n)
        turns = [t for turn in d.turns for t in ({"speaker": "lead", "text": turn.text},
                                                 {"speaker": "agent", "text": turn.agent})]
        outcomes.add(check_flow(turns, d.labels(), d.lead, d.answered_by))
        steps.update(d.steps)
        firsts.add(d.lead["name"].split()[0])
    assert outcomes == {"booked", "callback", "dnc", "not_interested", "bad_number", "voicemail"}
    assert {"robot_question", "repeat_request", "human_request", "callback_request", "booking", "unavailable"} <= steps
    assert "Jane" in firsts and len(firsts) > 10


@pytest.mark.integration
def test_generated_calls_load_follow_the_flow_and_repeat_byte_for_byte(corpus, tmp_path):
    # seed 8's three calls: flite, espeak-ng and Piper; turn times given and left to the VAD
    first = make_eval_set.generate(tmp_path / "a", 3, "dev", 8, jobs=1)
    second = make_eval_set.generate(tmp_path / "b", 3, "dev", 8, jobs=2)
    assert first == second == ["dev-0001", "dev-0002", "dev-0003"]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 7  # lead.wav and call.yaml per call, generated.yaml
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel

    calls, problems = load_set(tmp_path / "a")  # as `reauto eval` reads them
    assert problems == [] and len(calls) == 3
    for call in calls:
        doc = yaml.safe_load((call.path / "call.yaml").read_text(encoding="utf-8"))
        check_flow(doc["turns"], doc["labels"], doc["lead"], doc.get("answered_by", "human"))
        assert call.spec.labels.outcome == doc["labels"]["outcome"]
        assert call.seconds > 2 and len(call.lead_turns) == len([t for t in doc["turns"] if t["speaker"] == "lead"])
        if call.timed:  # each given turn holds speech, louder than the pause just before it
            for turn in call.lead_turns:
                assert rms(call.segment(turn.start, turn.end)) > 1.2 * rms(call.segment(turn.start - 0.25,
                                                                                         turn.start - 0.05))
    header = (tmp_path / "a" / "dev-0001" / "call.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# Generated by scripts/make_eval_set.py --split dev --seed 8 (call 1): ")
    assert "SNR" in header and "dBFS" in header
    manifest = yaml.safe_load((tmp_path / "a" / "generated.yaml").read_text(encoding="utf-8"))
    assert manifest["engines"] == {"espeak": 1, "flite": 1, "piper": 1} and manifest["excluded"] == 2
    assert {c.timed for c in calls} == {True, False}
    other = make_eval_set.generate(tmp_path / "c", 1, "dev", 9, jobs=1)
    a_wav = (tmp_path / "a" / first[0] / "lead.wav").read_bytes()
    assert (tmp_path / "c" / other[0] / "lead.wav").read_bytes() != a_wav


@pytest.mark.integration
def test_the_committed_set_is_written_as_committed(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["make_eval_set.py", str(tmp_path)])
    make_eval_set.main()
    committed = ROOT / "tests" / "data" / "eval"
    names = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in names:
        assert (tmp_path / rel).read_bytes() == (committed / rel).read_bytes(), rel
