"""Pacing of agent audio to a phone's far end: a lead at the start of an utterance, then twice
real time; and the transports that use it (simulated line, Twilio media stream)."""

from __future__ import annotations

import pytest

from reauto.audio.pacing import LEAD_S, PHONE_CHUNK_10MS, PlayoutPacer

pytestmark = pytest.mark.unit

CHUNK_S = PHONE_CHUNK_10MS / 100


class FakeClock:
    """A monotonic clock that only moves when the pacer sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer(clock: FakeClock, **kw: float) -> PlayoutPacer:
    return PlayoutPacer(clock=clock, sleep=clock.sleep, **kw)


async def send(p: PlayoutPacer, clock: FakeClock, seconds: float) -> list[tuple[float, float]]:
    """Send ``seconds`` of audio in chunks; (send time, audio sent so far) per chunk."""
    sent, log = 0.0, []
    while sent < seconds - 1e-9:
        sent += CHUNK_S
        log.append((clock.now, sent))
        await p.sent(CHUNK_S)
    return log


def margins(log: list[tuple[float, float]]) -> list[float]:
    """Audio the far end still holds when each chunk goes out, after those sent at the start."""
    start = log[0][0]
    return [before - (t - start) for (_, before), (t, _) in zip(log, log[1:], strict=False) if t > start]


async def test_the_start_of_an_utterance_goes_at_once_then_twice_real_time():
    clock = FakeClock()
    p = pacer(clock)
    log = await send(p, clock, 2.0)
    start = log[0][0]
    at_once = [sent for t, sent in log if t == start]
    assert at_once[-1] == pytest.approx(LEAD_S, abs=CHUNK_S)  # the lead (whole chunks) went without waiting
    steady = clock.sleeps[1:]
    assert steady and all(s == pytest.approx(CHUNK_S / 2) for s in steady)  # then 2× real time
    # the far end plays in real time from the first chunk: when each later chunk goes out, it
    # still holds at least the lead less a chunk
    assert min(margins(log)) >= LEAD_S - CHUNK_S


async def test_without_a_lead_the_far_end_holds_half_a_chunk_at_the_start():
    """Twice real time from the first chunk: a stall of half a chunk at the start is a gap (and
    Pipecat's WebSocket output, which paces 16-bit audio at real time, leaves no margin at all)."""
    clock = FakeClock()
    p = pacer(clock, lead_s=0.0)
    log = await send(p, clock, 1.0)
    assert min(margins(log)) == pytest.approx(CHUNK_S / 2)


async def test_a_stalled_sender_catches_up_by_the_lead_at_most():
    clock = FakeClock()
    p = pacer(clock)
    await send(p, clock, 1.0)
    clock.now += 0.09  # the loop was busy with other calls (shorter than a new utterance's gap)
    sleeps = len(clock.sleeps)
    log = await send(p, clock, 1.0)
    bursts = sum(1 for t, _ in log if t == log[0][0])
    assert bursts <= round(LEAD_S / CHUNK_S) + 1
    assert len(clock.sleeps) > sleeps


async def test_a_pause_or_a_barge_in_starts_a_new_utterance():
    clock = FakeClock()
    p = pacer(clock)
    await send(p, clock, 1.0)
    p.restart()  # the far end was cleared: the next reply starts with its lead
    sleeps = len(clock.sleeps)
    await p.sent(CHUNK_S)
    assert len(clock.sleeps) == sleeps
    await send(p, clock, 1.0)
    clock.now += 0.5  # the agent was silent: the next reply starts with its lead
    sleeps = len(clock.sleeps)
    await p.sent(CHUNK_S)
    assert len(clock.sleeps) == sleeps


async def test_a_faster_far_end_is_paced_faster():
    clock = FakeClock()
    p = pacer(clock, speed=4.0)
    await send(p, clock, 2.0)
    assert clock.sleeps[-1] == pytest.approx(CHUNK_S / 8)
