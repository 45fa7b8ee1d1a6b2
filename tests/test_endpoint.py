"""End of turn that knows the question: real pipecat turn processing, the scripted brain's judgement."""

import asyncio
import time
from datetime import date

import numpy as np
import pytest
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import (
    TranscriptionFrame, UserStartedSpeakingFrame, UserStoppedSpeakingFrame, VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.voice.endpoint import AnswerAwareStopStrategy
from reauto.voice.pipeline import LeadTurnProcessor, TurnTaking
from reauto.voice.services import UNHEARD, NothingHeardFrame
from reauto.voice.smart_turn import SharedSmartTurnAnalyzer


def strategy(judge):
    # no audio reaches the analyzer here, so Smart-Turn answers "incomplete" and waits
    analyzer = SharedSmartTurnAnalyzer(params=SmartTurnParams(stop_secs=1.0))
    return AnswerAwareStopStrategy(turn_analyzer=analyzer, judge=judge)


async def turn(stop, text, tail_s=0.1):
    processor = LeadTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop]), forward_audio=False)
    frames = [VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
              VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
              TranscriptionFrame(text, "lead", "2026-11-29T10:00:00Z"), SleepFrame(tail_s)]
    started = time.perf_counter()
    down, _ = await run_test(processor, frames_to_send=frames)
    return [type(f) for f in down if isinstance(f, (UserStartedSpeakingFrame, UserStoppedSpeakingFrame))], \
        time.perf_counter() - started


@pytest.mark.unit
async def test_an_answer_ends_the_turn_that_smart_turn_would_hold():
    heard = []
    stop = strategy(lambda text: heard.append(text) or True)
    kinds, took = await turn(stop, "Yes, this is Jane.")
    assert kinds == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame] and stop.answered == 1
    assert heard == ["Yes, this is Jane."] and took < 1.0  # not the 1 s silence window


class VadState:
    """The call's VAD as the strategy reads it: its state, changed on a timer."""

    def __init__(self, state, then=None, after_s=0.0):
        self._vad_state = state
        if then is not None:
            asyncio.get_running_loop().call_later(after_s, setattr, self, "_vad_state", then)


@pytest.mark.unit
async def test_an_answer_waits_while_the_vad_hears_the_lead_go_on_then_ends_the_turn():
    stop = strategy(lambda text: True)
    stop.vad = VadState(VADState.STARTING, then=VADState.QUIET, after_s=0.2)  # a cough, not words
    kinds, _ = await turn(stop, "yes", tail_s=0.4)
    assert kinds == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame] and stop.held == 1 and stop.answered == 1


@pytest.mark.unit
async def test_an_answer_the_lead_goes_on_from_does_not_end_the_turn():
    stop = strategy(lambda text: True)
    stop.vad = VadState(VADState.STARTING)
    processor = LeadTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop]), forward_audio=False)
    frames = [VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
              VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
              TranscriptionFrame("yes", "lead", "2026-11-29T10:00:00Z"), SleepFrame(0.1),
              VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=time.time()), SleepFrame(0.2)]
    down, _ = await run_test(processor, frames_to_send=frames)
    stop.vad._vad_state = VADState.QUIET  # too late: the lead is speaking, the hold was dropped
    await asyncio.sleep(0.1)
    assert not any(isinstance(f, UserStoppedSpeakingFrame) for f in down) and stop.answered == 0 and stop._hold is None


def after_a_pause(first, then):
    """The lead answers, goes on after a pause long enough for the VAD to stop, then stops; the
    recogniser makes ``first`` of the first part and ``then`` (a frame) of the second."""
    return [VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
            VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time()), SleepFrame(0.02),
            VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=time.time()), SleepFrame(0.02),
            TranscriptionFrame(first, "lead", "2026-11-29T10:00:00Z"), SleepFrame(0.05),
            VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
            then, SleepFrame(0.1)]


@pytest.mark.unit
@pytest.mark.parametrize("complete", [True, False])
@pytest.mark.parametrize("first", ["yes", "well"])
@pytest.mark.parametrize("then", ["nothing", "mrs train"])
async def test_the_whole_turn_is_judged_after_a_pause(first, then, complete):
    """What the lead said before the pause counts: after an answer the turn ends without
    Smart-Turn, whatever the rest was heard as (or if nothing was); without one, Smart-Turn
    judges, at once when nothing more was heard."""
    analyzer = Verdict(complete)
    stop = AnswerAwareStopStrategy(turn_analyzer=analyzer, judge=lambda text: text.startswith("yes"))
    processor = LeadTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop]), forward_audio=False)
    rest = NothingHeardFrame() if then == "nothing" else TranscriptionFrame(then, "lead", "2026-11-29T10:00:01Z")
    down, _ = await run_test(processor, frames_to_send=after_a_pause(first, rest))
    ended = any(isinstance(f, UserStoppedSpeakingFrame) for f in down)
    if first == "yes":
        assert ended and stop.answered == 1 and analyzer.inferences == 0
    else:
        assert ended is complete and stop.answered == 0 and analyzer.inferences == 1


@pytest.mark.unit
@pytest.mark.parametrize("judge", [lambda text: False, None])
async def test_words_that_do_not_answer_wait_for_smart_turn(judge):
    stop = strategy(judge)
    kinds, _ = await turn(stop, "well we were thinking")
    assert kinds == [UserStartedSpeakingFrame] and stop.answered == 0


