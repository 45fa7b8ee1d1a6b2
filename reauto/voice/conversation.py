"""The conversation seat of the pipeline: lead turns in, agent replies out.

:class:`ConversationProcessor` sits between turn detection and TTS. It speaks the opening as
soon as the lead's first words end (the VAD's stop, not the end-of-turn model: the 2-second
abandon rule starts at "hello"), hands every finished lead turn to the :class:`Brain`, keeps in
the brain's history only what the lead actually heard when the agent is interrupted, and ends
the call when the brain says so — after the last words have been played.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    Frame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputTransportMessageFrame,
    SystemFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

#: Average speaking rate of the agent voices, words per second (for interrupted replies).
WORDS_PER_SECOND = 2.6
#: The keypad key that opts the lead out (announced in voicemails; "press 9").
OPT_OUT_KEY = "9"


def mark_message(name: str) -> dict[str, Any]:
    """A media-stream ``mark``: sent after a reply's audio, reported back once it has played."""
    return {"event": "mark", "mark": {"name": name}}


@dataclass(frozen=True)
class Reply:
    """What the agent says next and what it means for the call."""

    text: str
    end_call: bool = False
    outcome: str | None = None
    agent: str = ""


@dataclass
class SwitchBrainFrame(SystemFrame):
    """Hand the rest of the call to another brain, which speaks its opening at once (what was
    playing is cut off): answering-machine detection found a machine after the call began."""

    brain: Any = None
    reason: str = ""


class Brain(Protocol):
    """The conversation agent behind the pipeline (scripted or LLM)."""

    def opening(self) -> Reply:
        """The first words of the call (identification, AI disclosure, recording notice)."""

    async def respond(self, text: str, confidence: float | None) -> Reply:
        """The reply to one finished lead turn."""

    def interrupted(self, spoken: str) -> None:
        """The last reply was cut off: only ``spoken`` reached the lead."""


@dataclass
class TurnRecord:
    """One turn of the conversation, for the transcript and latency report."""

    speaker: str
    text: str
    confidence: float | None = None
    interrupted: bool = False
    agent: str = ""
    at: float = field(default_factory=time.monotonic)


