"""End of turn that knows the question: a complete answer ends the lead's turn at once.

Smart-Turn judges from the audio alone whether the lead has finished, and it is right most of
the time; but a short, flat confirmation ("Yes, this is Jane.") often sounds unfinished to it,
and the turn then waits out the whole silence window (``turn_stop_s``, 1 s) before the agent
speaks. The agent knows what it has just asked. When the recognised words answer it (the slot
asked about is in them, the identity question got a yes or a no, a booking offer got a choice,
the lead asked to stop or asked a question of their own), the turn ends as soon as the
transcript is in. Words that do not answer the question wait for Smart-Turn as before, so a
lead who pauses mid-thought ("we're thinking… maybe in the spring") is not cut off.

A lead may also go on after a pause long enough for the VAD to stop ("Yes, … this is Jane."):
the VAD confirms new speech only after ``start_secs`` of it, but it hears the first voiced
window at once. While the call's VAD hears voice, the answer waits; it ends the turn once the
VAD is quiet again, and not at all when the VAD confirms that the lead is speaking (the turn
goes on, and its end is decided again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState
from pipecat.frames.frames import TranscriptionFrame
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

#: How often a held answer looks again whether the VAD is quiet.
RECHECK_S = 0.03


class AnswerAwareStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """Smart-Turn's stop strategy, ended early by a transcript that answers the agent's question.

    Args:
        judge: whether a transcript answers what the agent asked (the conversation's brain
            decides; set once the pipeline is built). ``None``: Smart-Turn alone.
        vad: the call's VAD analyzer, whose state tells whether the lead has started again.
        **kwargs: as for :class:`TurnAnalyzerUserTurnStopStrategy` (``turn_analyzer``).

    Attributes:
        answered: turns ended by an answer before Smart-Turn or its silence window ended them.
        held: answers that waited because the VAD heard the lead go on.
    """

    def __init__(self, *, judge: Callable[[str], bool] | None = None, vad: VADAnalyzer | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.judge = judge
        self.vad = vad
        self.answered = 0
        self.held = 0
        self._hold: asyncio.Task[None] | None = None

    async def _handle_transcription(self, frame: TranscriptionFrame) -> None:
        await super()._handle_transcription(frame)
        # the lead has stopped (VAD), Smart-Turn has not ended the turn, and the words answer
        if (self.judge is None or self._turn_complete or not self._vad_stopped or self._vad_user_speaking
                or not frame.text or not self.judge(frame.text)):
            return
        if self._voice():
            self.held += 1
            await self._cancel_hold()
            self._hold = self.task_manager.create_task(self._end_when_quiet(), f"{self}::_end_when_quiet")
            return
        await self._end_turn()

    async def _discard_pending_end_of_turn(self) -> None:
        await super()._discard_pending_end_of_turn()  # the lead is speaking again, or a new turn
        await self._cancel_hold()

    async def cleanup(self) -> None:
        await self._cancel_hold()
        await super().cleanup()

    def _voice(self) -> bool:
        """Whether the VAD hears the lead now (speech starting, not yet confirmed)."""
        return self.vad is not None and self.vad._vad_state in (VADState.STARTING, VADState.SPEAKING)  # noqa: SLF001

    async def _end_when_quiet(self) -> None:
        try:
            while self._voice():
                await asyncio.sleep(RECHECK_S)
        except asyncio.CancelledError:
            return
        self._hold = None
        if self._vad_stopped and not self._vad_user_speaking and not self._turn_complete:
            await self._end_turn()

    async def _end_turn(self) -> None:
        self.answered += 1
        self._turn_complete = True
        self._transcript_finalized = True  # one transcript per segment: this one is final
        await self._maybe_trigger_user_turn_stopped()

    async def _cancel_hold(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None and hold is not asyncio.current_task():
            await self.task_manager.cancel_task(hold)
