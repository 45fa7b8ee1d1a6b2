"""Shared turn-taking models: same decisions as pipecat's own analyzers, on real audio."""

import asyncio
import os
import random
import threading

import numpy as np
import pytest
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.utils import calculate_audio_volume
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from reauto.audio.line import ULAW_SILENCE, StreamCodec
from reauto.sim.lead import flite_packets
from reauto.voice import models, vad
from reauto.voice.pipeline import TurnTaking
from reauto.voice.smart_turn import SharedSmartTurnAnalyzer, whisper_features

pytestmark = pytest.mark.unit
RATE = 16_000
PARAMS = VADParams(confidence=0.7, stop_secs=0.2)


class ReferenceGatedVAD(SileroVADAnalyzer):
    """Pipecat's analyzer (own session, own thread) behind the same level gate: the reference."""

    def __init__(self) -> None:
        super().__init__(sample_rate=RATE, params=PARAMS)
        self._floor_rms = 32768.0 * 10 ** (-55 / 20)

    def voice_confidence(self, buffer):
        samples = np.frombuffer(buffer, dtype=np.int16).astype(np.float32)
        if float(np.sqrt(np.mean(samples * samples))) < self._floor_rms:
            return 0.0
        return super().voice_confidence(buffer)


async def lead_audio(*texts: str, pause_packets: int = 50) -> list[bytes]:
    """What the agent's input transport receives: flite speech over the μ-law line, in frames."""
    packets: list[bytes] = [ULAW_SILENCE] * pause_packets
    for text in texts:
        packets += await flite_packets(text, "rms") + [ULAW_SILENCE] * pause_packets
    codec = StreamCodec()
    return [pcm for pcm in (codec.decode(p) for p in packets) if pcm]


def test_one_session_per_model_serves_every_call():
    a, b = TurnTaking().models(), TurnTaking().models()
    assert a[0]._model.session is b[0]._model.session is models.shared_session(models.SILERO_MODEL)
    turn_a = a[1].stop[0]._turn_analyzer
    turn_b = b[1].stop[0]._turn_analyzer
    assert turn_a._session is turn_b._session is models.shared_session(models.SMART_TURN_MODEL)
    assert a[0]._model._state is not b[0]._model._state  # the recurrent state stays per call
    options = models.session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert models.inference_pool() is models.inference_pool()
    assert models.inference_workers() >= 1


async def test_batched_vad_decides_exactly_as_pipecat_for_concurrent_calls():
    frames = await lead_audio("Hello?", "Yes, this is Jane.", "around four hundred thousand")
    reference = ReferenceGatedVAD()
    reference.set_sample_rate(RATE)
    expected = [await reference.analyze_audio(f) for f in frames]
    assert VADState.SPEAKING in expected and expected[-1] == VADState.QUIET

    calls = [vad.GatedSileroVADAnalyzer(sample_rate=RATE, params=PARAMS) for _ in range(6)]
    for analyzer in calls:
        analyzer.set_sample_rate(RATE)
    batcher = vad.silero_batcher()
    before = (batcher.inferences, batcher.windows)

    async def run(analyzer):
        states = []
        for frame in frames:
            states.append(await analyzer.analyze_audio(frame))
            await asyncio.sleep(random.random() / 1000)  # the calls' frames interleave
        return states

    results = await asyncio.gather(*(run(a) for a in calls))
    assert all(states == expected for states in results)
    assert all(a._prev_volume == reference._prev_volume for a in calls)
    assert all(a.scored > 0 and a.skipped > 0 for a in calls)
    inferences, windows = batcher.inferences - before[0], batcher.windows - before[1]
    assert windows == sum(a.scored for a in calls)
    assert inferences < windows  # windows of several calls shared inferences


async def test_unbatched_vad_scores_inline_with_the_same_answers():
    frames = await lead_audio("in about three months")
    batched = vad.GatedSileroVADAnalyzer(sample_rate=RATE, params=PARAMS)
    inline = vad.GatedSileroVADAnalyzer(sample_rate=RATE, params=PARAMS, batched=False)
    for analyzer in (batched, inline):
        analyzer.set_sample_rate(RATE)
    assert [await batched.analyze_audio(f) for f in frames] == [await inline.analyze_audio(f) for f in frames]
    assert inline.scored == batched.scored > 0


