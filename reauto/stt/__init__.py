"""Speech to text providers, chosen by name from settings (``[stt] provider``)."""

from __future__ import annotations

from reauto.providers import ProviderSpec, Registry
from reauto.stt.base import STTProvider, Transcript

REGISTRY: Registry[STTProvider] = Registry(
    "STT",
    {
        "pocketsphinx": ProviderSpec("reauto.stt.pocketsphinx:PocketSphinxSTT"),
        "faster-whisper": ProviderSpec("reauto.stt.whisper:FasterWhisperSTT", extra="whisper"),
    },
)

__all__ = ["REGISTRY", "STTProvider", "Transcript"]
