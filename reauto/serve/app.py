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

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reauto.breaker import Breaker
from reauto.config import IntakeSettings, TwilioSettings
from reauto.dialer.records import CallRecorder
from reauto.metrics import exposition, served_registry
from reauto.serve.control_routes import add_control_routes
from reauto.serve.guard import INTERNAL_ERROR, BodyLimit, answer_failure, call_number, clean_form, shown
from reauto.serve.intake_routes import add_intake_routes
from reauto.serve.media import POLICY_VIOLATION, serve_media
from reauto.serve.openapi import form_example
from reauto.serve.security import ReplayGuard, signed_url, valid_signature
from reauto.serve.sms_routes import add_sms_routes
from reauto.serve.voice_routes import add_voice_routes
from reauto.telephony.lifecycle import apply_status, parse_twilio_status
from reauto.telephony.twilio import CallRegistry

__all__ = ["POLICY_VIOLATION", "ServeApp", "ServeContext", "create_app"]

log = logging.getLogger(__name__)

TWIML = "application/xml"
#: What may be stored as a call's SID (Twilio's are ``CA`` and 32 hex digits; the column holds 64).
_SID = re.compile(r"[A-Za-z0-9]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,9}")
#: What a status callback's event keeps (StirStatus: the attestation Twilio gave the caller ID).
STATUS_KEPT = ("CallStatus", "SequenceNumber", "CallDuration", "Timestamp", "SipResponseCode", "StirStatus",
               "StirVerstat")


class Forbidden(Exception):
    """A webhook without a valid signature."""


