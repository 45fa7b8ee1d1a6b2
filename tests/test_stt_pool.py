"""The recogniser pool: whole segments and utterances decoded while spoken, in worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from reauto.audio.codec import read_wav
from reauto.config import SttSettings
from reauto.providers import ProviderUnavailable
from reauto.stt.pool import ProcessPoolSTT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATA = Path(__file__).parent / "data" / "stt"


def clip(name: str) -> bytes:
    silence = b"\x00\x00" * 12800  # the silent line before and after the words, as segments have
    return silence + read_wav(DATA / f"{name}.wav").pcm + silence


@pytest.fixture(scope="module")
async def pool():
    # what these tests check is what is heard, not how fast: a busy machine may queue eight clips
    # on two workers past the 5 s a live call allows one transcription
    stt = ProcessPoolSTT(SttSettings(timeout_s=120), workers=2, vocabulary=["pre-approved", "Austin"])
    assert stt.open_stream() is None  # not started: whole segments only
    await stt.start()
    yield stt
    await stt.close()


async def test_streams_hear_what_whole_segments_do_and_carry_the_line_state(pool: ProcessPoolSTT) -> None:
    assert pool.can_stream and pool.provider_name == "pocketsphinx"
    state = None
    for name in ("waiting-bank-rms", "sell-austin-slt", "renting-kal16"):
        pcm = clip(name)
        stream = pool.open_stream(state)
        assert stream is not None
        for i in range(0, len(pcm), 3200):
            stream.feed(pcm[i : i + 3200])
        live = await stream.finish()
        assert live.text == (await pool.transcribe(pcm)).text, name
        state = stream.line_state
        assert state  # the first utterance (decoded whole) measured the line; the others keep it
    with pytest.raises(RuntimeError, match="ended"):
        await stream.finish()
    assert pool.streamed == 3


async def test_the_same_clips_are_heard_the_same_in_any_order_on_any_worker(pool: ProcessPoolSTT) -> None:
    names = ("waiting-bank-rms", "sell-austin-slt", "renting-kal16", "do-not-call-awb")
    clips = [clip(name) for name in names] + [read_wav(DATA / f"{name}.wav").pcm for name in names]
    # two workers, all at once: each clip lands on whichever worker has the least in hand
    together = await asyncio.gather(*(pool.transcribe(pcm) for pcm in clips))
    one = ProcessPoolSTT(SttSettings(timeout_s=120), workers=1, vocabulary=["pre-approved", "Austin"])
    await one.start()
    try:  # one worker, one at a time, the other way round
        alone = [await one.transcribe(pcm) for pcm in reversed(clips)][::-1]
    finally:
        await one.close()
    assert alone == together  # every word, time, posterior and alternative reading
    assert any("austin" in reading for reading in (together[1].text, *together[1].alternatives))


async def test_streams_spread_over_the_workers_and_a_cancelled_one_frees_its_place(pool: ProcessPoolSTT) -> None:
    streams = [pool.open_stream("40,3,-1") for _ in range(4)]
    assert sorted(w.streams for w in pool._workers) == [2, 2]
    for stream in streams:
        stream.cancel()
        stream.cancel()  # twice is once
    assert [w.streams for w in pool._workers] == [0, 0]


async def test_a_worker_that_dies_fails_what_it_had_and_is_started_again(pool: ProcessPoolSTT) -> None:
    pcm = clip("do-not-call-awb")
    victim = pool._workers[0]
    stream = pool.open_stream(None)
    assert stream is not None and stream._worker is victim
    stream.feed(pcm)
    os.kill(victim.process.pid, signal.SIGKILL)
    with pytest.raises(ProviderUnavailable, match="recogniser process stopped"):
        await stream.finish()
    # the next request starts it again, and is answered
    results = await asyncio.gather(*(pool.transcribe(pcm) for _ in range(3)))
    assert all("call" in r.text for r in results)
    assert pool._workers[0] is not victim and pool._workers[0].dead is None


async def test_a_provider_that_cannot_load_fails_the_start_clearly() -> None:
    stt = ProcessPoolSTT(SttSettings(provider="faster-whisper", fallback="none",
                                     faster_whisper={"model": "/nonexistent"}),
                         workers=1)
    with pytest.raises(ProviderUnavailable, match="faster_whisper.model|/nonexistent"):
        await stt.start()
    assert not stt._workers


async def test_a_request_past_its_time_limit_times_out(pool: ProcessPoolSTT) -> None:
    slow = ProcessPoolSTT(SttSettings(timeout_s=0.001), workers=1)
    await slow.start()
    try:
        with pytest.raises(TimeoutError):
            await slow.transcribe(clip("renting-kal16"))
        assert not slow._workers[0].pending  # nothing left waiting for it
    finally:
        await slow.close()


async def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    import subprocess
    import sys

    import psutil

    script = tmp_path / "dialer.py"  # a dialer's recogniser pool, then a kill -9 of the dialer
    script.write_text(
        "import asyncio\n"
        "from reauto.config import SttSettings\n"
        "from reauto.stt.pool import ProcessPoolSTT\n"
        "async def main():\n"
        "    stt = ProcessPoolSTT(SttSettings(), workers=2)\n"
        "    await stt.start()\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(3600)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n")
    dialer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert await asyncio.wait_for(asyncio.to_thread(dialer.stdout.readline), 300) == "ready\n"
        workers = [p for p in psutil.Process(dialer.pid).children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
    finally:
        dialer.kill()
        dialer.wait()
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, workers, 60)
    assert alive == []  # each noticed its dialer had gone, and exited
