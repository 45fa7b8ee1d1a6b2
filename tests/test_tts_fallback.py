"""FallbackTTS: the local tier speaks the same utterance when the premium one cannot start."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from reauto.tts.base import TTSProvider
from reauto.tts.fallback import FallbackTTS, TtsOutcome, resampled
from tests.fakes import FakeTTS

pytestmark = pytest.mark.unit

PREMIUM_AUDIO = [b"\x10\x00" * 800, b"\x20\x00" * 800]
LOCAL_AUDIO = [b"\x30\x00" * 1_000, b"\x40\x00" * 1_000]


def pair(**premium_kwargs: object) -> tuple[FakeTTS, FakeTTS, FallbackTTS, list[TtsOutcome]]:
    options: dict[str, object] = {"chunks": PREMIUM_AUDIO, **premium_kwargs}
    premium = FakeTTS(tier="premium", name="elevenlabs", **options)  # type: ignore[arg-type]
    local = FakeTTS(LOCAL_AUDIO, name="piper")
    outcomes: list[TtsOutcome] = []
    return premium, local, FallbackTTS(premium, local, 0.2, on_outcome=outcomes.append), outcomes


async def speak(tts: TTSProvider, text: str = "Hello there.") -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


async def test_primary_speaks_when_healthy() -> None:
    premium, local, tts, outcomes = pair()
    await tts.start()
    assert await speak(tts) == PREMIUM_AUDIO and local.calls == []
    (outcome,) = outcomes
    assert (outcome.provider, outcome.tier, outcome.reason, outcome.error) == (
        "elevenlabs", "premium", "primary", None)
    assert outcome.premium_characters == len("Hello there.") and not outcome.fell_back
    assert outcome.audio_s == pytest.approx(3_200 / 2 / 16_000)
    assert outcome.first_chunk_s is not None and outcome.text_chars == 12
    await tts.close()
    assert premium.closed and local.closed


@pytest.mark.parametrize(
    ("kwargs", "reason", "error"),
    [
        ({"fail_at": 0}, "primary_error", "RuntimeError: fake TTS failure"),
        ({"delay_s": 5.0}, "primary_timeout", "no audio before the first-byte timeout"),
        ({"chunks": []}, "primary_empty", None),
        ({"chunks": [b"", b""]}, "primary_empty", None),
        ({"chunks": [b""], "fail_at": 1}, "primary_error", "RuntimeError: fake TTS failure"),
    ],
)
async def test_fallback_speaks_the_same_utterance(kwargs: dict[str, object], reason: str,
                                                  error: str | None) -> None:
    premium, local, tts, outcomes = pair(**kwargs)
    started = time.perf_counter()
    assert await speak(tts, "Is now a good time?") == LOCAL_AUDIO
    assert time.perf_counter() - started < 1.0
    assert premium.calls == local.calls == ["Is now a good time?"]
    (outcome,) = outcomes
    assert (outcome.provider, outcome.tier, outcome.reason, outcome.error) == (
        "piper", "local", reason, error)
    assert outcome.fell_back and tts.last_outcome is outcome


async def test_a_primary_that_keeps_failing_is_skipped_until_its_breaker_lets_a_trial_through() -> None:
    premium, local, tts, outcomes = pair(delay_s=5.0)  # ElevenLabs stalls: each try costs the timeout
    tts.breaker.reset_s = 0.3
    for _ in range(3):
        assert await speak(tts) == LOCAL_AUDIO
    assert tts.breaker.state == "open" and len(premium.calls) == 3
    started = time.perf_counter()
    assert await speak(tts) == LOCAL_AUDIO
    assert time.perf_counter() - started < 0.15  # no wait on the timeout: the local voice at once
    assert len(premium.calls) == 3 and outcomes[-1].reason == "primary_breaker_open" and outcomes[-1].fell_back
    premium.delay_s = 0.0  # it recovers; after the reset one utterance tries it again
    await asyncio.sleep(0.35)
    assert await speak(tts) == PREMIUM_AUDIO and tts.breaker.state == "closed" and len(premium.calls) == 4


async def test_primary_failing_mid_stream_is_not_repeated_by_the_fallback() -> None:
    premium, local, tts, outcomes = pair(fail_at=1, exception=ConnectionError("reset"))
    got: list[bytes] = []
    with pytest.raises(ConnectionError):
        async for chunk in tts.synthesize("Hello."):
            got.append(chunk)
    assert got == PREMIUM_AUDIO[:1] and local.calls == []
    (outcome,) = outcomes
    assert outcome.reason == "primary_broke" and outcome.provider == "elevenlabs"
    assert outcome.error == "ConnectionError: reset" and not outcome.fell_back


async def test_fallback_audio_is_resampled_to_the_primary_rate() -> None:
    premium = FakeTTS(fail_at=0, tier="premium", sample_rate=16_000)
    tone = (8_000 * np.sin(np.arange(22_050) / 3.0)).astype(np.int16).tobytes()
    local = FakeTTS([tone[:20_000], tone[20_000:]], sample_rate=22_050)
    tts = FallbackTTS(premium, local, 0.5)
    pcm = b"".join(await speak(tts))
    assert tts.sample_rate == 16_000
    assert abs(len(pcm) / 2 - 16_000) <= 64  # one second either way
    assert tts.last_outcome is not None and tts.last_outcome.audio_s == pytest.approx(len(pcm) / 32_000)


async def test_primary_that_cannot_start_leaves_turns_to_the_fallback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    premium, local, tts, _ = pair(start_error=RuntimeError("no network"), fail_at=0)
    await tts.start()
    assert local.started and "failed to start" in caplog.text
    assert await speak(tts) == LOCAL_AUDIO


async def test_both_failing_raises_the_fallback_error() -> None:
    premium = FakeTTS(fail_at=0, tier="premium")
    local = FakeTTS(fail_at=0, exception=OSError("flite missing"))
    tts = FallbackTTS(premium, local, 0.2)
    with pytest.raises(OSError, match="flite missing"):
        await speak(tts)


async def test_resampled_passes_through_and_drops_empty_chunks() -> None:
    async def chunks() -> object:
        for chunk in (b"", b"\x01\x00" * 10, b""):
            yield chunk

    assert [c async for c in resampled(chunks(), 16_000, 16_000)] == [b"\x01\x00" * 10]  # type: ignore[arg-type]
    out = b"".join([c async for c in resampled(chunks(), 16_000, 8_000)])  # type: ignore[arg-type]
    assert 0 < len(out) <= 12
