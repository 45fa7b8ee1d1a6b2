"""create_tts / create_tiers: local, premium-with-fallback, and what happens when parts are missing."""

from __future__ import annotations

import logging

import pytest

from reauto.config import ElevenLabsSettings, TtsSettings
from reauto.providers import ProviderUnavailable
from reauto.tts import REGISTRY
from reauto.tts.cache import AudioCache, CachedTTS
from reauto.tts.elevenlabs import ElevenLabsTTS
from reauto.tts.espeak import EspeakTTS
from reauto.tts.factory import create_tiers, create_tts
from reauto.tts.fallback import FallbackTTS
from reauto.tts.flite import FliteTTS
from reauto.tts.piper import PiperTTS

pytestmark = pytest.mark.unit


def test_local_only_by_default() -> None:
    tts = create_tts(TtsSettings())
    assert isinstance(tts, PiperTTS) and tts.sample_rate == 22_050
    assert isinstance(create_tts(TtsSettings(local="flite", flite={"voice": "kal"})), FliteTTS)
    assert isinstance(REGISTRY.create("espeak-ng", TtsSettings()), EspeakTTS)


def test_premium_with_local_fallback() -> None:
    settings = TtsSettings(local="flite", premium="elevenlabs", first_byte_timeout_s=0.8,
                           elevenlabs=ElevenLabsSettings(api_key="sk_x", voice_id="v1"))
    tts = create_tts(settings)
    assert isinstance(tts, FallbackTTS)
    assert isinstance(tts.primary, ElevenLabsTTS) and isinstance(tts.fallback, FliteTTS)
    assert tts.first_byte_timeout_s == 0.8 and tts.tier == "premium"
    tiers = create_tiers(settings, cache=AudioCache())
    assert isinstance(tiers.local, CachedTTS) and isinstance(tiers.premium, FallbackTTS)
    assert isinstance(tiers.premium.primary, CachedTTS) and tiers.premium.fallback is tiers.local
    assert tiers.premium.primary.tier == "premium"


def test_unconfigured_premium_keeps_the_local_voice(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    tts = create_tts(TtsSettings(local="flite", premium="elevenlabs"))
    assert isinstance(tts, FliteTTS)
    assert "tts.elevenlabs.api_key" in caplog.text


def test_unknown_or_broken_local_is_an_error() -> None:
    with pytest.raises(ProviderUnavailable, match="known:"):
        REGISTRY.create("nobody", TtsSettings())
    with pytest.raises(ProviderUnavailable, match="tts.piper.voice"):
        create_tts(TtsSettings(piper={"voice": "/nonexistent/voice.onnx"}))
