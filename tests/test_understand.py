"""Slot extraction by the LLM: the JSON-schema request, checking what comes back, merging it into the flow."""

import asyncio
import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from reauto.agent.extract import SlotValue
from reauto.agent.llm import LLMBrain, LLMParts
from reauto.agent.prompts import PromptTemplate
from reauto.agent.numbers.money import MoneyRange
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.agent.understand import (
    CONFIDENCE, Facts, SlotExtractor, SlotSpec, extraction_schema, grounded, slot_specs,
)
from reauto.campaign import load_campaign
from reauto.config import LlmSettings
from reauto.llm.cache import MemoryReplyCache
from reauto.llm.ollama import OllamaChat
from reauto.metrics import LLM_EXTRACTIONS
from tests.fakes.ollama import FakeOllama, reword

ROOT = Path(__file__).resolve().parents[1]
PROMPT = ROOT / "prompts" / "agent.txt"
EXTRACT = ROOT / "prompts" / "extract.txt"
DEMO = ROOT / "campaigns" / "demo.yaml"
SPECS = [SlotSpec("intent", "enum", ("buy", "sell", "rent")), SlotSpec("timeline_months", "months"),
         SlotSpec("budget_usd", "money", asked="What budget do you have in mind?"),
         SlotSpec("preapproved", "bool"), SlotSpec("location", "text")]


def extractor(chat=None, specs=SPECS):
    return SlotExtractor(chat or OllamaChat(LlmSettings()), PromptTemplate.load(EXTRACT), specs)


def read(raw, said):
    facts = Facts()
    extractor().read(raw if isinstance(raw, str) else json.dumps(raw), said, facts)
    return facts


def counted(result):
    return LLM_EXTRACTIONS.labels(result=result)._value.get()


# --- the schema ----------------------------------------------------------------------------------
@pytest.mark.unit
def test_the_schema_comes_from_the_campaigns_slots_and_is_a_valid_json_schema():
    campaign = load_campaign(DEMO)
    specs = slot_specs(campaign)
    assert [s.name for s in specs] == ["intent", "timeline_months", "budget_usd", "preapproved"]
    assert specs[2].type == "money" and specs[2].asked == "What budget do you have in mind?"
    schema = extraction_schema(specs)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["intent"]["properties"]["value"] == {"type": "string", "enum": ["buy", "sell", "rent"]}
    assert "required" not in schema and schema["additionalProperties"] is False  # unstated facts are left out
    # nothing stated is a valid answer; a slot the campaign does not have is not
    jsonschema.validate({}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"age": {"value": "40", "quote": "i am forty"}}, schema)


@pytest.mark.unit
def test_question_slots_a_campaign_does_not_declare_get_the_known_types():
    campaign = load_campaign(DEMO).model_copy(update={"slots": []})
    campaign.questions.append(type(campaign.questions[0])(slot="favourite_colour", text="Which colour?"))
    types = {s.name: (s.type, s.values) for s in slot_specs(campaign)}
    assert types["intent"] == ("enum", ("buy", "sell", "rent")) and types["budget_usd"] == ("money", ())
    assert types["favourite_colour"] == ("text", ())


@pytest.mark.unit
def test_the_prompt_names_the_question_and_describes_every_slot():
    messages = extractor().messages("somewhere in the mid fours", question="What budget do you have in mind?",
                                    agent_name="Ava", business="Acme Realty", today=date(2026, 11, 24))
    system = messages[0]["content"]
    assert 'The assistant had just said: "What budget do you have in mind?"' in system
    assert "- intent: one of buy, sell, rent" in system and "today is 2026-11-24" in system
    assert '- budget_usd (asked as "What budget do you have in mind?"): an amount in US dollars' in system
    assert messages[1] == {"role": "user", "content": "somewhere in the mid fours"}


