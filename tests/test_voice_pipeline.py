"""Pipeline pieces that keep per-frame work down, with real pipecat processors and frames."""

import asyncio

import numpy as np
import pytest
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.tests.utils import run_test
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from reauto.audio.line import PhoneLine
from reauto.sim import lead as sim_lead
from reauto.voice.pipeline import LeadTurnProcessor
from reauto.voice.transport_sim import SimInputTransport, sim_params

pytestmark = pytest.mark.unit


def speech_frame() -> InputAudioRawFrame:
    pcm = (np.sin(np.arange(640) / 3) * 3000).astype(np.int16).tobytes()
    return InputAudioRawFrame(pcm, 16_000, 1)


@pytest.mark.parametrize("forward", [True, False])
async def test_lead_audio_stops_after_the_turn_decision_unless_recorded(forward):
    processor = LeadTurnProcessor(user_turn_strategies=UserTurnStrategies(), forward_audio=forward)
    down, _ = await run_test(processor, frames_to_send=[speech_frame(), speech_frame()])
    audio = [f for f in down if isinstance(f, InputAudioRawFrame)]
    assert len(audio) == (2 if forward else 0)


async def test_sim_input_keeps_pipecats_queue_when_an_input_filter_is_set():
    class Doubler:
        """Stands in for an audio filter: only its presence matters here."""

    params = sim_params()
    params.audio_in_filter = Doubler()  # type: ignore[assignment]
    transport = SimInputTransport(PhoneLine(), params)
    queued: list[InputAudioRawFrame] = []

    class Queue:
        async def put(self, frame):
            queued.append(frame)

    transport._audio_in_queue = Queue()
    await transport.push_audio_frame(speech_frame())
    assert len(queued) == 1


async def test_leads_saying_the_same_words_share_one_flite_run(monkeypatch):
    runs: list[str] = []
    real = sim_lead._flite_packets

    async def counting(text, voice):
        runs.append(text)
        return await real(text, voice)

    monkeypatch.setattr(sim_lead, "_flite_packets", counting)
    text = "Hello? Who is calling, please?"
    sim_lead._SPOKEN.pop(("rms", text), None)
    results = await asyncio.gather(*(sim_lead.flite_packets(text, "rms") for _ in range(5)))
    assert runs == [text]
    assert all(r == results[0] for r in results) and len(results[0]) > 10
    assert await sim_lead.flite_packets(text, "rms") == results[0] and runs == [text]
