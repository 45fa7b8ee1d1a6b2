"""Pipecat services around reauto's STT and TTS providers.

The providers (``reauto.stt``, ``reauto.tts``) know nothing about Pipecat; these adapters put
them into a pipeline: segmented STT on the VAD's speech segments, and a TTS service that
streams the provider's chunks resampled to the pipeline's rate, with Pipecat's own
interruption handling.

Where the STT provider decodes while the lead speaks (:meth:`STTProvider.open_stream`: the
process pool over pocketsphinx), a segment's audio goes to its stream from the VAD's start on,
so that at the VAD's stop only the last part is left to decode; the segment itself is still
kept whole, and transcribed whole if its stream fails.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from pipecat.frames.frames import (
    CancelFrame,
    DataFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from reauto.stt.base import SpeechStream, STTProvider, Transcript
from reauto.tts.base import TTSProvider
from reauto.usage import usage

log = logging.getLogger(__name__)

#: What the agent "heard" when recognition failed on a segment (its brain finds no answer in it).
UNHEARD = "[unheard]"


@dataclass(frozen=True)
class SttTiming:
    """How long one segment took to transcribe."""

    audio_s: float
    elapsed_ms: float
    transcript: Transcript


@dataclass
class NothingHeardFrame(DataFrame):
    """A segment's recognition came out empty (a breath, a word too faint to make out): the
    end-of-turn decision need not wait for its transcript (:mod:`reauto.voice.endpoint`)."""


class ProviderSTTService(SegmentedSTTService):
    """Transcribes each VAD speech segment with a reauto :class:`STTProvider`.

    Pushes one :class:`TranscriptionFrame` per segment whose ``result`` is the provider's
    :class:`Transcript` (so the agent sees the confidence); an empty one is a
    :class:`NothingHeardFrame`. A
    segment the provider fails on (an error, a timeout) becomes :data:`UNHEARD` with confidence 0
    after the :class:`ErrorFrame`: the lead did speak, so the turn goes on and the agent asks
    again instead of waiting in silence.

    With a provider that decodes while the lead speaks, each segment is also fed to a stream
    (:data:`FEED_BYTES` at a time) that starts from what the call's previous utterance taught
    the recogniser about the line.
    """

    #: Audio sent to a stream at once (100 ms: few messages, little left at the end).
    FEED_BYTES = 3200
    #: Audio kept from before the VAD was sure the lead speaks (it is sure 0.2 s in); Pipecat
    #: keeps 1 s, which the recogniser then decodes for every answer.
    PREROLL_S = 0.8
    #: Silence added after the VAD's stop (which already holds 0.2 s of it) so that the last word
    #: ends; Pipecat adds 0.5 s, all of it left to decode once the lead has stopped.
    TRAILING_SILENCE_S = 0.2

    def __init__(
        self,
        provider: STTProvider,
        *,
        user_id: str = "lead",
        on_timing: Callable[[SttTiming], None] | None = None,
        p99_latency_s: float = 1.0,
        context: Callable[[], str | None] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(  # type: ignore[misc]
            sample_rate=provider.sample_rate,
            settings=STTSettings(model=provider.name, language=None),
            ttfs_p99_latency=p99_latency_s,
            trailing_silence_secs=self.TRAILING_SILENCE_S,
            **kwargs,
        )
        self._provider = provider
        self._user_id = user_id
        self._on_timing = on_timing
        self._context = context or (lambda: None)  # what the agent asked: the recogniser expects its answers
        self._stream: SpeechStream | None = None  # the segment being spoken
        self._unfed = bytearray()  # its audio not yet sent to the stream
        self._ending: deque[SpeechStream | None] = deque()  # per queued segment: its stream, if any
        self._line_state: str | None = None

    @property
    def wants_wav_segments(self) -> bool:
        return False

    async def setup(self, setup: FrameProcessorSetup) -> None:
        await super().setup(setup)
        # what SegmentedSTTService keeps while the lead is silent (its "1 s" buffer)
        self._audio_buffer_size_1s = round(self.sample_rate * self.PREROLL_S) * 2

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._end_stream()
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame) and self._stream is None and self.is_usable:
            self._stream = self._provider.open_stream(self._line_state, self._context())
            if self._stream is not None:
                self._stream.feed(bytes(self._audio_buffer))  # what came before the VAD was sure
        elif isinstance(frame, InputAudioRawFrame) and self._stream is not None:
            self._unfed += frame.audio
            if len(self._unfed) >= self.FEED_BYTES:
                self._stream.feed(bytes(self._unfed))
                self._unfed.clear()

    def _end_stream(self) -> None:
        """The segment ends: its stream gets the rest and the same trailing silence as the segment."""
        stream, self._stream = self._stream, None
        if stream is not None and not self.is_usable:
            stream.cancel()
            stream = None
        elif stream is not None:
            stream.feed(bytes(self._unfed) + self._trailing_silence())
        self._unfed.clear()
        if self.is_usable:
            self._ending.append(stream)  # the segment pipecat now queues is this one

    def _drop_streams(self) -> None:
        for stream in (self._stream, *self._ending):
            if stream is not None:
                stream.cancel()
        self._stream = None
        self._ending.clear()

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        self._drop_streams()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        self._drop_streams()

    async def cleanup(self) -> None:
        await super().cleanup()
        self._drop_streams()  # a worker keeps an open utterance's decoders until told

    async def _recognise(self, audio: bytes) -> Transcript:
        stream = self._ending.popleft() if self._ending else None
        if stream is not None:
            try:
                transcript = await stream.finish()
                self._line_state = stream.line_state
                return transcript
            except TimeoutError:
                raise  # the recogniser is that far behind: the segment again would only add to it
            except Exception as exc:  # noqa: BLE001 (the whole segment is still here)
                log.warning("STT stream failed (%s); transcribing the segment whole", str(exc) or type(exc).__name__)
        return await self._provider.transcribe(audio, context=self._context())

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        started = time.perf_counter()
        try:
            transcript = await self._recognise(audio)
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
        else:
            yield NothingHeardFrame()


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