# --- checking what the model wrote ----------------------------------------------------------------
@pytest.mark.unit
@pytest.mark.parametrize(("answer", "said", "slots"), [
    ({"budget_usd": {"value": {"low": 425000, "high": 475000}, "quote": "somewhere in the mid fours"}},
     "somewhere in the mid fours", {"budget_usd": MoneyRange(425000, 475000)}),
    # "four fifty" for a house: the thousands are implied, as the rules read them
    ({"budget_usd": {"value": {"low": 450, "high": 450}, "quote": "four fifty"}}, "maybe four fifty tops",
     {"budget_usd": MoneyRange(450000, 450000)}),
    ({"budget_usd": {"value": {"low": None, "high": 600000}, "quote": "no more than six"}},
     "no more than six", {"budget_usd": MoneyRange(None, 600000)}),
    ({"budget_usd": {"value": {"low": 500000, "high": 400000}, "quote": "four or five"}}, "four or five",
     {"budget_usd": MoneyRange(400000, 500000)}),  # ends in the wrong order are put right
    ({"timeline_months": {"value": 7.04, "quote": "before the kids start school"}},
     "we'd like to be in before the kids start school", {"timeline_months": 7.0}),
    ({"preapproved": {"value": True, "quote": "the bank gave us our letter"}},
     "Yeah, the bank gave us our letter last week.", {"preapproved": True}),
    ({"location": {"value": "  near  the lake ", "quote": "near the lake"}}, "somewhere near the lake",
     {"location": "near the lake"}),
    ({"intent": {"value": "sell", "quote": "get rid of"}, "preapproved": {"value": False, "quote": "nope"}},
     "we need to get rid of our place", {"intent": "sell"}),  # the second quote was never said
])
def test_values_that_fit_their_slot_and_were_said_are_taken(answer, said, slots):
    facts = read(answer, said)
    assert {k: v.value for k, v in facts.slots.items()} == slots
    assert all(v.confidence == CONFIDENCE for v in facts.slots.values()) and facts.result == "filled"


@pytest.mark.unit
@pytest.mark.parametrize(("raw", "said", "why"), [
    ("{'budget': 4", "four hundred", "not JSON"),
    ({"intent": {"value": "invest", "quote": "invest"}}, "we want to invest", "intent/value: 'invest' is not one of"),
    ({"timeline_months": {"value": 600, "quote": "fifty years"}}, "in fifty years", "timeline_months/value: 600"),
    ({"budget_usd": {"value": 400000, "quote": "four hundred"}}, "four hundred", "budget_usd/value: 400000 is not of"),
    ({"gender": {"value": "female", "quote": "i"}}, "i", "Additional properties are not allowed"),
    ({"budget_usd": {"value": {"low": 3, "high": 4}}}, "three four", "budget_usd: 'quote' is a required"),
])
def test_a_reply_that_breaks_the_schema_is_refused_whole(raw, said, why):
    facts = read(raw, said)
    assert facts.result == "refused" and not facts.slots and why in facts.refused[0]


@pytest.mark.unit
def test_made_up_or_impossible_values_are_refused_and_the_rest_kept():
    facts = read({"budget_usd": {"value": {"low": 400000, "high": 400000}, "quote": "around four hundred thousand"},
                  "timeline_months": {"value": 3, "quote": "in about three months"}},
                 "we're hoping to move in about three months")
    assert {k: v.value for k, v in facts.slots.items()} == {"timeline_months": 3.0}
    assert facts.refused == ["budget_usd: quote 'around four hundred thousand' is not what the lead said"]
    facts = read({"budget_usd": {"value": {"low": None, "high": None}, "quote": "no idea"}}, "no idea")
    assert facts.result == "refused" and facts.refused == ["budget_usd: no amount"]
    facts = read({"budget_usd": {"value": {"low": 5e9, "high": 5e9}, "quote": "five billion"}}, "five billion")
    assert facts.result == "refused" and "is not a house price" in facts.refused[0]
    facts = read({"location": {"value": "   ", "quote": "there"}}, "there")
    assert facts.refused == ["location: empty"]
    assert read({}, "hmm let me think").result == "empty"