class ConversationProcessor(FrameProcessor):
    """Bridges Pipecat frames and a :class:`Brain`.

    Args:
        brain: the conversation agent.
        on_turn: called with every :class:`TurnRecord` as it happens.
        on_agent_text: called with each reply's text when it goes to TTS (the simulated lead
            uses it to know what was asked; real calls ignore it).
        greet_on_first_words: speak the opening when the lead's first words end.
    """

    def __init__(
        self,
        brain: Brain,
        *,
        on_turn: Callable[[TurnRecord], None] | None = None,
        on_agent_text: Callable[[str], None] | None = None,
        greet_on_first_words: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._brain = brain
        self._on_turn = on_turn
        self._on_agent_text = on_agent_text
        self._greet_on_first_words = greet_on_first_words
        self._greeted = False
        self._skip_hello_turn = False
        self._pending: list[tuple[str, float | None]] = []
        self._replies = 0
        self._awaiting_transcript = False
        self._current: Reply | None = None
        self._bot_started: float | None = None
        self._end_after_speech = False
        self._ended = False
        self.outcome: str | None = None
        self.turns: list[TurnRecord] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame) and not self._greeted:
            await self.push_frame(frame, direction)
            if self._greet_on_first_words:
                self._skip_hello_turn = True
                await self._speak(self._brain.opening(), greeting=True)
            return
        if isinstance(frame, TranscriptionFrame):
            result = getattr(frame, "result", None)
            confidence = getattr(result, "confidence", None)
            if self._skip_hello_turn:
                # Segmented STT yields one transcript per VAD segment, in order: the first one
                # after the opening is the lead's "hello?" that the opening already answered.
                self._skip_hello_turn = False
                self._record(TurnRecord("lead", frame.text, confidence))
            else:
                self._pending.append((frame.text, confidence))
                if self._awaiting_transcript:
                    # the end of turn came before the recogniser finished: answer now
                    self._awaiting_transcript = False
                    await self.push_frame(frame, direction)
                    await self._lead_turn_finished()
                    return
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._awaiting_transcript = False  # the lead goes on: wait for this turn's end
        elif isinstance(frame, UserStoppedSpeakingFrame):
            await self.push_frame(frame, direction)
            await self._lead_turn_finished()
            return
        elif isinstance(frame, SwitchBrainFrame):
            await self._switch(frame.brain)
            return
        elif isinstance(frame, InputDTMFFrame) and frame.button.value == OPT_OUT_KEY:
            await self._opt_out()
            return
        elif isinstance(frame, InterruptionFrame):
            self._on_interruption()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_started = time.monotonic()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_started = None
            if self._end_after_speech and not self._ended:
                self._ended = True
                await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
        await self.push_frame(frame, direction)

    async def _lead_turn_finished(self) -> None:
        if not self._pending:
            self._awaiting_transcript = True
            return
        self._awaiting_transcript = False
        text = " ".join(t for t, _ in self._pending).strip()
        confs = [c for _, c in self._pending if c is not None]
        confidence = min(confs) if confs else None
        self._pending.clear()
        self._record(TurnRecord("lead", text, confidence))
        if self._ended or self._end_after_speech:
            return
        if not self._greeted:
            await self._speak(self._brain.opening(), greeting=True)
            return
        started = time.perf_counter()
        reply = await self._brain.respond(text, confidence)
        await self._speak(reply, brain_ms=(time.perf_counter() - started) * 1000)

    async def _speak(self, reply: Reply, *, greeting: bool = False, brain_ms: float = 0.0) -> None:
        self._greeted = True
        self._current = reply
        if reply.outcome:
            self.outcome = reply.outcome
        self._record(TurnRecord("agent", reply.text, agent=reply.agent))
        if self._on_agent_text is not None:
            self._on_agent_text(reply.text)
        if reply.end_call:
            self._end_after_speech = True
        if reply.text:
            frame = TTSSpeakFrame(reply.text)
            frame.metadata.update(greeting=greeting, brain_ms=brain_ms)
            await self.push_frame(frame)
            # Twilio-style mark: the transport reports it once the reply's audio has played
            self._replies += 1
            await self.push_frame(OutputTransportMessageFrame(message=mark_message(f"reply-{self._replies}")))
        elif reply.end_call and not self._ended:
            self._ended = True
            await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)

    async def _switch(self, brain: Brain) -> None:
        self._brain = brain
        self._pending.clear()
        self._skip_hello_turn = self._awaiting_transcript = self._end_after_speech = False
        if self._ended:
            return
        self._on_interruption()  # the history keeps what was heard of the cut-off reply
        await self.broadcast_interruption()  # stop what is playing (Twilio: clear)
        await self._speak(brain.opening())

    async def _opt_out(self) -> None:
        opt_out = getattr(self._brain, "opt_out", None)
        if opt_out is None or self._ended or self._end_after_speech:
            return
        self._record(TurnRecord("lead", f"[pressed {OPT_OUT_KEY}]"))
        self._on_interruption()
        await self.broadcast_interruption()
        await self._speak(opt_out())

    def _on_interruption(self) -> None:
        if self._current is None or self._bot_started is None:
            return
        heard_s = time.monotonic() - self._bot_started
        words = self._current.text.split()
        spoken = " ".join(words[: int(heard_s * WORDS_PER_SECOND)])
        if len(spoken) < len(self._current.text):
            self._brain.interrupted(spoken)
            for turn in reversed(self.turns):
                if turn.speaker == "agent":
                    turn.text, turn.interrupted = spoken, True
                    break
        self._bot_started = None

    def _record(self, turn: TurnRecord) -> None:
        self.turns.append(turn)
        if self._on_turn is not None:
            self._on_turn(turn)
