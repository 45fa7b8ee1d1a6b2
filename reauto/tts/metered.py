"""Each synthesis's characters reported as a usage event (:mod:`reauto.usage`), and counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

from reauto.metrics import TTS_CHARACTERS
from reauto.tts.base import TTSProvider
from reauto.usage import usage


class MeteredTTS(TTSProvider):
    """Reports each synthesis's characters once the provider has produced audio for it.

    Wrap the concrete provider *below* the audio cache, so a cached utterance is not charged.
    Providers that report their own billing (``reports_usage = True``) are not wrapped.
    """

    def __init__(self, inner: TTSProvider) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.tier = inner.tier  # type: ignore[misc]
        self.sample_rate = inner.sample_rate
        self.voice = str(getattr(inner, "voice", ""))

    async def start(self) -> None:
        await self.inner.start()
        self.sample_rate = self.inner.sample_rate

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        charged = False
        async for chunk in self.inner.synthesize(text):
            if not charged:
                charged = True
                usage("tts", self.inner.name, len(text), "character")
                TTS_CHARACTERS.labels(tier=self.inner.tier, provider=self.inner.name).inc(len(text))
            yield chunk

    async def close(self) -> None:
        await self.inner.close()


def metered(provider: TTSProvider) -> TTSProvider:
    """``provider`` wrapped in :class:`MeteredTTS` unless it reports its own usage."""
    return provider if getattr(provider, "reports_usage", False) else MeteredTTS(provider)
