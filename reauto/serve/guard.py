"""What stands between the network and the handlers of ``reauto serve``: a body cap that counts
the bytes as they arrive, bounded JSON, checked call ids, and one answer for what slips through.

A cap on ``Content-Length`` alone misses a chunked upload, which has none: 300 MB posted that way
is read whole before any handler runs (measured: +600 MB of server memory, on /v1/leads and
/twilio/status alike). :class:`BodyLimit` reads at most the limit plus one chunk and answers 413,
closing the connection, as soon as it is passed (measured: +2 MB, 3 MB read, 10 ms;
tests/test_serve_fuzz.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from reauto.leads.values import MAX_DEPTH, clean_text, json_depth

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Call ids are the store's integer keys (PostgreSQL ``integer``).
MAX_CALL_ID = 2**31 - 1
_CALL_ID = re.compile(r"[0-9]{1,10}")
#: The ``detail`` of a 500: the request was fine, the server failed; senders may deliver again.
INTERNAL_ERROR = "internal error; the request may be retried"
_PLAIN = re.compile(r"[A-Za-z0-9_./:-]{1,80}")


class BadBody(ValueError):
    """A request body that is not what the endpoint reads; ``detail`` is the 400's."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def parse_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of a request body, nested at most ``max_depth`` deep.

    ``NaN`` and ``Infinity`` are read as numbers so that the one lead holding them is rejected
    with its field, not the whole request.

    Raises:
        BadBody: not UTF-8 JSON, or nested too deeply (``[`` × 100,000 included).
    """
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadBody(f"body is not JSON the server reads: nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, an integer of thousands of digits
        raise BadBody(f"body is not JSON: {exc}"[:300]) from None
    if json_depth(value) > max_depth:
        raise BadBody(f"body is not JSON the server reads: nested deeper than {max_depth} levels")
    return value


def call_number(call_id: str) -> int | None:
    """The store's id of the call a webhook URL names, or None when it cannot be one."""
    if not _CALL_ID.fullmatch(call_id):
        return None
    number = int(call_id)
    return number if 0 < number <= MAX_CALL_ID else None


def shown(text: str) -> str:
    """A client-chosen string (path part, id) as a log line may carry it: plain, or quoted and cut."""
    if _PLAIN.fullmatch(text):
        return text
    return repr(clean_text(text[:64])[0])


def clean_form(form: dict[str, str], *, longest: int = 1000) -> dict[str, str]:
    """A verified webhook's fields without control characters and cut to ``longest``: they are
    stored (call events) and a NUL or a megabyte in one would fail the write."""
    return {clean_text(k)[0][:100]: clean_text(v)[0][:longest] for k, v in form.items()}


class BodyLimit:
    """ASGI middleware: an HTTP request body over ``limit_for(path)`` bytes gets 413, whatever its
    transfer encoding, after reading no more than the limit plus one chunk.

    The body is read here and handed to the app whole, so handlers never read past the limit.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        most = self.limit_for(scope.get("path", ""))
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > most):
            await _too_large(send, most)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > most:
                await _too_large(send, most)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


async def _too_large(send: Send, most: int) -> None:
    body = json.dumps({"detail": f"body over {most} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def answer_failure(scope: Scope, send: Send, started: bool, exc: BaseException) -> None:
    """What the server does with an exception no handler caught: one log line (with the
    traceback, redacted by the log filter) and, when nothing was sent yet, a 500 with a detail."""
    log.error("%s %s failed: %s", scope.get("method", "WEBSOCKET"), shown(scope.get("path", "")),
              type(exc).__name__, exc_info=exc)
    if started or scope["type"] != "http":
        return
    body = json.dumps({"detail": INTERNAL_ERROR}).encode()
    await send({"type": "http.response.start", "status": 500, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
