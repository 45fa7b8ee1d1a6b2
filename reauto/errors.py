"""Errors that reach the operator: each carries the exit code and one clear line."""

from __future__ import annotations


class ReautoError(Exception):
    """Base class for errors the CLI reports as one line instead of a traceback.

    Attributes:
        exit_code: process exit status the CLI uses for this error.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(ReautoError):
    """A settings file or variable is unreadable, unknown or invalid (names file, line and key)."""

    exit_code = 2


class UsageError(ReautoError):
    """The command was called with input it cannot use."""

    exit_code = 2


class DatabaseUnavailable(ReautoError):
    """The database cannot be reached; the message says where and what to check."""

    exit_code = 3


class ProviderError(ReautoError):
    """A provider or external service failed: Twilio, a CRM or webhook, a TTS, LLM or model source.

    Every provider's error is one of these, so that callers, the retry policy and the breakers
    (:mod:`reauto.resilience`) ask one question of any of them: may the same request succeed later?

    Attributes:
        retryable: trying the same request again may succeed (a timeout, a refused connection,
            408, 429, 5xx). The retry policy retries only these, and only these count against the
            dependency's breaker; anything else is the request's fault, not the service's.
    """

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None, exit_code: int | None = None) -> None:
        super().__init__(message, exit_code=exit_code)
        if retryable is not None:
            self.retryable = retryable
