"""An HTTP API client with the retry policy and breaker every external call of reauto needs.

A timeout per request; retries with exponential backoff and jitter on transient failures —
timeouts, connection errors, 408, 429 (honouring ``Retry-After`` up to a cap) and 5xx; any other
4xx is permanent at once; a breaker per API that refuses calls while the API keeps failing. The
error classes are the caller's (an export target raises its own, the intake its own); without
them, :class:`TransientError` and :class:`PermanentError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from reauto import resilience
from reauto.errors import ProviderError
from reauto.resilience import AttemptFailed, classify_exception, classify_status

log = logging.getLogger(__name__)


class TransientError(ProviderError):
    """May succeed if tried again later."""

    retryable = True


class PermanentError(ProviderError):
    """Will not succeed as it is."""

    retryable = False


transient_status = resilience.transient_status  # the policy lives in reauto.resilience


class HttpApi:
    """An HTTP API with a timeout per request, retries with exponential backoff and jitter on
    transient failures (honouring ``Retry-After`` up to ``max_retry_after_s``), and a breaker."""

    def __init__(self, base_url: str, *, name: str, timeout_s: float = 5.0, retries: int = 2,
                 headers: Mapping[str, str] | None = None, auth: Any = None, breaker_threshold: int | None = None,
                 breaker_reset_s: float | None = None, max_retry_after_s: float | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 transient: type[Exception] = TransientError, permanent: type[Exception] = PermanentError) -> None:
        self.transient, self.permanent = transient, permanent
        self.name = name
        self.timeout_s = timeout_s
        self.policy = resilience.policy(retries, max_retry_after_s=max_retry_after_s)
        self.breaker = resilience.breaker(name, threshold=breaker_threshold, reset_s=breaker_reset_s)
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s, headers=dict(headers or {}),
                                       auth=auth, transport=transport)

    @property
    def retries(self) -> int:
        return self.policy.retries

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                      params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                      ok_statuses: tuple[int, ...] = ()) -> httpx.Response:
        """The response (2xx, or a status in ``ok_statuses``); raises the transient or permanent error."""
        async def attempt() -> httpx.Response:
            try:
                response = await self._http.request(method, path, json=json, content=content, params=params,
                                                    headers=headers)
            except httpx.TimeoutException as exc:
                raise classify_exception(f"{self.name}: {method} {path} timed out after {self.timeout_s:.1f} s",
                                         exc) from None
            except httpx.HTTPError as exc:
                raise classify_exception(f"{self.name}: {method} {path} failed: {type(exc).__name__}: {exc}",
                                         exc) from None
            if response.status_code < 300 or response.status_code in ok_statuses:
                return response
            raise classify_status(f"{self.name}: {method} {path}: HTTP {response.status_code} {response.text[:300]}",
                                  response.status_code, response.headers.get("retry-after"))

        try:
            return await resilience.call(attempt, policy=self.policy, breaker=self.breaker, name=self.name)
        except AttemptFailed as exc:
            error = self.permanent if not exc.retryable and not isinstance(exc, resilience.BreakerOpen) else self.transient
            raise error(str(exc)) from None
