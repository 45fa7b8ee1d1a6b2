"""The shared recogniser: batching utterances of many calls, and Whisper decoding them in one batch.

The decoder runs a real CTranslate2 Whisper model of a tiny shape with random weights
(reauto/stt/whisper_random.py): no weights can be downloaded here, and the code path is the one a
real conversion takes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from reauto.stt.batcher import UtteranceBatcher

pytestmark = pytest.mark.unit


class Gate:
    """A decode that records its batches and blocks until released (to build a queue behind it)."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, pcms: Sequence[bytes]) -> list[str]:
        self.batches.append(list(pcms))
        self.entered.set()
        assert self.release.wait(30)
        return [p.decode() for p in pcms]


async def test_utterances_that_arrive_while_a_batch_decodes_make_up_the_next_batch():
    gate = Gate()
    batcher = UtteranceBatcher(gate, max_batch=4, max_wait_s=0.0)
    first = asyncio.create_task(batcher.transcribe(b"a"))
    await asyncio.to_thread(gate.entered.wait, 30)
    rest = [asyncio.create_task(batcher.transcribe(bytes([c]))) for c in b"bcdefg"]
    while batcher.depth() < 6:
        await asyncio.sleep(0.01)
    gate.release.set()
    assert await first == "a"
    assert [await t for t in rest] == list("bcdefg")
    assert [len(b) for b in gate.batches] == [1, 4, 2]  # capped at max_batch, each caller its own result
    await batcher.close()


async def test_a_lead_waiting_goes_before_background_work():
    gate = Gate()
    batcher = UtteranceBatcher(gate, max_batch=1, max_wait_s=0.0)
    busy = asyncio.create_task(batcher.transcribe(b"0"))
    await asyncio.to_thread(gate.entered.wait, 30)
    background = asyncio.create_task(batcher.transcribe(b"b", waiting=False))
    lead = asyncio.create_task(batcher.transcribe(b"l"))
    while batcher.depth() < 2:
        await asyncio.sleep(0.01)
    gate.release.set()
    await asyncio.gather(busy, background, lead)
    assert [b[0] for b in gate.batches] == [b"0", b"l", b"b"]
    await batcher.close()


