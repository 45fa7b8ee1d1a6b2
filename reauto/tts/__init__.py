"""Text to speech providers, chosen by name from settings (``[tts] local`` / ``premium``)."""

from __future__ import annotations

from reauto.providers import ProviderSpec, Registry
from reauto.tts.base import TTSProvider

REGISTRY: Registry[TTSProvider] = Registry(
    "TTS",
    {
        "piper": ProviderSpec("reauto.tts.piper:PiperTTS", extra="piper"),
        "flite": ProviderSpec("reauto.tts.flite:FliteTTS", system="flite"),
        "espeak-ng": ProviderSpec("reauto.tts.espeak:EspeakTTS", system="espeak-ng"),
        "coqui": ProviderSpec("reauto.tts.coqui:CoquiTTS", extra="coqui"),
        "elevenlabs": ProviderSpec("reauto.tts.elevenlabs:ElevenLabsTTS", extra="elevenlabs"),
    },
)

__all__ = ["REGISTRY", "TTSProvider"]