class Verdict(SharedSmartTurnAnalyzer):
    """Smart-Turn with a fixed verdict on whatever audio it is given (counts its inferences)."""

    def __init__(self, complete):
        super().__init__(params=SmartTurnParams(stop_secs=1.0))
        self.complete, self.inferences = complete, 0
        self._audio_buffer = [(time.monotonic(), np.zeros(320, dtype=np.int16))]  # some audio heard

    def _process_speech_segment(self, audio_buffer):
        self.inferences += 1
        return (EndOfTurnState.COMPLETE if self.complete else EndOfTurnState.INCOMPLETE), None


@pytest.mark.unit
@pytest.mark.parametrize("complete", [True, False])
async def test_smart_turn_judges_only_transcripts_that_do_not_answer(complete):
    analyzer = Verdict(complete)
    stop = AnswerAwareStopStrategy(turn_analyzer=analyzer, judge=lambda text: text == "yes")
    kinds, _ = await turn(stop, "well we were thinking")
    assert analyzer.inferences == 1 and stop.analysed == 1 and stop.answered == 0
    assert kinds == ([UserStartedSpeakingFrame, UserStoppedSpeakingFrame] if complete else [UserStartedSpeakingFrame])
    answered = Verdict(complete)
    stop = AnswerAwareStopStrategy(turn_analyzer=answered, judge=lambda text: text == "yes")
    kinds, _ = await turn(stop, "yes")
    assert answered.inferences == 0 and stop.answered == 1  # no inference for an answer
    assert kinds == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame]


@pytest.mark.unit
@pytest.mark.parametrize("heard", ["hello", "nothing"])
async def test_words_the_agent_is_already_answering_are_left_to_the_silence_window(heard):
    """The lead's first words, which the opening answers: no inference, and no end before the
    silence window (a second "hello?" within it joins the turn instead of cutting the opening)."""
    analyzer = Verdict(True)  # would end the turn at once
    stop = AnswerAwareStopStrategy(turn_analyzer=analyzer, judge=lambda text: False, settled=lambda: True)
    processor = LeadTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[stop]), forward_audio=False)
    words = NothingHeardFrame() if heard == "nothing" else TranscriptionFrame(heard, "lead", "2026-11-29T10:00:00Z")
    frames = [VADUserStartedSpeakingFrame(start_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
              VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time()), SleepFrame(0.05),
              words, SleepFrame(0.1)]
    down, _ = await run_test(processor, frames_to_send=frames)
    assert not any(isinstance(f, UserStoppedSpeakingFrame) for f in down)
    assert analyzer.inferences == 0 and stop.analysed == 0 and stop.unjudged == 1


@pytest.mark.unit
async def test_without_a_judge_smart_turn_runs_at_the_vad_stop_as_in_pipecat():
    analyzer = Verdict(True)
    stop = AnswerAwareStopStrategy(turn_analyzer=analyzer)
    kinds, _ = await turn(stop, "anything")
    assert analyzer.inferences == 1 and stop.analysed == 0
    assert kinds == [UserStartedSpeakingFrame, UserStoppedSpeakingFrame]


@pytest.mark.unit
def test_turn_taking_uses_it_unless_told_not_to():
    vad, strategies = TurnTaking().models()
    assert isinstance(strategies.stop[0], AnswerAwareStopStrategy) and strategies.stop[0].vad is vad
    plain = TurnTaking(answer_ends_turn=False).strategies().stop[0]
    assert type(plain) is TurnAnalyzerUserTurnStopStrategy


def scripted(**kw):
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", "Are you looking to buy or to sell?"),
                                     Question("timeline_months", "When are you hoping to move?"),
                                     Question("preapproved", "Are you already pre-approved?")],
                          booking_slots=["Tuesday at 10 AM", "Wednesday at 2 PM"], today=date(2026, 11, 24))
    return ScriptedBrain(config, **kw)


@pytest.mark.unit
@pytest.mark.parametrize(("agent", "index", "said", "complete"), [
    ("greeter", 0, "Yes, this is Jane.", True),
    ("greeter", 0, "no", True),
    ("greeter", 0, "hello", False),
    ("greeter", 0, "are you a robot", True),
    ("qualifier", 0, "we want to buy", True),
    ("qualifier", 0, "well we were", False),
    ("qualifier", 1, "in about three months", True),
    ("qualifier", 1, "we're thinking", False),
    ("qualifier", 2, "yes we are", True),
    ("qualifier", 1, "please do not call me again", True),
    ("qualifier", 1, "can you say that again", True),
    ("qualifier", 1, UNHEARD, False),
    ("qualifier", 1, "  ", False),
    ("scheduler", 0, "tuesday works", True),
    ("scheduler", 0, "let me check my", False),
])
def test_the_scripted_brain_knows_a_complete_answer(agent, index, said, complete):
    brain = scripted()
    brain.agent, brain._index = agent, index
    brain._offers = list(brain.config.booking_slots)
    before = brain.snapshot()
    assert brain.answers(said) is complete
    assert brain.snapshot() == before  # judging changes nothing


@pytest.mark.unit
def test_an_answering_machine_never_answers():
    assert scripted(answered_by="machine").answers("yes") is False