@dataclass
class ServeContext:
    """What the server needs from the process it runs in.

    Attributes:
        settings: ``[twilio]`` (auth token, public URL, proxy trust, body limit).
        registry: the calls this process placed (TwiML, tokens, waiting dialers).
        sessions: the store, for the call lifecycle (None: callbacks only reach the registry).
        checks: readiness probes by name (database, redis …); each raises when not ready.
        breakers: breakers whose state ``/readyz`` reports (an open one makes it not ready).
        live: the calls in progress as JSON rows (``/live``, read by ``reauto top``).
    """

    settings: TwilioSettings
    registry: CallRegistry
    sessions: async_sessionmaker[AsyncSession] | None = None
    checks: dict[str, Callable[[], Awaitable[Any]]] = field(default_factory=dict)
    breakers: list[Breaker] = field(default_factory=list)
    live: Callable[[], list[dict[str, Any]]] | None = None
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    media_start_timeout_s: float = 10.0
    intake: IntakeSettings | None = None
    engine: AsyncEngine | None = None
    region: str = "US"
    on_intake: Callable[[int], Any] | None = None  # wakes the campaign's dialers (by id; may be async)
    followupboss: Any = None  # reauto.intake.followupboss.FollowUpBoss when its webhooks are taken


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
    limit = ctx.settings.max_body_bytes
    intake_limit = ctx.intake.max_body_bytes if ctx.intake is not None else limit
    recorder = CallRecorder(ctx.sessions) if ctx.sessions is not None else None
    metrics_registry = served_registry()
    app.add_middleware(BodyLimit, limit_for=lambda path: intake_limit if path.startswith("/v1/") else limit)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> Response:
        # Starlette sends this, then raises again: ServeApp logs the exception once
        return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> Response:
        log.warning("webhook refused: %s", exc)
        return JSONResponse({"detail": "invalid Twilio signature"}, status_code=403)

    async def verified_form(request: Request) -> dict[str, str]:
        body = await request.body()
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = signed_url(path_qs, public_url=ctx.settings.public_url, scheme=request.url.scheme,
                         host=request.headers.get("host", ""),
                         forwarded_proto=request.headers.get("x-forwarded-proto"),
                         forwarded_host=request.headers.get("x-forwarded-host"),
                         trust_proxy=ctx.settings.trust_proxy)
        signature = request.headers.get("x-twilio-signature")
        where = shown(request.url.path)
        if not valid_signature(ctx.settings.auth_token, url, form, signature):
            raise Forbidden(f"{'missing' if not signature else 'wrong'} signature on {where}")
        if ctx.replay.stale(form.get("Timestamp")):
            raise Forbidden(f"stale callback on {where} (Timestamp {shown(form.get('Timestamp', ''))})")
        return clean_form(form)

    def sid_of(form: dict[str, str]) -> str | None:
        sid = form.get("CallSid", "")
        return sid if _SID.fullmatch(sid) else None

    @app.post("/twilio/twiml/{call_id}", response_class=Response, tags=["twilio"],
              summary="TwiML for an answered call: <Connect><Stream> to its media WebSocket",
              responses={403: {"description": "no valid X-Twilio-Signature"}},
              openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="in-progress",
                                         AccountSid="AC0123456789abcdef0123456789abcdef", To="+15125550123",
                                         From="+15125550100", Direction="outbound-api"))
    async def twiml(call_id: str, request: Request) -> Response:
        await verified_form(request)
        if ctx.registry.get(call_id) is None:
            log.warning("TwiML asked for call %s, which this process is not placing: hanging up", shown(call_id))
        return Response(ctx.registry.twiml(call_id), media_type=TWIML)

    @app.post("/twilio/status/{call_id}", status_code=204, tags=["twilio"],
              summary="Call status callback (initiated, ringing, answered, completed, busy, no-answer …)",
              responses={400: {"description": "unknown CallStatus"}, 403: {"description": "no valid signature"}},
              openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="completed",
                                         SequenceNumber="3", CallDuration="42",
                                         Timestamp="Wed, 25 Nov 2026 16:00:00 +0000"))
    async def status(call_id: str, request: Request) -> Response:
        form = await verified_form(request)
        if ctx.replay.seen(request.headers.get("i-twilio-idempotency-token")):
            return Response(status_code=204)
        raw = form.get("CallStatus", "")
        try:
            new = parse_twilio_status(raw)
        except ValueError:
            return JSONResponse({"detail": f"unknown CallStatus {raw[:40]!r}"}, status_code=400)
        duration = form.get("CallDuration", "")
        number = call_number(call_id)
        if ctx.sessions is not None and number is not None:
            after = await apply_status(ctx.sessions, number, new, sid=sid_of(form),
                                       payload={k: form[k] for k in STATUS_KEPT if k in form})
            if after is None:
                log.warning("status %s for call %s, which the store does not have: ignored", new.value, number)
        ctx.registry.status(call_id, raw, sid=sid_of(form),
                            duration_s=float(duration) if _DIGITS.fullmatch(duration) else None)
        return Response(status_code=204)

    @app.post("/twilio/amd/{call_id}", status_code=204, tags=["twilio"],
              summary="Asynchronous answering-machine detection result",
              responses={403: {"description": "no valid signature"}},
              openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", AnsweredBy="machine_end_beep",
                                         MachineDetectionDuration="4180"))
    async def amd(call_id: str, request: Request) -> Response:
        form = await verified_form(request)
        answered_by = form.get("AnsweredBy", "unknown")[:40]
        ctx.registry.answered_by(call_id, answered_by)
        number = call_number(call_id)
        if recorder is not None and number is not None:
            try:
                await recorder.event(number, "amd", {
                    "answered_by": answered_by, "duration_ms": form.get("MachineDetectionDuration")})
            except IntegrityError:  # no such call: Twilio's retry would fail the same way
                log.warning("AMD result for call %s, which the store does not have: ignored", number)
        return Response(status_code=204)

    @app.websocket("/media/{call_id}")
    async def media(websocket: WebSocket, call_id: str) -> None:
        await serve_media(websocket, call_id, ctx.registry, start_timeout_s=ctx.media_start_timeout_s,
                          call_limit_s=ctx.settings.time_limit_s + 120)

    add_intake_routes(app, ctx)
    add_sms_routes(app, ctx, verified_form)
    add_voice_routes(app, ctx, verified_form)
    add_control_routes(app, ctx)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Dependencies reachable (store, Redis) and no breaker open",
             responses={503: {"description": "not ready; `checks` says why"}})
    async def readyz() -> Response:
        checks: dict[str, str] = {}
        for name, probe in ctx.checks.items():
            try:
                await asyncio.wait_for(probe(), 3.0)
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 (reported, not raised)
                checks[name] = f"failed: {type(exc).__name__}: {exc}"[:200]
        for breaker in ctx.breakers:
            checks[f"breaker:{breaker.name}"] = breaker.state
        ready = all(v in ("ok", "closed", "half-open") for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks, "calls_in_flight": len(ctx.registry)},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(exposition(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/live", tags=["operations"], summary="Calls in progress (read by `reauto top`)")
    async def live() -> dict[str, Any]:
        return {"calls": ctx.live() if ctx.live is not None else []}

    return app