async def test_an_idle_decoder_waits_briefly_for_company_and_a_failure_reaches_every_caller():
    seen: list[int] = []

    def decode(pcms: Sequence[bytes]) -> list[str]:
        seen.append(len(pcms))
        if b"x" in pcms:
            raise RuntimeError("model failed")
        return ["ok"] * len(pcms)

    batcher = UtteranceBatcher(decode, max_batch=8, max_wait_s=0.5)
    assert await asyncio.gather(*(batcher.transcribe(b"a") for _ in range(3))) == ["ok"] * 3
    assert seen == [3]
    results = await asyncio.gather(batcher.transcribe(b"x"), batcher.transcribe(b"y"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await batcher.transcribe(b"z") == "ok"  # the worker goes on
    await batcher.close()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from reauto.stt.whisper_random import Shape, build

    return build("tiny.en", tmp_path_factory.mktemp("whisper"), shape=Shape(64, 2, 1))


def test_whisper_decodes_a_batch_of_calls_utterances_like_one_at_a_time(tiny_model):
    from reauto.stt.whisper_batch import WhisperBatchDecoder

    rng = np.random.default_rng(3)
    utterances = [(rng.standard_normal(16_000 * s) * 2000).astype(np.int16).tobytes() for s in (1, 3, 5)]
    decoder = WhisperBatchDecoder(tiny_model, fixed_tokens=12, threads=1)
    batched = decoder.decode(utterances)
    alone = [decoder.decode([u])[0] for u in utterances]
    assert [h.tokens for h in batched] == [12, 12, 12]
    assert [h.text for h in batched] == [h.text for h in alone]  # greedy: a batch changes no transcript
    assert all(0.0 <= h.confidence <= 1.0 for h in batched)
    assert decoder.decode([]) == []
    free = WhisperBatchDecoder(tiny_model, max_new_tokens=8, threads=1).decode(utterances[:1])[0]
    assert free.tokens <= 8 + 1  # without fixed_tokens a transcript ends by itself or at the cap


def test_a_trimmed_window_encodes_the_batchs_longest_utterance_only(tiny_model, monkeypatch):
    from reauto.stt.whisper_batch import WhisperBatchDecoder

    decoder = WhisperBatchDecoder(tiny_model, fixed_tokens=4, threads=1, trim=True)
    shapes: list[tuple[int, ...]] = []
    real = decoder._ct2.StorageView.from_array
    monkeypatch.setattr(decoder._ct2.StorageView, "from_array", lambda a: shapes.append(a.shape) or real(a))
    short, longer = (np.zeros(int(16_000 * s), np.int16).tobytes() for s in (1.2, 3.4))
    assert [h.tokens for h in decoder.decode([short, longer])] == [4, 4]
    assert shapes == [(2, 80, 400)]  # 3.4 s → 4 whole seconds, not 30


async def test_a_batched_whisper_serves_every_call_of_the_process_with_one_model(tiny_model):
    from reauto.config import SttSettings
    from reauto.stt.pool import ProcessPoolSTT

    settings = SttSettings(provider="faster-whisper", faster_whisper={"model": str(tiny_model), "batch": 8},
                           fallback="none",
                           timeout_s=60)
    pool = ProcessPoolSTT(settings, workers=2)
    await pool.start()
    try:
        assert pool.local is not None and pool.provider_name == "faster-whisper"
        pcm = np.zeros(16_000, np.int16).tobytes()
        heard = await asyncio.gather(*(pool.transcribe(pcm) for _ in range(6)))
        assert all(h.audio_s == pytest.approx(1.0) for h in heard)
        assert not pool._workers  # no recogniser processes: the calls share this process's model
        batches = pool.local._batcher.batches
        assert sum(batches) == 6 and max(batches) > 1
    finally:
        await pool.close()


async def test_the_batchers_backlog_is_what_waits_for_a_batch_per_batch(tiny_model):
    from reauto.stt.whisper import FasterWhisperSTT

    stt = FasterWhisperSTT(str(tiny_model), batch=4)
    assert stt.backlog() is None  # not started
    await stt.start()
    gate = Gate()
    stt._batcher._decode = gate
    try:
        first = asyncio.create_task(stt._batcher.transcribe(b"a"))
        await asyncio.to_thread(gate.entered.wait, 30)
        rest = [asyncio.create_task(stt._batcher.transcribe(b"b")) for _ in range(6)]
        while stt._batcher.depth() < 6:
            await asyncio.sleep(0.01)
        assert stt.backlog() == 1.5  # six answers waiting for batches of four
        gate.release.set()
        await asyncio.gather(first, *rest)
        assert stt.backlog() == 0
    finally:
        await stt.close()


def test_the_campaigns_hotwords_go_before_every_answers_prompt_as_faster_whisper_puts_them(tiny_model):
    from reauto.stt.whisper_batch import MAX_CONTEXT, WhisperBatchDecoder

    plain = WhisperBatchDecoder(tiny_model, max_new_tokens=6, threads=1)
    biased = WhisperBatchDecoder(tiny_model, max_new_tokens=6, threads=1, hotwords="pre-approved, escrow")
    tokenizer = biased.tokenizer
    assert plain.prompt[0] != tokenizer.sot_prev
    assert biased.prompt == [tokenizer.sot_prev, *tokenizer.encode(" pre-approved, escrow"), *plain.prompt]
    assert biased.max_length - len(biased.prompt) == plain.max_length - len(plain.prompt)  # as many new tokens
    pcm = (np.random.default_rng(5).standard_normal(16_000) * 2000).astype(np.int16).tobytes()
    assert len(biased.decode([pcm, pcm])) == 2
    long = WhisperBatchDecoder(tiny_model, threads=1, hotwords=" ".join(["escrow"] * 400))
    assert len(long.prompt) - len(plain.prompt) == MAX_CONTEXT // 2  # <|startofprev|> and half the context


async def test_a_batched_faster_whisper_decodes_toward_the_campaigns_phrases(tiny_model):
    from reauto.stt.whisper import FasterWhisperSTT

    stt = FasterWhisperSTT(str(tiny_model), batch=4)
    stt.set_vocabulary(["pre-approved", "escrow"])
    await stt.start()
    try:
        decoder = stt._batcher._decode.__self__
        assert decoder.prompt[0] == decoder.tokenizer.sot_prev
        assert decoder.prompt[1:decoder.prompt.index(decoder.tokenizer.sot)] \
            == decoder.tokenizer.encode(" pre-approved, escrow")
    finally:
        await stt.close()
