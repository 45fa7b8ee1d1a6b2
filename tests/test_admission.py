"""Admission control (reauto.dialer.admission): dial only the calls the machine serves now."""

from __future__ import annotations

import pytest

from reauto.dialer.admission import Admission, Budgets

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admission(ceiling=8, load=0.2, **kw) -> tuple[Admission, Clock, list[float]]:
    clock, machine = Clock(), [load]
    return Admission(ceiling, clock=clock, load=lambda: machine[0], **kw), clock, machine


def test_it_starts_low_and_adds_a_call_while_every_call_keeps_its_budgets():
    gate, clock, _ = admission(ceiling=4)
    assert gate.limit == 2 and gate.free(0) == 2 and gate.free(2) == 0
    for expected in (3, 4, 4):
        gate.greeting(0.3)
        gate.recognition(0.2)
        gate.call_ended()
        clock.now += 1
        gate.free(gate.limit)  # full: a call ended with every budget kept, one more may go
        assert gate.limit == expected
    assert gate.reason is None and [n for n, _ in gate.steps] == [3, 4]


def test_a_slow_greeting_halves_the_limit_once_per_cooling_period_then_pauses_dialing():
    gate, clock, _ = admission(ceiling=8, start=8)
    gate.greeting(1.8)  # a person waited 1.8 s for the agent: over the 1 s budget
    assert gate.free(4) == 0 and gate.limit == 4 and "greetings" in gate.reason
    gate.greeting(1.8)
    clock.now += 1
    assert gate.free(4) == 0 and gate.limit == 4  # cooling: one step down at a time
    clock.now += 5
    gate.greeting(1.8)
    gate.free(2)
    gate.greeting(None)  # a person heard nothing at all
    clock.now += 5
    gate.free(1)
    clock.now += 5
    gate.greeting(2.5)
    assert gate.free(0) == 0 and gate.limit == 1 and gate.reason.startswith("no headroom")  # paused
    clock.now += 6
    assert gate.free(0) == 1  # tried again with one call
    assert gate.refused >= 3 and gate.status()["limit"] == 1


def test_a_busy_machine_or_a_slow_recogniser_lowers_the_limit():
    gate, clock, machine = admission(ceiling=6, start=6)
    machine[0] = 4.0  # other processes keep every core busy
    gate.free(0)
    assert gate.limit == 3 and "machine load" in gate.reason
    machine[0] = 0.1
    clock.now += 10
    for _ in range(5):
        gate.recognition(1.5)  # answers recognised 1.5 s after the lead stopped
    gate.free(0)
    assert gate.limit == 1 and "recognition" in gate.reason
    clock.now += 10
    for _ in range(20):
        gate.loop_lag(0.4)
    assert gate.free(0) == 0 and "event loop" in gate.reason


def test_a_machine_busy_with_other_work_slows_the_campaign_to_one_call_but_never_stops_it():
    gate, clock, machine = admission(ceiling=4, start=1)
    machine[0] = 4.0  # other processes keep every core busy, whatever this dialer does
    assert gate.free(0) == 0 and gate.paused  # no headroom at one call: a pause
    clock.now += 2
    assert gate.free(0) == 0 and gate.paused  # the pause lasts its cooling period
    clock.now += 4
    assert gate.free(0) == 1 and not gate.paused and "one call at a time" in gate.reason  # then one call probes
    assert gate.free(1) == 0  # and only one
    clock.now += 30  # the call ends, the machine is as busy: the next one goes, one at a time
    assert gate.free(0) == 1 and gate.free(1) == 0 and gate.limit == 1


def test_budgets_are_settings():
    gate, _, _ = admission(ceiling=2, budgets=Budgets(greeting_s=3.0))
    gate.greeting(2.0)
    assert gate.free(0) == 2 and gate.over_budget() is None


def test_a_recogniser_falling_behind_refuses_new_calls_before_its_answers_come_back_late():
    waiting: list[float | None] = [0.5]
    gate, clock, _ = admission(ceiling=6, start=6, backlog=lambda: waiting[0])
    assert gate.free(2) == 4 and gate.over_budget() is None  # half an answer per decoder waiting: fine
    waiting[0] = 2.5  # every decoder has more than a round of other calls' answers queued
    assert gate.free(2) == 1 and gate.limit == 3 and "recogniser backlog 2.5" in gate.reason
    waiting[0] = None  # a recogniser without a queue of its own says nothing
    clock.now += 10
    assert gate.over_budget() is None


def test_the_process_pools_backlog_is_the_answers_queued_behind_each_workers_decoding():
    from types import SimpleNamespace

    from reauto.config import SttSettings
    from reauto.stt.pool import ProcessPoolSTT

    pool = ProcessPoolSTT(SttSettings(), workers=2)
    assert pool.backlog() is None  # not started: nothing to say
    pool._workers = [SimpleNamespace(waiting=4, dead=None), SimpleNamespace(waiting=1, dead=None),
                     SimpleNamespace(waiting=9, dead="the recogniser process stopped")]
    assert pool.backlog() == 1.5  # (4 - 1 decoding + 0) / 2 live workers


def test_a_dialer_admits_by_its_recognisers_backlog():
    from reauto.dialer.engine import Dialer, DialerConfig
    from reauto.stt.base import STTProvider, Transcript
    from reauto.telephony.sim import SimTelephony

    class Behind(STTProvider):
        name = "behind"

        async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
            raise AssertionError("not asked")

        def backlog(self) -> float | None:
            return 3.0

    config = DialerConfig(campaign_id=1, caller_id="+15125550100", concurrency=4, admission_start=4)
    dialer = Dialer(None, SimTelephony(), stt=Behind(), tts=None, brain_factory=None, gate=None,  # type: ignore[arg-type]
                    config=config)
    assert "recogniser backlog 3.0" in dialer.admission.over_budget()