@pytest.mark.unit
@pytest.mark.parametrize(("quote", "said", "ok"), [
    ("about three months", "In about three months, I think.", True),
    ("Pre-approved", "we're pre approved already", True),
    ("we got pre approved last week yes", "we got pre approved yes", False),  # 5 of 7 words
    ("", "anything", False),
    ("four hundred thousand", "four hundred", False),
])
def test_a_quote_must_be_the_leads_own_words(quote, said, ok):
    assert grounded(quote, said) is ok


# --- the request, against the Ollama double ---------------------------------------------------------
@pytest.fixture
async def fake():
    server = FakeOllama(models=("llama3.2:3b", "qwen2.5:0.5b"))
    await server.start()
    yield server
    await server.close()


def settings(url, **kw):
    return LlmSettings(hosts=[url], **{"first_token_timeout_s": 0.5, "timeout_s": 2.0, **kw})


@pytest.mark.integration
async def test_the_request_carries_the_schema_as_format_at_temperature_0_on_the_extraction_model(fake):
    fake.extract = {"budget_usd": {"value": {"low": 425000, "high": 475000}, "quote": "mid fours"}}
    chat = OllamaChat(settings(fake.url, models={"extraction": "qwen2.5:0.5b"}, seed=3))
    ex = extractor(chat)
    filled = counted("filled")
    facts = await ex.extract("somewhere in the mid fours", question="What budget do you have in mind?",
                             agent_name="Ava", business="Acme Realty", today=date(2026, 11, 24))
    assert facts.slots == {"budget_usd": SlotValue(MoneyRange(425000, 475000), CONFIDENCE)}
    body = fake.requests[-1]
    assert body["model"] == "qwen2.5:0.5b" and body["format"] == ex.schema
    assert body["options"]["temperature"] == 0.0 and body["options"]["num_predict"] == 256
    assert body["options"]["seed"] == 3 and body["options"]["num_ctx"] == 4096  # the rest from the settings
    assert counted("filled") == filled + 1
    await chat.close()


@pytest.mark.integration
async def test_a_failed_request_or_silence_reads_nothing(fake):
    chat = OllamaChat(settings(fake.url, retries=0))
    ex = extractor(chat)
    assert (await ex.extract("  ", question="", agent_name="Ava", business="Acme", today=date.today())).result == "empty"
    assert not fake.requests  # nothing said, nothing asked
    fake.status = 500
    facts = await ex.extract("mid fours", question="", agent_name="Ava", business="Acme", today=date.today())
    assert facts.result == "failed" and "500" in facts.refused[0] and not facts.slots
    await chat.close()


@pytest.mark.integration
async def test_the_double_answers_format_requests_as_constrained_decoding_would(fake):
    chat = OllamaChat(settings(fake.url, retries=0))
    schema = extraction_schema(SPECS)
    messages = [{"role": "user", "content": "hi"}]
    assert json.loads(await chat.complete(messages, format=schema)) == {}  # nothing stated
    fake.extract = lambda body: {"intent": {"value": "buy", "quote": body["messages"][-1]["content"]}}
    assert json.loads(await chat.complete(messages, format=schema))["intent"]["quote"] == "hi"
    fake.extract = {"intent": {"value": "invest", "quote": "hi"}}  # a broken test table fails loudly
    with pytest.raises(Exception, match="500"):
        await chat.complete(messages, format=schema)
    assert "'invest' is not one of" in fake.errors[0]
    with pytest.raises(Exception, match="400"):  # a schema Ollama cannot compile
        await chat.complete(messages, format={"type": "no such type"})
    fake.extract = "{not json"
    assert await chat.complete(messages, format="json") == "{not json"
    await chat.close()


