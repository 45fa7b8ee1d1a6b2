"""The STT interface: one finished lead utterance in, one transcript out; or, where the provider
can, one utterance decoded while it is spoken (:class:`Utterance`, :class:`SpeechStream`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from reauto.config import SttSettings


@dataclass(frozen=True)
class Transcript:
    """What the lead said, as far as the recogniser can tell.

    Attributes:
        text: the words, lower case, no punctuation guarantees.
        confidence: 0..1, or None when the provider has no usable measure.
        audio_s: length of the audio transcribed, in seconds.
        words: optional per-word detail (word, start s, end s, probability).
        alternatives: other readings of the same audio the recogniser found almost as likely, best
            first (pocketsphinx's n-best list); the agent may read an answer from them when the
            best one says nothing it can use.
    """

    text: str
    confidence: float | None
    audio_s: float
    words: Sequence[tuple[str, float, float, float | None]] = field(default_factory=tuple)
    alternatives: Sequence[str] = field(default_factory=tuple)


class Utterance(ABC):
    """One utterance decoded while it is spoken, where the decoder lives (synchronous: a worker
    process drives it). Audio goes in as it comes; at the end only the last of it is left to
    decode.

    Attributes:
        line_state: what the decoder learned about the caller's line (opaque text), once the
            utterance ended; the call's next utterance starts from it.
        whole: whether the audio is only kept and decoded at the end (no decoder was free, or
            the line is not known yet): its end then takes as long as a whole segment.
    """

    line_state: str | None = None
    whole: bool = False

    @abstractmethod
    def feed(self, pcm: bytes) -> None:
        """Decode the next part of the utterance (16 kHz PCM16 mono)."""

    @abstractmethod
    def end(self) -> Transcript:
        """The utterance is over: its transcript (the decoder is released)."""

    @abstractmethod
    def cancel(self) -> None:
        """Drop the utterance (the decoder is released)."""


class SpeechStream(ABC):
    """An :class:`Utterance` seen from the event loop: feeding never blocks, the end is awaited.

    Attributes:
        line_state: as :attr:`Utterance.line_state`, once :meth:`finish` returned.
    """

    line_state: str | None = None

    @abstractmethod
    def feed(self, pcm: bytes) -> None:
        """Send the next part of the utterance (returns at once)."""

    @abstractmethod
    async def finish(self) -> Transcript:
        """The utterance is over: wait for its transcript."""

    @abstractmethod
    def cancel(self) -> None:
        """Drop the utterance."""


class STTProvider(ABC):
    """Base class of speech-to-text providers.

    Turn detection (Silero VAD + Smart-Turn) hands over one complete utterance at a time, so
    providers transcribe segments: 16 kHz, 16-bit mono PCM in, a :class:`Transcript` out.
    ``start`` loads models (before the call is answered); ``transcribe`` must be safe to call
    from the event loop (heavy work goes to a thread).
    """

    name: ClassVar[str]
    sample_rate: ClassVar[int] = 16_000

    @classmethod
    def from_settings(cls, settings: SttSettings) -> STTProvider:
        """The provider configured from ``[stt]``; how :data:`reauto.stt.REGISTRY` builds each one.

        This default builds a provider that needs no settings; every registered provider reads
        its own (``tests/test_architecture.py`` checks it).

        Raises:
            ProviderUnavailable: its model or engine is missing (the message says what to install).
        """
        return cls()

    async def start(self) -> None:
        """Load models and warm up (called while the phone rings)."""

    def set_vocabulary(self, phrases: Sequence[str]) -> None:  # noqa: B027 (optional hook)
        """Bias recognition toward the campaign's words, where the provider supports it."""

    @abstractmethod
    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        """Transcribe one utterance of 16 kHz PCM16 mono audio.

        ``context`` names what the agent just asked (a slot such as ``budget_usd``, ``identity``
        or ``booking``; None: nothing in particular): a provider that can expects its answers."""

    def begin(self, line_state: str | None = None, context: str | None = None) -> Utterance | None:
        """An utterance to decode while it is spoken, in this thread, starting from what the
        call's previous utterance learned (``line_state``), heard as an answer to ``context``;
        None where the provider only decodes whole segments (the default)."""
        return None

    def prepare(self, streams: int) -> bool:
        """One step toward decoding ``streams`` utterances at once while they are spoken (a
        worker process calls it while idle); False once ready (the default: nothing to do)."""
        return False

    def open_stream(self, line_state: str | None = None, context: str | None = None) -> SpeechStream | None:
        """An utterance to feed from the event loop as it is spoken (``line_state``, ``context``:
        as in :meth:`begin`); None (the default) where the provider only transcribes whole segments."""
        return None

    def backlog(self) -> float | None:
        """How far the recogniser is behind: utterances waiting for a decoder, per decoder that
        serves them (0: none waiting; above 1: a lead who stops now waits for more than one round
        of other calls' decodings). None (the default) where the provider has no queue of its own.
        A dialer's admission control reads it before it lets a new call in."""
        return None

    async def close(self) -> None:
        """Release models and threads."""
