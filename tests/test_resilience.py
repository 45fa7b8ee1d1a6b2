"""The one retry policy (reauto.resilience): classification, backoff, Retry-After, breaker."""

from __future__ import annotations

import asyncio

import pytest

from reauto import resilience
from reauto.breaker import Breaker
from reauto.config import load_settings
from reauto.errors import ProviderError
from reauto.resilience import (
    AttemptFailed,
    BreakerOpen,
    RetryPolicy,
    classify_exception,
    classify_status,
    parse_retry_after,
)

pytestmark = pytest.mark.unit

FAST = RetryPolicy(retries=3, initial_s=0.001, max_s=0.002, jitter_s=0.0, max_retry_after_s=0.05)


class Script:
    """An attempt that fails with the given failures, then returns ``"ok"``."""

    def __init__(self, *failures: AttemptFailed) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


@pytest.mark.parametrize(("status", "retry"), [
    (400, False), (401, False), (403, False), (404, False), (409, False), (422, False),
    (408, True), (429, True), (500, True), (502, True), (503, True), (504, True),
])
def test_4xx_is_permanent_except_408_and_429_and_5xx_is_transient(status, retry):
    failure = classify_status("x", status)
    assert failure.retryable is retry
    assert failure.count is retry  # a permanent refusal means the service is up: not a breaker failure


def test_timeouts_and_connection_errors_are_transient_unless_the_request_may_have_been_acted_on():
    assert classify_exception("x", ConnectionRefusedError()).retryable
    assert classify_exception("x", TimeoutError()).retryable
    not_again = classify_exception("x", TimeoutError(), retry_timeouts=False)
    assert not not_again.retryable and not_again.count  # not sent twice, but the dependency is failing
    assert classify_exception("x", ConnectionRefusedError(), retry_timeouts=False).retryable


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), (" 1.5 ", 1.5), ("-1", None), ("soon", None),
                                                 (None, None), ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_retry_after_delta_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


async def test_transient_failures_are_retried_until_success():
    attempt = Script(classify_status("503", 503), classify_exception("t", TimeoutError()))
    assert await resilience.call(attempt, policy=FAST) == "ok"
    assert attempt.calls == 3


async def test_a_permanent_failure_is_raised_at_once():
    attempt = Script(classify_status("422", 422))
    with pytest.raises(AttemptFailed) as failed:
        await resilience.call(attempt, policy=FAST)
    assert attempt.calls == 1 and failed.value.attempts == 1 and not failed.value.retryable


async def test_retries_stop_after_the_policys_count_with_the_last_failure():
    attempt = Script(*(classify_status(f"fail {n}", 500) for n in range(10)))
    with pytest.raises(AttemptFailed, match="fail 3") as failed:
        await resilience.call(attempt, policy=FAST)
    assert attempt.calls == 4 and failed.value.attempts == 4


async def test_retry_after_is_honoured_up_to_the_cap(monkeypatch):
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    attempt = Script(classify_status("429", 429, "0.01"), classify_status("429", 429, "30"))
    assert await resilience.call(attempt, policy=FAST) == "ok"
    assert waits == [0.01, 0.05]  # the service's wait, then the cap


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(retries=5, initial_s=0.1, max_s=0.5, jitter_s=0.0)

    class State:
        def __init__(self, n: int) -> None:
            self.attempt_number, self.outcome = n, None

    assert [policy.wait(State(n)) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.5, 0.5]


async def test_the_breaker_counts_failures_opens_and_refuses_without_calling():
    breaker = Breaker(threshold=3, reset_s=60.0)
    attempt = Script(*(classify_status("500", 500) for _ in range(10)))
    with pytest.raises(AttemptFailed):
        await resilience.call(attempt, policy=RetryPolicy(retries=5, initial_s=0.001, jitter_s=0), breaker=breaker)
    assert breaker.state == "open" and attempt.calls == 3  # the 4th attempt met the open breaker
    with pytest.raises(BreakerOpen):
        await resilience.call(attempt, policy=FAST, breaker=breaker, name="crm")
    assert attempt.calls == 3


