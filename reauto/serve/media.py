"""The Media Streams WebSocket (``/media/{call_id}``): Twilio's ``connected`` and ``start``
messages, checked by type, before the call's pipeline takes the socket.

A stream is kept only when its ``start`` carries the call's one-time token; anything else — a
binary frame, text that is not a JSON object, a ``start`` of the wrong shape, silence — closes
the socket with one log line and no exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from reauto.leads.values import MAX_DEPTH, json_depth
from reauto.serve.context import Context
from reauto.serve.guard import shown
from reauto.telephony.twilio import CallRegistry, MediaChannel

log = logging.getLogger(__name__)

#: Close codes (RFC 6455): a policy violation (no valid token), data the endpoint does not take.
POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003


class Refused(ValueError):
    """The stream's first messages are not Twilio's; ``code`` closes the socket."""

    def __init__(self, reason: str, code: int = POLICY_VIOLATION) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class Start:
    """What a ``start`` message says, as text."""

    stream_sid: str
    call_sid: str
    token: str
    parameters: dict[str, str] = field(default_factory=dict)


router = APIRouter()


@router.websocket("/media/{call_id}")
async def media(websocket: WebSocket, call_id: str, ctx: Context) -> None:
    await serve_media(websocket, call_id, ctx.registry, start_timeout_s=ctx.media_start_timeout_s,
                      call_limit_s=ctx.settings.time_limit_s + 120)


async def serve_media(websocket: WebSocket, call_id: str, registry: CallRegistry, *, start_timeout_s: float,
                      call_limit_s: float) -> None:
    """Accept the socket, check its start, hand it to the dialer that placed the call, then wait."""
    await websocket.accept()
    try:
        start = await asyncio.wait_for(read_start(websocket), start_timeout_s)
    except (TimeoutError, WebSocketDisconnect, Refused) as exc:
        reason = "no start message in time" if isinstance(exc, TimeoutError) else (
            "the far end left" if isinstance(exc, WebSocketDisconnect) else str(exc))
        log.warning("media stream for call %s refused: %s", shown(call_id), reason)
        await close(websocket, exc.code if isinstance(exc, Refused) else POLICY_VIOLATION)
        return
    pending = registry.claim_media(call_id, start.token or None)
    if pending is None or (pending.sid and start.call_sid not in ("", pending.sid)):
        log.warning("media stream for call %s refused: wrong, missing or used token", shown(call_id))
        await close(websocket)
        return
    channel = MediaChannel(websocket, stream_sid=start.stream_sid, call_sid=start.call_sid or str(pending.sid),
                           parameters=start.parameters)
    pending.media.set_result(channel)
    try:  # the call's pipeline reads and writes the socket until the dialer is done with it
        await asyncio.wait_for(channel.done.wait(), call_limit_s)
    except TimeoutError:
        log.warning("media stream for call %s outlived the call time limit; closing", shown(call_id))
    await close(websocket, code=1000)


async def read_start(websocket: WebSocket) -> Start:
    """Twilio's first messages: ``connected``, then ``start`` (returned, checked by type).

    Raises:
        Refused: a binary frame, a message that is not a JSON object, another event first.
        WebSocketDisconnect: the far end closed the socket.
    """
    for _ in range(3):
        message = await _next_object(websocket)
        if message.get("event") == "start":
            return _start(message)
        if message.get("event") != "connected":
            raise Refused(f"unexpected event {shown(str(message.get('event')))} before start")
    raise Refused("no start message")


async def _next_object(websocket: WebSocket) -> dict[str, Any]:
    received = await websocket.receive()
    if received["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(received.get("code", 1000))
    text = received.get("text")
    if text is None:
        raise Refused("a binary frame (Twilio sends JSON text)", UNSUPPORTED_DATA)
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("a message that is not JSON", UNSUPPORTED_DATA) from None
    if not isinstance(message, dict) or json_depth(message) > MAX_DEPTH:
        raise Refused("a message that is not a JSON object of Twilio's", UNSUPPORTED_DATA)
    return message


def _start(message: dict[str, Any]) -> Start:
    info = message.get("start")
    if not isinstance(info, dict):
        raise Refused("a start message without its start object")
    params = info.get("customParameters") or {}
    if not isinstance(params, dict):
        raise Refused("customParameters is not an object")
    texts = {str(k): v for k, v in params.items() if isinstance(v, str)}
    token = texts.get("token", "")
    if not token.isascii():  # never a token of ours (and the constant-time check refuses such text)
        token = ""

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    return Start(stream_sid=text(message.get("streamSid")) or text(info.get("streamSid")),
                 call_sid=text(info.get("callSid")), token=token, parameters=texts)


async def close(websocket: WebSocket, code: int = POLICY_VIOLATION) -> None:
    """Close the socket; a socket the far end closed already is left as it is."""
    try:
        await websocket.close(code=code)
    except (RuntimeError, WebSocketDisconnect):
        pass
