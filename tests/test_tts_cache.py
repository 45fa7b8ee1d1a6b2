"""The fixed-phrase audio cache and the cached provider wrapper."""

from __future__ import annotations

import pytest

from reauto.tts.cache import AudioCache, CachedAudio, CachedTTS
from tests.fakes import FakeTTS

pytestmark = pytest.mark.unit

GREETING = "Hi, this is Joe from Sunrise Realty, calling about your home search."


async def speak(tts: CachedTTS, text: str) -> bytes:
    return b"".join([chunk async for chunk in tts.synthesize(text)])


async def test_hit_serves_identical_audio_without_the_provider() -> None:
    inner = FakeTTS([b"\x01\x00" * 100, b"\x02\x00" * 100], name="piper")
    inner.voice = "joe"  # type: ignore[attr-defined]
    cache = AudioCache()
    tts = CachedTTS(inner, cache)
    await tts.start()
    assert tts.name == "piper" and tts.voice == "joe" and tts.key(GREETING) == ("piper", "joe", GREETING)
    first = await speak(tts, GREETING)
    second = await speak(tts, GREETING)
    assert first == second and inner.calls == [GREETING]
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    await tts.close()
    assert inner.closed


async def test_only_listed_phrases_are_cached_and_warm_fills_them() -> None:
    inner = FakeTTS()
    tts = CachedTTS(inner, AudioCache(), voice="v", phrases=[GREETING])
    await tts.warm([GREETING])
    await speak(tts, GREETING)
    await speak(tts, "Something else.")
    await speak(tts, "Something else.")
    assert inner.calls == [GREETING, "Something else.", "Something else."]


async def test_failed_or_empty_utterances_are_not_cached() -> None:
    cache = AudioCache()
    broken = CachedTTS(FakeTTS(fail_at=1), cache, voice="v")
    with pytest.raises(RuntimeError):
        await speak(broken, GREETING)
    await speak(CachedTTS(FakeTTS([]), cache, voice="v"), GREETING)
    assert len(cache) == 0


async def test_rate_change_misses() -> None:
    cache = AudioCache()
    inner = FakeTTS()
    tts = CachedTTS(inner, cache, voice="v")
    await speak(tts, GREETING)
    inner.sample_rate = 8_000  # same key, other rate: speak again rather than serve wrong audio
    await speak(tts, GREETING)
    assert len(inner.calls) == 2


def test_lru_eviction_by_bytes() -> None:
    cache = AudioCache(max_bytes=10)
    a, b, c = (("p", "v", t) for t in "abc")
    cache.put(a, CachedAudio(b"1234", 16_000))
    cache.put(b, CachedAudio(b"1234", 16_000))
    assert cache.get(a) is not None  # a is now the most recent
    cache.put(c, CachedAudio(b"1234", 16_000))  # evicts b
    assert cache.get(b) is None and cache.get(a) is not None and cache.get(c) is not None
    cache.put(a, CachedAudio(b"12", 16_000))  # replacing keeps the byte count right
    assert cache.size_bytes == 6
    cache.put(("p", "v", "huge"), CachedAudio(b"x" * 11, 16_000))  # larger than the cache
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.size_bytes == 0
    with pytest.raises(ValueError):
        AudioCache(0)


async def test_a_call_waits_for_the_warm_up_instead_of_synthesising_again() -> None:
    import asyncio

    inner = FakeTTS([b"\x01\x00" * 100, b"\x02\x00" * 100], delay_s=0.05)
    tts = CachedTTS(inner, AudioCache())
    warming = asyncio.create_task(tts.warm([GREETING]))
    await asyncio.sleep(0.01)  # the warm-up is half way through when the lead says hello
    spoken = await speak(tts, GREETING)
    await warming
    assert inner.calls == [GREETING] and spoken == b"\x01\x00" * 100 + b"\x02\x00" * 100


async def test_a_failed_warm_up_leaves_the_call_to_synthesise_itself() -> None:
    import asyncio

    inner = FakeTTS(fail_at=1, delay_s=0.02)
    tts = CachedTTS(inner, AudioCache())
    warming = asyncio.create_task(tts.warm([GREETING]))
    await asyncio.sleep(0.005)
    with pytest.raises(RuntimeError):  # the call's own attempt (this engine always fails)
        await speak(tts, GREETING)
    with pytest.raises(RuntimeError):
        await warming
    assert inner.calls == [GREETING, GREETING] and len(tts.cache) == 0
