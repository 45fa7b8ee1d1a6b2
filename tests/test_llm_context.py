"""The LLM's context window: token estimates, calibration, the budget and the running summary."""

from datetime import date
from pathlib import Path

import pytest

from reauto.agent.llm import LLMBrain
from reauto.agent.prompts import PromptTemplate
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.config import LlmSettings
from reauto.llm.context import MESSAGE_OVERHEAD, TokenCounter, Window, counter_for, fit, summarise
from reauto.llm.ollama import OllamaChat
from tests.fakes.ollama import FakeOllama, reword

PROMPT = Path(__file__).resolve().parents[1] / "prompts" / "agent.txt"


def history(turns):
    out = []
    for i in range(turns):
        out.append(("agent", f"Question number {i}: what else should I know about your plans, item {i}?"))
        out.append(("lead", f"answer {i} is that we would like a yard and a quiet street near the park"))
    return out


@pytest.mark.unit
def test_estimates_take_the_larger_of_characters_and_words():
    counter = TokenCounter()
    assert counter.estimate("a b c d e f") == 8  # 6 words × 4/3 beats 11 characters / 4
    assert counter.estimate("internationalisation") == 5  # 20 characters / 4 beats 1 word
    assert counter.estimate("") == 0
    assert counter.messages([{"role": "user", "content": "a b c"}]) == 4 + MESSAGE_OVERHEAD


@pytest.mark.unit
def test_calibration_follows_the_counts_ollama_reports():
    counter = TokenCounter()
    messages = [{"role": "user", "content": "one two three four five six seven eight nine"}]
    raw = counter.messages(messages)
    counter.calibrate(messages, None)
    counter.calibrate(messages, 0)
    assert counter.factor == 1.0 and counter.samples == 0
    counter.calibrate(messages, raw * 2)
    assert counter.factor == pytest.approx(2.0) and counter.messages(messages) == pytest.approx(raw * 2, abs=1)
    counter.calibrate(messages, raw)  # one report moves the factor only part of the way
    assert counter.factor == pytest.approx(2.0 + counter.alpha * (1.0 - 2.0), rel=1e-3) and counter.samples == 2
    factor = counter.factor
    counter.calibrate(messages, raw * 100)
    counter.calibrate(messages, 3)  # a reused prompt prefix: only the new tokens were evaluated
    assert counter.factor == factor and counter.samples == 2
    assert counter_for("model-a") is counter_for("model-a") and counter_for("model-a") is not counter_for("b")


@pytest.mark.unit
def test_a_history_that_fits_is_sent_as_it_is():
    counter = TokenCounter()
    turns = history(2)
    window = fit(turns, 1024, counter)
    assert window == Window("", tuple(turns), 0, window.tokens) and window.tokens > 0
    assert [m["role"] for m in window.messages()] == ["assistant", "user", "assistant", "user"]


@pytest.mark.unit
def test_overflow_folds_the_oldest_turns_into_a_bounded_summary():
    counter = TokenCounter()
    turns = history(20)
    window = fit(turns, 256, counter)
    assert window.tokens <= 256 and window.folded == len(turns) - len(window.turns) > 0
    assert window.turns == tuple(turns[window.folded:])  # the newest turns, verbatim
    assert window.summary.startswith("Earlier in this call (summary): …;")
    assert 'the lead said "answer' in window.summary and 'you asked "Question number' in window.summary
    newest_folded = turns[window.folded - 1][1]
    assert newest_folded.split()[0] in window.summary  # the most recent folded turn is kept
    assert counter.estimate(window.summary) + MESSAGE_OVERHEAD <= 256 // 4
    assert window.messages()[0] == {"role": "system", "content": window.summary}


@pytest.mark.unit
def test_the_summary_keeps_the_leads_words_and_the_agents_questions():
    counter = TokenCounter()
    turns = [("agent", "Hi, this is Ava. Are you buying or selling?"), ("lead", "buying"),
             ("agent", "Okay."), ("lead", " ".join(["word"] * 40))]
    text = summarise(turns, 200, counter)
    assert text == ('Earlier in this call (summary): you asked "Are you buying or selling?"; the lead said '
                    f'"buying"; the lead said "{" ".join(["word"] * 16)}…".')
    assert summarise(turns, 5, counter) == ""
    assert summarise([], 100, counter) == ""


async def test_a_long_call_sends_a_summary_and_keeps_the_slots_in_the_system_prompt():
    fake = FakeOllama(reply=reword)
    await fake.start()
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", "Are you looking to buy or to sell?"),
                                     Question("timeline_months", "When are you hoping to move?"),
                                     Question("budget_usd", "What budget do you have in mind?"),
                                     Question("preapproved", "Are you already pre-approved for a mortgage?")],
                          today=date(2026, 11, 24))
    chat = OllamaChat(LlmSettings(hosts=[fake.url], context_tokens=128, model="tiny:1b"))
    fake.models = ("tiny:1b",)
    brain = LLMBrain(ScriptedBrain(config), chat, PromptTemplate.load(PROMPT))
    brain.opening()
    chatter = " and honestly we have been talking about it for quite a while now with the kids and the dog"
    for said in ("yes this is jane", "we want to buy", "in about three months", "around four hundred thousand"):
        await brain.respond(said + chatter * 2, 0.9)
    request = brain.last_request
    assert request.window.folded > 0 and request.window.tokens <= 128
    system = request.messages[0]["content"]
    assert "intent = buy" in system and "timeline_months = 3" in system and "budget_usd" in system  # kept
    assert request.messages[1]["content"].startswith("Earlier in this call (summary):")
    assert fake.requests[-1]["messages"] == request.messages
    assert counter_for("tiny:1b").samples == 4  # each reply's prompt_eval_count calibrated it
    await chat.close()
    await fake.close()
