"""The conversation seat of the pipeline: lead turns in, agent replies out.

:class:`ConversationProcessor` sits between turn detection and TTS. It speaks the opening as
soon as the lead's first words end (the VAD's stop, not the end-of-turn model: the 2-second
abandon rule starts at "hello"), hands every finished lead turn to the :class:`Brain`, keeps in
the brain's history only what the lead actually heard when the agent is interrupted, and ends
the call when the brain says so — after the last words have been played.

A brain that offers ``respond_stream`` (:class:`StreamingBrain`) is heard a sentence at a time:
each sentence goes to TTS as soon as the brain hands it over, so the first one is being
synthesised while the rest is generated. The reply is still one turn: one transcript entry,
one ``on_agent_text``, and one ``mark`` after its last sentence. An interruption while it is
generated stops it there; what the lead heard is estimated over every sentence played.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
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
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from reauto.voice.services import NothingHeardFrame

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
    transfer: bool = False  # hand the lead to a person: the call's runner dials them while this is said


@dataclass
class TransferResultFrame(SystemFrame):
    """How the hand-over to a person ended: ``bridged`` (the lead is with them: the agent's part
    of the call ends once it has finished speaking), or not, with the reason (the brain's
    ``transfer_failed`` speaks next)."""

    bridged: bool = False
    reason: str = ""


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


class StreamingBrain(Brain, Protocol):
    """A brain that can hand its reply over a sentence at a time."""

    def respond_stream(self, text: str, confidence: float | None) -> AsyncIterator[Reply]:
        """The reply to one finished lead turn, as sentence-sized :class:`Reply` pieces.

        Every piece carries the reply's ``agent``, ``outcome`` and ``end_call`` (a reply that
        ends the call should come as one piece). The brain's history holds, at each piece, what
        it has handed over so far.
        """


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
        speaks_first: speak the opening as soon as the call's media starts (the lead called us:
            they listen for the agent's greeting).
        on_transfer: called once when a reply hands the lead to a person (it goes to TTS at the
            same moment), with the seconds since the lead stopped speaking (the request); the
            runner answers with a :class:`TransferResultFrame`.
    """

    def __init__(
        self,
        brain: Brain,
        *,
        on_turn: Callable[[TurnRecord], None] | None = None,
        on_agent_text: Callable[[str], None] | None = None,
        greet_on_first_words: bool = True,
        on_transfer: Callable[[float | None], None] | None = None,
        speaks_first: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._speaks_first = speaks_first
        self._on_transfer = on_transfer
        self._transferring = False
        self._speech_end: float | None = None  # when the lead last stopped speaking (VAD)
        self._brain = brain
        self._on_turn = on_turn
        self._on_agent_text = on_agent_text
        self._greet_on_first_words = greet_on_first_words
        self._greeted = False
        self._skip_hello_turn = False
        self._pending: list[tuple[str, float | None, tuple[str, ...]]] = []  # text, confidence, alternatives
        self._replies = 0
        self._awaiting_transcript = False
        self._current: Reply | None = None
        self._bot_started: float | None = None
        self._heard_s = 0.0  # the current reply's audio played before the last pause
        self._rest: asyncio.Task[None] | None = None  # the streamed reply's later sentences
        self._pieces: AsyncIterator[Reply] | None = None
        self._streamed: TurnRecord | None = None  # the streamed reply's turn, until it is complete
        self._end_after_speech = False
        self._ended = False
        self.outcome: str | None = None
        self.turns: list[TurnRecord] = []

    def answering_first_words(self) -> bool:
        """Whether the opening is the agent's answer to the lead's first words, whose transcript
        has not come yet (``greet_on_first_words``)."""
        return self._skip_hello_turn

    def listening_for(self) -> str | None:
        """What the agent last asked, for the recogniser (the brain's ``listening_for``: a slot,
        ``identity``, ``booking``; None before the opening, after the end, or for a brain that
        cannot tell)."""
        listen = getattr(self._brain, "listening_for", None)
        if not self._greeted or self._ended or listen is None:
            return "identity" if not self._greeted and listen is not None else None
        return listen()  # type: ignore[no-any-return]

    def answers(self, text: str) -> bool:
        """Whether ``text`` answers what the agent last asked (the brain's judgement; ``False``
        before the opening, and for a brain that cannot tell)."""
        judge = getattr(self._brain, "answers", None)
        return self._greeted and not self._ended and judge is not None and bool(judge(text))

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame) and self._speaks_first and not self._greeted:
            await self.push_frame(frame, direction)
            await self._speak(self._brain.opening(), greeting=True)
            return
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speech_end = time.monotonic()
        if isinstance(frame, VADUserStoppedSpeakingFrame) and not self._greeted:
            await self.push_frame(frame, direction)
            if self._greet_on_first_words:
                self._skip_hello_turn = True
                await self._speak(self._brain.opening(), greeting=True)
            return
        if isinstance(frame, NothingHeardFrame) and self._skip_hello_turn:
            # the lead's first words came out of the recogniser empty: the next transcript is
            # not theirs, and the opening answered them anyway
            self._skip_hello_turn = self._awaiting_transcript = False
        elif isinstance(frame, TranscriptionFrame):
            result = getattr(frame, "result", None)
            confidence = getattr(result, "confidence", None)
            if self._skip_hello_turn:
                # Segmented STT yields one transcript per VAD segment, in order: the first one
                # after the opening is the lead's "hello?" that the opening already answered.
                self._skip_hello_turn = False
                self._awaiting_transcript = False  # the turn's end, if it came first, needs no reply
                self._record(TurnRecord("lead", frame.text, confidence))
            else:
                self._pending.append((frame.text, confidence, tuple(getattr(result, "alternatives", ()) or ())))
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
        elif isinstance(frame, TransferResultFrame):
            await self._transfer_ended(frame)
            return
        elif isinstance(frame, InputDTMFFrame) and frame.button.value == OPT_OUT_KEY:
            await self._opt_out()
            return
        elif isinstance(frame, InterruptionFrame):
            cut = await self._cut_stream()
            self._on_interruption()
            await self.push_frame(frame, direction)
            if cut:
                await self._push_mark()  # after the interruption, which would drop it
            return
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_started = time.monotonic()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            if self._bot_started is not None:
                self._heard_s += time.monotonic() - self._bot_started
            self._bot_started = None
            if self._end_after_speech and not self._ended:
                self._ended = True
                await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await self._cut_stream()
        await super().cleanup()

    async def _lead_turn_finished(self) -> None:
        if not self._pending:
            self._awaiting_transcript = True
            return
        self._awaiting_transcript = False
        if self._rest is not None:
            await asyncio.wait([self._rest])  # the previous reply is still being handed over
        text = " ".join(t for t, _, _ in self._pending).strip()
        confs = [c for _, c, _ in self._pending if c is not None]
        confidence = min(confs) if confs else None
        # the recogniser's other readings of the turn: of its last segment, after what came before
        head = " ".join(t for t, _, _ in self._pending[:-1])
        alternatives = [f"{head} {a}".strip() for a in self._pending[-1][2]] if self._pending else []
        self._pending.clear()
        self._record(TurnRecord("lead", text, confidence))
        if self._ended or self._end_after_speech:
            return
        if not self._greeted:
            await self._speak(self._brain.opening(), greeting=True)
            return
        started = time.perf_counter()
        hear = getattr(self._brain, "hear", None)
        if hear is not None:
            hear(alternatives)
        respond_stream = getattr(self._brain, "respond_stream", None)
        if respond_stream is None:
            reply = await self._brain.respond(text, confidence)
            await self._speak(reply, brain_ms=(time.perf_counter() - started) * 1000)
            return
        pieces: AsyncIterator[Reply] = respond_stream(text, confidence)
        first = await anext(pieces, None)
        brain_ms = (time.perf_counter() - started) * 1000
        if first is None or not first.text:
            await pieces.aclose()  # type: ignore[attr-defined]
            if first is not None:
                await self._speak(first, brain_ms=brain_ms)
            return
        await self._begin_stream(first, brain_ms)
        self._pieces = pieces
        self._rest = self.create_task(self._stream_rest(pieces), name="conversation-stream")

    async def _begin_stream(self, first: Reply, brain_ms: float) -> None:
        """Speak a streamed reply's first sentence; the turn is reported once the reply is complete."""
        self._greeted = True
        self._current, self._heard_s = first, 0.0
        self._hand_over(first)
        if first.outcome:
            self.outcome = first.outcome
        if first.end_call:
            self._end_after_speech = True
        self._streamed = TurnRecord("agent", first.text, agent=first.agent)
        self.turns.append(self._streamed)
        frame = TTSSpeakFrame(first.text)
        frame.metadata.update(greeting=False, brain_ms=brain_ms)
        await self.push_frame(frame)

    async def _stream_rest(self, pieces: AsyncIterator[Reply]) -> None:
        """Speak the streamed reply's later sentences as they come, then close the reply (also
        when the brain fails midway: what was handed over stays the reply)."""
        try:
            async for piece in pieces:
                if not piece.text or self._current is None or self._streamed is None:
                    continue
                self._current = replace(self._current, text=f"{self._current.text} {piece.text}")
                self._streamed.text = self._current.text
                if piece.outcome:
                    self.outcome = piece.outcome
                await self.push_frame(TTSSpeakFrame(piece.text))
        except Exception as exc:  # a brain's bug must not leave the reply open
            await self.push_error(f"the brain failed in the middle of a reply: {type(exc).__name__}: {exc}",
                                  exception=exc)
        finally:
            self._rest = self._pieces = None
        self._stream_done()
        await self._push_mark()

    async def _cut_stream(self) -> bool:
        """Stop a streamed reply that is still being generated; whether one was (it is then
        complete with what was handed over, and still owes its mark)."""
        task, pieces = self._rest, self._pieces
        if task is None:
            return False
        self._rest = self._pieces = None
        await self.cancel_task(task)
        if pieces is not None:
            await pieces.aclose()  # type: ignore[attr-defined]
        self._stream_done()
        return True

    def _stream_done(self) -> None:
        turn, self._streamed = self._streamed, None
        if turn is not None and self._on_turn is not None:
            self._on_turn(turn)
        if self._on_agent_text is not None and self._current is not None:
            self._on_agent_text(self._current.text)

    async def _push_mark(self) -> None:
        # Twilio-style mark: the transport reports it once the reply's audio has played
        self._replies += 1
        await self.push_frame(OutputTransportMessageFrame(message=mark_message(f"reply-{self._replies}")))

    def _hand_over(self, reply: Reply) -> None:
        if reply.transfer and not self._transferring and self._on_transfer is not None:
            self._transferring = True
            self._on_transfer(time.monotonic() - self._speech_end if self._speech_end is not None else None)

    async def _transfer_ended(self, frame: TransferResultFrame) -> None:
        self._transferring = False
        if self._ended or self._end_after_speech:
            return
        if frame.bridged:
            self.outcome = "transferred"
            done = getattr(self._brain, "transferred", None)
            if done is not None:
                done()
            if self._bot_started is None and self._rest is None:  # nothing playing: the agent leaves now
                self._ended = True
                await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
            else:
                self._end_after_speech = True
            return
        failed = getattr(self._brain, "transfer_failed", None)
        if failed is None:
            return
        cut = await self._cut_stream()
        self._on_interruption()
        await self.broadcast_interruption()  # "still connecting you…" gives way
        if cut:
            await self._push_mark()
        await self._speak(await failed(frame.reason))

    async def _speak(self, reply: Reply, *, greeting: bool = False, brain_ms: float = 0.0) -> None:
        self._greeted = True
        self._current, self._heard_s = reply, 0.0
        self._hand_over(reply)
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
            await self._push_mark()
        elif reply.end_call and not self._ended:
            self._ended = True
            await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)

    async def _switch(self, brain: Brain) -> None:
        self._pending.clear()
        self._skip_hello_turn = self._awaiting_transcript = self._end_after_speech = False
        if self._ended:
            self._brain = brain
            return
        cut = await self._cut_stream()
        self._on_interruption()  # the old brain's history keeps what was heard of the cut-off reply
        self._brain = brain
        await self.broadcast_interruption()  # stop what is playing (Twilio: clear)
        if cut:
            await self._push_mark()
        await self._speak(brain.opening())

    async def _opt_out(self) -> None:
        opt_out = getattr(self._brain, "opt_out", None)
        if opt_out is None or self._ended or self._end_after_speech:
            return
        self._record(TurnRecord("lead", f"[pressed {OPT_OUT_KEY}]"))
        cut = await self._cut_stream()
        self._on_interruption()
        await self.broadcast_interruption()
        if cut:
            await self._push_mark()
        await self._speak(opt_out())

    def _on_interruption(self) -> None:
        if self._current is None or self._bot_started is None:
            return  # nothing playing: what was handed over has been heard
        heard_s = self._heard_s + time.monotonic() - self._bot_started
        words = self._current.text.split()
        spoken = " ".join(words[: int(heard_s * WORDS_PER_SECOND)])
        if len(spoken) < len(self._current.text):
            self._brain.interrupted(spoken)
            for turn in reversed(self.turns):
                if turn.speaker == "agent":
                    turn.text, turn.interrupted = spoken, True
                    break
        self._bot_started = None

    @property
    def recording_declined(self) -> bool:
        """The lead objected to being recorded (the brain understood it)."""
        return bool(getattr(self._brain, "recording_declined", False))

    def _record(self, turn: TurnRecord) -> None:
        self.turns.append(turn)
        if self._on_turn is not None:
            self._on_turn(turn)
