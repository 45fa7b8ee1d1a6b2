"""End of turn that knows the question: a complete answer ends the lead's turn at once.

Smart-Turn judges from the audio alone whether the lead has finished, and it is right most of
the time; but a short, flat confirmation ("Yes, this is Jane.") often sounds unfinished to it,
and the turn then waits out the whole silence window (``turn_stop_s``, 1 s) before the agent
speaks. The agent knows what it has just asked. When the recognised words answer it (the slot
asked about is in them, the identity question got a yes or a no, a booking offer got a choice,
the lead asked to stop or asked a question of their own), the turn ends as soon as the
transcript is in. Words that do not answer the question go to Smart-Turn, so a lead who pauses
mid-thought ("we're thinking… maybe in the spring") is not cut off.

Smart-Turn runs only for those. The end of a turn needs the transcript either way (the agent
cannot answer words it has not got), so at the VAD stop the audio Smart-Turn would judge is set
aside, and it is judged when the transcript has arrived and does not answer. An answered turn
costs no inference at all (about 50 ms of CPU each); a turn that is not an answer ends when both
the transcript and Smart-Turn's verdict are in, as before, one inference later.

A lead may also go on after a pause long enough for the VAD to stop ("Yes, … this is Jane."):
the VAD confirms new speech only after ``start_secs`` of it, but it hears the first voiced
window at once. While the call's VAD hears voice, the answer waits; it ends the turn once the
VAD is quiet again, and not at all when the VAD confirms that the lead is speaking (the turn
goes on, and its end is decided again). What is judged is everything the lead said in the
turn: "Yes, … this is Jane." answers the identity question even when the recogniser makes
"this is Jane" of the part after the pause alone (heard as "mrs train", it answers nothing, and
Smart-Turn, judging "this is Jane" unfinished, held the turn for its whole silence window). When
the part after a pause comes out of the recogniser empty (a breath, a word too faint:
:class:`NothingHeardFrame`), what came before decides the same way; without an answer,
Smart-Turn judges the audio at once instead of waiting for a transcript that will not come.

The lead's first words ("Hello?") are not judged at all when the agent is already answering them
(``settled``: the opening, spoken as soon as the lead stops, see ``greet_on_first_words``): their
turn has nothing left to decide, so it ends with the silence window, and a second "hello?" within
it joins the turn instead of cutting the opening off. That saves one Smart-Turn inference per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState
from pipecat.frames.frames import Frame, TranscriptionFrame, VADUserStoppedSpeakingFrame
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

from reauto.voice.services import NothingHeardFrame

#: How often a held answer looks again whether the VAD is quiet.
RECHECK_S = 0.03


class AnswerAwareStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """Smart-Turn's stop strategy, ended by a transcript that answers the agent's question.

    Args:
        judge: whether a transcript answers what the agent asked (the conversation's brain
            decides; set once the pipeline is built). ``None``: Smart-Turn alone, as pipecat
            runs it (at the VAD stop).
        vad: the call's VAD analyzer, whose state tells whether the lead has started again.
        settled: whether the agent is already answering the turn (the opening, spoken on the
            lead's first words); its words are then not judged, and the silence window ends it.
        **kwargs: as for :class:`TurnAnalyzerUserTurnStopStrategy` (``turn_analyzer``, a
            pipecat ``BaseSmartTurn``).

    Attributes:
        answered: turns ended by an answer.
        held: answers that waited because the VAD heard the lead go on.
        analysed: Smart-Turn inferences run for transcripts that did not answer.
        unjudged: turns left to the silence window because the agent was already answering them.
    """

    def __init__(self, *, judge: Callable[[str], bool] | None = None, vad: VADAnalyzer | None = None,
                 settled: Callable[[], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.judge = judge
        self.vad = vad
        self.settled = settled
        self.answered = 0
        self.held = 0
        self.analysed = 0
        self.unjudged = 0
        self._hold: asyncio.Task[None] | None = None
        self._segment: list[Any] | None = None  # the audio Smart-Turn judges, as it was at the VAD stop
        self._heard: list[str] = []  # this turn's transcripts so far

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, NothingHeardFrame):
            await self._handle_nothing_heard()
            return ProcessFrameResult.CONTINUE
        return await super().process_frame(frame)

    async def _reset(self) -> None:
        await super()._reset()  # a turn starts or ends
        self._heard.clear()

    def _answers(self) -> bool:
        """Whether what the lead has said this turn, all of it, answers the question."""
        text = " ".join(self._heard)
        return bool(text) and self.judge is not None and self.judge(text)

    async def _handle_vad_user_stopped_speaking(self, frame: VADUserStoppedSpeakingFrame) -> None:
        if self.judge is None:
            await super()._handle_vad_user_stopped_speaking(frame)
            return
        self._vad_user_speaking = False
        self._stop_secs = frame.stop_secs
        self._vad_stopped = True
        self._segment = list(self._turn_analyzer._audio_buffer)  # noqa: SLF001 (what pipecat would judge now)
        # the safety net for a slow recogniser, from when the lead stopped (as pipecat arms it)
        deadline = frame.timestamp - frame.stop_secs + self._stt_timeout
        self._timeout_task = self.task_manager.create_task(
            self._timeout_handler(max(0.0, deadline - time.time())), f"{self}::_timeout_handler")

    async def _handle_transcription(self, frame: TranscriptionFrame) -> None:
        await super()._handle_transcription(frame)
        if self.judge is None or self._turn_complete:
            return
        if frame.text:
            self._heard.append(frame.text)
        if not self._vad_stopped or self._vad_user_speaking:
            return
        if self._answers():
            if self._voice():
                self.held += 1
                await self._cancel_hold()
                self._hold = self.task_manager.create_task(self._end_when_quiet(), f"{self}::_end_when_quiet")
                return
            await self._end_turn()
        elif self._segment is not None:
            await self._not_an_answer()

    async def _handle_nothing_heard(self) -> None:
        """The last segment's transcript is in, and empty."""
        if self.judge is None or self._turn_complete or not self._vad_stopped or self._vad_user_speaking:
            return
        if self._answers():
            await self._end_turn()  # the lead answered before the pause
        elif self._segment is not None:
            await self._not_an_answer()

    async def _not_an_answer(self) -> None:
        """Smart-Turn judges words that do not answer, unless the agent is already answering
        them: then the silence window ends the turn, without an inference."""
        if self.settled is not None and self.settled():
            self._segment = None
            self.unjudged += 1
            return
        await self._analyse()

    async def _analyse(self) -> None:
        """Smart-Turn's verdict on the audio of the VAD stop; the turn ends if it is complete."""
        segment, self._segment = self._segment, None
        analyzer: Any = self._turn_analyzer
        self.analysed += 1
        if segment:
            loop = asyncio.get_running_loop()
            state, metrics = await loop.run_in_executor(analyzer._model_executor,  # noqa: SLF001
                                                        analyzer._process_speech_segment, segment)  # noqa: SLF001
        else:  # nothing heard (the silence limit already cleared it): pipecat's answer, without the pool
            state, metrics = EndOfTurnState.INCOMPLETE, None
        if not self._vad_stopped or self._vad_user_speaking:
            return  # the lead went on meanwhile: this verdict is stale
        if state == EndOfTurnState.COMPLETE:
            analyzer.clear()
        await self._handle_prediction_result(metrics)
        self._turn_complete = state == EndOfTurnState.COMPLETE
        if self._turn_complete:
            self._transcript_finalized = True  # one transcript per segment: the one just judged
        await self._maybe_trigger_user_turn_stopped()

    async def _discard_pending_end_of_turn(self) -> None:
        await super()._discard_pending_end_of_turn()  # the lead is speaking again, or a new turn
        self._segment = None
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
        self._segment = None
        self._turn_complete = True
        self._transcript_finalized = True  # one transcript per segment: this one is final
        self._turn_analyzer.clear()  # the turn is over: its audio is not judged
        await self._maybe_trigger_user_turn_stopped()

    async def _cancel_hold(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None and hold is not asyncio.current_task():
            await self.task_manager.cancel_task(hold)
