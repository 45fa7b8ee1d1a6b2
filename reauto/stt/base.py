"""The STT interface: one finished lead utterance in, one transcript out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Transcript:
    """What the lead said, as far as the recogniser can tell.

    Attributes:
        text: the words, lower case, no punctuation guarantees.
        confidence: 0..1, or None when the provider has no usable measure.
        audio_s: length of the audio transcribed, in seconds.
        words: optional per-word detail (word, start s, end s, probability).
    """

    text: str
    confidence: float | None
    audio_s: float
    words: Sequence[tuple[str, float, float, float | None]] = field(default_factory=tuple)


class STTProvider(ABC):
    """Base class of speech-to-text providers.

    Turn detection (Silero VAD + Smart-Turn) hands over one complete utterance at a time, so
    providers transcribe segments: 16 kHz, 16-bit mono PCM in, a :class:`Transcript` out.
    ``start`` loads models (before the call is answered); ``transcribe`` must be safe to call
    from the event loop (heavy work goes to a thread).
    """

    name: ClassVar[str]
    sample_rate: ClassVar[int] = 16_000

    async def start(self) -> None:
        """Load models and warm up (called while the phone rings)."""

    def set_vocabulary(self, phrases: Sequence[str]) -> None:  # noqa: B027 (optional hook)
        """Bias recognition toward the campaign's words, where the provider supports it."""

    @abstractmethod
    async def transcribe(self, pcm: bytes) -> Transcript:
        """Transcribe one utterance of 16 kHz PCM16 mono audio."""

    async def close(self) -> None:
        """Release models and threads."""
