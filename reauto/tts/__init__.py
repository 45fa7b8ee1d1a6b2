"""Text to speech providers, chosen by name from settings (``[tts] local`` / ``premium``)."""

from __future__ import annotations

from reauto import providercatalog
from reauto.providers import Registry
from reauto.tts.base import TTSProvider

REGISTRY: Registry[TTSProvider] = Registry(providercatalog.KINDS["tts"], providercatalog.TTS)

__all__ = ["REGISTRY", "TTSProvider"]