async def test_a_failing_model_fails_the_calls_of_its_batch():
    class Broken:
        def run(self, *_args):
            raise RuntimeError("model exploded")

    loop = asyncio.get_running_loop()
    batcher = vad.SileroBatcher(loop)
    batcher._session = Broken()
    model = vad.SharedSileroModel()
    window = np.zeros(512, dtype=np.float32)
    results = await asyncio.gather(batcher.score(model, window, RATE), batcher.score(model, window, RATE),
                                   return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    batcher.close()
    await asyncio.to_thread(batcher._thread.join, 5)
    assert not batcher._thread.is_alive()


def test_silero_step_rejects_a_wrong_window():
    with pytest.raises(ValueError, match="one window"):
        vad.SharedSileroModel().step_input(np.zeros(600, dtype=np.float32), RATE)


def test_digital_silence_has_no_loudness():
    # the volume shortcut's premise: a loudness window within ±1 LSB is under the absolute gate
    rng = np.random.default_rng(7)
    for window in (np.tile([1, -1], 3200), rng.integers(-1, 2, 6400), np.ones(6400), np.zeros(6400)):
        assert calculate_audio_volume(window.astype(np.int16).tobytes(), RATE) == 0
    assert calculate_audio_volume((np.tile([1, -1], 3200) * 8).astype(np.int16).tobytes(), RATE) > 0
    assert vad._quiet_run(np.array([0, 5, 1, -1], np.int16).tobytes(), 100) == 2
    assert vad._quiet_run(np.array([1, 0, -1], np.int16).tobytes(), 100) == 103


@pytest.mark.parametrize("length", [3, 199, 200, 201, 360, 361, 16_000, 40_077, 127_999, 128_000, 200_000])
def test_whisper_features_are_pipecats_bit_for_bit(length):
    audio = (np.random.default_rng(length).standard_normal(length) * 0.1).astype(np.float32)
    padded = audio[-128_000:] if length >= 128_000 else np.pad(audio, (128_000 - length, 0))
    assert np.array_equal(whisper_features(audio), compute_whisper_log_mel_features(padded))


async def test_smart_turn_predicts_as_pipecat_on_real_speech():
    frames = await lead_audio("Yes, this is Jane.", "around four hundred", pause_packets=10)
    speech = np.frombuffer(b"".join(frames), np.int16).astype(np.float32) / 32768.0
    shared, reference = SharedSmartTurnAnalyzer(), LocalSmartTurnAnalyzerV3()
    for analyzer in (shared, reference):
        analyzer.set_sample_rate(RATE)
    for end in (12_000, 24_000, speech.size):
        assert shared._predict_endpoint(speech[:end]) == reference._predict_endpoint(speech[:end])


async def test_smart_turn_analyses_on_the_shared_pool_and_answers_an_empty_buffer_at_once():
    analyzer = SharedSmartTurnAnalyzer(params=SmartTurnParams(stop_secs=1.0))
    analyzer.set_sample_rate(RATE)
    assert analyzer._model_executor is models.inference_pool()
    assert await analyzer.analyze_end_of_turn() == (EndOfTurnState.INCOMPLETE, None)
    for frame in await lead_audio("Yes, this is Jane.", pause_packets=10):
        analyzer.append_audio(frame, is_speech=True)
    state, metrics = await analyzer.analyze_end_of_turn()
    assert state in (EndOfTurnState.COMPLETE, EndOfTurnState.INCOMPLETE)
    assert metrics is not None and 0.0 <= metrics.probability <= 1.0
    await analyzer.cleanup()
    assert analyzer._executor is None  # the shared pool is not the analyzer's to shut down


def test_the_gate_is_exact_at_the_floor():
    analyzer = vad.GatedSileroVADAnalyzer(sample_rate=RATE)
    floor = analyzer._floor_rms  # ≈ 58.3 at −55 dBFS: audioop's RMS of these windows is 58
    assert analyzer._below_floor(np.full(512, 58, np.int16).tobytes())
    assert not analyzer._below_floor(np.tile(np.array([58, 59], np.int16), 256).tobytes())  # RMS 58.5
    assert not analyzer._below_floor(np.full(512, 59, np.int16).tobytes()) and 58 < floor < 59
    assert analyzer._below_floor(b"")


def test_the_inference_thread_ends_when_its_loop_is_gone():
    loop = asyncio.new_event_loop()
    batcher = vad.SileroBatcher(loop)
    model = vad.SharedSileroModel()
    x = model.step_input(np.zeros(512, dtype=np.float32), RATE)
    loop.close()
    feeds = {"input": x, "state": model._state, "sr": np.array(RATE, dtype="int64")}
    batcher._jobs.put(([], feeds))  # its answer has no loop to go to
    batcher._thread.join(5)
    assert not batcher._thread.is_alive()


async def test_batched_vad_follows_pipecat_through_blips_and_short_pauses():
    speech = b"".join(await lead_audio("around four hundred thousand dollars", pause_packets=0))
    silence = bytes(3200)  # 100 ms: shorter than the stop time, the lead goes on
    blip = speech[6400:9600]  # 100 ms of speech: shorter than the start time
    audio = silence * 5 + blip + silence * 5 + speech[:19200] + silence + speech[19200:] + silence * 10
    frames = [audio[i : i + 640] for i in range(0, len(audio), 640)]  # 20 ms frames
    reference = ReferenceGatedVAD()
    reference.set_sample_rate(RATE)
    analyzer = vad.GatedSileroVADAnalyzer(sample_rate=RATE, params=PARAMS)
    analyzer.set_sample_rate(RATE)
    expected = [await reference.analyze_audio(f) for f in frames]
    got = [await analyzer.analyze_audio(f) for f in frames]
    assert got == expected
    assert {VADState.STARTING, VADState.SPEAKING, VADState.STOPPING} <= set(expected)


def test_turn_model_threads_yield_the_cpu_to_the_event_loop():
    def niceness():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    assert models.inference_pool().submit(niceness).result(5) >= niceness() + 1
    assert models.inference_pool().submit(niceness).result(5) >= niceness() + 1  # every thread of it
