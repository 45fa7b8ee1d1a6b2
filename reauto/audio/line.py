"""A simulated phone line: 8 kHz μ-law packets both ways, as a Twilio media stream carries them.

The agent side writes its audio into the line's play-out buffer (the far end plays it in real
time) and can ``clear`` it on barge-in, exactly like Twilio's ``clear`` message. The lead side
ticks every 20 ms: it hears one packet of agent audio (or silence) and sends one packet of its
own microphone (speech or silence). What the lead actually heard is kept, so an interrupted
reply can be compared with what was spoken.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import soxr

from reauto.audio.codec import PHONE_FRAME_BYTES, PHONE_RATE, SAMPLE_RATE, ulaw_decode, ulaw_encode

ULAW_SILENCE = b"\xff" * PHONE_FRAME_BYTES


class StreamCodec:
    """Continuous PCM16 ↔ 8 kHz μ-law conversion (stateful resampler, no chunk-edge clicks).

    soxr's medium quality holds back about 26 ms when upsampling a phone stream (high quality
    holds 66 ms), which every lead turn would otherwise pay before the VAD hears its end.
    """

    def __init__(self, pcm_rate: int = SAMPLE_RATE, quality: str = "MQ") -> None:
        self._down = soxr.ResampleStream(pcm_rate, PHONE_RATE, 1, dtype="int16", quality=quality)
        self._up = soxr.ResampleStream(PHONE_RATE, pcm_rate, 1, dtype="int16", quality=quality)

    def encode(self, pcm: bytes) -> bytes:
        """PCM16 at ``pcm_rate`` → μ-law at 8 kHz."""
        samples = self._down.resample_chunk(np.frombuffer(pcm, dtype=np.int16))
        return ulaw_encode(samples) if samples.size else b""

    def decode(self, ulaw: bytes) -> bytes:
        """μ-law at 8 kHz → PCM16 at ``pcm_rate``."""
        return self._up.resample_chunk(ulaw_decode(ulaw)).astype(np.int16).tobytes()


@dataclass
class LineStats:
    """What happened on the line, for tests and benchmarks."""

    packets_to_agent: int = 0
    packets_to_lead: int = 0
    underruns: int = 0  # the far end ran dry between two packets of one utterance
    clears: int = 0


class PhoneLine:
    """Both directions of one simulated call."""

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed  # how fast the far end plays and speaks (1.0 = real time)
        self.to_agent: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._playout = bytearray()
        self.heard = bytearray()
        self.stats = LineStats()
        self.hung_up = asyncio.Event()
        self.agent_texts: list[str] = []
        self._speaking = False
        self.agent_audio_started = asyncio.Event()
        self._queued_total = 0  # agent audio bytes ever queued / played, for marks
        self._played_total = 0
        self._marks: list[tuple[int, str]] = []  # (play position, name) not yet reached
        self.marks_played: list[str] = []

    # agent side -------------------------------------------------------------
    def play(self, ulaw: bytes) -> None:
        """Queue agent audio for the far end to play."""
        if ulaw:
            self._playout += ulaw
            self._queued_total += len(ulaw)
            self.agent_audio_started.set()

    def mark(self, name: str) -> None:
        """A Twilio-style mark: reported in :attr:`marks_played` once the audio before it played."""
        self._marks.append((self._queued_total, name))
        self._report_marks()

    def _report_marks(self) -> None:
        while self._marks and self._marks[0][0] <= self._played_total:
            self.marks_played.append(self._marks.pop(0)[1])

    def clear(self) -> None:
        """Drop agent audio not yet played (barge-in)."""
        if self._playout:
            self.stats.clears += 1
        self._played_total += len(self._playout)
        self._playout.clear()
        self._report_marks()  # as on Twilio, a clear reports the marks it skipped
        self._speaking = False

    def say_text(self, text: str) -> None:
        """What the agent means to say (the simulated lead may use it to decide its answer)."""
        self.agent_texts.append(text)

    def hang_up(self) -> None:
        """End the call from either side."""
        self.hung_up.set()
        self.to_agent.put_nowait(None)

    @property
    def queued_ms(self) -> float:
        """Agent audio waiting to be played, in milliseconds."""
        return len(self._playout) / PHONE_RATE * 1000

    # lead side --------------------------------------------------------------
    def tick(self, mic: bytes = ULAW_SILENCE) -> bytes:
        """One 20 ms step: send ``mic`` to the agent, return the agent audio heard."""
        self.to_agent.put_nowait(mic)
        self.stats.packets_to_agent += 1
        if self._playout:
            packet = bytes(self._playout[:PHONE_FRAME_BYTES])
            del self._playout[:PHONE_FRAME_BYTES]
            self._played_total += len(packet)
            self._report_marks()
            if len(packet) < PHONE_FRAME_BYTES:
                packet += ULAW_SILENCE[len(packet) :]
            self._speaking = True
            self.stats.packets_to_lead += 1
        else:
            packet = ULAW_SILENCE
            self._speaking = False
        self.heard += packet
        return packet

    @property
    def agent_speaking(self) -> bool:
        """Whether agent audio was heard on the last tick."""
        return self._speaking


@dataclass
class LineClock:
    """Paces the lead's 20 ms ticks; ``speed`` > 1 runs faster than real time (CI)."""

    speed: float = 1.0
    _next: float = field(default=0.0, init=False)

    async def wait_tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._next == 0.0 or now - self._next > 0.2:
            self._next = now  # first tick, or we fell far behind: resynchronise
        self._next += 0.02 / self.speed
        delay = self._next - now
        if delay > 0:
            await asyncio.sleep(delay)
