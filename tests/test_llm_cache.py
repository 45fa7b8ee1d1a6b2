"""The LLM reply cache: keys, the lead's name, the semantic layer, both backends, failures."""

import pytest

from reauto.config import LlmSettings, RedisSettings
from reauto.llm.cache import (
    MAX_GROUP,
    MemoryReplyCache,
    RedisReplyCache,
    cache_keys,
    cosine,
    features,
    name_free,
    normalise,
    reply_cache_for,
)
from reauto.metrics import CACHE_REQUESTS

SYSTEM = {"role": "system", "content": 'You are speaking with Jane.\n"When are you hoping to move?"'}
OPENING = {"role": "assistant", "content": "Hi Jane, this is Ava. Is this Jane?"}


def chat(said, system=SYSTEM):
    return [system, OPENING, {"role": "user", "content": said}]


def counted(agent, result):
    return CACHE_REQUESTS.labels(kind=f"llm_{agent}", result=result)._value.get()


@pytest.mark.unit
@pytest.mark.parametrize(("text", "normal"), [
    ("Yes, we're pre-approved!", "yes we're pre approved"),
    ("  IN about   three months. ", "in about three months"),
    ("'quoted' words", "quoted words"),
    ("", ""),
])
def test_normalise_drops_case_spacing_and_punctuation(text, normal):
    assert normalise(text) == normal


@pytest.mark.unit
def test_keys_follow_the_normalised_context_model_prompt_and_name():
    base = cache_keys("llama3.2:3b", "1:abc", chat("Yes, we want to BUY."), "Jane")
    assert base == cache_keys("llama3.2:3b", "1:abc", chat("yes we want to buy"), "Jane")
    assert base.lead == "yes we want to buy"
    assert base.exact != cache_keys("llama3.2:3b", "2:abc", chat("yes we want to buy"), "Jane").exact
    assert base.exact != cache_keys("qwen2.5:1.5b", "1:abc", chat("yes we want to buy"), "Jane").exact
    other = cache_keys("llama3.2:3b", "1:abc", chat("yes we want to sell"), "Jane")
    assert other.exact != base.exact and other.group == base.group  # same context before the lead's turn
    omar = [{"role": "system", "content": 'You are speaking with Omar.\n"When are you hoping to move?"'},
            {"role": "assistant", "content": "Hi Omar, this is Ava. Is this Omar?"},
            {"role": "user", "content": "yes we want to buy"}]
    assert cache_keys("llama3.2:3b", "1:abc", omar, "Omar") == base  # the name is neutral
    assert cache_keys("llama3.2:3b", "1:abc", omar, None) != base
    assert cache_keys("m", "d", [], None).lead == ""


@pytest.mark.unit
@pytest.mark.parametrize(("reply", "name", "template"), [
    ("Got it, Jane. When are you moving?", "Jane", "Got it, {lead}. When are you moving?"),
    ("Got it. When are you moving?", "Jane", "Got it. When are you moving?"),
    ("Thanks. Will that work, Will?", "Will", None),  # the name starts a sentence
    ("Great, Will, we will call.", "Will", None),  # the name is also a word here
    ("Anything works.", None, "Anything works."),
])
def test_the_leads_name_is_taken_out_of_stored_replies_only_when_unambiguous(reply, name, template):
    assert name_free(reply, name) == template


@pytest.mark.unit
def test_lexical_similarity():
    a, b = features("yes we are pre approved"), features("yeah we are pre approved")
    assert 0.6 < cosine(a, b) < 1.0
    assert cosine(a, a) == pytest.approx(1.0)
    assert cosine(a, features("in about three months")) < 0.2
    assert not features("") and cosine(a, features("")) == 0.0


async def test_memory_cache_exact_hits_fill_in_the_name_and_count_per_agent():
    cache = MemoryReplyCache(ttl_s=60)
    keys = cache_keys("m", "1:x", chat("yes"), "Jane")
    before = counted("qualifier", "miss"), counted("qualifier", "hit")
    assert await cache.get(keys, agent="qualifier", name="Jane") is None
    assert await cache.put(keys, "Got it, Jane. When are you hoping to move?", name="Jane")
    found = await cache.get(keys, agent="qualifier", name="Omar")
    assert found.text == "Got it, Omar. When are you hoping to move?" and found.result == "hit"
    assert (counted("qualifier", "miss"), counted("qualifier", "hit")) == (before[0] + 1, before[1] + 1)
    assert (cache.hits, cache.misses, cache.semantic_hits) == (1, 1, 0)
    assert not await cache.put(keys, "Will that work?", name="Will")  # ambiguous name: not stored
    assert await cache.get(cache_keys("m", "1:x", chat("no"), "Jane"), agent="", name=None) is None
    await cache.close()


async def test_memory_cache_expires_and_evicts_the_least_recently_used():
    now = [0.0]
    cache = MemoryReplyCache(ttl_s=10, max_entries=2, clock=lambda: now[0])
    a, b, c = (cache_keys("m", "1:x", chat(said), None) for said in ("a", "b", "c"))
    for key in (a, b):
        await cache.put(key, f"reply {key.lead}")
    assert (await cache.get(a, agent="q")).text == "reply a"  # a is now the most recent
    await cache.put(c, "reply c")
    assert len(cache) == 2 and await cache.get(b, agent="q") is None
    await cache.put(c, "reply c again")
    assert (await cache.get(c, agent="q")).text == "reply c again" and len(cache) == 2
    now[0] = 11.0
    assert await cache.get(a, agent="q") is None and len(cache) == 1
    await cache.clear()
    assert len(cache) == 0 and await cache._group(c.group) == []
    with pytest.raises(ValueError):
        MemoryReplyCache(ttl_s=1, max_entries=0)


