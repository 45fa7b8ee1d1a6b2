"""Pipecat's FastAPI WebSocket transport for a Twilio media stream, paced as reauto paces phone legs.

Pipecat's WebSocket output sends each audio chunk one chunk's length after the previous one
(its "twice real time" interval is computed from bytes, not samples, so for 16-bit audio it is
real time): Twilio then holds a single chunk, and any moment the event loop is busy with other
calls is a gap the lead hears. Here the output sends 80 ms chunks with a lead at the start of each
utterance and twice real time after it (:mod:`reauto.audio.pacing`), as the simulated line does.
"""

from __future__ import annotations

from typing import Any

from pipecat.frames.frames import Frame, InterruptionFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

from reauto.audio.codec import SAMPLE_RATE
from reauto.audio.pacing import PHONE_CHUNK_10MS, PlayoutPacer


def media_params(serializer: Any) -> FastAPIWebsocketParams:
    """Transport parameters of a Twilio media stream at reauto's internal rate."""
    return FastAPIWebsocketParams(
        audio_in_enabled=True, audio_in_sample_rate=SAMPLE_RATE,
        audio_out_enabled=True, audio_out_sample_rate=SAMPLE_RATE,
        audio_out_10ms_chunks=PHONE_CHUNK_10MS,
        serializer=serializer,
    )


class PacedMediaOutput(FastAPIWebsocketOutputTransport):
    """Pipecat's WebSocket output with :class:`PlayoutPacer` pacing its audio."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = PlayoutPacer()
        self._chunk_s = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, InterruptionFrame):
            self.pacer.restart()  # the serializer sends Twilio its ``clear``
        await super().process_frame(frame, direction)

    async def write_audio_frame(self, frame: Any) -> bool:
        self._chunk_s = len(frame.audio) / 2 / max(1, frame.sample_rate * frame.num_channels)
        return await super().write_audio_frame(frame)  # type: ignore[no-any-return]

    async def _write_audio_sleep(self) -> None:
        await self.pacer.sent(self._chunk_s)


class MediaStreamTransport(FastAPIWebsocketTransport):
    """:class:`FastAPIWebsocketTransport` whose output is a :class:`PacedMediaOutput`."""

    def __init__(self, websocket: Any, params: FastAPIWebsocketParams, **kwargs: Any) -> None:
        super().__init__(websocket, params, **kwargs)
        self._output = PacedMediaOutput(self, self._client, self._params, name=self._output_name)

    def output(self) -> PacedMediaOutput:
        return self._output  # type: ignore[return-value]
