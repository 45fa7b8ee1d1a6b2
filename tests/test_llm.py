"""Ollama's native chat API through the official client, against the loopback protocol double."""

import asyncio
from datetime import date
from pathlib import Path

import pytest

from reauto.agent.llm import LLMBrain
from reauto.agent.prompts import PromptTemplate
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.breaker import Breaker
from reauto.config import LlmSettings
from reauto.errors import ConfigError
from reauto.llm.ollama import LLMUnavailable, OllamaChat
from tests.fakes.ollama import FakeOllama

pytestmark = pytest.mark.integration
PROMPT = Path(__file__).resolve().parents[1] / "prompts" / "agent.txt"
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
async def fake():
    server = FakeOllama()
    await server.start()
    yield server
    await server.close()


def settings(*urls, **kw):
    return LlmSettings(hosts=list(urls), **{"first_token_timeout_s": 0.5, "timeout_s": 2.0, **kw})


# --- breaker -------------------------------------------------------------------------------------
@pytest.mark.unit
def test_breaker_opens_after_consecutive_failures_and_lets_one_trial_through():
    now = [0.0]
    b = Breaker(threshold=2, reset_s=10, clock=lambda: now[0])
    b.failure()
    assert b.allow() and b.state == "closed"
    b.failure()
    assert b.state == "open" and not b.allow()
    now[0] = 10.0
    assert b.state == "half-open" and b.allow() and not b.allow()  # one trial only
    b.failure()
    assert b.state == "open"
    now[0] = 20.0
    assert b.allow()
    b.success()
    assert b.state == "closed" and b.failures == 0


# --- the client ----------------------------------------------------------------------------------
async def test_streams_pieces_and_reads_the_final_stats_line(fake):
    chat = OllamaChat(settings(fake.url, seed=7))
    pieces = [p async for p in chat.stream(HELLO)]
    assert "".join(pieces) == fake.reply and len(pieces) > 3
    body = fake.requests[-1]
    assert body["stream"] is True and body["model"] == "llama3.2:3b" and body["keep_alive"] == "10m"
    assert body["options"] == {"temperature": 0.3, "num_ctx": 4096, "num_predict": 96, "seed": 7}
    assert chat.last.done_reason == "stop" and chat.last.eval_count == len(pieces)
    assert chat.last.first_token_ms is not None and chat.last.total_duration > 0
    await chat.warm()
    assert fake.requests[-1]["messages"] == []  # an empty chat loads the model
    await chat.close()


async def test_a_failing_host_is_retried_on_another_and_its_breaker_opens(fake):
    broken = FakeOllama(status=500)
    await broken.start()
    chat = OllamaChat(settings(broken.url, fake.url, breaker_threshold=2))
    chat.hosts[1].in_flight = 1  # make the broken host the least loaded: it is tried first
    assert await chat.complete(HELLO) == fake.reply
    chat.hosts[1].in_flight = 0
    assert chat.hosts[0].failures == 1
    chat.hosts[1].in_flight = 1
    await chat.complete(HELLO)
    chat.hosts[1].in_flight = 0
    assert chat.hosts[0].breaker.state == "open"
    before = len(broken.requests)
    for _ in range(3):
        await chat.complete(HELLO)
    assert len(broken.requests) == before  # an open breaker sends nothing there
    await chat.close()
    await broken.close()


async def test_errors_name_the_host_and_the_reason(fake):
    chat = OllamaChat(settings(fake.url, retries=0))
    fake.status = 500
    with pytest.raises(LLMUnavailable, match=r"127\.0\.0\.1:\d+: ResponseError: llama runner"):
        await chat.complete(HELLO)
    fake.status = None
    with pytest.raises(LLMUnavailable, match="not found"):
        await chat.complete(HELLO, model="nope:1b")
    fake.error_after = 2  # an error line in the middle of the stream
    with pytest.raises(LLMUnavailable, match="error was encountered"):
        await chat.complete(HELLO)
    await chat.close()
    dead = OllamaChat(settings("http://127.0.0.1:9", retries=0))
    with pytest.raises(LLMUnavailable, match="ConnectError"):
        await dead.complete(HELLO)
    await dead.close()


