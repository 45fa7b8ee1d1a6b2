"""``POST /twilio/voice``: Twilio's incoming-call webhook (a lead calls a campaign number).

Set it as the number's "A call comes in" webhook (POST). Signed like the other Twilio webhooks
(403 without a valid ``X-Twilio-Signature``). The dialer of this process (``reauto dial`` or
``reauto serve --campaign`` on Twilio) decides: it takes the call — the answer is the
``<Connect><Stream>`` to its media WebSocket, and the agent greets the caller
(:mod:`reauto.dialer.inbound`) — or it cannot (every slot busy, the budget spent, stopping), and
the caller hears the campaign's ``inbound.unavailable`` line (a ``<Say>``, then ``<Hangup/>``) and
a known lead is due for a call back. A process without a dialer answers the same way, for the
campaign whose caller ID was called; a number that opted out hears the ``inbound.opted_out`` line.

``POST /twilio/conference/{call_id}`` takes the status callbacks of a call's conference room (a
hand-over to a person, :mod:`reauto.telephony.conference`): a person joining lets the lead through.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reauto.dialer.inbound import unattended
from reauto.serve.context import Context
from reauto.serve.openapi import form_example
from reauto.serve.webhooks import TWIML, verified_form
from reauto.store.types import utcnow
from reauto.telephony.base import IncomingCall

log = logging.getLogger(__name__)

router = APIRouter()
#: What a caller hears when the server has neither a dialer nor a store to ask.
NOBODY = "Sorry, we can't take your call right now. Please try again later. Goodbye."


def twiml_say(text: str) -> str:
    """The TwiML that says ``text`` and hangs up."""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Say>{escape(text)}</Say><Hangup/></Response>'


@router.post("/twilio/conference/{call_id}", status_code=204, tags=["twilio"],
             summary="Conference status callback of a call handed to a person (participant-join lets the lead in)",
             responses={403: {"description": "no valid X-Twilio-Signature"}},
             openapi_extra=form_example(ConferenceSid="CF0123456789abcdef0123456789abcdef",
                                        FriendlyName="reauto-call-7", StatusCallbackEvent="participant-join",
                                        CallSid="CA0123456789abcdef0123456789abcdef", SequenceNumber="2",
                                        Timestamp="Wed, 25 Nov 2026 16:00:00 +0000"))
async def conference(call_id: str, request: Request, ctx: Context) -> Response:
    form = await verified_form(request, ctx)
    event = form.get("StatusCallbackEvent", "")[:40]
    ctx.registry.conference(call_id, event, form.get("CallSid", "")[:64] or None)
    log.info("conference of call %s: %s", call_id[:20], event or "(no event)")
    return Response(status_code=204)


@router.post("/twilio/voice", response_class=Response, tags=["twilio"],
             summary="A lead calls a campaign number: the agent answers, or the caller hears the unavailable line",
             responses={200: {"description": "TwiML: <Connect><Stream> to the agent, or <Say> then <Hangup/>"},
                        403: {"description": "no valid X-Twilio-Signature"}},
             openapi_extra=form_example(CallSid="CA0123456789abcdef0123456789abcdef", CallStatus="ringing",
                                        AccountSid="AC0123456789abcdef0123456789abcdef", From="+15125550123",
                                        To="+15125550100", Direction="inbound"))
async def incoming_call(request: Request, ctx: Context) -> Response:
    form = await verified_form(request, ctx)
    call = IncomingCall(form.get("CallSid", "")[:64], form.get("From", ""), form.get("To", ""))
    answerer = ctx.registry.answerer
    if answerer is not None:
        pickup = await answerer(call)
        if pickup.call_ref is not None:
            ctx.registry.expect(pickup.call_ref, call.sid)
            return Response(ctx.registry.twiml(pickup.call_ref), media_type=TWIML)
        return Response(twiml_say(pickup.say or NOBODY), media_type=TWIML)
    if ctx.sessions is None:
        return Response(twiml_say(NOBODY), media_type=TWIML)
    return Response(twiml_say(await unattended(ctx.sessions, call, region=ctx.region, now=utcnow())),
                    media_type=TWIML)
