"""An HTTP API client with the retry policy and breaker every external call of reauto needs.

A timeout per request; retries with exponential backoff and jitter on transient failures —
timeouts, connection errors, 408, 429 (honouring ``Retry-After`` up to a cap) and 5xx; any other
4xx is permanent at once; a breaker per API that refuses calls while the API keeps failing. The
error classes are the caller's (an export target raises its own, the intake its own).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any

import httpx

from reauto.breaker import Breaker

log = logging.getLogger(__name__)


class TransientError(RuntimeError):
    """May succeed if tried again later."""


class PermanentError(RuntimeError):
    """Will not succeed as it is."""


def transient_status(status: int) -> bool:
    """Retry policy: timeouts (408), rate limits (429) and server errors (5xx) are worth retrying."""
    return status in (408, 429) or status >= 500


class HttpApi:
    """An HTTP API with a timeout per request, retries with exponential backoff and jitter on
    transient failures (honouring ``Retry-After`` up to ``max_retry_after_s``), and a breaker."""

    def __init__(self, base_url: str, *, name: str, timeout_s: float = 5.0, retries: int = 2,
                 headers: Mapping[str, str] | None = None, auth: Any = None, breaker_threshold: int = 5,
                 breaker_reset_s: float = 30.0, max_retry_after_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 transient: type[Exception] | None = None, permanent: type[Exception] | None = None) -> None:
        if transient is None or permanent is None:  # the export targets' errors by default
            from reauto.export.targets.base import PermanentExportError, TransientExportError

            transient, permanent = transient or TransientExportError, permanent or PermanentExportError
        self.transient, self.permanent = transient, permanent
        self.name = name
        self.retries = retries
        self.timeout_s = timeout_s
        self.max_retry_after_s = max_retry_after_s
        self.breaker = Breaker(breaker_threshold, breaker_reset_s, name=name)
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s, headers=dict(headers or {}),
                                       auth=auth, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                      params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                      ok_statuses: tuple[int, ...] = ()) -> httpx.Response:
        """The response (2xx, or a status in ``ok_statuses``); raises the transient or permanent error."""
        for attempt in range(self.retries + 1):
            if not self.breaker.allow():
                raise self.transient(f"{self.name}: breaker open (the API failed repeatedly)")
            wait = 0.2 * 2 ** attempt * (0.5 + random.random())  # noqa: S311 - jitter
            try:
                response = await self._http.request(method, path, json=json, content=content, params=params,
                                                    headers=headers)
            except httpx.TimeoutException:
                self.breaker.failure()
                problem = f"{self.name}: {method} {path} timed out after {self.timeout_s:.1f} s"
            except httpx.HTTPError as exc:
                self.breaker.failure()
                problem = f"{self.name}: {method} {path} failed: {type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300 or response.status_code in ok_statuses:
                    self.breaker.success()
                    return response
                problem = f"{self.name}: {method} {path}: HTTP {response.status_code} {response.text[:300]}"
                if not transient_status(response.status_code):
                    self.breaker.success()  # the service answers; this request is wrong
                    raise self.permanent(problem)
                self.breaker.failure()
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = min(float(retry_after), self.max_retry_after_s)
            if attempt == self.retries:
                raise self.transient(problem)
            log.warning("%s; retrying in %.1f s", problem, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")
