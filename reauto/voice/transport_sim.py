"""A Pipecat transport over a :class:`PhoneLine`: the simulated twin of Twilio's media stream.

Input: 8 kHz μ-law packets from the line → 16 kHz PCM ``InputAudioRawFrame``s.
Output: the pipeline's 16 kHz PCM → 8 kHz μ-law (each chunk resampled on its own, so nothing is
held back at the end of an utterance) into the line's play-out buffer in 80 ms chunks, paced as a
Twilio call's are (:mod:`reauto.audio.pacing`: a lead at the start of each utterance, then twice
real time; the far end buffers), and a ``clear`` of that buffer on every interruption, as
Twilio's ``clear`` message does.
"""

from __future__ import annotations

import asyncio
import time

from pipecat.frames.frames import (
    CancelFrame,
    CancelWorkerFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from reauto.audio.codec import SAMPLE_RATE, PhoneEncoder
from reauto.audio.line import PhoneLine, StreamCodec
from reauto.audio.pacing import PHONE_CHUNK_10MS, PlayoutPacer


def sim_params() -> TransportParams:
    """Transport parameters of a phone call at reauto's internal rate."""
    return TransportParams(
        audio_in_enabled=True,
        audio_in_sample_rate=SAMPLE_RATE,
        audio_out_enabled=True,
        audio_out_sample_rate=SAMPLE_RATE,
        audio_out_10ms_chunks=PHONE_CHUNK_10MS,
    )


class SimInputTransport(BaseInputTransport):
    """Reads the lead's packets from the line and pushes them as audio frames."""

    def __init__(self, line: PhoneLine, params: TransportParams, **kwargs: object) -> None:
        super().__init__(params, **kwargs)  # type: ignore[arg-type]
        self._line = line
        self._codec = StreamCodec(SAMPLE_RATE)
        self._reader: asyncio.Task[None] | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        if self._reader is None:
            self._reader = self.create_task(self._read(), name="sim-line-reader")

    async def _read(self) -> None:
        while True:
            packet = await self._line.to_agent.get()
            if packet is None:
                # the far end hung up: nobody hears the rest, so the call's worker is cancelled
                # (an EndFrame pushed from here would not stop the worker that runs the pipeline)
                await self.push_frame(CancelWorkerFrame(reason="the far end hung up"), FrameDirection.UPSTREAM)
                return
            pcm = self._codec.decode(packet)
            if pcm:
                await self.push_audio_frame(InputAudioRawFrame(pcm, SAMPLE_RATE, 1))

    async def push_audio_frame(self, frame: InputAudioRawFrame) -> None:
        """Push the lead's audio on from the reader's task.

        Pipecat's input transport queues each frame for a task of its own, which, without an
        input filter, only pushes it on; each 20 ms packet of each call would pay a queue, a
        timed wait and a task switch for that.
        """
        if self._params.audio_in_filter is not None:
            await super().push_audio_frame(frame)
        elif self._params.audio_in_enabled and self._params.audio_in_passthrough and not self._paused:
            await self.push_frame(frame)

    async def _stop_reader(self) -> None:
        if self._reader is not None:
            await self.cancel_task(self._reader)
            self._reader = None

    async def stop(self, frame: EndFrame) -> None:
        await self._stop_reader()
        await super().stop(frame)

    async def cancel(self, frame: CancelFrame) -> None:
        await self._stop_reader()
        await super().cancel(frame)


class SimOutputTransport(BaseOutputTransport):
    """Writes agent audio into the line, paced, and clears the far end on interruption."""

    #: Two packets of one utterance closer than this belong together (for underrun counting).
    UTTERANCE_GAP_S = 0.1

    def __init__(self, line: PhoneLine, params: TransportParams, **kwargs: object) -> None:
        super().__init__(params, **kwargs)  # type: ignore[arg-type]
        self._line = line
        self._encoder = PhoneEncoder()
        self._pacer = PlayoutPacer(speed=line.speed)
        self._last_write = 0.0

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InterruptionFrame):
            self._line.clear()
            self._pacer.restart()
            self._last_write = 0.0  # what comes next starts an utterance: the far end was emptied on purpose
        await super().process_frame(frame, direction)

    async def send_message(self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame) -> None:
        message = frame.message
        if isinstance(message, dict) and message.get("event") == "mark":
            self._line.mark(str(message.get("mark", {}).get("name", "")))

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        now = time.monotonic()
        if now - self._last_write < self.UTTERANCE_GAP_S and self._line.queued_ms == 0:
            self._line.stats.underruns += 1
        self._line.play(self._encoder.encode(frame.audio, frame.sample_rate))
        self._last_write = time.monotonic()
        await self._pacer.sent(len(frame.audio) / 2 / frame.sample_rate)
        return True


class SimTransport(BaseTransport):
    """Input and output processors over one :class:`PhoneLine`."""

    def __init__(self, line: PhoneLine, params: TransportParams | None = None) -> None:
        super().__init__()
        params = params or sim_params()
        self._input = SimInputTransport(line, params, name="sim-in")
        self._output = SimOutputTransport(line, params, name="sim-out")

    def input(self) -> SimInputTransport:
        return self._input

    def output(self) -> SimOutputTransport:
        return self._output