@pytest.mark.integration
async def test_an_accepted_reading_is_cached_for_the_same_words_to_the_same_question_only(fake):
    said = "somewhere in the mid fours"
    fake.extract = lambda body: ({"budget_usd": {"value": {"low": 425000, "high": 475000}, "quote": "mid fours"}}
                                 if "fours" in body["messages"][-1]["content"] else
                                 {"budget_usd": {"value": {"low": 5e5, "high": 6e5}, "quote": "not said"}})
    chat = OllamaChat(settings(fake.url))
    cache = MemoryReplyCache(ttl_s=60, semantic_threshold=0.5)  # similar turns may share worded replies
    ex = SlotExtractor(chat, PromptTemplate.load(EXTRACT), SPECS, cache)
    budget = "What budget do you have in mind?"

    async def read_(text, question=budget, today=date(2026, 11, 24)):
        return await ex.extract(text, question=question, agent_name="Ava", business="Acme Realty", today=today)

    first = await read_(said)
    again = await read_("Somewhere in the mid-fours.")  # the same words as the recogniser may spell them
    assert len(extraction_requests(fake)) == 1 and again.cached and not first.cached
    assert again.slots == first.slots == {"budget_usd": SlotValue(MoneyRange(425000, 475000), CONFIDENCE)}
    await read_(said, question="When are you hoping to move?")  # another question: asked
    await read_(said, today=date(2026, 11, 25))  # another day (timelines count from it): asked
    assert len(extraction_requests(fake)) == 3
    for _ in range(2):  # a refused reading is not kept, nor is a similar turn's reading reused
        refused = await read_("somewhere in the mid fives")
        assert refused.result == "refused" and not refused.cached
    assert len(extraction_requests(fake)) == 5
    await chat.close()


# --- in the conversation ------------------------------------------------------------------------------
def brain(fake, **kw):
    chat = OllamaChat(settings(fake.url, **kw))
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", "Are you looking to buy or to sell?"),
                                     Question("timeline_months", "When are you hoping to move?"),
                                     Question("budget_usd", "What budget do you have in mind?")],
                          today=date(2026, 11, 24))
    parts = LLMParts(chat, PromptTemplate.load(PROMPT), None, PromptTemplate.load(EXTRACT))
    ex = SlotExtractor(chat, parts.extract_prompt, SPECS)
    return LLMBrain(ScriptedBrain(config), chat, parts.prompt, None, ex)


def facts_for(table):
    """A model that knows the answers to some lead turns (the rest: nothing stated)."""
    def answer(body):
        return table.get(body["messages"][-1]["content"], {})
    return answer


def extraction_requests(fake):
    return [r for r in fake.requests if r.get("format")]


UNREAD = "we would like to be in before the baby arrives"
UNREAD_FACTS = {UNREAD: {"timeline_months": {"value": 9, "quote": "before the baby arrives"}}}


@pytest.mark.integration
async def test_an_answer_the_rules_cannot_read_is_read_by_the_llm_instead_of_asked_again(fake):
    fake.reply = reword
    fake.extract = facts_for(UNREAD_FACTS)
    b = brain(fake, stream=False)
    b.opening()
    await b.respond("yes this is jane", 0.9)
    await b.respond("we want to buy", 0.9)
    reply = await b.respond(UNREAD, 0.9)
    assert b.slots["timeline_months"] == 9 and b.scripted.values["timeline_months"].confidence == CONFIDENCE
    assert "budget" in b.scripted.history[-1][1] and "didn't quite catch" not in reply.text
    last = extraction_requests(fake)[-1]
    assert last["messages"][-1]["content"] == UNREAD and "When are you hoping to move?" in last["messages"][0]["content"]
    await b.settle()
    assert len(b.read) == 3 and not b._reading
    # the rules alone ask again
    rules = ScriptedBrain(b.scripted.config)
    rules.opening()
    await rules.respond("yes this is jane", 0.9)
    await rules.respond("we want to buy", 0.9)
    assert "didn't quite catch" in (await rules.respond(UNREAD, 0.9)).text
    await b.chat.close()