async def test_a_slow_first_token_or_a_stall_times_out(fake):
    chat = OllamaChat(settings(fake.url, retries=0, first_token_timeout_s=0.2, timeout_s=0.6))
    fake.ttft_s = 0.5
    with pytest.raises(LLMUnavailable, match="no first token within 0.2s"):
        await chat.complete(HELLO)
    fake.ttft_s, fake.stall_s = 0.0, 1.0
    with pytest.raises(LLMUnavailable, match="no reply within 0.6s"):
        await chat.complete(HELLO)
    await chat.close()


async def test_requests_are_balanced_and_limited_per_host(fake):
    other = FakeOllama()
    await other.start()
    fake.ttft_s = other.ttft_s = 0.05
    chat = OllamaChat(settings(fake.url, other.url, max_concurrency_per_host=2, first_token_timeout_s=1.0))
    replies = await asyncio.gather(*(chat.complete(HELLO) for _ in range(10)))
    assert all(r == fake.reply for r in replies)
    assert fake.max_in_flight <= 2 and other.max_in_flight <= 2
    assert abs(chat.hosts[0].served - chat.hosts[1].served) <= 2 and sum(h.served for h in chat.hosts) == 10
    await chat.close()
    await other.close()


async def test_a_full_queue_is_refused_at_once(fake):
    fake.ttft_s = 0.3
    chat = OllamaChat(settings(fake.url, retries=0, max_concurrency_per_host=1, queue_limit=1,
                               first_token_timeout_s=2.0))
    results = await asyncio.gather(*(chat.complete(HELLO) for _ in range(4)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, LLMUnavailable)]
    assert refused and "waiting" in str(refused[0])
    assert any(r == fake.reply for r in results)
    await chat.close()


# --- prompt template -----------------------------------------------------------------------------
@pytest.mark.unit
def test_prompt_template_is_versioned_and_checked(tmp_path):
    prompt = PromptTemplate.load(PROMPT)
    assert prompt.version == "1" and prompt.digest.startswith("1:")
    text = prompt.render(agent_name="Ava", business="Acme", lead_name="Jane", known="nothing yet",
                         next_line="When are you hoping to move?")
    assert "Ava" in text and '"When are you hoping to move?"' in text
    unversioned = tmp_path / "p.txt"
    unversioned.write_text("Hello $name\n")
    with pytest.raises(ConfigError, match=r"p.txt:1: a prompt template starts with"):
        PromptTemplate.load(unversioned)
    with pytest.raises(ConfigError, match="cannot read"):
        PromptTemplate.load(tmp_path / "missing.txt")
    odd = tmp_path / "odd.txt"
    odd.write_text("# version: 2\nHi $who\n")
    with pytest.raises(ConfigError, match=r"unknown placeholder \$who"):
        PromptTemplate.load(odd).render(name="x")
    bad = tmp_path / "bad.txt"
    bad.write_text("# version: 2\nHi $\n")
    with pytest.raises(ConfigError, match="invalid"):
        PromptTemplate.load(bad)


# --- the LLM brain -------------------------------------------------------------------------------
def brain(chat):
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", "Are you looking to buy or to sell?"),
                                     Question("timeline_months", "When are you hoping to move?")],
                          today=date(2026, 11, 24))
    return LLMBrain(ScriptedBrain(config), chat, PromptTemplate.load(PROMPT))


