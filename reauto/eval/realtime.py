"""Replay a recorded lead through the real call pipeline at real-time pace and time each stage.

The lead's audio goes out on a simulated 8 kHz μ-law phone line, 20 ms at a time, into the same
Pipecat pipeline a live call runs (Silero VAD, Smart-Turn, the STT, the agent, the TTS). Every
stage is timed from the end of the lead's speech in the recording (the reference turn's
``end``): when the VAD said stop, the transcript came, the reply text went to TTS, the first
synthesised audio came, and the reply started playing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from pipecat.observers.base_observer import BaseObserver, FramePushed

from reauto.audio.codec import PHONE_FRAME_BYTES, pcm_to_phone
from reauto.audio.line import ULAW_SILENCE, LineClock, PhoneLine
from reauto.eval.recordings import RecordedCall
from reauto.stt.base import STTProvider
from reauto.tts.base import TTSProvider
from reauto.voice.conversation import Brain
from reauto.voice.latency import TurnLatency
from reauto.voice.pipeline import CallSession, TurnTaking
from reauto.voice.transport_sim import SimTransport

#: The stages reported, in pipeline order (each measured from the end of the lead's speech).
STAGES = ("vad_stop", "stt_final", "agent_text", "tts_first", "first_audio")


class ClockProbe(BaseObserver):
    """Learns the offset between the pipeline clock and ``time.monotonic``.

    An observer sees a push a little after it happened, never before: the smallest difference
    between the wall clock and a frame's timestamp is the closest estimate of the offset.
    """

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self.offset: float | None = None
        self.started = asyncio.Event()  # the pipeline pushed its first frame

    async def on_push_frame(self, data: FramePushed) -> None:
        self.started.set()
        offset = time.monotonic() - data.timestamp / 1e9
        if self.offset is None or offset < self.offset:
            self.offset = offset


@dataclass(frozen=True)
class StageTimes:
    """One lead turn: milliseconds from the end of its speech to each stage (None: not reached)."""

    turn: int
    vad_stop: float | None
    stt_final: float | None
    agent_text: float | None
    tts_first: float | None
    first_audio: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"turn": self.turn, **{s: getattr(self, s) for s in STAGES}}


def match_turns(spans: list[tuple[float, float]], measured: list[TurnLatency], to_wav: float,
                window_s: float = 4.0) -> list[StageTimes]:
    """Stage times of each reference turn from the pipeline's turns.

    Args:
        spans: (start, end) of each reference lead turn in the recording, seconds.
        measured: the pipeline's per-turn marks (pipeline clock, seconds).
        to_wav: add to a pipeline-clock mark to get seconds into the recording.
        window_s: a pipeline turn belongs to the last reference turn that ended at most this
            long before its VAD stop.
    """
    out: list[StageTimes] = []
    for i, (_start, end) in enumerate(spans, 1):
        nxt = spans[i][0] if i < len(spans) else float("inf")
        candidates = [m for m in measured if m.vad_stop is not None
                      and end - 0.1 <= m.vad_stop + to_wav <= min(end + window_s, nxt + 0.1)]
        # the last VAD stop of this turn (a pause moves it forward) that was heard as words; a stop
        # on a noise with no transcript only counts when nothing else does
        heard = [m for m in candidates if m.stt_final is not None]
        best: TurnLatency | None = (heard or candidates or [None])[-1]
        if best is None:
            out.append(StageTimes(i, None, None, None, None, None))
            continue

        def ms(mark: float | None, end: float = end) -> float | None:
            return None if mark is None else round((mark + to_wav - end) * 1000, 1)

        out.append(StageTimes(i, ms(best.vad_stop), ms(best.stt_final), ms(best.agent_text),
                              ms(best.tts_first), ms(best.first_audio)))
    return out


async def replay(call: RecordedCall, spans: list[tuple[float, float]], *, stt: STTProvider, tts: TTSProvider,
                 brain: Brain, turn_taking: TurnTaking | None = None, tail_s: float = 4.0,
                 max_tail_s: float = 20.0) -> list[StageTimes]:
    """Play ``call``'s lead side through a live pipeline in real time; stage times of each lead turn.

    After the recording, silence plays for ``tail_s`` — and longer, up to ``max_tail_s``, until
    the agent has answered the last lead turn (a slow recogniser still gets its reply timed).
    """
    line = PhoneLine()
    probe = ClockProbe()
    said: list[float] = []  # when the agent's replies were handed to the line

    def on_agent_text(text: str) -> None:
        said.append(time.monotonic())
        line.say_text(text)

    session = CallSession(SimTransport(line), stt, tts, brain, turn_taking=turn_taking or TurnTaking(),
                          on_agent_text=on_agent_text, greet_on_first_words=call.spec.answered_by == "human",
                          timeout_s=call.seconds + max_tail_s + 30, observers=[probe], hung_up=line.hung_up)
    await session.prepare()
    ulaw = pcm_to_phone(call.pcm)
    packets = [ulaw[i : i + PHONE_FRAME_BYTES].ljust(PHONE_FRAME_BYTES, b"\xff")
               for i in range(0, len(ulaw), PHONE_FRAME_BYTES)]
    started: list[float] = []

    async def play() -> None:
        await probe.started.wait()
        await asyncio.sleep(0.1)  # the input transport starts reading
        clock = LineClock()
        last_end = spans[-1][1] if spans else 0.0
        for packet in packets:
            if line.hung_up.is_set():
                return
            await clock.wait_tick()
            if not started:
                started.append(time.monotonic())
            line.tick(packet)
        for tick in range(int(max_tail_s / 0.02)):  # then the agent's last reply
            replied = [t for t in said if started and t >= started[0] + last_end]
            if line.hung_up.is_set() or (tick >= tail_s / 0.02 and replied and time.monotonic() - replied[-1] >= 2.0):
                break
            await clock.wait_tick()
            line.tick(ULAW_SILENCE)
        line.hang_up()

    player = asyncio.create_task(play(), name=f"replay-{call.name}")
    try:
        outcome = await session.run()
    finally:
        line.hang_up()
        player.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await player
    if not started or probe.offset is None:
        return [StageTimes(i, None, None, None, None, None) for i in range(1, len(spans) + 1)]
    # pipeline clock + offset = monotonic; minus the first packet's instant = seconds into the recording
    return match_turns(spans, outcome.latency.turns, probe.offset - started[0])
