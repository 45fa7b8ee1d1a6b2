"""The TTS interface: text in, a stream of PCM16 chunks out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import ClassVar


class TTSProvider(ABC):
    """Base class of text-to-speech providers.

    ``synthesize`` is an async generator of mono PCM16 chunks at ``self.sample_rate``; the
    first chunk should come as early as the engine allows (streaming engines stream, batch
    engines yield once). Errors are raised as exceptions; an empty stream counts as a failure
    for the tier fallback. ``tier`` says which cost tier the provider belongs to.
    """

    name: ClassVar[str]
    tier: ClassVar[str] = "local"  # local | premium
    sample_rate: int = 16_000

    async def start(self) -> None:
        """Load the voice and warm up (called while the phone rings)."""

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text``: yields PCM16 mono chunks at ``self.sample_rate``."""

    async def close(self) -> None:
        """Release the engine."""