async def test_a_permanent_refusal_and_a_success_close_the_count():
    breaker = Breaker(threshold=2, reset_s=60.0)
    with pytest.raises(AttemptFailed):
        await resilience.call(Script(classify_status("500", 500), classify_status("404", 404)), policy=FAST,
                              breaker=breaker)
    assert breaker.failures == 0  # the 404 proves the service answers
    await resilience.call(Script(classify_status("500", 500)), policy=FAST, breaker=breaker)
    assert breaker.failures == 0 and breaker.state == "closed"


async def test_a_half_open_breaker_lets_one_trial_through():
    now = [0.0]
    breaker = Breaker(threshold=1, reset_s=10.0, clock=lambda: now[0])
    with pytest.raises(AttemptFailed):
        await resilience.call(Script(classify_status("500", 500)), policy=RetryPolicy(retries=0), breaker=breaker)
    now[0] = 11.0
    assert await resilience.call(Script(), policy=FAST, breaker=breaker) == "ok"
    assert breaker.state == "closed"


def test_the_settings_are_the_process_policy(tmp_path):
    file = tmp_path / "reauto.toml"
    file.write_text("[resilience]\nbackoff_initial_s = 0.5\nbackoff_max_s = 4.0\njitter_s = 0.0\n"
                    "max_retry_after_s = 7.0\nbreaker_threshold = 9\nbreaker_reset_s = 12.0\n")
    try:
        load_settings(file, env={})
        chosen = resilience.policy(4)
        assert (chosen.retries, chosen.initial_s, chosen.max_s, chosen.jitter_s, chosen.max_retry_after_s) == (
            4, 0.5, 4.0, 0.0, 7.0)
        assert resilience.policy(1, max_retry_after_s=2.0).max_retry_after_s == 2.0
        made = resilience.breaker("crm")
        assert (made.threshold, made.reset_s, made.name) == (9, 12.0, "crm")
        assert resilience.breaker("x", threshold=2, reset_s=1.0).threshold == 2
    finally:
        resilience.configure(RetryPolicy(), breaker_threshold=5, breaker_reset_s=30.0)


class Refused(ProviderError):
    """A provider's own error, raised inside an attempt instead of an AttemptFailed."""


async def test_a_providers_own_error_is_retried_and_counted_by_its_retryable_flag():
    breaker = Breaker(5, 60.0, name="own")
    attempt = Script(Refused("busy", retryable=True), Refused("busy", retryable=True))
    assert await resilience.call(attempt, policy=FAST, breaker=breaker) == "ok"
    assert attempt.calls == 3
    permanent = Script(Refused("no such account"))
    with pytest.raises(Refused) as failed:
        await resilience.call(permanent, policy=FAST, breaker=breaker)
    assert permanent.calls == 1 and failed.value.attempts == 1 and breaker.allow()


def test_every_providers_error_is_a_provider_error_that_says_whether_to_retry():
    from reauto.export.targets.base import PermanentExportError, TransientExportError
    from reauto.httpapi import PermanentError, TransientError
    from reauto.intake.followupboss import FollowUpBossError
    from reauto.llm.ollama import LLMUnavailable
    from reauto.modelfiles.hub import ModelSourceError
    from reauto.scheduling.availability import CalendarError
    from reauto.telephony.twilio import TwilioError
    from reauto.tts.elevenlabs import ElevenLabsError, error_from_response
    from reauto.tts.flite import SynthesisError

    for kind in (FollowUpBossError, ModelSourceError, CalendarError, TwilioError, SynthesisError, ElevenLabsError,
                 LLMUnavailable, TransientError, PermanentError, TransientExportError, PermanentExportError):
        assert issubclass(kind, ProviderError), kind
    assert TransientExportError("x").retryable and TransientError("x").retryable and LLMUnavailable("x").retryable
    assert not PermanentExportError("x").retryable and not TwilioError("x").retryable
    assert TwilioError("x", retryable=True).retryable
    assert error_from_response(503, b"{}").retryable and not error_from_response(401, b"{}").retryable
