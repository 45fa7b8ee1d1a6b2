"""Twilio's callbacks for the calls this process places: TwiML, call status and answering-machine detection.

``POST /twilio/twiml/{call_id}`` answers an answered call with its ``<Connect><Stream>``;
``/twilio/status/{call_id}`` moves the call's stored state forward only
(:mod:`reauto.telephony.lifecycle`); ``/twilio/amd/{call_id}`` tells the waiting dialer and the
call's events who answered. A callback for a call the store does not have is acknowledged and
logged once.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError

from reauto.serve.context import Context
from reauto.serve.guard import call_number, shown
from reauto.serve.openapi import form_example
from reauto.serve.webhooks import TWIML, verified_form
from reauto.telephony.lifecycle import apply_status, parse_twilio_status

log = logging.getLogger(__name__)

router = APIRouter(tags=["twilio"])

#: What may be stored as a call's SID (Twilio's are ``CA`` and 32 hex digits; the column holds 64).
_SID = re.compile(r"[A-Za-z0-9]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,9}")
#: What a status callback's event keeps (StirStatus: the attestation Twilio gave the caller ID).
STATUS_KEPT = ("CallStatus", "SequenceNumber", "CallDuration", "Timestamp", "SipResponseCode", "StirStatus",
               "StirVerstat")


def sid_of(form: dict[str, str]) -> str | None:
    """The form's ``CallSid`` when it has the shape of one."""
    sid = form.get("CallSid", "")
    return sid if _SID.fullmatch(sid) else None


@router.post("/twilio/twiml/{call_id}", response_class=Response,
             summary="TwiML for an answered call: <Connect><Stream> to its media WebSocket",
             responses={403: {"description": "no valid X-Twilio-Signature"}},
             openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="in-progress",
                                        AccountSid="AC0123456789abcdef0123456789abcdef", To="+15125550123",
                                        From="+15125550100", Direction="outbound-api"))
async def twiml(call_id: str, request: Request, ctx: Context) -> Response:
    await verified_form(request, ctx)
    if ctx.registry.get(call_id) is None:
        log.warning("TwiML asked for call %s, which this process is not placing: hanging up", shown(call_id))
    return Response(ctx.registry.twiml(call_id), media_type=TWIML)


@router.post("/twilio/status/{call_id}", status_code=204,
             summary="Call status callback (initiated, ringing, answered, completed, busy, no-answer …)",
             responses={400: {"description": "unknown CallStatus"}, 403: {"description": "no valid signature"}},
             openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="completed",
                                        SequenceNumber="3", CallDuration="42",
                                        Timestamp="Wed, 25 Nov 2026 16:00:00 +0000"))
async def status(call_id: str, request: Request, ctx: Context) -> Response:
    form = await verified_form(request, ctx)
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


@router.post("/twilio/amd/{call_id}", status_code=204,
             summary="Asynchronous answering-machine detection result",
             responses={403: {"description": "no valid signature"}},
             openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", AnsweredBy="machine_end_beep",
                                        MachineDetectionDuration="4180"))
async def amd(call_id: str, request: Request, ctx: Context) -> Response:
    form = await verified_form(request, ctx)
    answered_by = form.get("AnsweredBy", "unknown")[:40]
    ctx.registry.answered_by(call_id, answered_by)
    number = call_number(call_id)
    recorder = ctx.recorder
    if recorder is not None and number is not None:
        try:
            await recorder.event(number, "amd", {
                "answered_by": answered_by, "duration_ms": form.get("MachineDetectionDuration")})
        except IntegrityError:  # no such call: Twilio's retry would fail the same way
            log.warning("AMD result for call %s, which the store does not have: ignored", number)
    return Response(status_code=204)
