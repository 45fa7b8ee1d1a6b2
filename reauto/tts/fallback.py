"""Tier fallback: the premium voice speaks, and the local voice takes over the same turn.

:class:`FallbackTTS` asks the primary provider for the utterance. If the primary raises, gives
no audio within ``first_byte_timeout_s``, or ends without any audio, the primary's stream is
closed and the fallback speaks the same text in the same call of ``synthesize`` — nothing from
the failed primary is emitted after that. Once the primary has produced audio the turn is
committed to it: a failure mid-stream is recorded and re-raised (the lead has heard part of the
sentence in one voice; repeating it in another would be worse than a clipped turn), and the
caller's error path (Pipecat's ``ErrorFrame``) takes over.

Every utterance produces one :class:`TtsOutcome` (which tier spoke and why), kept as
``last_outcome`` and passed to ``on_outcome`` for the cost meter and the logs.

A breaker guards the primary: after ``breaker_threshold`` utterances in a row that it could not
start, the fallback speaks at once (``primary_breaker_open``) instead of every turn waiting the
first-byte timeout, and after ``breaker_reset_s`` one utterance tries the primary again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soxr

from reauto.breaker import Breaker
from reauto.tts.base import TTSProvider

log = logging.getLogger(__name__)

Reason = Literal["primary", "primary_error", "primary_timeout", "primary_empty", "primary_broke",
                 "primary_breaker_open"]


@dataclass(frozen=True)
class TtsOutcome:
    """Which provider spoke an utterance, and why.

    Attributes:
        provider: name of the provider whose audio was emitted (the primary for
            ``primary_broke``, even though its audio stopped early).
        tier: that provider's cost tier (local | premium).
        reason: ``primary`` (it spoke), ``primary_error`` / ``primary_timeout`` /
            ``primary_empty`` / ``primary_breaker_open`` (the fallback spoke), ``primary_broke``
            (it failed mid-stream).
        error: the primary's error, when there was one.
        text_chars: characters in the utterance.
        audio_s: seconds of audio emitted.
        first_chunk_s: time to the first emitted chunk (``None`` when nothing was emitted).
        premium_characters: characters the primary billed, when it reported them
            (a premium request that failed after being billed still costs).
    """

    provider: str
    tier: str
    reason: Reason
    error: str | None
    text_chars: int
    audio_s: float
    first_chunk_s: float | None
    premium_characters: int | None = None

    @property
    def fell_back(self) -> bool:
        return self.reason in ("primary_error", "primary_timeout", "primary_empty", "primary_breaker_open")


class FallbackTTS(TTSProvider):
    """``primary`` with ``fallback`` speaking any utterance the primary cannot start.

    Args:
        primary: the preferred provider (usually the premium tier).
        fallback: the provider that speaks when the primary fails (usually the local tier).
        first_byte_timeout_s: how long the primary may take to its first audio chunk.
        on_outcome: called with each utterance's :class:`TtsOutcome`.

    Output is PCM16 at the primary's rate; fallback audio is resampled to it (streaming soxr).
    """

    name = "fallback"

    def __init__(
        self,
        primary: TTSProvider,
        fallback: TTSProvider,
        first_byte_timeout_s: float = 1.5,
        *,
        on_outcome: Callable[[TtsOutcome], None] | None = None,
        breaker_threshold: int = 3,
        breaker_reset_s: float = 30.0,
    ) -> None:
        self.primary = primary
        self.breaker = Breaker(breaker_threshold, breaker_reset_s, name=f"tts {primary.name}")
        self.fallback = fallback
        self.first_byte_timeout_s = first_byte_timeout_s
        self.on_outcome = on_outcome
        self.sample_rate = primary.sample_rate
        self.tier = primary.tier  # type: ignore[misc]
        self.last_outcome: TtsOutcome | None = None

    async def start(self) -> None:
        """Start both providers; a primary that cannot start leaves every turn to the fallback."""
        await self.fallback.start()
        try:
            await self.primary.start()
        except Exception as exc:  # noqa: BLE001 (synthesize falls back on each turn anyway)
            log.warning("TTS %s failed to start (%s); %s will speak until it recovers",
                        self.primary.name, exc, self.fallback.name)
        self.sample_rate = self.primary.sample_rate

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Speak ``text`` with the primary, or with the fallback when the primary cannot start.

        Raises:
            Exception: the primary's error when it broke after its first audio, or the
                fallback's error when both failed.
        """
        started = time.perf_counter()
        if not self.breaker.allow():
            async for chunk in self._speak_fallback(text, "primary_breaker_open", None, started):
                yield chunk
            return
        stream = self.primary.synthesize(text)
        reason: Reason = "primary"
        error: BaseException | None = None
        first = b""
        try:
            async with asyncio.timeout(self.first_byte_timeout_s):
                async for first in stream:
                    if first:
                        break
        except TimeoutError as exc:
            reason, error = "primary_timeout", exc
        except Exception as exc:  # noqa: BLE001 (any primary failure hands the turn over)
            reason, error = "primary_error", exc
        else:
            if not first:
                reason = "primary_empty"
        if reason != "primary":
            self.breaker.failure()
            await stream.aclose()
            async for chunk in self._speak_fallback(text, reason, error, started):
                yield chunk
            return
        self.breaker.success()
        emitted, first_s = len(first), time.perf_counter() - started
        yield first
        try:
            async for chunk in stream:
                if chunk:
                    emitted += len(chunk)
                    yield chunk
        except Exception as exc:
            self._record(self.primary, "primary_broke", exc, text, emitted, first_s)
            raise
        finally:
            await stream.aclose()
        self._record(self.primary, "primary", None, text, emitted, first_s)

    async def _speak_fallback(
        self, text: str, reason: Reason, error: BaseException | None, started: float
    ) -> AsyncIterator[bytes]:
        detail = _describe(error) if error is not None else (
            "its breaker is open" if reason == "primary_breaker_open" else "no audio")
        log.log(logging.DEBUG if reason == "primary_breaker_open" else logging.WARNING, "TTS %s %s (%s); %s speaks this turn", self.primary.name,
                    reason.removeprefix("primary_"), detail, self.fallback.name)
        emitted, first_s = 0, None
        async for chunk in resampled(self.fallback.synthesize(text), self.fallback.sample_rate,
                                     self.sample_rate):
            first_s = first_s if first_s is not None else time.perf_counter() - started
            emitted += len(chunk)
            yield chunk
        self._record(self.fallback, reason, error, text, emitted, first_s)

    def _record(
        self,
        provider: TTSProvider,
        reason: Reason,
        error: BaseException | None,
        text: str,
        emitted: int,
        first_s: float | None,
    ) -> None:
        outcome = TtsOutcome(
            provider=provider.name,
            tier=provider.tier,
            reason=reason,
            error=None if error is None else _describe(error),
            text_chars=len(text),
            audio_s=emitted / 2 / self.sample_rate,
            first_chunk_s=first_s,
            premium_characters=getattr(self.primary, "last_character_cost", None),
        )
        self.last_outcome = outcome
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    async def close(self) -> None:
        """Close both providers."""
        try:
            await self.primary.close()
        finally:
            await self.fallback.close()


async def resampled(
    chunks: AsyncIterator[bytes], src_rate: int, dst_rate: int
) -> AsyncIterator[bytes]:
    """PCM16 ``chunks`` at ``src_rate`` as non-empty PCM16 chunks at ``dst_rate`` (soxr stream)."""
    if src_rate == dst_rate:
        async for chunk in chunks:
            if chunk:
                yield chunk
        return
    resampler = soxr.ResampleStream(src_rate, dst_rate, 1, "int16")
    async for chunk in chunks:
        out = resampler.resample_chunk(np.frombuffer(chunk, dtype=np.int16)).tobytes()
        if out:
            yield out
    tail = resampler.resample_chunk(np.zeros(0, dtype=np.int16), last=True).tobytes()
    if tail:
        yield tail


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError) and not str(error):
        return "no audio before the first-byte timeout"
    return f"{type(error).__name__}: {error}"
