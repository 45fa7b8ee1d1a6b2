"""Build the configured STT provider, with the fallback ``[stt] fallback`` names.

``create_stt`` returns a provider at once; models load in ``start``. When the main provider
cannot be built or loaded, or fails on an utterance, a :class:`FallbackSTT` hands the work to
the fallback provider (embedded pocketsphinx by default) and logs why, so a call goes on with
a weaker recogniser instead of ending.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from reauto.config import SttSettings
from reauto.providers import ProviderUnavailable
from reauto.stt import REGISTRY
from reauto.stt.base import STTProvider, Transcript

log = logging.getLogger(__name__)


class FallbackSTT(STTProvider):
    """The main provider, replaced by the fallback when it cannot load or fails.

    Args:
        primary: the configured provider.
        fallback: used from the first failure of ``primary`` on.
    """

    name = "fallback"

    def __init__(self, primary: STTProvider, fallback: STTProvider) -> None:
        self.primary = primary
        self.fallback = fallback
        self.active: STTProvider = primary
        self._fallback_started = False

    async def start(self) -> None:
        """Start the main provider; start the fallback instead when the main one fails."""
        try:
            await self.primary.start()
        except Exception as exc:  # noqa: BLE001 (any loader error means: use the fallback)
            await self._switch(exc)

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        """Bias both providers (the fallback may take over mid-call)."""
        self.primary.set_vocabulary(phrases)
        self.fallback.set_vocabulary(phrases)

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        """Transcribe with the active provider; on a main-provider error retry on the fallback."""
        if self.active is self.fallback:
            return await self.fallback.transcribe(pcm, context=context)
        try:
            return await self.primary.transcribe(pcm, context=context)
        except Exception as exc:  # noqa: BLE001 (keep the call alive on any recogniser error)
            await self._switch(exc)
            return await self.fallback.transcribe(pcm, context=context)

    def backlog(self) -> float | None:
        """The active provider's backlog."""
        return self.active.backlog()

    async def close(self) -> None:
        """Close both providers."""
        await self.primary.close()
        await self.fallback.close()

    async def _switch(self, exc: BaseException) -> None:
        log.warning("STT %s failed (%s); using fallback %s", self.primary.name, exc,
                    self.fallback.name)
        self.active = self.fallback
        if not self._fallback_started:
            self._fallback_started = True
            await self.fallback.start()


def create_stt(settings: SttSettings) -> STTProvider:
    """The STT provider ``settings`` configure, wrapped with its fallback when there is one.

    Raises:
        ProviderUnavailable: the main provider cannot be built and there is no fallback
            (``stt.fallback = "none"``), or the fallback itself cannot be built.
    """
    fallback_name = None if settings.fallback in ("none", settings.provider) else settings.fallback
    try:
        primary = REGISTRY.create(settings.provider, settings)
    except ProviderUnavailable as exc:
        if fallback_name is None:
            raise
        log.warning("STT %s unavailable (%s); using fallback %s", settings.provider, exc,
                    fallback_name)
        return REGISTRY.create(fallback_name, settings)
    if fallback_name is None:
        return primary
    return FallbackSTT(primary, REGISTRY.create(fallback_name, settings))