@pytest.mark.integration
async def test_a_fact_said_in_passing_fills_its_slot_and_its_question_is_skipped(fake):
    said = "yes this is jane and we could go to about half a mil"
    fake.extract = facts_for({said: {"budget_usd": {"value": {"low": 500000, "high": 500000},
                                                    "quote": "about half a mil"}}})
    fake.reply = lambda body: "Great. Are you looking to buy or to sell?"
    b = brain(fake)
    b.opening()
    [p async for p in b.respond_stream(said, 0.9)]
    await b.settle()  # read beside the wording, after the plan
    assert b.slots == {"budget_usd": {"low": 500000, "high": 500000}}
    fake.reply = lambda body: "Got it. When are you hoping to move?"
    [p async for p in b.respond_stream("we want to buy", 0.9)]
    fake.reply = lambda body: "Thanks, that's everything."
    plan = await b.scripted.respond("in about three months", 0.9)
    assert "budget" not in plan.text and plan.end_call  # the budget question was never asked
    await b.chat.close()


@pytest.mark.integration
async def test_the_rules_win_and_a_late_reading_only_fills_what_is_still_empty(fake):
    said = "we want to buy a place in about three months"
    fake.extract = facts_for({said: {"intent": {"value": "rent", "quote": "a place"},
                                     "timeline_months": {"value": 12, "quote": "in about three months"},
                                     "location": {"value": "a place", "quote": "a place"}}})
    b = brain(fake)
    b.opening()
    await b.respond("yes this is jane", 0.9)
    await b.respond(said, 0.9)
    await b.settle()
    assert b.slots["intent"] == "buy" and b.slots["timeline_months"] == 3 and b.slots["location"] == "a place"
    await b.chat.close()


@pytest.mark.integration
async def test_a_slow_reading_does_not_hold_the_turn_and_still_reaches_the_slots(fake):
    fake.ttft_s = 0.4
    fake.extract = facts_for(UNREAD_FACTS)
    b = brain(fake, extract_timeout_s=0.05, first_token_timeout_s=1.0, stream=False)
    b.opening()
    b.scripted.agent, b.scripted._index = "qualifier", 1
    late = counted("late")
    await b.respond(UNREAD, 0.9)
    assert "didn't quite catch" in b.scripted._last and counted("late") == late + 1  # the plan asks again
    await b.settle()
    assert b.slots["timeline_months"] == 9  # stored with the call all the same
    await b.chat.close()


@pytest.mark.integration
async def test_with_ollama_down_the_rules_carry_on(fake):
    fake.status = 500
    b = brain(fake, retries=0)
    b.opening()
    b.scripted.agent, b.scripted._index = "qualifier", 1
    reply = await b.respond(UNREAD, 0.9)
    assert "didn't quite catch" in reply.text
    await b.settle()
    assert b.read[-1].result == "failed" and "timeline_months" not in b.slots
    await b.chat.close()


@pytest.mark.integration
async def test_missing_mode_asks_only_when_the_rules_cannot_read_and_off_never(fake):
    fake.extract = facts_for(UNREAD_FACTS)
    b = brain(fake, extract="missing")
    b.opening()
    await b.respond("yes this is jane", 0.9)
    await b.respond("we want to buy", 0.9)
    assert not extraction_requests(fake)  # the rules read both
    await b.respond(UNREAD, 0.9)
    assert len(extraction_requests(fake)) == 1 and b.slots["timeline_months"] == 9
    off = brain(fake, extract="off")
    off.opening()
    await off.respond("yes this is jane", 0.9)
    await off.respond(UNREAD, 0.9)
    await off.settle()
    assert len(extraction_requests(fake)) == 1
    await b.chat.close()
    await off.chat.close()


@pytest.mark.integration
async def test_no_reading_while_booking_and_settle_cancels_what_hangs(fake):
    fake.stall_s, fake.stall_after = 1.0, 1
    fake.extract = {"location": {"value": "austin", "quote": "austin"}}
    b = brain(fake, extract_timeout_s=0.05)
    b.opening()
    b.scripted.agent = "scheduler"
    assert b._reader("tuesday works") is None
    b.scripted.agent = "greeter"
    more = b._reader("yes in austin")
    assert more is not None and len(b._reading) == 1
    await asyncio.sleep(0)
    await b.settle()
    assert not b._reading and "location" not in b.slots  # cancelled, not waited for
    await b.chat.close()
