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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from reauto.intake.texts import InboundText, receive_text
from reauto.serve.openapi import form_example

if TYPE_CHECKING:
    from reauto.serve.app import ServeContext

log = logging.getLogger(__name__)

TWIML = "application/xml"


def twiml_message(text: str | None) -> str:
    """The TwiML answer: one ``<Message>`` or nothing."""
    if not text:
        return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'


def add_sms_routes(app: FastAPI, ctx: ServeContext,
                   verified_form: Callable[[Request], Awaitable[dict[str, str]]]) -> None:
    """Register ``POST /twilio/sms`` on ``app``."""

    @app.post("/twilio/sms", response_class=Response, tags=["twilio"],
              summary="A lead's text: opt-out (STOP or plain words), HELP, START, or a reply stored on the lead",
              responses={200: {"description": "TwiML: the confirmation or help text, or an empty <Response/>"},
                         403: {"description": "no valid X-Twilio-Signature"},
                         404: {"description": "the server has no store"}},
              openapi_extra=form_example(MessageSid="SM0123456789abcdef0123456789abcdef",
                                         AccountSid="AC0123456789abcdef0123456789abcdef", From="+15125550123",
                                         To="+15125550100", Body="Stop texting me please", NumMedia="0"))
    async def inbound_text(request: Request) -> Response:
        form = await verified_form(request)
        if ctx.engine is None:
            return JSONResponse({"detail": "texts cannot be received: this server has no store"}, status_code=404)
        handled = await receive_text(ctx.engine, InboundText.from_form(form), region=ctx.region)
        return Response(twiml_message(handled.answer), media_type=TWIML)
