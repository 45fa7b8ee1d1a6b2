"""The TTS interface: text in, a stream of PCM16 chunks out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from reauto.config import TtsSettings


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

    @classmethod
    def from_settings(cls, settings: TtsSettings) -> TTSProvider:
        """The voice configured from ``[tts]``; how :data:`reauto.tts.REGISTRY` builds each one.

        This default builds a voice that needs no settings; every registered provider reads its
        own (``tests/test_architecture.py`` checks it).

        Raises:
            ProviderUnavailable: its voice, model, key or engine is missing (the message says which).
        """
        return cls()

    async def start(self) -> None:
        """Load the voice and warm up (called while the phone rings)."""

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text``: yields PCM16 mono chunks at ``self.sample_rate``."""

    async def close(self) -> None:
        """Release the engine."""