async def test_llm_words_the_planned_line_and_the_script_keeps_the_state(fake):
    fake.reply = "Lovely to meet you, Jane! Are you thinking of buying, or selling?"
    b = brain(OllamaChat(settings(fake.url)))
    opening = b.opening()
    assert "AI assistant" in opening.text  # the opening and its disclosures are never reworded
    reply = await b.respond("yes this is jane", 0.9)
    assert reply.text == fake.reply and reply.agent == "qualifier" and b.worded == 1
    system = fake.requests[-1]["messages"][0]
    assert system["role"] == "system" and '"Great. Are you looking to buy or to sell?"' in system["content"]
    assert fake.requests[-1]["messages"][-1] == {"role": "user", "content": "yes this is jane"}
    fake.reply = "Got it, buying. And when would you like to move?"
    await b.respond("we want to buy", 0.9)
    assert b.slots == {"intent": "buy"} and b.scripted.history[-1] == ("agent", fake.reply)
    b.interrupted("Got it")
    assert b.scripted.history[-1] == ("agent", "Got it")
    assert b.score > 0
    await b.chat.close()


async def test_a_campaigns_llm_section_sets_its_model_options_and_keep_alive(fake):
    from reauto.campaign import LlmOptions

    fake.reply = "Lovely to meet you, Jane! Are you thinking of buying, or selling?"
    own = LlmOptions(model="qwen2.5:7b", num_ctx=8192, num_gpu=0, main_gpu=1, keep_alive="1h")
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", "Are you looking to buy or to sell?")], today=date(2026, 11, 24))
    b = LLMBrain(ScriptedBrain(config), OllamaChat(settings(fake.url, seed=None)), PromptTemplate.load(PROMPT),
                 campaign_llm=own)
    b.opening()
    await b.respond("yes this is jane", 0.9)
    body = fake.requests[-1]
    assert body["model"] == "qwen2.5:7b" and body["keep_alive"] == "1h"
    assert body["options"] == {"temperature": 0.3, "num_ctx": 8192, "num_predict": 96, "num_gpu": 0, "main_gpu": 1}
    await b.chat.close()
    plain = brain(OllamaChat(settings(fake.url, seed=None)))  # no campaign section: [llm]'s own
    plain.opening()
    await plain.respond("yes this is jane", 0.9)
    body = fake.requests[-1]
    assert body["model"] == "llama3.2:3b" and body["keep_alive"] == "10m" and "num_gpu" not in body["options"]
    await plain.chat.close()
    with pytest.raises(ValueError, match="keep_alive"):
        LlmOptions(keep_alive="an hour")


async def test_the_call_goes_on_with_the_script_when_ollama_fails_mid_call(fake):
    fake.reply = "Hi Jane! Are you buying or selling?"
    b = brain(OllamaChat(settings(fake.url, retries=0, breaker_threshold=1)))
    b.opening()
    assert (await b.respond("yes", 0.9)).text == fake.reply
    fake.status = 500  # Ollama dies mid-call
    reply = await b.respond("we want to buy", 0.9)
    assert reply.text == "Okay. When are you hoping to move?" and b.fallbacks
    assert b.chat.hosts[0].breaker.state == "open"
    await b.chat.close()


async def test_a_reply_that_drops_the_question_is_not_spoken(fake):
    fake.reply = "Great, thanks!"
    b = brain(OllamaChat(settings(fake.url)))
    b.opening()
    reply = await b.respond("yes", 0.9)
    assert reply.text == "Great. Are you looking to buy or to sell?" and "did not keep the plan" in b.fallbacks[0]
    ending = await b.respond("please do not call me again", 0.9)
    assert ending.outcome == "dnc" and len(fake.requests) == 1  # endings are never sent to the LLM
    await b.chat.close()


# --- streaming, routing, cache -------------------------------------------------------------------
async def said(b, text):
    return [p async for p in b.respond_stream(text, 0.9)]


def cached_brain(chat, cache, name="Jane"):
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name=name,
                          questions=[Question("intent", "Are you looking to buy or to sell?"),
                                     Question("timeline_months", "When are you hoping to move?")],
                          today=date(2026, 11, 24))
    return LLMBrain(ScriptedBrain(config), chat, PromptTemplate.load(PROMPT), cache)


