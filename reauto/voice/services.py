"""Pipecat services around reauto's STT and TTS providers.

The providers (``reauto.stt``, ``reauto.tts``) know nothing about Pipecat; these adapters put
them into a pipeline: segmented STT on the VAD's speech segments, and a TTS service that
streams the provider's chunks resampled to the pipeline's rate, with Pipecat's own
interruption handling.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from pipecat.frames.frames import ErrorFrame, Frame, TranscriptionFrame, TTSAudioRawFrame
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from reauto.costs.meter import usage
from reauto.stt.base import STTProvider, Transcript
from reauto.tts.base import TTSProvider


#: What the agent "heard" when recognition failed on a segment (its brain finds no answer in it).
UNHEARD = "[unheard]"


@dataclass(frozen=True)
class SttTiming:
    """How long one segment took to transcribe."""

    audio_s: float
    elapsed_ms: float
    transcript: Transcript


class ProviderSTTService(SegmentedSTTService):
    """Transcribes each VAD speech segment with a reauto :class:`STTProvider`.

    Pushes one :class:`TranscriptionFrame` per segment whose ``result`` is the provider's
    :class:`Transcript` (so the agent sees the confidence). Empty transcripts are dropped. A
    segment the provider fails on (an error, a timeout) becomes :data:`UNHEARD` with confidence 0
    after the :class:`ErrorFrame`: the lead did speak, so the turn goes on and the agent asks
    again instead of waiting in silence.
    """

    def __init__(
        self,
        provider: STTProvider,
        *,
        user_id: str = "lead",
        on_timing: Callable[[SttTiming], None] | None = None,
        p99_latency_s: float = 1.0,
        **kwargs: object,
    ) -> None:
        super().__init__(  # type: ignore[misc]
            sample_rate=provider.sample_rate,
            settings=STTSettings(model=provider.name, language=None),
            ttfs_p99_latency=p99_latency_s,
            **kwargs,
        )
        self._provider = provider
        self._user_id = user_id
        self._on_timing = on_timing

    @property
    def wants_wav_segments(self) -> bool:
        return False

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        started = time.perf_counter()
        try:
            transcript = await self._provider.transcribe(audio)
        except Exception as exc:  # a provider failure must not end the call, nor lose the turn
            yield ErrorFrame(error=f"STT {self._provider.name} failed: {str(exc) or type(exc).__name__}")
            unheard = Transcript(UNHEARD, 0.0, len(audio) / 2 / self._provider.sample_rate)
            frame = TranscriptionFrame(UNHEARD, self._user_id, time_now_iso8601(), result=unheard)
            frame.metadata["stt_failed"] = True
            yield frame
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        usage("stt", _provider_name(self._provider), round(transcript.audio_s, 3), "second")
        if self._on_timing is not None:
            self._on_timing(SttTiming(transcript.audio_s, elapsed_ms, transcript))
        if transcript.text.strip():
            frame = TranscriptionFrame(transcript.text, self._user_id, time_now_iso8601(), result=transcript)
            frame.metadata["stt_ms"] = elapsed_ms
            yield frame


def _provider_name(provider: STTProvider) -> str:
    """The recogniser that really ran (through a process pool or a fallback wrapper)."""
    active = getattr(provider, "active", None)
    if isinstance(active, STTProvider):
        return _provider_name(active)
    return str(getattr(provider, "provider_name", provider.name))


class ProviderTTSService(TTSService):
    """Speaks text with a reauto :class:`TTSProvider`, resampled to the pipeline's rate."""

    def __init__(self, provider: TTSProvider, **kwargs: object) -> None:
        super().__init__(  # type: ignore[misc]
            push_stop_frames=True,
            settings=TTSSettings(model=provider.name, voice=None, language=None),
            **kwargs,
        )
        self._provider = provider

    @property
    def provider(self) -> TTSProvider:
        return self._provider

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        try:
            await self.start_tts_usage_metrics(text)
            started, first = time.perf_counter(), True
            async for frame in self._stream_audio_frames_from_iterator(
                self._provider.synthesize(text),
                in_sample_rate=self._provider.sample_rate,
                context_id=context_id,
            ):
                await self.stop_ttfb_metrics()
                if first and isinstance(frame, TTSAudioRawFrame):
                    first = False
                    frame.metadata["tts_ms"] = (time.perf_counter() - started) * 1000
                yield frame
        except Exception as exc:  # a provider failure must not end the call
            yield ErrorFrame(error=f"TTS {self._provider.name} failed: {str(exc) or type(exc).__name__}")
        finally:
            await self.stop_ttfb_metrics()

