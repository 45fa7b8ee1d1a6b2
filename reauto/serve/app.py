"""The webhook and media server: Twilio's TwiML, status and AMD callbacks, the media WebSocket,
``/healthz``, ``/readyz`` and ``/metrics``.

Every Twilio HTTP webhook must carry a valid ``X-Twilio-Signature`` for the URL Twilio
requested (403 otherwise); a media WebSocket is kept only when its ``start`` message carries the
call's one-time token (closed with 1008 otherwise). Bodies over ``[twilio] max_body_bytes`` get
413. Callbacks move the call's stored state forward only (:mod:`reauto.telephony.lifecycle`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.websockets import WebSocketDisconnect

from reauto.breaker import Breaker
from reauto import metrics
from reauto.config import IntakeSettings, TwilioSettings
from reauto.dialer.records import CallRecorder
from reauto.intake.auth import Forbidden as IntakeForbidden
from reauto.intake.auth import Unauthorized, authenticate
from reauto.intake.leads import UnknownCampaign, accept_leads
from reauto.leads.build import ConsentPolicy
from reauto.metrics import exposition
from reauto.serve.security import ReplayGuard, signed_url, valid_signature
from reauto.telephony.lifecycle import apply_status, parse_twilio_status
from reauto.telephony.twilio import CallRegistry, MediaChannel

log = logging.getLogger(__name__)

#: Close code for a media stream without a valid token (RFC 6455: policy violation).
POLICY_VIOLATION = 1008
TWIML = "application/xml"


class Forbidden(Exception):
    """A webhook without a valid signature."""


class TooLarge(Exception):
    """A request body over the limit."""


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


def _form_example(**fields: str) -> dict[str, Any]:
    return {"requestBody": {"content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "additionalProperties": {"type": "string"}}, "example": fields}}}}


def create_app(ctx: ServeContext) -> FastAPI:
    """The ASGI app of ``reauto serve`` (and of ``reauto dial``'s embedded server)."""
    app = FastAPI(
        title="reauto serve", version="1",
        description="Twilio webhooks (signed with X-Twilio-Signature), the Media Streams WebSocket at "
                    "/media/{call_id}, health, readiness and Prometheus metrics.",
    )
    limit = ctx.settings.max_body_bytes
    intake_limit = ctx.intake.max_body_bytes if ctx.intake is not None else limit
    recorder = CallRecorder(ctx.sessions) if ctx.sessions is not None else None

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        most = intake_limit if request.url.path.startswith("/v1/") else limit
        if length is not None and (not length.isdigit() or int(length) > most):
            return JSONResponse({"detail": f"body over {most} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> Response:
        log.warning("webhook refused: %s", exc)
        return JSONResponse({"detail": "invalid Twilio signature"}, status_code=403)

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, _exc: TooLarge) -> Response:
        most = intake_limit if request.url.path.startswith("/v1/") else limit
        return JSONResponse({"detail": f"body over {most} bytes"}, status_code=413)

    async def verified_form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > limit:
            raise TooLarge()
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = signed_url(path_qs, public_url=ctx.settings.public_url, scheme=request.url.scheme,
                         host=request.headers.get("host", ""),
                         forwarded_proto=request.headers.get("x-forwarded-proto"),
                         forwarded_host=request.headers.get("x-forwarded-host"),
                         trust_proxy=ctx.settings.trust_proxy)
        signature = request.headers.get("x-twilio-signature")
        if not valid_signature(ctx.settings.auth_token, url, form, signature):
            raise Forbidden(f"{'missing' if not signature else 'wrong'} signature on {request.url.path}")
        if ctx.replay.stale(form.get("Timestamp")):
            raise Forbidden(f"stale callback on {request.url.path} (Timestamp {form.get('Timestamp')})")
        return form

    @app.post("/twilio/twiml/{call_id}", response_class=Response, tags=["twilio"],
              summary="TwiML for an answered call: <Connect><Stream> to its media WebSocket",
              openapi_extra=_form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="in-progress",
                                          AccountSid="AC0123456789abcdef0123456789abcdef", To="+15125550123",
                                          From="+15125550100", Direction="outbound-api"))
    async def twiml(call_id: str, request: Request) -> Response:
        await verified_form(request)
        return Response(ctx.registry.twiml(call_id), media_type=TWIML)

    @app.post("/twilio/status/{call_id}", status_code=204, tags=["twilio"],
              summary="Call status callback (initiated, ringing, answered, completed, busy, no-answer …)",
              openapi_extra=_form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="completed",
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
            return JSONResponse({"detail": f"unknown CallStatus {raw!r}"}, status_code=400)
        duration = form.get("CallDuration")
        if ctx.sessions is not None and call_id.isdigit():
            await apply_status(ctx.sessions, int(call_id), new, sid=form.get("CallSid"),
                               payload={k: form[k] for k in ("CallStatus", "SequenceNumber", "CallDuration",
                                                             "Timestamp", "SipResponseCode") if k in form})
        ctx.registry.status(call_id, raw, sid=form.get("CallSid"),
                            duration_s=float(duration) if duration and duration.isdigit() else None)
        return Response(status_code=204)

    @app.post("/twilio/amd/{call_id}", status_code=204, tags=["twilio"],
              summary="Asynchronous answering-machine detection result",
              openapi_extra=_form_example(CallSid="CA0123456789abcdef0123456789abcdef", AnsweredBy="machine_end_beep",
                                          MachineDetectionDuration="4180"))
    async def amd(call_id: str, request: Request) -> Response:
        form = await verified_form(request)
        answered_by = form.get("AnsweredBy", "unknown")
        ctx.registry.answered_by(call_id, answered_by)
        if recorder is not None and call_id.isdigit():
            await recorder.event(int(call_id), "amd", {
                "answered_by": answered_by, "duration_ms": form.get("MachineDetectionDuration")})
        return Response(status_code=204)

    @app.websocket("/media/{call_id}")
    async def media(websocket: WebSocket, call_id: str) -> None:
        await websocket.accept()
        try:
            start = await asyncio.wait_for(_read_start(websocket), ctx.media_start_timeout_s)
        except (TimeoutError, WebSocketDisconnect, ValueError) as exc:
            log.warning("media stream for call %s refused: no valid start message (%s)", call_id, exc)
            await _close(websocket)
            return
        info = start.get("start", {})
        pending = ctx.registry.claim_media(call_id, (info.get("customParameters") or {}).get("token"))
        if pending is None or (pending.sid and info.get("callSid") not in (None, pending.sid)):
            log.warning("media stream for call %s refused: wrong, missing or used token", call_id)
            await _close(websocket)
            return
        channel = MediaChannel(websocket, stream_sid=str(start.get("streamSid") or info.get("streamSid")),
                               call_sid=str(info.get("callSid") or pending.sid),
                               parameters=dict(info.get("customParameters") or {}))
        pending.media.set_result(channel)
        try:  # the call's pipeline reads and writes the socket until the dialer is done with it
            await asyncio.wait_for(channel.done.wait(), ctx.settings.time_limit_s + 120)
        except TimeoutError:
            log.warning("media stream for call %s outlived the call time limit; closing", call_id)
        await _close(websocket, code=1000)

    @app.post("/v1/leads", tags=["intake"], summary="Post new leads: stored at the head of the dial queue",
              responses={200: {"description": "every record's fate: created, already_present, rejected"},
                         401: {"description": "no API key or signature"}, 403: {"description": "wrong one"},
                         404: {"description": "no such campaign"}, 422: {"description": "no record was usable"}},
              openapi_extra={"requestBody": {"content": {"application/json": {"example": {"leads": [
                  {"external_id": "web-1841", "first_name": "Jane", "last_name": "Doe", "phone": "(512) 555-0123",
                   "email": "jane@example.com", "state": "TX", "consent": "yes",
                   "consent_at": "2026-11-25T15:02:00Z"}]}}}}})
    async def intake_leads(request: Request, campaign: str) -> Response:
        if ctx.intake is None or ctx.engine is None:
            return JSONResponse({"detail": "lead intake is not enabled on this server"}, status_code=404)
        body = await request.body()
        if len(body) > intake_limit:
            raise TooLarge()
        try:
            authenticate(request.headers, body, api_keys=ctx.intake.api_keys, hmac_secret=ctx.intake.hmac_secret,
                         max_skew_s=ctx.intake.max_skew_s)
        except Unauthorized as exc:
            return JSONResponse({"detail": str(exc)}, status_code=401)
        except IntakeForbidden as exc:
            return JSONResponse({"detail": str(exc)}, status_code=403)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return JSONResponse({"detail": f"body is not JSON: {exc}"}, status_code=400)
        records = payload.get("leads", [payload]) if isinstance(payload, dict) else payload
        if not isinstance(records, list) or not records:
            return JSONResponse({"detail": "expected a lead object, a list of them, or {\"leads\": [...]}"},
                                status_code=400)
        if len(records) > ctx.intake.max_leads:
            return JSONResponse({"detail": f"at most {ctx.intake.max_leads} leads per request"}, status_code=413)
        policy = ConsentPolicy(written=ctx.intake.consent_written, artificial_voice=ctx.intake.consent_ai_voice)
        try:
            result = await store_intake(records, campaign, policy=policy, source="intake")
        except UnknownCampaign as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        usable = result.created or result.already_present
        return JSONResponse(result.as_json(), status_code=200 if usable else 422)

    async def store_intake(records: list[Any], campaign: str, *, policy: ConsentPolicy, source: str,
                           mapping: Any = None) -> Any:
        """Validate and store; wake the campaign's dialers; count. Raises UnknownCampaign."""
        assert ctx.engine is not None
        result = await accept_leads(ctx.engine, campaign, records, region=ctx.region, policy=policy, source=source,
                                    mapping=mapping)
        if result.created and ctx.on_intake is not None:
            woken = ctx.on_intake(result.campaign_id)
            if inspect.isawaitable(woken):  # a wake-up bus: dialers in other processes too
                await woken
        metrics.LEADS_RECEIVED.labels(result="created").inc(len(result.created))
        metrics.LEADS_RECEIVED.labels(result="rejected").inc(len({r["index"] for r in result.rejected}))
        return result

    @app.post("/v1/webhooks/followupboss", tags=["intake"],
              summary="Follow Up Boss webhook (peopleCreated, peopleUpdated): new people become leads",
              responses={200: {"description": "each person's fate"}, 401: {"description": "no FUB-Signature"},
                         403: {"description": "wrong signature"}, 404: {"description": "not enabled"},
                         503: {"description": "Follow Up Boss could not be read; deliver again"}},
              openapi_extra={"requestBody": {"content": {"application/json": {"example": {
                  "eventId": "0f3e5d1c-2b4a-4c6e-9a8b-7d6c5b4a3f2e", "eventCreated": "2026-11-25T15:02:00+00:00",
                  "event": "peopleCreated", "resourceIds": [1841],
                  "uri": "https://api.followupboss.com/v1/people?id=1841"}}}}})
    async def followupboss_webhook(request: Request) -> Response:
        from reauto.intake import followupboss as fub

        if ctx.followupboss is None or ctx.engine is None:
            return JSONResponse({"detail": "Follow Up Boss intake is off ([followupboss] intake_campaign)"},
                                status_code=404)
        body = await request.body()
        if len(body) > intake_limit:
            raise TooLarge()
        settings = ctx.followupboss.settings
        try:
            fub.verify(request.headers, body, settings.system_key)
        except Unauthorized as exc:
            return JSONResponse({"detail": str(exc)}, status_code=401)
        except IntakeForbidden as exc:
            log.warning("Follow Up Boss webhook refused: %s", exc)
            return JSONResponse({"detail": str(exc)}, status_code=403)
        try:
            payload = json.loads(body)
            assert isinstance(payload, dict)
        except (ValueError, AssertionError):
            return JSONResponse({"detail": "body is not a JSON object"}, status_code=400)
        if ctx.replay.seen(f"fub:{payload.get('eventId')}" if payload.get("eventId") else None):
            return JSONResponse({"event": payload.get("event"), "duplicate": True})
        try:
            result = await fub.handle_webhook(payload, ctx.followupboss, settings, store=functools.partial(
                store_intake, policy=ConsentPolicy(), source="followupboss"))
        except fub.FollowUpBossError as exc:
            ctx.replay.forget(f"fub:{payload.get('eventId')}")
            log.warning("Follow Up Boss webhook %s not processed: %s", payload.get("eventId"), exc)
            return JSONResponse({"detail": str(exc)}, status_code=503)
        except UnknownCampaign as exc:
            ctx.replay.forget(f"fub:{payload.get('eventId')}")
            return JSONResponse({"detail": f"[followupboss] intake_campaign: {exc}"}, status_code=500)
        return JSONResponse(result.as_json())

    @app.post("/v1/forms/{name}", tags=["intake"], response_class=Response,
              summary="A website form's submission (URL-encoded or JSON) with the form's token",
              responses={200: {"description": "the lead's fate (JSON)"}, 303: {"description": "to the form's redirect"},
                         401: {"description": "no token"}, 403: {"description": "wrong token"},
                         404: {"description": "no such form"}, 422: {"description": "the submission is not a lead"}},
              openapi_extra=_form_example(token="<the form's token>", fname="Jane", lname="Doe",
                                          **{"your-phone": "(512) 555-0123", "state": "TX", "tcpa": "on"}))
    async def form_post(name: str, request: Request) -> Response:
        from reauto.intake.forms import form_record, mapping_for, token_ok

        form = ctx.intake.forms.get(name) if ctx.intake is not None else None
        if form is None or ctx.engine is None:
            return JSONResponse({"detail": f"no form named {name!r} ([intake.forms.{name}])"}, status_code=404)
        body = await request.body()
        if len(body) > intake_limit:
            raise TooLarge()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fields: dict[str, Any]
        if content_type == "application/json":
            try:
                fields = json.loads(body)
                assert isinstance(fields, dict)
            except (ValueError, AssertionError):
                return _form_answer(form, 400, {"detail": "body is not a JSON object"})
        elif content_type in ("application/x-www-form-urlencoded", ""):
            fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        else:
            return _form_answer(form, 415, {"detail": f"{content_type} is not accepted: post the form URL-encoded "
                                                      "(the browser default) or as JSON"})
        allowed = token_ok(form, request.headers, {**dict(request.query_params), **{
            k: str(v) for k, v in fields.items() if k == "token"}})
        if allowed is None:
            return _form_answer(form, 401, {"detail": "send the form's token as ?token= or X-Reauto-Form-Token"})
        if not allowed:
            return _form_answer(form, 403, {"detail": "wrong form token"})
        client = request.headers.get("x-forwarded-for", "").split(",")[0].strip() if ctx.settings.trust_proxy else ""
        record = form_record(name, form, fields, client_ip=client or (request.client.host if request.client else ""),
                             user_agent=request.headers.get("user-agent", ""),
                             page=request.headers.get("referer", ""))
        if record is None:  # a bot filled the honeypot: looks accepted, nothing stored
            log.info("form %s: submission dropped (honeypot %r filled)", name, form.honeypot)
            return _form_answer(form, 200, {"created": [], "already_present": [], "rejected": [], "warnings": []})
        policy = ConsentPolicy()  # what the consent covers is read from the form's disclosure text
        try:
            result = await store_intake([record], form.campaign, policy=policy, source=f"form:{name}",
                                        mapping=mapping_for(form))
        except UnknownCampaign as exc:
            return _form_answer(form, 500, {"detail": f"[intake.forms.{name}] campaign: {exc}"})
        usable = result.created or result.already_present
        return _form_answer(form, 200 if usable else 422, result.as_json())

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

        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/live", tags=["operations"], summary="Calls in progress (read by `reauto top`)")
    async def live() -> dict[str, Any]:
        return {"calls": ctx.live() if ctx.live is not None else []}

    return app


def _form_answer(form: Any, status: int, body: dict[str, Any]) -> Response:
    """JSON for a form service; a 303 to the form's redirect for a browser (with ?error= on failure)."""
    if not form.redirect:
        return JSONResponse(body, status_code=status)
    from urllib.parse import urlencode

    target = form.redirect
    if status >= 400:
        reasons = [r.get("reason", "") for r in body.get("rejected", [])] or [str(body.get("detail", ""))]
        target += ("&" if "?" in target else "?") + urlencode({"error": "; ".join(reasons)[:300]})
    return Response(status_code=303, headers={"Location": target})


async def _read_start(websocket: WebSocket) -> dict[str, Any]:
    """Twilio's first messages: ``connected``, then ``start`` (returned)."""
    for _ in range(3):
        message = json.loads(await websocket.receive_text())
        if message.get("event") == "start":
            return dict(message)
        if message.get("event") != "connected":
            raise ValueError(f"unexpected {message.get('event')!r} before start")
    raise ValueError("no start message")


async def _close(websocket: WebSocket, code: int = POLICY_VIOLATION) -> None:
    try:
        await websocket.close(code=code)
    except (RuntimeError, WebSocketDisconnect):  # already closed by the far end
        pass