async def test_a_streamed_reply_comes_a_sentence_at_a_time_from_the_agents_model(fake):
    fake.reply = "Lovely to meet you, Jane! Are you thinking of buying, or selling?"
    fake.models = ("llama3.2:3b", "qwen2.5:1.5b")
    b = brain(OllamaChat(settings(fake.url, models={"qualifier": "qwen2.5:1.5b"})))
    b.opening()
    pieces = await said(b, "yes this is jane")
    assert [p.text for p in pieces] == ["Lovely to meet you, Jane!", "Are you thinking of buying, or selling?"]
    assert all(p.agent == "qualifier" and not p.end_call for p in pieces)
    assert fake.requests[-1]["model"] == "qwen2.5:1.5b" and b.last_request.model == "qwen2.5:1.5b"
    assert b.scripted.history[-1] == ("agent", fake.reply) and b.worded == 1 and b.last_source == "llm"
    assert b.chat.hosts[0].in_flight == 0
    ending = await said(b, "please do not call me again")
    assert len(ending) == 1 and ending[0].end_call and ending[0].outcome == "dnc"
    assert len(fake.requests) == 1  # endings are never sent to the LLM
    await b.chat.close()


async def test_a_stall_after_the_first_sentence_ends_the_turn_with_the_planned_question(fake):
    fake.reply = "Got it, Jane. And when are you hoping to move?"
    fake.stall_after, fake.stall_s = 3, 1.0  # "Got it, Jane." then nothing
    b = brain(OllamaChat(settings(fake.url, first_token_timeout_s=0.2, retries=0)))
    b.opening()
    pieces = await said(b, "yes")
    assert [p.text for p in pieces] == ["Got it, Jane.", "Are you looking to buy or to sell?"]
    assert b.scripted.history[-1] == ("agent", "Got it, Jane. Are you looking to buy or to sell?")
    assert "stalled" in b.fallbacks[0] and b.last_source == "plan" and b.worded == 0
    await b.chat.close()


@pytest.mark.parametrize(("worded", "spoken"), [
    # the question dropped: the planned question ends the turn
    ("Great, thanks! Talk soon.", ["Great, thanks!", "Talk soon.", "Are you looking to buy or to sell?"]),
    # chatter after the question is held back and dropped: the turn ends on the question
    ("Are you buying or selling? Let me know.", ["Are you buying or selling?"]),
    ("So, are you buying? Or selling? Either is fine.", ["So, are you buying?", "Or selling?"]),
    # markup is not spoken
    ("**Great**. Buying or `selling`?", ["Great.", "Buying or selling?"]),
    # no full stop within the length bound: the plan instead
    ("and " * 90, ["Great.", "Are you looking to buy or to sell?"]),
])
async def test_each_streamed_sentence_is_checked_against_the_plan(fake, worded, spoken):
    fake.reply = worded
    b = brain(OllamaChat(settings(fake.url)))
    b.opening()
    assert [p.text for p in await said(b, "yes")] == spoken
    assert b.scripted.history[-1] == ("agent", " ".join(spoken))
    assert b.chat.hosts[0].in_flight == 0
    await b.chat.close()


async def test_without_streaming_the_reply_is_one_piece(fake):
    fake.reply = "Hi Jane! Buying or selling?"
    b = brain(OllamaChat(settings(fake.url, stream=False)))
    b.opening()
    assert [p.text for p in await said(b, "yes")] == [fake.reply]
    fake.status = 500
    assert [p.text for p in await said(b, "we want to buy")] == ["Okay. When are you hoping to move?"]
    await b.chat.close()


