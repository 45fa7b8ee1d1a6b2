"""The webhook and media server: Twilio's TwiML, status and AMD callbacks, leads' texts
(``/twilio/sms``) and calls (``/twilio/voice``), the media WebSocket, lead intake, campaign pause and resume, ``/healthz``, ``/readyz`` and ``/metrics``.

Every Twilio HTTP webhook must carry a valid ``X-Twilio-Signature`` for the URL Twilio
requested (403 otherwise); a media WebSocket is kept only when its ``start`` message carries the
call's one-time token (closed with 1008 otherwise). Bodies over ``[twilio] max_body_bytes``
(``[intake] max_body_bytes`` under ``/v1/``) get 413 while they stream in. Callbacks move the
call's stored state forward only (:mod:`reauto.telephony.lifecycle`); a callback for a call the
store does not have is acknowledged and logged once. Every client error is a 4xx with a
``detail``; an exception no handler expected is one log line and a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from reauto.serve import call_routes, control_routes, intake_routes, media, ops_routes, sms_routes, voice_routes
from reauto.serve.context import ServeContext
from reauto.serve.guard import INTERNAL_ERROR, BodyLimit, answer_failure
from reauto.serve.webhooks import Forbidden

__all__ = ["ServeApp", "create_app"]

log = logging.getLogger(__name__)

#: The routers of the app, by concern, in the order their endpoints are listed.
ROUTERS = (call_routes.router, media.router, intake_routes.router, sms_routes.router, voice_routes.router,
           control_routes.router, ops_routes.router)


class ServeApp(FastAPI):
    """FastAPI, except that an exception no handler caught is answered and logged here, once.

    Starlette sends its 500 and raises the exception again for the server to log; uvicorn's log
    line carried the exception's text (SQL parameters, names and numbers with it) outside
    reauto's loggers. Here it ends as one line of ``reauto.serve.guard``'s logger.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.accept", "websocket.close")
            await send(message)

        try:
            await super().__call__(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the last resort: answered and logged, never re-raised
            if scope["type"] == "lifespan":
                raise
            await answer_failure(scope, send, started, exc)


def create_app(ctx: ServeContext) -> FastAPI:
    """The ASGI app of ``reauto serve`` (and of ``reauto dial``'s embedded server)."""
    app = ServeApp(
        title="reauto serve", version="1",
        description="Twilio webhooks (signed with X-Twilio-Signature), the Media Streams WebSocket at "
                    "/media/{call_id}, lead intake, health, readiness and Prometheus metrics.",
    )
    app.state.context = ctx  # each route's Context (reauto.serve.context)
    limit = ctx.settings.max_body_bytes
    intake_limit = ctx.intake.max_body_bytes if ctx.intake is not None else limit
    app.add_middleware(BodyLimit, limit_for=lambda path: intake_limit if path.startswith("/v1/") else limit)
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(Forbidden, _forbidden)
    for router in ROUTERS:
        app.include_router(router)
    return app


async def _unexpected(_request: Request, _exc: Exception) -> Response:
    # Starlette sends this, then raises again: ServeApp logs the exception once
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


async def _forbidden(_request: Request, exc: Exception) -> Response:
    log.warning("webhook refused: %s", exc)
    return JSONResponse({"detail": "invalid Twilio signature"}, status_code=403)
