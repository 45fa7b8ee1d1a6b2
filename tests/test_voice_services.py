"""The STT service's failure path: a segment the recogniser fails on is a turn the agent asks again."""

from __future__ import annotations

import pytest
from pipecat.frames.frames import ErrorFrame, TranscriptionFrame

from reauto.agent.scripted.brain import ScriptedBrain
from reauto.agent.scripted.script import Question, ScriptConfig
from reauto.stt.base import STTProvider, Transcript
from reauto.voice.services import UNHEARD, ProviderSTTService

pytestmark = pytest.mark.unit


class Failing(STTProvider):
    name = "failing"
    sample_rate = 16_000

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        raise TimeoutError


async def test_a_failed_segment_is_reported_and_still_ends_up_as_an_unheard_turn():
    service = ProviderSTTService(Failing())
    frames = [f async for f in service.run_stt(b"\x00\x01" * 16_000)]  # one second of speech
    error, heard = frames
    assert isinstance(error, ErrorFrame) and "STT failing failed: TimeoutError" in error.error
    assert isinstance(heard, TranscriptionFrame) and heard.text == UNHEARD and heard.metadata["stt_failed"]
    assert heard.result.confidence == 0.0 and heard.result.audio_s == pytest.approx(1.0)

    brain = ScriptedBrain(ScriptConfig(agent_name="Ava", business="B", min_confidence=0.45,
                                       questions=[Question("intent", "Are you looking to buy or sell?")]))
    brain.opening()
    await brain.respond("yes", 0.9)
    reply = await brain.respond(heard.text, heard.result.confidence)  # what the conversation hands over
    assert reply.text == "Sorry, the line broke up. Could you say that again? Are you looking to buy or sell?"
    assert brain.slots == {}


async def test_the_recogniser_hears_each_segment_as_the_answer_to_what_was_asked():
    from reauto.stt.base import STTProvider

    class Listening(STTProvider):
        name = "listening"
        heard: list[str | None] = []

        async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
            self.heard.append(context)
            return Transcript("four hundred thousand", 0.9, 1.0, alternatives=("for hundred thousand",))

    asked = ["budget_usd"]
    service = ProviderSTTService(Listening(), context=lambda: asked[-1])
    frames = [f async for f in service.run_stt(b"\x00\x01" * 16_000)]
    asked.append("preapproved")
    frames += [f async for f in service.run_stt(b"\x00\x01" * 16_000)]
    assert Listening.heard == ["budget_usd", "preapproved"]
    assert frames[0].result.alternatives == ("for hundred thousand",)  # the agent may read them