async def test_a_cached_reply_is_spoken_without_asking_ollama_and_only_kept_replies_are_stored(fake):
    from reauto.llm.cache import MemoryReplyCache
    from tests.fakes.ollama import reword

    fake.reply = reword
    cache = MemoryReplyCache(ttl_s=60)
    first = cached_brain(OllamaChat(settings(fake.url)), cache)
    first.opening()
    spoken = [p.text for p in await said(first, "Yes, this is Jane.")]
    assert first.last_source == "llm" and len(cache) == 1 and len(fake.requests) == 1
    # another lead, another name, the same conversation: served from the cache, name filled in
    second = cached_brain(OllamaChat(settings(fake.url)), cache, name="Omar")
    second.opening()
    reply = await second.respond("yes this is omar", 0.9)
    assert second.last_source == "cache" and second.cached == 1 and len(fake.requests) == 1
    assert reply.text == reword({"messages": second.last_request.messages}) and "Omar" in reply.text
    assert " ".join(spoken) == reword({"messages": first.last_request.messages})
    # streaming serves it a sentence at a time
    third = cached_brain(OllamaChat(settings(fake.url)), cache, name="Omar")
    third.opening()
    assert " ".join(p.text for p in await said(third, "YES this is Omar!")) == reply.text
    assert len(fake.requests) == 1
    # a reply that did not keep the plan is not stored
    fake.reply = "Great, thanks!"
    await first.respond("we want to buy", 0.9)
    assert first.last_source == "plan" and len(cache) == 1
    for b in (first, second, third):
        await b.chat.close()


async def test_a_new_prompt_version_misses_the_cache(fake, tmp_path):
    from reauto.llm.cache import MemoryReplyCache

    cache = MemoryReplyCache(ttl_s=60)
    fake.reply = "Sure. Are you looking to buy, or to sell?"  # keeps the plan: stored
    b = cached_brain(OllamaChat(settings(fake.url)), cache)
    b.opening()
    await b.respond("yes", 0.9)
    v2 = tmp_path / "agent.txt"
    v2.write_text(PROMPT.read_text().replace("# version: 1", "# version: 2", 1))
    again = cached_brain(OllamaChat(settings(fake.url)), cache)
    again.prompt = PromptTemplate.load(v2)
    again.opening()
    await again.respond("yes", 0.9)
    assert again.last_source == "llm" and len(fake.requests) == 2 and len(cache) == 2
    for x in (b, again):
        await x.chat.close()


async def test_a_cache_that_is_down_never_fails_a_turn(fake, caplog):
    from reauto.llm.cache import RedisReplyCache

    cache = RedisReplyCache("redis://127.0.0.1:1/0", ttl_s=60)
    fake.reply = "Sure. Are you looking to buy, or to sell?"
    b = cached_brain(OllamaChat(settings(fake.url)), cache)
    b.opening()
    pieces = await said(b, "yes")
    assert " ".join(p.text for p in pieces) == fake.reply and b.last_source == "llm"
    assert cache.errors == 1 and cache.misses == 1 and "going on without it" in caplog.text
    await b.respond("we want to buy", 0.9)  # the cache is left alone a while: no second error
    assert cache.errors == 1 and cache.misses == 2
    await cache.close()
    await b.chat.close()


@pytest.mark.unit
def test_sentences_are_cut_where_they_end():
    from reauto.agent.sentences import SentenceSplitter, sentences

    assert sentences("Dr. Lee called. Is 3.5 ok? Great!") == ["Dr. Lee called.", "Is 3.5 ok?", "Great!"]
    splitter = SentenceSplitter()
    assert [splitter.feed(p) for p in ["Got", " it,", " Jane.", " When", " at", " 3", ".", "5", "?"]] == [
        [], [], ["Got it, Jane."], [], [], [], [], [], ["When at 3.5?"]]
    assert splitter.feed("Ask Dr.") == [] and splitter.feed(" Lee") == [] and splitter.flush() == "Ask Dr. Lee"


async def test_an_empty_reply_falls_back_to_the_plan_and_the_state_is_the_scripts(fake):
    fake.reply = ""
    b = brain(OllamaChat(settings(fake.url)))
    b.opening()
    assert (await b.respond("yes", 0.9)).text == "Great. Are you looking to buy or to sell?"
    assert [p.text for p in await said(b, "we want to buy")] == ["Okay.", "When are you hoping to move?"]
    assert b.last_source == "plan" and b.chat.hosts[0].breaker.state == "closed"
    state = b.snapshot()
    again = brain(OllamaChat(settings(fake.url)))
    again.restore(state)
    again.resume()
    assert again.slots == {"intent": "buy"} and again.scripted.history == b.scripted.history
    for x in (b, again):
        await x.chat.close()


