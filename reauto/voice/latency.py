"""Per-turn latency of a call, from the frames the pipeline pushes and the stages' own clocks.

Stage marks (pipeline-clock seconds at the moment of the push) per lead turn:

* ``vad_stop``: the VAD decided the lead stopped speaking;
* ``stt_final``: the transcript of the segment was pushed;
* ``turn_end``: end of turn confirmed (Smart-Turn or its silence limit);
* ``agent_text``: the reply text went to TTS;
* ``tts_first``: the first synthesised audio left the TTS service;
* ``first_audio``: the output transport started sending the reply (``BotStartedSpeakingFrame``).

Inside-stage times travel on the frames' ``metadata``: ``stt_ms`` on the transcript (recogniser
time), ``brain_ms`` and ``greeting`` on the reply's ``TTSSpeakFrame``, ``tts_ms`` on the first
audio frame of a reply (provider's time to its first chunk) — so they stay with their turn
however late the observer sees them. Orchestration overhead is what is left of
VAD stop → first audio once those and the deliberate end-of-turn wait are taken out: the cost of
moving frames, resampling and queueing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed


@dataclass
class TurnLatency:
    """Marks and inside-stage durations of one lead turn → agent reply."""

    vad_stop: float | None = None
    stt_final: float | None = None
    turn_end: float | None = None
    agent_text: float | None = None
    tts_first: float | None = None
    first_audio: float | None = None
    stt_ms: float = 0.0
    brain_ms: float = 0.0
    tts_ms: float = 0.0
    greeting: bool = False

    @property
    def complete(self) -> bool:
        return self.vad_stop is not None and self.first_audio is not None

    @property
    def first_audio_ms(self) -> float | None:
        """VAD stop → first agent audio out."""
        if not self.complete:
            return None
        return (self.first_audio - self.vad_stop) * 1000  # type: ignore[operator]

    @property
    def turn_wait_ms(self) -> float:
        """The deliberate wait for end of turn after the transcript (policy, not overhead)."""
        if self.turn_end is None or self.greeting:
            return 0.0
        start = max(t for t in (self.vad_stop, self.stt_final) if t is not None)
        return max(0.0, (self.turn_end - start) * 1000)

    @property
    def overhead_ms(self) -> float | None:
        """First-audio time minus the time spent inside STT, turn wait, agent and TTS."""
        total = self.first_audio_ms
        if total is None:
            return None
        inside = self.brain_ms + self.tts_ms + self.turn_wait_ms
        if not self.greeting:
            inside += self.stt_ms
        return max(0.0, total - inside)


@dataclass
class CallLatency:
    """All turns of one call."""

    turns: list[TurnLatency] = field(default_factory=list)

    @property
    def current(self) -> TurnLatency:
        if not self.turns:
            self.turns.append(TurnLatency())
        return self.turns[-1]

    def new_turn(self) -> TurnLatency:
        self.turns.append(TurnLatency())
        return self.turns[-1]

    @property
    def hello_to_first_audio_ms(self) -> float | None:
        """The lead's first words → the agent's first audio (the abandoned-call clock)."""
        for turn in self.turns:
            if turn.greeting:
                return turn.first_audio_ms
        return None

    def completed(self) -> list[TurnLatency]:
        return [t for t in self.turns if t.complete]


class LatencyObserver(BaseObserver):
    """Fills a :class:`CallLatency` from the frames of one call's pipeline."""

    def __init__(self, latency: CallLatency, on_greeting: Callable[[float | None], None] | None = None) -> None:
        # first pushes only: every hop of every audio frame would cost more than it tells
        super().__init__(observe_every_push=False)
        self.latency = latency
        self.on_greeting = on_greeting  # told the lead's hello → the agent's first audio (s) once it is known

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if type(frame) not in _WATCHED and not isinstance(frame, TTSAudioRawFrame):
            return
        now = data.timestamp / 1e9  # pipeline clock at the push, however late we see it
        turn = self.latency.current
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            if turn.vad_stop is not None and turn.agent_text is not None:
                turn = self.latency.new_turn()
            # a lead who pauses and goes on talking moves the turn's speech end forward
            turn.vad_stop = now
        elif isinstance(frame, TranscriptionFrame):
            turn.stt_final = turn.stt_final or now
            turn.stt_ms += float(frame.metadata.get("stt_ms", 0.0))
        elif isinstance(frame, UserStoppedSpeakingFrame):
            turn.turn_end = turn.turn_end or now
        elif isinstance(frame, TTSSpeakFrame):
            if turn.agent_text is None:
                turn.agent_text = now
                turn.brain_ms = float(frame.metadata.get("brain_ms", 0.0))
                turn.greeting = bool(frame.metadata.get("greeting", False))
        elif isinstance(frame, TTSAudioRawFrame):
            if turn.agent_text is not None and turn.tts_first is None:
                turn.tts_first = now
                turn.tts_ms = float(frame.metadata.get("tts_ms", 0.0))
        elif isinstance(frame, BotStartedSpeakingFrame):
            if turn.agent_text is not None and turn.first_audio is None:
                turn.first_audio = now
                if turn.greeting and self.on_greeting is not None:
                    ms = turn.first_audio_ms
                    self.on_greeting(None if ms is None else ms / 1000)


_WATCHED = {
    VADUserStoppedSpeakingFrame,
    TranscriptionFrame,
    UserStoppedSpeakingFrame,
    TTSSpeakFrame,
    BotStartedSpeakingFrame,
}
