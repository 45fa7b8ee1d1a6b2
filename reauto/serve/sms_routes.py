"""``POST /twilio/sms``: Twilio's inbound messaging webhook (a lead's text to a campaign number).

Signed like the other Twilio webhooks (403 without a valid ``X-Twilio-Signature``). The text is
read and acted on (:mod:`reauto.intake.texts`) before the answer goes back, so an opt-out is on
the do-not-call list when Twilio has it; the answer is TwiML, with the one confirmation,
HELP text or START confirmation as a ``<Message>`` (an empty ``<Response/>`` otherwise). With
Twilio's own opt-out handling on for the number, Twilio answers STOP itself and drops ours; a
plain-language opt-out ("don't text me") is answered only here.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from reauto.intake.texts import InboundText, receive_text
from reauto.serve.context import Context
from reauto.serve.openapi import form_example
from reauto.serve.webhooks import TWIML, verified_form

log = logging.getLogger(__name__)

router = APIRouter()


def twiml_message(text: str | None) -> str:
    """The TwiML answer: one ``<Message>`` or nothing."""
    if not text:
        return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'


@router.post("/twilio/sms", response_class=Response, tags=["twilio"],
             summary="A lead's text: opt-out (STOP or plain words), HELP, START, or a reply stored on the lead",
             responses={200: {"description": "TwiML: the confirmation or help text, or an empty <Response/>"},
                        403: {"description": "no valid X-Twilio-Signature"},
                        404: {"description": "the server has no store"}},
             openapi_extra=form_example(MessageSid="SM0123456789abcdef0123456789abcdef",
                                        AccountSid="AC0123456789abcdef0123456789abcdef", From="+15125550123",
                                        To="+15125550100", Body="Stop texting me please", NumMedia="0"))
async def inbound_text(request: Request, ctx: Context) -> Response:
    form = await verified_form(request, ctx)
    if ctx.engine is None:
        return JSONResponse({"detail": "texts cannot be received: this server has no store"}, status_code=404)
    handled = await receive_text(ctx.engine, InboundText.from_form(form), region=ctx.region)
    return Response(twiml_message(handled.answer), media_type=TWIML)