# --- a prompt per agent --------------------------------------------------------------------------
@pytest.mark.unit
def test_agents_with_a_prompt_of_their_own_are_found_and_a_stray_file_is_an_error(tmp_path):
    from reauto.agent.prompts import load_agent_prompts

    found = load_agent_prompts(PROMPT.parent)
    assert set(found) == {"qualifier", "scheduler"} and all(p.version == "1" for p in found.values())
    assert load_agent_prompts(tmp_path) == {}  # no agents/ folder: agent.txt for all
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "negotiator.txt").write_text("# version: 1\nHi\n")
    with pytest.raises(ConfigError, match=r"negotiator.txt: no agent is called 'negotiator'"):
        load_agent_prompts(tmp_path)


async def test_each_line_is_worded_with_its_agents_prompt(fake):
    from reauto.agent.prompts import load_agent_prompts

    fake.reply = "Great, Jane! Are you looking to buy or to sell?"
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", "Are you looking to buy or to sell?")],
                          booking_slots=["Tuesday at 10 AM", "Wednesday at 2 PM"], weights={"intent": 1.0},
                          today=date(2026, 11, 24))
    agents = load_agent_prompts(PROMPT.parent)
    b = LLMBrain(ScriptedBrain(config), OllamaChat(settings(fake.url)), PromptTemplate.load(PROMPT),
                 agent_prompts=agents)
    b.opening()
    await b.respond("yes this is jane", 0.9)
    system = fake.requests[-1]["messages"][0]["content"]
    assert "asking a few questions about their home search" in system and b.last_request.prompt is agents["qualifier"]
    qualifier_key = b.last_request.keys
    fake.reply = "Perfect. Would Tuesday at 10 AM or Wednesday at 2 PM work for you?"
    await b.respond("we want to buy", 0.9)
    system = fake.requests[-1]["messages"][0]["content"]
    assert "offer exactly the days and times in that line" in system and b.last_request.prompt is agents["scheduler"]
    assert b.last_request.keys != qualifier_key
    # an agent without a file of its own, and a brain without any, use agent.txt
    plain = brain(OllamaChat(settings(fake.url)))
    plain.opening()
    await plain.respond("yes this is jane", 0.9)
    assert plain.last_request.prompt.path == PROMPT
    await b.chat.close()
    await plain.chat.close()


@pytest.mark.parametrize("stream", [False, True])
async def test_a_reply_that_asks_another_question_than_planned_is_replaced_by_the_plan(fake, stream):
    from reauto.metrics import LLM_OFF_PLAN

    before = LLM_OFF_PLAN.labels(agent="qualifier", reason="asks something else")._value.get()
    # the plan asks the intent; the model skips ahead to the timeline
    fake.reply = "Lovely to meet you, Jane! So when are you hoping to make the move?"
    b = brain(OllamaChat(settings(fake.url, stream=stream)))
    b.opening()
    pieces = await said(b, "yes this is jane")
    # streamed, the greeting was already on its way: the planned question ends the turn
    opening = "Lovely to meet you, Jane!" if stream else "Great."
    assert " ".join(p.text for p in pieces) == f"{opening} Are you looking to buy or to sell?"
    assert b.last_source == "plan" and b.fallbacks
    after = LLM_OFF_PLAN.labels(agent="qualifier", reason="asks something else")._value.get()
    assert after == before + 1
    # worded differently but asking what was planned: spoken as worded
    fake.reply = "Got it. And what kind of timeline are you working with?"
    pieces = await said(b, "we want to buy")
    assert " ".join(p.text for p in pieces) == fake.reply and b.last_source == "llm"
    await b.chat.close()
