"""The conversation processor speaking a streamed reply, in a real Pipecat pipeline.

The LLM brain words the script over the Ollama double; a stand-in for TTS and the output
transport at the end of the pipeline records what it is asked to say and reports the bot
speaking, as the real transport does.
"""

import asyncio
from datetime import date
from pathlib import Path

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndFrame,
    Frame,
    InputDTMFFrame,
    InterruptionFrame,
    KeypadEntry,
    OutputTransportMessageFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from reauto.agent.llm import LLMBrain
from reauto.agent.prompts import PromptTemplate
from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.config import LlmSettings
from reauto.llm.ollama import OllamaChat
from reauto.voice.conversation import ConversationProcessor, Reply, SwitchBrainFrame
from reauto.voice.pipeline import quiet_pipecat
from reauto.voice.services import NothingHeardFrame
from tests.fakes.ollama import FakeOllama

pytestmark = pytest.mark.integration
PROMPT = Path(__file__).resolve().parents[1] / "prompts" / "agent.txt"
QUESTION = "Are you looking to buy or to sell?"


class Speaker(FrameProcessor):
    """Stands in for TTS and the output transport: keeps what reaches it, says when the bot speaks."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        self.speaking = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM and not isinstance(frame, StartFrame):
            self.frames.append(frame)
            if isinstance(frame, TTSSpeakFrame) and not self.speaking:
                self.speaking = True
                await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
            elif isinstance(frame, InterruptionFrame):
                self.speaking = False
        await self.push_frame(frame, direction)

    def said(self) -> list[str]:
        return [f.text for f in self.frames if isinstance(f, TTSSpeakFrame)]

    def kinds(self) -> list[str]:
        names = {TTSSpeakFrame: "say", OutputTransportMessageFrame: "mark", InterruptionFrame: "cut"}
        return [names[type(f)] for f in self.frames if type(f) in names]


async def until(condition, limit_s: float = 5.0) -> None:
    for _ in range(int(limit_s / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met in time")


class Call:
    """A pipeline of the conversation processor and a :class:`Speaker`, running."""

    def __init__(self, brain, greet_on_first_words: bool = False, **kwargs) -> None:
        self.texts: list[str] = []
        self.turns = []
        self.conversation = ConversationProcessor(brain, on_agent_text=self.texts.append, on_turn=self.turns.append,
                                                  greet_on_first_words=greet_on_first_words, **kwargs)
        self.speaker = Speaker()
        self.worker = PipelineWorker(Pipeline([self.conversation, self.speaker]), cancel_on_idle_timeout=False,
                                     enable_rtvi=False, enable_turn_tracking=False, idle_timeout_secs=None)

    async def __aenter__(self) -> "Call":
        started = asyncio.Event()

        @self.worker.event_handler("on_pipeline_started")
        async def _started(_worker, _frame):
            started.set()

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self.worker)
        self.run = asyncio.ensure_future(runner.run())
        await asyncio.wait_for(started.wait(), 5)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.worker.queue_frame(EndFrame())
        await asyncio.wait_for(self.run, 10)

    async def lead_says(self, text: str) -> None:
        await self.worker.queue_frames([TranscriptionFrame(text, "lead", "2026-11-29T10:00:00Z"),
                                        UserStoppedSpeakingFrame()])

    async def upstream(self, frame: Frame) -> None:
        await self.speaker.push_frame(frame, FrameDirection.UPSTREAM)


def llm_brain(url: str, **kw) -> LLMBrain:
    config = ScriptConfig(agent_name="Ava", business="Acme Realty", lead_first_name="Jane",
                          questions=[Question("intent", QUESTION),
                                     Question("timeline_months", "When are you hoping to move?")],
                          today=date(2026, 11, 24))
    chat = OllamaChat(LlmSettings(hosts=[url], first_token_timeout_s=1.0, timeout_s=3.0, **kw))
    return LLMBrain(ScriptedBrain(config), chat, PromptTemplate.load(PROMPT))


@pytest.fixture
async def fake():
    quiet_pipecat("ERROR")
    server = FakeOllama(reply="Lovely to meet you, Jane! I'm glad I caught you. Are you buying, or selling?",
                        token_s=0.01)
    await server.start()
    yield server
    await server.close()


async def test_each_sentence_goes_to_tts_as_it_comes_and_one_mark_follows_the_reply(fake):
    brain = llm_brain(fake.url)
    async with Call(brain) as call:
        await call.lead_says("hello")  # answered by the opening
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.upstream(BotStoppedSpeakingFrame())
        call.speaker.speaking = False
        await call.lead_says("yes this is jane")
        await until(lambda: call.speaker.kinds().count("mark") == 2)
    assert call.speaker.said()[1:] == ["Lovely to meet you, Jane!", "I'm glad I caught you.",
                                       "Are you buying, or selling?"]
    assert call.speaker.kinds() == ["say", "mark", "say", "say", "say", "mark"]
    marks = [f.message["mark"]["name"] for f in call.speaker.frames if isinstance(f, OutputTransportMessageFrame)]
    assert marks == ["reply-1", "reply-2"]
    first = [f for f in call.speaker.frames if isinstance(f, TTSSpeakFrame)][1]
    assert first.metadata["brain_ms"] > 0 and not first.metadata["greeting"]
    # one turn, one agent text, the whole reply; the brain's history holds it too
    assert call.texts[-1] == fake.reply and brain.scripted.history[-1] == ("agent", fake.reply)
    agent = [t for t in call.conversation.turns if t.speaker == "agent"]
    assert [t.text for t in agent] == [call.texts[0], fake.reply] and agent[1].agent == "qualifier"
    assert [t.speaker for t in call.turns] == ["lead", "agent", "lead", "agent"]
    await brain.chat.close()


async def test_an_interruption_while_the_reply_is_generated_stops_it_there(fake):
    fake.stall_after, fake.stall_s = 5, 1.0  # "Lovely to meet you, Jane!" then a long pause
    brain = llm_brain(fake.url)
    async with Call(brain) as call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.upstream(BotStoppedSpeakingFrame())
        call.speaker.speaking = False
        await call.lead_says("yes this is jane")
        await until(lambda: len(call.speaker.said()) == 2)
        await until(lambda: call.conversation._bot_started is not None)
        await call.worker.queue_frame(InterruptionFrame())  # the lead talks over the agent
        await until(lambda: call.speaker.kinds()[-1:] == ["mark"] and len(call.speaker.kinds()) == 5)
        assert brain.chat.hosts[0].in_flight == 0  # the request was closed
    # nothing more was said after the interruption, and the reply's mark came after it
    assert call.speaker.kinds() == ["say", "mark", "say", "cut", "mark"]
    cut = [t for t in call.conversation.turns if t.speaker == "agent"][-1]
    assert cut.interrupted and "Lovely to meet you, Jane!".startswith(cut.text)
    assert brain.scripted.history[-1] == ("agent", cut.text)
    assert call.texts[-1] == "Lovely to meet you, Jane!"
    await brain.chat.close()


async def test_a_pause_between_sentences_counts_what_was_heard_before_it(fake):
    brain = llm_brain(fake.url)
    async with Call(brain) as call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.upstream(BotStoppedSpeakingFrame())
        call.speaker.speaking = False
        await call.lead_says("yes this is jane")
        await until(lambda: call.speaker.kinds().count("mark") == 2)
        # the whole reply played, the bot fell quiet: an interruption now cuts nothing
        await until(lambda: call.conversation._bot_started is not None)
        await call.upstream(BotStoppedSpeakingFrame())
        await until(lambda: call.conversation._bot_started is None)
        await call.worker.queue_frame(InterruptionFrame())
        await until(lambda: call.speaker.kinds()[-1:] == ["cut"])
    assert not any(t.interrupted for t in call.conversation.turns)
    assert brain.scripted.history[-1] == ("agent", fake.reply)
    await brain.chat.close()


async def test_a_brain_without_streaming_is_spoken_in_one_piece(fake):
    brain = llm_brain(fake.url)
    scripted = brain.scripted
    async with Call(scripted) as call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.lead_says("yes this is jane")
        await until(lambda: call.speaker.kinds() == ["say", "mark", "say", "mark"])
    assert call.speaker.said()[1] == "Great. " + QUESTION and call.texts[1] == call.speaker.said()[1]
    await brain.chat.close()


async def test_a_reply_that_ends_the_call_ends_it_after_its_audio(fake):
    brain = llm_brain(fake.url)
    async with Call(brain) as call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.lead_says("please do not call me again")
        await until(lambda: call.speaker.kinds().count("mark") == 2)
        assert call.conversation.outcome == "dnc" and call.conversation._end_after_speech
    assert len(fake.requests) == 0
    await brain.chat.close()


class BrokenBrain:
    """Says one sentence, then fails (a bug in a brain)."""

    def __init__(self) -> None:
        self.cut: list[str] = []

    def opening(self) -> Reply:
        return Reply("Hi, this is Ava.", agent="greeter")

    async def respond(self, text, confidence):  # pragma: no cover - the stream is used
        raise AssertionError

    async def respond_stream(self, text, confidence):
        yield Reply("First.", agent="qualifier")
        raise RuntimeError("boom")

    def interrupted(self, spoken):
        self.cut.append(spoken)


async def test_a_brain_failing_midway_still_closes_the_reply():
    quiet_pipecat("CRITICAL")
    async with Call(BrokenBrain()) as call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.lead_says("yes")
        await until(lambda: call.speaker.kinds() == ["say", "mark", "say", "mark"])
    assert call.texts == ["Hi, this is Ava.", "First."]
    assert [t.text for t in call.turns if t.speaker == "agent"] == ["Hi, this is Ava.", "First."]


@pytest.mark.parametrize("how", ["keypad", "switch"])
async def test_the_keypad_opt_out_or_a_brain_switch_cut_a_streamed_reply(fake, how):
    fake.stall_after, fake.stall_s = 5, 1.0
    brain = llm_brain(fake.url)
    async with Call(brain) as call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.upstream(BotStoppedSpeakingFrame())
        call.speaker.speaking = False
        await call.lead_says("yes this is jane")
        await until(lambda: len(call.speaker.said()) == 2)
        if how == "keypad":
            await call.worker.queue_frame(InputDTMFFrame(button=KeypadEntry.NINE))
        else:
            voicemail = ScriptedBrain(brain.scripted.config, answered_by="machine")
            await call.worker.queue_frame(SwitchBrainFrame(brain=voicemail, reason="machine"))
        await until(lambda: len(call.speaker.said()) == 3)
        assert brain.chat.hosts[0].in_flight == 0
    kinds = call.speaker.kinds()
    assert kinds[:3] == ["say", "mark", "say"] and kinds[-2:] == ["say", "mark"] and kinds.count("mark") == 3
    assert call.texts[1] == "Lovely to meet you, Jane!"  # the cut reply, as far as it went
    last = call.speaker.said()[-1]
    assert ("off our list" in last) if how == "keypad" else last.startswith("Hi, this is Ava")
    await brain.chat.close()


class SilentBrain(BrokenBrain):
    """Has nothing to say to the first turn, and hangs up without a word on the second."""

    async def respond_stream(self, text, confidence):
        if text == "hang up":
            yield Reply("", end_call=True, outcome="voicemail", agent="voicemail")


async def test_a_stream_without_words_says_nothing_and_may_end_the_call():
    call = Call(SilentBrain())
    async with call:
        await call.lead_says("hello")
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        await call.lead_says("anything")
        await until(lambda: [t.text for t in call.turns][-1:] == ["anything"])
        await call.lead_says("hang up")
        await until(lambda: call.conversation._ended)
    assert call.speaker.kinds() == ["say", "mark"] and call.conversation.outcome == "voicemail"


@pytest.mark.parametrize("hello", ["heard", "unheard"])
async def test_the_opening_answers_the_first_words_heard_or_not(fake, hello):
    """The opening is spoken as soon as the lead first stops; that segment's transcript (or its
    coming out empty) needs no reply, and the next one is the lead's answer."""
    brain = llm_brain(fake.url).scripted
    async with Call(brain, greet_on_first_words=True) as call:
        conversation = call.conversation
        assert not conversation.answering_first_words()
        await call.worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await until(lambda: call.speaker.kinds() == ["say", "mark"])
        assert conversation.answering_first_words()  # its end is left to the silence window
        await call.worker.queue_frames([UserStoppedSpeakingFrame(),  # the turn may end first
                                        TranscriptionFrame("hello", "lead", "2026-11-29T10:00:00Z")
                                        if hello == "heard" else NothingHeardFrame()])
        await until(lambda: not conversation.answering_first_words())
        await call.lead_says("yes this is jane")
        await until(lambda: len(call.speaker.said()) == 2)
    assert call.speaker.said()[1] == "Great. " + QUESTION  # the answer was not taken for the hello
    assert [t.text for t in call.turns if t.speaker == "lead"] == (["hello"] if hello == "heard" else []) + [
        "yes this is jane"]
