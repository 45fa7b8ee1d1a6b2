"""ElevenLabs streaming against the loopback double (tests/fakes/elevenlabs.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from reauto.audio.codec import rms_dbfs
from reauto.config import ElevenLabsSettings, TtsSettings
from reauto.providers import ProviderUnavailable
from reauto.tts.elevenlabs import ElevenLabsError, ElevenLabsTTS, error_from_response
from reauto.tts.fallback import FallbackTTS
from reauto.tts.flite import FliteTTS
from tests.fakes.elevenlabs import FakeElevenLabs

pytestmark = pytest.mark.integration

TEXT = "Hi, this is Joe from Sunrise Realty. Do you have a minute to talk about your home search?"


@pytest.fixture
async def fake() -> AsyncIterator[FakeElevenLabs]:
    async with FakeElevenLabs() as server:
        yield server


def client(fake: FakeElevenLabs, **kwargs: object) -> ElevenLabsTTS:
    options: dict[str, object] = {"base_url": fake.url, "first_byte_timeout_s": 1.0}
    options.update(kwargs)
    return ElevenLabsTTS(fake.api_key, fake.voice_id, **options)  # type: ignore[arg-type]


async def speak(tts: ElevenLabsTTS, text: str = TEXT) -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


async def test_streams_pcm_and_reads_the_character_cost(fake: FakeElevenLabs) -> None:
    fake.chunk_bytes, fake.chunk_delay_s = 16_001, 0.01  # odd sizes split samples across chunks
    tts = client(fake, voice_settings={"stability": 0.5, "similarity_boost": 0.75})
    await tts.start()
    chunks = await speak(tts)
    await tts.close()
    assert len(chunks) > 5 and all(len(c) % 2 == 0 for c in chunks)
    pcm = b"".join(chunks)
    assert 3.0 < len(pcm) / 2 / tts.sample_rate < 9.0 and rms_dbfs(pcm) > -35
    assert tts.last_character_cost == len(TEXT)
    assert tts.last_request_id and len(tts.last_request_id) == 32
    seen = fake.requests[-1]
    assert seen.output_format == "pcm_16000" and seen.key_valid
    assert seen.body == {"text": TEXT, "model_id": "eleven_flash_v2_5",
                         "voice_settings": {"stability": 0.5, "similarity_boost": 0.75}}


async def test_ulaw_for_telephony(fake: FakeElevenLabs) -> None:
    tts = client(fake, output_format="ulaw_8000")
    pcm = b"".join(await speak(tts))
    await tts.close()
    assert tts.sample_rate == 8_000 and rms_dbfs(pcm) > -35
    assert 3.0 < len(pcm) / 2 / 8_000 < 9.0


async def test_settings_and_key_hygiene(fake: FakeElevenLabs, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = TtsSettings(premium="elevenlabs", elevenlabs=ElevenLabsSettings(
        api_key="sk_wrong_secret", voice_id=fake.voice_id, base_url=fake.url + "/"))
    tts = ElevenLabsTTS.from_settings(settings)
    assert tts.base_url == fake.url and "sk_wrong_secret" not in repr(tts)
    with pytest.raises(ElevenLabsError) as info:
        await speak(tts)
    await tts.close()
    assert info.value.status == 401 and info.value.code == "invalid_api_key"
    assert info.value.category == "authentication" and not info.value.retryable
    assert "sk_wrong_secret" not in str(info.value) and "sk_wrong_secret" not in caplog.text


@pytest.mark.parametrize("status", [429, 401])
async def test_quota_exceeded(fake: FakeElevenLabs, status: int) -> None:
    fake.quota_status = status
    tts = client(fake)
    with pytest.raises(ElevenLabsError, match="quota") as info:
        await speak(tts)
    await tts.close()
    assert (info.value.status, info.value.category, info.value.retryable) == (status, "quota", False)


async def test_stall_before_first_byte_times_out(fake: FakeElevenLabs) -> None:
    fake.stall_s = 5.0
    tts = client(fake, first_byte_timeout_s=0.3)
    started = time.perf_counter()
    with pytest.raises(ElevenLabsError, match="no audio within") as info:
        await speak(tts)
    await tts.close()
    assert time.perf_counter() - started < 1.0 and info.value.category == "timeout"


async def test_empty_audio_yields_nothing_but_is_billed(fake: FakeElevenLabs) -> None:
    fake.empty = True
    tts = client(fake)
    assert await speak(tts) == []
    await tts.close()
    assert tts.last_character_cost == len(TEXT)


async def test_request_errors_and_blank_text(fake: FakeElevenLabs) -> None:
    tts = ElevenLabsTTS(fake.api_key, "unknown-voice", base_url=fake.url)
    with pytest.raises(ElevenLabsError, match="voice_not_found") as info:
        await speak(tts)
    assert info.value.category == "request"
    assert await speak(tts, "  ") == [] and len(fake.requests) == 1
    await tts.close()
    await tts.close()


async def test_double_validates_the_body_like_the_api(fake: FakeElevenLabs) -> None:
    url = f"{fake.url}/v1/text-to-speech/{fake.voice_id}/stream"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"model_id": "m"}, headers={"xi-api-key": fake.api_key}) as r:
            assert r.status == 422
            error = error_from_response(r.status, await r.read())
        async with session.post(url + "?output_format=opus_48000_64", json={"text": "hi"},
                                headers={"xi-api-key": fake.api_key}) as r:
            assert r.status == 400
        async with session.post(url, data=b"not json", headers={"xi-api-key": fake.api_key}) as r:
            assert r.status == 422
    assert error.code == "validation_error" and "body.text: Field required" in str(error)


async def test_unreachable_server() -> None:
    tts = ElevenLabsTTS("sk_x", "voice", base_url="http://127.0.0.1:9", connect_timeout_s=0.5)
    with pytest.raises(ElevenLabsError, match="unreachable") as info:
        await speak(tts)
    await tts.close()
    assert info.value.category == "connection" and info.value.retryable


async def test_stream_breaking_after_audio(fake: FakeElevenLabs) -> None:
    fake.chunk_bytes, fake.chunk_delay_s = 8_000, 0.5
    tts = client(fake, read_timeout_s=0.1)
    got = []
    with pytest.raises(ElevenLabsError, match="broke after the first audio"):
        async for chunk in tts.synthesize(TEXT):
            got.append(chunk)
    await tts.close()
    assert got


@pytest.mark.unit
@pytest.mark.parametrize(
    ("status", "body", "category", "retryable", "code"),
    [
        (429, b'{"detail":{"status":"too_many_concurrent_requests","message":"busy"}}',
         "rate_limit", True, "too_many_concurrent_requests"),
        (500, b"Internal Server Error", "server", True, "http_500"),
        (408, b"", "request", True, "http_408"),
        (400, b'{"detail": "plain"}', "request", False, "http_400"),
    ],
)
def test_error_classification(status: int, body: bytes, category: str, retryable: bool, code: str) -> None:
    error = error_from_response(status, body)
    assert (error.category, error.retryable, error.code, error.status) == (category, retryable, code, status)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"api_key": ""}, "tts.elevenlabs.api_key"), ({"voice_id": ""}, "tts.elevenlabs.voice_id"),
     ({"output_format": "mp3_44100_128"}, "output format")],
)
def test_configuration_errors(kwargs: dict[str, str], message: str) -> None:
    args = {"api_key": "sk", "voice_id": "v", **kwargs}
    with pytest.raises(ProviderUnavailable, match=message):
        ElevenLabsTTS(args.pop("api_key"), args.pop("voice_id"), **args)


@pytest.mark.parametrize("mode", ["quota", "stall", "empty", "bad_key"])
async def test_premium_failures_fall_back_to_local_within_the_timeout(
    fake: FakeElevenLabs, mode: str
) -> None:
    if mode == "quota":
        fake.quota_status = 429
    elif mode == "stall":
        fake.stall_s = 5.0
    elif mode == "empty":
        fake.empty = True
    key = "sk_bad" if mode == "bad_key" else fake.api_key
    premium = ElevenLabsTTS(key, fake.voice_id, base_url=fake.url, first_byte_timeout_s=5.0)
    tts = FallbackTTS(premium, FliteTTS("slt"), first_byte_timeout_s=0.4)
    await tts.start()
    started = time.perf_counter()
    pcm = b"".join([chunk async for chunk in tts.synthesize(TEXT)])
    elapsed = time.perf_counter() - started
    await tts.close()
    outcome = tts.last_outcome
    assert outcome is not None and outcome.provider == "flite" and outcome.tier == "local"
    expected = {"quota": "primary_error", "stall": "primary_timeout", "empty": "primary_empty",
                "bad_key": "primary_error"}[mode]
    assert outcome.reason == expected and outcome.fell_back
    assert rms_dbfs(pcm) > -35 and elapsed < 1.5
    assert tts.sample_rate == 16_000 and abs(outcome.audio_s - len(pcm) / 32_000) < 1e-6
