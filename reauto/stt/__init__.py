"""Speech to text providers, chosen by name from settings (``[stt] provider``)."""

from __future__ import annotations

from reauto import providercatalog
from reauto.providers import Registry
from reauto.stt.base import STTProvider, Transcript

REGISTRY: Registry[STTProvider] = Registry(providercatalog.KINDS["stt"], providercatalog.STT)

__all__ = ["REGISTRY", "STTProvider", "Transcript"]
