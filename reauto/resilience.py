"""The one retry policy of reauto's external calls, and their breakers.

Every client that calls out — Twilio's REST API, the CRMs and webhooks (:mod:`reauto.httpapi`),
the budget alert webhook — runs its requests through :func:`call`:

* an attempt either returns, or raises :class:`AttemptFailed` saying whether trying again may
  help (``retryable``), whether the failure counts against the dependency's breaker (``count``)
  and how long the service asked to wait (``Retry-After``). It is a
  :class:`~reauto.errors.ProviderError`, the family of every provider's errors: an attempt may
  also raise a provider's own error, which is retried and counted when it is ``retryable``;
* :func:`classify_status` and :func:`classify_exception` are the policy: timeouts, connection
  errors, 408, 429 and 5xx are transient, any other 4xx is permanent (the service answered; the
  request is wrong, so it neither retries nor counts against the breaker);
* retries wait with exponential backoff plus jitter (tenacity), or the service's ``Retry-After``
  up to a cap, and stop after the client's ``retries``;
* the breaker (:class:`~reauto.breaker.Breaker`) is asked before every attempt: while it is open
  the call fails at once instead of waiting on timeouts.

The backoff and the breaker defaults come from ``[resilience]`` (:func:`configure` applies them
process-wide when the settings are loaded); each service's number of retries stays in its own
section. Calls inside a live turn (a premium TTS sentence, an LLM reply) do not retry at all:
they fall back to the local voice or the scripted line at once, which is the policy for anything
a waiting caller would hear.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from reauto.breaker import Breaker
from reauto.errors import ProviderError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: HTTP statuses worth retrying: request timeout, rate limit, and server errors (5xx, see below).
TRANSIENT_STATUSES = frozenset({408, 429})


class AttemptFailed(ProviderError):
    """One attempt at an external call failed.

    Args:
        message: what failed, for the log and the caller's error.
        retryable: trying again may succeed (a transient failure).
        count: the failure counts against the dependency's breaker.
        retry_after_s: the service asked to wait this long (``Retry-After``).
    """

    def __init__(self, message: str, *, retryable: bool, count: bool = True,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, retryable=retryable)
        self.count = count
        self.retry_after_s = retry_after_s
        self.attempts = 1


class BreakerOpen(AttemptFailed):
    """The dependency's breaker is open: the call was not made."""


@dataclass(frozen=True)
class RetryPolicy:
    """How one client retries: ``retries`` after the first attempt, backoff between them."""

    retries: int = 2
    initial_s: float = 0.2
    max_s: float = 5.0
    jitter_s: float = 0.2
    max_retry_after_s: float = 10.0

    def wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: the service's ``Retry-After`` (capped), else backoff."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, AttemptFailed) and exc.retry_after_s is not None:
            return min(max(exc.retry_after_s, 0.0), self.max_retry_after_s)
        backoff = wait_exponential(multiplier=self.initial_s, max=self.max_s) + wait_random(0, self.jitter_s)
        return float(backoff(state))


_defaults = RetryPolicy()
_breaker_defaults: tuple[int, float] = (5, 30.0)


def configure(defaults: RetryPolicy, *, breaker_threshold: int, breaker_reset_s: float) -> None:
    """Make ``[resilience]`` the process's backoff and breaker defaults (``load_settings`` passes them in).

    ``defaults.retries`` is not used: each service's number of retries stays in its own section.
    """
    global _defaults, _breaker_defaults  # noqa: PLW0603 - one process-wide policy, set from the settings
    _defaults = defaults
    _breaker_defaults = (breaker_threshold, breaker_reset_s)


def policy(retries: int, *, max_retry_after_s: float | None = None) -> RetryPolicy:
    """The configured policy with a service's own number of retries."""
    chosen = replace(_defaults, retries=retries)
    return chosen if max_retry_after_s is None else replace(chosen, max_retry_after_s=max_retry_after_s)


def breaker(name: str, *, threshold: int | None = None, reset_s: float | None = None) -> Breaker:
    """A breaker for the dependency ``name``, with the configured defaults unless given."""
    default_threshold, default_reset = _breaker_defaults
    return Breaker(threshold or default_threshold, reset_s or default_reset, name=name)


def transient_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying (408, 429, 5xx)."""
    return status in TRANSIENT_STATUSES or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its delta-seconds form (dates are not honoured)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def classify_status(message: str, status: int, retry_after: str | None = None) -> AttemptFailed:
    """The failure an HTTP error status means under the policy."""
    if transient_status(status):
        return AttemptFailed(message, retryable=True, retry_after_s=parse_retry_after(retry_after))
    return AttemptFailed(message, retryable=False, count=False)  # the service answers; the request is wrong


def classify_exception(message: str, exc: BaseException, *, retry_timeouts: bool = True) -> AttemptFailed:
    """The failure a raised exception means: timeouts and connection errors are transient.

    ``retry_timeouts=False`` is for requests that may have been acted on although no answer came
    (placing a call, sending a text): they count against the breaker but are not sent again.
    """
    timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc).lower() or "timeout" in type(exc).__name__.lower()
    return AttemptFailed(message, retryable=retry_timeouts or not timed_out)


async def call(attempt: Callable[[], Awaitable[T]], *, policy: RetryPolicy, breaker: Breaker | None = None,
               name: str = "") -> T:
    """Run ``attempt`` under the retry policy and the breaker.

    Raises:
        ProviderError: the last failure (an :class:`AttemptFailed`, or the provider's own error) —
            permanent, transient after the last retry, or the breaker open (``retryable`` is then
            false); ``attempts`` says how many were made.
    """
    def guarded() -> Awaitable[T]:
        if breaker is not None and not breaker.allow():
            raise BreakerOpen(f"{name or 'dependency'}: breaker open (it failed repeatedly)", retryable=False,
                              count=False)
        return attempt()

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning("%s; retrying in %.1f s (attempt %d of %d)", exc, wait, state.attempt_number + 1,
                    policy.retries + 1)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.retries + 1), wait=policy.wait, reraise=True, before_sleep=before_sleep,
        retry=retry_if_exception(lambda exc: isinstance(exc, ProviderError) and exc.retryable),
    )
    tries = 0
    try:
        async for trial in retrying:
            with trial:
                tries += 1
                try:
                    result = await guarded()
                except ProviderError as exc:  # AttemptFailed, or a provider's own error raised as is
                    if breaker is not None:
                        if getattr(exc, "count", exc.retryable):
                            breaker.failure()
                        elif not exc.retryable and not isinstance(exc, BreakerOpen):
                            breaker.success()  # a permanent refusal: the dependency itself is healthy
                    raise
                if breaker is not None:
                    breaker.success()
                return result
    except ProviderError as exc:
        exc.attempts = tries  # type: ignore[attr-defined]
        raise
    raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying either returns or raises