async def test_the_semantic_layer_reuses_a_similar_lead_turn_in_the_same_context():
    cache = MemoryReplyCache(ttl_s=60, semantic_threshold=0.6)
    stored = cache_keys("m", "1:x", chat("yes we are pre approved"), "Jane")
    await cache.put(stored, "Good to know, Jane. What budget do you have in mind?", name="Jane")
    before = counted("qualifier", "semantic_hit")
    near = cache_keys("m", "1:x", chat("yeah we are pre approved"), "Jane")
    found = await cache.get(near, agent="qualifier", name="Jane")
    assert found.result == "semantic_hit" and 0.6 <= found.similarity < 1 and found.text.startswith("Good to know, Jane")
    assert counted("qualifier", "semantic_hit") == before + 1 and cache.semantic_hits == 1
    assert await cache.get(cache_keys("m", "1:x", chat("not yet"), "Jane"), agent="qualifier") is None
    elsewhere = [{"role": "system", "content": '"What budget do you have in mind?"'}, OPENING,
                 {"role": "user", "content": "yeah we are pre approved"}]
    assert await cache.get(cache_keys("m", "1:x", elsewhere, "Jane"), agent="qualifier") is None
    exact_only = MemoryReplyCache(ttl_s=60)
    await exact_only.put(stored, "Good to know.")
    assert await exact_only.get(near, agent="qualifier") is None


async def test_a_group_keeps_a_bounded_number_of_lead_turns():
    cache = MemoryReplyCache(ttl_s=60, semantic_threshold=0.5)
    for i in range(MAX_GROUP + 3):
        await cache.put(cache_keys("m", "1:x", chat(f"answer number {i}"), None), f"reply {i}")
    keys = cache_keys("m", "1:x", chat("answer number 0 please"), None)
    assert len(await cache._group(keys.group)) == MAX_GROUP


async def test_redis_cache_is_shared_expires_and_has_a_semantic_layer(redis_settings):
    settings = LlmSettings(cache_ttl_s=60, cache_semantic_threshold=0.6)
    one, two = reply_cache_for(settings, redis_settings), reply_cache_for(settings, redis_settings)
    assert isinstance(one, RedisReplyCache) and one.prefix == redis_settings.key_prefix + "llm:"
    keys = cache_keys("m", "1:x", chat("yes we are pre approved"), "Jane")
    assert await one.put(keys, "Good to know, Jane. What budget do you have in mind?", name="Jane")
    found = await two.get(keys, agent="qualifier", name="Omar")  # another worker
    assert found.text == "Good to know, Omar. What budget do you have in mind?" and found.result == "hit"
    near = cache_keys("m", "1:x", chat("yeah we are pre approved"), "Jane")
    assert (await two.get(near, agent="qualifier", name="Jane")).result == "semantic_hit"
    ttl = await one._client.pttl(one.prefix + keys.exact)
    assert 0 < ttl <= 60_000 and 0 < await one._client.pttl(f"{one.prefix}g:{keys.group}") <= 60_000
    stale = RedisReplyCache(redis_settings.url, ttl_s=60, semantic_threshold=0.6, key_prefix=redis_settings.key_prefix)
    stale.ttl_s = -1  # every group entry is older than this
    assert await stale.get(near, agent="qualifier") is None
    await one.clear()
    assert await two.get(keys, agent="qualifier") is None and not await one._client.keys(one.prefix + "*")
    for cache in (one, two, stale):
        await cache.close()


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_entries_stored_without_their_group_are_only_found_exactly(backend, redis_settings):
    settings = LlmSettings(cache_ttl_s=60, cache_semantic_threshold=0.5)
    cache = reply_cache_for(settings, redis_settings if backend == "redis" else RedisSettings())
    keys = cache_keys("m", "2:extract", chat("somewhere in the mid fours"), None)
    assert await cache.put(keys, '{"budget_usd": 1}', semantic=False)
    assert (await cache.get(keys, agent="extraction", semantic=False)).text == '{"budget_usd": 1}'
    near = cache_keys("m", "2:extract", chat("somewhere in the mid fives"), None)
    assert await cache.get(near, agent="extraction") is None  # not offered to similar turns
    assert not await cache._group(keys.group)
    await cache.put(keys, '{"budget_usd": 2}')  # the same words stored for the semantic layer too
    assert await cache.get(near, agent="extraction", semantic=False) is None
    assert (await cache.get(near, agent="extraction")).result == "semantic_hit"
    await cache.clear()
    await cache.close()


async def test_a_redis_cache_that_is_down_is_a_miss_and_left_alone_a_while(caplog):
    cache = RedisReplyCache("redis://127.0.0.1:1/0", ttl_s=60, timeout_s=0.2)
    keys = cache_keys("m", "1:x", chat("yes"), None)
    before = counted("scheduler", "miss")
    assert await cache.get(keys, agent="scheduler") is None
    assert cache.errors == 1 and counted("scheduler", "miss") == before + 1
    assert "LLM reply cache (redis) lookup failed" in caplog.text
    assert not await cache.put(keys, "Sure.")  # skipped while the breaker is open
    assert await cache.get(keys, agent="scheduler") is None and cache.errors == 1
    cache._breaker.reset_s = 0.0  # the pause is over: the next store is tried, and fails
    assert not await cache.put(keys, "Sure.") and cache.errors == 2
    await cache.close()


@pytest.mark.unit
def test_the_settings_pick_the_backend():
    assert reply_cache_for(LlmSettings(cache=False), RedisSettings()) is None
    memory = reply_cache_for(LlmSettings(cache_ttl_s=5, cache_semantic_threshold=0.8), RedisSettings())
    assert isinstance(memory, MemoryReplyCache) and memory.ttl_s == 5 and memory.semantic_threshold == 0.8
